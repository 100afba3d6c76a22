"""The metric arithmetic, on a scripted memory whose answers are known in advance."""

from __future__ import annotations

import pytest

from memkit.editing import EditRequest, TargetScore, evaluate_edits, locality_baseline
from memkit.errors import InvalidInputError


class Scripted:
    """Answers score() from a table: prompt -> (token accuracy, predicted ids)."""

    def __init__(self, table, routes=None):
        self.table = table
        self.routes = routes or {}

    def score(self, prompts, targets):
        return [TargetScore(token_accuracy=self.table[p][0], log_prob=-1.0, n_tokens=len(self.table[p][1]),
                            predicted=self.table[p][1], routed=self.routes.get(p)) for p in prompts]


class Routed(Scripted):
    """A scripted memory with side memories: memory 0 holds edit "a", memory 1 edits "b" and "c"."""

    def memory_edit_ids(self):
        return [["a"], ["b", "c"]]


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
    assert m.reliability_em == pytest.approx(1 / 3) and m.generalization_em == pytest.approx(0.5)  # b: half its tokens
    assert m.routing is None  # a memory without side memories says nothing about routing


def test_exact_match_and_where_rephrases_and_locality_prompts_were_routed():
    reqs = [EditRequest(id=i, prompt=i, target_new="x", rephrase_prompt=f"{i}2", locality_prompt=f"l{i}",
                        locality_ground_truth="g") for i in ("a", "b", "c")]
    table = {p: (1.0, [1]) for p in ("a", "b", "c", "a2", "b2", "c2", "la", "lb", "lc")}
    baseline = locality_baseline(Scripted(table), reqs)
    routes = {"a": 0, "b": 1, "c": 1, "a2": 0, "b2": 0, "lc": 1}  # b2 went to a's memory, c2 to the main model
    m = evaluate_edits(Routed(table, routes), reqs, baseline)
    assert m.reliability_em == 1.0 and m.generalization_em == 1.0
    assert m.routing["rephrase"] == pytest.approx({"own": 1 / 3, "main": 1 / 3, "other": 1 / 3})
    assert m.routing["locality"] == pytest.approx({"main": 2 / 3, "side": 1 / 3})


def test_no_baseline_no_locality_and_errors():
    reqs = [EditRequest(prompt="a", target_new="x")]
    assert evaluate_edits(Scripted({"a": (1.0, [1])}), reqs).locality is None
    with pytest.raises(InvalidInputError):
        evaluate_edits(Scripted({}), [])
    with pytest.raises(InvalidInputError):
        evaluate_edits(Scripted({"a": (1.0, [1])}), reqs, baseline=[])
