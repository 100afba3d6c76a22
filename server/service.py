"""The daemon's operations: one code path for the REST routes and the MCP tools.

Every operation takes the :class:`~memkit.server.tokens.Caller` its token belongs to, and the scope comes
from there, never from the request: a token limited to a user (and agent) writes notes of that user only
(a request naming another one is :class:`PermissionDeniedError`, HTTP 403), reads only them (another
user's note is :class:`NotFoundError`, HTTP 404, as if it did not exist), and must name notes by their
full id (a prefix could tell it how many notes of other users share it).  Operations that reach beyond
notes (undo, reindex, import, sources) need an unrestricted token.

Each note written through the daemon records its writer, the token's client name, in the reserved
metadata key ``memkit_client`` (set by the daemon; a value sent by the client is replaced).

Writes are serialised by one lock here (``Memory`` has its own, but a compare-and-set update, an
idempotent add and a checked delete each need their read and their write to be one step).
"""

from __future__ import annotations

import hashlib
import heapq
import io
import json
import threading
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from memkit.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from memkit.server.tokens import Caller
from memkit.sources.units import as_datetime
from memkit.types import HistoryEvent, Hit, Note, Stats

if TYPE_CHECKING:
    from memkit.memory import Memory
    from memkit.server.state import DaemonState

__all__ = ["Service", "Scoped", "CLIENT_KEY"]

CLIENT_KEY = "memkit_client"
_SCOPE_LIMITS = ("user_id", "agent_id")


