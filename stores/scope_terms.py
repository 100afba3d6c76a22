"""A search scope's term positions kept in memory between BM25 searches, until the store is written.

PostgreSQL's BM25 (:func:`memkit.stores.postgres_sql.bm25_search`) read the tsvectors of every note of a
scope that holds a query word at every query, stored out of line (TOAST): the largest part of a search of one
user's ≈ 500 notes.  For a scope of at most :data:`KEPT_BELOW` notes, each note's lexemes and their positions
are read once (kept in a :class:`~memkit.stores.scope_rows.ScopeRows` beside the scope's embeddings, under the
same keys) and a query's phrases are scored here, as the SQL scores them: the statistics of the whole store
(documents, tokens, how many notes hold a phrase) still come from the database at each query.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from memkit.filters import Filter
from memkit.stores.scope_rows import validity_mask

__all__ = ["KEPT_BELOW", "Phrase", "ScopeTerms", "scope_terms"]

KEPT_BELOW = 2000  # a scope of more notes is scored by the database
Phrase = tuple[Sequence[tuple[int, str]], float]  # its (position, lexeme) parts, in order, and its idf
Postings = dict[str, list[tuple[int, tuple[int, ...]]]]  # lexeme -> (row, its positions in that row's text)


@dataclass(frozen=True)
class ScopeTerms:
    """The notes of one scope in insertion order: ids, token counts, validity, and postings of their two texts."""

    ids: tuple[str, ...]
    ntokens: np.ndarray
    valid_from: np.ndarray
    valid_to: np.ndarray
    content: Postings
    extra: Postings

    def bm25(self, phrases: Sequence[Phrase], extra_weight: float, avgdl: float, k: int, flt: Filter,
             k1: float, b: float) -> list[tuple[str, float]]:
        """The ``k`` best notes passing ``flt``'s validity window that hold any phrase (in either text), as
        ``(id, score)`` best first, ties in insertion order: ``Σ idf × f × (k1 + 1) / (f + norm)`` with ``f`` a
        phrase's hits in the content plus ``extra_weight`` × those in the derived text, in the SQL's order of
        operations (so the scores are the same doubles)."""
        hits = [self._hits(self.content, parts) for parts, _ in phrases]
        extra = [self._hits(self.extra, parts) for parts, _ in phrases]
        rows = set().union(*hits, *extra)
        if not rows:
            return []
        keep = validity_mask(self.valid_from, self.valid_to, flt)
        scored = []
        for row in rows:
            if not keep[row]:
                continue
            norm = k1 * ((1 - b) + b * float(self.ntokens[row]) / avgdl)
            score = 0.0
            for (_, idf), in_content, in_extra in zip(phrases, hits, extra, strict=True):
                f = float(in_content.get(row, 0))
                if extra_weight:
                    f = f + extra_weight * float(in_extra.get(row, 0))
                score += idf * (f * (k1 + 1) / (f + norm))
            scored.append((-score, row))
        scored.sort()
        return [(self.ids[row], -neg) for neg, row in scored[:max(k, 0)]]

    @staticmethod
    def _hits(postings: Postings, parts: Sequence[tuple[int, str]]) -> dict[int, int]:
        """Row -> how often the phrase ``parts`` occurs in it (a word: its positions; a phrase: the first word's
        positions followed, at the phrase's distances, by each later word)."""
        first_pos, first = parts[0]
        out: dict[int, int] = {}
        if len(parts) == 1:
            for row, positions in postings.get(first, ()):
                out[row] = len(positions)
            return out
        later = [(pos - first_pos, dict(postings.get(lex, ()))) for pos, lex in parts[1:]]
        for row, positions in postings.get(first, ()):
            n = sum(1 for p in positions
                    if all(p + shift in found.get(row, ()) for shift, found in later))
            if n:
                out[row] = n
        return out


def scope_terms(rows: Sequence[tuple[str, int, float, float, Sequence[str], Sequence[str]]]) -> ScopeTerms:
    """From rows of (id, tokens, valid_from_ts, valid_to_ts, content terms, derived-text terms), in insertion
    order, each term written ``"p1,p2,… lexeme"`` (its positions, then the lexeme)."""
    content: Postings = {}
    extra: Postings = {}
    for row, (_, _, _, _, in_content, in_extra) in enumerate(rows):
        for terms, postings in ((in_content, content), (in_extra, extra)):
            for term in terms:
                positions, _, lexeme = term.partition(" ")
                held = tuple(map(int, positions.split(","))) if positions else ()
                postings.setdefault(sys.intern(lexeme), []).append((row, held))
    return ScopeTerms(tuple(r[0] for r in rows), np.array([r[1] for r in rows], dtype=np.int64),
                      np.array([r[2] for r in rows], dtype=np.float64), np.array([r[3] for r in rows], dtype=np.float64),
                      content, extra)
