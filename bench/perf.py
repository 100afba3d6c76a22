"""Speed and memory of the embedded default (SQLite + Chroma + bundled MiniLM), as a script.

The notes are real chat turns: LongMemEval's ``s`` haystacks (``<data root>/longmemeval/s``, or
``--data``), one user per haystack of ≈500 long user–assistant turns (≈1,000 characters each), read
file by file until N turns are stored (the last haystack cut short); the questions are the real
questions of those haystacks, each searched within its own user's notes (one question per haystack,
asked in turn).  N = 10000 is then about twenty users of ≈500 long notes each: the search target of
both "≈500 long notes per user" and "10k notes"; a small N holds one or two haystacks, the last cut.

For each store size N it prints: ingest notes/s with ``add_many``; the raw embedder's
sentences/s on the same texts in the same process (their ratio is the figure: storing,
linking and indexing should be almost free); search p50/p95 latency including the
query embedding; and the process's peak memory.  Each size runs in its own process so
peak memory is per size.  ``--search-only`` skips the ingest figures and builds each store
through the benchmarks' embedding cache (``memkit.bench.embcache``), so a rerun embeds no note
again; searches and ``add()`` still embed with the real embedder.  ``--sweep`` measures how the
embedder is best called (engine, threads, batch size).

Search and ``add()`` are also timed on a busy machine, as on a desktop where other programs
work: beside two CPU-bound processes per core (``--load``: pure-Python loops, numpy products),
on a small store (``--small`` notes) and on each N.  The small store also gives the cold start
of the command line: wall time and peak memory of a fresh ``memkit search`` and ``memkit show``.

The first search after opening a store (``--first-runs``): fresh processes open each N's store; each
times its import, the open, a warm-up search of a user with no notes (it loads the model, as the
daemon's warm-up does) and its first two real searches; then it closes the store and opens it again
five times in a new ``Memory``, the model loaded, and times each reopened store's first search.  That is
what an agent's first question pays, apart from the process's own cold start.

    python -m memkit.bench.perf                    # N = 1000 and 10000
    python -m memkit.bench.perf --sizes 10000 --search-only --small 0   # the search targets, fast on a rerun
    python -m memkit.bench.perf --sizes 1000 --sweep
    python -m memkit.bench.perf --quick            # N = 500, fewer queries: the busy-machine part in a minute or two
"""

from __future__ import annotations

import argparse
import json
import math
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

from memkit.bench.chats import LONGMEMEVAL_S as LONGMEMEVAL  # the data set the notes and questions come from

__all__ = ["measure", "measure_small", "first_search", "background_load", "cold_start", "main", "LONGMEMEVAL"]

#: a user no note has: the warm-up search finds nothing and changes nothing
WARMUP_USER = "memkit-perf-warmup"
#: how often each fresh process reopens the store to time a first search with the model loaded
REOPENS = 5

#: background processes, each a CPU-bound loop of one thread
LOADS = {
    "python": "x = 0\nwhile True:\n    x += 1\n",
    "numpy": "import numpy as np\na = np.random.default_rng(0).random((256, 256))\nwhile True:\n    a @ a\n",
}
_ONE_THREAD = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


def _data_folder(data: str | Path | None = None) -> Path:
    """``data`` or ``<data root>/longmemeval/s``: a folder of LongMemEval per-question files."""
    from memkit.bench.data import resolve_dataset

    return resolve_dataset(data, LONGMEMEVAL)


def _items(n: int, data: str | Path | None = None) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """The first ``n`` turns of LongMemEval haystacks, whole ones in file order, one user each, as ``add()``
    items (session, speaker, time); and the questions of the haystacks read, with their user."""
    from memkit.bench.chatrecall import chat_items
    from memkit.bench.chats import read_longmemeval
    from memkit.errors import BenchError

    folder = _data_folder(data)
    items: list[dict[str, Any]] = []
    questions: list[tuple[str, str]] = []
    for path in sorted(folder.glob("*.json")):  # read lazily: a 10k store needs about twenty of the files
        if len(items) >= n:
            break
        for chat in read_longmemeval(path):
            items += chat_items(chat, "fields")
            questions += [(q.question, chat.id) for q in chat.questions]
    if len(items) < n:
        raise BenchError(f"{folder} holds {len(items)} chat turns, fewer than the {n} asked for")
    items = items[:n]
    users = {it["user_id"] for it in items}
    return items, [q for q in questions if q[1] in users]


