"""The bench's extension points: a system under test, and the reader that answers from a context.

Systems register by kind in :data:`memkit.registry.bench_systems` (a factory
``(spec, workdir, task) -> BenchSystem``), readers by name in
:data:`memkit.registry.bench_readers` (a factory ``(argument, task) -> Reader``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from memkit.bench.records import Answer, Passage, Query

__all__ = ["BenchSystem", "Reader"]


@runtime_checkable
class BenchSystem(Protocol):
    """A system under test: a memory (retrieval, parametric, oracle or none) together with whatever answers
    from it.

    Records and queries are :mod:`memkit.bench.records` types (``MemoryRecord``, ``Query``,
    ``Answer``).  ``persistent`` systems keep their state on disk between runs, so their
    ``write`` must be idempotent by record id and ``forget`` must remove records.
    """

    name: str
    kind: str
    persistent: bool
    capabilities: frozenset[str]

    def write(self, records: Sequence[Any]) -> int:
        """Store records; returns how many were new."""

    def forget(self, record_ids: Sequence[str]) -> int:
        """Remove records by id (used when an unfinished episode is redone)."""

    def answer(self, queries: Sequence[Any]) -> list[Any]:
        """One answer per query, in order, with the context passages used."""

    def describe(self) -> dict[str, Any]: ...

    def close(self) -> None: ...


@runtime_checkable
class Reader(Protocol):
    """Turns a query plus context passages into an answer."""

    name: str
    capabilities: frozenset[str]

    def read(self, items: Sequence[tuple[Query, Sequence[Passage]]]) -> list[Answer]:
        """One answer per (query, passages) pair, in order; ``Answer.system`` is left empty."""
