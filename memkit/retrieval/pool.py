"""The working set of one search: the candidates, what each stage scored them, and the query's reading."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from memkit.filters import Filter
from memkit.types import Candidate

__all__ = ["Query", "Pool"]


@dataclass(frozen=True)
class Query:
    """A search query as the stages read it."""

    text: str
    k: int
    flt: Filter
    now: datetime  # the moment the question is asked (``as_of``, or the present)
    vector: np.ndarray | None = None  # the query's embedding, when a dense retriever ran
    lexical: tuple[str, ...] | None = None  # the words BM25 ORs, when the query has content words
    windows: tuple[tuple[datetime, datetime], ...] = ()  # periods the question points to
    speakers: frozenset[str] = frozenset()  # speakers the question names (or addresses, for roles)


@dataclass
class Pool:
    """Candidates of one search.  ``parts``/``rankings`` keep each stage's raw scores and order, for ``Hit.scores``."""

    score: dict[str, float] = field(default_factory=dict)
    feats: dict[str, Candidate] = field(default_factory=dict)
    parts: dict[str, dict[str, float]] = field(default_factory=dict)
    rankings: dict[str, list[str]] = field(default_factory=dict)

    def record(self, name: str, scores: dict[str, float], order: list[str] | None = None) -> None:
        """Keep a stage's raw scores, and their order (best first; by score unless given), for the hits."""
        self.parts[name] = scores
        self.rankings[name] = order if order is not None else sorted(scores, key=lambda i: -scores[i])

    def top(self, n: int) -> list[str]:
        return sorted(self.score, key=lambda i: (-self.score[i], i))[:n]
