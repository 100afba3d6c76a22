"""Writing a chunk of new notes, in stages: build -> link -> evolve/supersede -> commit.

Each stage is a small function with a typed input and output (:mod:`memkit.writing.records`):

- :func:`~memkit.writing.build.build`: the note builder derives keywords, tags and context;
- :func:`~memkit.writing.link.link`: session links and each note's neighbours (nearest, and sharing a rare name);
- :func:`~memkit.writing.evolve.evolve`: the judge's decisions applied: links, evolution, supersession;
- :func:`~memkit.writing.commit.commit`: one store transaction; the graph and the vector index follow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from memkit.types import Note, utcnow
from memkit.writing.build import build
from memkit.writing.commit import commit
from memkit.writing.evolve import evolve
from memkit.writing.link import link
from memkit.writing.records import Evolution, Neighbourhood, Prepared, snapshot

if TYPE_CHECKING:
    from memkit.engine import Engine

__all__ = ["write_chunk", "Prepared", "Neighbourhood", "Evolution", "snapshot"]


def write_chunk(engine: Engine, chunk: list[Prepared], embs: np.ndarray, previous: dict[str, Note]) -> list[str]:
    """Build, link, evolve and commit one chunk (``previous``: each new note's previous conversation turn)."""
    now = utcnow()
    notes = build(engine, chunk, embs)
    hood = link(engine, notes, embs, previous, now)
    return commit(engine, evolve(engine, chunk, hood, now), embs, now)
