"""Write stage 1, build: the note builder derives keywords, tags and context (values the user gave win)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from memkit.types import Note
from memkit.writing.records import Prepared

if TYPE_CHECKING:
    from memkit.engine import Engine

__all__ = ["build"]

_DERIVED = ("keywords", "tags", "context")


def build(engine: Engine, chunk: list[Prepared], embs: np.ndarray) -> list[Note]:
    """The chunk's notes with what the builder derived (each ``Prepared.note`` is replaced by its built note)."""
    for p, d in zip(chunk, engine.builder.build([p.note for p in chunk], embs), strict=True):
        updates: dict[str, Any] = {f: getattr(d, f) for f in _DERIVED if f not in p.given}
        if d.info:
            updates["metadata"] = {**p.note.metadata, "memkit": d.info}
        if updates:
            p.note = p.note.model_copy(update=updates)
    return [p.note for p in chunk]
