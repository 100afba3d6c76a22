"""The speed script runs end to end on a small store (its figures are quoted from full runs, not asserted)."""

from __future__ import annotations

import json
import os

from memkit.bench.perf import _cores, background_load, main, measure

PHASE_FIELDS = {"search_p50_ms", "search_p95_ms", "add_p50_ms", "background_processes", "loadavg_before", "loadavg_after"}


def _phase_ok(f: dict, procs: int) -> None:
    assert PHASE_FIELDS <= set(f)
    assert 0 < f["search_p50_ms"] <= f["search_p95_ms"] and f["add_p50_ms"] > 0
    assert f["background_processes"] == procs


def test_measure_reports_consistent_figures():
    r = measure(80, queries=6, load=("python",), adds=3)
    assert r["n"] == 80 and r["links"] > 0
    assert r["ingest_notes_per_s"] > 0 and r["embedder_sentences_per_s"] > 0
    assert abs(r["ratio"] - r["ingest_notes_per_s"] / r["embedder_sentences_per_s"]) < 0.01
    assert abs(r["ratio_vs_st_encode"] - r["ingest_notes_per_s"] / r["st_encode_sentences_per_s"]) < 0.01
    assert r["search_p50_ms"] <= r["search_p95_ms"] and r["add_p50_ms"] > 0
    assert r["ingest_cpu_ms_per_note"] > 0 and r["raw_cpu_ms_per_note"] > 0
    assert 0 < r["ingest_cores_busy"] <= (os.cpu_count() or 1) + 0.5
    assert r["embed_engine"].startswith("traced")  # the bundled model runs traced on CPU
    assert set(r["loaded"]) == {"python"}  # search and add() beside two busy processes per core
    _phase_ok(r["loaded"]["python"], 2 * _cores())


def test_background_load_runs_its_processes_only_inside_the_block():
    with background_load("numpy", per_core=1) as procs:
        assert len(procs) == _cores() and all(p.poll() is None for p in procs)
    assert all(p.returncode is not None for p in procs)


def test_the_script_reports_the_small_store_busy_machine_and_cold_start(tmp_path, capsys):
    out = tmp_path / "perf"
    code = main(["--sizes", "40", "--queries", "3", "--small", "11", "--cold-runs", "1", "--load", "python",
                 "--out", str(out)])
    assert code == 0, capsys.readouterr().out[-3000:]  # the failing process's stderr
    report = json.loads((out / "perf.json").read_text())
    small = report["small"]
    assert small["notes"] == 11 and small["embed_engine"].startswith("traced")
    _phase_ok(small["idle"], 0)
    _phase_ok(small["python"], 2 * _cores())
    for command in ("search", "show"):  # a fresh `memkit` process each
        cold = small["cold_start"][command]
        assert cold["wall_s"] > 0 and cold["peak_rss_mb"] > 0 and cold["runs"] == 1
    (size,) = report["sizes"]
    assert size["n"] == 40 and set(size["loaded"]) == {"python"}
    assert (out / "perf.png").stat().st_size > 0
