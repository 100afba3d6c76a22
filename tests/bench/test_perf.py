"""The speed script runs end to end on real LongMemEval turns (its figures are quoted from full runs, not asserted)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from memkit.bench.chatrecall import chat_items
from memkit.bench.chats import read_longmemeval
from memkit.bench.perf import LONGMEMEVAL, _cores, _items, _pct, background_load, main, measure
from memkit.errors import BenchError

PHASE_FIELDS = {"search_p50_ms", "search_p95_ms", "add_p50_ms", "background_processes", "loadavg_before", "loadavg_after"}


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty embedding cache per test: nothing read from or written to the user's."""
    monkeypatch.setenv("MEMKIT_CACHE_DIR", str(tmp_path / "cache"))


def _phase_ok(f: dict, procs: int) -> None:
    assert PHASE_FIELDS <= set(f)
    assert 0 < f["search_p50_ms"] <= f["search_p95_ms"] and f["add_p50_ms"] > 0
    assert f["background_processes"] == procs


def test_notes_are_whole_longmemeval_chats_in_file_order_and_questions_their_own(data_dir):
    files = sorted((data_dir / LONGMEMEVAL).glob("*.json"))
    first, second = (read_longmemeval(f)[0] for f in files[:2])
    whole = chat_items(first)
    n = len(whole) + 50
    items, questions = _items(n)
    assert len(items) == n
    assert items[: len(whole)] == whole  # the first chat whole, as chat_items stores it: one user, sessions, speakers
    assert items[len(whole):] == chat_items(second)[:50]  # the last one cut short
    assert {it["user_id"] for it in items} == {first.id, second.id}
    assert all(it["session_id"] and it["metadata"]["speaker"] in {"user", "assistant"} for it in items)
    assert questions == [(q.question, c.id) for c in (first, second) for q in c.questions]  # each with its user
    assert 300 < len(whole) < 700 and sum(len(it["content"]) for it in whole) / len(whole) > 500  # ≈500 long notes


def test_too_few_turns_or_no_data_folder_is_a_clear_error(tmp_path, data_dir, capsys):
    one = tmp_path / "one"
    one.mkdir()
    src = sorted((data_dir / LONGMEMEVAL).glob("*.json"))[0]
    (one / src.name).write_text(src.read_text())
    with pytest.raises(BenchError, match="fewer than the 100000 asked for"):
        _items(100_000, one)
    assert main(["--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out")]) == 1
    assert "nowhere does not exist" in " ".join(capsys.readouterr().out.split())  # rich wraps long lines


def test_quantiles_are_nearest_rank():
    assert _pct([10.0, 30.0], 0.95) == 30.0 and _pct([5.0], 0.95) == 5.0
    assert _pct([float(i) for i in range(1, 301)], 0.95) == 285.0


def test_measure_reports_consistent_figures():
    r = measure(60, queries=6, load=("python",), adds=3, first_runs=0)
    assert r["n"] == 60 and r["users"] == 1 and r["links"] > 0 and r["distinct_questions"] == 1
    assert r["ingest_notes_per_s"] > 0 and r["embedder_sentences_per_s"] > 0
    # long turns embed at tens a second, so the rates' rounding to 0.1 moves their quotient by up to 1%
    assert r["ratio"] == pytest.approx(r["ingest_notes_per_s"] / r["embedder_sentences_per_s"], rel=0.02)
    assert r["ratio_vs_st_encode"] == pytest.approx(r["ingest_notes_per_s"] / r["st_encode_sentences_per_s"], rel=0.02)
    assert r["search_p50_ms"] <= r["search_p95_ms"] and r["add_p50_ms"] > 0
    assert r["unscoped_p50_ms"] <= r["unscoped_p95_ms"]
    assert r["ingest_cpu_ms_per_note"] > 0 and r["raw_cpu_ms_per_note"] > 0
    assert 0 < r["ingest_cores_busy"] <= (os.cpu_count() or 1) + 0.5
    assert r["embed_engine"].startswith("onnx")  # the bundled model runs under ONNX Runtime on CPU
    assert set(r["loaded"]) == {"python"}  # search and add() beside two busy processes per core
    _phase_ok(r["loaded"]["python"], 2 * _cores())
    assert r["first_search"] == {} and r["search_only"] is False


def test_background_load_runs_its_processes_only_inside_the_block():
    with background_load("numpy", per_core=1) as procs:
        assert len(procs) == _cores() and all(p.poll() is None for p in procs)
    assert all(p.returncode is not None for p in procs)


def test_the_script_reports_search_only_sizes_first_search_small_store_and_cold_start(tmp_path, capsys):
    out = tmp_path / "perf"
    code = main(["--sizes", "300", "--search-only", "--queries", "5", "--small", "11", "--cold-runs", "1",
                 "--first-runs", "1", "--load", "python", "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0, printed[-3000:]  # the failing process's stderr
    report = json.loads((out / "perf.json").read_text())
    small = report["small"]
    assert small["notes"] == 11 and small["embed_engine"].startswith("onnx")
    _phase_ok(small["idle"], 0)
    _phase_ok(small["python"], 2 * _cores())
    for command in ("search", "show"):  # a fresh `memkit` process each
        cold = small["cold_start"][command]
        assert cold["wall_s"] > 0 and cold["peak_rss_mb"] > 0 and cold["runs"] == 1
    (size,) = report["sizes"]
    assert size["n"] == 300 and size["search_only"] and set(size["loaded"]) == {"python"}
    assert size["ingest_notes_per_s"] is None and size["ratio"] is None  # no ingest figures without the real embedder
    assert size["embed_cache"]["misses"] == 300 and size["embed_cache"]["hits"] == 0  # a fresh cache: all embedded
    assert 0 < size["search_p50_ms"] <= size["search_p95_ms"] and size["add_p50_ms"] > 0
    fresh, again = size["first_search"]["fresh_process"], size["first_search"]["reopened"]
    assert fresh["processes"] == 1 and again["stores_opened"] == 5
    assert fresh["import_s"] > 0 and fresh["open_ms"] > 0 and fresh["warmup_ms"] > 0
    assert fresh["first_search_ms"] > 0 and fresh["second_search_ms"] > 0
    assert 0 < again["first_search_p50_ms"] <= again["first_search_max_ms"] and again["open_ms"] > 0
    assert "first search after opening the store" in printed and "search only" in printed
    assert (out / "perf.png").stat().st_size > 0
    # a rerun embeds no stored note again: the cache holds them (searches and add() still embed for real)
    again_run = measure(40, queries=3, load=(), adds=1, search_only=True, first_runs=0)
    assert again_run["embed_cache"] == {**again_run["embed_cache"], "hits": 40, "misses": 0}
    assert again_run["add_p50_ms"] > 0
