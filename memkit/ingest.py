"""Writing notes: validate every item first, then embed, build, link, evolve and store in chunks.

Texts are embedded a wide window at a time (the embedder sorts a call's texts by
length, so wide windows pad little); the next window is embedded in a worker
thread while this one is built, linked and committed in chunks of ``write_batch``.
Each chunk is one SQLite transaction; the vector index follows it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from pydantic import ValidationError

from memkit.builders.base import search_extra
from memkit.errors import InvalidInputError, NotFoundError, validation_message
from memkit.filters import Filter, index_metadata
from memkit.linking import Neighbour
from memkit.progress import progress_bar, want_progress
from memkit.stores.sqlite import note_row
from memkit.types import SCOPE_FIELDS, Link, Note, utcnow

if TYPE_CHECKING:
    from memkit.memory import Memory

__all__ = ["Prepared", "prepare_items", "ingest", "embedded_chunks", "snapshot", "ITEM_FIELDS"]

T = TypeVar("T")

# what add() / add_many() items may carry besides Note fields
_EXTRA_FIELDS = ("supersedes", "links")
_NOTE_INPUT_FIELDS = (
    "id", "content", "keywords", "tags", "context", "created_at", "valid_from", "valid_to",
    "user_id", "agent_id", "session_id", "metadata", "source",
)
ITEM_FIELDS = _NOTE_INPUT_FIELDS + _EXTRA_FIELDS
SEQUENCE_WEIGHT = 0.8


@dataclass
class Prepared:
    note: Note
    given: set[str]  # fields the user set explicitly (the builder leaves them alone)
    supersedes: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)


def snapshot(note: Note) -> dict[str, Any]:
    """A note as JSON-safe fields, without its (derived) links."""
    return note.model_dump(mode="json", exclude={"links"})


def _id_list(value: Any, what: str, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v for v in value):
        raise InvalidInputError(f"{where}: {what} must be a note id or a list of note ids")
    return list(dict.fromkeys(value))


def prepare_items(items: Sequence[Any], defaults: Mapping[str, Any]) -> list[Prepared]:
    """Validate every item before anything is written; errors name the item and the field."""
    if isinstance(items, (str, bytes, Mapping)) or not isinstance(items, Sequence):
        raise InvalidInputError("add_many expects a list of strings or dicts")
    out: list[Prepared] = []
    now = utcnow()
    seen_ids: set[str] = set()
    for i, item in enumerate(items):
        where = f"item {i}"
        if isinstance(item, str):
            data: dict[str, Any] = {"content": item}
        elif isinstance(item, Mapping):
            data = dict(item)
        else:
            raise InvalidInputError(f"{where}: expected a string or a dict, got {type(item).__name__}")
        unknown = set(data) - set(ITEM_FIELDS)
        if unknown:
            raise InvalidInputError(f"{where}: unknown field(s) {sorted(unknown)}; allowed: {', '.join(ITEM_FIELDS)}")
        if "content" not in data:
            raise InvalidInputError(f"{where}: missing 'content'")
        if not isinstance(data["content"], str):
            raise InvalidInputError(f"{where}: content must be a string, got {type(data['content']).__name__}")
        given = {k for k, v in data.items() if v is not None}
        for key, value in defaults.items():
            if value is None:
                continue
            if key == "metadata":
                if not isinstance(value, Mapping):
                    raise InvalidInputError(f"metadata must be a dict, got {type(value).__name__}")
                item_meta = data.get("metadata") or {}
                if not isinstance(item_meta, Mapping):
                    raise InvalidInputError(f"{where}: metadata must be a dict, got {type(item_meta).__name__}")
                data["metadata"] = {**value, **item_meta}
            elif data.get(key) is None:
                data[key] = value
        supersedes = _id_list(data.pop("supersedes", None), "supersedes", where)
        links = _id_list(data.pop("links", None), "links", where)
        data = {k: v for k, v in data.items() if v is not None}
        data.setdefault("created_at", now)
        data["updated_at"] = data["created_at"]
        try:
            note = Note(**data)
        except ValidationError as exc:
            raise InvalidInputError(f"{where}: {validation_message(exc, 'note')}") from None
        if note.id in seen_ids:
            raise InvalidInputError(f"{where}: duplicate id {note.id!r} in this batch")
        seen_ids.add(note.id)
        out.append(Prepared(note=note, given=given, supersedes=supersedes, links=links))
    return out


def _check_references(mem: Memory, prepared: list[Prepared]) -> None:
    batch_ids = {p.note.id for p in prepared}
    explicit = [p.note.id for p in prepared if "id" in p.given]
    clash = mem.store.get_many(explicit)
    if clash:
        raise InvalidInputError(f"a note with id {next(iter(clash))!r} already exists")
    wanted = {i for p in prepared for i in p.supersedes + p.links} - batch_ids
    found = mem.store.get_many(list(wanted))
    missing = wanted - set(found)
    if missing:
        raise NotFoundError(f"no note with id {sorted(missing)[0]!r} (referenced by supersedes/links)")
    for p in prepared:
        if p.note.id in p.supersedes or p.note.id in p.links:
            raise InvalidInputError(f"note {p.note.id!r} cannot supersede or link to itself")
        for old in p.supersedes:
            if old in found and found[old].user_id != p.note.user_id:
                raise InvalidInputError(f"note {old!r} belongs to another user and cannot be superseded by this one")
        for dst in p.links:
            if dst in found and found[dst].user_id != p.note.user_id:
                raise InvalidInputError(f"note {dst!r} belongs to another user and cannot be linked to this one")


def ingest(mem: Memory, items: Sequence[Any], defaults: Mapping[str, Any], progress: bool | None) -> list[Note]:
    prepared = prepare_items(items, defaults)
    if not prepared:
        return []
    _check_references(mem, prepared)
    written: list[str] = []
    previous = _previous_turns(mem, prepared)
    with progress_bar("adding notes", len(prepared), want_progress(progress, len(prepared))) as bar:
        for chunk, embs in embedded_chunks(mem, prepared, lambda p: p.note):
            written += _write_chunk(mem, chunk, embs, previous)
            bar.advance(len(chunk))
    found = mem.store.get_many(written)
    return [found[i] for i in written]


@contextmanager
def _one_blas_thread() -> Iterator[None]:
    """numpy's OpenBLAS threads spin for a while after every product.  Beside the embedder that spinning
    is CPU taken from it (0.4 ms per note in ``add_many``, measured), and memkit's products are small
    enough for one thread.  The previous setting is restored afterwards."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


