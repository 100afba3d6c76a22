"""Running a Hugging Face causal LM: a key/value cache, scoring a continuation, generating, chat templates,
torch threads, and one loaded model per name per process.

The LLM builder's ``local/...`` provider (:mod:`memkit.llm.local`, :mod:`memkit.llm.constrained`), the
bench readers and the parametric back ends all run their models through :class:`CausalLM`.  torch and
transformers are imported on first use.
"""

from __future__ import annotations

import contextlib
import inspect
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from memkit.hf.load import DEFAULT_BASE_MODEL, load_base_model, resolve_device

__all__ = ["CausalLM", "shared_causal_lm", "torch_threads", "chat_prompt", "chat_text", "crop_cache",
           "common_length"]


def chat_text(tokenizer: Any, messages: Sequence[dict[str, str]]) -> str:
    """``messages`` in the tokenizer's chat template, ready for the assistant's reply."""
    return tokenizer.apply_chat_template(list(messages), add_generation_prompt=True, tokenize=False)


def chat_prompt(tokenizer: Any, user: str, system: str | None = None) -> str:
    """``user`` (and ``system``) in the tokenizer's chat template, ready for the assistant's reply.

    Tokenizers without a chat template get the plain text back (with the system text first).
    """
    if not getattr(tokenizer, "chat_template", None):
        return f"{system}\n\n{user}" if system else user
    return chat_text(tokenizer, ([{"role": "system", "content": system}] if system else [])
                     + [{"role": "user", "content": user}])


@contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Within the block, torch runs on ``n`` intra-op threads (None or 0: as it is); restored afterwards."""
    import torch

    before = torch.get_num_threads()
    if n and n != before:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if n and n != before:
            torch.set_num_threads(before)


def crop_cache(cache: Any, length: int) -> None:
    """Cut a key/value cache back to ``length`` tokens (a negative count works on every transformers version)."""
    extra = cache.get_seq_length() - length
    if extra > 0:
        cache.crop(-extra)


def common_length(a: Sequence[int], b: Sequence[int]) -> int:
    """How many leading tokens ``a`` and ``b`` share."""
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


class CausalLM:
    """A loaded causal LM and its tokenizer, with the calls memkit makes of it."""

    def __init__(self, model: Any, tokenizer: Any, name: str = "hf"):
        self.model = model
        self.tokenizer = tokenizer
        self.name = name
        params = inspect.signature(model.forward).parameters
        self.cache_kw = "cache" if "cache" in params else "past_key_values"
        # only the last position's logits are needed when reading a prompt (its logits are a fifth of its cost)
        self.keep_kw = next((k for k in ("logits_to_keep", "num_logits_to_keep") if k in params), None)
        self.lock = threading.Lock()  # held by callers that run the model step by step (one sequence at a time)

    @classmethod
    def load(cls, name_or_path: str | None = None, device: str | None = None, dtype: Any = None) -> CausalLM:
        """A new copy (see :func:`memkit.hf.load.load_base_model`); :func:`shared_causal_lm` reuses one."""
        model, tokenizer = load_base_model(name_or_path, device=device, dtype=dtype)
        return cls(model, tokenizer, name=str(name_or_path or DEFAULT_BASE_MODEL))

    def new_cache(self) -> Any:
        from transformers import DynamicCache

        return DynamicCache()

    def encode(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def chat_ids(self, messages: Sequence[dict[str, str]]) -> list[int]:
        """The token ids of ``messages`` in the chat template, ready for the assistant's reply."""
        enc = self.tokenizer.apply_chat_template(list(messages), add_generation_prompt=True, return_dict=True)
        return list(enc["input_ids"])

    # -- step by step, with a key/value cache ------------------------------------------
    def forward(self, ids: Sequence[int], cache: Any = None, *, last_only: bool = False) -> tuple[Any, Any]:
        """Run ``ids`` after what ``cache`` holds (a new cache when None); returns the cache (grown) and the
        logits of each position, ``(len(ids), vocab)`` as float (only the last one's with ``last_only``)."""
        import torch

        if cache is None:
            cache = self.new_cache()
        x = torch.tensor([list(ids)], dtype=torch.long, device=self.model.device)
        kwargs: dict[str, Any] = {self.cache_kw: cache}
        if last_only and self.keep_kw:
            kwargs[self.keep_kw] = 1
        out = self.model(input_ids=x, use_cache=True, **kwargs)
        if self.cache_kw == "past_key_values" and out.past_key_values is not None:
            cache = out.past_key_values
        return cache, out.logits[0].float()

    def step(self, feed: Sequence[int], cache: Any) -> Any:
        """One decoding step for rows sharing ``cache`` (one token each): the next-token logits, (rows, vocab)."""
        import torch

        ids = torch.tensor([[t] for t in feed], device=self.model.device)
        kwargs: dict[str, Any] = {self.cache_kw: cache}
        if self.keep_kw:
            kwargs[self.keep_kw] = 1
        return self.model(input_ids=ids, use_cache=True, **kwargs).logits[:, -1].float()

    def continuation(self, cache: Any, last_logits: Any, tokens: Sequence[int]) -> tuple[list[float], list[int]]:
        """Teacher-forced log-prob and argmax of each of ``tokens`` after the prompt in ``cache`` (whose last
        position's logits are ``last_logits``); the cache is cut back afterwards."""
        import torch

        start = cache.get_seq_length()
        logits = last_logits.unsqueeze(0)
        if len(tokens) > 1:
            _, more = self.forward(tokens[:-1], cache)
            logits = torch.cat([logits, more], dim=0)
            crop_cache(cache, start)
        logp = torch.log_softmax(logits, dim=-1)
        tok = torch.tensor(list(tokens), device=logp.device)
        return logp[torch.arange(len(tokens)), tok].tolist(), logp.argmax(dim=-1).tolist()

    # -- whole answers ---------------------------------------------------------------------
    def generate(self, prompts: Sequence[Sequence[int]], *, max_new_tokens: int, temperature: float = 0.0,
                 eos_token_id: int | None = None,
                 around: Callable[[Any], contextlib.AbstractContextManager[Any]] | None = None) -> list[list[int]]:
        """The new tokens after each prompt (a batch, left-padded): greedy, or sampled at ``temperature``.

        ``around(mask)`` is entered around the generation, with the prompts' tokens as a (rows, width) bool mask
        (a parametric memory routes by it)."""
        import torch

        tok = self.tokenizer
        pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        width = max(len(p) for p in prompts)
        dev = self.model.device
        ids = torch.tensor([[pad] * (width - len(p)) + list(p) for p in prompts], device=dev)
        attn = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts], device=dev)
        kwargs: dict[str, Any] = {"max_new_tokens": max_new_tokens, "pad_token_id": pad, "use_cache": True}
        if eos_token_id is not None:
            kwargs["eos_token_id"] = eos_token_id
        if temperature and temperature > 0:
            kwargs.update(do_sample=True, temperature=temperature)
        else:
            kwargs.update(do_sample=False)
        with torch.no_grad(), (around(attn.bool()) if around is not None else contextlib.nullcontext()):
            out = self.model.generate(input_ids=ids, attention_mask=attn, **kwargs)
        return [row[width:].tolist() for row in out]


    def beam_search(self, prompt: Sequence[int], *, allowed: Callable[[list[int]], list[int]], beams: int,
                    max_new_tokens: int, around: Callable[[Any], contextlib.AbstractContextManager[Any]] | None = None,
                    ) -> list[tuple[list[int], float]]:
        """The ``beams`` best continuations of one prompt, each token held to ``allowed(tokens so far)`` (a prefix
        trie), best first, with their summed log-probabilities."""
        import torch

        eos = self.tokenizer.eos_token_id
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else eos
        ids = torch.tensor([list(prompt)], device=self.model.device)
        attn = torch.ones_like(ids)
        width = ids.shape[1]

        def fn(_batch: int, sent: Any) -> list[int]:
            return allowed(sent[width:].tolist()) or [eos]

        with torch.no_grad(), (around(attn.bool()) if around is not None else contextlib.nullcontext()):
            out = self.model.generate(input_ids=ids, attention_mask=attn, num_beams=beams, num_return_sequences=beams,
                                      max_new_tokens=max_new_tokens, prefix_allowed_tokens_fn=fn, do_sample=False,
                                      length_penalty=0.0, early_stopping=True, eos_token_id=eos, pad_token_id=pad,
                                      output_scores=True, return_dict_in_generate=True)
        found = []
        for seq, score in zip(out.sequences[:, width:].tolist(), out.sequences_scores.tolist(), strict=True):
            found.append((seq[: seq.index(eos) + 1] if eos in seq else seq, float(score)))
        return found


_SHARED: dict[tuple[str, str], CausalLM] = {}
_SHARED_LOCK = threading.Lock()


def shared_causal_lm(name_or_path: str | None = None, device: str | None = None) -> CausalLM:
    """One loaded model per name and device in this process, for callers that only read with it (the
    ``local/...`` provider, bench readers).  A parametric memory edits weights: it loads its own copy."""
    name = DEFAULT_BASE_MODEL if name_or_path in (None, "smollm2", "default") else str(name_or_path)
    key = (name, resolve_device(device))
    with _SHARED_LOCK:
        if key not in _SHARED:
            _SHARED[key] = CausalLM.load(None if name == DEFAULT_BASE_MODEL else name, device=key[1])
        return _SHARED[key]
