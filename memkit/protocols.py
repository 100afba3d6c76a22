"""Extension points: one ``typing.Protocol`` per kind of part.

Implementations register in :mod:`memkit.registry` under a lowercase name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:  # numpy is light, but keep `import memkit` minimal
    import numpy as np

    from memkit.filters import Filter

__all__ = ["Embedder", "VectorIndex", "NoteBuilder", "ParametricMemory"]


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

    Implemented by the back ends in :mod:`memkit.editing` (WISE, FT-L, ...).
    """

    name: str

    def write(self, requests: Sequence[Any], *, progress: bool = False) -> Any:
        """Write knowledge (e.g. :class:`memkit.editing.EditRequest` records)."""

    def generate(self, prompts: Sequence[str], *, max_new_tokens: int = 32) -> list[str]:
        """Answer prompts with the memory in use."""

    def score(self, prompts: Sequence[str], targets: Sequence[str]) -> list[Any]:
        """Teacher-forced token accuracy and log-prob of each target given its prompt."""

    def save(self, path: str | Path) -> Path: ...

    @classmethod
    def load(cls, path: str | Path, **kwargs: Any) -> ParametricMemory: ...

    def describe(self) -> dict[str, Any]:
        """What the memory holds (number of writes, shards, base model, ...)."""
