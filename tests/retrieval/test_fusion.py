"""memkit.retrieval.fusion: reciprocal rank fusion, min-max and standardised scores, and ``fuse``."""

from __future__ import annotations

import math

import pytest

from memkit.config import RetrievalConfig
from memkit.retrieval.fusion import fuse, normalised, rrf, standardised


def _order(scores: dict[str, float]) -> list[str]:
    return sorted(scores, key=lambda i: (-scores[i], i))


# -- rrf -----------------------------------------------------------------------------------------------------------
def test_rrf_sums_weight_over_k_plus_rank():
    fused = rrf({"dense": ["a", "b"], "lexical": ["b", "c"]}, {"dense": 1.0, "lexical": 2.0}, k=60)
    assert fused["a"] == pytest.approx(1 / 61)
    assert fused["b"] == pytest.approx(1 / 62 + 2 / 61)
    assert fused["c"] == pytest.approx(2 / 62)
    assert _order(fused) == ["b", "c", "a"]


def test_rrf_skips_lists_of_zero_weight_and_weighs_unknown_lists_one():
    fused = rrf({"dense": ["a"], "lexical": ["b"], "feedback": ["c"]}, {"dense": 0.0, "lexical": 1.0}, k=1)
    assert "a" not in fused
    assert fused == {"b": pytest.approx(1 / 2), "c": pytest.approx(1 / 2)}


def test_rrf_of_nothing_is_empty():
    assert dict(rrf({}, {}, 60)) == {}
    assert dict(rrf({"dense": []}, {}, 60)) == {}


# -- normalised ----------------------------------------------------------------------------------------------------
def test_normalised_is_min_max():
    assert normalised({"a": 3.0, "b": 1.0, "c": 2.0}) == {"a": 1.0, "b": 0.0, "c": 0.5}


def test_normalised_equal_scores_are_all_one_and_empty_stays_empty():
    assert normalised({"a": 0.3, "b": 0.3}) == {"a": 1.0, "b": 1.0}
    assert normalised({}) == {}


# -- standardised --------------------------------------------------------------------------------------------------
def test_standardised_counts_a_missing_id_as_the_lowest_score():
    z = standardised({"a": 3.0, "b": 1.0}, {"a", "b", "c"})
    # values 3, 1, 1: mean 5/3, std sqrt(8/9)
    sd = math.sqrt(8 / 9)
    assert z["a"] == pytest.approx((3 - 5 / 3) / sd)
    assert z["b"] == pytest.approx((1 - 5 / 3) / sd)
    assert z["c"] == pytest.approx(z["b"])
    assert sum(z.values()) == pytest.approx(0.0, abs=1e-12)


def test_standardised_with_a_floor_counts_a_missing_id_as_the_floor():
    z = standardised({"a": 3.0, "b": 1.0}, {"a", "b", "c"}, floor=0.0)
    # values 3, 1, 0: mean 4/3, std sqrt(14/9)
    sd = math.sqrt(14 / 9)
    assert z == {"a": pytest.approx(5 / 3 / sd), "b": pytest.approx(-1 / 3 / sd), "c": pytest.approx(-4 / 3 / sd)}
    assert z["c"] < z["b"]  # the floor lies below every returned score


def test_standardised_equal_scores_tell_nothing():
    assert standardised({"a": 2.0, "b": 2.0}, {"a", "b", "c"}) == {"a": 0.0, "b": 0.0, "c": 0.0}
    assert standardised({}, {"a"}) == {}


# -- fuse ----------------------------------------------------------------------------------------------------------
def _flat_dense_with_standout_lexical() -> dict[str, dict[str, float]]:
    # ten near-equal dense similarities, "x" among them (not the best); BM25 finds "x" far above anything else
    dense = {f"d{i}": 0.60 - 0.002 * i for i in range(10)}
    dense["x"] = 0.591
    return {"dense": dense, "lexical": {"x": 8.0, "d3": 0.5, "d7": 0.4}}


