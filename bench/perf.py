"""Speed and memory of the embedded default (SQLite + Chroma + bundled MiniLM), as a script.

For each store size N it prints: ingest notes/s with ``add_many``; the raw embedder's
sentences/s on the same texts in the same process (their ratio is the figure: storing,
linking and indexing should be almost free); search p50/p95 latency including the
query embedding; and the process's peak memory.  Each size runs in its own process so
peak memory is per size.  ``--recall`` adds evidence recall@10 of hybrid vs. dense-only
on the synthetic multi-session conversations; ``--sweep`` measures how the embedder is
best called (engine, threads, batch size).

    python -m memkit.bench.perf                    # N = 1000 and 10000
    python -m memkit.bench.perf --sizes 1000 --recall --sweep
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["measure", "main"]


def _items(n: int, seed: int = 0) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """``n`` realistic chat turns (speaker, session, time) and questions about them."""
    from memkit.bench.convdata import generate
    from memkit.bench.conversational import conversation_items

    items: list[dict[str, Any]] = []
    questions: list[tuple[str, str]] = []
    batch = 0
    while len(items) < n:
        for conv in generate(10, seed=seed * 1000 + batch):
            items += conversation_items(conv)
            questions += [(q.question, conv.id) for q in conv.questions]
        batch += 1
    return items[:n], questions


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def measure(n: int, queries: int = 200, batch_size: int | None = None) -> dict[str, Any]:
    """Run one size in this process and return its figures."""
    import torch

    from memkit.embedders import SentenceTransformerEmbedder
    from memkit.memory import Memory

    items, questions = _items(n)
    users = {it["user_id"] for it in items}
    questions = [q for q in questions if q[1] in users]
    tmp = Path(tempfile.mkdtemp(prefix="memkit-perf-"))
    try:
        cfg = {"embedder": {"batch_size": batch_size}} if batch_size else None
        with Memory(tmp / "store", cfg) as mem:
            texts = [it["content"] for it in items]
            mem.embedder.embed(texts[:64])  # load and warm the model
            _ = mem.index  # open the vector index (imports chromadb): a once-per-process cost, like the model load
            t, c = time.perf_counter(), _cpu()
            mem.embedder.embed(texts)
            raw_1, raw_cpu = time.perf_counter() - t, _cpu() - c
            t, c = time.perf_counter(), _cpu()
            mem.add_many(items, progress=False)
            ingest, ingest_cpu = time.perf_counter() - t, _cpu() - c
            t = time.perf_counter()
            mem.embedder.embed(texts)
            raw_2 = time.perf_counter() - t
            for q, user in questions[:10]:  # warm the index and the caches
                mem.search(q, k=10, user_id=user)
            lat = []
            for i in range(queries):
                q, user = questions[i % len(questions)]
                t = time.perf_counter()
                mem.search(q, k=10, user_id=user)
                lat.append(1000 * (time.perf_counter() - t))
            unscoped = []  # no scope: all N notes, too many for the exact path, so through the vector index
            for i in range(queries // 3):
                t = time.perf_counter()
                mem.search(questions[i % len(questions)][0], k=10)
                unscoped.append(1000 * (time.perf_counter() - t))
            singles = []  # one add() at a time, as an agent loop calls it: embedding, linking, both stores
            for i in range(30):
                item = dict(items[i], content=f"{items[i]['content']} (again, {i})")
                t = time.perf_counter()
                mem.add(**item)
                singles.append(1000 * (time.perf_counter() - t))
            stats = mem.stats()
            # for context: sentence-transformers' own encode, as a user would call it, same texts and batch size
            # (last: running the eager model first made the searches and add()s after it slower)
            plain = SentenceTransformerEmbedder(mem.config.embedder.model_copy(update={"traced": False}))
            plain.embed(texts[:64])
            t = time.perf_counter()
            plain.embed(texts)
            st_encode = time.perf_counter() - t
        raw = (raw_1 + raw_2) / 2
        lat.sort()
        return {
            "n": n,
            "links": stats.links,
            "ingest_s": round(ingest, 2),
            "ingest_notes_per_s": round(n / ingest, 1),
            "embedder_sentences_per_s": round(n / raw, 1),
            "ratio": round(raw / ingest, 3),
            "st_encode_sentences_per_s": round(n / st_encode, 1),
            "ratio_vs_st_encode": round(st_encode / ingest, 3),
            # CPU time of the whole process (all threads): where the cores go
            "raw_cpu_ms_per_note": round(1000 * raw_cpu / n, 2),
            "ingest_cpu_ms_per_note": round(1000 * ingest_cpu / n, 2),
            "raw_cores_busy": round(raw_cpu / raw_1, 2),
            "ingest_cores_busy": round(ingest_cpu / ingest, 2),
            "search_p50_ms": round(statistics.median(lat), 2),
            "search_p95_ms": round(lat[int(0.95 * (len(lat) - 1))], 2),
            "search_mean_ms": round(statistics.fmean(lat), 2),
            "unscoped_p50_ms": round(statistics.median(unscoped), 2),
            "unscoped_p95_ms": round(sorted(unscoped)[int(0.95 * (len(unscoped) - 1))], 2),
            "add_p50_ms": round(statistics.median(singles), 2),
            "queries": queries,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "store_mb": round(stats.size_bytes / 2**20, 1),
            "torch_threads": torch.get_num_threads(),
            "embed_engine": mem.embedder.engine,
            "batch_size": mem.config.embedder.batch_size,
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def sweep(n: int = 1000) -> list[dict[str, Any]]:
    """Raw embedder sentences/s by how it is called (engine, threads) and batch size, on ``n`` chat turns."""
    import torch

    from memkit.config import EmbedderConfig
    from memkit.embedders import SentenceTransformerEmbedder

    texts = [it["content"] for it in _items(n)[0]]
    cores = torch.get_num_threads()
    ways = [
        ("sentence-transformers encode", 1, EmbedderConfig(traced=False)),
        ("sentence-transformers encode", cores, EmbedderConfig(traced=False)),
        ("traced, intra-op threads", cores, EmbedderConfig(workers=1)),
        (f"traced, {cores} workers x 1 thread", cores, EmbedderConfig(workers=cores)),
    ]
    rows = []
    for how, threads, config in ways:
        torch.set_num_threads(threads)
        emb = SentenceTransformerEmbedder(config)
        emb.embed(texts[:128])
        for bs in (16, 32, 64, 128):
            t = time.perf_counter()
            emb.embed(texts, batch_size=bs)
            rows.append({"how": how, "threads": threads, "batch_size": bs,
                         "sentences_per_s": round(n / (time.perf_counter() - t), 1)})
    torch.set_num_threads(cores)
    return rows


def _plot(results: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    labels = [f"N={r['n']}" for r in results]
    x = range(len(results))
    a.bar([i - 0.27 for i in x], [r["st_encode_sentences_per_s"] for r in results], 0.27,
          label="SentenceTransformer.encode")
    a.bar(list(x), [r["embedder_sentences_per_s"] for r in results], 0.27, label="raw embedder (memkit's)")
    a.bar([i + 0.27 for i in x], [r["ingest_notes_per_s"] for r in results], 0.27, label="memkit add_many")
    a.set_xticks(list(x), labels)
    a.set_ylabel("texts per second")
    a.legend(loc="lower center", fontsize=8)
    a.set_title("ingest vs. raw embedder")
    b.bar([i - 0.2 for i in x], [r["search_p50_ms"] for r in results], 0.4, label="p50")
    b.bar([i + 0.2 for i in x], [r["search_p95_ms"] for r in results], 0.4, label="p95")
    b.axhline(25, color="red", linestyle="--", label="target p95")
    b.set_xticks(list(x), labels)
    b.set_ylabel("ms per search (query embedding included)")
    b.legend()
    b.set_title("search latency")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m memkit.bench.perf", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--batch-size", type=int, default=None, help="embedder batch size (default: the config's)")
    ap.add_argument("--out", type=Path, default=Path("runs/perf"))
    ap.add_argument("--recall", action="store_true", help="also measure evidence recall@10, hybrid vs. dense-only")
    ap.add_argument("--sweep", action="store_true", help="also sweep how the embedder is called: engine, threads, batch")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        print(json.dumps(measure(args.one, args.queries, args.batch_size)))
        return 0

    from rich.console import Console
    from rich.table import Table

    console = Console()
    args.out.mkdir(parents=True, exist_ok=True)
    results = []
    for n in args.sizes:
        console.print(f"[bold]N = {n}[/] (own process) ...")
        cmd = [sys.executable, "-m", "memkit.bench.perf", "--one", str(n), "--queries", str(args.queries)]
        if args.batch_size:
            cmd += ["--batch-size", str(args.batch_size)]
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode != 0:
            console.print(out.stderr[-3000:])
            return out.returncode
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    t = Table(title="memkit perf: embedded default (SQLite + Chroma + bundled all-MiniLM-L6-v2)")
    cols = [("N", "n"), ("ingest notes/s", "ingest_notes_per_s"), ("raw embedder sent/s", "embedder_sentences_per_s"),
            ("ratio", "ratio"), ("search p50 ms", "search_p50_ms"), ("search p95 ms", "search_p95_ms"),
            ("all-users p95 ms", "unscoped_p95_ms"), ("add() p50 ms", "add_p50_ms"), ("peak RSS MB", "peak_rss_mb"), ("links", "links")]
    for name, _ in cols:
        t.add_column(name, justify="right")
    for r in results:
        t.add_row(*[str(r[key]) for _, key in cols])
    console.print(t)
    for r in results:
        console.print(f"N = {r['n']}: CPU per note {r['raw_cpu_ms_per_note']} ms raw, {r['ingest_cpu_ms_per_note']} ms "
                      f"ingest; cores busy {r['raw_cores_busy']} raw, {r['ingest_cores_busy']} ingest; plain "
                      f"SentenceTransformer.encode {r['st_encode_sentences_per_s']} sent/s (ingest / that = "
                      f"{r['ratio_vs_st_encode']})")
    console.print("search: one user's notes (a conversation), query embedding included; all-users: no scope filter.\n"
                  "targets: ratio >= 0.9 (ingest at the embedder's speed), search p95 <= 25 ms at N = 10000")
    report: dict[str, Any] = {"sizes": results}
    if args.sweep:
        rows = sweep()
        st = Table(title="raw embedder sentences/s by how it is called (1000 chat turns)")
        for c in ("how", "threads", "batch_size", "sentences_per_s"):
            st.add_column(c, justify="right")
        for r in rows:
            st.add_row(*[str(r[c]) for c in ("how", "threads", "batch_size", "sentences_per_s")])
        console.print(st)
        report["sweep"] = rows
    if args.recall:
        from memkit.bench import convdata
        from memkit.bench.conversational import _table, run

        held_out = [c for seed in (0, 3) for c in convdata.generate(10, seed=seed)]  # as conversational's default
        recall = run(held_out, ablation=True)
        _table(recall)
        report["recall"] = [r.model_dump() for r in recall]
    (args.out / "perf.json").write_text(json.dumps(report, indent=2))
    _plot(results, args.out / "perf.png")
    console.print(f"wrote {args.out / 'perf.json'} and {args.out / 'perf.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
