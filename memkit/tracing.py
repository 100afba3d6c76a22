"""A faster way to run a sentence-transformers model on CPU: its transformer traced once, batches in parallel.

``SentenceTransformer.encode`` runs the transformer op by op from Python, and splits each op
over torch's intra-op threads, which wait for each other after every op.  Beside other work
(``add_many`` builds, links and stores notes while the next texts are embedded) that costs
twice: every op needs the GIL, and a thread that loses its core stalls its partner.

Here the transformer is traced once with TorchScript, so a whole forward pass runs in C++
without the GIL, and whole length-sorted batches go to ``workers`` threads of one torch
thread each, which never wait for each other.  Tokenisation and the model's other modules
(pooling, normalisation, dense layers) are sentence-transformers' own, so the vectors are
those of ``encode``; the trace is checked against the eager model when it is built, and a
model it does not fit is run eagerly instead.

The transformer runs under ONNX Runtime when it can (``memkit.onnxrt``: a short text embeds
2–3× faster than under torch), else as the trace; either way it is a function of the input
tensors, and everything here is the same for both.

A call that fits in one batch (a query, ``add()`` of one note) also runs on threads of one
torch thread (``OneThreadWorkers``), split over them when it holds several texts: with two
intra-op threads, a tiny batch's ops are too short to share, and on a busy machine the
thread that loses its core stalls its partner at every op.
"""

from __future__ import annotations

import logging
import os
import threading
import warnings
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

if TYPE_CHECKING:
    import torch
    from sentence_transformers import SentenceTransformer

__all__ = ["OneThreadWorkers", "TracedEncoder", "trace_encoder"]

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")

_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# two texts of different lengths: the trace must see padding, or it would drop the attention mask
_EXAMPLE = ["memkit", "a padded batch shows the trace how the attention mask is used"]
_PROBE = ["a different batch", "of other lengths than the example, to check the trace", "third"]
_LONG = "Überlange Zeile, très long: " + "many words " * 400  # longer than the model reads
_TOLERANCE = 1e-4


class OneThreadWorkers:
    """``n`` threads of one torch intra-op thread each, started together on first use.

    Work handed to them never runs an OpenMP team, so it neither waits at a barrier for a thread
    that lost its core nor leaves threads spinning after it.  The caller's own torch setting, and
    the default that a new thread starts with, are left as they were.
    """

    def __init__(self, n: int, name: str):
        self.n = n
        self.name = name
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        _WORKERS.add(self)

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        pool = self._executor()
        if len(items) == 1:
            return [pool.submit(fn, items[0]).result()]
        return list(pool.map(fn, items))

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                import torch

                before = torch.get_num_threads()
                ready = threading.Barrier(self.n + 1)
                pool = ThreadPoolExecutor(self.n, thread_name_prefix=self.name, initializer=_one_torch_thread)
                for _ in range(self.n):  # start every thread now, so each runs the initializer
                    pool.submit(ready.wait, 60)
                ready.wait(60)
                # set_num_threads also changes the default a new thread starts with: restore it
                torch.set_num_threads(before)
                self._pool = pool
            return self._pool

    def _after_fork(self) -> None:
        """In a forked child the parent's threads do not exist, and a lock another thread held stays held."""
        self._pool = None
        self._lock = threading.Lock()


