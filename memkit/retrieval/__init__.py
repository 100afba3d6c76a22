"""Hybrid retrieval in stages: read the query -> retrievers -> fusion -> adjusters -> diversity -> hydrate.

Each retriever ranks candidates under the same scope/metadata/validity filter, applied inside
the stores; graph expansion keeps only neighbours that pass the filter, so no other user's note
can leak in.  A hit carries each stage's raw score and rank.
"""

from memkit.retrieval.fusion import fuse, rrf
from memkit.retrieval.pipeline import hybrid_search

__all__ = ["hybrid_search", "fuse", "rrf"]
