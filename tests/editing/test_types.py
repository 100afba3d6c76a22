from __future__ import annotations

import pytest
from pydantic import ValidationError

from memkit.editing import EditRequest, TargetScore, WriteReport


def test_edit_request_easyedit_fields_and_defaults():
    r = EditRequest(prompt="The capital of France is", target_new="Lyon", ground_truth="Paris",
                    rephrase_prompt="France's capital is", locality_prompt="2 + 2 =", locality_ground_truth="4")
    assert r.id and r.subject is None and r.ground_truth == "Paris"
    assert EditRequest(prompt="p", target_new="t").id != EditRequest(prompt="p", target_new="t").id


@pytest.mark.parametrize("bad", [{"prompt": " ", "target_new": "x"}, {"prompt": "p", "target_new": ""},
                                 {"prompt": "p", "target_new": "t", "locality_prompt": "q"},
                                 {"prompt": "p", "target_new": "t", "unknown": 1}])
def test_edit_request_rejects_bad_input(bad):
    with pytest.raises(ValidationError):
        EditRequest(**bad)


def test_blank_optional_fields_become_none():
    r = EditRequest(prompt="p", target_new="t", rephrase_prompt="  ", subject="")
    assert r.rephrase_prompt is None and r.subject is None


def test_target_score_bounds_and_mean():
    s = TargetScore(token_accuracy=0.5, log_prob=-3.0, n_tokens=2)
    assert s.mean_log_prob == -1.5
    with pytest.raises(ValidationError):
        TargetScore(token_accuracy=1.5, log_prob=0.0, n_tokens=1)
    with pytest.raises(ValidationError):
        TargetScore(token_accuracy=1.0, log_prob=0.1, n_tokens=1)


def test_write_report_rate():
    assert WriteReport(backend="x", written=4, seconds=2.0).seconds_per_write == 0.5
    assert WriteReport(backend="x").seconds_per_write == 0.0
