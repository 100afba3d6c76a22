"""Metrics shared by the tasks: accuracy with intervals, ROUGE-L, answer matching,
KL divergence and the semantic clustering behind the Coherent Persuasion score.

Pure Python plus numpy; nothing heavy is imported here.
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

__all__ = [
    "normalize_answer",
    "contains_answer",
    "rouge_l",
    "wilson_interval",
    "mean",
    "kl_divergence",
    "cluster_answers",
    "persuasion_score",
    "summarize_metric",
    "group_by_tag",
]

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = str.maketrans({c: " " for c in string.punctuation + "“”‘’—–"})


def normalize_answer(text: str) -> str:
    """Lower case, no punctuation, no articles, single spaces (the SQuAD normalisation)."""
    text = text.lower().translate(_PUNCT)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def contains_answer(text: str, answers: Iterable[str]) -> bool:
    """Whether any of ``answers`` occurs in ``text`` as whole words, after normalisation."""
    norm = f" {normalize_answer(text)} "
    for ans in answers:
        a = normalize_answer(ans)
        if a and f" {a} " in norm:
            return True
    return False


def _lcs(a: Sequence[str], b: Sequence[str]) -> int:
    if not a or not b:
        return 0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b, 1):
            cur.append(prev[j - 1] + 1 if x == y else max(prev[j], cur[j - 1]))
        prev = cur
    return prev[-1]


def rouge_l(prediction: str, reference: str) -> float:
    """ROUGE-L F1 over normalised word tokens (0 when either side is empty)."""
    p, r = normalize_answer(prediction).split(), normalize_answer(reference).split()
    lcs = _lcs(p, r)
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(p), lcs / len(r)
    return 2 * precision * recall / (precision + recall)


def wilson_interval(successes: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a proportion (``(nan, nan)`` for n = 0)."""
    if n <= 0:
        return (math.nan, math.nan)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def mean(values: Iterable[float | None]) -> float | None:
    """Mean of the non-None values, None when there are none."""
    vals = [float(v) for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return sum(vals) / len(vals) if vals else None


def summarize_metric(values: Iterable[float | None]) -> dict[str, Any]:
    """Mean, count and a 95% interval (Wilson for 0/1 values, normal approximation otherwise)."""
    vals = [float(v) for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    n = len(vals)
    if n == 0:
        return {"mean": None, "n": 0, "lo": None, "hi": None}
    m = sum(vals) / n
    if all(v in (0.0, 1.0) for v in vals):
        lo, hi = wilson_interval(sum(vals), n)
    elif n > 1:
        sd = math.sqrt(sum((v - m) ** 2 for v in vals) / (n - 1))
        lo, hi = m - 1.96 * sd / math.sqrt(n), m + 1.96 * sd / math.sqrt(n)
    else:
        lo = hi = m
    return {"mean": m, "n": n, "lo": lo, "hi": hi}


def group_by_tag(rows: Iterable[Any], tag: str) -> dict[Any, list[Any]]:
    """Rows (with a ``tags`` dict) grouped by one tag's value, rows without it left out."""
    out: dict[Any, list[Any]] = {}
    for row in rows:
        if tag in row.tags and row.tags[tag] is not None:
            out.setdefault(row.tags[tag], []).append(row)
    return out


def kl_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """KL(p || q) = sum p log(p/q), skipping terms that are not finite (as DynamicQA's code does)."""
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * (np.log(p) - np.log(q)), 0.0)
    terms = terms[np.isfinite(terms)]
    return float(terms.sum())


def cluster_answers(
    texts: Sequence[str],
    method: str = "normalized",
    *,
    embed: Callable[[Sequence[str]], np.ndarray] | None = None,
    threshold: float = 0.85,
) -> list[list[int]]:
    """Group answers that mean the same thing; returns lists of indices into ``texts``.

    ``normalized``: equal after :func:`normalize_answer` (empty answers form one cluster).
    ``embedding``: greedy clustering on cosine similarity of ``embed(texts)`` (unit rows):
    an answer joins the first cluster whose every member is at least ``threshold`` similar,
    a stand-in for DynamicQA's bidirectional-entailment clustering.
    """
    if method == "normalized":
        groups: dict[str, list[int]] = {}
        for i, t in enumerate(texts):
            groups.setdefault(normalize_answer(t), []).append(i)
        return list(groups.values())
    if method == "embedding":
        if embed is None:
            raise ValueError("embedding clustering needs an embed function")
        if not texts:
            return []
        vecs = np.asarray(embed([t if t.strip() else "(empty)" for t in texts]), dtype=np.float64)
        sims = vecs @ vecs.T
        clusters: list[list[int]] = []
        for i in range(len(texts)):
            for c in clusters:
                if all(sims[i, j] >= threshold for j in c):
                    c.append(i)
                    break
            else:
                clusters.append([i])
        return clusters
    raise ValueError(f"unknown clustering method {method!r}: use 'normalized' or 'embedding'")


def persuasion_score(
    clusters_ctx: Sequence[Sequence[int]],
    dists_ctx: np.ndarray,
    clusters_q: Sequence[Sequence[int]],
    dists_q: np.ndarray,
) -> float:
    """Coherent Persuasion score (Marjanović et al. 2024).

    Each cluster is represented by the mean of its members' answer distributions (each
    sample's next-token distribution averaged over its generated tokens); the score is the
    mean KL(context cluster || question-only cluster) over all pairs of clusters.
    """
    reps_c = [np.mean(np.asarray(dists_ctx)[list(c)], axis=0) for c in clusters_ctx]
    reps_q = [np.mean(np.asarray(dists_q)[list(c)], axis=0) for c in clusters_q]
    scores = [kl_divergence(a, b) for a in reps_c for b in reps_q]
    return float(np.mean(scores)) if scores else math.nan
