"""The default vector index: a Chroma ``PersistentClient`` collection beside the SQLite file.

Derived from SQLite and rebuilt from it when missing or behind; telemetry off.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from memkit.config import IndexConfig
from memkit.errors import MissingDependencyError, StoreError
from memkit.filters import Filter

__all__ = ["ChromaIndex"]

log = logging.getLogger(__name__)
_COLLECTION = "notes"


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
        self._open()

    def _open(self) -> None:
        try:
            self._connect()
        except (self._chromadb.errors.ChromaError, RuntimeError, ValueError, OSError) as exc:
            # The index is derived data: a damaged one is dropped and rebuilt from SQLite.
            log.warning("vector index at %s is unreadable (%s); rebuilding it from the note store", self.path, exc)
            shutil.rmtree(self.path, ignore_errors=True)
            try:
                self._connect()
            except (self._chromadb.errors.ChromaError, RuntimeError, ValueError, OSError) as exc2:
                raise StoreError(f"cannot create the vector index at {self.path}: {exc2}") from None

    def _connect(self) -> None:
        self._client = self._chromadb.PersistentClient(path=str(self.path), settings=self._settings)
        self._col = self._collection()

    def _collection(self) -> Any:
        return self._client.get_or_create_collection(
            _COLLECTION,
            configuration={"hnsw": {"space": "cosine", "ef_search": self.config.hnsw_ef_search}},
            embedding_function=None,
        )

    @contextmanager
    def _guard(self, doing: str) -> Iterator[None]:
        try:
            yield
        except self._chromadb.errors.ChromaError as exc:
            raise StoreError(f"the vector index at {self.path} failed while {doing} ({exc}); the notes themselves are "
                             "safe in SQLite: the index is checked and repaired when the store is opened again, or "
                             "rebuilt by `memkit reindex`") from None

    def upsert(self, ids: Sequence[str], vectors: np.ndarray, metadatas: Sequence[Mapping[str, Any]]) -> None:
        step = self._client.get_max_batch_size()
        vectors = np.asarray(vectors, dtype=np.float32)
        with self._guard("writing vectors"):
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
                where=where.to_chroma() if where is not None else None,
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
        """An empty collection, whatever state the old one was in (this is how a damaged index is rebuilt)."""
        with self._guard("resetting"):
            try:
                self._client.delete_collection(_COLLECTION)
            except self._chromadb.errors.NotFoundError:
                pass  # already gone: nothing to drop
            self._col = self._collection()

    def close(self) -> None:
        # chromadb keeps a process-wide system cache per path; clearing it releases the files.
        self._client.clear_system_cache()
