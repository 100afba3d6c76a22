"""The engine behind ``Memory``: the parts of one memory and the plumbing every operation shares.

It owns the note store, the embedder, the vector index (opened on first use and reconciled with
the store), nearest-neighbour routing (exact in the store for a small scope, else the index),
deferred index updates, the note graph, the note builder and the link judge.  The operations
(:mod:`memkit.ingest`, :mod:`memkit.changes`, :mod:`memkit.porting`, :mod:`memkit.retrieval`)
take an engine; ``Memory`` validates, locks and delegates to them.  Every part comes from its
registry, so the engine names no concrete store, index, embedder, builder or judge.

Reads run together (``Memory`` holds its lock for reading) inside :meth:`Engine.reading`: there the
store is seen through :class:`SerialStore` (its one connection serves one call at a time), the vector
index is used only if it is open (opening it writes: :class:`IndexNotOpen` asks the caller to open it
under the write lock and read again), and a query embedded before the lock is taken is given.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from memkit.builders.base import embed_text
from memkit.config import MemkitConfig
from memkit.errors import ConfigError, VectorIndexError
from memkit.filters import Filter, index_metadata
from memkit.graph import NoteGraph, StoreGraph
from memkit.progress import progress_bar, want_progress
from memkit.protocols import Embedder, LinkJudge, NoteBuilder, NoteStore, VectorIndex
from memkit.registry import embedders, link_judges, note_builders, note_stores, vector_indexes
from memkit.types import Note, WriteBatch, WriteResult

__all__ = ["Engine", "IndexNotOpen", "SerialStore"]

_INDEX_DIRS = {"chroma": "chroma"}  # the vector index's folder inside the memory's, by kind (default: the kind)
_SPEAKER_SCOPES = 256  # search scopes whose speakers are kept
_REFILL_STEP = 1000  # notes read, re-embedded if need be, and written to the index at a time


def _judge_kind(config: MemkitConfig) -> str:
    judge = config.linker.judge
    if judge == "auto":  # a small local model writes good notes but links at random: it does not judge
        llm = config.builder.kind == "llm" and not str(config.builder.model).startswith("local/")
        return "llm" if llm else "heuristic"
    if judge not in link_judges:
        names = [repr(n) for n in link_judges.names()] + ["'auto'"]
        raise ConfigError(f"linker.judge must be {', '.join(names[:-1])} or {names[-1]}, got {judge!r}")
    return judge


class IndexNotOpen(Exception):
    """Inside :meth:`Engine.reading`, the vector index was needed and is not open yet: opening it (and
    reconciling it with the store) writes, so it is opened under the write lock and the read run again."""


class SerialStore:
    """The note store as concurrent readers see it: each call holds one mutex, so its single connection
    serves one call at a time (two threads stepping one statement of one connection would mix their
    parameters and rows).  A generator a call returns is not covered: readers iterate none."""

    def __init__(self, store: NoteStore, mutex: threading.RLock):
        self._store = store
        self._mutex = mutex

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        if not callable(attr):
            return attr
        mutex = self._mutex

        @functools.wraps(attr)
        def call(*args: Any, **kwargs: Any) -> Any:
            with mutex:
                return attr(*args, **kwargs)

        return call


class Engine:
    """The parts of the memory in ``path`` configured by ``config``; see the module docstring."""

    def __init__(self, path: Path, config: MemkitConfig):
        self.path = path
        self.config = config
        self._store: NoteStore = note_stores.get(config.store.kind).open(path, config.store)
        self.store_mutex = threading.RLock()  # what SerialStore holds; Memory holds it to step a store iterator
        self._serial = SerialStore(self._store, self.store_mutex)
        self._reading = threading.local()  # per thread: inside reading() (flag), and the query given to it
        try:
            self.embedder: Embedder = embedders.get(config.embedder.kind)(config.embedder)
            self._store.check_embedder(self.embedder.name, None)
            self.builder: NoteBuilder = note_builders.get(config.builder.kind)(config.builder, self.embedder)
            self.judge: LinkJudge = link_judges.get(_judge_kind(config))(config.linker, config.builder)
        except BaseException:
            self._store.close()
            raise
        # a store other processes write is walked where it is; an embedded one is loaded once and kept in step
        self.graph = StoreGraph(lambda: self.store) if self._store.shared \
            else NoteGraph(lambda: self.store.all_links())  # loaded by a reader too: through self.store
        self.count_hint = self._store.count()  # notes stored, kept up to date by commit (linking skips an empty store)
        self._index: VectorIndex | None = None
        self._index_lock = threading.RLock()
        self._embedder_checked = False
        self._speakers: OrderedDict[str, tuple[int, set[str]]] = OrderedDict()  # scope -> (changes, speakers)
        self._speakers_lock = threading.Lock()

    @property
    def may_hold_notes(self) -> bool:
        """Whether the store may hold notes (linking skips an empty one); other processes may fill a shared store."""
        return self._store.shared or self.count_hint > 0

    @property
    def store(self) -> NoteStore:
        """The note store; inside :meth:`reading`, seen through :class:`SerialStore`."""
        return self._serial if getattr(self._reading, "on", False) else self._store  # type: ignore[return-value]

    # -- reading alongside other readers ----------------------------------------------------
    @contextmanager
    def reading(self, query: str | None = None, vector: np.ndarray | None = None) -> Iterator[None]:
        """This thread only reads, alongside other readers (the caller holds ``Memory``'s lock for reading):
        store calls are serialised (:class:`SerialStore`), an index that is not open is :class:`IndexNotOpen`,
        and ``embed_query(query)`` is ``vector`` (embedded before the lock was taken, outside every lock)."""
        local = self._reading
        saved = (getattr(local, "on", False), getattr(local, "query", None))
        local.on, local.query = True, (query, vector) if query is not None and vector is not None else None
        try:
            yield
        finally:
            local.on, local.query = saved

    def query_vector(self, query: str) -> np.ndarray:
        """The embedding of ``query``, from the embedder alone (no store, no lock): for :meth:`reading`."""
        return self.embedder.embed([query])[0]

    # -- embedding ----------------------------------------------------------------
    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors of ``texts``; the first call records the embedder (and its dimension) in the store."""
        vecs = self.embedder.embed(texts)
        self._check_embedding(int(vecs.shape[1]))
        return vecs

    def _check_embedding(self, dim: int) -> None:
        if not self._embedder_checked:
            self.store.check_embedder(self.embedder.name, dim)
            self._embedder_checked = True

    def embed_notes(self, notes: Sequence[Note]) -> np.ndarray:
        return self.embed([embed_text(n, self.config.notes.embed_speaker) for n in notes])

    def embed_query(self, query: str) -> np.ndarray:
        given = getattr(self._reading, "query", None)
        if given is not None and given[0] == query:  # embedded before the lock: see reading()
            self._check_embedding(int(given[1].shape[0]))
            return given[1]
        return self.embed([query])[0]

    # -- the vector index -------------------------------------------------------------
    @property
    def index(self) -> VectorIndex:
        """The vector index, opened (and reconciled with the store) on first use (not inside :meth:`reading`)."""
        if self._index is None:
            if getattr(self._reading, "on", False):
                raise IndexNotOpen("the vector index is opened under the write lock")
            with self._index_lock:
                if self._index is None:
                    self._index = self._open_index()
                    try:
                        self.reconcile()
                    except VectorIndexError:  # damaged in a way opening did not show: moved aside, rebuilt
                        self._index.reset()
                        self.reconcile()
        return self._index

    def _open_index(self) -> VectorIndex:
        kind = self.config.index.kind
        cls = vector_indexes.get(kind)
        # an index that keeps its vectors in the note store's database, or names itself after the memory, takes it
        extra = {"store": self._store} if "store" in inspect.signature(cls).parameters else {}
        return cls(self.path / _INDEX_DIRS.get(kind, kind), None, self.config.index, **extra)

    def nearest(self, vectors: np.ndarray, k: int, flt: Filter) -> list[list[tuple[str, float]]]:
        """The ``k`` nearest notes passing ``flt`` for each vector: ``(id, cosine similarity)``, best first.

        A small scope is searched exactly in the store (``index.exact_below``).  In the vector index, the
        validity window is checked in the store on the nearest notes of the scope, since a range condition
        over every note costs the index more than the search itself.  Dropping closed notes keeps the order,
        so what remains is exactly the nearest valid notes; when fewer than ``k`` remain, the index is asked
        for three times as many, then with the whole filter.  An approximate index may still answer short (an
        HNSW walk that filters as it goes can end before it finds ``k``): a short answer is completed by an
        exact search in the store, so ``k`` hits come back whenever ``k`` notes pass.
        """
        exact_below = self.config.index.exact_below
        if exact_below > 0:
            found = self.store.nearest(vectors, k, flt, exact_below)
            if found is not None:
                return found
        if getattr(self.index, "in_store", False):  # the store's own search: the whole filter in its SQL, completed
            return self.index.query(vectors, k, where=flt)
        validity = not (flt.open_at is None and flt.started_by is None and flt.started_after is None)
        scope = flt.without_validity()
        out = []
        for v, raw in zip(vectors, self.index.query(vectors, k, where=scope), strict=True):
            hits = self._valid(raw, flt) if validity else raw
            if len(hits) < k and len(raw) == k and validity:  # closed notes took places: the index has more
                raw = self.index.query(v[None, :], 3 * k, where=scope)[0]
                hits = self._valid(raw, flt)[:k]
                if len(hits) < k and len(raw) == 3 * k:
                    hits = self.index.query(v[None, :], k, where=flt)[0]
            if len(hits) < k:
                hits = self._complete(v, k, flt, hits)
            out.append(hits)
        return out

    def _valid(self, raw: list[tuple[str, float]], flt: Filter) -> list[tuple[str, float]]:
        passed = self.store.candidates([i for i, _ in raw], flt)
        return [h for h in raw if h[0] in passed]

    def _complete(self, vector: np.ndarray, k: int, flt: Filter, hits: list[tuple[str, float]]
                  ) -> list[tuple[str, float]]:
        """``hits`` of an index that answered fewer than ``k``: the exact answer when more notes pass ``flt``."""
        passing = self.store.nearest(vector[None, :], k, flt, None)[0]
        return passing if len(passing) > len(hits) else hits

    def speakers(self, flt: Filter) -> set[str]:
        """Speakers in a search scope, cached (the last 256 scopes, as a daemon serves many users) until the store
        changes."""
        scope, changes = flt.without_validity().model_dump_json(), self.store.changes()
        with self._speakers_lock:
            cached = self._speakers.get(scope)
            if cached is not None and cached[0] == changes:
                self._speakers.move_to_end(scope)
                return cached[1]
        value = self.store.speakers(flt)
        with self._speakers_lock:
            self._speakers[scope] = (changes, value)
            self._speakers.move_to_end(scope)
            while len(self._speakers) > _SPEAKER_SCOPES:
                self._speakers.popitem(last=False)
        return value

    # -- committing a change ------------------------------------------------------------
    def commit(self, batch: WriteBatch, *, upsert: Sequence[Note] = (), delete: Sequence[str] = (),
               vectors: Mapping[str, np.ndarray] | None = None, open_index: bool = False) -> WriteResult:
        """Commit ``batch`` to the store; then the graph follows its links, and the vector index its notes.

        ``upsert``/``delete`` are the notes whose vectors change (``vectors``: their new embeddings; a note
        without one keeps its stored embedding); a batch with neither leaves the index alone.  With
        ``open_index`` the index is opened to follow at once; otherwise a closed index stays closed (a command
        that needs no vectors never loads it) and the store notes the ids for its next open.
        """
        touches_index = open_index or bool(upsert) or bool(delete)
        follow_now = touches_index and (open_index or self._index is not None)
        if touches_index and not follow_now:
            batch.defer_index = [n.id for n in upsert] + list(delete)
        result = self.store.write(batch)
        self.count_hint += len(batch.insert) - len(batch.delete)
        self.graph.add_links(batch.link)
        for a, b, kind in batch.unlink:
            self.graph.remove_link(a, b, kind)
        for note_id in batch.delete:
            self.graph.remove_node(note_id)
        if follow_now:
            index = self.index
            index.delete(list(delete))
            have = dict(vectors or {})
            missing = [n.id for n in upsert if n.id not in have]
            have.update(self.store.embeddings(missing) if missing else {})
            notes = [n for n in upsert if n.id in have]
            if notes:
                index.upsert([n.id for n in notes], np.stack([have[n.id] for n in notes]),
                             [index_metadata(n) for n in notes])
            self.store.index_synced()
        return result

    # -- keeping the index in step ----------------------------------------------------------
    def reconcile(self, progress: bool | None = None) -> dict[str, int]:
        """Bring the vector index in line with the store: insert missing or stale vectors, drop unknown ones."""
        index = self._index if self._index is not None else self.index
        store = self.store
        done = {"inserted": 0, "deleted": 0, "reembedded": 0}
        pending = store.index_pending()
        if pending and store.index_in_step():  # only these changed since the index was last in step
            present = store.existing(pending)
            gone = [i for i in pending if i not in present]
            index.delete(gone)
            done = {"inserted": len(present), "deleted": len(gone), "reembedded": self._fill_index(
                [i for i in pending if i in present], progress, "updating the vector index")}
            store.clear_index_pending()
        if store.index_in_step() and index.count() == store.count():
            return done
        have = index.versions()
        want = store.versions()
        extra = [i for i in have if i not in want]
        todo = [i for i, v in want.items() if have.get(i) != v]
        index.delete(extra)
        reembedded = self._fill_index(todo, progress, "reconciling the vector index")
        store.clear_index_pending()
        store.index_synced()
        return {"inserted": len(todo), "deleted": len(extra), "reembedded": reembedded}

    def reindex(self, progress: bool | None = None) -> int:
        """Rebuild the vector index from the store, in a new folder whatever state the old one is in."""
        with self._index_lock:
            if self._index is None:
                self._index = self._open_index()  # not reconciled: everything is written again below
            index = self._index
        index.reset()
        self._fill_index(list(self.store.versions()), progress, "rebuilding the vector index")
        self.store.clear_index_pending()
        self.store.index_synced()
        return index.count()

    def _fill_index(self, ids: list[str], progress: bool | None, label: str) -> int:
        """Write the stored vectors of ``ids`` to the index (embedding notes stored without one); returns how
        many were embedded."""
        assert self._index is not None
        reembedded = 0
        with progress_bar(label, len(ids), want_progress(progress, len(ids))) as bar:
            for s in range(0, len(ids), _REFILL_STEP):
                chunk = ids[s : s + _REFILL_STEP]
                notes = self.store.get_many(chunk)
                vecs = self.store.embeddings(chunk)
                need = [i for i in chunk if i in notes and i not in vecs]
                if need:
                    fresh = self.embed_notes([notes[i] for i in need])
                    self.store.write(WriteBatch(embeddings={nid: fresh[j] for j, nid in enumerate(need)},
                                                counts_as_change=False))
                    vecs.update({nid: fresh[j] for j, nid in enumerate(need)})
                    reembedded += len(need)
                ok = [i for i in chunk if i in notes]
                if ok:
                    self._index.upsert(ok, np.stack([vecs[i] for i in ok]), [index_metadata(notes[i]) for i in ok])
                bar.advance(len(chunk))
        return reembedded

    def vector_count(self) -> int:
        """The vectors the index holds, without opening it when it has followed every change (it then holds
        one per note, once its noted changes are applied): ``stats`` loads neither the index nor the embedder."""
        if self._index is None and self.store.index_in_step():
            return self.store.count()
        return int(self.index.count())

    def close(self) -> None:
        try:
            if self._index is not None:
                self._index.close()
        finally:
            self._store.close()
