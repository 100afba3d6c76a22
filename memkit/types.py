"""Typed records that flow between memkit's steps: notes, hits, links, history."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "JSONValue",
    "Note",
    "ScoreParts",
    "Hit",
    "Link",
    "LinkKind",
    "HistoryEvent",
    "EventKind",
    "Stats",
    "Candidate",
    "NewEvent",
    "WriteBatch",
    "WriteResult",
    "new_id",
    "utcnow",
    "SCOPE_FIELDS",
    "METADATA_KEY",
    "METADATA_KEY_RULE",
    "text_problem",
]

JSONValue = Any  # validated by _check_json below; pydantic's JsonValue rejects tuples users pass
SCOPE_FIELDS = ("user_id", "agent_id", "session_id")


def new_id() -> str:
    """A new note id: 32 hex characters, time-ordered (UUIDv7 layout)."""
    return uuid.uuid7().hex if hasattr(uuid, "uuid7") else _uuid7().hex


def _uuid7() -> uuid.UUID:
    import os
    import time

    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | (rand >> 68 & 0xFFF) << 64
    value |= 0b10 << 62 | (rand & ((1 << 62) - 1))
    return uuid.UUID(int=value)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _check_json(value: Any, where: str) -> Any:
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where} must be JSON-safe (str, number, bool, None, list, dict): {exc}") from None


# The one rule for metadata keys: what a search filter can name (memkit.filters) is what a note may hold.
METADATA_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_\-]{0,127}")  # use fullmatch
METADATA_KEY_RULE = "keys are 1-128 letters, digits, '_' or '-', starting with a letter, digit or '_'"
_BAD_CHAR = re.compile("[\x00\ud800-\udfff]")


def text_problem(value: str, *, allow_nul: bool = False) -> str | None:
    """What makes ``value`` unfit to store, or None.

    An unpaired surrogate is not Unicode text: UTF-8 (SQLite, the tokenizer, an export file) cannot encode
    it.  A NUL character cuts the string short in C code (SQLite's SQL functions, Chroma's filters): a user
    id ``"u\\x00v"`` matched a search for user ``"u"``.  Both are refused in new input.
    """
    for m in _BAD_CHAR.finditer(value):
        if m.group() != "\x00":
            return (f"contains an unpaired surrogate ({m.group()!r}) at position {m.start()}, which is not valid "
                    "Unicode text (was it decoded with errors='surrogateescape'?)")
        if not allow_nul:
            return f"contains a NUL character ('\\x00') at position {m.start()}"
    return None


def _stored(info: ValidationInfo) -> bool:
    """Whether this field's value was read from a store (``context={"stored": field names}``), not new input:
    the rules added after data was stored (NUL characters, the metadata key rule) are not applied to it."""
    return bool(info.context) and info.field_name in info.context.get("stored", ())


def _metadata_problem(meta: dict[str, Any], stored: bool) -> str | None:
    if not stored:
        for key in meta:
            if not METADATA_KEY.fullmatch(key):
                return f"key {key!r} is not allowed: {METADATA_KEY_RULE} (filters can name only such keys)"
    todo: list[tuple[str, Any]] = [(f"[{k!r}]", v) for k, v in meta.items()] + [(f"key {k!r}", k) for k in meta]
    while todo:
        where, v = todo.pop()
        if isinstance(v, str):
            problem = text_problem(v, allow_nul=stored)
            if problem:
                return f"{where if where.startswith('key') else 'value ' + where} {problem}"
        elif isinstance(v, dict):
            todo += [(f"{where}[{k!r}]", x) for k, x in v.items()] + [(f"key {k!r} in {where}", k) for k in v]
        elif isinstance(v, list):
            todo += [(f"{where}[{i}]", x) for i, x in enumerate(v)]
    return None


class Note(BaseModel):
    """One Zettelkasten note: an experience plus what memkit derived from it."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    id: str = Field(default_factory=new_id, min_length=1, max_length=128)
    content: str
    keywords: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    context: str = ""
    links: list[str] = Field(default_factory=list, description="ids of linked notes (both directions)")
    created_at: AwareDatetime = Field(default_factory=utcnow)
    updated_at: AwareDatetime = Field(default_factory=utcnow)
    valid_from: AwareDatetime | None = Field(
        default=None, description="when the experience happened / the fact became true; defaults to created_at"
    )
    valid_to: AwareDatetime | None = Field(default=None, description="when the fact stopped being true (superseded)")
    user_id: str | None = None
    agent_id: str | None = None
    session_id: str | None = None
    metadata: dict[str, JSONValue] = Field(default_factory=dict)
    source: str | None = None
    retrieval_count: int = Field(default=0, ge=0)
    last_accessed: AwareDatetime | None = None
    version: int = Field(default=1, ge=1)

    @field_validator("content")
    @classmethod
    def _content_not_empty(cls, v: str) -> str:
        v = v.strip()
        if not v:
            raise ValueError("content must not be empty")
        return v

    @field_validator("id", "content", "context", "user_id", "agent_id", "session_id", "source")
    @classmethod
    def _storable_text(cls, v: str | None, info: ValidationInfo) -> str | None:
        problem = None if v is None else text_problem(v, allow_nul=_stored(info))
        if problem:
            raise ValueError(problem)
        return v

    @field_validator("keywords", "tags")
    @classmethod
    def _clean_terms(cls, v: list[str], info: ValidationInfo) -> list[str]:
        for i, term in enumerate(v):
            problem = text_problem(term, allow_nul=_stored(info))
            if problem:
                raise ValueError(f"entry {i} {problem}")
        seen: dict[str, None] = {}
        for term in v:
            term = term.strip()
            if term and term.lower() not in {s.lower() for s in seen}:
                seen[term] = None
        return list(seen)

    @field_validator("metadata")
    @classmethod
    def _metadata_json(cls, v: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        """JSON values; top-level keys follow METADATA_KEY_RULE (only they can be filtered on); nested dicts may
        hold any keys (stored and returned, not filterable)."""
        v = _check_json(v, "metadata")
        problem = _metadata_problem(v, _stored(info))
        if problem:
            raise ValueError(problem)
        return v

    @field_validator("user_id", "agent_id", "session_id", "source")
    @classmethod
    def _scope_not_blank(cls, v: str | None) -> str | None:
        if v is not None and not v.strip():
            raise ValueError("must be a non-empty string or None")
        return v

    @model_validator(mode="after")
    def _default_valid_from(self) -> Note:
        if self.valid_from is None:
            object.__setattr__(self, "valid_from", self.created_at)
        if self.valid_to is not None and self.valid_from is not None and self.valid_to < self.valid_from:
            raise ValueError("valid_to must not be before valid_from")
        return self

    @property
    def is_current(self) -> bool:
        return self.valid_to is None or self.valid_to > utcnow()

    def scope(self) -> dict[str, str | None]:
        return {f: getattr(self, f) for f in SCOPE_FIELDS}


class ScoreParts(BaseModel):
    """Why a hit came back: each retriever's raw score and rank (None: not retrieved by it)."""

    model_config = ConfigDict(extra="forbid")

    dense: float | None = None
    lexical: float | None = None
    graph: float | None = None
    recency: float | None = None
    feedback: float | None = None
    period: float | None = Field(default=None, description="1 when the note is from a period the question names")
    dense_rank: int | None = None
    lexical_rank: int | None = None
    graph_rank: int | None = None
    recency_rank: int | None = None
    feedback_rank: int | None = None
    period_rank: int | None = None


class Hit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: Note
    score: float = Field(description="fused and refined score (higher is better; comparable within one search)")
    scores: ScoreParts


LinkKind = Literal["semantic", "sequence", "supersedes", "manual"]


class Link(BaseModel):
    """A link between two notes, stored once and traversable both ways."""

    model_config = ConfigDict(extra="forbid")

    src: str
    dst: str
    kind: LinkKind = "semantic"
    weight: float = Field(default=1.0, ge=0.0, le=1.0, description="how strongly graph expansion follows it")
    created_at: AwareDatetime = Field(default_factory=utcnow)
    actor: str = "user"


EventKind = Literal["add", "update", "delete", "link", "unlink", "evolve", "supersede", "undo", "access"]


class HistoryEvent(BaseModel):
    """One change to a note, with the note's fields before and after."""

    model_config = ConfigDict(extra="forbid")

    id: int
    note_id: str
    event: EventKind
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    at: AwareDatetime
    actor: str = Field(description="who made the change: user, heuristic, llm, or a model name")
    reason: str | None = None
    undone: bool = False


class Stats(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str
    notes: int
    current_notes: int
    links: int
    history_events: int
    users: int
    embedder: str
    dim: int
    vector_index: str
    vector_count: int
    builder: str
    size_bytes: int


# -- what flows between the core and a note store ------------------------------------------


class Candidate(NamedTuple):
    """What retrieval reads of one search candidate, in one store read."""

    embedding: np.ndarray | None
    content: str
    speaker: str | None  # metadata.speaker, or who says a turn stored as plain text (text.content_speaker)
    valid_from_ts: float
    session_id: str | None = None


@dataclass(frozen=True)
class NewEvent:
    """A history event to append (the store gives it its id)."""

    note_id: str
    event: EventKind
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    at: datetime
    actor: str
    reason: str | None = None


@dataclass
class WriteBatch:
    """One change to a note store, committed by the store in one transaction (all of it, or none).

    Applied in this order: ``insert``, ``update``, ``embeddings``, ``link``, ``unlink``, ``delete``,
    ``events``, ``undone``; then the change counter moves on (unless ``counts_as_change`` is off).
    ``defer_index`` (None: the vector index follows this change itself) names the notes whose change the
    closed vector index must pick up when it is next opened.
    """

    insert: list[tuple[Note, np.ndarray | None]] = field(default_factory=list)  # new notes, with embeddings
    update: list[Note] = field(default_factory=list)  # changed notes (scope, creation and access stay)
    embeddings: dict[str, np.ndarray] = field(default_factory=dict)  # new embeddings of stored notes
    link: list[Link] = field(default_factory=list)  # links to add (an existing one is kept as it is)
    unlink: list[tuple[str, str, str | None]] = field(default_factory=list)  # (a, b, kind or None): either way
    delete: list[str] = field(default_factory=list)  # notes to delete, with their links
    events: list[NewEvent] = field(default_factory=list)
    undone: list[int] = field(default_factory=list)  # history events to mark undone
    defer_index: list[str] | None = None
    counts_as_change: bool = True


@dataclass(frozen=True)
class WriteResult:
    """What a committed :class:`WriteBatch` changed."""

    links_added: int = 0
    links_removed: int = 0
