"""The ``Memory`` facade (and ``AsyncMemory`` over the same core).

A memory is a folder: the note store (``memkit.db``, authoritative), the derived vector index
(``chroma/``) and ``config.toml``; or a PostgreSQL database (``Memory("postgresql://...")``) that many
processes share, its vectors searched by pgvector.  Opening never resets anything.  ``Memory`` validates each
call's arguments, takes the memory's lock and delegates to an operation over the
:class:`~memkit.engine.Engine`.

The lock is a readers-writer lock (:class:`~memkit.lock.ReadWriteLock`): searches and the other
reads run together, each write runs alone, so a read sees a batch of notes whole or not at all, and
``close()`` waits for the reads in flight.  A search embeds its query before it takes the lock; the
retrieval counts it updates are one small store transaction among the reads (the store serialises
its calls, see :class:`~memkit.engine.SerialStore`), not a write that waits for every reader.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TextIO, TypeVar

from memkit.changes import add_link, delete_note, remove_link, undo_event, update_note
from memkit.config import MemkitConfig, default_home, masked_url, remote_folder, store_url, url_config
from memkit.consolidate import ConsolidationReport, consolidate
from memkit.engine import Engine, IndexNotOpen
from memkit.errors import InvalidInputError, StoreError, StoreNotFoundError
from memkit.filters import build_filter
from memkit.ingest import ingest
from memkit.lock import ReadWriteLock, StoreLock
from memkit.porting import export_jsonl, import_jsonl
from memkit.registry import note_stores
from memkit.retrieval import hybrid_search
from memkit.types import HistoryEvent, Hit, Note, Stats, text_problem, utcnow

__all__ = ["Memory", "AsyncMemory"]

_CONFIG = "config.toml"


def _shareable(config: MemkitConfig) -> str:
    """``config`` as the TOML a shared database keeps: without the store's address (and so its password)."""
    data = config.model_dump(exclude_none=True)
    data["store"].pop("url", None)
    return MemkitConfig.parse(data).to_toml()


