"""Self-supervised training of the Generative Adapter's generator, the LM frozen.

    python -m memkit.editing.adapter.train --out ~/.cache/memkit/weights/adapter-smollm2.safetensors \
        --data facts --steps 300 --max-docs 16 --lr 3e-3      # the shipped generator, ~5 min on one CPU thread

Tasks (the paper's reconstruction and completion, plus the use memkit benchmarks):

- ``booksort``: windows of the BookSORT books (``<data-dir>/booksort/full_text/*.txt``, read in place):
  reconstruction (context = a window, target = the same window after a fixed cue) and completion (context = the
  first part of a window, target = the rest);
- ``facts``: generated documents of :func:`memkit.editing.docfacts.doc_facts` (``train`` split): each question
  gets an adapter of its own document and ``k - 1`` others (``k`` grows from 1 to ``--max-docs`` over the first
  ``--ramp`` of the steps), and the target is its answer asked without the documents (``fact.prompt``).  The frozen
  LM's reading of the documents and the questions' states below the lowest adapted block are computed once; a step
  runs the blocks from there up and the LM head at the answer positions only (OneCycle learning rate).
- ``mix``: both, alternating at random.

Every step writes a context with gradients (:meth:`GenerativeAdapter.state_from`) and takes
:meth:`DocumentMemory.loss` within :meth:`GenerativeAdapter.using`.  The generator is written to ``--out``
(safetensors), which ``AdapterConfig(weights=...)`` loads.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F

from memkit.editing.adapter.config import AdapterConfig
from memkit.editing.adapter.model import Context, GenerativeAdapter, read_weights
from memkit.editing.docfacts import DocFact, doc_facts
from memkit.errors import ConfigError
from memkit.hf.hooks import starting_at, states_before
from memkit.progress import progress_bar

__all__ = ["main", "default_data_dir", "FactsTask", "BookTask", "evaluate_facts", "trained_config"]

CUE = "Recall the passage:"
CONTINUE = "Continue the passage:"


def default_data_dir() -> Path:
    """``$MEMKIT_DATA_DIR`` or ``../shared/data`` next to the source checkout (as the benchmarks find it)."""
    env = os.environ.get("MEMKIT_DATA_DIR")
    return Path(env).expanduser() if env else Path(__file__).resolve().parents[2].parent / "shared" / "data"


class FactsTask:
    """Per question, an adapter generated from its own document and ``k - 1`` other people's (the distractors);
    answer the question without the documents.  ``k`` grows from 1 to ``max_docs`` over the first ``ramp`` of
    the steps (a curriculum: first learn to read one document, then to pick it out of several).

    Fast: the frozen LM's reading of every training document, and the hidden states entering the lowest adapted
    block for every question (with its answer, teacher-forced), are computed once; a step runs only the blocks
    from there up, and the LM head only at the answer positions."""

    def __init__(self, memory: GenerativeAdapter, *, pools: int, max_docs: int, queries: int, progress: bool,
                 steps: int = 1, ramp: float = 0.0) -> None:
        self.memory, self.max_docs, self.queries = memory, max_docs, queries
        self.steps, self.ramp, self.step = steps, ramp, 0
        self.start = min(memory.layers)
        self.facts: list[DocFact] = []
        parts: list[Context] = []
        self.rows: list[tuple[list[int], list[int]]] = []
        self.lm_states: list[torch.Tensor] = []
        texts = [f for seed in range(pools) for f in doc_facts(960, split="train", seed=seed)]
        with progress_bar("adapter: reading training documents", len(texts), progress) as bar:
            for lo in range(0, len(texts), 64):
                chunk = texts[lo : lo + 64]
                ctx = memory.encode([f.document for f in chunk])
                parts.append(Context([s.half() for s in ctx.states], ctx.mask))
                rows = [memory._row(f.prompt, f.answer, 0) for f in chunk]
                rows = [(head, target) for head, _, target in rows]
                ids, attn, _ = memory.collate(rows)
                with torch.no_grad():
                    before = states_before(memory.model, self.start, ids, attn)
                for j, (head, target) in enumerate(rows):
                    self.lm_states.append(before[j, : len(head) + len(target)].clone())
                self.rows += rows
                self.facts += chunk
                bar.advance(len(chunk))
        width = max(p.mask.shape[1] for p in parts)
        self.states = [torch.cat([_pad(p.states[i], width) for p in parts]) for i in range(len(memory.readers))]
        self.mask = torch.cat([_pad(p.mask, width) for p in parts])

    def k_now(self) -> int:
        if self.ramp <= 0:
            return self.max_docs
        frac = min(1.0, self.step / max(1.0, self.ramp * self.steps))
        return max(1, min(self.max_docs, 1 + int(frac * self.max_docs)))

    def loss(self, rng: random.Random) -> torch.Tensor:
        memory = self.memory
        pool = rng.randrange(len(self.facts) // 960)
        k = rng.randint(1, self.k_now())
        self.step += 1
        bank = [pool * 960 + i for i in rng.sample(range(960), max(k, self.queries) + k)]
        asked = bank[: self.queries]
        sel = torch.tensor(bank)
        groups = []
        for q in range(len(asked)):  # its own document and k - 1 others of the bank
            others = [j for j in rng.sample(range(len(bank)), k) if j != q][: k - 1]
            groups.append([q] + others)
        ctx = Context([s[sel] for s in self.states], self.mask[sel])
        state = memory.state_from(ctx, groups)
        rows = [self.rows[i] for i in asked]
        ids, attn, labels = memory.collate(rows)
        keep, r, c, targets = memory.target_positions(labels)
        lm = torch.zeros(len(rows), ids.shape[1], self.lm_states[0].shape[-1], dtype=self.lm_states[0].dtype)
        for j, i in enumerate(asked):
            lm[j, : self.lm_states[i].shape[0]] = self.lm_states[i]
        with memory.using(state), starting_at(memory.model, self.start, lm.to(memory.device)), \
                memory._in_use([h for h, _ in rows], attn, 0):
            logits = memory.model(input_ids=ids, attention_mask=attn, logits_to_keep=keep, use_cache=False).logits
        return F.cross_entropy(logits[r, c].float(), targets)


class BookTask:
    """Reconstruction and completion of windows of the BookSORT books."""

    def __init__(self, memory: GenerativeAdapter, data_dir: Path, *, window: int, batch: int) -> None:
        folder = data_dir / "booksort" / "full_text"
        files = sorted(folder.glob("*.txt"))
        if not files:
            raise ConfigError(f"no books at {folder}; pass --data-dir (or set $MEMKIT_DATA_DIR), or use --data facts")
        self.memory, self.window, self.batch = memory, window, batch
        self.books = [f.read_text(encoding="utf-8", errors="replace") for f in files]

    def _window(self, rng: random.Random) -> list[int]:
        book = rng.choice(self.books)
        start = rng.randrange(max(1, len(book) - 8 * self.window))
        ids = self.memory.tokenizer(book[start : start + 8 * self.window], add_special_tokens=False)["input_ids"]
        return list(ids[1 : 1 + self.window])  # drop the first, likely cut, token

    def loss(self, rng: random.Random) -> torch.Tensor:
        decode = self.memory.tokenizer.decode
        contexts, prompts, targets = [], [], []
        for _ in range(self.batch):
            ids = self._window(rng)
            if rng.random() < 0.5:  # reconstruction
                contexts.append(decode(ids))
                prompts.append(CUE)
                targets.append(decode(ids[: self.window // 2]))
            else:  # completion
                cut = len(ids) // 2
                contexts.append(decode(ids[:cut]))
                prompts.append(CONTINUE)
                targets.append(decode(ids[cut:]))
        state = self.memory.train_state([[c] for c in contexts])
        with self.memory.using(state):
            return self.memory.loss(prompts, [t if t.strip() else "." for t in targets])


def _pad(t: torch.Tensor, width: int) -> torch.Tensor:
    if t.shape[1] == width:
        return t
    shape = list(t.shape)
    shape[1] = width - t.shape[1]
    return torch.cat([t, torch.zeros(shape, dtype=t.dtype)], dim=1)


@torch.no_grad()
def evaluate_facts(memory: GenerativeAdapter, n: int, *, split: str = "test") -> dict[str, float]:
    """Exact match (the answer starts the generated text) on ``n`` facts, all their documents written at once,
    with the memory in use and disabled, and with ``n`` other people's documents written instead (what the
    adapter gets from knowing the kind of answer, not from reading it)."""
    both = doc_facts(2 * n, split=split)
    facts, others = both[:n], both[n:]
    prompts = [f.prompt for f in facts]

    def em(answers: Sequence[str]) -> float:
        return sum(a.strip().lower().startswith(f.answer.lower()) for a, f in zip(answers, facts, strict=True)) / n

    memory.forget(list(memory.docs))
    memory.write([{"id": f.id, "text": f.document} for f in others])
    other = em(memory.generate(prompts, max_new_tokens=6))
    memory.forget(list(memory.docs))
    memory.write([{"id": f.id, "text": f.document} for f in facts])
    on = em(memory.generate(prompts, max_new_tokens=6))
    with memory.disabled():
        off = em(memory.generate(prompts, max_new_tokens=6))
    memory.forget(list(memory.docs))
    return {"em": on, "em_disabled": off, "em_other_docs": other}


def trained_config(path: str | Path) -> AdapterConfig:
    """The configuration a generator file was trained with (rank, layers, module, context), loading it."""
    _, meta = read_weights(path)
    keys = ("rank", "layers", "module", "context", "key_shift", "center", "keys")
    return AdapterConfig(weights=str(path), **{k: meta[k] for k in keys if k in meta})


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    p = argparse.ArgumentParser(prog="python -m memkit.editing.adapter.train", description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True, help="safetensors file to write the generator to")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--base-model", default=None, help="Hugging Face folder or .gguf (default SmolLM2-135M-Instruct)")
    p.add_argument("--data", choices=("facts", "booksort", "mix"), default="mix")
    p.add_argument("--data-dir", type=Path, default=None, help="shared data root (default: $MEMKIT_DATA_DIR or ../shared/data)")
    p.add_argument("--rank", type=int, default=64)
    p.add_argument("--layers", type=int, nargs="+", default=None)
    p.add_argument("--module", default="mlp.down_proj")
    p.add_argument("--context", choices=("linear_input", "block_input"), default="linear_input")
    p.add_argument("--key-shift", type=int, default=AdapterConfig().key_shift)
    p.add_argument("--keys", choices=("token", "prefix"), default=AdapterConfig().keys)
    p.add_argument("--center", choices=("none", "document"), default=AdapterConfig().center)
    p.add_argument("--ramp", type=float, default=0.5, help="facts: share of the steps over which the documents per "
                   "adapter grow from 1 to --max-docs (0: no curriculum)")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--max-docs", type=int, default=64, help="facts: at most this many documents per adapter")
    p.add_argument("--queries", type=int, default=8, help="facts: questions asked per step")
    p.add_argument("--pools", type=int, default=1, help="facts: sets of 960 training facts (seeds) to cache")
    p.add_argument("--window", type=int, default=48, help="booksort: tokens per window")
    p.add_argument("--batch", type=int, default=4, help="booksort: windows per step")
    p.add_argument("--facts-share", type=float, default=0.5, help="mix: share of steps on facts")
    p.add_argument("--eval", type=int, default=50, help="facts of the test split to measure on at the end (0: none)")
    p.add_argument("--init", default=None, help="start from this generator file (its rank, layers, ... are kept)")
    p.add_argument("--eval-only", action="store_true", help="measure the generator at --out, do not train")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    if args.steps < 3:  # the one-cycle schedule needs a step to warm up and one to cool down
        p.error("--steps must be at least 3")

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    progress = not args.no_progress
    if args.eval_only:
        memory = GenerativeAdapter(trained_config(args.out), base_model=args.base_model)
        scores = evaluate_facts(memory, args.eval)
        print(f"{args.eval} test facts: {scores}")
        return scores
    if args.init:  # go on training a generator file, with its configuration
        cfg = trained_config(args.init).model_copy(update={"seed": args.seed})
    else:
        cfg = AdapterConfig(rank=args.rank, layers=args.layers, module=args.module, context=args.context,
                            key_shift=args.key_shift, center=args.center, keys=args.keys, seed=args.seed)
    memory = GenerativeAdapter(cfg, base_model=args.base_model)
    facts = FactsTask(memory, pools=args.pools, max_docs=args.max_docs, queries=args.queries, progress=progress,
                      steps=args.steps, ramp=args.ramp) \
        if args.data in ("facts", "mix") else None
    books = BookTask(memory, args.data_dir or default_data_dir(), window=args.window, batch=args.batch) \
        if args.data in ("booksort", "mix") else None

    opt = torch.optim.Adam(memory.generator.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=args.steps,
                                                pct_start=min(0.5, args.warmup / max(1, args.steps)))
    ema: dict[str, float] = {}
    start = time.perf_counter()
    with progress_bar("adapter: training", args.steps, progress) as bar:
        for step in range(args.steps):
            use_facts = books is None or (facts is not None and rng.random() < args.facts_share)
            kind = "facts" if use_facts else "books"
            loss = (facts if use_facts else books).loss(rng)  # type: ignore[union-attr]
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(memory.generator.parameters(), 1.0)
            opt.step()
            sched.step()
            ema[kind] = loss.item() if kind not in ema else 0.9 * ema[kind] + 0.1 * loss.item()
            info = " ".join(f"{k} {v:.3f}" for k, v in sorted(ema.items()))
            bar.update(description=f"adapter: training ({info})")
            bar.advance()
            if not progress and (step % 25 == 0 or step == args.steps - 1):
                print(f"step {step} {info} {time.perf_counter() - start:.0f}s", flush=True)
    seconds = time.perf_counter() - start
    result = {f"loss_{k}": round(v, 4) for k, v in ema.items()} | {"train_seconds": round(seconds, 1)}
    out = memory.save_weights(args.out, steps=args.steps, data=args.data, init=args.init, **result)
    print(f"wrote {out}: {result}")
    if args.eval:
        memory.config.weights = str(out)
        scores = evaluate_facts(memory, args.eval)
        print(f"{args.eval} test facts, all documents written: exact match {scores['em']:.2f} with the memory, "
              f"{scores['em_disabled']:.2f} disabled, {scores['em_other_docs']:.2f} with other people's documents")
        result |= scores
    return result


if __name__ == "__main__":
    main()
