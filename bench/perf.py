"""Speed and memory of the embedded default (SQLite + Chroma + bundled MiniLM), as a script.

For each store size N it prints: ingest notes/s with ``add_many``; the raw embedder's
sentences/s on the same texts in the same process (their ratio is the figure: storing,
linking and indexing should be almost free); search p50/p95 latency including the
query embedding; and the process's peak memory.  Each size runs in its own process so
peak memory is per size.  ``--recall`` adds evidence recall@10 of hybrid vs. dense-only
on the synthetic multi-session conversations; ``--sweep`` measures how the embedder is
best called (engine, threads, batch size).

Search and ``add()`` are also timed on a busy machine, as on a desktop where other programs
work: beside two CPU-bound processes per core (``--load``: pure-Python loops, numpy products),
on a small store (``--small`` notes) and on each N.  The small store also gives the cold start
of the command line: wall time and peak memory of a fresh ``memkit search`` and ``memkit show``.

    python -m memkit.bench.perf                    # N = 1000 and 10000
    python -m memkit.bench.perf --sizes 1000 --recall --sweep
    python -m memkit.bench.perf --quick            # N = 500, fewer queries: the busy-machine part in a minute or two
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
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["measure", "measure_small", "background_load", "cold_start", "main"]

#: background processes, each a CPU-bound loop of one thread
LOADS = {
    "python": "x = 0\nwhile True:\n    x += 1\n",
    "numpy": "import numpy as np\na = np.random.default_rng(0).random((256, 256))\nwhile True:\n    a @ a\n",
}
_ONE_THREAD = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


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


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _loadavg() -> float:
    return round(os.getloadavg()[0], 2)


@contextmanager
def background_load(kind: str, per_core: int = 2) -> Iterator[list[subprocess.Popen[str]]]:
    """``per_core`` CPU-bound processes per core (``LOADS[kind]``, one thread each), running until the block ends."""
    code = f"import sys\nsys.stdout.write('ready\\n')\nsys.stdout.flush()\n{LOADS[kind]}"
    env = {**os.environ, **_ONE_THREAD}
    procs: list[subprocess.Popen[str]] = []
    try:
        for _ in range(per_core * _cores()):
            procs.append(subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env))
        for p in procs:  # each has started its loop
            assert p.stdout is not None
            if p.stdout.readline().strip() != "ready":
                raise RuntimeError(f"a {kind} load process did not start (exit code {p.poll()})")
        time.sleep(0.5)  # let the scheduler see them as CPU-bound
        yield procs
    finally:
        for p in procs:
            p.kill()
        for p in procs:
            p.wait()
            if p.stdout is not None:
                p.stdout.close()


def _timed(calls: Sequence[Callable[[], Any]]) -> list[float]:
    """Milliseconds each call took."""
    out = []
    for call in calls:
        t = time.perf_counter()
        call()
        out.append(1000 * (time.perf_counter() - t))
    return out


def _pct(lat: list[float], q: float) -> float:
    return round(sorted(lat)[int(q * (len(lat) - 1))], 2)


def _searches(mem: Any, questions: list[tuple[str, str]], count: int) -> list[Callable[[], Any]]:
    """One user's notes searched, as in an agent's turn: ``mem.search(question, k=10, user_id=...)``."""
    picked = [questions[i % len(questions)] for i in range(count)]
    return [lambda q=q, u=u: mem.search(q, k=10, user_id=u) for q, u in picked]


def _adds(mem: Any, items: list[dict[str, Any]], count: int, tag: str) -> list[Callable[[], Any]]:
    """One ``add()`` at a time, as an agent loop calls it: embedding, linking, both stores."""
    picked = [dict(items[i % len(items)], content=f"{items[i % len(items)]['content']} ({tag}, {i})")
              for i in range(count)]
    return [lambda it=it: mem.add(**it) for it in picked]


def _phases(mem: Any, items: list[dict[str, Any]], questions: list[tuple[str, str]], queries: int, adds: int,
            phases: Sequence[str]) -> dict[str, Any]:
    """Search p50/p95 and add() p50 for each phase: "idle" (nothing else of ours running) or a kind of load
    beside them.  Every phase asks the same questions."""
    out: dict[str, Any] = {}
    for phase in phases:
        before = _loadavg()
        if phase == "idle":
            lat, added = _timed(_searches(mem, questions, queries)), _timed(_adds(mem, items, adds, "idle"))
            procs = 0
        else:
            with background_load(phase) as running:
                lat = _timed(_searches(mem, questions, queries))
                added = _timed(_adds(mem, items, adds, phase))
                procs = len(running)
        out[phase] = {"search_p50_ms": round(statistics.median(lat), 2), "search_p95_ms": _pct(lat, 0.95),
                      "add_p50_ms": round(statistics.median(added), 2), "background_processes": procs,
                      "loadavg_before": before, "loadavg_after": _loadavg()}
    return out


def _memkit_command() -> list[str]:
    """The ``memkit`` console script beside this interpreter, as a user runs it."""
    script = Path(sys.executable).with_name("memkit")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from memkit.cli.main import main; sys.exit(main())"]


# Run from a small process of its own: on Linux a child's peak RSS starts from that of the process that
# forked it (the mm it replaced at exec counts), and this one holds the model.
_LAUNCH = """
import json, os, subprocess, sys, tempfile, time
with tempfile.TemporaryFile() as err:  # a file, not a pipe: a full pipe would block the child
    t = time.perf_counter()
    proc = subprocess.Popen(json.loads(sys.argv[1]), stdout=subprocess.DEVNULL, stderr=err)
    _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage
    wall = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    err.seek(0)
    print(json.dumps({"wall_s": wall, "peak_rss_mb": usage.ru_maxrss / 1024, "rc": proc.returncode,
                      "stderr": err.read().decode(errors="replace")[-2000:]}))
