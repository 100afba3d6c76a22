"""A search scope's embeddings kept in memory between exact searches, until the store is written.

An exact search of one user's notes (``index.exact_below``) used to read the scope's ids and
embeddings from SQLite at every query: 2–3 ms of a 10 ms search over ≈ 500 long notes.  The
rows of a scope (its filter without the validity window: user, agent, session, metadata
conditions) are read once and kept with each note's validity timestamps; the window of each
search (``open_at``, ``as_of``, a named period) is applied to them in numpy, as the SQL would.

Entries are dropped on every write through the store (``clear``) and keyed on a counter of the
store's as well (SQLite: its change counter; PostgreSQL, shared by many processes: a counter every
write of notes moves on), so a change committed by another connection is seen too.
The least recently used scopes are dropped past ``max_rows`` rows in all (32,768 rows of
384 floats: 48 MB at most).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

import numpy as np

from memkit.filters import Filter
from memkit.vectors import nearest_rows

__all__ = ["ScopeRows", "ScopeVectors", "scope_vectors"]


@dataclass(frozen=True)
class ScopeVectors:
    """The notes of one scope that have an embedding: ids, unit vectors (rows) and validity (epoch seconds)."""

    ids: tuple[str, ...]
    matrix: np.ndarray
    valid_from: np.ndarray
    valid_to: np.ndarray

    def passing(self, flt: Filter) -> tuple[list[str], np.ndarray]:
        """The ids and vectors of the notes that also pass ``flt``'s validity window (as ``validity_clauses``)."""
        keep = np.ones(len(self.ids), dtype=bool)
        if flt.open_at is not None:
            keep &= self.valid_to > flt.open_at
        if flt.started_by is not None:
            keep &= self.valid_from <= flt.started_by
        if flt.started_after is not None:
            keep &= self.valid_from >= flt.started_after
        if keep.all():
            return list(self.ids), self.matrix
        where = np.flatnonzero(keep)
        return [self.ids[i] for i in where], self.matrix[where]

    def nearest(self, vectors: np.ndarray, k: int, flt: Filter) -> list[list[tuple[str, float]]]:
        """For each of ``vectors`` (unit rows), the ``k`` nearest notes that pass ``flt``'s validity window."""
        ids, matrix = self.passing(flt)
        if not ids:
            return [[] for _ in vectors]
        return [[(ids[j], sim) for j, sim in hits] for hits in nearest_rows(vectors, matrix, k)]


def scope_vectors(rows: Sequence[tuple[str, bytes | np.ndarray, float, float]]) -> ScopeVectors:
    """From rows of (id, embedding: float32 bytes or an array, valid_from_ts, valid_to_ts)."""
    if not rows:
        empty = np.zeros(0, dtype=np.float64)
        return ScopeVectors((), np.zeros((0, 0), dtype=np.float32), empty, empty)
    if isinstance(rows[0][1], bytes):
        matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), -1)  # type: ignore[misc]
    else:
        matrix = np.stack([np.asarray(r[1], dtype=np.float32) for r in rows])
    return ScopeVectors(tuple(r[0] for r in rows), matrix, np.array([r[2] for r in rows], dtype=np.float64),
                        np.array([r[3] for r in rows], dtype=np.float64))


class ScopeRows:
    """Least recently used :class:`ScopeVectors` by key; ``None`` (a scope too large to search exactly) is kept too."""

    def __init__(self, max_rows: int = 32_768):
        self.max_rows = max_rows
        self._entries: OrderedDict[Hashable, ScopeVectors | None] = OrderedDict()
        self._rows = 0
        self._generation = 0  # moves on at each clear: a read that a write overtook is not kept
        self._lock = threading.Lock()

    def get(self, key: Hashable, read: Callable[[], ScopeVectors | None]) -> ScopeVectors | None:
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
            generation = self._generation
        found = read()  # outside the lock: a read of the store does not hold up other scopes' searches
        size = len(found.ids) if found is not None else 0
        if size > self.max_rows:
            return found
        with self._lock:
            if generation == self._generation and key not in self._entries:
                self._entries[key] = found
                self._rows += size
                while self._rows > self.max_rows:
                    _, dropped = self._entries.popitem(last=False)
                    self._rows -= len(dropped.ids) if dropped is not None else 0
        return found

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._rows = 0
            self._generation += 1