class Memory:
    """A persistent Zettelkasten memory in a folder.

    >>> mem = Memory("~/.memkit/default")
    >>> note = mem.add("Alice moved to Lisbon in May", user_id="u1")
    >>> mem.search("where does Alice live?", user_id="u1")[0].note.content
    'Alice moved to Lisbon in May'
    """

    def __init__(self, path: str | Path | None = None, config: MemkitConfig | dict | None = None, *,
                 create: bool = True):
        """Open the memory in the folder ``path``, or in the PostgreSQL database at the URL ``path``
        (``postgresql://user@host/db``); with ``create=False`` a missing one is a :class:`StoreNotFoundError`
        instead of a new, empty memory (``self.created`` says which)."""
        url = store_url(path)
        if url is not None:  # a shared database keeps its config itself, as a folder keeps config.toml
            self.location = masked_url(url)
            self.path = remote_folder(url)
            self.config = url_config(config, url)
        else:
            self.path = Path(path).expanduser() if path is not None else default_home()
            self.location = str(self.path)
            if self.path.exists() and not self.path.is_dir():
                raise InvalidInputError(f"memory path {self.path} exists and is not a folder")
            cfg_file = self.path / _CONFIG
            self.config = MemkitConfig.from_toml(cfg_file) if config is None and cfg_file.exists() \
                else MemkitConfig.parse(config)
        store_kind = note_stores.get(self.config.store.kind)
        self.created = not store_kind.found_in(self.path, self.config.store)
        if url is not None and config is None and not self.created:
            self.config = self._stored_config(store_kind, url) or self.config
        if self.created and not create:
            raise StoreNotFoundError(f"no memory at {self.location}")
        # one process at a time in an embedded store; a shared one (a database server) takes its own locks
        if url is None:
            self._folder()
        self._store_lock = None if store_kind.shared else StoreLock(self.path)
        if self._store_lock is not None:
            self._store_lock.acquire()
        try:
            if url is None and not (self.path / _CONFIG).exists():
                (self.path / _CONFIG).write_text(self.config.to_toml(), encoding="utf-8")
            self.engine = Engine(self.path, self.config)
            if url is not None and self.engine.store.get_meta(_CONFIG) is None:
                self.engine.store.set_meta(_CONFIG, _shareable(self.config))
        except BaseException:
            if self._store_lock is not None:
                self._store_lock.release()
            raise
        self._lock = ReadWriteLock()
        self._closed = False

    def _stored_config(self, kind: Any, url: str) -> MemkitConfig | None:
        """The config the existing database at ``url`` was created with (its store's address is the one given)."""
        store = kind.open(self.path, self.config.store)
        try:
            stored = store.get_meta(_CONFIG)
        finally:
            store.close()
        if stored is None:
            return None
        return url_config(MemkitConfig.from_toml_text(stored, f"the config stored in {self.location}"), url)

    def _folder(self) -> None:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the memory folder {self.path}: {exc}") from None

    # -- parts (the engine's) -------------------------------------------------------
    @property
    def store(self) -> Any:
        """The note store (``memkit.protocols.NoteStore``)."""
        return self.engine.store

    @property
    def index(self) -> Any:
        """The vector index, opened (and reconciled with the store) on first use."""
        with self._lock.writing():
            return self.engine.index

    @property
    def graph(self) -> Any:
        return self.engine.graph

    @property
    def embedder(self) -> Any:
        return self.engine.embedder

    @embedder.setter
    def embedder(self, embedder: Any) -> None:
        self.engine.embedder = embedder

    @property
    def builder(self) -> Any:
        return self.engine.builder

    @property
    def judge(self) -> Any:
        return self.engine.judge

    def reconcile(self, progress: bool | None = None) -> dict[str, int]:
        """Bring the vector index in line with the store: insert missing or stale vectors, drop unknown ones."""
        with self._lock.writing():
            self._check_open()
            return self.engine.reconcile(progress)

    # -- writing ----------------------------------------------------------------
    def add(self, content: str, *, user_id: str | None = None, agent_id: str | None = None,
            session_id: str | None = None, metadata: dict[str, Any] | None = None, source: str | None = None,
            keywords: list[str] | None = None, tags: list[str] | None = None, context: str | None = None,
            valid_from: datetime | str | None = None, created_at: datetime | str | None = None, id: str | None = None,
            supersedes: str | list[str] | None = None, links: list[str] | None = None) -> Note:
        """Add one note; ``valid_from`` is when the experience happened (default: now).

        ``supersedes`` closes older notes (their ``valid_to`` is set, they stay stored);
        ``links`` links the new note to existing ones by id (or a unique id prefix, as in ``get``).
        """
        if isinstance(supersedes, str):
            supersedes = self.resolve_id(supersedes)
        elif isinstance(supersedes, list) and all(isinstance(i, str) and i for i in supersedes):
            supersedes = [self.resolve_id(i) for i in supersedes]
        if isinstance(links, list) and all(isinstance(i, str) and i for i in links):
            links = [self.resolve_id(i) for i in links]
        item = {
            "content": content, "user_id": user_id, "agent_id": agent_id, "session_id": session_id,
            "metadata": metadata, "source": source, "keywords": keywords, "tags": tags, "context": context,
            "valid_from": valid_from, "created_at": created_at, "id": id, "supersedes": supersedes, "links": links,
        }
        return self.add_many([{k: v for k, v in item.items() if v is not None} | {"content": content}],
                             progress=False)[0]

    def add_many(self, items: Sequence[str | dict[str, Any]], *, user_id: str | None = None,
                 agent_id: str | None = None, session_id: str | None = None, metadata: dict[str, Any] | None = None,
                 source: str | None = None, progress: bool | None = None) -> list[Note]:
        """Add many notes (strings, or dicts with ``add``'s fields), batched.

        Every item is validated before anything is written. The keyword arguments
        are defaults for items that do not set them (metadata is merged).
        """
        defaults = {"user_id": user_id, "agent_id": agent_id, "session_id": session_id, "metadata": metadata,
                    "source": source}
        with self._lock.writing():
            self._check_open()
            return ingest(self.engine, items, defaults, progress)

    def update(self, note_id: str, **changes: Any) -> Note:
        """Change fields of a note (content, keywords, tags, context, metadata, valid_from, valid_to, source; its
        user, agent and session stay); a history event records before and after."""
        with self._lock.writing():
            self._check_open()
            return update_note(self.engine, self.resolve_id(note_id), changes, actor="user")

    def delete(self, note_id: str) -> None:
        """Delete a note and its links; its last state stays in history (undo restores it)."""
        with self._lock.writing():
            self._check_open()
            delete_note(self.engine, self.resolve_id(note_id))

    def undo(self, event_id: int) -> HistoryEvent:
        """Revert one history event (an evolution, update, link, supersession, add or delete)."""
        with self._lock.writing():
            self._check_open()
            return undo_event(self.engine, event_id)

    def link(self, src: str, dst: str, kind: str = "manual", weight: float = 1.0) -> None:
        with self._lock.writing():
            self._check_open()
            add_link(self.engine, self.resolve_id(src), self.resolve_id(dst), kind, weight)

    def unlink(self, src: str, dst: str) -> int:
        with self._lock.writing():
            self._check_open()
            return remove_link(self.engine, self.resolve_id(src), self.resolve_id(dst))

    # -- reading ----------------------------------------------------------------
    def search(self, query: str, k: int = 5, *, user_id: str | None = None, agent_id: str | None = None,
               session_id: str | None = None, filters: dict[str, Any] | None = None,
               include_superseded: bool = False, as_of: datetime | None = None) -> list[Hit]:
        """Hybrid search. By default only currently valid notes; ``include_superseded`` or ``as_of`` for history."""
        if not isinstance(query, str) or not query.strip():
            raise InvalidInputError("query must be a non-empty string")
        if problem := text_problem(query):
            raise InvalidInputError(f"query {problem}")
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 10_000:
            raise InvalidInputError(f"k must be an integer from 1 to 10000, got {k!r}")
        flt = build_filter(filters, user_id=user_id, agent_id=agent_id, session_id=session_id,
                           include_superseded=include_superseded, as_of=as_of)
        self._check_open()
        # embedded before the lock: the slowest step of a search never holds anything others wait for
        vector = self.engine.query_vector(query) if self.config.retrieval.dense else None
        while True:
            with self._reading(query, vector):
                try:
                    hits = hybrid_search(self.engine, query, k, flt)
                except IndexNotOpen:
                    pass
                else:
                    if self.config.retrieval.update_access and hits:
                        now = utcnow()
                        self.store.record_access([h.note.id for h in hits], now)
                        for h in hits:
                            h.note.retrieval_count += 1
                            h.note.last_accessed = now
                    return hits
            with self._lock.writing():  # the first search that needs the vector index opens it, alone
                self._check_open()
                self.engine.index  # noqa: B018 - opened (and reconciled) on first use

    def get(self, note_id: str) -> Note:
        """The note with this id, or with the one id that starts with ``note_id`` (see ``resolve_id``)."""
        with self._reading():
            return self.store.get(self.resolve_id(note_id))

    def resolve_id(self, note_id: str, *, deleted: bool = False) -> str:
        """The full id of the note whose id is ``note_id`` or, as git resolves a short hash, starts with it.

        A prefix needs 4 characters and must match one note: several are an :class:`InvalidInputError`
        saying how many, none a :class:`NotFoundError`.  Every call that takes a note id accepts one.
        ``deleted`` also resolves deleted notes (known from their history).
        """
        if not isinstance(note_id, str) or not note_id:
            raise InvalidInputError(f"a note id must be a non-empty string, got {note_id!r}")
        with self._reading():
            return self.store.resolve_id(note_id, deleted=deleted)

    def short_ids(self, ids: Sequence[str], min_len: int = 8) -> dict[str, str]:
        """The shortest prefix (at least ``min_len`` characters) of each id that ``resolve_id`` takes back."""
        with self._reading():
            return self.store.short_ids(ids, min_len)

    def existing(self, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` (full ids) are stored notes."""
        with self._reading():
            return self.store.existing(ids)

    def iter_notes(self, *, user_id: str | None = None, agent_id: str | None = None, session_id: str | None = None,
                   filters: dict[str, Any] | None = None, include_superseded: bool = True) -> Iterator[Note]:
        """Every note in insertion order (superseded ones too unless asked otherwise)."""
        flt = build_filter(filters, user_id=user_id, agent_id=agent_id, session_id=session_id,
                           include_superseded=include_superseded)
        self._check_open()
        return self._each(self.store.iter_notes(flt))

    def _each(self, notes: Iterator[Note]) -> Iterator[Note]:
        """``notes`` (a store iterator, which reads a batch at a time), each step taken as a read: no write
        runs while a batch is read, and the store's connection serves this step alone."""
        while True:
            with self._reading(), self.engine.store_mutex:
                note = next(notes, None)
            if note is None:
                return
            yield note

    def all(self, limit: int | None = None, **kwargs: Any) -> list[Note]:
        out = []
        for n in self.iter_notes(**kwargs):
            if limit is not None and len(out) >= limit:
                break
            out.append(n)
        return out

    def related(self, note_id: str, depth: int = 1) -> list[Note]:
        """Notes linked to ``note_id`` within ``depth`` hops, nearest first."""
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
            raise InvalidInputError(f"depth must be a positive integer, got {depth!r}")
        with self._reading():
            note = self.store.get(self.resolve_id(note_id))
            # only through notes of the note's own user: a link that crosses users (none is made) leads nowhere
            dist = self.store.within(note.id, depth, note.user_id)
            found = self.store.get_many(sorted(dist, key=lambda i: (dist[i], i)))
            return [found[i] for i in sorted(found, key=lambda i: (dist[i], i))]

    def history(self, note_id: str) -> list[HistoryEvent]:
        """Every change to a note, oldest first (also after the note was deleted)."""
        with self._reading():
            return self.store.history(self.resolve_id(note_id, deleted=True))

    def stats(self) -> Stats:
        with self._lock.writing():
            self._check_open()
            builder = self.config.builder
            return Stats(
                path=self.location, **self.store.counts(),
                embedder=self.store.get_meta("embedder") or self.embedder.name,
                dim=int(self.store.get_meta("dim") or 0),
                vector_index=self.config.index.kind, vector_count=self.engine.vector_count(),
                builder=builder.kind if builder.kind != "llm" else f"llm:{builder.model}",
                size_bytes=sum(f.stat().st_size for f in self.path.rglob("*") if f.is_file()),
            )

    # -- maintenance ------------------------------------------------------------
    def export(self, path: str | Path | TextIO, *, user_id: str | None = None) -> int:
        """Write every note and link as JSON lines to a file (or an open text stream, e.g. ``sys.stdout``);
        with ``user_id``, only that user's notes and the links among them.  Returns the number of notes."""
        with self._lock.writing():
            self._check_open()
            return export_jsonl(self.engine, path if hasattr(path, "write") else Path(path), user_id=user_id)

    def import_(self, path: str | Path, *, on_conflict: str = "skip", progress: bool | None = None) -> int:
        """Read an export (notes re-embedded, links kept); returns the number of notes imported."""
        with self._lock.writing():
            self._check_open()
            return import_jsonl(self.engine, Path(path), on_conflict=on_conflict, progress=progress)

    def reindex(self, progress: bool | None = None) -> int:
        """Rebuild the vector index from the store, in a new folder whatever state the old one is in; returns the
        number of vectors.  (A damaged old index is kept as ``chroma.broken-<time>``, and a log line says so.)"""
        with self._lock.writing():
            self._check_open()
            return self.engine.reindex(progress)

    def consolidate(self, backend: Any, *, limit: int | None = None, filters: dict[str, Any] | None = None,
                    user_id: str | None = None, progress: bool = True) -> ConsolidationReport:
        """Move stored factual notes into a parametric memory (e.g. WISE edits); see :mod:`memkit.consolidate`."""
        notes = self.iter_notes(filters=filters, user_id=user_id)  # each step a read: no write runs inside one
        return consolidate(notes, backend, limit=limit, progress=progress)

    # -- lifecycle ----------------------------------------------------------------
    @contextmanager
    def _reading(self, query: str | None = None, vector: Any = None) -> Iterator[None]:
        """Held for reading, alongside other reads (see the module docstring); ``query``/``vector``: a
        search's query, embedded before the lock."""
        with self._lock.reading():
            self._check_open()
            with self.engine.reading(query, vector):
                yield

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(f"the memory at {self.location} is closed")

    def close(self) -> None:
        with self._lock.writing():
            if self._closed:
                return
            self._closed = True
            try:
                self.engine.close()
            finally:
                if self._store_lock is not None:
                    self._store_lock.release()

    def __enter__(self) -> Memory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Memory({self.location!r})"


# ---------------------------------------------------------------------------
# AsyncMemory: the same core, each call run in a worker thread.  Each method is Memory's own, wrapped;
# a type checker sees its parameters (ParamSpec) and an awaitable of its result.
P = ParamSpec("P")
R = TypeVar("R")


def _in_thread(method: Callable[Concatenate[Memory, P], R]
               ) -> Callable[Concatenate[AsyncMemory, P], Coroutine[Any, Any, R]]:
    @functools.wraps(method)
    async def run(self: AsyncMemory, *args: P.args, **kwargs: P.kwargs) -> R:
        return await asyncio.to_thread(method, self.sync, *args, **kwargs)

    return run


class AsyncMemory:
    """``Memory`` for asyncio code: the same methods, awaitable; one shared core, no copied twin."""

    def __init__(self, path: str | Path | None = None, config: MemkitConfig | dict | None = None, *,
                 create: bool = True):
        self.sync = Memory(path, config, create=create)

    @property
    def path(self) -> Path:
        return self.sync.path

    add = _in_thread(Memory.add)
    add_many = _in_thread(Memory.add_many)
    search = _in_thread(Memory.search)
    get = _in_thread(Memory.get)
    all = _in_thread(Memory.all)
    update = _in_thread(Memory.update)
    delete = _in_thread(Memory.delete)
    undo = _in_thread(Memory.undo)
    link = _in_thread(Memory.link)
    unlink = _in_thread(Memory.unlink)
    related = _in_thread(Memory.related)
    history = _in_thread(Memory.history)
    stats = _in_thread(Memory.stats)
    export = _in_thread(Memory.export)
    import_ = _in_thread(Memory.import_)
    reindex = _in_thread(Memory.reindex)
    consolidate = _in_thread(Memory.consolidate)
    close = _in_thread(Memory.close)
    resolve_id = _in_thread(Memory.resolve_id)
    short_ids = _in_thread(Memory.short_ids)
    existing = _in_thread(Memory.existing)

    async def __aenter__(self) -> AsyncMemory:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


_ASYNC_METHODS = tuple(name for name, v in vars(AsyncMemory).items() if asyncio.iscoroutinefunction(v)
                       and not name.startswith("_"))
