"""A sentence-transformers model's transformer run by ONNX Runtime: exported once, cached, no torch per op.

For a short text (a query: 10–50 tokens) most of a torch forward pass is per-op overhead, not
arithmetic: the bundled MiniLM embeds a LongMemEval question in 16 ms (p50) on one torch
thread, traced or eager, and in 6.5 ms under ONNX Runtime, whose graph fuses attention,
GELU and layer norm.  Long texts (a 256-token note) cost the same in both.  So on CPU the
transformer runs here by default (``embedder.onnx``) and the rest of the model (pooling,
normalisation, dense layers) stays sentence-transformers' own.

The graph is exported with ``torch.onnx`` the first time a model is used and kept in
memkit's cache (``models/onnx/<name>-<fingerprint>.onnx``, written atomically); the
fingerprint covers the model's files, torch's version and the opset, so a changed model is
exported again.  A session runs with one intra-op thread and is shared by the embedding
workers: ``run`` releases the GIL and may be called from several threads at once.  Both
``onnx`` (for the export) and ``onnxruntime`` are needed; without either the caller falls
back to the TorchScript trace, with the reason logged.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import tempfile
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

__all__ = ["onnx_forward", "onnx_path"]

log = logging.getLogger(__name__)

_OPSET = 17
_EXPORT_VERSION = 1  # bump when the export itself changes


def _available() -> str | None:
    """None when ONNX Runtime can be used, else what is missing."""
    for package in ("onnx", "onnxruntime"):
        if importlib.util.find_spec(package) is None:
            return f"the {package} package is not installed"
    return None


def onnx_path(source: str) -> Path:
    """Where the export of the model at ``source`` is cached: a name and a fingerprint of its files."""
    import torch

    from memkit.hf.load import cache_dir

    root = Path(source)
    parts = [f"v{_EXPORT_VERSION}", f"opset{_OPSET}", torch.__version__, str(root.resolve())]
    files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else []
    parts += [f"{p.relative_to(root)}:{p.stat().st_size}:{int(p.stat().st_mtime)}" for p in files]
    digest = hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]
    return cache_dir() / "models" / "onnx" / f"{root.name or 'model'}-{digest}.onnx"


def _export(hidden: torch.nn.Module, names: tuple[str, ...], example: Sequence[torch.Tensor], target: Path) -> None:
    """``hidden`` (input tensors -> last hidden state) as an ONNX graph with dynamic batch and length, written
    atomically."""
    import torch

    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".onnx", dir=target.parent)
    os.close(fd)
    try:
        axes = {n: {0: "batch", 1: "tokens"} for n in (*names, "hidden")}
        with warnings.catch_warnings(), torch.inference_mode():
            warnings.simplefilter("ignore")  # exporter notices; the caller checks the result against the model
            torch.onnx.export(hidden, tuple(example), tmp, input_names=list(names), output_names=["hidden"],
                              dynamic_axes=axes, opset_version=_OPSET, dynamo=False)
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)


def onnx_forward(hidden: torch.nn.Module, source: str, names: tuple[str, ...],
                 example: Sequence[torch.Tensor]) -> Callable[..., torch.Tensor] | None:
    """A callable like ``hidden`` (the ``names`` input tensors, in order -> the last hidden state), run by ONNX
    Runtime, with ``.run`` doing the same on numpy arrays; None (reason logged) when it cannot be made.  ``source``: the model's folder (the cache key);
    ``example``: inputs for the export."""
    if (missing := _available()) is not None:
        log.info("embedder: %s; using the TorchScript trace", missing)
        return None
    import numpy as np
    import onnxruntime as ort
    import torch
    from onnxruntime.capi import onnxruntime_pybind11_state as state

    errors = (RuntimeError, ValueError, TypeError, OSError, state.Fail, state.InvalidArgument, state.NoSuchFile,
              state.InvalidProtobuf, state.InvalidGraph, state.RuntimeException)
    path = onnx_path(source)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1  # each embedding worker is one thread: no pool to wait on or to spin
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3

    def run(*arrays: np.ndarray) -> np.ndarray:
        return session.run(None, {n: a.astype(np.int64, copy=False) for n, a in zip(names, arrays, strict=True)})[0]

    def forward(*tensors: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(run(*(t.numpy() for t in tensors)))

    forward.run = run  # type: ignore[attr-defined]  # the same on numpy arrays, no torch (memkit.tracing's lean path)

    for attempt in (1, 2):  # a cached file that does not load (cut short, another version's) is exported again
        try:
            if not path.is_file():
                _export(hidden, names, example, path)
            session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            forward(*example)
            return forward
        except errors as exc:
            if attempt == 1 and path.is_file():
                log.info("embedder: the cached ONNX export %s does not run (%s); exporting it again", path, exc)
                path.unlink(missing_ok=True)
                continue
            log.warning("embedder: the model could not be run by ONNX Runtime (%s); using the TorchScript trace", exc)
            return None
    return None
