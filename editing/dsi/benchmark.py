"""DSI++ continual indexing: learning and forgetting as batches of notes arrive, against memkit's hybrid search.

    python -m memkit.editing.dsi.benchmark [--notes 20] [--batches 4] [--variants replay+sam replay sam plain]
                                           [--docids semantic] [--out DIR]

The notes are generated documents about fictional people (:func:`memkit.editing.docfacts.doc_facts`, ``test``
split); each note's held-apart query is its question ("Where does Thea Vance live?"), which no variant ever trains
on (DSI trains on the note text and random spans of it).  Batch 0 is indexed first; after it and after each
further batch, Hits@1 and Hits@10 are measured on batch 0's queries (forgetting) and on the newest batch's
queries (learning).  The same notes and queries go into a default memkit ``Memory`` (hybrid search, the bundled
MiniLM) for comparison.  Prints a table and writes ``results.json`` (and ``results.png``) under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["main", "hits"]

VARIANTS = {"replay+sam": (True, True), "replay": (True, False), "sam": (False, True), "plain": (False, False)}


def hits(ranked: list[list[str]], gold: list[str], k: int) -> float:
    """Share of queries whose gold note is among the first ``k`` returned."""
    return sum(g in r[:k] for r, g in zip(ranked, gold, strict=True)) / len(gold) if gold else 0.0


def _score(ranked: list[list[str]], gold: list[str]) -> dict[str, float]:
    return {"hits@1": hits(ranked, gold, 1), "hits@10": hits(ranked, gold, 10)}


def _hybrid(batches: list[list[Any]]) -> list[dict[str, Any]]:
    from memkit import Memory

    rows = []
    with tempfile.TemporaryDirectory() as tmp, Memory(Path(tmp) / "m") as mem:
        ids: dict[str, str] = {}
        for b, batch in enumerate(batches):
            for fact in batch:
                ids[mem.add(fact.document).id] = fact.id
            rows.append(_measure("hybrid search", b, batches,
                                 lambda qs: [[ids[h.note.id] for h in mem.search(q, k=10)] for q in qs], 0.0))
    return rows


def _measure(system: str, b: int, batches: list[list[Any]], rank: Any, train_s: float) -> dict[str, Any]:
    first, newest = batches[0], batches[b]
    row: dict[str, Any] = {"system": system, "after_batch": b, "train_s": round(train_s, 1)}
    row.update({f"first {k}": v for k, v in _score(rank([f.question for f in first]), [f.id for f in first]).items()})
    row.update({f"new {k}": v for k, v in _score(rank([f.question for f in newest]), [f.id for f in newest]).items()})
    return row


def _dsi(variant: str, batches: list[list[Any]], args: argparse.Namespace, base: tuple[Any, Any]) -> list[dict[str, Any]]:
    import copy

    from rich.progress import track

    from memkit.editing.dsi.config import DSIConfig
    from memkit.editing.dsi.model import DSIIndex
    from memkit.editing.types import Document

    replay, sam = VARIANTS[variant]
    config = DSIConfig(docids=args.docids, replay=replay, sam=sam, epochs=args.epochs, pseudo_queries=args.pseudo_queries,
                       lr=args.lr, lora_rank=args.rank)
    model, tokenizer = base
    dsi = DSIIndex(config, model=copy.deepcopy(model), tokenizer=tokenizer)
    rows = []
    for b, batch in enumerate(track(batches, description=f"dsi {variant}: indexing batches")):
        start = time.perf_counter()
        dsi.write([Document(id=f.id, text=f.document) for f in batch])
        spent = time.perf_counter() - start
        rows.append(_measure(f"dsi {variant}", b, batches,
                             lambda qs: [[n for n, _ in h] for h in dsi.search(qs, k=10)], spent))
        rows[-1]["train_s_per_100_notes"] = round(100 * spent / len(batch), 1)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m memkit.editing.dsi.benchmark", description=__doc__.split("\n")[0])
    parser.add_argument("--notes", type=int, default=20, help="notes per batch")
    parser.add_argument("--batches", type=int, default=4, help="batch 0 and the ones after it")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--docids", default="semantic", choices=["atomic", "naive", "semantic"])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--pseudo-queries", type=int, default=4)
    parser.add_argument("--lr", type=float, default=5e-3)
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--base-model", default=None)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--out", default="dsi-results")
    args = parser.parse_args(argv)

    from rich.console import Console
    from rich.table import Table

    from memkit.editing.docfacts import doc_facts
    from memkit.hf.load import load_base_model
    from memkit.hf.runtime import torch_threads

    facts = doc_facts(args.notes * args.batches, split="test")
    batches = [facts[i * args.notes : (i + 1) * args.notes] for i in range(args.batches)]
    with torch_threads(args.threads):
        base = load_base_model(args.base_model, device="cpu")
        rows = _hybrid(batches)
        for variant in args.variants:
            rows += _dsi(variant, batches, args, base)
    table = Table(title=f"DSI++ on SmolLM2-135M: {args.batches} batches of {args.notes} notes, {args.docids} docids; "
                        "Hits on held-apart queries")
    for col in ("system", "after_batch", "first hits@1", "first hits@10", "new hits@1", "new hits@10", "train_s"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(r["system"], str(r["after_batch"]), *[f"{r[c]:.2f}" for c in
                      ("first hits@1", "first hits@10", "new hits@1", "new hits@10")], f"{r['train_s']:.0f}")
    Console().print(table)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps({"args": vars(args), "rows": rows}, indent=2))
    _plot(rows, out / "results.png")
    return 0


def _plot(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, key, title in ((axes[0], "first hits@10", "batch 0's queries (forgetting)"),
                           (axes[1], "new hits@10", "the newest batch's queries (learning)")):
        for system in dict.fromkeys(r["system"] for r in rows):
            pts = [(r["after_batch"], r[key]) for r in rows if r["system"] == system]
            ax.plot(*zip(*pts, strict=True), marker="o", label=system)
        ax.set_title(title)
        ax.set_xlabel("after batch")
        ax.set_xticks(sorted({r["after_batch"] for r in rows}))
        ax.set_ylim(0, 1.05)
    axes[0].set_ylabel("Hits@10")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())
