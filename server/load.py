"""A load test of the daemon (not a unit test): requests/s and latency of add and search through HTTP.

    python -m memkit.server.load                      # a new daemon on a temporary store, 10k notes
    python -m memkit.server.load --clients 1,8,32 --requests 400 --json load.json
    python -m memkit.server.load --url http://127.0.0.1:7319 --token mk_...   # a running daemon (adds notes!)

The store is filled with ``--notes`` generated notes of ``--users`` users (in batches), then for each
number of concurrent clients (asyncio tasks sharing one httpx connection pool) it sends ``--requests``
searches (each within one user's notes), single-note adds and gets by id, and reports requests/s, p50 and
p95 latency.  With a daemon of its own, it then stops it and times the same searches in process
(``Memory.search``), so the daemon's share of a search's latency shows.  The load average of the machine
is printed too: on a small shared machine the numbers move with it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

__all__ = ["main", "run_level"]

_PEOPLE = ["Alice", "Bob", "Carla", "Dmitri", "Esra", "Farid", "Greta", "Hiro", "Ines", "Jonas", "Kemi", "Liam",
           "Maya", "Nora", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tala"]
_DOING = ["moved to", "visited", "plays the cello in", "works at a bakery in", "studies history in",
          "bought a flat in", "ran a marathon in", "opened a bookshop in", "teaches yoga in", "met a friend in"]
_PLACES = ["Lisbon", "Porto", "Berlin", "Kyoto", "Lagos", "Oslo", "Lima", "Hanoi", "Quito", "Tunis", "Riga", "Perth"]
_WHEN = ["in May", "last winter", "on a rainy Tuesday", "after the holidays", "in 2019", "this spring", "at dawn"]


def _sentence(rng: random.Random, i: int) -> str:
    return f"{rng.choice(_PEOPLE)} {rng.choice(_DOING)} {rng.choice(_PLACES)} {rng.choice(_WHEN)} (event {i})."


def _query(rng: random.Random) -> str:
    return rng.choice([f"where did {rng.choice(_PEOPLE)} move?", f"who lives in {rng.choice(_PLACES)}?",
                       f"what does {rng.choice(_PEOPLE)} do in {rng.choice(_PLACES)}?", f"marathon {rng.choice(_WHEN)}"])


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


async def run_level(url: str, token: str, kind: str, clients: int, requests: int, seed: int = 0,
                    ids: list[str] | None = None, users: int = 30) -> dict[str, Any]:
    """``requests`` requests of ``kind`` from ``clients`` concurrent clients: ``search``, ``add`` (one note),
    or ``get`` (one note by id: the daemon's own overhead, next to no SDK work)."""
    rng = random.Random(seed)
    latencies: list[float] = []
    errors = 0
    todo = iter(range(requests))
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def worker(http: httpx.AsyncClient) -> None:
        nonlocal errors
        for i in todo:
            if kind == "search":
                req = http.post("/v1/search", json={"query": _query(rng), "k": 10,
                                                    "user_id": f"u{rng.randrange(users)}"})
            elif kind == "get":
                req = http.get(f"/v1/notes/{rng.choice(ids or [''])}")
            else:
                req = http.post("/v1/notes", json={"content": _sentence(rng, 10_000_000 + i),
                                                   "user_id": f"u{rng.randrange(users)}"},
                                headers={"Idempotency-Key": uuid.uuid4().hex})
            t = time.perf_counter()
            r = await req
            latencies.append(time.perf_counter() - t)
            errors += r.status_code >= 400

    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=120,
                                 limits=limits) as http:
        start = time.perf_counter()
        await asyncio.gather(*(worker(http) for _ in range(clients)))
        wall = time.perf_counter() - start
    return {"kind": kind, "clients": clients, "requests": requests, "errors": errors,
            "rps": requests / wall, "p50_ms": 1000 * statistics.median(latencies),
            "p95_ms": 1000 * _pct(latencies, 0.95), "max_ms": 1000 * max(latencies)}