def embedded_chunks(mem: Memory, items: list[T], note_of: Callable[[T], Note]) -> Iterator[tuple[list[T], np.ndarray]]:
    """``items`` in chunks of ``write_batch``, each with its notes' embeddings.

    Texts are embedded ``embedder.window`` at a time, and the next window is embedded in a
    worker thread while the caller writes this one's chunks.  The last window is two embedder
    batches, since its writes overlap no embedding.  A single window (``add()``) is embedded
    in the caller's thread: there is nothing to overlap.
    """
    if not items:
        return
    size = mem.config.write_batch
    wide = max(size, mem.config.embedder.window)
    windows = [items[i : i + wide] for i in range(0, len(items), wide)]
    tail = min(size, 2 * mem.config.embedder.batch_size)
    if len(windows[-1]) > tail:
        last = windows.pop()
        windows += [last[:-tail], last[-tail:]]
    if len(windows) == 1:  # nothing to overlap (add(), a small add_many): no thread, no BLAS limit to set
        yield from _chunked(windows[0], mem._embed_notes([note_of(x) for x in windows[0]]), size)
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="memkit-embed") as pool, _one_blas_thread():
        future = pool.submit(mem._embed_notes, [note_of(x) for x in windows[0]])
        for wi, window in enumerate(windows):
            embs = future.result()
            if wi + 1 < len(windows):
                future = pool.submit(mem._embed_notes, [note_of(x) for x in windows[wi + 1]])
            yield from _chunked(window, embs, size)


def _chunked(window: list[T], embs: np.ndarray, size: int) -> Iterator[tuple[list[T], np.ndarray]]:
    for i in range(0, len(window), size):
        yield window[i : i + size], embs[i : i + size]


