"""The sequential-editing benchmark script: overrides are checked before any model loads; a tiny run end to end."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch")

from memkit.editing.benchmark import _configs, main  # noqa: E402
from memkit.errors import ConfigError  # noqa: E402


@pytest.mark.parametrize("override,message", [
    ("wise.mask_ratio=7", "wise: mask_ratio: Input should be less than or equal to 1"),
    ("wsie.mask_ratio=1", "overrides for back ends that are not run: ['wsie'] (run: ['wise'])"),
    ("mask_ratio=1", "--set 'mask_ratio=1': expected BACKEND.KEY=JSON"),
    ("wise@tiny.n_iter=1", "no WISE profile 'tiny'; known: ['paper', 'smollm2']"),
])
def test_a_bad_override_is_one_usage_error(capsys, override, message):
    with pytest.raises(SystemExit) as info:
        main(["--backends", override.split(".")[0] if "@" in override else "wise", "--t", "1", "--set", override])
    assert info.value.code == 2
    assert capsys.readouterr().err.strip().endswith(f"error: {message}")


def test_overrides_apply_to_their_back_end_only():
    configs = _configs(["wise", "ft-l"], None, {"wise": {"n_iter": 7}})
    assert configs["wise"].n_iter == 7 and configs["ft-l"].n_iter != 7


def test_named_profiles_run_beside_the_papers_settings():
    from memkit.editing import WISEConfig

    configs = _configs(["unedited", "wise", "wise@smollm2", "wise-embed@smollm2"], None,
                       {"wise@smollm2": {"n_iter": 9}})
    assert configs["wise"] == WISEConfig() and configs["wise@smollm2"] == WISEConfig.smollm2(n_iter=9)
    embed = configs["wise-embed@smollm2"]
    assert (embed.router, embed.margin, embed.edit_lr, embed.save_freq) == ("embedding", False, 0.2, 1)
    with pytest.raises(ConfigError, match="ft-l has no named profiles"):
        _configs(["ft-l@smollm2"], None, None)
    with pytest.raises(ConfigError, match="unknown parametric_memories 'wsie'; did you mean 'wise'"):
        _configs(["wsie"], None, None)


def test_a_tiny_run_writes_results(tmp_path, tiny_llama, tiny_tokenizer):
    tiny_llama.save_pretrained(tmp_path / "model")
    tiny_tokenizer.save_pretrained(tmp_path / "model")
    main(["--backends", "unedited", "wise", "ft-l", "--t", "2", "--base-model", str(tmp_path / "model"),
          "--device", "cpu", "--set", "wise.layer=\"model.layers.2.mlp.down_proj\"", "--set", "wise.augment=false",
          "--set", "ft-l.layer=\"model.layers.2.mlp.down_proj\"", "--out", str(tmp_path / "out"), "--no-progress"])
    data = json.loads((tmp_path / "out" / "results.json").read_text())
    unedited, wise, ft = data["results"]
    assert [(r["backend"], r["T"]) for r in data["results"]] == [("unedited", 2), ("wise", 2), ("ft-l", 2)]
    assert unedited["locality"] is None and unedited["seconds_per_edit"] is None and unedited["routing"] is None
    assert all(0.0 <= r[m] <= 1.0 for r in (wise, ft) for m in ("reliability", "generalization", "locality"))
    assert all(r["reliability_em"] <= r["reliability"] for r in data["results"])
    assert set(wise["routing"]) == {"rephrase", "locality"} and ft["routing"] is None
    assert wise["mb_per_edit"] > 0 and wise["describe"]["memories_scored_per_forward"] == 1
    assert (tmp_path / "out" / "results.png").stat().st_size > 0


def test_merge_joins_earlier_runs_into_one_table(tmp_path, capsys):
    row = {"backend": "wise", "T": 1, "reliability": 1.0, "generalization": 0.5, "locality": 1.0,
           "reliability_em": 1.0, "generalization_em": 0.0, "routing": None, "mb_per_edit": 3.4,
           "seconds_per_edit": 2.0, "seconds": 2.0, "describe": {"memories_scored_per_forward": 1}, "config": {}}
    run = {"base_model": "m", "seed": 1, "machine": {"device": "cpu"}, "results": [row]}
    (tmp_path / "a.json").write_text(json.dumps(run))
    (tmp_path / "b.json").write_text(json.dumps({**run, "results": [{**row, "backend": "ft-l"}]}))
    assert main(["--merge", str(tmp_path / "a.json"), str(tmp_path / "b.json"), "--out", str(tmp_path / "out")]) == 0
    data = json.loads((tmp_path / "out" / "results.json").read_text())
    assert [r["backend"] for r in data["results"]] == ["wise", "ft-l"] and "ft-l" in capsys.readouterr().out
    (tmp_path / "c.json").write_text(json.dumps({**run, "seed": 2}))
    with pytest.raises(SystemExit):
        main(["--merge", str(tmp_path / "a.json"), str(tmp_path / "c.json"), "--out", str(tmp_path / "out")])
