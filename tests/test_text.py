"""Text helpers that retrieval depends on."""

from __future__ import annotations

import time

import pytest

from memkit.text import asks_about_present, candidate_phrases, content_speaker


@pytest.mark.parametrize("query,present", [
    ("Where does Maya live now?", True),
    ("What is her current job?", True),
    ("Does he still play chess these days?", True),
    ("What does Tom eat nowadays", True),
    ("Is she not vegetarian anymore?", True),
    ("Where did Maya live in 2023?", False),
    ("When did Tom know about the move?", False),  # 'know' is not 'now'
])
def test_asks_about_present(query, present):
    assert asks_about_present(query) is present


def _seconds(f, *args):
    start = time.perf_counter()
    f(*args)
    return time.perf_counter() - start


@pytest.mark.parametrize("text_of", [
    lambda n: "word " * n,  # one run of content words without a stopword: was cut by copying the run (quadratic)
    lambda n: "x " + " ".join(f"Name{i}" for i in range(n)),  # many distinct names: entities was a list lookup
], ids=["long run", "many names"])
def test_building_a_note_takes_time_linear_in_its_length(text_of):
    from memkit.builders.heuristic import HeuristicBuilder
    from memkit.types import Note

    derive = HeuristicBuilder().derive
    small, large = Note(content=text_of(10_000)), Note(content=text_of(40_000))
    t_small = min(_seconds(derive, small) for _ in range(3))
    t_large = min(_seconds(derive, large) for _ in range(2))
    assert t_large < 8 * t_small + 0.3, (t_small, t_large)  # linear: ~4x; quadratic: ~16x


def test_candidate_phrases_cut_a_long_run_into_three_word_phrases_from_the_end():
    assert candidate_phrases("alpha beta gamma delta epsilon zeta eta") == [
        "epsilon zeta eta", "beta gamma delta", "alpha"]
    run = candidate_phrases("ww " * 10_000)
    assert len(run) == 3334 and run[0] == "ww ww ww" and run[-1] == "ww"


@pytest.mark.parametrize(("content", "speaker"), [
    ("Caroline: I went to the LGBTQ support group yesterday", "Caroline"),
    ("user: I bought a new bike", "user"),
    ("assistant: Sure! Here are three ideas", "assistant"),
    ("Mary Ann Smith: hello", "Mary Ann Smith"),
    ("Dr. Who: yes", "Dr. Who"),
    ("Note: buy milk", None),  # a label
    ("TODO: call Bo", None),
    ("My plan: run every day", None),  # a sentence
    ("What: x", None),
    ("path is C:\\data[/x]", None),
    ("ratio 3: 4", None),
    ("Caroline:no space", None),
    ("A very long name of more than three words: hi", None),
    ("Hello world", None),
])
def test_who_says_a_turn_stored_as_plain_text(content, speaker):
    assert content_speaker(content) == speaker
