"""Hybrid retrieval: dense + BM25 fused, then refined by speaker, graph expansion and recency.

Each retriever ranks candidates under the same scope/metadata/validity filter,
applied inside the stores; graph expansion follows the links of the best fused
hits and keeps only neighbours that pass the filter, so no other user's note can
leak in.  A hit carries each part's raw score and rank.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import TYPE_CHECKING

import numpy as np

from memkit.config import RetrievalConfig
from memkit.filters import Filter
from memkit.stores.sqlite import Candidate, fts_query
from memkit.text import STOPWORDS, asks_about_present, terms
from memkit.types import Hit, ScoreParts, utcnow

if TYPE_CHECKING:
    from memkit.memory import Memory

__all__ = ["hybrid_search", "rrf", "fuse"]

_MIN_BM25 = 1e-4  # matches only on terms found in (nearly) every note: no evidence


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


def _normalised(scores: dict[str, float]) -> dict[str, float]:
    if not scores:
        return {}
    hi, lo = max(scores.values()), min(scores.values())
    if hi - lo < 1e-9:
        return {i: 1.0 for i in scores}
    return {i: (s - lo) / (hi - lo) for i, s in scores.items()}


def fuse(parts: dict[str, dict[str, float]], rankings: dict[str, list[str]], cfg: RetrievalConfig) -> dict[str, float]:
    weights = {"dense": cfg.dense_weight, "lexical": cfg.lexical_weight}
    if cfg.fusion == "rrf":
        return rrf(rankings, weights, cfg.rrf_k)
    fused: dict[str, float] = defaultdict(float)
    for name, scores in parts.items():
        for i, v in _normalised(scores).items():
            fused[i] += weights[name] * v
    return fused


def _speakers_named(query: str, speakers: set[str]) -> set[str]:
    q = {w.lower() for w in re.findall(r"[^\W\d_]+", query)}
    return {s for s in speakers if s.lower() in q or s.split()[0].lower() in q}


def _mmr(ranked: list[str], score: dict[str, float], k: int, penalty: float, feats: dict[str, Candidate]) -> list[str]:
    """Maximal marginal relevance: each pick trades its score against its similarity to earlier picks."""
    dim = next((f.embedding.shape[0] for f in feats.values() if f.embedding is not None), 1)
    vecs = np.stack([e if (e := feats[i].embedding) is not None else np.zeros(dim, np.float32) for i in ranked])
    sims = vecs @ vecs.T
    value = np.array([score[i] for i in ranked]) / (score[ranked[0]] or 1.0)
    closest = np.full(len(ranked), -np.inf)  # similarity to the nearest note already picked
    chosen: list[int] = []
    while len(chosen) < min(k, len(ranked)):
        adjusted = value - penalty * closest if chosen else value.copy()
        adjusted[chosen] = -np.inf
        pick = int(np.argmax(adjusted))
        chosen.append(pick)
        closest = np.maximum(closest, sims[pick])
    return [ranked[c] for c in chosen]


def hybrid_search(mem: Memory, query: str, k: int, flt: Filter) -> list[Hit]:
    """Dense and BM25 fused (RRF or normalised scores); speaker, graph and recency then refine that base.

    Graph expansion propagates a share of a seed's fused score along its links
    (``graph_weight`` x link weight x seed score, the best seed counted), so a
    neighbour of a strong hit can enter the results without hub notes drowning
    direct matches.  Recency adds a small reciprocal-rank bonus by experience time, and a larger
    one in proportion to time when the question asks about the present.
    Every candidate's stored features are read once; each candidate passed ``flt``.
    """
    cfg = mem.config.retrieval
    n = max(cfg.candidates, k)
    parts: dict[str, dict[str, float]] = {}
    rankings: dict[str, list[str]] = {}
    if cfg.dense:
        q = mem._embed_query(query)
        hits = mem._nearest(q[None, :], n, flt)[0]
        parts["dense"] = dict(hits)
        rankings["dense"] = [i for i, _ in hits]
    named: set[str] = set()
    if cfg.speaker_boost > 0:
        named = _speakers_named(query, mem._speakers(flt))
    if cfg.lexical:
        match = fts_query(query, STOPWORDS)
        hits = [h for h in (mem.store.lexical(match, n, flt, cfg.lexical_extra_weight) if match else [])
                if h[1] > _MIN_BM25]
        parts["lexical"] = dict(hits)
        rankings["lexical"] = [i for i, _ in hits]
    base = fuse(parts, rankings, cfg)
    feats = mem.store.candidates(list(base))
    base = {i: v for i, v in base.items() if i in feats}  # deleted since the index was read
    if cfg.dense and cfg.feedback > 0 and base:
        # pseudo-relevance feedback: re-score the candidates against the query moved towards the best fused hits
        vecs = {i: f.embedding for i in base if (f := feats[i]).embedding is not None}
        top = [i for i in sorted(base, key=lambda i: -base[i])[: cfg.feedback_docs] if i in vecs]
        if top:
            q2 = q + np.mean([vecs[i] for i in top], axis=0)
            q2 /= np.linalg.norm(q2) or 1.0
            fb = {i: float(v @ q2) for i, v in vecs.items()}
            parts["feedback"] = fb
            rankings["feedback"] = sorted(fb, key=lambda i: -fb[i])
            # in the fusion's own currency: a rank share for RRF, a normalised score otherwise
            extra = (rrf({"feedback": rankings["feedback"]}, {}, cfg.rrf_k) if cfg.fusion == "rrf"
                     else _normalised(fb))
            for i, v in extra.items():
                base[i] += cfg.feedback * v
    if cfg.informative_terms > 0:
        # small talk in a chat ("Haha same!", "What's new?") rarely holds evidence however well it matches;
        # a short note stored on its own ("Maya lives in Porto.") was stored because it matters
        for i in base:
            if feats[i].session_id is None:
                continue
            n_terms = len(terms([feats[i].content]))
            if n_terms < cfg.informative_terms:
                base[i] *= (1 + n_terms) / (1 + cfg.informative_terms)
    if named:
        # notes by the person the question names, or about them (their name in the text)
        for i in base:
            if feats[i].speaker in named or _speakers_named(feats[i].content, named):
                base[i] *= 1.0 + cfg.speaker_boost
    score = dict(base)
    if cfg.graph and base:
        seeds = sorted(base, key=lambda i: -base[i])[: cfg.graph_seeds]
        spread: dict[str, float] = {}
        for seed in seeds:
            for nb, weight, kinds in mem.graph.neighbours(seed):
                w = weight * max(cfg.link_weights.get(kind, 1.0) for kind in kinds)
                if w > 0:
                    spread[nb] = max(spread.get(nb, 0.0), base[seed] * w)
        feats.update(mem.store.candidates([i for i in spread if i not in feats], flt))
        spread = {i: v for i, v in spread.items() if i in feats}  # only neighbours that pass the filter
        if spread:
            parts["graph"] = spread
            rankings["graph"] = sorted(spread, key=lambda i: -spread[i])
            for i, v in spread.items():
                score[i] = score.get(i, 0.0) + cfg.graph_weight * v
    if cfg.recency and score:
        now = utcnow().timestamp()
        ranked = sorted(score, key=lambda i: -feats[i].valid_from_ts)
        parts["recency"] = {i: max(0.0, now - feats[i].valid_from_ts) / 86400.0 for i in ranked}  # age in days
        rankings["recency"] = ranked
        top_score = max(score.values())
        for r, i in enumerate(ranked):
            # a reciprocal-rank bonus, at most recency_weight x the best score
            score[i] += cfg.recency_weight * top_score * cfg.rrf_k / (cfg.rrf_k + r)
        if cfg.present_weight > 0 and asks_about_present(query):
            # "where does she live now?": the newest candidates answer it, older ones describe the past
            newest, oldest = feats[ranked[0]].valid_from_ts, feats[ranked[-1]].valid_from_ts
            span = (newest - oldest) or 1.0
            for i in ranked:
                score[i] *= 1.0 + cfg.present_weight * (feats[i].valid_from_ts - oldest) / span
    top = sorted(score, key=lambda i: (-score[i], i))
    if cfg.diversity > 0 and top:
        # MMR chooses which k notes to return; they are listed by score, so the best match stays first
        top = sorted(_mmr(top[: 3 * k], score, k, cfg.diversity, feats), key=lambda i: (-score[i], i))
    else:
        top = top[:k]
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