def _per_user(items: Sequence[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for it in items:
        counts[it["user_id"]] = counts.get(it["user_id"], 0) + 1
    return counts


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
    """The nearest-rank ``q`` quantile: never below the median, even of two samples."""
    return round(sorted(lat)[max(0, math.ceil(q * len(lat)) - 1)], 2)


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
                  cold_runs: int = 3, adds: int = 30, data: str | Path | None = None) -> dict[str, Any]:
    """Search and add() on a store of ``notes`` notes (one chat's first turns), idle and beside each ``load``;
    then the command line's cold start on that store.  Run it in a fresh process."""
    from memkit.memory import Memory

    items, questions = _items(notes, data)
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


def first_search(store: Path, questions: Sequence[tuple[str, str]], reopens: int = REOPENS) -> dict[str, Any]:
    """The first searches of a fresh process on ``store`` (run it in one), in milliseconds but ``import_s``.

    ``import_s``: importing ``memkit.memory``; ``open_ms``: ``Memory(store)``; ``warmup_ms``: a search of a user
    with no notes, which loads the model (as the daemon warms up); ``first_search_ms``, ``second_search_ms``: the
    first two real searches after it.  Then ``reopened``: ``reopens`` times, the model loaded, the store opened
    anew in a new ``Memory``, its first search and a second."""
    t = time.perf_counter()
    from memkit.memory import Memory

    import_s = time.perf_counter() - t
    ask = [questions[i % len(questions)] for i in range(2 * (reopens + 1))]

    def search(mem: Any, i: int) -> float:
        q, u = ask[i]
        return _timed([lambda: mem.search(q, k=10, user_id=u)])[0]

    rows = []
    for r in range(reopens + 1):
        t = time.perf_counter()
        with Memory(store) as mem:
            row = {"open_ms": 1000 * (time.perf_counter() - t)}
            if r == 0:
                row["warmup_ms"] = _timed([lambda: mem.search("warm-up", k=10, user_id=WARMUP_USER)])[0]
            rows.append({**row, "first_search_ms": search(mem, 2 * r), "second_search_ms": search(mem, 2 * r + 1)})
    return {"import_s": round(import_s, 3), **{k: round(v, 2) for k, v in rows[0].items()}, "reopened": rows[1:]}


def _first_searches(store: Path, questions: Sequence[tuple[str, str]], runs: int) -> dict[str, Any]:
    """:func:`first_search` in ``runs`` fresh processes: medians of the processes' own first searches
    (``fresh_process``) and of all the stores they reopened with the model loaded (``reopened``)."""
    spec = store.parent / "first-search.json"
    spec.write_text(json.dumps({"store": str(store), "questions": list(questions)}))
    procs = [_own_process(["--first-one", str(spec)]) for _ in range(runs)]
    fresh = {k: round(statistics.median(p[k] for p in procs), 3 if k == "import_s" else 2)
             for k in ("import_s", "open_ms", "warmup_ms", "first_search_ms", "second_search_ms")}
    again = [row for p in procs for row in p["reopened"]]
    first = [row["first_search_ms"] for row in again]
    reopened = {"open_ms": round(statistics.median(r["open_ms"] for r in again), 2),
                "first_search_p50_ms": round(statistics.median(first), 2), "first_search_max_ms": round(max(first), 2),
                "second_search_p50_ms": round(statistics.median(r["second_search_ms"] for r in again), 2),
                "stores_opened": len(again)}
    return {"fresh_process": {**fresh, "processes": runs}, "reopened": reopened}


def measure(n: int, queries: int = 200, batch_size: int | None = None,
            load: Sequence[str] = ("python", "numpy"), adds: int = 30, *, search_only: bool = False,
            first_runs: int = 3, data: str | Path | None = None) -> dict[str, Any]:
    """Run one size in this process and return its figures (``loaded``: search and add() beside each ``load``).

    ``search_only``: no ingest figures (they are None); the store is built through the embedding cache, and
    searches and ``add()`` then embed with the real embedder.  ``first_runs``: fresh processes timing the first
    search after opening the store (:func:`first_search`; 0: none)."""
    import torch

    from memkit.embedders import SentenceTransformerEmbedder
    from memkit.memory import Memory

    items, questions = _items(n, data)
    per_user = _per_user(items)
    tmp = Path(tempfile.mkdtemp(prefix="memkit-perf-"))
    ingest = ingest_cpu = raw_1 = raw_2 = raw_cpu = st_encode = None
    build: dict[str, Any] = {}
    try:
        cfg = {"embedder": {"batch_size": batch_size}} if batch_size else None
        with Memory(tmp / "store", cfg) as mem:
            texts = [it["content"] for it in items]
            real = mem.embedder
            real.embed(texts[: 8 if search_only else 64])  # load and warm the model
            _ = mem.index  # open the vector index (imports chromadb): a once-per-process cost, like the model load
            if search_only:
                from memkit.bench.embcache import CachedEmbedder

                cached = CachedEmbedder(real)
                mem.embedder = cached
                t = time.perf_counter()
                try:
                    mem.add_many(items, progress=False)
                finally:
                    mem.embedder = real  # searches and add() embed for real
                    cached.close()
                build = {"build_s": round(time.perf_counter() - t, 2),
                         "embed_cache": {"hits": cached.hits, "misses": cached.misses, "path": str(cached.path)}}
            else:
                t, c = time.perf_counter(), _cpu()
                real.embed(texts)
                raw_1, raw_cpu = time.perf_counter() - t, _cpu() - c
                t, c = time.perf_counter(), _cpu()
                mem.add_many(items, progress=False)
                ingest, ingest_cpu = time.perf_counter() - t, _cpu() - c
                t = time.perf_counter()
                real.embed(texts)
                raw_2 = time.perf_counter() - t
            _timed(_searches(mem, questions, 10))  # warm the index and the caches
            idle_load = _loadavg()  # "idle" is nothing else of ours: on a shared machine, others may be busy
            lat = _timed(_searches(mem, questions, queries))
            idle_after = _loadavg()
            # no scope: all N notes, too many for the exact path, so through the vector index
            unscoped = _timed([lambda q=q: mem.search(q, k=10) for q, _ in
                               (questions[i % len(questions)] for i in range(max(1, queries // 3)))])
            singles = _timed(_adds(mem, items, adds, "again"))
            loaded = _phases(mem, items, questions, queries, adds, load)  # idle: the figures above
            stats = mem.stats()
            engine, batch = mem.embedder.engine, mem.config.embedder.batch_size
            if not search_only:
                # for context: sentence-transformers' own encode, as a user would call it, same texts and batch
                # size (last: running the eager model first made the searches and add()s after it slower)
                plain = SentenceTransformerEmbedder(mem.config.embedder.model_copy(update={"traced": False}))
                plain.embed(texts[:64])
                t = time.perf_counter()
                plain.embed(texts)
                st_encode = time.perf_counter() - t
        peak = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        first = _first_searches(tmp / "store", questions, first_runs) if first_runs else {}
        figures: dict[str, Any] = {k: None for k in (
            "ingest_s", "ingest_notes_per_s", "embedder_sentences_per_s", "ratio", "st_encode_sentences_per_s",
            "ratio_vs_st_encode", "raw_cpu_ms_per_note", "ingest_cpu_ms_per_note", "raw_cores_busy",
            "ingest_cores_busy")}
        if ingest is not None and raw_1 is not None and raw_2 is not None and st_encode is not None:
            assert raw_cpu is not None and ingest_cpu is not None
            raw = (raw_1 + raw_2) / 2
            figures = {
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
            }
        return {
            "n": n,
            "users": len(per_user),
            "notes_per_user_max": max(per_user.values()),
            "notes_per_user_median": statistics.median(per_user.values()),
            "mean_note_chars": round(statistics.fmean(len(it["content"]) for it in items)),
            "distinct_questions": len(set(questions)),
            "search_only": search_only,
            **build,
            "links": stats.links,
            **figures,
            "search_p50_ms": round(statistics.median(lat), 2),
            "search_p95_ms": _pct(lat, 0.95),
            "search_mean_ms": round(statistics.fmean(lat), 2),
            "search_loadavg_before": idle_load,
            "search_loadavg_after": idle_after,
            "unscoped_p50_ms": round(statistics.median(unscoped), 2),
            "unscoped_p95_ms": _pct(unscoped, 0.95),
            "add_p50_ms": round(statistics.median(singles), 2),
            "loaded": loaded,  # kind of background load -> search p50/p95, add() p50 beside it
            "first_search": first,  # the first search after opening the store, in fresh processes
            "queries": queries,
            "peak_rss_mb": peak,
            "store_mb": round(stats.size_bytes / 2**20, 1),
            "torch_threads": torch.get_num_threads(),
            "embed_engine": engine,
            "batch_size": batch,
            "cores": _cores(),
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def sweep(n: int = 1000, data: str | Path | None = None) -> list[dict[str, Any]]:
    """Raw embedder sentences/s by how it is called (engine, threads) and batch size, on ``n`` chat turns."""
    import torch

    from memkit.config import EmbedderConfig
    from memkit.embedders import SentenceTransformerEmbedder

    texts = [it["content"] for it in _items(n, data)[0]]
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
    ingested = [(i, r) for i, r in enumerate(results) if r["ingest_notes_per_s"] is not None]
    if ingested:
        xs = [i for i, _ in ingested]
        a.bar([i - 0.27 for i in xs], [r["st_encode_sentences_per_s"] for _, r in ingested], 0.27,
              label="SentenceTransformer.encode")
        a.bar(xs, [r["embedder_sentences_per_s"] for _, r in ingested], 0.27, label="raw embedder (memkit's)")
        a.bar([i + 0.27 for i in xs], [r["ingest_notes_per_s"] for _, r in ingested], 0.27, label="memkit add_many")
        a.legend(loc="lower center", fontsize=8)
    else:
        a.text(0.5, 0.5, "search only: no ingest figures", ha="center", va="center", transform=a.transAxes)
    a.set_xticks(list(x), labels)
    a.set_ylabel("texts per second")
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


def _cell(value: Any) -> str:
    return "-" if value is None else str(value)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m memkit.bench.perf", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=None, help="store sizes (default: 1000 10000)")
    ap.add_argument("--queries", type=int, default=None, help="searches per measurement (default: 300)")
    ap.add_argument("--batch-size", type=int, default=None, help="embedder batch size (default: the config's)")
    ap.add_argument("--data", type=Path, default=None,
                    help=f"a folder of LongMemEval per-question files (default: <data root>/{LONGMEMEVAL})")
    ap.add_argument("--out", type=Path, default=Path("runs/perf"))
    ap.add_argument("--search-only", action="store_true",
                    help="no ingest figures: build each store through the embedding cache (a rerun embeds no "
                         "note again); searches and add() still embed for real")
    ap.add_argument("--sweep", action="store_true", help="also sweep how the embedder is called: engine, threads, batch")
    ap.add_argument("--load", nargs="+", choices=[*LOADS, "none"], default=list(LOADS),
                    help="kinds of background load to time search and add() beside (two processes per core)")
    ap.add_argument("--small", type=int, default=11, help="notes in the small store (0: skip it and the cold start)")
    ap.add_argument("--cold-runs", type=int, default=3, help="fresh `memkit search` / `show` processes timed")
    ap.add_argument("--first-runs", type=int, default=3,
                    help=f"fresh processes timing the first search after opening each N's store, each reopening "
                         f"it {REOPENS} times with the model loaded (0: skip)")
    ap.add_argument("--quick", action="store_true",
                    help="N = 500, 60 queries, one cold run, one first-search process: the new parts, quickly")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--small-one", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--first-one", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    sizes = args.sizes or ([500] if args.quick else [1000, 10000])
    queries = args.queries or (60 if args.quick else 300)
    cold_runs = 1 if args.quick else args.cold_runs
    first_runs = 1 if args.quick else args.first_runs
    load = [k for k in args.load if k != "none"]
    if args.first_one:
        spec = json.loads(args.first_one.read_text())
        print(json.dumps(first_search(Path(spec["store"]), [tuple(q) for q in spec["questions"]])))
        return 0
    if args.one:
        print(json.dumps(measure(args.one, queries, args.batch_size, load, search_only=args.search_only,
                                 first_runs=first_runs, data=args.data)))
        return 0
    if args.small_one:
        print(json.dumps(measure_small(args.small_one, queries, load, cold_runs, data=args.data)))
        return 0

    from rich.console import Console
    from rich.table import Table

    from memkit.errors import BenchError

    console = Console(width=None if sys.stdout.isatty() else 160)  # a log keeps the tables' columns whole
    try:
        data = _data_folder(args.data)
    except BenchError as exc:
        console.print(f"[red]{exc}[/]")
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    common = ["--queries", str(queries), "--load", *(load or ["none"]), "--data", str(data)]
    small = None
    try:
        if args.small:
            console.print(f"[bold]small store, {args.small} notes[/] (own process) ...")
            small = _own_process(["--small-one", str(args.small), "--cold-runs", str(cold_runs), *common])
        results = []
        for n in sizes:
            console.print(f"[bold]N = {n}[/] (own process) ...")
            extra = ["--batch-size", str(args.batch_size)] if args.batch_size else []
            extra += ["--search-only"] if args.search_only else []
            results.append(_own_process(["--one", str(n), "--first-runs", str(first_runs), *common, *extra]))
    except RuntimeError as exc:
        console.print(str(exc))
        return 1
    t = Table(title="memkit perf: embedded default (SQLite + Chroma + bundled all-MiniLM-L6-v2), LongMemEval turns")
    cols = [("N", "n"), ("users", "users"), ("ingest notes/s", "ingest_notes_per_s"),
            ("raw embedder sent/s", "embedder_sentences_per_s"), ("ratio", "ratio"), ("search p50 ms", "search_p50_ms"),
            ("search p95 ms", "search_p95_ms"), ("all-users p95 ms", "unscoped_p95_ms"), ("add() p50 ms", "add_p50_ms"),
            ("peak RSS MB", "peak_rss_mb"), ("links", "links")]
    for name, _ in cols:
        t.add_column(name, justify="right")
    for r in results:
        t.add_row(*[_cell(r[key]) for _, key in cols])
    console.print(t)
    for r in results:
        console.print(f"N = {r['n']}: {r['users']} users, notes per user median {r['notes_per_user_median']} / max "
                      f"{r['notes_per_user_max']}, {r['mean_note_chars']} characters a note on average, "
                      f"{r['distinct_questions']} distinct questions")
        if r["ingest_notes_per_s"] is not None:
            console.print(f"  CPU per note {r['raw_cpu_ms_per_note']} ms raw, {r['ingest_cpu_ms_per_note']} ms "
                          f"ingest; cores busy {r['raw_cores_busy']} raw, {r['ingest_cores_busy']} ingest; plain "
                          f"SentenceTransformer.encode {r['st_encode_sentences_per_s']} sent/s (ingest / that = "
                          f"{r['ratio_vs_st_encode']})")
        else:
            cache = r["embed_cache"]
            console.print(f"  search only: store built in {r['build_s']} s through the embedding cache "
                          f"({cache['hits']} cached, {cache['misses']} embedded)")
        if r["first_search"]:
            fresh, again = r["first_search"]["fresh_process"], r["first_search"]["reopened"]
            console.print(f"  first search after opening the store, model loaded: p50 {again['first_search_p50_ms']} "
                          f"ms, max {again['first_search_max_ms']} ms (then {again['second_search_p50_ms']} ms; open "
                          f"{again['open_ms']} ms; {again['stores_opened']} opens)")
            console.print(f"  in a fresh process (median of {fresh['processes']}): import {fresh['import_s']} s, open "
                          f"{fresh['open_ms']} ms, warm-up search {fresh['warmup_ms']} ms (loads the model), then "
                          f"first search {fresh['first_search_ms']} ms, second {fresh['second_search_ms']} ms")
    console.print("search: one user's notes (one LongMemEval haystack), query embedding included; all-users: no "
                  "scope filter.\ntargets: ratio >= 0.9 (ingest at the embedder's speed), search p95 <= 25 ms with "
                  "≈500 long notes per user and at N = 10000")
    busy = Table(title=f"search and add() idle vs. beside two CPU-bound processes per core ({queries} searches each)")
    for c in ("store", "phase", "search p50 ms", "search p95 ms", "add() p50 ms", "load avg before / after"):
        busy.add_column(c, justify="right")
    rows: list[tuple[str, str, dict[str, Any]]] = []
    if small:
        rows += [(f"{small['notes']} notes", phase, small[phase]) for phase in ("idle", *load)]
    for r in results:
        rows.append((f"N = {r['n']}", "idle", {"search_p50_ms": r["search_p50_ms"], "search_p95_ms": r["search_p95_ms"],
                                                "add_p50_ms": r["add_p50_ms"], "loadavg_before": r["search_loadavg_before"],
                                                "loadavg_after": r["search_loadavg_after"]}))
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
    report: dict[str, Any] = {"data": str(data), "sizes": results, "small": small}
    if args.sweep:
        rows_ = sweep(data=data)
        st = Table(title="raw embedder sentences/s by how it is called (1000 LongMemEval turns)")
        for c in ("how", "threads", "batch_size", "sentences_per_s"):
            st.add_column(c, justify="right")
        for r in rows_:
            st.add_row(*[str(r[c]) for c in ("how", "threads", "batch_size", "sentences_per_s")])
        console.print(st)
        report["sweep"] = rows_
    (args.out / "perf.json").write_text(json.dumps(report, indent=2))
    _plot(results, args.out / "perf.png", small)
    console.print(f"wrote {args.out / 'perf.json'} and {args.out / 'perf.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
