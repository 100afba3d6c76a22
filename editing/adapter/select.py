"""Which held documents a question is about: BM25 over the LM's own token ids, for the Generative Adapter's
``select`` option.

The adapter's state is a sum of outer products, so contextualising on a subset of the documents is the sum of
their per-document states.  The trained generator reads one document well but blends many (its keys encode the
relation asked, "… lives in", more than whose it is), so with ``select = k`` each question is answered from the
``k`` documents that share its rarest tokens.  Token ids, not words: the index needs no tokenizer of its own and
sees exactly what the generator read (the document cut to ``max_doc_tokens``).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence

__all__ = ["TokenIndex"]


class TokenIndex:
    """Documents' token-id counts with Okapi BM25 ranking (``k1``, ``b``); ``ignore``: ids never matched on
    (the chat template's own tokens, which every question carries)."""

    def __init__(self, *, k1: float = 1.2, b: float = 0.75, ignore: Iterable[int] = ()) -> None:
        self.k1, self.b = k1, b
        self.ignore = frozenset(ignore)
        self.counts: dict[str, Counter[int]] = {}
        self.lengths: dict[str, int] = {}
        self.postings: dict[int, set[str]] = {}

    def __len__(self) -> int:
        return len(self.counts)

    def add(self, doc_id: str, tokens: Sequence[int]) -> None:
        self.remove([doc_id])
        counts = Counter(tokens)
        self.counts[doc_id], self.lengths[doc_id] = counts, len(tokens)
        for t in counts:
            self.postings.setdefault(t, set()).add(doc_id)

    def remove(self, ids: Iterable[str]) -> None:
        for doc_id in ids:
            counts = self.counts.pop(doc_id, None)
            if counts is None:
                continue
            del self.lengths[doc_id]
            for t in counts:
                holders = self.postings[t]
                holders.discard(doc_id)
                if not holders:
                    del self.postings[t]

    def top(self, query: Sequence[int], k: int) -> list[str]:
        """The ids of the ``k`` best-matching documents, best first (ties in the order the documents came); fewer
        when fewer than ``k`` share a token with the query, none when none does."""
        n = len(self.counts)
        if n == 0 or k < 1:
            return []
        avg = sum(self.lengths.values()) / n
        scores: dict[str, float] = {}
        for t in set(query) - self.ignore:
            holders = self.postings.get(t)
            if not holders:
                continue
            idf = math.log(1.0 + (n - len(holders) + 0.5) / (len(holders) + 0.5))
            for doc_id in holders:
                f = self.counts[doc_id][t]
                norm = self.k1 * (1.0 - self.b + self.b * self.lengths[doc_id] / avg)
                scores[doc_id] = scores.get(doc_id, 0.0) + idf * f * (self.k1 + 1.0) / (f + norm)
        order = {doc_id: i for i, doc_id in enumerate(self.counts)}
        return sorted(scores, key=lambda d: (-scores[d], order[d]))[:k]
