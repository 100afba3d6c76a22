from __future__ import annotations

import json

import pytest

from memkit.editing import load_edit_dataset
from memkit.errors import InvalidInputError

ZSRE = [{"subject": "Watts Humphrey", "src": "What university did Watts Humphrey attend?", "pred": "x",
         "rephrase": "What university did Watts Humphrey go to?", "alt": "University of Michigan",
         "answers": ["Illinois Institute of Technology"], "loc": "nq question: who played desmond doss father",
         "loc_ans": "Hugo Weaving", "cond": "..."}]
COUNTERFACT = [{"case_id": 7, "requested_rewrite": {"prompt": "The mother tongue of {} is", "subject": "Danielle Darrieux",
                "target_new": {"str": "English"}, "target_true": {"str": "French"}},
                "paraphrase_prompts": ["Danielle Darrieux spoke the language"],
                "neighborhood_prompts": ["The native language of Montesquieu is"]}]
EASYEDIT = [{"prompt": "Who is the CEO of X?", "target_new": "Ann", "ground_truth": ["Bob"], "subject": "X",
             "rephrase_prompt": "X is led by", "locality": {"Relation_Specificity": {"prompt": "Y is led by",
                                                                                      "ground_truth": ["Cy"]}}}]


def _write(tmp_path, name, data):
    path = tmp_path / name
    path.write_text(json.dumps(data) if not name.endswith(".jsonl") else "\n".join(json.dumps(d) for d in data))
    return path


def test_zsre(tmp_path):
    [r] = load_edit_dataset(_write(tmp_path, "zsre.json", ZSRE))
    assert r.prompt == ZSRE[0]["src"] and r.target_new == "University of Michigan"
    assert r.ground_truth == "Illinois Institute of Technology" and r.rephrase_prompt.endswith("go to?")
    assert r.locality_prompt == "who played desmond doss father" and r.locality_ground_truth == "Hugo Weaving"


def test_counterfact(tmp_path):
    [r] = load_edit_dataset(_write(tmp_path, "cf.jsonl", COUNTERFACT))
    assert r.prompt == "The mother tongue of Danielle Darrieux is" and r.target_new == "English"
    assert r.ground_truth == "French" and r.subject == "Danielle Darrieux" and r.id == "7"
    assert r.locality_prompt == "The native language of Montesquieu is"


def test_easyedit_flat_with_nested_locality(tmp_path):
    [r] = load_edit_dataset(_write(tmp_path, "e.json", {"data": EASYEDIT}))
    assert (r.prompt, r.target_new, r.ground_truth) == ("Who is the CEO of X?", "Ann", "Bob")
    assert (r.locality_prompt, r.locality_ground_truth) == ("Y is led by", "Cy")


def test_limit_and_errors(tmp_path):
    assert len(load_edit_dataset(_write(tmp_path, "z.json", ZSRE * 5), limit=2)) == 2
    with pytest.raises(InvalidInputError, match="no edit dataset"):
        load_edit_dataset(tmp_path / "missing.json")
    with pytest.raises(InvalidInputError, match="unrecognised"):
        load_edit_dataset(_write(tmp_path, "bad.json", [{"question": "?"}]))
    bad = tmp_path / "broken.json"
    bad.write_text("{not json")
    with pytest.raises(InvalidInputError, match="not valid JSON"):
        load_edit_dataset(bad)
    with pytest.raises(InvalidInputError, match="lacks"):
        load_edit_dataset(_write(tmp_path, "z2.json", [{"src": "q", "alt": "a"}]), fmt="counterfact")
