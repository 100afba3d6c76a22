"""Command-line config overrides shared by the editing scripts."""

from __future__ import annotations

import pytest

from memkit.editing.config import parse_override


def test_values_are_json_or_bare_strings():
    assert parse_override("mask_ratio=1.0") == ("mask_ratio", 1.0)
    assert parse_override("augment=true") == ("augment", True)
    assert parse_override("prefix_lengths=[5, 10]") == ("prefix_lengths", [5, 10])
    assert parse_override("layer=model.layers.14.mlp.down_proj") == ("layer", "model.layers.14.mlp.down_proj")


@pytest.mark.parametrize("bad", ["mask_ratio", "=1.0"])
def test_a_missing_key_or_equals_sign_is_named(bad):
    with pytest.raises(ValueError, match="KEY=VALUE"):
        parse_override(bad)


def test_diagnose_turns_a_bad_override_into_one_line():
    pytest.importorskip("torch")
    from memkit.editing.wise.diagnose import main

    with pytest.raises(SystemExit, match="--set"):
        main(["--t", "1", "--set", "no_such_option=1"])
