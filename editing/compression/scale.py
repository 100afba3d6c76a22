"""The compression bank's memory and query time as it grows.

    python -m memkit.editing.compression.scale [--sizes 100 1000 10000] [--weights FILE] [--out DIR]

Writes generated documents (:func:`memkit.editing.docfacts.doc_facts`, several seeds) into one bank on SmolLM2-135M
and, at each size, measures the write time per document, the bank's bytes (``describe()``), the process's
resident memory, and the time of one question (teacher-forced score of its answer, and a 4-token greedy answer),
median over ``--questions``.  Prints a table; writes ``scale.json`` under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
from pathlib import Path

__all__ = ["main"]


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m memkit.editing.compression.scale", description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--weights", default=None, help="trained weights (default: untrained; the cost is the same)")
    parser.add_argument("--base-model", default=None, help="base model (default: the bundled SmolLM2-135M-Instruct)")
    parser.add_argument("--questions", type=int, default=10)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--out", default="scale-results")
    args = parser.parse_args(argv)

    from rich.console import Console
    from rich.progress import track
    from rich.table import Table

    from memkit.editing.compression.config import CompressionConfig
    from memkit.editing.compression.model import CompressionBank
    from memkit.editing.docfacts import doc_facts
    from memkit.editing.documents import Document
    from memkit.hf.runtime import torch_threads

    with torch_threads(args.threads):
        bank = CompressionBank(CompressionConfig(weights=args.weights), base_model=args.base_model, device="cpu")
        docs = []
        seed = 0
        while len(docs) < max(args.sizes):
            docs += [Document(id=f.id, text=f.document) for f in doc_facts(640, split="test", seed=seed)]
            seed += 1
        asked = doc_facts(args.questions, split="test", seed=0)
        rows, written, write_s = [], 0, 0.0
        for size in sorted(args.sizes):
            chunk = docs[written:size]
            for lo in track(range(0, len(chunk), 256), description=f"writing up to {size} documents"):
                start = time.perf_counter()
                bank.write(chunk[lo : lo + 256])
                write_s += time.perf_counter() - start
            written = size
            score_s, answer_s = [], []
            for f in asked:
                start = time.perf_counter()
                bank.score([f.prompt], [" " + f.answer])
                score_s.append(time.perf_counter() - start)
                start = time.perf_counter()
                bank.generate([f.prompt], max_new_tokens=4)
                answer_s.append(time.perf_counter() - start)
            info = bank.describe()
            rows.append({"documents": size, "write_ms_per_doc": 1000 * write_s / size, "bank_mb": info["bank_bytes"] / 2**20,
                         "bytes_per_entry": info["bytes_per_entry"], "rss_mb": _rss_mb(),
                         "score_ms_p50": 1000 * statistics.median(score_s),
                         "answer_ms_p50": 1000 * statistics.median(answer_s)})
    table = Table(title="compression bank: memory and query time as it grows (SmolLM2-135M, CPU)")
    for key in rows[0]:
        table.add_column(key, justify="right")
    for r in rows:
        table.add_row(*[f"{v:.1f}" if isinstance(v, float) else str(v) for v in r.values()])
    Console().print(table)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "scale.json").write_text(json.dumps({"threads": args.threads, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