def test_z_fusion_lifts_a_candidate_that_stands_out_in_one_retriever_over_a_flat_run():
    parts = _flat_dense_with_standout_lexical()
    fused = fuse(parts, RetrievalConfig(fusion="z"))
    assert set(fused) == set(parts["dense"])
    assert _order(fused)[0] == "x"
    assert fused["x"] > fused["d0"]  # the best of the flat dense run


def test_z_fusion_the_other_way_round():
    lexical = {f"l{i}": 3.0 - 0.01 * i for i in range(10)}
    lexical["y"] = 2.955
    dense = {i: 0.40 + 0.001 * n for n, i in enumerate(lexical)}
    dense["y"] = 0.85  # far above the rest
    fused = fuse({"dense": dense, "lexical": lexical}, RetrievalConfig(fusion="z"))
    assert _order(fused)[0] == "y"
    assert fused["y"] > fused["l0"]


def test_z_fusion_weights_switch_a_retriever_off():
    parts = _flat_dense_with_standout_lexical()
    fused = fuse(parts, RetrievalConfig(fusion="z", lexical_weight=0.0))
    assert _order(fused) == _order(parts["dense"])  # dense alone decides


def test_z_fusion_scores_are_positive_and_the_weakest_keeps_a_tenth_of_the_spread():
    fused = fuse(_flat_dense_with_standout_lexical(), RetrievalConfig(fusion="z"))
    low, top = min(fused.values()), max(fused.values())
    assert low > 0
    assert low == pytest.approx(0.1 * (top - low))


def test_z_fusion_keeps_the_standardised_differences():
    parts = _flat_dense_with_standout_lexical()
    ids = set(parts["dense"]) | set(parts["lexical"])
    raw = {i: standardised(parts["dense"], ids)[i] + standardised(parts["lexical"], ids, floor=0.0)[i] for i in ids}
    fused = fuse(parts, RetrievalConfig(fusion="z"))
    shift = {i: fused[i] - raw[i] for i in ids}
    assert max(shift.values()) - min(shift.values()) == pytest.approx(0.0, abs=1e-9)  # one shift for all


def test_z_fusion_equal_scores_are_all_zero_before_the_shift():
    fused = fuse({"dense": {"a": 0.5, "b": 0.5}, "lexical": {"a": 1.0, "b": 1.0}}, RetrievalConfig(fusion="z"))
    assert dict(fused) == {"a": 1.0, "b": 1.0}


def test_z_fusion_lexical_floor_is_zero():
    # "c" is not returned by BM25: it counts as 0 (sharing no word), not as BM25's lowest score (2.0)
    fused = fuse({"dense": {"a": 0.5, "b": 0.5, "c": 0.5}, "lexical": {"a": 3.0, "b": 2.0}},
                 RetrievalConfig(fusion="z"))
    z = standardised({"a": 3.0, "b": 2.0}, {"a", "b", "c"}, floor=0.0)
    assert fused["a"] - fused["c"] == pytest.approx(z["a"] - z["c"])
    assert fused["b"] - fused["c"] == pytest.approx(z["b"] - z["c"])


def test_score_fusion_is_the_weighted_sum_of_min_max_scores():
    parts = {"dense": {"a": 1.0, "b": 0.5, "c": 0.0}, "lexical": {"a": 2.0, "b": 4.0}}
    fused = fuse(parts, RetrievalConfig(fusion="score", lexical_weight=2.0))
    assert dict(fused) == {"a": pytest.approx(1.0), "b": pytest.approx(2.5), "c": pytest.approx(0.0)}


def test_rrf_fusion_ranks_each_retriever_by_score():
    parts = {"dense": {"a": 0.1, "b": 0.9}, "lexical": {"a": 5.0}}
    fused = fuse(parts, RetrievalConfig(fusion="rrf", rrf_k=10, dense_weight=0.5))
    assert fused["b"] == pytest.approx(0.5 / 11)
    assert fused["a"] == pytest.approx(0.5 / 12 + 1 / 11)


def test_fuse_of_nothing_is_empty():
    for fusion in ("z", "score", "rrf"):
        assert dict(fuse({}, RetrievalConfig(fusion=fusion))) == {}
        assert dict(fuse({"dense": {}, "lexical": {}}, RetrievalConfig(fusion=fusion))) == {}
