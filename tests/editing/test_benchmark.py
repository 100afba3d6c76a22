"""The sequential-editing benchmark script: overrides are checked before any model loads; a tiny run end to end."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch")

from memkit.editing.benchmark import _configs, main  # noqa: E402


@pytest.mark.parametrize("override,message", [
    ("wise.mask_ratio=7", "wise: mask_ratio: Input should be less than or equal to 1"),
    ("wsie.mask_ratio=1", "overrides for back ends that are not run: ['wsie'] (run: ['wise'])"),
    ("mask_ratio=1", "--set 'mask_ratio=1': expected BACKEND.KEY=JSON"),
])
def test_a_bad_override_is_one_usage_error(capsys, override, message):
    with pytest.raises(SystemExit) as info:
        main(["--backends", "wise", "--t", "1", "--set", override])
    assert info.value.code == 2
    assert capsys.readouterr().err.strip().endswith(f"error: {message}")


def test_overrides_apply_to_their_back_end_only():
    configs = _configs(["wise", "ft-l"], None, {"wise": {"n_iter": 7}})
    assert configs["wise"].n_iter == 7 and configs["ft-l"].n_iter != 7


def test_a_tiny_run_writes_results(tmp_path, tiny_llama, tiny_tokenizer):
    tiny_llama.save_pretrained(tmp_path / "model")
    tiny_tokenizer.save_pretrained(tmp_path / "model")
    main(["--backends", "wise", "ft-l", "--t", "2", "--base-model", str(tmp_path / "model"), "--device", "cpu",
          "--set", "wise.layer=\"model.layers.2.mlp.down_proj\"", "--set", "ft-l.layer=\"model.layers.2.mlp.down_proj\"",
          "--out", str(tmp_path / "out"), "--no-progress"])
    data = json.loads((tmp_path / "out" / "results.json").read_text())
    assert [(r["backend"], r["T"]) for r in data["results"]] == [("wise", 2), ("ft-l", 2)]
    assert all(0.0 <= r[m] <= 1.0 for r in data["results"] for m in ("reliability", "generalization", "locality"))
    assert (tmp_path / "out" / "results.png").stat().st_size > 0