"""


def cold_start(store: Path, query: str, note_id: str, runs: int = 3) -> dict[str, Any]:
    """Wall time and peak RSS of fresh ``memkit search`` and ``memkit show`` processes (median wall, largest RSS)."""
    out: dict[str, Any] = {}
    commands = {"search": ["search", query, "-k", "5"], "show": ["show", note_id]}
    for name, args in commands.items():
        walls, rss = [], []
        for _ in range(runs):
            cmd = [*_memkit_command(), "--store", str(store), *args]
            done = subprocess.run([sys.executable, "-c", _LAUNCH, json.dumps(cmd)], capture_output=True, text=True,
                                  check=True)
            f = json.loads(done.stdout)
            if f["rc"] != 0:
                raise RuntimeError(f"memkit {name} exited with {f['rc']}: {f['stderr']}")
            walls.append(f["wall_s"])
            rss.append(f["peak_rss_mb"])
        out[name] = {"wall_s": round(statistics.median(walls), 2), "peak_rss_mb": round(max(rss), 1), "runs": runs}
    return out


def measure_small(notes: int = 11, queries: int = 200, load: Sequence[str] = ("python", "numpy"),
                  cold_runs: int = 3, adds: int = 30) -> dict[str, Any]:
    """Search and add() on a store of ``notes`` notes (one conversation's first turns), idle and beside each
    ``load``; then the command line's cold start on that store.  Run it in a fresh process."""
    from memkit.memory import Memory

    items, questions = _items(notes)
    users = {it["user_id"] for it in items}
    questions = [q for q in questions if q[1] in users]
    tmp = Path(tempfile.mkdtemp(prefix="memkit-perf-small-"))
    try:
        with Memory(tmp / "store") as mem:
            first = mem.add_many(items, progress=False)[0]
            _timed(_searches(mem, questions, 10))  # warm the model, the index and the caches
            phases = _phases(mem, items, questions, queries, adds, ("idle", *load))
            engine = mem.embedder.engine
        before = _loadavg()
        cold = cold_start(tmp / "store", questions[0][0], first.id, cold_runs) if cold_runs else {}
        return {"notes": notes, "queries": queries, "adds": adds, **phases, "embed_engine": engine,
                "cold_start": cold, "cold_start_loadavg_before": before, "cores": _cores()}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def measure(n: int, queries: int = 200, batch_size: int | None = None,
            load: Sequence[str] = ("python", "numpy"), adds: int = 30) -> dict[str, Any]:
    """Run one size in this process and return its figures (``loaded``: search and add() beside each ``load``)."""
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
            _timed(_searches(mem, questions, 10))  # warm the index and the caches
            lat = _timed(_searches(mem, questions, queries))
            # no scope: all N notes, too many for the exact path, so through the vector index
            unscoped = _timed([lambda q=q: mem.search(q, k=10) for q, _ in questions[: queries // 3]])
            singles = _timed(_adds(mem, items, adds, "again"))
            loaded = _phases(mem, items, questions, queries, adds, load)  # idle: the figures above
            stats = mem.stats()
            # for context: sentence-transformers' own encode, as a user would call it, same texts and batch size
            # (last: running the eager model first made the searches and add()s after it slower)
            plain = SentenceTransformerEmbedder(mem.config.embedder.model_copy(update={"traced": False}))
            plain.embed(texts[:64])
            t = time.perf_counter()
            plain.embed(texts)
            st_encode = time.perf_counter() - t
        raw = (raw_1 + raw_2) / 2
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
            "search_p95_ms": _pct(lat, 0.95),
            "search_mean_ms": round(statistics.fmean(lat), 2),
            "unscoped_p50_ms": round(statistics.median(unscoped), 2),
            "unscoped_p95_ms": _pct(unscoped, 0.95),
            "add_p50_ms": round(statistics.median(singles), 2),
            "loaded": loaded,  # kind of background load -> search p50/p95, add() p50 beside it
            "queries": queries,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "store_mb": round(stats.size_bytes / 2**20, 1),
            "torch_threads": torch.get_num_threads(),
            "embed_engine": mem.embedder.engine,
            "batch_size": mem.config.embedder.batch_size,
            "cores": _cores(),
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


def _plot(results: list[dict[str, Any]], path: Path, small: dict[str, Any] | None = None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    a, b, c = axes
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
    b.set_title("search latency (idle)")
    # idle vs. busy: the small store and each N, p50 bars with the p95 as a tick
    groups = ([(f"{small['notes']} notes", small)] if small else []) + [
        (f"N={r['n']}", {"idle": {k: r[k] for k in ("search_p50_ms", "search_p95_ms")}, **r.get("loaded", {})})
        for r in results]
    phases = list(dict.fromkeys(p for _, g in groups for p in g if isinstance(g[p], dict) and "search_p50_ms" in g[p]))
    width = 0.8 / max(1, len(phases))
    for j, phase in enumerate(phases):
        xs = [i + (j - (len(phases) - 1) / 2) * width for i, (_, g) in enumerate(groups) if phase in g]
        rows = [g[phase] for _, g in groups if phase in g]
        label = phase if phase == "idle" else f"beside {phase} load"
        c.bar(xs, [r["search_p50_ms"] for r in rows], width, label=f"{label} p50")
        c.scatter(xs, [r["search_p95_ms"] for r in rows], marker="_", s=200, color="black")
    c.axhline(60, color="red", linestyle="--", label="busy target p50 (small store)")
    c.set_xticks(range(len(groups)), [name for name, _ in groups])
    c.set_ylabel("ms per search, p50 (bar) and p95 (tick)")
    c.legend(fontsize=7, loc="upper left")
    title = "search: idle vs. 2 CPU-bound processes per core"
    if small and small.get("cold_start"):
        cs = small["cold_start"]
        title += "\ncold start: " + ", ".join(f"{k} {v['wall_s']} s / {v['peak_rss_mb']:.0f} MB" for k, v in cs.items())
    c.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _own_process(args: list[str]) -> dict[str, Any]:
    """``python -m memkit.bench.perf ARGS`` in a fresh process: its figures (the last line it prints)."""
    out = subprocess.run([sys.executable, "-m", "memkit.bench.perf", *args], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m memkit.bench.perf", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=None, help="store sizes (default: 1000 10000)")
    ap.add_argument("--queries", type=int, default=None, help="searches per measurement (default: 300)")
    ap.add_argument("--batch-size", type=int, default=None, help="embedder batch size (default: the config's)")
    ap.add_argument("--out", type=Path, default=Path("runs/perf"))
    ap.add_argument("--recall", action="store_true", help="also measure evidence recall@10, hybrid vs. dense-only")
    ap.add_argument("--sweep", action="store_true", help="also sweep how the embedder is called: engine, threads, batch")
    ap.add_argument("--load", nargs="+", choices=[*LOADS, "none"], default=list(LOADS),
                    help="kinds of background load to time search and add() beside (two processes per core)")
    ap.add_argument("--small", type=int, default=11, help="notes in the small store (0: skip it and the cold start)")
    ap.add_argument("--cold-runs", type=int, default=3, help="fresh `memkit search` / `show` processes timed")
    ap.add_argument("--quick", action="store_true", help="N = 500, 60 queries, one cold run: the new parts, quickly")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--small-one", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    sizes = args.sizes or ([500] if args.quick else [1000, 10000])
    queries = args.queries or (60 if args.quick else 300)
    cold_runs = 1 if args.quick else args.cold_runs
    load = [k for k in args.load if k != "none"]
    if args.one:
        print(json.dumps(measure(args.one, queries, args.batch_size, load)))
        return 0
    if args.small_one:
        print(json.dumps(measure_small(args.small_one, queries, load, cold_runs)))
        return 0

    from rich.console import Console
    from rich.table import Table

    console = Console()
    args.out.mkdir(parents=True, exist_ok=True)
    common = ["--queries", str(queries), "--load", *(load or ["none"])]
    small = None
    try:
        if args.small:
            console.print(f"[bold]small store, {args.small} notes[/] (own process) ...")
            small = _own_process(["--small-one", str(args.small), "--cold-runs", str(cold_runs), *common])
        results = []
        for n in sizes:
            console.print(f"[bold]N = {n}[/] (own process) ...")
            extra = ["--batch-size", str(args.batch_size)] if args.batch_size else []
            results.append(_own_process(["--one", str(n), *common, *extra]))
    except RuntimeError as exc:
        console.print(str(exc))
        return 1
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
    busy = Table(title=f"search and add() idle vs. beside two CPU-bound processes per core ({queries} searches each)")
    for c in ("store", "phase", "search p50 ms", "search p95 ms", "add() p50 ms", "load avg before / after"):
        busy.add_column(c, justify="right")
    rows: list[tuple[str, str, dict[str, Any]]] = []
    if small:
        rows += [(f"{small['notes']} notes", phase, small[phase]) for phase in ("idle", *load)]
    for r in results:
        rows.append((f"N = {r['n']}", "idle", {"search_p50_ms": r["search_p50_ms"], "search_p95_ms": r["search_p95_ms"],
                                                "add_p50_ms": r["add_p50_ms"]}))
        rows += [(f"N = {r['n']}", phase, r["loaded"][phase]) for phase in load]
    for store, phase, f in rows:
        busy.add_row(store, phase if phase == "idle" else f"{phase} load", str(f["search_p50_ms"]),
                     str(f["search_p95_ms"]), str(f["add_p50_ms"]),
                     f"{f['loadavg_before']} / {f['loadavg_after']}" if "loadavg_before" in f else "-")
    console.print(busy)
    console.print("target: on the small store beside the load, search p50 <= 60 ms and p95 <= 120 ms")
    if small and small["cold_start"]:
        for name, f in small["cold_start"].items():
            console.print(f"cold start, `memkit {name}` on the small store: {f['wall_s']} s, peak RSS {f['peak_rss_mb']} MB "
                          f"(median wall of {f['runs']}; load avg before {small['cold_start_loadavg_before']})")
    report: dict[str, Any] = {"sizes": results, "small": small}
    if args.sweep:
        rows_ = sweep()
        st = Table(title="raw embedder sentences/s by how it is called (1000 chat turns)")
        for c in ("how", "threads", "batch_size", "sentences_per_s"):
            st.add_column(c, justify="right")
        for r in rows_:
            st.add_row(*[str(r[c]) for c in ("how", "threads", "batch_size", "sentences_per_s")])
        console.print(st)
        report["sweep"] = rows_
    if args.recall:
        from memkit.bench import convdata
        from memkit.bench.conversational import _table, run

        held_out = [c for seed in (0, 3) for c in convdata.generate(10, seed=seed)]  # as conversational's default
        recall = run(held_out, ablation=True)
        _table(recall)
        report["recall"] = [r.model_dump() for r in recall]
    (args.out / "perf.json").write_text(json.dumps(report, indent=2))
    _plot(results, args.out / "perf.png", small)
    console.print(f"wrote {args.out / 'perf.json'} and {args.out / 'perf.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
