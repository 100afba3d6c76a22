"""What a file reads into: units (a document, or one conversation) of pieces (the notes to be)."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

from memkit.types import METADATA_KEY

__all__ = ["Piece", "Unit", "Parsed", "ParseError", "NotATranscript", "split_text", "json_safe", "metadata_key", "as_datetime",
           "unit_hash", "pack"]


class ParseError(ValueError):
    """A file memkit cannot read (the ingest report names the file and this reason)."""


class NotATranscript(ParseError):
    """A JSON file that is not a chat transcript (a vault's settings, data): skipped, not failed."""


@dataclass
class Piece:
    content: str
    tags: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    session_id: str | None = None
    valid_from: datetime | None = None
    links_to: list[str] = field(default_factory=list)  # names of other units this piece links to ([[wikilinks]])


@dataclass
class Unit:
    key: str  # within its file: "" for a document, the conversation's id for a chat
    title: str
    pieces: list[Piece]
    names: list[str] = field(default_factory=list)  # how other files name it: file name, path, aliases (lower case)
    chained: bool = True  # link consecutive pieces in order (a document); a chat's turns are linked as a session


@dataclass
class Parsed:
    kind: str  # markdown | text | chat
    units: list[Unit]
    warnings: list[str] = field(default_factory=list)


def unit_hash(unit: Unit) -> str:
    body = [[p.content, p.tags, p.metadata, p.session_id, p.valid_from.isoformat() if p.valid_from else None,
             p.links_to] for p in unit.pieces]
    return hashlib.sha256(json.dumps([unit.title, unit.names, body], sort_keys=True, default=str).encode()).hexdigest()


def json_safe(value: Any) -> Any:
    """Front-matter values as JSON values (dates as ISO strings); None when there is no sensible one."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    return str(value)


def metadata_key(key: Any) -> str | None:
    """A front-matter key as a metadata key (spaces become '_'), or None when it cannot be one."""
    k = re.sub(r"\s+", "_", str(key).strip())
    return k if METADATA_KEY.fullmatch(k) else None


def as_datetime(value: Any) -> datetime | None:
    """A date, a datetime, an ISO string or a POSIX timestamp as an aware datetime (UTC when no zone)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            return datetime.fromtimestamp(float(value), tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    return None


_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def split_text(text: str, target: int, limit: int) -> list[str]:
    """``text`` in pieces of about ``target`` characters (at most ``limit``), cut between paragraphs, then
    between sentences, then anywhere."""
    text = text.strip()
    if len(text) <= limit:
        return [text] if text else []
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    parts: list[str] = []
    for para in paragraphs:
        if len(para) <= limit:
            parts.append(para)
            continue
        sentences = _SENTENCE.split(para)
        for s in sentences:
            while len(s) > limit:
                cut = s.rfind(" ", 0, limit)
                cut = cut if cut > limit // 2 else limit
                parts.append(s[:cut].strip())
                s = s[cut:].strip()
            if s:
                parts.append(s)
    return pack(parts, target, limit)


def pack(parts: list[str], target: int, limit: int, sep: str = "\n\n") -> list[str]:
    """Join consecutive parts while the result stays within ``target`` characters."""
    out: list[str] = []
    for part in parts:
        if out and len(out[-1]) + len(sep) + len(part) <= target:
            out[-1] = out[-1] + sep + part
        else:
            out.append(part)
    return out
