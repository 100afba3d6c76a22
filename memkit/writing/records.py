"""The typed records that flow between the stages of a write (see :mod:`memkit.writing`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from memkit.linking import Neighbour
from memkit.types import Link, NewEvent, Note

__all__ = ["Prepared", "Neighbourhood", "Evolution", "snapshot"]


@dataclass
class Prepared:
    """One validated item of ``add_many``: its note, and what the user asked of it."""

    note: Note
    given: set[str]  # fields the user set explicitly (the builder leaves them alone)
    supersedes: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)


@dataclass
class Neighbourhood:
    """What the link stage found for a chunk of new notes."""

    session: list[Link]  # each conversation turn to the turn before it
    neighbours: list[list[Neighbour]]  # per new note, in the chunk's order


@dataclass
class Evolution:
    """What the judge decided for a chunk, applied: the new notes as they are stored, and the changes to others."""

    notes: list[Note]  # the new notes, final (judge info, and evolution by later notes of the chunk, folded in)
    changed: dict[str, Note]  # stored notes evolved or superseded (their version moves on when committed)
    links: list[Link]  # every new link, session links first
    events: list[NewEvent]  # the evolve and supersede events of the changed notes


def snapshot(note: Note) -> dict[str, Any]:
    """A note as JSON-safe fields, without its (derived) links: what history keeps of it."""
    return note.model_dump(mode="json", exclude={"links"})
