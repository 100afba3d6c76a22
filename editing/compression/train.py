"""Train the compression bank's compressor and aggregator on generated (document, question, answer) triples.

    python -m memkit.editing.compression.train --out ~/.cache/memkit/weights/compression-smollm2.safetensors

The base model stays frozen.  Each training batch is a bank of ``--bank`` documents about distinct people of the
``train`` split of :func:`memkit.editing.docfacts.doc_facts` (the benchmark asks about the disjoint ``test``
split); ``--questions`` of them are asked.  Loss: the answer's cross-entropy given the memory aggregated from the
batch's bank (the other documents are the distractors), plus ``--match-weight`` times the cross-entropy of
picking the question's own document by the matching keys (the self-matching, trained directly as well).

The frozen lower blocks' output for every batch is computed once, before the steps (:func:`memkit.hf.hooks.
starting_at`), so a step costs the blocks above the memory layer only.  Writes a safetensors file of the two
networks (load it with ``CompressionConfig(weights=FILE)``) and prints the loss curve.
"""

from __future__ import annotations

import argparse
import random
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from memkit.editing.compression.config import CompressionConfig
from memkit.editing.compression.model import SHAPE_FIELDS, CompressionBank
from memkit.editing.docfacts import DocFact, doc_facts
from memkit.hf.hooks import slot_mask, slots_at, starting_at, states_before
from memkit.progress import progress_bar

__all__ = ["train", "main", "DEFAULT_WEIGHTS"]

DEFAULT_WEIGHTS = "~/.cache/memkit/weights/compression-smollm2.safetensors"


@dataclass
class _Batch:
    doc_states: torch.Tensor
    doc_mask: torch.Tensor
    q_states: torch.Tensor
    q_mask: torch.Tensor
    ids: torch.Tensor
    attn: torch.Tensor
    lm_states: torch.Tensor
    keep: torch.Tensor  # positions whose logits predict a target token
    rows: torch.Tensor
    cols: torch.Tensor
    targets: torch.Tensor


def _batches(bank: CompressionBank, fact_sets: list[list[DocFact]], n: int, bank_size: int, questions: int,
             rng: random.Random) -> list[_Batch]:
    out = []
    with progress_bar("compression: reading the training batches", n) as bar:
        for _ in range(n):
            out.append(_batch(bank, rng.sample(rng.choice(fact_sets), bank_size), questions))  # one set: distinct people
            bar.advance()
    return out


def _batch(bank: CompressionBank, chosen: list[DocFact], questions: int) -> _Batch:
    docs = [bank.doc_ids(f.document) for f in chosen]
    asked = chosen[:questions]
    rows = [bank._row(f.prompt, f" {f.answer}.", bank.n_slots) for f in asked]  # the full stop: where to end
    ids, attn, labels = bank.collate([(head, target) for head, _, target in rows])
    keep, r, c, targets = bank.target_positions(labels)
    doc_states, doc_mask = bank.states(docs)
    q_states, q_mask = bank.states([q for _, q, _ in rows])
    with torch.no_grad():
        lm_states = states_before(bank.model, bank.layer_index, ids, attn)
    return _Batch(doc_states, doc_mask, q_states, q_mask, ids, attn, lm_states, keep, r, c, targets)


def _loss(bank: CompressionBank, b: _Batch, match_weight: float) -> tuple[torch.Tensor, float, float]:
    cfg = bank.config
    vectors, keys = bank.compressor(b.doc_states, b.doc_mask)
    q_vectors, q_keys = bank.compressor(b.q_states, b.q_mask)
    sims = q_keys @ keys.T  # (questions, bank); question i's own document is entry i
    top = sims.topk(min(cfg.top_k, keys.shape[0]), dim=-1)
    slots = bank.aggregator(q_vectors, vectors[top.indices], top.values / cfg.match_temperature)
    with starting_at(bank.model, bank.layer_index, b.lm_states), \
            slots_at(bank.model, bank.layer_index, slot_mask(b.attn, bank.n_slots), slots):
        logits = bank.model(input_ids=b.ids, attention_mask=b.attn, logits_to_keep=b.keep, use_cache=False).logits
    answer = F.cross_entropy(logits[b.rows, b.cols].float(), b.targets)
    own = torch.arange(sims.shape[0], device=sims.device)
    match = F.cross_entropy(sims / cfg.match_temperature, own)
    hit = float((sims.argmax(-1) == own).float().mean())
    return answer + match_weight * match, float(answer.detach()), hit


