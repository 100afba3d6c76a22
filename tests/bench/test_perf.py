"""The speed script runs end to end on a small store (its figures are quoted from full runs, not asserted)."""

from __future__ import annotations

import os

from memkit.bench.perf import measure


def test_measure_reports_consistent_figures():
    r = measure(80, queries=6)
    assert r["n"] == 80 and r["links"] > 0
    assert r["ingest_notes_per_s"] > 0 and r["embedder_sentences_per_s"] > 0
    assert abs(r["ratio"] - r["ingest_notes_per_s"] / r["embedder_sentences_per_s"]) < 0.01
    assert abs(r["ratio_vs_st_encode"] - r["ingest_notes_per_s"] / r["st_encode_sentences_per_s"]) < 0.01
    assert r["search_p50_ms"] <= r["search_p95_ms"] and r["add_p50_ms"] > 0
    assert r["ingest_cpu_ms_per_note"] > 0 and r["raw_cpu_ms_per_note"] > 0
    assert 0 < r["ingest_cores_busy"] <= (os.cpu_count() or 1) + 0.5
    assert r["embed_engine"].startswith("traced")  # the bundled model runs traced on CPU
