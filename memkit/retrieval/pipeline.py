"""One search, in stages: read the query -> retrievers -> fusion -> adjusters -> diversity -> hydrate."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING

import numpy as np

from memkit.config import RetrievalConfig
from memkit.filters import Filter
from memkit.retrieval.adjusters import ADJUSTERS
from memkit.retrieval.fusion import fuse
from memkit.retrieval.pool import Pool, Query
from memkit.retrieval.query import lexical_match, speakers_named
from memkit.retrieval.retrievers import retrieve
from memkit.timeref import time_windows
from memkit.types import Candidate, Hit, ScoreParts, utcnow

if TYPE_CHECKING:
    from memkit.engine import Engine

__all__ = ["hybrid_search", "read_query"]


def read_query(engine: Engine, text: str, k: int, flt: Filter, cfg: RetrievalConfig) -> Query:
    """The query as the stages use it: embedding, lexical match, named speakers, time windows."""
    now = datetime.fromtimestamp(flt.started_by, timezone.utc) if flt.started_by is not None else utcnow()
    named: set[str] = set()
    if cfg.speaker_boost > 0:
        named = speakers_named(text, engine.speakers(flt), cfg.speaker_roles)
    return Query(
        text=text, k=k, flt=flt, now=now,
        vector=engine.embed_query(text) if cfg.dense else None,
        lexical=lexical_match(text) if cfg.lexical else None,
        windows=tuple(time_windows(text, now)) if cfg.time_weight > 0 else (),
        speakers=frozenset(named),
    )


def mmr(ranked: list[str], score: dict[str, float], k: int, penalty: float, feats: dict[str, Candidate]) -> list[str]:
    """Maximal marginal relevance: each pick trades its score against its similarity to earlier picks."""
    dim = next((f.embedding.shape[0] for f in feats.values() if f.embedding is not None), 1)
    vecs = np.stack([e if (e := feats[i].embedding) is not None else np.zeros(dim, np.float32) for i in ranked])
    sims = vecs @ vecs.T
    value = np.array([score[i] for i in ranked]) / (score[ranked[0]] or 1.0)
    closest = np.full(len(ranked), -np.inf)  # similarity to the nearest note already picked
    chosen: list[int] = []
    while len(chosen) < min(k, len(ranked)):
        adjusted = value - penalty * closest if chosen else value.copy()
        adjusted[chosen] = -np.inf
        pick = int(np.argmax(adjusted))
        chosen.append(pick)
        closest = np.maximum(closest, sims[pick])
    return [ranked[c] for c in chosen]


def spread_sessions(ranked: list[str], score: dict[str, float], k: int, penalty: float,
                    feats: dict[str, Candidate]) -> dict[str, float]:
    """The best ``k`` with their scores scaled by ``(1 - penalty) ** n``, n: notes of its session ranked above
    it, best first; a question answered across conversations reaches more of them."""
    seen: dict[str | None, int] = {}
    adjusted: dict[str, float] = {}
    for i in ranked:  # best first, so a note is only scaled by better notes of its session
        sid = feats[i].session_id
        n = seen.get(sid, 0) if sid is not None else 0
        adjusted[i] = score[i] * (1.0 - penalty) ** n
        seen[sid] = n + 1
    return {i: adjusted[i] for i in sorted(adjusted, key=lambda i: (-adjusted[i], i))[:k]}


def hybrid_search(engine: Engine, text: str, k: int, flt: Filter) -> list[Hit]:
    """The ``k`` best notes passing ``flt`` for ``text``; each hit carries every stage's raw score and rank."""
    cfg = engine.config.retrieval
    q = read_query(engine, text, k, flt, cfg)
    pool = Pool()
    for name, scores in retrieve(engine, q, cfg).items():
        pool.record(name, scores)
    fused = fuse(pool.parts, cfg)
    pool.feats = engine.store.candidates(list(fused))
    pool.score = {i: v for i, v in fused.items() if i in pool.feats}  # deleted since the index was read
    for adjust in ADJUSTERS:
        adjust(engine, q, pool, cfg)
    top = pool.top(len(pool.score))
    if cfg.session_diversity > 0 and top:
        spread = spread_sessions(top[: 3 * k], pool.score, k, cfg.session_diversity, pool.feats)
        pool.score.update(spread)  # a hit's score is the one it is ranked by
        top = list(spread)
    elif cfg.diversity > 0 and top:
        # MMR chooses which k notes to return; they are listed by score, so the best match stays first
        top = sorted(mmr(top[: 3 * k], pool.score, k, cfg.diversity, pool.feats), key=lambda i: (-pool.score[i], i))
    else:
        top = top[:k]
    return _hydrate(engine, top, pool)


def _hydrate(engine: Engine, top: list[str], pool: Pool) -> list[Hit]:
    notes = engine.store.get_many(top)
    ranks = {name: {nid: r for r, nid in enumerate(ids, start=1)} for name, ids in pool.rankings.items()}
    out = []
    for nid in top:
        if nid not in notes:  # deleted between index and store reads
            continue
        sp = ScoreParts(**{
            **{name: pool.parts[name].get(nid) for name in pool.parts},
            **{f"{name}_rank": ranks[name].get(nid) for name in ranks},
        })
        out.append(Hit(note=notes[nid], score=round(pool.score[nid], 6), scores=sp))
    return out
