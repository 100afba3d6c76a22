"""Writing notes: validate every item first, then embed and write them in chunks.

Texts are embedded a wide window at a time (the embedder sorts a call's texts by
length, so wide windows pad little); the next window is embedded in a worker
thread while this one is built, linked and committed in chunks of ``write_batch``
(:func:`memkit.writing.write_chunk`).  Each chunk is one store transaction; the
vector index follows it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from pydantic import ValidationError

from memkit.errors import InvalidInputError, NotFoundError, validation_message
from memkit.progress import progress_bar, want_progress
from memkit.types import Note, utcnow
from memkit.writing import Prepared, write_chunk

if TYPE_CHECKING:
    from memkit.engine import Engine

__all__ = ["Prepared", "prepare_items", "ingest", "embedded_chunks", "ITEM_FIELDS", "check_content_size"]

T = TypeVar("T")

# what add() / add_many() items may carry besides Note fields
_EXTRA_FIELDS = ("supersedes", "links")
_NOTE_INPUT_FIELDS = (
    "id", "content", "keywords", "tags", "context", "created_at", "valid_from", "valid_to",
    "user_id", "agent_id", "session_id", "metadata", "source",
)
ITEM_FIELDS = _NOTE_INPUT_FIELDS + _EXTRA_FIELDS


def _id_list(value: Any, what: str, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v for v in value):
        raise InvalidInputError(f"{where}: {what} must be a note id or a list of note ids")
    return list(dict.fromkeys(value))


def prepare_items(items: Sequence[Any], defaults: Mapping[str, Any], max_content_chars: int | None = None
                  ) -> list[Prepared]:
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
        check_content_size(data["content"], max_content_chars, where)
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


def check_content_size(content: str, max_chars: int | None, where: str) -> None:
    if max_chars is not None and len(content) > max_chars:
        raise InvalidInputError(
            f"{where}: content is {len(content):,} characters, more than the maximum of {max_chars:,} "
            "(notes.max_content_chars in the store's config.toml); split the text into several notes")


def _check_references(mem: Engine, prepared: list[Prepared]) -> None:
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


def ingest(mem: Engine, items: Sequence[Any], defaults: Mapping[str, Any], progress: bool | None) -> list[Note]:
    prepared = prepare_items(items, defaults, mem.config.notes.max_content_chars)
    if not prepared:
        return []
    _check_references(mem, prepared)
    written: list[str] = []
    previous = _previous_turns(mem, prepared)
    with progress_bar("adding notes", len(prepared), want_progress(progress, len(prepared))) as bar:
        for chunk, embs in embedded_chunks(mem, prepared, lambda p: p.note):
            written += write_chunk(mem, chunk, embs, previous)
            bar.advance(len(chunk))
    found = mem.store.get_many(written)
    return [found[i] for i in written]


@contextmanager
def _one_blas_thread() -> Iterator[None]:
    """numpy's OpenBLAS threads spin for a while after every product: beside the embedder that spinning
    is CPU taken from it, and memkit's products are small enough for one thread.  The previous setting is
    restored afterwards."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


def embedded_chunks(mem: Engine, items: list[T], note_of: Callable[[T], Note]) -> Iterator[tuple[list[T], np.ndarray]]:
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
        yield from _chunked(windows[0], mem.embed_notes([note_of(x) for x in windows[0]]), size)
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="memkit-embed") as pool, _one_blas_thread():
        future = pool.submit(mem.embed_notes, [note_of(x) for x in windows[0]])
        for wi, window in enumerate(windows):
            embs = future.result()
            if wi + 1 < len(windows):
                future = pool.submit(mem.embed_notes, [note_of(x) for x in windows[wi + 1]])
            yield from _chunked(window, embs, size)


def _chunked(window: list[T], embs: np.ndarray, size: int) -> Iterator[tuple[list[T], np.ndarray]]:
    for i in range(0, len(window), size):
        yield window[i : i + size], embs[i : i + size]


def _turn_key(note: Note) -> tuple[str, str | None, str | None] | None:
    """What a conversation is: one session of one user (and agent).  Two users' notes that share a session id
    are two conversations, never linked (a link would carry one user's note into the other's ``related``)."""
    return None if note.session_id is None else (note.session_id, note.user_id, note.agent_id)


def _previous_turns(mem: Engine, prepared: list[Prepared]) -> dict[str, Note]:
    """The previous turn of each new note's conversation (session, user and agent): an earlier item of this call,
    or the conversation's last stored note."""
    last: dict[tuple[str, str | None, str | None], Note] = {}
    out: dict[str, Note] = {}
    keys = {k for p in prepared if (k := _turn_key(p.note)) is not None}
    stored = {k: mem.store.last_in_session(k[0], user_id=k[1], agent_id=k[2]) for k in keys}
    found = mem.store.get_many([v[0] for v in stored.values() if v is not None])
    for k, v in stored.items():
        if v is not None and v[0] in found:
            last[k] = found[v[0]]
    for p in prepared:
        k = _turn_key(p.note)
        if k is None:
            continue
        if k in last:
            out[p.note.id] = last[k]
        last[k] = p.note
    return out