class TracedEncoder:
    """Embeds texts like ``model.encode(..., normalize_embeddings=True)``, faster and without the GIL."""

    def __init__(self, model: SentenceTransformer, forward: Callable[..., torch.Tensor], names: tuple[str, ...],
                 workers: int, runtime: str = "traced", lean: LeanEncoder | None = None):
        self.model = model
        self.forward = forward  # the transformer: input tensors -> last hidden state (a trace, or ONNX Runtime)
        self.names = names
        self.workers = workers
        self.runtime = runtime
        self.lean = lean  # the whole model in numpy, when it is a plain mean-pooled encoder under ONNX Runtime
        self._batch_workers = OneThreadWorkers(workers, "memkit-embed-worker")
        # apart from the batch workers, so that a query never queues behind another thread's add_many
        self._small_workers = OneThreadWorkers(workers, "memkit-embed-small")

    def _forward(self, texts: Sequence[str]) -> np.ndarray:
        if self.lean is not None:
            return self.lean(texts)
        import torch

        with torch.inference_mode():
            with _TOKENIZE:  # a fast tokenizer is not safe to call from two threads at once
                features = self.model.preprocess(list(texts))
            features["token_embeddings"] = self.forward(*(features[n] for n in self.names))
            for module in list(self.model)[1:]:
                features = module(features)
            out = torch.nn.functional.normalize(features["sentence_embedding"], p=2, dim=1)
            return out.numpy()

    def encode(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        order = np.argsort([-len(t) for t in texts], kind="stable")
        workers: OneThreadWorkers | None
        if len(texts) <= batch_size:  # one batch (a query, add() of a note): shared out over the small workers
            size, workers = -(-len(texts) // self.workers), self._small_workers
        else:  # batches to the workers; with one worker, in the caller's thread with its intra-op threads
            size, workers = batch_size, (self._batch_workers if self.workers > 1 else None)
        batches = [[texts[i] for i in order[s : s + size]] for s in range(0, len(texts), size)]
        parts = workers.map(self._forward, batches) if workers is not None else [self._forward(b) for b in batches]
        out = np.empty((len(texts), parts[0].shape[1]), dtype=np.float32)
        out[order] = np.concatenate(parts)
        return out


class LeanEncoder:
    """A plain text encoder (transformer, mean pooling, unit length) without torch: the model's own fast tokenizer,
    the transformer under ONNX Runtime on numpy arrays, the pooling in numpy.  For a query that saves about
    0.7 ms of Python a call (sentence-transformers' preprocessing and torch ops) beside the ~5 ms transformer,
    most of it holding the GIL that a busy daemon's other threads wait for.  ``trace_encoder`` checks it against
    the model before using it."""

    def __init__(self, tokenizer: Any, run: Callable[..., np.ndarray], names: tuple[str, ...], max_length: int):
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_str(tokenizer.to_str())  # a copy: its truncation set once, never padded
        self.tokenizer.enable_truncation(max_length)
        self.tokenizer.no_padding()
        self.run, self.names = run, names

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        with _TOKENIZE:
            encoded = [self.tokenizer.encode(t) for t in texts]
        ids = np.zeros((len(encoded), max(len(e.ids) for e in encoded)), dtype=np.int64)
        arrays = {"input_ids": ids, "attention_mask": np.zeros_like(ids), "token_type_ids": np.zeros_like(ids)}
        for i, e in enumerate(encoded):
            n = len(e.ids)
            ids[i, :n], arrays["attention_mask"][i, :n], arrays["token_type_ids"][i, :n] = e.ids, 1, e.type_ids
        hidden = self.run(*(arrays[n] for n in self.names))
        mask = arrays["attention_mask"][..., None].astype(np.float32)
        pooled = (hidden * mask).sum(1) / np.maximum(mask.sum(1), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)


def _same_tokens(lean: LeanEncoder, model: SentenceTransformer) -> bool:
    """The lean tokenizer cuts and marks a text as the model's preprocessing does (checked on one it must cut)."""
    mine = lean.tokenizer.encode(_LONG).ids
    theirs = model.preprocess([_LONG])["input_ids"][0].tolist()
    if mine != theirs:
        log.info("embedder: the lean tokenizer differs from the model's preprocessing; using the model's modules")
    return mine == theirs


def _lean(model: SentenceTransformer, forward: Callable[..., Any], names: tuple[str, ...]) -> LeanEncoder | None:
    """The lean encoder of a transformer + mean pooling (+ normalisation) model run by ONNX Runtime, or None."""
    first, rest = model[0], list(model)[1:]
    backend = getattr(getattr(first, "tokenizer", None), "backend_tokenizer", None)
    pooling = rest[0].get_config_dict() if rest and hasattr(rest[0], "get_config_dict") else {}
    plain = (
        getattr(forward, "run", None) is not None
        and backend is not None
        and not getattr(first, "do_lower_case", False)
        and type(rest[0]).__name__ == "Pooling" and pooling.get("pooling_mode") == "mean"
        and all(type(m).__name__ == "Normalize" for m in rest[1:])
    )
    return LeanEncoder(backend, forward.run, names, model.max_seq_length) if plain else None


_WORKERS: weakref.WeakSet[OneThreadWorkers] = weakref.WeakSet()
# Tokenising takes about a millisecond a batch: one lock for every encoder is simpler than one per tokenizer.
_TOKENIZE = threading.Lock()


def _after_fork_in_child() -> None:
    global _TOKENIZE
    _TOKENIZE = threading.Lock()
    workers = list(_WORKERS)
    for w in workers:
        w._after_fork()
    if workers:
        # torch's OpenMP threads were started in the parent and do not survive a fork: a parallel op in the
        # child would hang.  One thread per op is what torch's own DataLoader workers use.
        import torch

        torch.set_num_threads(1)


os.register_at_fork(after_in_child=_after_fork_in_child)


def _one_torch_thread() -> None:
    import torch

    torch.get_num_threads()  # a thread reads torch's default on first use: read it before changing it
    torch.set_num_threads(1)


def _names(features: dict[str, Any]) -> tuple[str, ...] | None:
    import torch

    tensors = {k for k, v in features.items() if isinstance(v, torch.Tensor)}
    if not tensors <= set(_INPUTS) or "input_ids" not in tensors:
        return None
    return tuple(n for n in _INPUTS if n in tensors)


def _supported(model: SentenceTransformer) -> bool:
    """A plain text encoder: a ``Transformer`` whose text forward gives the last hidden state, then
    modules that only read features (pooling, normalisation, dense layers)."""
    first = model[0]
    config = getattr(first, "modality_config", None) or {}
    text = config.get("text") if isinstance(config, dict) else None
    return (
        type(first).__name__ == "Transformer"
        and isinstance(text, dict)
        and text.get("method") == "forward"
        and text.get("method_output_name") == "last_hidden_state"
        and getattr(first, "module_output_name", None) == "token_embeddings"
        and hasattr(first, "model")
    )


def trace_encoder(model: SentenceTransformer, workers: int, onnx_source: str | None = None) -> TracedEncoder | None:
    """The traced encoder of ``model``, or None (with the reason logged) when it cannot be traced faithfully.

    ``onnx_source``: the model's folder; its transformer then runs under ONNX Runtime (``memkit.onnxrt``), and
    only when that cannot be made is it traced."""
    import torch

    if not _supported(model):
        log.info("embedder: %s is not a plain text transformer; running it eagerly", type(model[0]).__name__)
        return None
    hf = model[0].model

    with torch.inference_mode():
        features = model.preprocess(_EXAMPLE)
        names = _names(features)
        if names is None:
            log.info("embedder: the model takes inputs %s; running it eagerly", sorted(features))
            return None

        example = tuple(features[n] for n in names)
        forward: Callable[..., torch.Tensor] | None = None
        if onnx_source is not None:
            from memkit.onnxrt import onnx_forward

            forward = onnx_forward(hidden_module(hf, names), onnx_source, names, example)
        runtime = "onnx" if forward is not None else "traced"
        if forward is None:
            forward = _trace(hf, names, example)
        if forward is None:
            return None
        encoder = TracedEncoder(model, forward, names, workers, runtime, _lean(model, forward, names))
        want = model.encode(_PROBE, convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False)
        try:
            if encoder.lean is not None and not _same_tokens(encoder.lean, model):
                encoder.lean = None
            got = encoder.encode(_PROBE, batch_size=len(_PROBE))
            if encoder.lean is not None and float(np.abs(got - want).max()) > _TOLERANCE:
                log.info("embedder: the lean ONNX path differs from the model; using the model's modules")
                encoder.lean = None
                got = encoder.encode(_PROBE, batch_size=len(_PROBE))
        except (RuntimeError, TypeError, ValueError, KeyError) as exc:
            log.warning("embedder: the %s model failed its check (%s); running it eagerly", runtime, exc)
            return None
    err = float(np.abs(got - want).max())
    if err > _TOLERANCE:
        log.warning("embedder: the %s model differs from the eager one by %.2g; running it eagerly", runtime, err)
        return None
    return encoder


def hidden_module(hf: torch.nn.Module, names: tuple[str, ...]) -> torch.nn.Module:
    """``hf`` as a module of positional input tensors (``names``, in order) giving its last hidden state."""
    import torch

    class _Hidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.hf = hf

        def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
            return self.hf(**dict(zip(names, tensors, strict=True)), return_dict=False)[0]

    return _Hidden().eval()


def _trace(hf: torch.nn.Module, names: tuple[str, ...], example: tuple[torch.Tensor, ...]) -> torch.jit.ScriptModule | None:
    """``hf``'s last hidden state as a TorchScript trace, or None (reason logged)."""
    import torch

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer and deprecation notices; the caller's probe is the check
            return torch.jit.trace(hidden_module(hf, names), example, check_trace=False)
    except (RuntimeError, TypeError, ValueError, AttributeError) as exc:
        log.warning("embedder: the model could not be traced (%s); running it eagerly", exc)
        return None
