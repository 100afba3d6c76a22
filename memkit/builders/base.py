"""What a note builder derives from a note, and the text memkit indexes for it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from memkit.text import human_date
from memkit.types import Note

__all__ = ["Derived", "speaker_of", "embed_text", "search_extra"]


class Derived(BaseModel):
    """Keywords, tags and a one-line context derived from one note's content."""

    model_config = ConfigDict(extra="forbid")

    keywords: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    context: str = ""
    builder: str = "heuristic"
    info: dict[str, Any] = Field(default_factory=dict, description="recorded in note.metadata['memkit'] when not empty")


def speaker_of(note: Note) -> str | None:
    """The speaker of a conversation turn: ``metadata['speaker']`` by convention."""
    speaker = note.metadata.get("speaker")
    return speaker.strip() if isinstance(speaker, str) and speaker.strip() else None


def embed_text(note: Note, with_speaker: bool = False) -> str:
    """The text a note is embedded from: its content, optionally prefixed by its speaker."""
    speaker = speaker_of(note)
    if with_speaker and speaker and not note.content.lower().startswith(speaker.lower()):
        return f"{speaker}: {note.content}"
    return note.content


def search_extra(note: Note) -> str:
    """What BM25 indexes beside the content (in its own, weighted column): speaker, date words, keywords,
    tags and context."""
    parts = []
    speaker = speaker_of(note)
    if speaker:
        parts.append(speaker)
    if note.valid_from is not None:
        parts.append(human_date(note.valid_from))
    parts += [" ".join(note.keywords), " ".join(note.tags), note.context]
    return "\n".join(p for p in parts if p)
