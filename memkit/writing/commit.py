"""Write stage 4, commit: one batch to the store (new notes with their embeddings, evolved and superseded notes,
links, history), after which the graph and the vector index follow."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np

from memkit.types import NewEvent, WriteBatch
from memkit.writing.records import Evolution, snapshot

if TYPE_CHECKING:
    from memkit.engine import Engine

__all__ = ["commit"]


def commit(engine: Engine, evo: Evolution, embs: np.ndarray, now: datetime) -> list[str]:
    """Store the chunk; returns the new notes' ids."""
    updated = [n.model_copy(update={"version": n.version + 1, "updated_at": now}) for n in evo.changed.values()]
    add_events = [NewEvent(n.id, "add", None, snapshot(n), now, "user") for n in evo.notes]
    link_events = [NewEvent(lk.src, "link", None, {"dst": lk.dst, "kind": lk.kind, "weight": lk.weight}, now,
                            lk.actor) for lk in evo.links]
    batch = WriteBatch(insert=list(zip(evo.notes, embs, strict=True)), update=updated, link=evo.links,
                       events=add_events + evo.events + link_events)
    engine.commit(batch, upsert=evo.notes + updated, vectors={n.id: embs[i] for i, n in enumerate(evo.notes)},
                  open_index=True)
    return [n.id for n in evo.notes]
