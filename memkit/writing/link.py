"""Write stage 2, link: each new note's conversation turn before it, its nearest notes, and the notes of its
user that share a rare name with it (the candidates the judge decides on)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np

from memkit.filters import Filter
from memkit.linking import Neighbour
from memkit.text import entities
from memkit.types import Link, Note
from memkit.vectors import top_k
from memkit.writing.records import Neighbourhood

if TYPE_CHECKING:
    from memkit.engine import Engine

__all__ = ["link", "SEQUENCE_WEIGHT"]

SEQUENCE_WEIGHT = 0.8


def link(engine: Engine, notes: list[Note], embs: np.ndarray, previous: dict[str, Note], now: datetime
         ) -> Neighbourhood:
    """Session links to the previous turns (``previous``: new note id -> its previous turn) and the neighbours."""
    cfg = engine.config.linker
    session = [Link(src=n.id, dst=previous[n.id].id, kind="sequence", weight=SEQUENCE_WEIGHT, created_at=now,
                    actor="memkit") for n in notes if cfg.link_session_turns and n.id in previous]
    found = _neighbours(engine, notes, embs) if cfg.enabled else [[] for _ in notes]
    return Neighbourhood(session=session, neighbours=found)


def _neighbours(engine: Engine, notes: list[Note], embs: np.ndarray) -> list[list[Neighbour]]:
    """The k nearest notes of each new note (already stored ones, and earlier ones of the same chunk), and the
    notes of the same user that share a rare name with it, however far in meaning."""
    k = engine.config.linker.k
    found: list[list[tuple[str, float]]] = [[] for _ in notes]
    owners = [n.user_id or "" for n in notes]
    if engine.may_hold_notes:
        for owner in set(owners):
            rows = [i for i, o in enumerate(owners) if o == owner]
            res = engine.nearest(embs[rows], k, Filter(owner=owner))
            for r, hits in zip(rows, res, strict=True):
                found[r] = hits
    sims = embs @ embs.T
    rows_of: dict[str, list[int]] = defaultdict(list)
    for i, owner in enumerate(owners):
        rows_of[owner].append(i)
    for rows in rows_of.values():
        for a in range(1, len(rows)):
            earlier = rows[:a]
            s = sims[rows[a], earlier]
            found[rows[a]] = found[rows[a]] + [(notes[earlier[t]].id, float(s[t])) for t in top_k(s, k)]
    named = _sharing_rare_names(engine, notes, rows_of)
    local = {n.id: n for n in notes}
    row_of = {n.id: i for i, n in enumerate(notes)}
    extra = {nid for shared in named for nid in shared if nid not in local}
    stored = engine.store.get_many([nid for hits in found for nid, _ in hits if nid not in local] + list(extra))
    vecs = engine.store.embeddings(list(extra))
    out = []
    for i, hits in enumerate(found):
        best = dict(sorted(hits, key=lambda h: -h[1])[:k])
        for nid in named[i]:
            if nid not in best:
                v = sims[i, row_of[nid]] if nid in row_of else float(vecs[nid] @ embs[i]) if nid in vecs else None
                if v is not None:
                    best[nid] = float(v)
        out.append([Neighbour(stored.get(nid) or local[nid], s, frozenset(named[i].get(nid, ())))
                    for nid, s in best.items() if nid in stored or nid in local])
    return out


def _sharing_rare_names(engine: Engine, notes: list[Note], rows_of: dict[str, list[int]]
                        ) -> list[dict[str, set[str]]]:
    """For each new note, the notes of its user (stored, or earlier in this chunk) that share one of its names
    held by at most ``linker.rare_name_notes`` notes of the store: note id -> shared names."""
    limit = engine.config.linker.rare_name_notes
    out: list[dict[str, set[str]]] = [defaultdict(set) for _ in notes]
    if limit <= 0:
        return out
    names = [{e.lower() for e in entities(n.content) if len(e) > 2} for n in notes]
    for owner, rows in rows_of.items():
        holders: dict[str, list[int]] = defaultdict(list)  # name -> rows of this chunk holding it
        for r in rows:
            for name in names[r]:
                holders[name].append(r)
        for name, rs in holders.items():
            stored = engine.store.naming(owner, name, limit) if engine.may_hold_notes else []
            if stored is None or len(stored) + len(rs) > limit:
                continue
            for j, r in enumerate(rs):
                for nid in stored + [notes[e].id for e in rs[:j]]:
                    out[r][nid].add(name)
    return out