def _fill(url: str, token: str, n: int, users: int, batch: int = 500) -> float:
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=600) as http:
        have = http.get("/v1/stats").json()["notes"]
        rng = random.Random(1)
        start = time.perf_counter()
        added = 0
        while have + added < n:
            size = min(batch, n - have - added)
            items = [{"content": _sentence(rng, k), "user_id": f"u{k % users}"}
                     for k in range(have + added, have + added + size)]
            r = http.post("/v1/notes:batch", json={"items": items},
                          headers={"Idempotency-Key": uuid.uuid4().hex})
            r.raise_for_status()
            added += size
            print(f"  filled {have + added}/{n}", file=sys.stderr, end="\r")
        print(file=sys.stderr)
        return added / (time.perf_counter() - start) if added else 0.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m memkit.server.load", description=__doc__.split("\n\n")[0])
    ap.add_argument("--notes", type=int, default=10_000, help="notes in the store before measuring")
    ap.add_argument("--users", type=int, default=30, help="users the notes belong to (searches are per user)")
    ap.add_argument("--clients", default="1,8,32", help="concurrent clients, comma-separated")
    ap.add_argument("--requests", type=int, default=300, help="requests per kind and level")
    ap.add_argument("--url", help="a running daemon (default: start one on a temporary store)")
    ap.add_argument("--token", help="its token (default: the owner's)")
    ap.add_argument("--json", dest="json_out", type=Path, help="also write the results here")
    args = ap.parse_args(argv)
    levels = [int(c) for c in args.clients.split(",")]
    tmp = None
    url, token = args.url, args.token
    if url is None:
        tmp = tempfile.TemporaryDirectory(prefix="memkit-load-")
        os.environ["MEMKIT_CONFIG_DIR"] = str(Path(tmp.name) / "config")
        from memkit.server.runtime import start_daemon

        info = start_daemon(Path(tmp.name) / "store", extra=["--log-level", "warning"])
        url = info.url
    if token is None:
        from memkit.server.settings import config_dir
        from memkit.server.tokens import TokenStore

        token = TokenStore(config_dir()).default_token()
    try:
        print(f"daemon {url}; filling to {args.notes} notes", file=sys.stderr)
        rate = _fill(url, token, args.notes, args.users)
        asyncio.run(run_level(url, token, "search", 1, 20, users=args.users))  # warm up
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as http:
            ids = [n["id"] for n in http.get("/v1/notes", params={"limit": 1000}).json()]
        results = []
        load_before = os.getloadavg()
        for kind in ("search", "add", "get"):
            for c in levels:
                res = asyncio.run(run_level(url, token, kind, c, max(args.requests, 4 * c), ids=ids,
                                            users=args.users))
                res["loadavg_1m"] = os.getloadavg()[0]
                results.append(res)
                print(f"{kind:>6}  clients={c:>3}  {res['rps']:8.1f} req/s  p50 {res['p50_ms']:7.1f} ms  "
                      f"p95 {res['p95_ms']:7.1f} ms  max {res['max_ms']:7.1f} ms  errors {res['errors']}  "
                      f"(load avg {res['loadavg_1m']:.2f})")
        summary = {"url": url, "notes": args.notes, "fill_notes_per_s": rate, "cpus": os.cpu_count(),
                   "loadavg_before": load_before, "loadavg_after": os.getloadavg(), "results": results}
        print(f"fill: {rate:.0f} notes/s in batches of 500; cpus {os.cpu_count()}; load average before "
              f"{load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}, after "
              f"{summary['loadavg_after'][0]:.2f}")
        if tmp is not None:
            from memkit.server.daemon import stop

            stop(Path(tmp.name) / "store")
            sdk = _in_process(Path(tmp.name) / "store", args.requests, args.users)
            summary["in_process_search"] = sdk
            print(f"in process (Memory.search, no daemon): p50 {sdk['p50_ms']:.1f} ms  p95 {sdk['p95_ms']:.1f} ms  "
                  f"(load avg {os.getloadavg()[0]:.2f})")
        if args.json_out:
            args.json_out.write_text(json.dumps(summary, indent=2) + "\n")
    finally:
        if tmp is not None:
            from memkit.server.daemon import stop

            stop(Path(tmp.name) / "store")
            tmp.cleanup()
    return 0


def _in_process(store: Path, requests: int, users: int) -> dict[str, float]:
    """The same searches through ``Memory.search`` in this process: the SDK's own latency."""
    from memkit.memory import Memory

    rng = random.Random(0)
    with Memory(store) as mem:
        for _ in range(10):
            mem.search(_query(rng), k=10, user_id="u0")
        times = []
        for _ in range(requests):
            t = time.perf_counter()
            mem.search(_query(rng), k=10, user_id=f"u{rng.randrange(users)}")
            times.append(time.perf_counter() - t)
    return {"p50_ms": 1000 * statistics.median(times), "p95_ms": 1000 * _pct(times, 0.95)}


if __name__ == "__main__":
    sys.exit(main())
