"""Docids for the DSI++ index: the token sequences a note is named by, and the prefix trie decoding is held to.

- ``atomic``: one vocabulary token per note, taken in order from a fixed pool of the tokenizer's own word tokens
  (no new embeddings; a token is never given to a second note, even after the first is forgotten);
- ``naive``: the note's arrival number, written in digits;
- ``semantic``: DSI's semantically structured ids: the note's path in a hierarchical k-means of the sentence
  embeddings of the first write's notes (``branching`` clusters per level, until a cluster holds at most
  ``leaf_size``), then its position in the leaf.  Later notes descend the same tree to the nearest leaf and take
  its next free position, so no earlier note's id ever changes (as DSI++ requires).

Every docid ends with the end-of-text token, so the trie knows where an id is complete.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["Trie", "DocidScheme", "kmeans"]


class Trie:
    """A prefix trie of token sequences."""

    def __init__(self) -> None:
        self.root: dict[int, Any] = {}
        self.size = 0

    def add(self, seq: Sequence[int]) -> None:
        node = self.root
        for t in seq:
            node = node.setdefault(int(t), {})
        self.size += 1

    def remove(self, seq: Sequence[int]) -> None:
        path = []
        node = self.root
        for t in seq:
            if t not in node:
                return
            path.append((node, int(t)))
            node = node[t]
        for parent, t in reversed(path):  # prune the branches nothing else passes through
            if parent[t]:
                break
            del parent[t]
        self.size -= 1

    def next(self, prefix: Sequence[int]) -> list[int]:
        """The tokens that may follow ``prefix`` (empty when ``prefix`` leaves the trie)."""
        node = self.root
        for t in prefix:
            node = node.get(int(t))
            if node is None:
                return []
        return list(node)

    def __contains__(self, seq: Sequence[int]) -> bool:
        node = self.root
        for t in seq:
            node = node.get(int(t))
            if node is None:
                return False
        return not node


def kmeans(x: np.ndarray, k: int, seed: int, iters: int = 25) -> tuple[np.ndarray, np.ndarray]:
    """(centroids ``(k, dim)``, label of each row) by k-means++ and Lloyd's iterations."""
    rng = np.random.default_rng(seed)
    centroids = [x[rng.integers(len(x))]]
    for _ in range(1, k):
        d = np.min(((x[:, None, :] - np.array(centroids)[None]) ** 2).sum(-1), axis=1)
        centroids.append(x[rng.choice(len(x), p=d / d.sum())] if d.sum() > 0 else x[rng.integers(len(x))])
    c = np.array(centroids)
    labels = np.zeros(len(x), dtype=int)
    for _ in range(iters):
        labels = ((x[:, None, :] - c[None]) ** 2).sum(-1).argmin(1)
        new = np.array([x[labels == j].mean(0) if (labels == j).any() else c[j] for j in range(k)])
        if np.allclose(new, c):
            break
        c = new
    return c, labels


class DocidScheme:
    """Gives each new note a docid string of the configured kind, and keeps what it needs to go on doing so."""

    def __init__(self, kind: str, tokenizer: Any, *, branching: int = 10, leaf_size: int = 10, seed: int = 0) -> None:
        self.kind, self.tokenizer = kind, tokenizer
        self.branching, self.leaf_size, self.seed = branching, leaf_size, seed
        self.issued = 0  # docids given out so far (atomic and naive never reuse one)
        self.tree: dict[str, Any] = {}  # semantic: path "3-1" -> {"centroids": [[...]], } or {"next": n} at a leaf
        self._pool: list[int] | None = None

    # -- token sequences ------------------------------------------------------------------------
    def tokens(self, docid: str) -> list[int]:
        eos = self.tokenizer.eos_token_id
        if self.kind == "atomic":
            return [int(docid), eos]
        return list(self.tokenizer(" " + docid, add_special_tokens=False)["input_ids"]) + [eos]

    def text(self, docid: str) -> str:
        return self.tokenizer.decode([int(docid)]) if self.kind == "atomic" else docid

    def pool(self) -> list[int]:
        """The atomic scheme's tokens: the tokenizer's word tokens (a space, then 3+ letters), in id order."""
        if self._pool is None:
            vocab = self.tokenizer.get_vocab()
            words = []
            for tok, i in sorted(vocab.items(), key=lambda kv: kv[1]):
                text = self.tokenizer.convert_tokens_to_string([tok])
                if text.startswith(" ") and text[1:].isalpha() and len(text) >= 4:
                    words.append(i)
            self._pool = words
        return self._pool

    # -- assignment -------------------------------------------------------------------------------
    def assign(self, n: int, embeddings: np.ndarray | None = None) -> list[str]:
        """Docids for ``n`` new notes (``embeddings``, one row per note, for the semantic scheme)."""
        from memkit.errors import EditingError

        if self.kind == "atomic":
            pool = self.pool()
            if self.issued + n > len(pool):
                raise EditingError(f"atomic docids: the tokenizer has {len(pool)} word tokens and "
                                   f"{self.issued + n} notes need one each; use naive or semantic docids")
            out = [str(pool[i]) for i in range(self.issued, self.issued + n)]
        elif self.kind == "naive":
            out = [str(i) for i in range(self.issued, self.issued + n)]
        else:
            if embeddings is None or len(embeddings) != n:
                raise EditingError("semantic docids need one embedding per note")
            out = self._semantic(np.asarray(embeddings, dtype=np.float64))
        self.issued += n
        return out

    def _semantic(self, x: np.ndarray) -> list[str]:
        out = [""] * len(x)
        if not self.tree:
            self._split("", x, np.arange(len(x)), out)
            return out
        for i, row in enumerate(x):
            path = ""
            while "centroids" in self.tree[path]:
                c = np.asarray(self.tree[path]["centroids"])
                child = str(int(((c - row) ** 2).sum(-1).argmin()))
                path = f"{path}-{child}" if path else child
            leaf = self.tree[path]
            out[i] = f"{path}-{leaf['next']}" if path else str(leaf["next"])
            leaf["next"] += 1
        return out

    def _split(self, path: str, x: np.ndarray, rows: np.ndarray, out: list[str]) -> None:
        if len(rows) <= self.leaf_size:
            for j, r in enumerate(rows):
                out[r] = f"{path}-{j}" if path else str(j)
            self.tree[path] = {"next": len(rows)}
            return
        k = min(self.branching, len(rows))
        centroids, labels = kmeans(x[rows], k, seed=self.seed + len(self.tree))
        if len(set(labels.tolist())) == 1:  # identical embeddings: no split possible
            labels = np.arange(len(rows)) % k
        self.tree[path] = {"centroids": centroids.round(6).tolist()}
        for j in range(k):
            child = f"{path}-{j}" if path else str(j)
            self._split(child, x, rows[labels == j], out)

    # -- saving ---------------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {"kind": self.kind, "issued": self.issued, "tree": self.tree}

    def restore(self, state: dict[str, Any]) -> None:
        self.issued, self.tree = int(state["issued"]), dict(state["tree"])
