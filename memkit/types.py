"""Typed records that flow between memkit's steps: notes, hits, links, history."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

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
    "new_id",
    "utcnow",
    "SCOPE_FIELDS",
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

    @field_validator("keywords", "tags")
    @classmethod
    def _clean_terms(cls, v: list[str]) -> list[str]:
        seen: dict[str, None] = {}
        for term in v:
            term = term.strip()
            if term and term.lower() not in {s.lower() for s in seen}:
                seen[term] = None
        return list(seen)

    @field_validator("metadata")
    @classmethod
    def _metadata_json(cls, v: dict[str, Any]) -> dict[str, Any]:
        return _check_json(v, "metadata")

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
    dense_rank: int | None = None
    lexical_rank: int | None = None
    graph_rank: int | None = None
    recency_rank: int | None = None
    feedback_rank: int | None = None


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
