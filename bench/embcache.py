"""An embedding cache for benchmarks: the same texts are embedded once per model, across runs.

Retrieval benchmarks on real chats embed about 90k turns; every variant that needs a fresh
store (a different note text, other link rules) would embed them again.  ``CachedEmbedder``
wraps memkit's embedder and keeps each vector in a SQLite file keyed by a hash of the text,
so a second run embeds only what is new.  The vectors are those of the wrapped embedder.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["CachedEmbedder", "default_cache_path"]


def default_cache_path(name: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    from memkit.bench.data import cache_root

    return cache_root() / "bench-embeddings" / f"{safe}.sqlite"


def _key(text: str) -> bytes:
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).digest()


class CachedEmbedder:
    """Any memkit embedder, with vectors kept on disk by text; same ``name`` and ``dim`` as the wrapped one."""

    def __init__(self, inner: Any, path: Path | None = None):
        self.inner = inner
        self.path = path or default_cache_path(inner.name)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.path), check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, vector BLOB NOT NULL)")
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dim(self) -> int:
        return self.inner.dim

    @property
    def loaded(self) -> bool:
        return True

    def _lookup(self, keys: list[bytes]) -> dict[bytes, np.ndarray]:
        out: dict[bytes, np.ndarray] = {}
        with self._lock:
            for s in range(0, len(keys), 500):
                chunk = keys[s : s + 500]
                marks = ",".join("?" * len(chunk))
                for k, v in self._db.execute(f"SELECT key, vector FROM vectors WHERE key IN ({marks})", chunk):
                    out[k] = np.frombuffer(v, dtype=np.float32)
        return out

    def embed(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        keys = [_key(t) for t in texts]
        found = self._lookup(list(dict.fromkeys(keys)))
        todo = list(dict.fromkeys(t for t, k in zip(texts, keys, strict=True) if k not in found))
        self.hits += len(texts) - len(todo)
        self.misses += len(todo)
        if todo:
            fresh = self.inner.embed(todo, batch_size=batch_size)
            rows = [(_key(t), fresh[i].astype(np.float32).tobytes()) for i, t in enumerate(todo)]
            with self._lock:
                self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)", rows)
                self._db.commit()
            found.update((k, np.frombuffer(v, dtype=np.float32)) for k, v in rows)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([found[k] for k in keys])

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()
