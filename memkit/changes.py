"""Changing stored notes: update, delete, links, and undoing any history event.

Each function commits one :class:`~memkit.types.WriteBatch` (note rows, links and history
events together) through the engine, which then brings the graph and the vector index in step.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from memkit.errors import InvalidInputError, NotFoundError, StoreError, validation_message
from memkit.ingest import check_content_size
from memkit.types import HistoryEvent, Link, NewEvent, Note, WriteBatch, utcnow
from memkit.writing.records import snapshot

if TYPE_CHECKING:
    from memkit.engine import Engine

__all__ = ["update_note", "delete_note", "undo_event", "add_link", "remove_link", "UPDATABLE"]

# a note's scope (user, agent, session) is fixed when it is written: its links and the conversation it is a
# turn of depend on it; store it again under the new scope instead
UPDATABLE = ("content", "keywords", "tags", "context", "metadata", "valid_from", "valid_to", "source")
_DERIVED = ("keywords", "tags", "context")


def _apply(note: Note, changes: dict[str, Any]) -> Note:
    # the fields not changed were stored before: rules added since (NUL characters, metadata keys) spare them
    stored = set(Note.model_fields) - set(changes)
    try:
        return Note.model_validate({**note.model_dump(), **changes}, context={"stored": stored})
    except ValidationError as exc:
        raise InvalidInputError(f"cannot update note {note.id}: {validation_message(exc, 'note')}") from None


def update_note(mem: Engine, note_id: str, changes: dict[str, Any], actor: str, reason: str | None = None,
                event: str = "update") -> Note:
    unknown = set(changes) - set(UPDATABLE)
    if unknown:
        raise InvalidInputError(f"cannot update field(s) {sorted(unknown)}; updatable: {', '.join(UPDATABLE)}")
    if isinstance(changes.get("content"), str):
        check_content_size(changes["content"], mem.config.notes.max_content_chars, f"cannot update note {note_id}")
    old = mem.store.get(note_id)
    changes = {k: v for k, v in changes.items() if k == "valid_to" or v is not None}
    draft = _apply(old, changes)
    content_changed = draft.content != old.content or draft.metadata.get("speaker") != old.metadata.get("speaker")
    derived_updates: dict[str, Any] = {}
    embedding = None
    if content_changed:
        embedding = mem.embed_notes([draft])[0]
        d = mem.builder.build([draft], embedding[None, :])[0]
        derived_updates = {f: getattr(d, f) for f in _DERIVED if f not in changes}
    new = _apply(old, {**changes, **derived_updates, "version": old.version + 1, "updated_at": utcnow()})
    diff = [f for f in UPDATABLE if getattr(new, f) != getattr(old, f)]
    if not diff:
        return old
    before = {f: v for f, v in snapshot(old).items() if f in diff}
    after = {f: v for f, v in snapshot(new).items() if f in diff}
    mem.commit(WriteBatch(update=[new], embeddings={} if embedding is None else {new.id: embedding},
                          events=[NewEvent(note_id, event, before, after, new.updated_at, actor, reason)]),
               upsert=[new], vectors=None if embedding is None else {new.id: embedding})
    return mem.store.get(note_id)


def delete_note(mem: Engine, note_id: str) -> None:
    note = mem.store.get(note_id)
    links = [lk.model_dump(mode="json") for lk in mem.store.links_of(note_id)]
    mem.commit(WriteBatch(delete=[note_id], events=[
        NewEvent(note_id, "delete", {**snapshot(note), "links": links}, None, utcnow(), "user")]), delete=[note_id])


def add_link(mem: Engine, src: str, dst: str, kind: str = "manual", weight: float = 1.0, actor: str = "user") -> None:
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
    if any(lk.src == src and lk.dst == dst and lk.kind == kind for lk in mem.store.links_of(src)):
        mem.graph.add_links([link])  # already stored (kept as it is): nothing to record
        return
    mem.commit(WriteBatch(link=[link], events=[
        NewEvent(src, "link", None, {"dst": dst, "kind": kind, "weight": weight}, link.created_at, actor)]))


def remove_link(mem: Engine, src: str, dst: str, kind: str | None = None, actor: str = "user") -> int:
    links = [lk for lk in mem.store.links_of(src) if {lk.src, lk.dst} == {src, dst} and kind in (None, lk.kind)]
    if not links:
        raise NotFoundError(f"no link between {src!r} and {dst!r}")
    now = utcnow()
    result = mem.commit(WriteBatch(unlink=[(src, dst, kind)], events=[
        NewEvent(lk.src, "unlink", {"dst": lk.dst, "kind": lk.kind, "weight": lk.weight}, None, now, actor)
        for lk in links]))
    return result.links_removed


def _restore(mem: Engine, data: dict[str, Any]) -> Note:
    data = dict(data)
    links = data.pop("links", [])
    note = Note.model_validate(data, context={"stored": set(Note.model_fields)})  # a stored note, as it was
    emb = mem.embed_notes([note])[0]
    restored = [Link.model_validate(lk) for lk in links
                if all(end == note.id or mem.store.exists(end) for end in (lk["src"], lk["dst"]))]
    mem.commit(WriteBatch(insert=[(note, emb)], link=restored), upsert=[note], vectors={note.id: emb})
    return note


def undo_event(mem: Engine, event_id: int) -> HistoryEvent:
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
        mem.commit(WriteBatch(events=[NewEvent(ev.note_id, "add", None, snapshot(mem.store.get(ev.note_id)), utcnow(),
                                               "user", reason)], counts_as_change=False))
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
    mem.commit(WriteBatch(undone=[event_id], counts_as_change=False))
    return mem.store.event(event_id)


def _norm(v: Any) -> Any:
    if isinstance(v, str):
        try:
            return datetime.fromisoformat(v).timestamp()
        except ValueError:
            return v
    return v
