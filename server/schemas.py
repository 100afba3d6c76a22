"""Request bodies of the REST API (pydantic; unknown fields are errors, so a typo never passes silently).

Responses are memkit's own records (:class:`memkit.Note`, :class:`memkit.Hit`, ...).  Common names
models and people guess are accepted as well: ``q`` for ``query``, ``limit`` for ``k``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from memkit.types import Note

__all__ = ["NoteIn", "BatchIn", "UpdateIn", "SearchIn", "LinkIn", "IdsIn", "ImportIn", "SourceIn", "Explored",
           "Error", "Health"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class NoteIn(_In):
    """One note to add (``Memory.add``'s fields)."""

    content: str
    user_id: str | None = None
    agent_id: str | None = None
    session_id: str | None = None
    metadata: dict[str, Any] | None = None
    source: str | None = None
    keywords: list[str] | None = None
    tags: list[str] | None = None
    context: str | None = None
    valid_from: datetime | None = None
    created_at: datetime | None = None
    id: str | None = None
    supersedes: str | list[str] | None = None
    links: list[str] | None = None


class BatchIn(_In):
    """Many notes (``Memory.add_many``): every item is validated before anything is written."""

    items: list[NoteIn | str] = Field(max_length=100_000)
    user_id: str | None = None
    agent_id: str | None = None
    session_id: str | None = None
    metadata: dict[str, Any] | None = None
    source: str | None = None


class UpdateIn(_In):
    """Fields to change; ``expected_version`` (or an ``If-Match`` header) makes the change conditional."""

    content: str | None = None
    keywords: list[str] | None = None
    tags: list[str] | None = None
    context: str | None = None
    metadata: dict[str, Any] | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    source: str | None = None
    expected_version: int | None = Field(default=None, ge=1)


class SearchIn(_In):
    query: str = Field(validation_alias=AliasChoices("query", "q"))
    k: int = Field(default=5, ge=1, le=10_000, validation_alias=AliasChoices("k", "limit", "top_k"))
    user_id: str | None = None
    agent_id: str | None = None
    session_id: str | None = None
    filters: dict[str, Any] | None = None
    include_superseded: bool = False
    as_of: datetime | None = None


class LinkIn(_In):
    src: str = Field(validation_alias=AliasChoices("src", "a"))
    dst: str = Field(validation_alias=AliasChoices("dst", "b"))
    kind: str = "manual"
    weight: float = Field(default=1.0, ge=0.0, le=1.0)


class IdsIn(_In):
    ids: list[str] = Field(max_length=100_000)
    min_len: int = Field(default=8, ge=1, le=128)


class ImportIn(_In):
    path: str = Field(description="a memkit export on the daemon's machine")
    on_conflict: str = "skip"


class SourceIn(_In):
    path: str = Field(description="a file or folder on the daemon's machine: markdown, text, an Obsidian vault, chats")
    user_id: str | None = None
    agent_id: str | None = None
    watch: bool = Field(default=False, description="keep ingesting new and changed files")
    interval: float = Field(default=300.0, ge=5.0, description="seconds between full rescans while watching")


class Explored(BaseModel):
    note: Note
    related: list[Note]


class Error(BaseModel):
    error: str = Field(description="the memkit error class, e.g. NotFoundError")
    message: str


class Health(BaseModel):
    status: str
    version: str
    instance: str
