"""Hybrid retrieval: dense + BM25 fused by weighted reciprocal rank, refined by graph expansion and recency.

Each retriever ranks candidates under the same scope/metadata/validity filter,
applied inside the stores; graph expansion follows the links of the best fused
hits and keeps only neighbours that pass the filter, so no other user's note can
leak in.  A hit carries each part's raw score and rank.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from memkit.filters import Filter
from memkit.stores.sqlite import fts_query
from memkit.text import STOPWORDS
from memkit.types import Hit, ScoreParts, utcnow

if TYPE_CHECKING:
    from memkit.memory import Memory

__all__ = ["hybrid_search", "rrf"]

_MIN_BM25 = 1e-4


def rrf(rankings: dict[str, list[str]], weights: dict[str, float], k: int) -> dict[str, float]:
    """Weighted reciprocal rank fusion: sum over lists of weight / (k + rank), rank from 1."""
    fused: dict[str, float] = defaultdict(float)
    for name, ids in rankings.items():
        w = weights.get(name, 1.0)
        if w <= 0:
            continue
        for rank, nid in enumerate(ids, start=1):
            fused[nid] += w / (k + rank)
    return fused


def hybrid_search(mem: Memory, query: str, k: int, flt: Filter) -> list[Hit]:
    """Dense and BM25 rankings fused by weighted RRF; graph and recency then refine that base score.

    Graph expansion propagates a share of a seed's fused score along its links
    (``graph_weight`` x link weight x seed score, the best seed counted), so a
    neighbour of a strong hit can enter the results without hub notes drowning
    direct matches.  Recency adds a small reciprocal-rank bonus by experience time.
    """
    cfg = mem.config.retrieval
    n = max(cfg.candidates, k)
    parts: dict[str, dict[str, float]] = {}
    rankings: dict[str, list[str]] = {}
    if cfg.dense:
        q = mem._embed_query(query)
        hits = mem.index.query(q[None, :], n, where=flt)[0]
        parts["dense"] = dict(hits)
        rankings["dense"] = [i for i, _ in hits]
    if cfg.lexical:
        match = fts_query(query, STOPWORDS)
        # matches on terms in every note (BM25 idf ~ 0) carry no evidence
        hits = [h for h in (mem.store.lexical(match, n, flt) if match else []) if h[1] > _MIN_BM25]
        parts["lexical"] = dict(hits)
        rankings["lexical"] = [i for i, _ in hits]
    weights = {"dense": cfg.dense_weight, "lexical": cfg.lexical_weight}
    base = rrf(rankings, weights, cfg.rrf_k)
    score = dict(base)
    if cfg.graph and base:
        seeds = sorted(base, key=lambda i: -base[i])[: cfg.graph_seeds]
        spread: dict[str, float] = {}
        for seed in seeds:
            for nb, weight, _kinds in mem.graph.neighbours(seed):
                spread[nb] = max(spread.get(nb, 0.0), base[seed] * weight)
        if spread:
            allowed = mem.store.allowed(list(spread), flt)
            spread = {i: v for i, v in spread.items() if i in allowed}
            parts["graph"] = spread
            rankings["graph"] = sorted(spread, key=lambda i: -spread[i])
            for i, v in spread.items():
                score[i] = score.get(i, 0.0) + cfg.graph_weight * v
    if cfg.recency and score:
        pool = list(score)
        times = mem.store.valid_from_ts(pool)
        now = utcnow().timestamp()
        ranked = sorted(pool, key=lambda i: -times.get(i, 0.0))
        parts["recency"] = {i: max(0.0, now - times.get(i, now)) / 86400.0 for i in ranked}  # age in days
        rankings["recency"] = ranked
        for r, i in enumerate(ranked, start=1):
            score[i] += cfg.recency_weight / (cfg.rrf_k + r)
    top = sorted(score, key=lambda i: (-score[i], i))[:k]
    notes = mem.store.get_many(top)
    ranks = {name: {nid: r for r, nid in enumerate(ids, start=1)} for name, ids in rankings.items()}
    out = []
    for nid in top:
        if nid not in notes:  # deleted between index and store reads
            continue
        sp = ScoreParts(**{
            **{name: parts[name].get(nid) for name in parts},
            **{f"{name}_rank": ranks[name].get(nid) for name in ranks},
        })
        out.append(Hit(note=notes[nid], score=round(score[nid], 6), scores=sp))
    return out