def _previous_turns(mem: Memory, prepared: list[Prepared]) -> dict[str, Note]:
    """The previous turn of each new note's session: an earlier item of this call, or the session's last stored note."""
    last: dict[str, Note] = {}
    out: dict[str, Note] = {}
    sessions = {p.note.session_id for p in prepared if p.note.session_id is not None}
    stored = {s: mem.store.last_in_session(s) for s in sessions}
    found = mem.store.get_many([v[0] for v in stored.values() if v is not None])
    for s, v in stored.items():
        if v is not None and v[0] in found:
            last[s] = found[v[0]]
    for p in prepared:
        s = p.note.session_id
        if s is None:
            continue
        if s in last:
            out[p.note.id] = last[s]
        last[s] = p.note
    return out


def _neighbours(mem: Memory, notes: list[Note], embs: np.ndarray) -> list[list[Neighbour]]:
    """The k nearest notes of each new note: already stored ones, and earlier ones of the same chunk."""
    k = mem.config.linker.k
    found: list[list[tuple[str, float]]] = [[] for _ in notes]
    owners = [n.user_id or "" for n in notes]
    if mem.store_count_hint > 0:
        for owner in set(owners):
            rows = [i for i, o in enumerate(owners) if o == owner]
            res = mem._nearest(embs[rows], k, Filter(owner=owner))
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
            found[rows[a]] = found[rows[a]] + [(notes[earlier[t]].id, float(s[t])) for t in np.argsort(-s)[:k]]
    local = {n.id: n for n in notes}
    stored = mem.store.get_many([nid for hits in found for nid, _ in hits if nid not in local])
    out = []
    for hits in found:
        best = sorted(hits, key=lambda h: -h[1])[:k]
        out.append([Neighbour(stored.get(nid) or local[nid], s) for nid, s in best if nid in stored or nid in local])
    return out


