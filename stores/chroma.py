"""The default vector index: a Chroma ``PersistentClient`` collection beside the SQLite file.

Derived from SQLite and rebuilt from it when missing, behind or damaged; telemetry off.  A folder that
cannot be read (whatever is wrong with it) is moved aside to ``chroma.broken-<time>``, never deleted, and
a new index is built from SQLite.  Chroma reports some damage as a Rust panic: pyo3's ``PanicException``
derives from ``BaseException``, so it is caught by name, and nothing else that is not an ``Exception``.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from memkit.config import IndexConfig
from memkit.errors import MissingDependencyError, VectorIndexError
from memkit.filters import Filter

__all__ = ["ChromaIndex", "chroma_where"]

log = logging.getLogger(__name__)
_COLLECTION = "notes"


def chroma_where(flt: Filter) -> dict[str, Any] | None:
    """A :class:`Filter` as a Chroma ``where`` over the metadata :func:`memkit.filters.index_metadata` writes."""
    parts: list[dict[str, Any]] = [{k: {"$eq": v}} for k, v in flt.scope.items()]
    if flt.owner is not None:
        parts.append({"owner": {"$eq": flt.owner}})
    for c in flt.conditions:
        parts.append({f"m.{c.key}": {c.op: list(c.value) if isinstance(c.value, tuple) else c.value}})
    if flt.open_at is not None:
        parts.append({"valid_to": {"$gt": flt.open_at}})
    if flt.started_by is not None:
        parts.append({"valid_from": {"$lte": flt.started_by}})
    if flt.started_after is not None:
        parts.append({"valid_from": {"$gte": flt.started_after}})
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else {"$and": parts}


def _is_panic(exc: BaseException) -> bool:
    """A Rust panic inside chromadb (pyo3's ``PanicException``, a ``BaseException``; not importable by name)."""
    return type(exc).__name__ == "PanicException"


def _move_aside(path: Path, label: str) -> Path | None:
    """Rename ``path`` (a folder, a file, anything) to ``<name>.<label>-<time>`` beside it; None if nothing is there."""
    if not path.exists() and not path.is_symlink():
        return None
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
    target = path.with_name(f"{path.name}.{label}-{stamp}")
    n = 1
    while target.exists() or target.is_symlink():
        n += 1
        target = path.with_name(f"{path.name}.{label}-{stamp}-{n}")
    try:
        path.rename(target)
    except OSError as exc:
        raise VectorIndexError(f"cannot move the vector index at {path} aside to {target}: {exc.strerror or exc}; "
                               "move or delete it by hand, it is rebuilt from the note store") from None
    return target


class ChromaIndex:
    name = "chroma"

    def __init__(self, path: Path, dim: int | None = None, config: IndexConfig | None = None):
        try:
            import chromadb
            from chromadb.config import Settings
        except ImportError:
            raise MissingDependencyError("chromadb", purpose="the default vector index") from None
        self.path = Path(path)
        self.config = config or IndexConfig()
        self._settings = Settings(anonymized_telemetry=False, allow_reset=True, is_persistent=True)
        self._chromadb = chromadb
        self._client: Any = None
        self._col: Any = None
        self._failed = False  # an operation failed: the index may be damaged (reset keeps it as .broken-<time>)
        self.moved_to: Path | None = None  # where the last damaged index went
        self._open()

    def _unreadable(self, exc: BaseException) -> bool:
        """Whether ``exc`` is how chromadb says it cannot open or create an index at this path."""
        return isinstance(exc, (self._chromadb.errors.ChromaError, RuntimeError, ValueError, OSError)) or _is_panic(exc)

    def _open(self) -> None:
        """Connect; an index that cannot be read is moved aside and a new, empty one made (the caller fills it)."""
        try:
            self._connect()
            self._probe()
        except BaseException as exc:
            if not self._unreadable(exc):
                raise
            self._discard(f"{type(exc).__name__}: {exc}")

    def _probe(self) -> None:
        """Read what a search reads (the metadata segment, one stored vector, the HNSW graph), so that damage shows
        when the index is opened, where it can be repaired, rather than in the middle of a search."""
        if self._col.count():
            got = self._col.get(limit=1, include=["embeddings"])
            if got["embeddings"] is not None and len(got["embeddings"]):
                self._col.query(query_embeddings=np.asarray(got["embeddings"][:1], dtype=np.float32), n_results=1,
                                include=[])

    def _discard(self, reason: str) -> None:
        """Move whatever is at the index path aside to ``<name>.broken-<time>`` and start an empty index there."""
        self._release(force=True)
        self.moved_to = _move_aside(self.path, "broken")
        where = f"it was moved to {self.moved_to}" if self.moved_to else "nothing is there"
        log.warning("the vector index at %s is unreadable (%s); %s; rebuilding it from the note store",
                    self.path, reason, where)
        self._connect_new()

    def _connect_new(self) -> None:
        try:
            self._connect()
        except BaseException as exc:
            if not self._unreadable(exc):
                raise
            self._release(force=True)
            raise VectorIndexError(f"cannot create the vector index at {self.path}: {exc}") from None
        self._failed = False

    def _connect(self) -> None:
        self._client = self._chromadb.PersistentClient(path=str(self.path), settings=self._settings)
        self._col = self._collection()

    def _release(self, force: bool = False) -> None:
        """Close the client.  ``force``: also forget chromadb's process-wide system for this path, which a failed
        start leaves half made (the next client of the path would reuse it: "'RustBindingsAPI' object has no
        attribute 'bindings'") and a panic may leave unusable."""
        client, self._client, self._col = self._client, None, None
        close = getattr(client, "close", None)  # chromadb >= 1.1; it stops the system with its last client
        if close is not None:
            try:
                close()
            except BaseException as exc:
                if not (force and (self._unreadable(exc) or isinstance(exc, AttributeError))):
                    raise
                log.debug("closing the damaged vector index at %s failed: %s", self.path, exc)
        if force or close is None:
            from chromadb.api.shared_system_client import SharedSystemClient

            SharedSystemClient._identifier_to_system.pop(str(self.path), None)
            SharedSystemClient._identifier_to_refcount.pop(str(self.path), None)

    def _collection(self) -> Any:
        return self._client.get_or_create_collection(
            _COLLECTION,
            configuration={"hnsw": {"space": "cosine", "ef_search": self.config.hnsw_ef_search}},
            embedding_function=None,
        )

    @contextmanager
    def _guard(self, doing: str) -> Iterator[None]:
        try:
            if self._col is None:
                raise VectorIndexError(f"the vector index at {self.path} is not open")
            yield
        except BaseException as exc:
            if not (isinstance(exc, self._chromadb.errors.ChromaError) or _is_panic(exc)):
                raise
            self._failed = True
            raise VectorIndexError(
                f"the vector index at {self.path} failed while {doing} ({type(exc).__name__}: {exc}); the notes "
                "themselves are safe in SQLite: the index is checked and repaired when the store is opened again, "
                "or rebuilt by `memkit reindex`") from None

    def upsert(self, ids: Sequence[str], vectors: np.ndarray, metadatas: Sequence[Mapping[str, Any]]) -> None:
        vectors = np.asarray(vectors, dtype=np.float32)
        with self._guard("writing vectors"):
            step = self._client.get_max_batch_size()
            for i in range(0, len(ids), step):
                self._col.upsert(
                    ids=list(ids[i : i + step]),
                    embeddings=vectors[i : i + step],
                    metadatas=[dict(m) for m in metadatas[i : i + step]],
                )

    def delete(self, ids: Sequence[str]) -> None:
        if ids:
            with self._guard("deleting vectors"):
                self._col.delete(ids=list(ids))

    def query(self, vectors: np.ndarray, k: int, where: Filter | None = None) -> list[list[tuple[str, float]]]:
        vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        # Chroma returns fewer than k hits (none on an empty collection) by itself; no count() round trip
        with self._guard("searching"):
            res = self._col.query(
                query_embeddings=vectors,
                n_results=k,
                where=chroma_where(where) if where is not None else None,
                include=["distances"],
            )
        return [
            [(i, 1.0 - float(d)) for i, d in zip(ids, dists, strict=True)]
            for ids, dists in zip(res["ids"], res["distances"], strict=True)
        ]

    def versions(self) -> dict[str, int]:
        out: dict[str, int] = {}
        step, offset = 10_000, 0
        with self._guard("reading versions"):
            while True:
                got = self._col.get(include=["metadatas"], limit=step, offset=offset)
                for i, m in zip(got["ids"], got["metadatas"], strict=True):
                    out[i] = int((m or {}).get("version", 0))
                if len(got["ids"]) < step:
                    return out
                offset += step

    def count(self) -> int:
        with self._guard("counting vectors"):
            return self._col.count()

    def reset(self) -> None:
        """An empty index in a new folder, whatever state the old one is in (``memkit reindex``).

        Nothing is asked of the old client, which may be what is broken.  The old folder is moved aside; when
        an operation of this index failed, it is kept as ``<name>.broken-<time>``, else removed once the new
        index exists.
        """
        if self._failed:
            self._discard("an operation on it failed")
            return
        self._release(force=True)
        old = _move_aside(self.path, "old")
        self._connect_new()
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
            if old.exists():
                log.warning("could not remove the old vector index at %s; it is not used, delete it by hand", old)

    def close(self) -> None:
        # chromadb keeps a process-wide system per path; the last client's close releases its files (a failed
        # index's system is dropped whatever its close raises, so that closing the store always completes)
        self._release(force=self._failed)
