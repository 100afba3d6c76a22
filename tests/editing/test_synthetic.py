from __future__ import annotations

import pytest

from memkit.editing import synthetic_edits
from memkit.editing.synthetic import RELATIONS, irrelevant_texts, max_synthetic_edits
from memkit.errors import InvalidInputError


def test_seeded_and_deterministic():
    assert synthetic_edits(20, seed=3) == synthetic_edits(20, seed=3)
    assert synthetic_edits(20, seed=3) != synthetic_edits(20, seed=4)


def test_hundreds_of_distinct_counterfactual_edits():
    edits = synthetic_edits(max_synthetic_edits(), seed=0)
    assert len(edits) >= 200
    assert len({e.prompt for e in edits}) == len(edits)  # one edit per (subject, relation)
    assert len({e.id for e in edits}) == len(edits)
    assert all(e.target_new != e.ground_truth for e in edits)
    assert all(e.subject and e.subject in e.prompt and e.subject in e.rephrase_prompt for e in edits)
    assert all(e.rephrase_prompt != e.prompt for e in edits)
    assert all(e.subject not in e.locality_prompt for e in edits)
    templates = {t for t, _, _ in RELATIONS.values()}
    used = {t for e in edits for t in templates if t.format(e.subject) == e.prompt}
    assert used == templates  # every relation is used


def test_first_hundred_mix_relations():
    edits = synthetic_edits(100, seed=0)
    relations = {next(name for name, (t, _, _) in RELATIONS.items() if t.format(e.subject) == e.prompt) for e in edits}
    assert len(relations) == len(RELATIONS)


def test_too_many_is_an_error():
    with pytest.raises(InvalidInputError):
        synthetic_edits(max_synthetic_edits() + 1)
    with pytest.raises(InvalidInputError):
        synthetic_edits(0)


def test_irrelevant_texts_are_not_locality_probes():
    probes = {e.locality_prompt for e in synthetic_edits(max_synthetic_edits())}
    texts = irrelevant_texts()
    assert len(texts) >= 100 and not probes & set(texts)


@pytest.mark.parametrize("seed", [0, 1])
def test_about_half_the_targets_are_several_words_long(seed):
    edits = synthetic_edits(100, seed=seed)
    several = [e for e in edits if " " in e.target_new]
    assert len(several) == 50 and all(" " in e.target_new for e in edits[1::2])