def _write_chunk(mem: Memory, chunk: list[Prepared], embs: np.ndarray, previous: dict[str, Note]) -> list[str]:
    cfg = mem.config
    now = utcnow()
    notes = [p.note for p in chunk]
    # 1. build: keywords, tags, context (explicit user values win)
    for p, d in zip(chunk, mem.builder.build(notes, embs), strict=True):
        updates: dict[str, Any] = {}
        for f in ("keywords", "tags", "context"):
            if f not in p.given:
                updates[f] = getattr(d, f)
        if d.info:
            updates["metadata"] = {**p.note.metadata, "memkit": d.info}
        if updates:
            p.note = p.note.model_copy(update=updates)
    notes = [p.note for p in chunk]
    links: list[Link] = []
    events: list[dict[str, Any]] = []
    changed: dict[str, Note] = {}  # existing or earlier notes changed by evolution / supersession
    before: dict[str, Note] = {}
    # 2. session turns: link each note to the previous note of its session
    if cfg.linker.link_session_turns:
        for n in notes:
            if n.id in previous:
                links.append(Link(src=n.id, dst=previous[n.id].id, kind="sequence", weight=SEQUENCE_WEIGHT,
                                  created_at=now, actor="memkit"))
    # 3. neighbours -> link / evolve / supersede decisions
    neighbours = _neighbours(mem, notes, embs) if cfg.linker.enabled else [[] for _ in notes]
    for p, nbs in zip(chunk, neighbours, strict=True):
        note = p.note
        nbs = [Neighbour(changed.get(nb.note.id, nb.note), nb.similarity) for nb in nbs]
        decision = mem.judge.decide(note, nbs)
        for nid, weight in decision.links.items():
            links.append(Link(src=note.id, dst=nid, kind="semantic", weight=weight, created_at=now,
                              actor=decision.actor))
        for nid, tags in decision.tags.items():
            cur = changed.get(nid) or next(nb.note for nb in nbs if nb.note.id == nid)
            before.setdefault(nid, cur)
            changed[nid] = cur.model_copy(update={"tags": tags})
            events.append(_event(nid, "evolve", {"tags": cur.tags}, {"tags": tags}, now, decision.actor,
                                 f"evolved by note {note.id}"))
        for nid, ctx in decision.contexts.items():
            cur = changed.get(nid) or next(nb.note for nb in nbs if nb.note.id == nid)
            before.setdefault(nid, cur)
            changed[nid] = cur.model_copy(update={"context": ctx})
            events.append(_event(nid, "evolve", {"context": cur.context}, {"context": ctx}, now, decision.actor,
                                 f"evolved by note {note.id}"))
        if decision.info:
            p.note = note = note.model_copy(update={"metadata": {**note.metadata,
                                                                 "memkit": {**note.metadata.get("memkit", {}),
                                                                            "judge": decision.info}}})
        for old in list(dict.fromkeys(p.supersedes + decision.supersedes)):
            if old == note.id:
                continue
            cur = changed.get(old) or _lookup(mem, old, chunk)
            if cur.valid_to is not None:
                continue
            end = max(note.valid_from, cur.valid_from)
            before.setdefault(old, cur)
            changed[old] = cur.model_copy(update={"valid_to": end})
            links.append(Link(src=note.id, dst=old, kind="supersedes", weight=1.0, created_at=now,
                              actor="user" if old in p.supersedes else decision.actor))
            events.append(_event(old, "supersede", {"valid_to": None},
                                 {"valid_to": end.isoformat(), "superseded_by": note.id}, now,
                                 "user" if old in p.supersedes else decision.actor, f"superseded by note {note.id}"))
        for dst in p.links:
            links.append(Link(src=note.id, dst=dst, kind="manual", weight=1.0, created_at=now, actor="user"))
    notes = [p.note for p in chunk]
    # changes to notes of this very chunk are folded into their first version
    final: dict[str, Note] = {n.id: changed.pop(n.id, n) for n in notes}
    updated = {nid: n.model_copy(update={"version": n.version + 1, "updated_at": now}) for nid, n in changed.items()}
    add_events = [_event(n.id, "add", None, snapshot(n), now, "user", None) for n in final.values()]
    link_events = [_event(lk.src, "link", None, {"dst": lk.dst, "kind": lk.kind, "weight": lk.weight}, now, lk.actor,
                          None) for lk in links]
    rows = [note_row(n, search_extra(n), embs[i]) for i, n in enumerate(final.values())]
    with mem.store.transaction() as c:
        mem.store.insert_notes(c, rows)
        for n in updated.values():
            mem.store.update_note(c, _update_row(n))
        mem.store.insert_links(c, links)
        mem.store.insert_events(c, add_events + events + link_events)
        mem.store.bump_changes(c, 1)
    mem.store_count_hint += len(rows)
    # the derived vector index follows the committed store
    vec_ids = [n.id for n in final.values()]
    vectors = [embs]
    metas = [index_metadata(n) for n in final.values()]
    if updated:
        old_vecs = mem.store.embeddings(list(updated))
        ids_u = [i for i in updated if i in old_vecs]
        vec_ids += ids_u
        vectors.append(np.stack([old_vecs[i] for i in ids_u]) if ids_u else np.zeros((0, embs.shape[1]), np.float32))
        metas += [index_metadata(updated[i]) for i in ids_u]
    mem.index.upsert(vec_ids, np.vstack(vectors), metas)
    mem._index_synced()
    mem.graph.add_links(links)
    return list(final)


def _lookup(mem: Memory, nid: str, chunk: list[Prepared]) -> Note:
    for p in chunk:
        if p.note.id == nid:
            return p.note
    return mem.store.get(nid)


def _update_row(n: Note) -> dict[str, Any]:
    row = note_row(n, search_extra(n), None)
    row.pop("embedding")
    for f in ("created_at", "retrieval_count", "last_accessed", *SCOPE_FIELDS):
        row.pop(f)
    return row


def _event(note_id: str, kind: str, before: dict | None, after: dict | None, at: Any, actor: str,
           reason: str | None) -> dict[str, Any]:
    return {"note_id": note_id, "event": kind, "before": before, "after": after, "at": at, "actor": actor,
            "reason": reason}

