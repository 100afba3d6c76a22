"""Second stage: fusing the retrievers' candidate lists into one score per note.

- ``rrf``: weighted reciprocal rank fusion (Cormack et al. 2009): ``sum w / (k + rank)``;
- ``score``: weighted sum of min-max normalised scores;
- ``z``: weighted sum of standardised scores (each retriever's scores minus their mean, over their
  spread, on the union of candidates).  Unlike ranks, it keeps how far a retriever's best
  candidates stand out from the rest: a BM25 hit on a rare name that no other note shares
  outweighs a flat run of near-equal dense similarities, and the other way round.
"""

from __future__ import annotations

import math
from collections import defaultdict

from memkit.config import RetrievalConfig

__all__ = ["fuse", "rrf", "normalised", "standardised"]


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


def normalised(scores: dict[str, float]) -> dict[str, float]:
    """Min-max to [0, 1] (all 1 when the scores are equal)."""
    if not scores:
        return {}
    hi, lo = max(scores.values()), min(scores.values())
    if hi - lo < 1e-9:
        return dict.fromkeys(scores, 1.0)
    return {i: (s - lo) / (hi - lo) for i, s in scores.items()}


def standardised(scores: dict[str, float], ids: set[str], floor: float | None = None) -> dict[str, float]:
    """``(s - mean) / std`` over ``ids``; an id the retriever did not return counts as its lowest score
    (or ``floor``).  A retriever whose scores are all equal tells nothing: all 0."""
    if not scores:
        return {}
    low = min(scores.values()) if floor is None else floor
    vals = {i: scores.get(i, low) for i in ids}
    mean = sum(vals.values()) / len(vals)
    sd = math.sqrt(sum((v - mean) ** 2 for v in vals.values()) / len(vals))
    if sd < 1e-9:
        return dict.fromkeys(ids, 0.0)
    return {i: (v - mean) / sd for i, v in vals.items()}


def fuse(parts: dict[str, dict[str, float]], cfg: RetrievalConfig) -> dict[str, float]:
    """One score per candidate from the retrievers' raw scores (``parts``: retriever -> note id -> score)."""
    weights = {"dense": cfg.dense_weight, "lexical": cfg.lexical_weight}
    if cfg.fusion == "rrf":
        rankings = {name: sorted(s, key=lambda i: -s[i]) for name, s in parts.items()}
        return rrf(rankings, weights, cfg.rrf_k)
    fused: dict[str, float] = defaultdict(float)
    ids = {i for s in parts.values() for i in s}
    for name, scores in parts.items():
        if cfg.fusion == "score":
            norm = normalised(scores)
        else:  # BM25 gives 0 to a note sharing no word with the query: that is its floor
            norm = standardised(scores, ids, floor=0.0 if name == "lexical" else None)
        for i, v in norm.items():
            fused[i] += weights.get(name, 1.0) * v
    if cfg.fusion == "z" and fused:
        # positive, so that the adjusters' multipliers raise what they favour, in proportion to how well it matches;
        # the weakest candidate keeps a tenth of the spread, so a multiplier can still lift it
        low, top = min(fused.values()), max(fused.values())
        floor = 0.1 * (top - low) if top - low > 1e-9 else 1.0
        fused = defaultdict(float, {i: v - low + floor for i, v in fused.items()})
    return fused
