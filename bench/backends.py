"""Ingest and search on each back end, as the store grows: embedded SQLite + Chroma, PostgreSQL + pgvector, and
SQLite + a Chroma server, the servers real and on loopback (:mod:`memkit.bench.servers`; or ``--postgres-url`` /
``--chroma-url`` for ones you run).

The notes are LongMemEval's real chat turns, as in :mod:`memkit.bench.perf`: one user per haystack of ≈500 long
turns, so the ≈98.7k turns of all 200 haystacks are ≈200 users.  Each size N is stored from scratch with ``add_many`` (linking, history and
the index included); the notes' embeddings come from the benchmarks' embedding cache (a first run embeds them
once), so ingest notes/s is what the store, linking and index cost on top of embedding.  Then, with the real
embedder (the query embedding is in every figure):

- ``user``: a question searched within its own user's notes, as an agent asks (``k=10``);
- ``global``: the same question over every note (no scope: the back end's ANN index at work).

Each search kind is timed idle and beside two CPU-bound processes per core (``--no-load`` skips that).

    python -m memkit.bench.backends --sizes 10000 98000       # 98,000: nearly every LongMemEval s turn
    python -m memkit.bench.backends --sizes 2000 --backends postgres --queries 50   # a quick look
    python -m memkit.bench.backends --sizes 98000 --backends postgres --postgres-url URL --reuse
        # searches again the memory an earlier run filled in that database (its ingest is not timed again)
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from memkit.bench.perf import _items, _pct, _timed, background_load

__all__ = ["BACKENDS", "measure", "main"]

BACKENDS = ("embedded", "postgres", "chroma-server")
_CHUNK = 2000  # notes per add_many call while filling


@contextmanager
def _locations(backends: Sequence[str], work: Path, postgres_url: str | None, chroma_url: str | None
               ) -> Iterator[dict[str, Callable[[str], tuple[Any, dict[str, Any]]]]]:
    """For each back end, a function of a store name -> (location, config) of a new, empty memory."""
    from memkit.bench.servers import ChromaServer, PostgresServer

    with ExitStack() as stack:
        out: dict[str, Callable[[str], tuple[Any, dict[str, Any]]]] = {}
        if "embedded" in backends:
            out["embedded"] = lambda name: (work / name, {})
        if "postgres" in backends:
            if postgres_url is None:
                (work / "pg").mkdir(exist_ok=True)
                pg = PostgresServer(work / "pg")
                stack.callback(pg.stop)
                out["postgres"] = lambda name: (pg.database(), {})
            else:
                out["postgres"] = lambda name: (postgres_url, {"store": {"schema_name": name.replace("-", "_")}})
        if "chroma-server" in backends:
            url = chroma_url
            if url is None:
                (work / "chroma").mkdir(exist_ok=True)
                server = ChromaServer(work / "chroma")
                stack.callback(server.stop)
                url = server.url
            out["chroma-server"] = lambda name: (work / name, {"index": {"kind": "chroma", "url": url}})
        yield out


def _search_kinds(questions: list[tuple[str, str]], queries: int) -> dict[str, list[tuple[str, str | None]]]:
    picked = [questions[i % len(questions)] for i in range(queries)]
    return {"user": picked, "global": [(q, None) for q, _ in picked]}


def _time_searches(mem: Any, asked: list[tuple[str, str | None]]) -> dict[str, float]:
    lat = _timed([lambda q=q, u=u: mem.search(q, k=10, user_id=u) for q, u in asked])
    return {"p50_ms": round(statistics.median(lat), 2), "p95_ms": _pct(lat, 0.95)}


def measure(backend: str, location: Any, config: dict[str, Any], n: int, queries: int, load: bool,
            data: Path | None, reuse: bool = False) -> dict[str, Any]:
    """Fill a new memory at ``location`` with ``n`` turns, then time its searches (``reuse``: a memory there that
    already holds ``n`` notes, from an earlier run, is searched as it is; its ingest is not timed)."""
    from memkit import Memory
    from memkit.bench.embcache import CachedEmbedder
    from memkit.progress import progress_bar

    items, questions = _items(n, data)
    with Memory(location, config) as mem:
        stored = mem.stats().notes
        if reuse and stored == n:
            ingest_s = None
        elif stored:
            raise SystemExit(f"{location}: holds {stored} notes, not none (or {n} with --reuse)")
        else:
            real = mem.embedder
            cached = CachedEmbedder(real)
            mem.embedder = cached
            cached.embed([it["content"] for it in items])  # embedded (or read from the cache) before the clock starts
            t0 = time.perf_counter()
            with progress_bar(f"{backend}: storing {n} notes", n, True) as bar:
                for s in range(0, n, _CHUNK):
                    mem.add_many(items[s : s + _CHUNK], progress=False)
                    bar.advance(len(items[s : s + _CHUNK]))
            ingest_s = time.perf_counter() - t0
            mem.embedder = real
        kinds = _search_kinds(questions, queries)
        for q, u in kinds["user"][:5] + kinds["global"][:5]:  # warm up: the model, the index, the caches
            mem.search(q, k=10, user_id=u)
        out: dict[str, Any] = {"backend": backend, "n": n, "users": len({it["user_id"] for it in items}),
                               "ingest_notes_per_s": round(n / ingest_s, 1) if ingest_s else None,
                               "ingest_s": round(ingest_s, 1) if ingest_s else None}
        for kind, asked in kinds.items():
            out[kind] = {"idle": _time_searches(mem, asked)}
            if load:
                with background_load("python"):
                    out[kind]["busy"] = _time_searches(mem, asked)
        out["stored"] = mem.stats().notes
    return out


def _plot(results: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for backend in dict.fromkeys(r["backend"] for r in results):
        rows = sorted((r for r in results if r["backend"] == backend), key=lambda r: r["n"])
        ns = [r["n"] for r in rows]
        for ax, kind in zip(axes[:2], ("user", "global"), strict=True):
            line = ax.plot(ns, [r[kind]["idle"]["p95_ms"] for r in rows], marker="o", label=f"{backend} p95")[0]
            ax.plot(ns, [r[kind]["idle"]["p50_ms"] for r in rows], marker=".", linestyle=":", color=line.get_color(),
                    label=f"{backend} p50")
        filled = [r for r in rows if r["ingest_notes_per_s"]]
        axes[2].plot([r["n"] for r in filled], [r["ingest_notes_per_s"] for r in filled], marker="o", label=backend)
    for ax, title in zip(axes[:2], ("search within one user's notes", "search over every note"), strict=True):
        ax.axhline(50, color="red", linestyle="--", label="target p95 (PostgreSQL, 100k)")
        ax.set_xscale("log")
        ax.set_xlabel("notes stored")
        ax.set_ylabel("ms per search, idle (query embedding included)")
        ax.set_title(title)
        ax.legend(fontsize=7)
    axes[2].set_xscale("log")
    axes[2].set_xlabel("notes stored")
    axes[2].set_ylabel("notes per second (embeddings cached)")
    axes[2].set_title("ingest with add_many")
    axes[2].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m memkit.bench.backends", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10000, 98000])
    ap.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    ap.add_argument("--queries", type=int, default=200, help="searches per measurement")
    ap.add_argument("--no-load", action="store_true", help="skip the searches beside CPU-bound processes")
    ap.add_argument("--data", type=Path, default=None, help="a folder of LongMemEval per-question files")
    ap.add_argument("--postgres-url", default=None, help="a PostgreSQL (with pgvector) to use instead of pgserver's")
    ap.add_argument("--chroma-url", default=None, help="a Chroma server to use instead of starting one")
    ap.add_argument("--reuse", action="store_true",
                    help="with --postgres-url: a memory an earlier run filled with N notes is searched, not filled again")
    ap.add_argument("--json", type=Path, default=None, help="write the results here")
    ap.add_argument("--plot", type=Path, default=None, help="write a plot of search time and ingest rate against N")
    ap.add_argument("--merge", type=Path, default=None,
                    help="earlier results (the JSON lines this script prints) shown in the table and plot too")
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="memkit-backends-"))
    results = [json.loads(line) for line in args.merge.read_text().splitlines() if line.startswith("{")] \
        if args.merge else []
    try:
        with _locations(args.backends, work, args.postgres_url, args.chroma_url) as new_memory:
            for n in args.sizes:
                for backend in args.backends:
                    location, config = new_memory[backend](f"{backend}-{n}")
                    r = measure(backend, location, config, n, args.queries, not args.no_load, args.data, args.reuse)
                    results.append(r)
                    print(json.dumps(r), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print()
    print(f"{'back end':<14} {'N':>7} {'ingest/s':>9} | {'user p50':>8} {'p95':>6} {'busy p95':>8} | "
          f"{'global p50':>10} {'p95':>6} {'busy p95':>8}")
    for r in results:
        busy = {k: r[k].get("busy", {}).get("p95_ms", "-") for k in ("user", "global")}
        print(f"{r['backend']:<14} {r['n']:>7} {r['ingest_notes_per_s'] or '-':>9} | {r['user']['idle']['p50_ms']:>8} "
              f"{r['user']['idle']['p95_ms']:>6} {busy['user']:>8} | {r['global']['idle']['p50_ms']:>10} "
              f"{r['global']['idle']['p95_ms']:>6} {busy['global']:>8}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    if args.plot:
        _plot(results, args.plot)
        print(f"plot: {args.plot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
