"""Readers: what turns a query plus context passages into an answer.

* :class:`HFReader`: a local Hugging Face causal LM (default: the bundled SmolLM2-135M-
  Instruct), run through memkit's Hugging Face runtime (:mod:`memkit.hf`).  Chooses by the
  log-probability of each option, scores targets teacher-forced, generates greedily or by
  seeded sampling, and reuses the key/value cache of a prompt prefix shared by a batch
  of queries (the excerpt of both SORT orders, the context of a retention round).
* :class:`LiteLLMReader`: any litellm model string; chooses by parsing the generated
  answer (no log-probs), cannot score targets.
* :class:`FunctionReader`: an LLM-free scorer a task provides.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from memkit.bench.protocols import Reader
from memkit.bench.records import Answer, Passage, Query, TargetResult
from memkit.errors import BenchError, LLMError, MissingDependencyError
from memkit.hf.runtime import CausalLM, chat_text, common_length, crop_cache, shared_causal_lm

__all__ = ["Reader", "HFReader", "LiteLLMReader", "FunctionReader", "render_user_text", "shared_hf_reader",
           "smollm2_reader", "hf_reader", "litellm_reader", "llm_free_reader"]


def render_user_text(query: Query, passages: Sequence[Passage]) -> str:
    """The user message: the context block (when there are passages) and the prompt."""
    if not passages:
        return query.prompt
    context = "\n\n".join(p.text for p in passages)
    return f"{query.context_header}\n{context}\n\n{query.prompt}"


# -- Hugging Face ----------------------------------------------------------------

_SHARED: dict[str, HFReader] = {}
_SHARED_LOCK = threading.Lock()


def shared_hf_reader(name_or_path: str | None = None) -> HFReader:
    """One loaded model per name in this process (systems of a run share it)."""
    key = name_or_path or "smollm2-135m-instruct"
    with _SHARED_LOCK:
        if key not in _SHARED:
            lm = shared_causal_lm(name_or_path)
            _SHARED[key] = HFReader(lm.model, lm.tokenizer, name=key)
        return _SHARED[key]


class HFReader:
    """A causal LM read through transformers; deterministic for a given query seed."""

    capabilities = frozenset({"choose", "generate", "score", "distributions"})

    def __init__(self, model: Any, tokenizer: Any, name: str = "hf"):
        self.model = model
        self.tokenizer = tokenizer
        self.name = name
        self.lm = CausalLM(model, tokenizer, name)
        self._stop_ids = {i for i in (tokenizer.eos_token_id, tokenizer.convert_tokens_to_ids("<|im_end|>")) if i is not None}
        self._stop_ids.discard(getattr(tokenizer, "unk_token_id", None))
        self._pieces: dict[int, str] = {}

    @classmethod
    def load(cls, name_or_path: str | None = None) -> HFReader:
        """A reader over its own copy of the model (:func:`shared_hf_reader` shares one)."""
        lm = CausalLM.load(name_or_path)
        return cls(lm.model, lm.tokenizer, name=name_or_path or "smollm2-135m-instruct")

    # -- rendering ----------------------------------------------------------------
    def prompt_text(self, query: Query, passages: Sequence[Passage]) -> str:
        user = render_user_text(query, passages)
        if query.chat and getattr(self.tokenizer, "chat_template", None):
            text = chat_text(self.tokenizer, [{"role": "user", "content": user}])
        else:
            text = user if not query.chat else f"{user}\n"
        return text + query.answer_prefix

    def _encode(self, text: str) -> list[int]:
        return self.lm.encode(text)

    # -- reading ------------------------------------------------------------------
    def read(self, items: Sequence[tuple[Query, Sequence[Passage]]]) -> list[Answer]:
        """Answer every item; prompts are visited in token order so that each reuses the key/value
        cache of the longest prefix it shares with the one before (an excerpt asked about twice,
        evidence lists that grow by one passage, a round of probes behind the same context)."""
        import torch

        if not items:
            return []
        prompts = [self._encode(self.prompt_text(q, p)) for q, p in items]
        for (q, _), ids in zip(items, prompts, strict=True):
            if not ids:
                raise BenchError(f"query {q.id!r} renders to an empty prompt")
        out: list[Answer | None] = [None] * len(items)
        cache: Any = None
        cached: list[int] = []
        with torch.inference_mode():
            for i in sorted(range(len(items)), key=lambda j: prompts[j]):
                ids = prompts[i]
                keep = min(common_length(cached, ids), len(ids) - 1)  # >= 1 token of its own for the logits
                if cache is None or keep < 16:
                    cache, keep = None, 0
                else:
                    crop_cache(cache, keep)
                cache, logits = self.lm.forward(ids[keep:], cache, last_only=True)
                cached = ids
                query, passages = items[i]
                out[i] = self._answer(query, passages, cache, logits)  # leaves the cache at the prompt's end
        return [a for a in out if a is not None]

    def _answer(self, query: Query, passages: Sequence[Passage], cache: Any, logits: Any) -> Answer:
        last = logits[-1]
        kept = list(passages)
        if query.mode == "choose":
            scores = []
            for opt in query.options or []:
                toks = self._encode(opt)
                if not toks:
                    raise BenchError(f"option {opt!r} of query {query.id!r} has no tokens")
                lps, _ = self.lm.continuation(cache, last, toks)
                scores.append(sum(lps))
            choice = max(range(len(scores)), key=scores.__getitem__)
            return Answer(query_id=query.id, system="", choice=choice, option_logprobs=scores, passages=kept)
        if query.mode == "score":
            results = []
            for target in query.targets or []:
                toks = self._encode(target)
                if not toks:
                    results.append(TargetResult(token_accuracy=0.0, log_prob=0.0, n_tokens=0))
                    continue
                lps, pred = self.lm.continuation(cache, last, toks)
                acc = sum(p == t for p, t in zip(pred, toks, strict=True)) / len(toks)
                results.append(TargetResult(token_accuracy=acc, log_prob=sum(lps), n_tokens=len(toks), predicted=pred))
            return Answer(query_id=query.id, system="", targets=results, passages=kept)
        texts, dists = self._decode(query, cache, last)
        answer = Answer(query_id=query.id, system="", texts=texts, passages=kept)
        if query.want_distributions:
            answer.distributions = dists
        return answer

    def _decode(self, query: Query, cache: Any, last_logits: Any) -> tuple[list[str], Any]:
        """All ``n_samples`` answers decoded together, as one batch over the shared prompt cache.

        Each sample draws from its own generator (seeded by the query seed, id and sample
        index); the cache is returned to its prompt-only state afterwards.  Also returns
        each sample's next-token distribution averaged over its steps (stop step included).
        """
        import torch

        from memkit.bench.task import stable_seed

        n = query.n_samples
        start = cache.get_seq_length()
        if n > 1:
            cache.batch_repeat_interleave(n)
        gens = [torch.Generator(device="cpu").manual_seed(stable_seed(query.seed, query.id, i)) for i in range(n)]
        tokens: list[list[int]] = [[] for _ in range(n)]
        done = [False] * n
        dist_sum = torch.zeros((n, last_logits.shape[-1]), dtype=torch.float64) if query.want_distributions else None
        steps = [0] * n
        logits = last_logits.unsqueeze(0).expand(n, -1)
        try:
            for _ in range(query.max_new_tokens):
                probs = torch.softmax(logits, dim=-1).cpu()
                feed = []
                for i in range(n):
                    if done[i]:
                        feed.append(self.tokenizer.pad_token_id or 0)
                        continue
                    if dist_sum is not None:
                        dist_sum[i] += probs[i].double()
                    steps[i] += 1
                    if query.temperature > 0:
                        sample_probs = torch.softmax(logits[i] / query.temperature, dim=-1).cpu()
                        nxt = int(torch.multinomial(sample_probs, 1, generator=gens[i]).item())
                    else:
                        nxt = int(logits[i].argmax().item())
                    if nxt in self._stop_ids or self._stops(nxt, tokens[i], query.stop):
                        done[i] = True
                    else:
                        tokens[i].append(nxt)
                    feed.append(nxt)
                if all(done):
                    break
                logits = self.lm.step(feed, cache)
        finally:
            crop_cache(cache, start)
            if n > 1:
                cache.batch_select_indices(torch.tensor([0]))
        texts = [self.tokenizer.decode(t, skip_special_tokens=True).strip() for t in tokens]
        if dist_sum is None:
            return texts, None
        return texts, (dist_sum / torch.tensor([max(1, k) for k in steps], dtype=torch.float64)[:, None]).numpy()

    def _stops(self, token: int, so_far: list[int], stop: Sequence[str]) -> bool:
        """Whether ``token`` holds a stop string and the answer before it has begun (is not blank)."""
        if not stop:
            return False
        piece = self._pieces.get(token)
        if piece is None:
            piece = self._pieces[token] = self.tokenizer.decode([token])
        if not any(s in piece for s in stop):
            return False
        return bool(self.tokenizer.decode(so_far, skip_special_tokens=True).strip()) if so_far else False


# -- litellm -----------------------------------------------------------------------


class LiteLLMReader:
    """Any litellm model; ``params`` go to ``litellm.completion`` as they are."""

    capabilities = frozenset({"choose", "generate"})

    def __init__(self, model: str, **params: Any):
        self.model = model
        self.params = params
        self.name = f"litellm:{model}"

    def _complete(self, text: str, *, temperature: float, max_tokens: int) -> str:
        try:
            import litellm
            import openai
        except ImportError as exc:
            raise MissingDependencyError("litellm", purpose="litellm readers") from exc
        try:
            resp = litellm.completion(
                model=self.model,
                messages=[{"role": "user", "content": text}],
                temperature=temperature,
                max_tokens=max_tokens,
                **self.params,
            )
        except openai.OpenAIError as exc:  # the base of every litellm provider error
            raise LLMError(f"{self.model}: {exc}") from exc
        return (resp.choices[0].message.content or "").strip()

    def read(self, items: Sequence[tuple[Query, Sequence[Passage]]]) -> list[Answer]:
        out = []
        for query, passages in items:
            user = render_user_text(query, passages)
            if query.mode == "score":
                raise BenchError(f"{self.name} cannot score targets (no log-probs); use a local reader")
            if query.mode == "choose":
                labels = [o.strip() for o in query.options or []]
                text = self._complete(
                    f"{user}\n\nReply with only one of: {', '.join(labels)}.\n{query.answer_prefix}",
                    temperature=0.0,
                    max_tokens=8,
                )
                choice = parse_choice(text, labels)
                out.append(
                    Answer(
                        query_id=query.id, system="", choice=choice, texts=[text], passages=list(passages),
                        meta={"parsed": choice is not None},
                    )
                )
                continue
            texts = [
                self._complete(user + ("\n" + query.answer_prefix if query.answer_prefix else ""),
                               temperature=query.temperature, max_tokens=query.max_new_tokens)
                for _ in range(query.n_samples)
            ]
            out.append(Answer(query_id=query.id, system="", texts=texts, passages=list(passages)))
        return out


def parse_choice(text: str, labels: Sequence[str]) -> int | None:
    """The option a free-text reply names: the label it starts with, else the only label it mentions."""
    clean = text.strip().strip("*\"'`().:").lower()
    for prefix in ("answer:", "segment", "option"):
        clean = clean.removeprefix(prefix).strip()
    lowered = [lab.lower() for lab in labels]
    for i, lab in enumerate(lowered):
        if clean == lab or clean.startswith(lab + " ") or clean.startswith(lab + ".") or clean.startswith(lab + ")"):
            return i
    words = set(clean.replace(".", " ").replace(",", " ").split())
    hits = [i for i, lab in enumerate(lowered) if lab in words]
    return hits[0] if len(hits) == 1 else None


# -- LLM-free --------------------------------------------------------------------


class FunctionReader:
    """An LLM-free reader: a task's function of the query and the retrieved passages."""

    def __init__(self, fn: Callable[[Query, Sequence[Passage]], Answer], name: str, capabilities: frozenset[str]):
        self.fn = fn
        self.name = name
        self.capabilities = capabilities

    def read(self, items: Sequence[tuple[Query, Sequence[Passage]]]) -> list[Answer]:
        return [self.fn(q, p) for q, p in items]



# -- the registered readers (memkit.registry.bench_readers): factories of (argument, task) ---------


def smollm2_reader(arg: str | None, task: Any) -> Reader:
    """``smollm2``: the bundled SmolLM2-135M-Instruct."""
    return shared_hf_reader(None)


def hf_reader(arg: str | None, task: Any) -> Reader:
    """``hf:<path>``: any Hugging Face causal LM folder (or ``.gguf`` file)."""
    return shared_hf_reader(arg)


def litellm_reader(arg: str | None, task: Any) -> Reader:
    """``litellm:<model>``: any litellm model string."""
    if not arg:
        raise BenchError("reader litellm needs a model: litellm:<model>")
    return LiteLLMReader(arg)


def llm_free_reader(arg: str | None, task: Any) -> Reader:
    """``none``: no language model; the task's own scorer answers from the retrieved passages."""
    if not task.spec.llm_free:
        raise BenchError(f"task {task.spec.name!r} needs a reader; reader=none is not allowed for it")
    return FunctionReader(task.llm_free_answer, name="llm-free", capabilities=frozenset(task.spec.needs))
