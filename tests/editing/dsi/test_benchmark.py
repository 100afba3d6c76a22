"""The DSI++ benchmark script, end to end on a tiny model saved to a folder."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch")

from memkit.editing.dsi.benchmark import hits, main  # noqa: E402


def test_hits_counts_the_gold_note_within_k():
    ranked = [["a", "b"], ["c"], []]
    assert hits(ranked, ["b", "c", "d"], 1) == pytest.approx(1 / 3)
    assert hits(ranked, ["b", "c", "d"], 10) == pytest.approx(2 / 3)
    assert hits([], [], 10) == 0.0


def test_the_script_measures_every_variant_after_every_batch(tmp_path, tiny_llama, tiny_tokenizer):
    folder = tmp_path / "tiny"
    tiny_llama.save_pretrained(folder)
    tiny_tokenizer.save_pretrained(folder)
    out = tmp_path / "out"
    assert main(["--notes", "3", "--batches", "2", "--variants", "plain", "replay", "--docids", "naive",
                 "--epochs", "1", "--pseudo-queries", "1", "--base-model", str(folder), "--out", str(out)]) == 0
    rows = json.loads((out / "results.json").read_text())["rows"]
    assert [(r["system"], r["after_batch"]) for r in rows] == [
        ("hybrid search", 0), ("hybrid search", 1), ("dsi plain", 0), ("dsi plain", 1), ("dsi replay", 0),
        ("dsi replay", 1)]
    assert all(0.0 <= r[k] <= 1.0 for r in rows for k in ("first hits@1", "first hits@10", "new hits@10"))
    assert rows[0]["first hits@1"] == 1.0  # hybrid search finds a person's fact by their name
    assert (out / "results.png").stat().st_size > 0
