"""Extension points: one ``typing.Protocol`` per kind of part.

Implementations register in :mod:`memkit.registry` under a lowercase name.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:  # numpy is light, but keep `import memkit` minimal
    import numpy as np

    from memkit.editing.types import EditRequest, TargetScore, WriteReport
    from memkit.filters import Filter
    from memkit.linking import Decision, Neighbour
    from memkit.types import Candidate, HistoryEvent, Link, Note, WriteBatch, WriteResult

__all__ = ["Embedder", "VectorIndex", "NoteStore", "NoteBuilder", "LinkJudge", "ParametricMemory"]


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
    """A nearest-neighbour index derived from the note store (never authoritative), registered in
    ``memkit.registry.vector_indexes`` and built as ``cls(path, dim, config)``, with ``store=`` the note store
    when its constructor takes that keyword (an index in the store's own database, or named after the memory:
    ``store.get_meta("memory_id")``).  An index with ``in_store = True`` is the note store's own search: it is
    given the whole filter, validity included, and answers ``k`` whenever ``k`` notes pass."""

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
class NoteStore(Protocol):
    """The authoritative store of notes, links and history (registered in ``memkit.registry.note_stores``).

    It owns its writes (one :class:`~memkit.types.WriteBatch` per transaction), its query dialect (a
    :class:`~memkit.filters.Filter` is compiled inside the store) and its search features (BM25, exact
    nearest neighbours over the embeddings it keeps, candidate features, walks along links).  It keeps each
    note's embedding, so a vector index can always be rebuilt from it, and how far that derived index has
    followed it.

    ``shared`` is True for a store many processes may use at once (a database server): then no
    single-process lock is taken and nothing derived from it is cached in the process.
    """

    shared: bool

    @classmethod
    def open(cls, folder: Path, config: Any) -> NoteStore:
        """Open (creating if needed) the store of the memory in ``folder``, configured by its ``[store]``."""

    @classmethod
    def found_in(cls, folder: Path, config: Any) -> bool:
        """Whether the memory in ``folder`` has a store already (without creating one)."""

    # -- writes ---------------------------------------------------------------
    def write(self, batch: WriteBatch) -> WriteResult:
        """Commit the whole batch in one transaction, or nothing of it (:class:`StoreError`)."""

    def record_access(self, ids: Sequence[str], at: datetime) -> None:
        """Count one retrieval of each note and set its ``last_accessed`` (not a history event)."""

    # -- notes ----------------------------------------------------------------
    def get(self, note_id: str) -> Note:
        """The note (with its links), or :class:`NotFoundError`."""

    def get_many(self, ids: Sequence[str]) -> dict[str, Note]:
        """The notes that exist among ``ids`` (missing ids are left out)."""

    def exists(self, note_id: str) -> bool: ...

    def existing(self, ids: Sequence[str]) -> set[str]: ...

    def of_user(self, ids: Iterable[str], user_id: str | None) -> set[str]:
        """Which of ``ids`` are notes of ``user_id`` (None: of no user)."""

    def iter_notes(self, flt: Filter | None = None) -> Iterator[Note]:
        """The notes passing ``flt``, in insertion order."""

    def resolve_id(self, prefix: str, *, deleted: bool = False) -> str:
        """The one id that is, or starts with, ``prefix`` (as git resolves a short hash)."""

    def short_ids(self, ids: Sequence[str], min_len: int = 8) -> dict[str, str]: ...

    def count(self) -> int: ...

    def counts(self) -> dict[str, int]:
        """notes, current_notes, links, history_events, users."""

    def versions(self) -> dict[str, int]:
        """Every note id with its version (what the vector index is reconciled against)."""

    def last_in_session(self, session_id: str, *, user_id: str | None, agent_id: str | None
                        ) -> tuple[str, float] | None:
        """The latest note (id, valid_from epoch) of one conversation."""

    # -- links and history ------------------------------------------------------
    def links_of(self, note_id: str) -> list[Link]: ...

    def all_links(self) -> list[Link]: ...

    def within(self, note_id: str, depth: int, user_id: str | None) -> dict[str, int]:
        """Every note reachable from ``note_id`` in at most ``depth`` hops along links (either direction),
        entering only notes of ``user_id`` (None: notes of no user), with its shortest distance; the start is
        left out."""

    def history(self, note_id: str) -> list[HistoryEvent]: ...

    def iter_history(self) -> Iterator[HistoryEvent]:
        """Every history event of the store (deleted notes' too), oldest first."""

    def event(self, event_id: int) -> HistoryEvent: ...

    # -- search features ----------------------------------------------------------
    def embeddings(self, ids: Sequence[str]) -> dict[str, np.ndarray]: ...

    def nearest(self, vectors: np.ndarray, k: int, flt: Filter, max_rows: int | None
                ) -> list[list[tuple[str, float]]] | None:
        """For each vector, the ``k`` nearest notes passing ``flt`` as ``(id, cosine similarity)``, best first:
        exact when at most ``max_rows`` notes pass, else None; with ``max_rows=None`` always an answer (a store
        with a vector index of its own may use it for a large scope, and then completes a short answer)."""

    def lexical(self, words: Sequence[str], k: int, flt: Filter, extra_weight: float = 1.0) -> list[tuple[str, float]]:
        """BM25 of the notes passing ``flt`` matching any of ``words`` (content, and the derived text at
        ``extra_weight``); higher is better."""

    def naming(self, owner: str, name: str, limit: int) -> list[str] | None:
        """Ids of the notes of ``owner`` (a user id, '' for none) whose content holds the word ``name``, when at
        most ``limit`` notes of the whole store hold it; None when more do (the name is not rare here)."""

    def candidates(self, ids: Sequence[str], flt: Filter | None = None) -> dict[str, Candidate]:
        """What retrieval needs of each of ``ids`` that exists (and passes ``flt``)."""

    def speakers(self, flt: Filter) -> set[str]:
        """The distinct speakers of the notes passing ``flt`` (validity ignored): ``metadata.speaker``, or
        :func:`memkit.text.content_speaker` of a note without one."""

    # -- bookkeeping ------------------------------------------------------------------
    def changes(self) -> int:
        """A counter that moves on with every committed change."""

    def get_meta(self, key: str) -> str | None: ...

    def set_meta(self, key: str, value: str) -> None:
        """Keep a value of the memory's own (``config.toml``: the config a shared database was created with)."""

    def check_embedder(self, name: str, dim: int | None) -> None:
        """Record the embedder on first use; another one later is :class:`EmbeddingMismatchError`."""

    def index_in_step(self) -> bool:
        """Whether the vector index followed every change so far (but those in :meth:`index_pending`)."""

    def index_pending(self) -> list[str]:
        """Ids whose change the vector index has yet to follow."""

    def clear_index_pending(self) -> None: ...

    def index_synced(self) -> None:
        """Record that the vector index has followed every change so far."""

    def close(self) -> None: ...


@runtime_checkable
class NoteBuilder(Protocol):
    """Derives keywords, tags and a one-line context from a note's content."""

    name: str

    def build(self, notes: Sequence[Any], embeddings: np.ndarray) -> list[Any]:
        """Return one :class:`memkit.builders.base.Derived` per note, in order."""


@runtime_checkable
class LinkJudge(Protocol):
    """Decides, for one new note and its nearest notes, which to link, how they evolve and which it supersedes.

    Registered in ``memkit.registry.link_judges``; built as ``cls(linker_config, builder_config)``.
    """

    actor: str

    def decide(self, note: Note, neighbours: Sequence[Neighbour]) -> Decision: ...


@runtime_checkable
class ParametricMemory(Protocol):
    """A memory that stores knowledge in model weights or learned representations.

    Implemented by the back ends in :mod:`memkit.editing` (``wise``, ``wise-retrieve``,
    ``ft-l``, ``compression``, ``adapter``, ``dsi``), registered in :data:`memkit.registry.parametric_memories`.
    Document memories (``takes_documents = True``: compression, adapter, dsi) take whole documents under ids and
    also have ``forget(ids)``; DSI's ``score`` targets are note ids (``scores_note_ids``).  A back end
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
