"""Consolidation: turning stored factual notes into writes of a parametric memory.

A note becomes an :class:`~memkit.editing.types.EditRequest` when its metadata names the
edit (``prompt`` and ``target``), or when its content is one short declarative fact that
splits into a prompt and a target: "The capital of Atlantis is Poseidonia." gives
("The capital of Atlantis is", "Poseidonia"); "Alice moved to Lisbon." gives
("Alice moved to", "Lisbon").  Other notes (questions, several sentences, long or
opinion-like text, superseded notes) are skipped and listed in the report with a reason.

A document memory (``takes_documents``: the compression bank, the generative adapter) takes every current note
whole, as a document under the note's id; superseded notes are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from memkit.errors import InvalidInputError

if TYPE_CHECKING:
    from memkit.types import Note

__all__ = ["consolidate", "note_to_edit", "note_to_document", "ConsolidationReport", "SkippedNote"]

_MAX_WORDS = 30
_MAX_TARGET_WORDS = 6
# relation phrases that end a prompt; the words after them are the target (longest first)
_RELATIONS = sorted(
    [
        "moved to", "lives in", "live in", "lived in", "is located in", "are located in", "was born in",
        "were born in", "is from", "comes from", "came from", "works at", "works for", "worked at",
        "worked for", "studied at", "studies at", "graduated from", "is married to", "married",
        "joined", "founded", "wrote", "directed", "speaks", "speak", "prefers", "prefer", "likes",
        "like", "loves", "love", "hates", "plays", "drives", "owns", "uses", "visited", "is allergic to",
        "is called", "is named", "was named", "belongs to", "reports to", "is headquartered in",
        "is based in", "was founded in", "was founded by", "was written by", "was directed by",
        "relocated to", "switched to", "is made of", "is made by", "is owned by", "is part of",
    ],
    key=len,
    reverse=True,
)
_COPULAS = ("is", "are", "was", "were")
_NOT_FACT = re.compile(
    r"^(please|remember|remind|let's|lets|todo|maybe|perhaps|i think|i guess|i feel|hmm|ok|okay)\b", re.I
)


class SkippedNote(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note_id: str
    reason: str


class ConsolidationReport(BaseModel):
    """What :func:`consolidate` wrote and what it left out."""

    model_config = ConfigDict(extra="forbid")

    backend: str
    notes_seen: int = 0
    written: int = 0
    edits: list[dict[str, str]] = Field(default_factory=list, description="note_id, request_id, and the prompt and target of an edit")
    skipped: list[SkippedNote] = Field(default_factory=list)
    seconds: float = 0.0
    write_report: dict[str, Any] | None = None


def _sentences(text: str) -> list[str]:
    parts = re.split(r"(?<=[.!?])\s+", text.strip())
    return [p for p in parts if p]


def _split_fact(sentence: str) -> tuple[str, str, str | None] | None:
    """(prompt, target, subject) of one declarative sentence, or None."""
    body = sentence.strip().rstrip(".!").strip()
    lowered = f" {body.lower()} "
    for phrase in _RELATIONS:
        at = lowered.rfind(f" {phrase} ")
        if at < 0:
            continue
        cut = at + len(phrase) + 1  # index in body just after the phrase
        prompt, target = body[:cut].strip(), body[cut:].strip()
        subject = body[:at].strip() or None
        if prompt and target and len(target.split()) <= _MAX_TARGET_WORDS and subject:
            return prompt, target, subject
    words = body.split()
    for i in range(len(words) - 1, 0, -1):  # the last copula: "The capital of X is Y"
        if words[i].lower() in _COPULAS:
            prompt, target = " ".join(words[: i + 1]), " ".join(words[i + 1 :])
            if target and len(target.split()) <= _MAX_TARGET_WORDS and i >= 1:
                head = " ".join(words[:i])
                of = head.lower().rfind(" of ")
                subject = head[of + 4 :] if of >= 0 else head
                return prompt, target, subject or None
    return None


def note_to_edit(note: Any) -> tuple[Any | None, str | None]:
    """``(EditRequest, None)`` for a factual note, else ``(None, reason)``."""
    from memkit.editing.types import EditRequest

    meta = note.metadata or {}
    prompt = meta.get("prompt") or meta.get("edit_prompt")
    target = meta.get("target") or meta.get("target_new") or meta.get("edit_target")
    if isinstance(prompt, str) and isinstance(target, str) and prompt.strip() and target.strip():
        subject = meta.get("subject") if isinstance(meta.get("subject"), str) else None
        return EditRequest(id=f"note-{note.id}", prompt=prompt.strip(), target_new=target.strip(),
                           subject=subject, source=note.id), None
    if getattr(note, "is_current", True) is False:
        return None, "superseded (no longer valid)"
    text = " ".join(note.content.split())
    sentences = _sentences(text)
    if len(sentences) != 1:
        return None, "not a single sentence"
    sentence = sentences[0]
    if sentence.endswith("?"):
        return None, "a question, not a fact"
    if len(sentence.split()) > _MAX_WORDS:
        return None, f"longer than {_MAX_WORDS} words"
    if _NOT_FACT.match(sentence):
        return None, "a request or an opinion, not a fact"
    split = _split_fact(sentence)
    if split is None:
        return None, "no prompt/target split found (give metadata 'prompt' and 'target')"
    prompt, target, subject = split
    return EditRequest(id=f"note-{note.id}", prompt=prompt, target_new=target, subject=subject, source=note.id), None


def note_to_document(note: Any) -> tuple[Any | None, str | None]:
    """``(Document, None)`` for a current note (its id and content), else ``(None, reason)``."""
    from memkit.editing.documents import Document

    if getattr(note, "is_current", True) is False:
        return None, "superseded (no longer valid)"
    return Document(id=note.id, text=note.content, source=note.id), None


def consolidate(
    notes: Iterable[Note],
    backend: Any,
    *,
    limit: int | None = None,
    progress: bool = True,
) -> ConsolidationReport:
    """Write the factual ones of ``notes`` (a memory's, as ``Memory.consolidate`` reads them: each step a read
    that no write interleaves) into ``backend``.

    ``backend`` is a parametric memory (e.g. ``memkit.editing.create_memory("wise")``) or
    the registered name of one.  ``limit`` caps the number of edits written.
    """
    import time

    if isinstance(backend, str):
        from memkit.editing import create_memory

        backend = create_memory(backend)
    if not hasattr(backend, "write"):
        raise InvalidInputError(f"consolidate needs a parametric memory (with .write), got {type(backend).__name__}")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise InvalidInputError(f"limit must be a positive integer, got {limit!r}")
    report = ConsolidationReport(backend=str(getattr(backend, "name", type(backend).__name__)))
    documents = bool(getattr(backend, "takes_documents", False))
    requests: list[Any] = []
    for note in notes:
        if limit is not None and len(requests) >= limit:
            break
        report.notes_seen += 1
        request, reason = note_to_document(note) if documents else note_to_edit(note)
        if request is None:
            report.skipped.append(SkippedNote(note_id=note.id, reason=reason or "not a fact"))
            continue
        requests.append(request)
        report.edits.append({"note_id": note.id, "request_id": request.id} if documents else
                            {"note_id": note.id, "request_id": request.id, "prompt": request.prompt,
                             "target": request.target_new})
    start = time.perf_counter()
    if requests:
        written = backend.write(requests, progress=progress)
        report.write_report = written.model_dump(mode="json") if hasattr(written, "model_dump") else None
    report.written = len(requests)
    report.seconds = time.perf_counter() - start
    return report
