"""The ``Memory`` facade (and ``AsyncMemory`` over the same core).

A memory is a folder: ``memkit.db`` (SQLite, authoritative), ``chroma/`` (the
derived vector index) and ``config.toml``.  Opening never resets anything.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from memkit.builders.base import embed_text
from memkit.config import MemkitConfig, default_home
from memkit.errors import ConfigError, InvalidInputError, StoreError
from memkit.filters import build_filter, index_metadata
from memkit.linking import HeuristicJudge, LLMJudge
from memkit.progress import progress_bar, want_progress
from memkit.registry import embedders, note_builders, vector_indexes
from memkit.stores.graph import NoteGraph
from memkit.stores.lock import StoreLock
from memkit.stores.sqlite import SQLiteStore
from memkit.types import HistoryEvent, Hit, Note, Stats

__all__ = ["Memory", "AsyncMemory"]

_DB = "memkit.db"
_CONFIG = "config.toml"
_INDEX_DIRS = {"chroma": "chroma"}


class Memory:
    """A persistent Zettelkasten memory in a folder.

    >>> mem = Memory("~/.memkit/default")
    >>> note = mem.add("Alice moved to Lisbon in May", user_id="u1")
    >>> mem.search("where does Alice live?", user_id="u1")[0].note.content
    'Alice moved to Lisbon in May'
    """

    def __init__(self, path: str | Path | None = None, config: MemkitConfig | dict | None = None):
        self.path = Path(path).expanduser() if path is not None else default_home()
        if self.path.exists() and not self.path.is_dir():
            raise InvalidInputError(f"memory path {self.path} exists and is not a folder")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the memory folder {self.path}: {exc}") from None
        self._store_lock = StoreLock(self.path)
        self._store_lock.acquire()
        try:
            self._open(config)
        except BaseException:
            self._store_lock.release()
            raise

    def _open(self, config: MemkitConfig | dict | None) -> None:
        cfg_file = self.path / _CONFIG
        if config is None and cfg_file.exists():
            self.config = MemkitConfig.from_toml(cfg_file)
        else:
            self.config = MemkitConfig.parse(config)
            if not cfg_file.exists():
                cfg_file.write_text(self.config.to_toml(), encoding="utf-8")
        self._lock = threading.RLock()
        self.store = SQLiteStore(self.path / _DB)
        self.embedder = embedders.get(self.config.embedder.kind)(self.config.embedder)
        self.store.check_embedder(self.embedder.name, None)
        self._embedder_checked = False
        self.builder = note_builders.get(self.config.builder.kind)(self.config.builder, self.embedder)
        judge = self.config.linker.judge
        if judge == "auto":
            judge = "llm" if self.config.builder.kind == "llm" else "heuristic"
        if judge == "llm":
            if not self.config.builder.model:
                raise ConfigError("linker.judge='llm' needs builder.model (a litellm model string)")
            self.judge: HeuristicJudge | LLMJudge = LLMJudge(self.config.linker, self.config.builder)
        elif judge == "heuristic":
            self.judge = HeuristicJudge(self.config.linker)
        else:
            raise ConfigError(f"linker.judge must be 'heuristic', 'llm' or 'auto', got {judge!r}")
        self.graph = NoteGraph(self.store.all_links)
        self._index: Any = None
        self._speaker_cache: dict[str, Any] = {}
        self.store_count_hint = self.store.count()
        self._closed = False

    # -- parts ------------------------------------------------------------------
    @property
    def index(self) -> Any:
        """The vector index, opened (and reconciled with SQLite) on first use."""
        if self._index is None:
            with self._lock:
                if self._index is None:
                    kind = self.config.index.kind
                    cls = vector_indexes.get(kind)
                    self._index = cls(self.path / _INDEX_DIRS.get(kind, kind), None, self.config.index)
                    self.reconcile()
        return self._index

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        vecs = self.embedder.embed(texts)
        if not self._embedder_checked:
            self.store.check_embedder(self.embedder.name, int(vecs.shape[1]))
            self._embedder_checked = True
        return vecs

    def _embed_notes(self, notes: Sequence[Note]) -> np.ndarray:
        return self._embed([embed_text(n, self.config.notes.embed_speaker) for n in notes])

    def _embed_query(self, query: str) -> np.ndarray:
        return self._embed([query])[0]

    def _nearest(self, vectors: np.ndarray, k: int, flt: Any) -> list[list[tuple[str, float]]]:
        """The ``k`` nearest notes passing ``flt`` for each vector.

        A small scope is searched exactly in SQLite (``index.exact_below``).  In the
        vector index, the validity window is checked in SQLite on the nearest notes
        of the scope, since a range condition over every note costs the index more
        than the search itself.  Dropping closed notes keeps the order, so what
        remains is exactly the nearest valid notes; only when fewer than half remain
        is the index asked again with the whole filter.
        """
        if self.config.index.exact_below > 0:
            found = self.store.nearest(vectors, k, flt, self.config.index.exact_below)
            if found is not None:
                return found
        if flt.open_at is None and flt.started_by is None:
            return self.index.query(vectors, k, where=flt)
        out = []
        for v, raw in zip(vectors, self.index.query(vectors, k, where=flt.without_validity()), strict=True):
            passed = self.store.candidates([i for i, _ in raw], flt)
            hits = [h for h in raw if h[0] in passed]
            if len(raw) == k and len(hits) < k // 2:  # the index had more: ask it with the whole filter
                hits = self.index.query(v[None, :], k, where=flt)[0]
            out.append(hits)
        return out

    def _speakers(self, flt: Any) -> set[str]:
        """Speakers in a search scope, cached until the store changes."""
        key = (flt.without_validity().model_dump_json(), self.store.changes())
        if self._speaker_cache.get("key") != key:
            self._speaker_cache = {"key": key, "value": self.store.speakers(flt)}
        return self._speaker_cache["value"]

    def _index_synced(self) -> None:
        self.store.set_meta("indexed_changes", str(self.store.changes()))

    def reconcile(self, progress: bool | None = None) -> dict[str, int]:
        """Bring the vector index in line with SQLite: insert missing or stale vectors, drop unknown ones."""
        index = self._index
        store_n = self.store.count()
        if self.store.get_meta("indexed_changes") == str(self.store.changes()) and index.count() == store_n:
            return {"inserted": 0, "deleted": 0, "reembedded": 0}
        have = index.versions()
        want = self.store.versions()
        extra = [i for i in have if i not in want]
        todo = [i for i, v in want.items() if have.get(i) != v]
        index.delete(extra)
        reembedded = self._upsert_from_store(todo, progress, "reconciling the vector index")
        self._index_synced()
        return {"inserted": len(todo), "deleted": len(extra), "reembedded": reembedded}

    def _upsert_from_store(self, ids: list[str], progress: bool | None, label: str) -> int:
        reembedded = 0
        step = 1000
        with progress_bar(label, len(ids), want_progress(progress, len(ids))) as bar:
            for s in range(0, len(ids), step):
                chunk = ids[s : s + step]
                notes = self.store.get_many(chunk)
                vecs = self.store.embeddings(chunk)
                need = [i for i in chunk if i in notes and i not in vecs]
                if need:
                    fresh = self._embed_notes([notes[i] for i in need])
                    with self.store.transaction() as c:
                        c.executemany("UPDATE notes SET embedding = ? WHERE id = ?",
                                      [(fresh[j].tobytes(), nid) for j, nid in enumerate(need)])
                    vecs.update({nid: fresh[j] for j, nid in enumerate(need)})
                    reembedded += len(need)
                ok = [i for i in chunk if i in notes]
                if ok:
                    self._index.upsert(ok, np.stack([vecs[i] for i in ok]), [index_metadata(notes[i]) for i in ok])
                bar.advance(len(chunk))
        return reembedded

    # -- writing ----------------------------------------------------------------
    def add(
        self,
        content: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        source: str | None = None,
        keywords: list[str] | None = None,
        tags: list[str] | None = None,
        context: str | None = None,
        valid_from: datetime | str | None = None,
        created_at: datetime | str | None = None,
        id: str | None = None,
        supersedes: str | list[str] | None = None,
        links: list[str] | None = None,
    ) -> Note:
        """Add one note; ``valid_from`` is when the experience happened (default: now).

        ``supersedes`` closes older notes (their ``valid_to`` is set, they stay stored);
        ``links`` links the new note to existing ones by id.
        """
        item = {
            "content": content, "user_id": user_id, "agent_id": agent_id, "session_id": session_id,
            "metadata": metadata, "source": source, "keywords": keywords, "tags": tags, "context": context,
            "valid_from": valid_from, "created_at": created_at, "id": id, "supersedes": supersedes, "links": links,
        }
        return self.add_many([{k: v for k, v in item.items() if v is not None} | {"content": content}],
                             progress=False)[0]

    def add_many(
        self,
        items: Sequence[str | dict[str, Any]],
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        source: str | None = None,
        progress: bool | None = None,
    ) -> list[Note]:
        """Add many notes (strings, or dicts with ``add``'s fields), batched.

        Every item is validated before anything is written. The keyword arguments
        are defaults for items that do not set them (metadata is merged).
        """
        from memkit.ingest import ingest

        defaults = {"user_id": user_id, "agent_id": agent_id, "session_id": session_id, "metadata": metadata,
                    "source": source}
        with self._lock:
            self._check_open()
            return ingest(self, items, defaults, progress)

    def update(self, note_id: str, **changes: Any) -> Note:
        """Change fields of a note (content, keywords, tags, context, metadata, valid_from, valid_to, source,
        agent_id, session_id); a history event records before and after."""
        from memkit.changes import update_note

        with self._lock:
            self._check_open()
            return update_note(self, note_id, changes, actor="user")

    def delete(self, note_id: str) -> None:
        """Delete a note and its links; its last state stays in history (undo restores it)."""
        from memkit.changes import delete_note

        with self._lock:
            self._check_open()
            delete_note(self, note_id)

    def undo(self, event_id: int) -> HistoryEvent:
        """Revert one history event (an evolution, update, link, supersession, add or delete)."""
        from memkit.changes import undo_event

        with self._lock:
            self._check_open()
            return undo_event(self, event_id)

    def link(self, src: str, dst: str, kind: str = "manual", weight: float = 1.0) -> None:
        from memkit.changes import add_link

        with self._lock:
            self._check_open()
            add_link(self, src, dst, kind, weight)

    def unlink(self, src: str, dst: str) -> int:
        from memkit.changes import remove_link

        with self._lock:
            self._check_open()
            return remove_link(self, src, dst)

    # -- reading ----------------------------------------------------------------
    def search(
        self,
        query: str,
        k: int = 5,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        filters: dict[str, Any] | None = None,
        include_superseded: bool = False,
        as_of: datetime | None = None,
    ) -> list[Hit]:
        """Hybrid search. By default only currently valid notes; ``include_superseded`` or ``as_of`` for history."""
        from memkit.retrieval import hybrid_search

        if not isinstance(query, str) or not query.strip():
            raise InvalidInputError("query must be a non-empty string")
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 10_000:
            raise InvalidInputError(f"k must be an integer from 1 to 10000, got {k!r}")
        flt = build_filter(filters, user_id=user_id, agent_id=agent_id, session_id=session_id,
                           include_superseded=include_superseded, as_of=as_of)
        with self._lock:
            self._check_open()
            hits = hybrid_search(self, query, k, flt)
            if self.config.retrieval.update_access and hits:
                from memkit.types import utcnow

                now = utcnow()
                self.store.record_access([h.note.id for h in hits], now)
                for h in hits:
                    h.note.retrieval_count += 1
                    h.note.last_accessed = now
            return hits

    def get(self, note_id: str) -> Note:
        with self._lock:
            self._check_open()
            return self.store.get(_check_id(note_id))

    def iter_notes(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        filters: dict[str, Any] | None = None,
        include_superseded: bool = True,
    ) -> Iterator[Note]:
        """Every note in insertion order (superseded ones too unless asked otherwise)."""
        flt = build_filter(filters, user_id=user_id, agent_id=agent_id, session_id=session_id,
                           include_superseded=include_superseded)
        self._check_open()
        return self.store.iter_notes(flt)

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
        with self._lock:
            self._check_open()
            note = self.store.get(_check_id(note_id))
            dist = self.graph.within(note.id, depth)
            found = self.store.get_many(sorted(dist, key=lambda i: (dist[i], i)))
            return [found[i] for i in sorted(found, key=lambda i: (dist[i], i))]

    def history(self, note_id: str) -> list[HistoryEvent]:
        """Every change to a note, oldest first (also after the note was deleted)."""
        with self._lock:
            self._check_open()
            events = self.store.history(_check_id(note_id))
            if not events and not self.store.exists(note_id):
                from memkit.errors import NotFoundError

                raise NotFoundError(f"no note with id {note_id!r}")
            return events

    def stats(self) -> Stats:
        with self._lock:
            self._check_open()
            c = self.store.counts()
            size = sum(f.stat().st_size for f in self.path.rglob("*") if f.is_file())
            return Stats(
                path=str(self.path), **c,
                embedder=self.store.get_meta("embedder") or self.embedder.name,
                dim=int(self.store.get_meta("dim") or 0),
                vector_index=self.config.index.kind, vector_count=self.index.count(),
                builder=self.config.builder.kind if self.config.builder.kind != "llm"
                else f"llm:{self.config.builder.model}",
                size_bytes=size,
            )

    # -- maintenance ------------------------------------------------------------
    def export(self, path: str | Path) -> int:
        """Write every note and link as JSON lines; returns the number of notes."""
        from memkit.porting import export_jsonl

        with self._lock:
            self._check_open()
            return export_jsonl(self, Path(path))

    def import_(self, path: str | Path, *, on_conflict: str = "skip", progress: bool | None = None) -> int:
        """Read an export (notes re-embedded, links kept); returns the number of notes imported."""
        from memkit.porting import import_jsonl

        with self._lock:
            self._check_open()
            return import_jsonl(self, Path(path), on_conflict=on_conflict, progress=progress)

    def reindex(self, progress: bool | None = None) -> int:
        """Drop the vector index and rebuild it from SQLite; returns the number of vectors."""
        with self._lock:
            self._check_open()
            index = self.index
            index.reset()
            ids = list(self.store.versions())
            self._upsert_from_store(ids, progress, "rebuilding the vector index")
            self._index_synced()
            return index.count()

    def consolidate(self, backend: Any, **kwargs: Any) -> Any:
        """Move stored factual notes into a parametric memory (e.g. WISE edits)."""
        from memkit.consolidate import consolidate

        return consolidate(self, backend, **kwargs)

    # -- lifecycle ----------------------------------------------------------------
    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(f"the memory at {self.path} is closed")

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                if self._index is not None:
                    self._index.close()
                self.store.close()
            finally:
                self._store_lock.release()

    def __enter__(self) -> Memory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Memory({str(self.path)!r})"


def _check_id(note_id: Any) -> str:
    if not isinstance(note_id, str) or not note_id:
        raise InvalidInputError(f"a note id must be a non-empty string, got {note_id!r}")
    return note_id


# ---------------------------------------------------------------------------
# AsyncMemory: the same core, each call run in a worker thread.
_ASYNC_METHODS = (
    "add", "add_many", "search", "get", "all", "update", "delete", "undo", "link", "unlink", "related", "history",
    "stats", "export", "import_", "reindex", "consolidate", "close",
)


def _async_method(name: str) -> Any:
    method = getattr(Memory, name)

    @functools.wraps(method)
    async def run(self: AsyncMemory, *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(method, self.sync, *args, **kwargs)

    return run


class AsyncMemory:
    """``Memory`` for asyncio code: the same methods, awaitable; one shared core, no copied twin."""

    def __init__(self, path: str | Path | None = None, config: MemkitConfig | dict | None = None):
        self.sync = Memory(path, config)

    @property
    def path(self) -> Path:
        return self.sync.path

    async def __aenter__(self) -> AsyncMemory:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()  # type: ignore[attr-defined]


for _name in _ASYNC_METHODS:
    setattr(AsyncMemory, _name, _async_method(_name))
