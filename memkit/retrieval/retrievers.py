"""First stage: the retrievers, each ranking notes that pass the search filter by one kind of evidence.

- ``dense``: cosine similarity of the query's embedding (exactly over a small scope, else the index);
- ``lexical``: BM25 over the FTS5 index (content, and the derived speaker/date/keyword text);
- the periods a question points to ("four weeks ago") are searched again, dense and BM25 within
  each window, so a note from then is a candidate even when the whole store has better matches.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from memkit.config import RetrievalConfig
from memkit.filters import epoch
from memkit.retrieval.pool import Query

if TYPE_CHECKING:
    from memkit.engine import Engine

__all__ = ["retrieve", "MIN_BM25"]

MIN_BM25 = 1e-4  # matches only on terms found in (nearly) every note: no evidence


def _dense(engine: Engine, q: Query, n: int, flt) -> dict[str, float]:  # noqa: ANN001
    assert q.vector is not None
    return dict(engine.nearest(q.vector[None, :], n, flt)[0])


def _lexical(engine: Engine, q: Query, n: int, flt, cfg: RetrievalConfig) -> dict[str, float]:  # noqa: ANN001
    if not q.lexical:
        return {}
    return {i: s for i, s in engine.store.lexical(q.lexical, n, flt, cfg.lexical_extra_weight) if s > MIN_BM25}


def retrieve(engine: Engine, q: Query, cfg: RetrievalConfig) -> dict[str, dict[str, float]]:
    """Each retriever's raw scores of its candidates, by retriever name."""
    n = max(cfg.candidates, q.k)
    out: dict[str, dict[str, float]] = {}
    if cfg.dense:
        out["dense"] = _dense(engine, q, n, q.flt)
    if cfg.lexical:
        out["lexical"] = _lexical(engine, q, n, q.flt, cfg)
    if cfg.time_weight > 0 and q.windows:
        for start, end in q.windows:
            flt = q.flt.within(epoch(start), epoch(end))
            if cfg.dense:
                out["dense"].update(_dense(engine, q, cfg.window_candidates, flt))
            if cfg.lexical:
                out["lexical"].update(_lexical(engine, q, cfg.window_candidates, flt, cfg))
    return out
