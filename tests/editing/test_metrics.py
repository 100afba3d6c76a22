"""The metric arithmetic, on a scripted memory whose answers are known in advance."""

from __future__ import annotations

import pytest

from memkit.editing import EditRequest, TargetScore, evaluate_edits, locality_baseline
from memkit.errors import InvalidInputError


class Scripted:
    """Answers score() from a table: prompt -> (token accuracy, predicted ids)."""

    def __init__(self, table):
        self.table = table

    def score(self, prompts, targets):
        return [TargetScore(token_accuracy=self.table[p][0], log_prob=-1.0, n_tokens=len(self.table[p][1]),
                            predicted=self.table[p][1]) for p in prompts]


def test_reliability_generalization_locality():
    reqs = [EditRequest(prompt="a", target_new="x", rephrase_prompt="a2", locality_prompt="l1", locality_ground_truth="g"),
            EditRequest(prompt="b", target_new="y", rephrase_prompt="b2", locality_prompt="l2", locality_ground_truth="g"),
            EditRequest(prompt="c", target_new="z")]
    before = Scripted({"l1": (1.0, [1, 2]), "l2": (1.0, [3, 4, 5, 6])})
    baseline = locality_baseline(before, reqs)
    assert baseline[2] is None and baseline[0].predicted == [1, 2]
    after = Scripted({"a": (1.0, [9]), "b": (0.5, [9, 9]), "c": (0.0, [9]), "a2": (1.0, [9]), "b2": (0.0, [9]),
                      "l1": (1.0, [1, 7]), "l2": (1.0, [3, 4, 5, 6])})
    m = evaluate_edits(after, reqs, baseline)
    assert m.n_edits == 3
    assert m.reliability == pytest.approx(0.5)
    assert m.generalization == pytest.approx(0.5)  # only edits with a rephrase count
    assert m.locality == pytest.approx((0.5 + 1.0) / 2)
    assert m.per_edit[2]["generalization"] is None and m.per_edit[0]["locality"] == 0.5


def test_no_baseline_no_locality_and_errors():
    reqs = [EditRequest(prompt="a", target_new="x")]
    assert evaluate_edits(Scripted({"a": (1.0, [1])}), reqs).locality is None
    with pytest.raises(InvalidInputError):
        evaluate_edits(Scripted({}), [])
    with pytest.raises(InvalidInputError):
        evaluate_edits(Scripted({"a": (1.0, [1])}), reqs, baseline=[])
