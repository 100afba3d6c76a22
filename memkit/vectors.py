"""Brute-force cosine search: the one place that ranks rows of a matrix by similarity to query vectors.

Vectors are L2-normalised, so cosine similarity is a dot product.  Ties keep the rows' order
(as a stable sort would), whichever way the best ``k`` are found.
"""

from __future__ import annotations

import numpy as np

__all__ = ["top_k", "nearest_rows"]


def top_k(sims: np.ndarray, k: int) -> np.ndarray:
    """The positions of the ``k`` largest values of ``sims`` (1-D), best first; ties in position order.

    Exactly ``np.argsort(-sims, kind="stable")[:k]``, in linear time when ``k`` is small.
    """
    n = sims.shape[0]
    if k <= 0 or n == 0:
        return np.zeros(0, dtype=np.int64)
    if k >= n:
        return np.argsort(-sims, kind="stable")
    kth = np.partition(-sims, k - 1)[k - 1]
    cand = np.flatnonzero(-sims <= kth)  # every row as good as the k-th (ties included), in position order
    return cand[np.argsort(-sims[cand], kind="stable")][:k]


def nearest_rows(queries: np.ndarray, matrix: np.ndarray, k: int) -> list[list[tuple[int, float]]]:
    """For each query row, the ``k`` most similar rows of ``matrix``: (row, cosine similarity), best first."""
    queries = np.atleast_2d(np.asarray(queries, dtype=np.float32))
    if matrix.shape[0] == 0:
        return [[] for _ in queries]
    sims = queries @ matrix.T
    return [[(int(j), float(row[j])) for j in top_k(row, k)] for row in sims]
