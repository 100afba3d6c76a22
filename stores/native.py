"""The vector index of a note store that indexes vectors itself (PostgreSQL with pgvector): ``index.kind = "store"``.

Nothing is copied: the store writes each note's embedding in the same transaction as the note, so this index is
always in step, and a search is the store's own nearest-neighbour query (its ANN index for a large scope,
completed exactly when a filter leaves it short).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from memkit.config import IndexConfig
from memkit.errors import ConfigError
from memkit.filters import Filter

__all__ = ["StoreIndex"]


class StoreIndex:
    name = "store"
    in_store = True  # Engine.nearest hands it the whole filter: the store applies it and completes a short answer

    def __init__(self, path: Path | None = None, dim: int | None = None, config: IndexConfig | None = None, *,
                 store: Any = None):
        if store is None:
            raise ConfigError("index.kind='store' searches the note store's own vectors: it needs the note store")
        self._store = store

    def upsert(self, ids: Sequence[str], vectors: np.ndarray, metadatas: Sequence[Mapping[str, Any]]) -> None:
        pass  # written with the notes

    def delete(self, ids: Sequence[str]) -> None:
        pass  # deleted with the notes

    def query(self, vectors: np.ndarray, k: int, where: Filter | None = None) -> list[list[tuple[str, float]]]:
        return self._store.nearest(np.atleast_2d(vectors), k, where or Filter(), None)

    def versions(self) -> dict[str, int]:
        return self._store.versions()

    def count(self) -> int:
        return self._store.count()

    def reset(self) -> None:
        pass

    def close(self) -> None:
        pass  # the store is closed by its owner