def train(bank: CompressionBank, *, steps: int = 240, batches: int = 80, bank_size: int = 32, questions: int = 8,
          lr: float = 1e-3, match_weight: float = 1.0, seed: int = 0, log_every: int = 25) -> list[dict[str, float]]:
    """Train ``bank``'s networks in place; returns the logged losses."""
    rng = random.Random(seed)
    fact_sets = [doc_facts(960, split="train", seed=seed + s) for s in range(4)]  # each person once per set
    params = [p for net in bank.networks().values() for p in net.parameters()]
    for p in params:
        p.requires_grad_(True)
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
    log: list[dict[str, float]] = []
    data = _batches(bank, fact_sets, batches, bank_size, questions, rng)
    with progress_bar("compression: training", steps) as bar:
        answer_sum = hit_sum = 0.0
        for step in range(1, steps + 1):
            loss, answer, hit = _loss(bank, data[(step - 1) % len(data)], match_weight)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            answer_sum, hit_sum = answer_sum + answer, hit_sum + hit
            if step % log_every == 0 or step == steps:
                n = log_every if step % log_every == 0 else step % log_every
                log.append({"step": step, "answer_loss": answer_sum / n, "match_accuracy": hit_sum / n})
                answer_sum = hit_sum = 0.0
                bar.update(description=f"compression: training (answer loss {log[-1]['answer_loss']:.3f}, "
                                       f"match {log[-1]['match_accuracy']:.2f})")
            bar.advance()
    for p in params:
        p.requires_grad_(False)
    return log


def save_weights(bank: CompressionBank, path: str | Path) -> Path:
    from safetensors.torch import save_file

    file = Path(path).expanduser()
    file.parent.mkdir(parents=True, exist_ok=True)
    tmp = file.with_name(file.name + ".tmp")
    save_file({k: v.detach().cpu().contiguous() for k, v in bank.weights().items()}, str(tmp),
              metadata={"memkit": "compression", "config": bank.config.model_dump_json(include=set(SHAPE_FIELDS)),
                        "base_model": bank.base_model})
    tmp.replace(file)
    return file


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m memkit.editing.compression.train", description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=DEFAULT_WEIGHTS, help="safetensors file to write (default: %(default)s)")
    parser.add_argument("--base-model", default=None, help="base model (default: the bundled SmolLM2-135M-Instruct)")
    parser.add_argument("--steps", type=int, default=240)
    parser.add_argument("--batches", type=int, default=80, help="distinct training batches (cycled)")
    parser.add_argument("--bank", type=int, default=32, help="documents in a batch's bank")
    parser.add_argument("--questions", type=int, default=8, help="questions asked per batch")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--match-weight", type=float, default=1.0)
    parser.add_argument("--layer-fraction", type=float, default=CompressionConfig().layer_fraction)
    parser.add_argument("--n-memory", type=int, default=CompressionConfig().n_memory)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: as it is)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--log-every", type=int, default=25)
    args = parser.parse_args(argv)
    from memkit.hf.runtime import torch_threads

    with torch_threads(args.threads):
        torch.manual_seed(args.seed)
        config = CompressionConfig(layer_fraction=args.layer_fraction, n_memory=args.n_memory, seed=args.seed)
        bank = CompressionBank(config, base_model=args.base_model, device="cpu")
        start = time.perf_counter()
        log = train(bank, steps=args.steps, batches=args.batches, bank_size=args.bank, questions=args.questions,
                    lr=args.lr, match_weight=args.match_weight, seed=args.seed, log_every=args.log_every)
        file = save_weights(bank, args.out)
    print(f"trained in {time.perf_counter() - start:.0f} s; wrote {file}")
    for row in log:
        print(f"step {row['step']:5d}  answer loss {row['answer_loss']:.3f}  match accuracy {row['match_accuracy']:.2f}")
    print(f"use it with CompressionConfig(weights={str(file)!r}, layer_fraction={args.layer_fraction}, "
          f"n_memory={args.n_memory})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
