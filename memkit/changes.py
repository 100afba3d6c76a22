"""Changing stored notes: update, delete, links, and undoing any history event.

Each function runs one SQLite transaction (note rows, links and history events
together), then brings the vector index and the graph in step.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from memkit.builders.base import search_extra
from memkit.errors import InvalidInputError, NotFoundError, StoreError, validation_message
from memkit.filters import index_metadata
from memkit.ingest import _event, _update_row, snapshot
from memkit.stores.sqlite import note_row
from memkit.types import HistoryEvent, Link, Note, utcnow

if TYPE_CHECKING:
    from memkit.memory import Memory

__all__ = ["update_note", "delete_note", "undo_event", "add_link", "remove_link", "UPDATABLE"]

UPDATABLE = ("content", "keywords", "tags", "context", "metadata", "valid_from", "valid_to", "source",
             "agent_id", "session_id")
_DERIVED = ("keywords", "tags", "context")


def _apply(note: Note, changes: dict[str, Any]) -> Note:
    try:
        return Note.model_validate({**note.model_dump(), **changes})
    except ValidationError as exc:
        raise InvalidInputError(f"cannot update note {note.id}: {validation_message(exc, 'note')}") from None


def _write(mem: Memory, new: Note, events: list[dict[str, Any]], embedding: Any = None) -> None:
    """Commit one changed note (its embedding too when given), then update the index."""
    row = _update_row(new)
    if embedding is not None:
        row["embedding"] = embedding.tobytes()
    with mem.store.transaction() as c:
        mem.store.update_note(c, row)
        mem.store.insert_events(c, events)
        mem.store.bump_changes(c)
    vec = embedding if embedding is not None else mem.store.embeddings([new.id]).get(new.id)
    if vec is not None:
        mem.index.upsert([new.id], vec[None, :], [index_metadata(new)])
    mem._index_synced()


def update_note(mem: Memory, note_id: str, changes: dict[str, Any], actor: str, reason: str | None = None,
                event: str = "update") -> Note:
    unknown = set(changes) - set(UPDATABLE)
    if unknown:
        raise InvalidInputError(f"cannot update field(s) {sorted(unknown)}; updatable: {', '.join(UPDATABLE)}")
    old = mem.store.get(note_id)
    changes = {k: v for k, v in changes.items() if k == "valid_to" or v is not None}
    draft = _apply(old, changes)
    content_changed = draft.content != old.content or draft.metadata.get("speaker") != old.metadata.get("speaker")
    derived_updates: dict[str, Any] = {}
    embedding = None
    if content_changed:
        embedding = mem._embed_notes([draft])[0]
        d = mem.builder.build([draft], embedding[None, :])[0]
        derived_updates = {f: getattr(d, f) for f in _DERIVED if f not in changes}
    new = _apply(old, {**changes, **derived_updates, "version": old.version + 1, "updated_at": utcnow()})
    diff = [f for f in UPDATABLE if getattr(new, f) != getattr(old, f)]
    if not diff:
        return old
    before = {f: v for f, v in snapshot(old).items() if f in diff}
    after = {f: v for f, v in snapshot(new).items() if f in diff}
    _write(mem, new, [_event(note_id, event, before, after, new.updated_at, actor, reason)], embedding)
    return mem.store.get(note_id)


def delete_note(mem: Memory, note_id: str) -> None:
    note = mem.store.get(note_id)
    links = [lk.model_dump(mode="json") for lk in mem.store.links_of(note_id)]
    with mem.store.transaction() as c:
        mem.store.insert_events(c, [_event(note_id, "delete", {**snapshot(note), "links": links}, None, utcnow(),
                                           "user", None)])
        mem.store.delete_note(c, note_id)
        mem.store.bump_changes(c)
    mem.store_count_hint -= 1
    mem.index.delete([note_id])
    mem._index_synced()
    mem.graph.remove_node(note_id)


def add_link(mem: Memory, src: str, dst: str, kind: str = "manual", weight: float = 1.0, actor: str = "user") -> None:
    if src == dst:
        raise InvalidInputError("a note cannot link to itself")
    found = mem.store.get_many([src, dst])
    for nid in (src, dst):
        if nid not in found:
            raise NotFoundError(f"no note with id {nid!r}")
    if found[src].user_id != found[dst].user_id:
        raise InvalidInputError(f"notes {src!r} and {dst!r} belong to different users and cannot be linked")
    try:
        link = Link(src=src, dst=dst, kind=kind, weight=weight, actor=actor)
    except ValidationError as exc:
        raise InvalidInputError(f"bad link: {validation_message(exc, 'link')}") from None
    with mem.store.transaction() as c:
        if mem.store.insert_links(c, [link]):
            mem.store.insert_events(c, [_event(src, "link", None, {"dst": dst, "kind": kind, "weight": weight},
                                               link.created_at, actor, None)])
            mem.store.bump_changes(c)
    mem.graph.add_links([link])


def remove_link(mem: Memory, src: str, dst: str, kind: str | None = None, actor: str = "user") -> int:
    links = [lk for lk in mem.store.links_of(src) if {lk.src, lk.dst} == {src, dst} and kind in (None, lk.kind)]
    if not links:
        raise NotFoundError(f"no link between {src!r} and {dst!r}")
    with mem.store.transaction() as c:
        n = mem.store.delete_link(c, src, dst, kind)
        mem.store.insert_events(c, [_event(lk.src, "unlink", {"dst": lk.dst, "kind": lk.kind, "weight": lk.weight},
                                           None, utcnow(), actor, None) for lk in links])
        mem.store.bump_changes(c)
    for lk in links:
        mem.graph.remove_link(lk.src, lk.dst, lk.kind)
    return n


def _restore(mem: Memory, data: dict[str, Any]) -> Note:
    data = dict(data)
    links = data.pop("links", [])
    note = Note.model_validate(data)
    emb = mem._embed_notes([note])[0]
    with mem.store.transaction() as c:
        mem.store.insert_notes(c, [note_row(note, search_extra(note), emb)])
        restored = [Link.model_validate(lk) for lk in links if mem.store.exists(lk["src"]) and mem.store.exists(lk["dst"])]
        mem.store.insert_links(c, restored)
        mem.store.bump_changes(c)
    mem.store_count_hint += 1
    mem.index.upsert([note.id], emb[None, :], [index_metadata(note)])
    mem._index_synced()
    mem.graph.add_links(restored)
    return note


def undo_event(mem: Memory, event_id: int) -> HistoryEvent:
    ev = mem.store.event(event_id)
    if ev.undone:
        raise InvalidInputError(f"history event {event_id} was already undone")
    if ev.event in ("undo", "access"):
        raise InvalidInputError(f"a {ev.event!r} event cannot be undone")
    reason = f"undo of event {event_id} ({ev.event})"
    if ev.event == "add":
        delete_note(mem, ev.note_id)
    elif ev.event == "delete":
        if mem.store.exists(ev.note_id):
            raise InvalidInputError(f"note {ev.note_id} exists again; cannot restore it")
        assert ev.before is not None
        _restore(mem, ev.before)
        with mem.store.transaction() as c:
            mem.store.insert_events(c, [_event(ev.note_id, "add", None, snapshot(mem.store.get(ev.note_id)), utcnow(),
                                               "user", reason)])
    elif ev.event in ("update", "evolve", "supersede"):
        assert ev.before is not None and ev.after is not None
        current = snapshot(mem.store.get(ev.note_id))
        for f, v in ev.after.items():
            if f in current and _norm(current[f]) != _norm(v):
                raise StoreError(
                    f"note {ev.note_id} changed since event {event_id} ({f} is now {current[f]!r}); undo the later "
                    "events first"
                )
        restore = {f: v for f, v in ev.before.items() if f in UPDATABLE}
        update_note(mem, ev.note_id, restore, actor="user", reason=reason, event="undo")
    elif ev.event == "link":
        assert ev.after is not None
        remove_link(mem, ev.note_id, ev.after["dst"], ev.after["kind"])
    elif ev.event == "unlink":
        assert ev.before is not None
        add_link(mem, ev.note_id, ev.before["dst"], ev.before["kind"], ev.before["weight"])
    with mem.store.transaction() as c:
        mem.store.mark_undone(c, event_id)
    return mem.store.event(event_id)


def _norm(v: Any) -> Any:
    if isinstance(v, str):
        try:
            return datetime.fromisoformat(v).timestamp()
        except ValueError:
            return v
    return v
