"""An exact (brute-force) vector index in numpy, for small stores and tests.

It lives in memory only: on open, memkit fills it from the embeddings SQLite keeps.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from memkit.config import IndexConfig
from memkit.filters import Filter
from memkit.vectors import nearest_rows

__all__ = ["ExactIndex", "matches"]


def _num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _same(v: Any, x: Any) -> bool:
    """Equal and of the same kind: a bool, a number or a string (True is not 1)."""
    return isinstance(v, bool) == isinstance(x, bool) and isinstance(v, str) == isinstance(x, str) and v == x


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "$eq": _same,
    "$ne": lambda v, x: not _same(v, x),
    "$in": lambda v, x: any(_same(v, y) for y in x),
    "$nin": lambda v, x: not any(_same(v, y) for y in x),
    "$gt": lambda v, x: _num(v) and v > x,
    "$gte": lambda v, x: _num(v) and v >= x,
    "$lt": lambda v, x: _num(v) and v < x,
    "$lte": lambda v, x: _num(v) and v <= x,
}


def matches(flt: Filter, meta: Mapping[str, Any]) -> bool:
    """Whether the flat metadata of one vector (:func:`memkit.filters.index_metadata`) passes ``flt``."""
    for key, value in flt.scope.items():
        if meta.get(key) != value:
            return False
    if flt.owner is not None and meta.get("owner") != flt.owner:
        return False
    for c in flt.conditions:
        k = f"m.{c.key}"
        if k not in meta or not _OPS[c.op](meta[k], c.value):  # a missing key never matches
            return False
    if flt.open_at is not None and not meta["valid_to"] > flt.open_at:
        return False
    if flt.started_after is not None and not meta["valid_from"] >= flt.started_after:
        return False
    return flt.started_by is None or meta["valid_from"] <= flt.started_by


class ExactIndex:
    name = "exact"

    def __init__(self, path: Path | None = None, dim: int | None = None, config: IndexConfig | None = None, *,
                 store: Any = None):
        self._ids: list[str] = []
        self._pos: dict[str, int] = {}
        self._meta: list[dict[str, Any]] = []
        self._mat = np.zeros((0, dim or 0), dtype=np.float32)

    def upsert(self, ids: Sequence[str], vectors: np.ndarray, metadatas: Sequence[Mapping[str, Any]]) -> None:
        vectors = np.asarray(vectors, dtype=np.float32)
        if self._mat.shape[0] == 0:
            self._mat = np.zeros((0, vectors.shape[1]), dtype=np.float32)
        new_rows, new_ids, new_meta = [], [], []
        for i, nid in enumerate(ids):
            if nid in self._pos:
                p = self._pos[nid]
                self._mat[p] = vectors[i]
                self._meta[p] = dict(metadatas[i])
            else:
                self._pos[nid] = len(self._ids) + len(new_ids)
                new_ids.append(nid)
                new_rows.append(vectors[i])
                new_meta.append(dict(metadatas[i]))
        if new_ids:
            self._mat = np.vstack([self._mat, np.stack(new_rows)])
            self._ids += new_ids
            self._meta += new_meta

    def delete(self, ids: Sequence[str]) -> None:
        drop = {self._pos[i] for i in ids if i in self._pos}
        if not drop:
            return
        keep = [p for p in range(len(self._ids)) if p not in drop]
        self._mat = self._mat[keep]
        self._ids = [self._ids[p] for p in keep]
        self._meta = [self._meta[p] for p in keep]
        self._pos = {nid: p for p, nid in enumerate(self._ids)}

    def query(self, vectors: np.ndarray, k: int, where: Filter | None = None) -> list[list[tuple[str, float]]]:
        vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        if not self._ids:
            return [[] for _ in range(len(vectors))]
        if where is not None:
            rows = np.array([p for p, m in enumerate(self._meta) if matches(where, m)], dtype=np.int64)
        else:
            rows = np.arange(len(self._ids))
        if rows.size == 0:
            return [[] for _ in range(len(vectors))]
        return [[(self._ids[rows[t]], sim) for t, sim in hits] for hits in nearest_rows(vectors, self._mat[rows], k)]

    def versions(self) -> dict[str, int]:
        return {nid: int(self._meta[p].get("version", 0)) for nid, p in self._pos.items()}

    def count(self) -> int:
        return len(self._ids)

    def reset(self) -> None:
        self.__init__()

    def close(self) -> None:
        pass
