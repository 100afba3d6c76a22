"""Write stage 3, evolve/supersede: the judge decides on each new note's neighbourhood, one note after the other
(a later note sees the neighbours as earlier ones left them); links are made, neighbours evolve (tags, context)
and older notes are superseded (closed, kept), each change a reversible history event."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from memkit.linking import Neighbour
from memkit.types import Link, NewEvent, Note
from memkit.writing.records import Evolution, Neighbourhood, Prepared

if TYPE_CHECKING:
    from memkit.engine import Engine

__all__ = ["evolve"]


def evolve(engine: Engine, chunk: list[Prepared], hood: Neighbourhood, now: datetime) -> Evolution:
    links: list[Link] = list(hood.session)
    events: list[NewEvent] = []
    changed: dict[str, Note] = {}  # existing or earlier notes changed by evolution / supersession
    for p, nbs in zip(chunk, hood.neighbours, strict=True):
        note = p.note
        nbs = [Neighbour(changed.get(nb.note.id, nb.note), nb.similarity, nb.names) for nb in nbs]
        decision = engine.judge.decide(note, nbs)
        for nid, weight in decision.links.items():
            links.append(Link(src=note.id, dst=nid, kind="semantic", weight=weight, created_at=now,
                              actor=decision.actor))
        for nid, tags in decision.tags.items():
            cur = changed.get(nid) or next(nb.note for nb in nbs if nb.note.id == nid)
            changed[nid] = cur.model_copy(update={"tags": tags})
            events.append(NewEvent(nid, "evolve", {"tags": cur.tags}, {"tags": tags}, now, decision.actor,
                                   f"evolved by note {note.id}"))
        for nid, ctx in decision.contexts.items():
            cur = changed.get(nid) or next(nb.note for nb in nbs if nb.note.id == nid)
            changed[nid] = cur.model_copy(update={"context": ctx})
            events.append(NewEvent(nid, "evolve", {"context": cur.context}, {"context": ctx}, now, decision.actor,
                                   f"evolved by note {note.id}"))
        if decision.info:
            p.note = note = note.model_copy(update={"metadata": {**note.metadata,
                                                                 "memkit": {**note.metadata.get("memkit", {}),
                                                                            "judge": decision.info}}})
        for old in list(dict.fromkeys(p.supersedes + decision.supersedes)):
            if old == note.id:
                continue
            cur = changed.get(old) or _lookup(engine, old, chunk)
            if cur.valid_to is not None:
                continue
            end = max(note.valid_from, cur.valid_from)
            changed[old] = cur.model_copy(update={"valid_to": end})
            actor = "user" if old in p.supersedes else decision.actor
            links.append(Link(src=note.id, dst=old, kind="supersedes", weight=1.0, created_at=now, actor=actor))
            events.append(NewEvent(old, "supersede", {"valid_to": None},
                                   {"valid_to": end.isoformat(), "superseded_by": note.id}, now, actor,
                                   f"superseded by note {note.id}"))
        for dst in p.links:
            links.append(Link(src=note.id, dst=dst, kind="manual", weight=1.0, created_at=now, actor="user"))
    # changes to notes of this very chunk are folded into their first version
    notes = [changed.pop(p.note.id, p.note) for p in chunk]
    return Evolution(notes=notes, changed=changed, links=links, events=events)


def _lookup(engine: Engine, nid: str, chunk: list[Prepared]) -> Note:
    for p in chunk:
        if p.note.id == nid:
            return p.note
    return engine.store.get(nid)
