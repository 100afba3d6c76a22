"""Command-line config overrides shared by the editing scripts."""

from __future__ import annotations

import pytest

from memkit.config import parse_assignment


def test_values_are_json_or_bare_strings():
    assert parse_assignment("mask_ratio=1.0") == ("mask_ratio", 1.0)
    assert parse_assignment("augment=true") == ("augment", True)
    assert parse_assignment("prefix_lengths=[5, 10]") == ("prefix_lengths", [5, 10])
    assert parse_assignment("layer=model.layers.14.mlp.down_proj") == ("layer", "model.layers.14.mlp.down_proj")


@pytest.mark.parametrize("bad", ["mask_ratio", "=1.0"])
def test_a_missing_key_or_equals_sign_is_named(bad):
    with pytest.raises(ValueError, match="KEY=VALUE"):
        parse_assignment(bad)


def test_diagnose_turns_a_bad_override_into_one_line():
    pytest.importorskip("torch")
    from memkit.editing.wise.diagnose import main

    with pytest.raises(SystemExit, match="--set"):
        main(["--t", "1", "--set", "no_such_option=1"])