def _fingerprint(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def _derived_id(client: str, key: str, index: int) -> str:
    """The id of item ``index`` of an idempotent request: fixed by the client and the key, so that a retry
    whose first try committed (also when the daemon died before recording the key) finds its notes."""
    return hashlib.sha256(f"{client}\0{key}\0{index}".encode()).hexdigest()[:32]


def _not_found(note_id: Any) -> NotFoundError:
    return NotFoundError(f"no note with id {note_id!r}")


class Service:
    """The operations on one ``Memory``, each checked against the caller's scope."""

    def __init__(self, mem: Memory, state: DaemonState | None = None):
        self.mem = mem
        self.state = state
        self._write = threading.Lock()

    # -- scope -----------------------------------------------------------------------------------------
    @staticmethod
    def visible(caller: Caller, note: Note) -> bool:
        return all(getattr(caller, f) is None or getattr(note, f) == getattr(caller, f) for f in _SCOPE_LIMITS)

    @staticmethod
    def _limit(caller: Caller, field: str, given: Any, where: str = "") -> Any:
        """The value of a scope field for this caller: its token's, or the one given when the token allows."""
        limit = getattr(caller, field)
        if limit is None:
            return given
        if given is not None and given != limit:
            raise PermissionDeniedError(f"{where}this token is limited to {field} {limit!r} and cannot use "
                                        f"{field} {given!r}")
        return limit

    @staticmethod
    def _unrestricted(caller: Caller, what: str) -> None:
        if not caller.unrestricted:
            raise PermissionDeniedError(f"{what} needs an unrestricted token (this one is limited to one user)")

    def _note(self, caller: Caller, note_id: Any) -> Note:
        """The note ``note_id`` names, if the caller may see it; otherwise as if it did not exist."""
        if caller.unrestricted:
            return self.mem.get(note_id)
        if not isinstance(note_id, str) or not note_id:
            raise InvalidInputError(f"a note id must be a non-empty string, got {note_id!r}")
        try:
            note = self.mem.get(note_id)
        except (NotFoundError, InvalidInputError):  # InvalidInputError: a prefix several notes share
            raise _not_found(note_id) from None
        if note.id != note_id or not self.visible(caller, note):
            raise _not_found(note_id)
        return note

    def _items(self, caller: Caller, items: Any, defaults: dict[str, Any]) -> list[dict[str, Any]]:
        """``add_many`` items with the defaults applied, the caller's scope enforced and the writer recorded."""
        if isinstance(items, (str, bytes, dict)) or not isinstance(items, Sequence):
            raise InvalidInputError("items must be a list of strings or objects")
        base_meta = defaults.get("metadata")
        if base_meta is not None and not isinstance(base_meta, dict):
            raise InvalidInputError(f"metadata must be an object, got {type(base_meta).__name__}")
        out = []
        for i, raw in enumerate(items):
            where = f"item {i}: " if len(items) > 1 else ""
            if isinstance(raw, str):
                item: dict[str, Any] = {"content": raw}
            elif isinstance(raw, dict):
                item = {k: v for k, v in raw.items() if v is not None}
            else:
                raise InvalidInputError(f"{where}expected a string or an object, got {type(raw).__name__}")
            for key, value in defaults.items():
                if key != "metadata" and value is not None and item.get(key) is None:
                    item[key] = value
            meta = item.get("metadata", {})
            if not isinstance(meta, dict):
                raise InvalidInputError(f"{where}metadata must be an object, got {type(meta).__name__}")
            item["metadata"] = {**(base_meta or {}), **meta, CLIENT_KEY: caller.client}
            for field in _SCOPE_LIMITS:
                value = self._limit(caller, field, item.get(field), where)
                if value is not None:
                    item[field] = value
            if not caller.unrestricted:
                for ref in ("supersedes", "links"):
                    refs = item.get(ref)
                    for rid in [refs] if isinstance(refs, str) else refs or []:
                        self._note(caller, rid)
            out.append(item)
        return out

    # -- writing ---------------------------------------------------------------------------------------
    def add(self, caller: Caller, item: dict[str, Any], idempotency_key: str | None = None) -> Note:
        return self.add_many(caller, [item], {}, idempotency_key)[0]

    def add_many(self, caller: Caller, items: Sequence[Any], defaults: dict[str, Any] | None = None,
                 idempotency_key: str | None = None) -> list[Note]:
        """Add notes; with an idempotency key, a retry of the same request returns the first answer and adds
        nothing, and the key used for another request is a :class:`ConflictError`."""
        prepared = self._items(caller, items, defaults or {})
        with self._write:
            if idempotency_key is None:
                return self.mem.add_many(prepared, progress=False)
            return self._add_once(caller, prepared, idempotency_key)

    def _add_once(self, caller: Caller, items: list[dict[str, Any]], key: str) -> list[Note]:
        if self.state is None:
            raise InvalidInputError("idempotency keys need the daemon's state")
        fingerprint = _fingerprint(items)
        rec = self.state.get_key(caller.client, key)
        if rec is not None:
            if rec.fingerprint != fingerprint:
                raise ConflictError(f"the Idempotency-Key {key!r} was used for another request; use a new key "
                                    "for each new request")
            return [Note.model_validate(n) for n in rec.body]
        ids = [it.get("id") or _derived_id(caller.client, key, i) for i, it in enumerate(items)]
        present = self.mem.existing(ids)
        todo = [{**it, "id": nid} for it, nid in zip(items, ids, strict=True) if nid not in present]
        added = {n.id: n for n in (self.mem.add_many(todo, progress=False) if todo else [])}
        notes = [added[nid] if nid in added else self.mem.get(nid) for nid in ids]
        self.state.put_key(caller.client, key, fingerprint, 201, [n.model_dump(mode="json") for n in notes])
        return notes

    def update(self, caller: Caller, note_id: str, changes: dict[str, Any], expected_version: int | None = None
               ) -> Note:
        """Change a note; with ``expected_version``, only if it is still at that version (else ConflictError)."""
        if not isinstance(changes, dict):
            raise InvalidInputError("changes must be an object")
        with self._write:
            note = self._note(caller, note_id)
            self._check_version(note, expected_version)
            changes = {k: v for k, v in changes.items() if v is not None or k == "valid_to"}
            if "agent_id" in changes:
                self._limit(caller, "agent_id", changes["agent_id"])
            if isinstance(changes.get("metadata"), dict):  # the writer stays recorded
                kept = note.metadata.get(CLIENT_KEY)
                changes["metadata"] = {**changes["metadata"], **({CLIENT_KEY: kept} if kept is not None else {})}
            return self.mem.update(note.id, **changes)

    @staticmethod
    def _check_version(note: Note, expected: int | None) -> None:
        if expected is None:
            return
        if isinstance(expected, bool) or not isinstance(expected, int):
            raise InvalidInputError(f"expected_version must be an integer, got {expected!r}")
        if note.version != expected:
            raise ConflictError(f"note {note.id} is at version {note.version}, not {expected}: it changed since you "
                                "read it; get it again and retry")

    def delete(self, caller: Caller, note_id: str, expected_version: int | None = None) -> str:
        with self._write:
            note = self._note(caller, note_id)
            self._check_version(note, expected_version)
            self.mem.delete(note.id)
            return note.id

    def link(self, caller: Caller, src: str, dst: str, kind: str = "manual", weight: float = 1.0) -> None:
        with self._write:
            a, b = self._note(caller, src), self._note(caller, dst)
            self.mem.link(a.id, b.id, kind=kind, weight=weight)

    def unlink(self, caller: Caller, src: str, dst: str) -> int:
        with self._write:
            a, b = self._note(caller, src), self._note(caller, dst)
            return self.mem.unlink(a.id, b.id)

    def undo(self, caller: Caller, event_id: int) -> HistoryEvent:
        self._unrestricted(caller, "undo")
        with self._write:
            return self.mem.undo(event_id)

    def import_(self, caller: Caller, path: str, on_conflict: str = "skip") -> int:
        self._unrestricted(caller, "import")
        with self._write:
            return self.mem.import_(Path(path).expanduser(), on_conflict=on_conflict, progress=False)

    def reindex(self, caller: Caller) -> int:
        self._unrestricted(caller, "reindex")
        with self._write:
            return self.mem.reindex(progress=False)

    # -- reading ---------------------------------------------------------------------------------------
    def get(self, caller: Caller, note_id: str) -> Note:
        return self._note(caller, note_id)

    def search(self, caller: Caller, query: str, k: int = 5, *, user_id: str | None = None,
               agent_id: str | None = None, session_id: str | None = None, filters: dict[str, Any] | None = None,
               include_superseded: bool = False, as_of: datetime | None = None) -> list[Hit]:
        hits = self.mem.search(query, k, user_id=self._limit(caller, "user_id", user_id),
                               agent_id=self._limit(caller, "agent_id", agent_id), session_id=session_id,
                               filters=filters, include_superseded=include_superseded, as_of=as_datetime(as_of))
        return [h for h in hits if self.visible(caller, h.note)]  # the stores filter already; this is a guard

    def related(self, caller: Caller, note_id: str, depth: int = 1) -> list[Note]:
        note = self._note(caller, note_id)
        return [n for n in self.mem.related(note.id, depth=depth) if self.visible(caller, n)]

    def explore(self, caller: Caller, note_id: str, depth: int = 1) -> tuple[Note, list[Note]]:
        note = self._note(caller, note_id)
        return note, self.related(caller, note.id, depth)

    def history(self, caller: Caller, note_id: str) -> list[HistoryEvent]:
        full = self.resolve_id(caller, note_id, deleted=True)
        return self.mem.history(full)

    def resolve_id(self, caller: Caller, note_id: str, deleted: bool = False) -> str:
        if caller.unrestricted:
            return self.mem.resolve_id(note_id, deleted=deleted)
        try:
            return self._note(caller, note_id).id
        except NotFoundError:
            if not deleted:
                raise
        try:  # a deleted note: its history says whose it was
            events = self.mem.history(note_id) if self.mem.resolve_id(note_id, deleted=True) == note_id else []
        except (NotFoundError, InvalidInputError):
            events = []
        snap = next((e.before or e.after for e in reversed(events) if (e.before or e.after)), None)
        if snap is None or any(getattr(caller, f) is not None and snap.get(f) != getattr(caller, f)
                               for f in _SCOPE_LIMITS):
            raise _not_found(note_id)
        return note_id

    def existing(self, caller: Caller, ids: Sequence[str]) -> set[str]:
        found = self.mem.existing(list(ids))
        if caller.unrestricted:
            return found
        return {i for i in found if self.visible(caller, self.mem.get(i))}

    def short_ids(self, caller: Caller, ids: Sequence[str], min_len: int = 8) -> dict[str, str]:
        if not caller.unrestricted:
            mine = self.existing(caller, ids)
            return {i: i for i in ids if i in mine}  # full ids: a limited token names notes by their full id
        return self.mem.short_ids(ids, min_len)

    def recent(self, caller: Caller, since: datetime | None = None, limit: int = 20, *, user_id: str | None = None,
               agent_id: str | None = None, session_id: str | None = None,
               include_superseded: bool = False) -> list[Note]:
        """The newest notes (by ``created_at``), newest first, created at or after ``since``."""
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
            raise InvalidInputError(f"limit must be an integer from 1 to 1000, got {limit!r}")
        since = as_datetime(since)
        notes: Iterator[Note] = self.mem.iter_notes(
            user_id=self._limit(caller, "user_id", user_id), agent_id=self._limit(caller, "agent_id", agent_id),
            session_id=session_id, include_superseded=include_superseded)
        fresh = (n for n in notes if (since is None or n.created_at >= since) and self.visible(caller, n))
        return heapq.nlargest(limit, fresh, key=lambda n: (n.created_at, n.id))

    def stats(self, caller: Caller) -> Stats:
        if caller.unrestricted:
            return self.mem.stats()
        notes = list(self.mem.iter_notes(user_id=caller.user_id, agent_id=caller.agent_id))
        mine = {n.id for n in notes}
        links = sum(1 for n in notes for d in n.links if d in mine) // 2
        base = self.mem.stats()
        return Stats(path=base.path, notes=len(notes), current_notes=sum(n.is_current for n in notes), links=links,
                     history_events=0, users=1 if notes else 0, embedder=base.embedder, dim=base.dim,
                     vector_index=base.vector_index, vector_count=len(notes), builder=base.builder, size_bytes=0)

    def export(self, caller: Caller, target: TextIO, user_id: str | None = None) -> int:
        """Write the caller's notes (and the links among them) as a memkit export to a text stream."""
        user_id = self._limit(caller, "user_id", user_id)
        if caller.agent_id is None:
            return self.mem.export(target, user_id=user_id)
        buf = io.StringIO()
        self.mem.export(buf, user_id=user_id)
        buf.seek(0)
        kept: set[str] = set()
        lines = buf.read().splitlines()
        target.write(lines[0] + "\n")
        for line in lines[1:]:
            obj = json.loads(line)
            if "note" in obj and obj["note"].get("agent_id") == caller.agent_id:
                kept.add(obj["note"]["id"])
                target.write(line + "\n")
            elif "link" in obj and obj["link"]["src"] in kept and obj["link"]["dst"] in kept:
                target.write(line + "\n")
        return len(kept)

    def bound(self, caller: Caller) -> Scoped:
        return Scoped(self, caller)


class Scoped:
    """A :class:`Service` bound to one caller, with ``Memory``'s method names (what the ingester writes to)."""

    def __init__(self, service: Service, caller: Caller):
        self.service, self.caller = service, caller

    def add_many(self, items: Sequence[Any], *, progress: bool | None = None, **defaults: Any) -> list[Note]:
        return self.service.add_many(self.caller, items, defaults)

    def existing(self, ids: Sequence[str]) -> set[str]:
        return self.service.existing(self.caller, ids)

    def get(self, note_id: str) -> Note:
        return self.service.get(self.caller, note_id)

    def update(self, note_id: str, **changes: Any) -> Note:
        return self.service.update(self.caller, note_id, changes)

    def link(self, src: str, dst: str, kind: str = "manual", weight: float = 1.0) -> None:
        self.service.link(self.caller, src, dst, kind, weight)
