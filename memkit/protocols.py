"""Extension points: one ``typing.Protocol`` per kind of part.

Implementations register in :mod:`memkit.registry` under a lowercase name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:  # numpy is light, but keep `import memkit` minimal
    import numpy as np

    from memkit.editing.types import EditRequest, TargetScore, WriteReport
    from memkit.filters import Filter

__all__ = ["Embedder", "VectorIndex", "NoteBuilder", "ParametricMemory", "BenchSystem"]


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors."""

    @property
    def name(self) -> str:
        """A stable identifier of the model, recorded in the store."""

    @property
    def dim(self) -> int: ...

    def embed(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        """Embed ``texts`` as an ``(n, dim)`` float32 array with unit rows."""

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one search query as a ``(dim,)`` array."""


@runtime_checkable
class VectorIndex(Protocol):
    """A nearest-neighbour index derived from the SQLite store (never authoritative)."""

    name: str

    def upsert(self, ids: Sequence[str], vectors: np.ndarray, metadatas: Sequence[Mapping[str, Any]]) -> None:
        """Insert or replace vectors with their filterable metadata (scalars only)."""

    def delete(self, ids: Sequence[str]) -> None: ...

    def query(self, vectors: np.ndarray, k: int, where: Filter | None = None) -> list[list[tuple[str, float]]]:
        """For each query row, up to ``k`` ``(id, cosine similarity)`` pairs, best first."""

    def versions(self) -> dict[str, int]:
        """Every stored id with the note version its vector was written for."""

    def count(self) -> int: ...

    def reset(self) -> None:
        """Drop every vector (used by reindex)."""

    def close(self) -> None: ...


@runtime_checkable
class NoteBuilder(Protocol):
    """Derives keywords, tags and a one-line context from a note's content."""

    name: str

    def build(self, notes: Sequence[Any], embeddings: np.ndarray) -> list[Any]:
        """Return one :class:`memkit.builders.base.Derived` per note, in order."""


@runtime_checkable
class ParametricMemory(Protocol):
    """A memory that stores knowledge in model weights or learned representations.

    Implemented by the back ends in :mod:`memkit.editing` (``wise``, ``wise-retrieve``,
    ``ft-l``, ...), registered in :data:`memkit.registry.parametric_memories`.  A back end
    is built as ``cls(config=None, *, model=None, tokenizer=None, base_model=None,
    device=None, dtype=None)``: with no model it loads ``base_model`` (default: the bundled
    SmolLM2-135M-Instruct) through :func:`memkit.editing.load_base_model`.
    """

    name: str

    def write(self, requests: Sequence[EditRequest], *, progress: bool = False) -> WriteReport:
        """Write knowledge, one request after another (sequential editing)."""

    def generate(self, prompts: Sequence[str], *, max_new_tokens: int = 32) -> list[str]:
        """Greedy answers to ``prompts`` with the memory in use."""

    def score(self, prompts: Sequence[str], targets: Sequence[str]) -> list[TargetScore]:
        """Teacher-forced token accuracy, log-prob and argmax tokens of each target given its prompt."""

    def save(self, path: str | Path) -> Path:
        """Write the memory to a folder (its own weights and state, a reference to the base model)."""

    @classmethod
    def load(cls, path: str | Path, **kwargs: Any) -> ParametricMemory:
        """Rebuild a memory saved by :meth:`save` (``model=``/``tokenizer=`` reuse a loaded base model)."""

    def describe(self) -> dict[str, Any]:
        """What the memory holds (number of writes, shards, thresholds, base model, layer, config)."""


# -- bench ---------------------------------------------------------------------------


@runtime_checkable
class BenchSystem(Protocol):
    """A system under test of :mod:`memkit.bench`: a memory (retrieval, parametric, oracle or
    none) together with whatever answers from it.

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
