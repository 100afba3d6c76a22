"""Third stage: adjusters, each refining the fused scores with one kind of knowledge about the candidates.

Every adjuster takes the pool and changes ``pool.score`` (recording its raw part for the hits).
They run in the order of :data:`ADJUSTERS`; each is switched off by its weight in ``[retrieval]``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from memkit.config import RetrievalConfig
from memkit.filters import epoch
from memkit.retrieval.fusion import normalised, rrf
from memkit.retrieval.pool import Pool, Query
from memkit.retrieval.query import speakers_named
from memkit.text import asks_about_present, terms

if TYPE_CHECKING:
    from memkit.engine import Engine

__all__ = ["ADJUSTERS", "Adjuster"]

Adjuster = Callable[["Engine", Query, Pool, RetrievalConfig], None]


def feedback(engine: Engine, q: Query, pool: Pool, cfg: RetrievalConfig) -> None:
    """Pseudo-relevance feedback: re-score the candidates against the query moved towards the best hits."""
    if not (cfg.dense and cfg.feedback > 0 and pool.score and q.vector is not None):
        return
    vecs = {i: f.embedding for i in pool.score if (f := pool.feats[i]).embedding is not None}
    top = [i for i in pool.top(cfg.feedback_docs) if i in vecs]
    if not top:
        return
    q2 = q.vector + np.mean([vecs[i] for i in top], axis=0)
    q2 /= np.linalg.norm(q2) or 1.0
    fb = {i: float(v @ q2) for i, v in vecs.items()}
    pool.record("feedback", fb)
    # in the fusion's own currency: a rank share for RRF, a normalised score otherwise
    extra = rrf({"feedback": pool.rankings["feedback"]}, {}, cfg.rrf_k) if cfg.fusion == "rrf" else normalised(fb)
    scale = 1.0 if cfg.fusion != "z" else max(pool.score.values())
    for i, v in extra.items():
        pool.score[i] += cfg.feedback * v * scale


def informative(engine: Engine, q: Query, pool: Pool, cfg: RetrievalConfig) -> None:
    """Small talk in a chat ("Haha same!") rarely holds evidence however well it matches; a short note stored
    on its own ("Maya lives in Porto.") was stored because it matters."""
    if cfg.informative_terms <= 0:
        return
    for i in pool.score:
        if pool.feats[i].session_id is None:
            continue
        n_terms = len(terms([pool.feats[i].content]))
        if n_terms < cfg.informative_terms:
            pool.score[i] *= (1 + n_terms) / (1 + cfg.informative_terms)


def speaker(engine: Engine, q: Query, pool: Pool, cfg: RetrievalConfig) -> None:
    """Notes by a speaker the question names (by name, or a chat role by pronoun), or naming them."""
    if not q.speakers or cfg.speaker_boost <= 0:
        return
    by_name = {s for s in q.speakers if s.lower() not in _role_names(cfg)}
    for i in pool.score:
        f = pool.feats[i]
        if f.speaker in q.speakers or (by_name and speakers_named(f.content, by_name)):
            pool.score[i] *= 1.0 + cfg.speaker_boost


def _role_names(cfg: RetrievalConfig) -> set[str]:
    return {v.lower() for values in cfg.speaker_roles.values() for v in values}


def period(engine: Engine, q: Query, pool: Pool, cfg: RetrievalConfig) -> None:
    """Notes from the period the question points to ("four weeks ago", "last month")."""
    if cfg.time_weight <= 0 or not q.windows:
        return
    spans = [(epoch(a), epoch(b)) for a, b in q.windows]
    inside = {i: 1.0 for i in pool.score if any(a <= pool.feats[i].valid_from_ts <= b for a, b in spans)}
    if inside:
        pool.record("period", inside)
        for i in inside:
            pool.score[i] *= 1.0 + cfg.time_weight


def graph(engine: Engine, q: Query, pool: Pool, cfg: RetrievalConfig) -> None:
    """A share of a seed's score spreads along its links (the best seed counted), so a neighbour of a strong
    hit can enter the results without hub notes drowning direct matches; neighbours must pass the filter."""
    if not (cfg.graph and pool.score):
        return
    spread: dict[str, float] = {}
    base = dict(pool.score)
    for seed in pool.top(cfg.graph_seeds):
        for nb, weight, kinds in engine.graph.neighbours(seed):
            w = weight * max(cfg.link_weights.get(kind, 1.0) for kind in kinds)
            if w > 0:
                spread[nb] = max(spread.get(nb, 0.0), base[seed] * w)
    pool.feats.update(engine.store.candidates([i for i in spread if i not in pool.feats], q.flt))
    spread = {i: v for i, v in spread.items() if i in pool.feats}
    if spread:
        pool.record("graph", spread)
        for i, v in spread.items():
            pool.score[i] = pool.score.get(i, 0.0) + cfg.graph_weight * v


def recency(engine: Engine, q: Query, pool: Pool, cfg: RetrievalConfig) -> None:
    """A small reciprocal-rank bonus by experience time (newest first)."""
    if not (cfg.recency and pool.score):
        return
    now = q.now.timestamp()
    ranked = sorted(pool.score, key=lambda i: -pool.feats[i].valid_from_ts)
    pool.record("recency", {i: max(0.0, now - pool.feats[i].valid_from_ts) / 86400.0 for i in ranked}, ranked)
    top_score = max(pool.score.values())
    for r, i in enumerate(ranked):
        pool.score[i] += cfg.recency_weight * top_score * cfg.rrf_k / (cfg.rrf_k + r)


def present(engine: Engine, q: Query, pool: Pool, cfg: RetrievalConfig) -> None:
    """For a question about the present ("where does she live now?"), a multiplier in proportion to each
    candidate's place in time: the newest candidates answer it, older ones describe the past."""
    if not (cfg.present_weight > 0 and pool.score and asks_about_present(q.text)):
        return
    times = [pool.feats[i].valid_from_ts for i in pool.score]
    newest, oldest = max(times), min(times)
    span = (newest - oldest) or 1.0
    for i in pool.score:
        pool.score[i] *= 1.0 + cfg.present_weight * (pool.feats[i].valid_from_ts - oldest) / span


ADJUSTERS: tuple[Adjuster, ...] = (feedback, informative, speaker, period, graph, recency, present)
