"""memkit.retrieval.pipeline (read_query, spread_sessions, mmr) and the ``period`` and ``present`` adjusters
through a real Memory (bundled all-MiniLM-L6-v2, Chroma, SQLite)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone

import numpy as np
import pytest

from memkit import Memory
from memkit.config import RetrievalConfig
from memkit.filters import build_filter
from memkit.retrieval.pipeline import mmr, read_query, spread_sessions
from memkit.retrieval.query import lexical_match
from memkit.timeref import time_windows
from memkit.types import Candidate

UTC = timezone.utc
ASKED = datetime(2023, 5, 17, 20, 0, tzinfo=UTC)  # a Wednesday evening


def _cand(session: str | None = None, vec: list[float] | None = None) -> Candidate:
    return Candidate(embedding=None if vec is None else np.array(vec, np.float32), content="x", speaker=None,
                     valid_from_ts=0.0, session_id=session)


# -- spread_sessions -------------------------------------------------------------------------------------------------
def test_spread_sessions_scales_each_note_by_the_better_notes_of_its_session():
    ranked = ["a1", "a2", "b1", "a3"]
    score = {"a1": 1.0, "a2": 0.9, "b1": 0.8, "a3": 0.7}
    feats = {"a1": _cand("A"), "a2": _cand("A"), "b1": _cand("B"), "a3": _cand("A")}
    # adjusted: a1 1.0, a2 0.9*0.5 = 0.45, b1 0.8, a3 0.7*0.25 = 0.175
    assert spread_sessions(ranked, score, 4, 0.5, feats) == pytest.approx({"a1": 1.0, "b1": 0.8, "a2": 0.45, "a3": 0.175})
    assert list(spread_sessions(ranked, score, 4, 0.5, feats)) == ["a1", "b1", "a2", "a3"]
    assert list(spread_sessions(ranked, score, 2, 0.5, feats)) == ["a1", "b1"]
    assert score == {"a1": 1.0, "a2": 0.9, "b1": 0.8, "a3": 0.7}  # the scores themselves are left alone


def test_spread_sessions_without_penalty_keeps_the_order():
    ranked = ["a1", "a2", "b1"]
    score = {"a1": 1.0, "a2": 0.9, "b1": 0.8}
    feats = {"a1": _cand("A"), "a2": _cand("A"), "b1": _cand("B")}
    assert list(spread_sessions(ranked, score, 3, 0.0, feats)) == ranked


def test_spread_sessions_never_scales_notes_without_a_session():
    ranked = ["n1", "n2", "n3"]
    score = {"n1": 1.0, "n2": 0.9, "n3": 0.8}
    feats = {i: _cand(None) for i in ranked}
    assert list(spread_sessions(ranked, score, 3, 0.9, feats)) == ranked


def test_spread_sessions_breaks_ties_by_id():
    score = {"b": 0.5, "a": 0.5}
    feats = {"a": _cand("A"), "b": _cand("B")}
    assert list(spread_sessions(["b", "a"], score, 2, 0.1, feats)) == ["a", "b"]


# -- mmr ---------------------------------------------------------------------------------------------------------------
def test_mmr_trades_score_for_novelty():
    feats = {"a": _cand(vec=[1, 0]), "a2": _cand(vec=[1, 0]), "b": _cand(vec=[0, 1])}
    score = {"a": 1.0, "a2": 0.95, "b": 0.6}
    assert mmr(["a", "a2", "b"], score, 2, 0.5, feats) == ["a", "b"]  # a2 repeats a: 0.95 - 0.5 < 0.6
    assert mmr(["a", "a2", "b"], score, 2, 0.0, feats) == ["a", "a2"]  # no penalty: by score
    assert mmr(["a", "a2", "b"], score, 5, 0.5, feats) == ["a", "b", "a2"]  # at most all of them


def test_mmr_treats_a_note_without_embedding_as_unlike_any():
    feats = {"a": _cand(vec=[1, 0]), "n": _cand(vec=None), "a2": _cand(vec=[1, 0])}
    score = {"a": 1.0, "a2": 0.9, "n": 0.5}
    assert mmr(["a", "a2", "n"], score, 2, 0.6, feats) == ["a", "n"]


# -- read_query ----------------------------------------------------------------------------------------------------
def test_read_query_reads_words_speakers_and_windows_as_of_the_question(fast_mem):
    fast_mem.add("You could try the Thai place.", user_id="u", metadata={"speaker": "assistant"})
    fast_mem.add("I like spicy food.", user_id="u", metadata={"speaker": "user"})
    cfg = RetrievalConfig()
    text = "What restaurant did you recommend two weeks ago?"
    flt = build_filter(None, user_id="u", as_of=ASKED)
    q = read_query(fast_mem.engine, text, 5, flt, cfg)
    assert q.now == ASKED
    assert q.windows == tuple(time_windows(text, ASKED)) and len(q.windows) == 1
    assert q.lexical == lexical_match(text)
    assert q.speakers == frozenset({"assistant"})
    assert q.vector is not None and q.vector.shape == fast_mem.engine.embed_query(text).shape

    off = RetrievalConfig(time_weight=0.0, speaker_boost=0.0, lexical=False)
    q = read_query(fast_mem.engine, text, 5, flt, off)
    assert q.windows == () and q.speakers == frozenset() and q.lexical is None
    q = read_query(fast_mem.engine, text, 5, flt, RetrievalConfig(dense=False))
    assert q.vector is None


def test_read_query_without_as_of_is_asked_now(fast_mem):
    q = read_query(fast_mem.engine, "What did I do yesterday?", 5, build_filter(None), RetrievalConfig())
    assert abs((datetime.now(UTC) - q.now).total_seconds()) < 60
    assert q.windows and all(end <= q.now for _, end in q.windows)


# A note whose metadata.speaker is blank must not break the searches of its scope.
def test_a_blank_speaker_does_not_break_search(fast_mem):
    fast_mem.add("Hello there, nice weather.", user_id="u", metadata={"speaker": "   "})
    fast_mem.add("Mel went to Porto in May.", user_id="u", metadata={"speaker": "Mel"})
    hits = fast_mem.search("Where did Mel go?", k=2, user_id="u")
    assert "Porto" in hits[0].note.content


# -- adjusters through a real Memory ---------------------------------------------------------------------------------
PERIOD_NOTES = [  # asked on 17 May; "two weeks ago" is around 3 May
    ("I went hiking in the hills with my sister.", datetime(2023, 5, 14, 10, tzinfo=UTC)),
    ("I baked sourdough bread for the neighbours.", datetime(2023, 4, 10, tzinfo=UTC)),
    ("I painted the garden fence blue.", datetime(2023, 5, 15, tzinfo=UTC)),
    ("I finished my tax return.", datetime(2023, 3, 1, tzinfo=UTC)),
    ("I watched a documentary about whales.", datetime(2023, 2, 10, tzinfo=UTC)),
    ("I fixed the flat tyre on my bike.", datetime(2023, 5, 3, tzinfo=UTC)),
    ("I did a two week course on pottery.", datetime(2023, 4, 20, tzinfo=UTC)),
]
PRESENT_NOTES = [
    ("I live in Lisbon.", datetime(2021, 1, 1, tzinfo=UTC)),
    ("I live in a flat with two cats.", datetime(2022, 1, 1, tzinfo=UTC)),
    ("My favourite colour is green.", datetime(2022, 6, 1, tzinfo=UTC)),
    ("I live in Porto.", datetime(2023, 4, 1, tzinfo=UTC)),
]


@pytest.fixture(scope="module")
def real(tmp_path_factory) -> Iterator[Memory]:
    with Memory(tmp_path_factory.mktemp("adjusters") / "mem") as mem:
        mem.add_many([{"content": c, "valid_from": v, "user_id": "period"} for c, v in PERIOD_NOTES]
                     + [{"content": c, "valid_from": v, "user_id": "present"} for c, v in PRESENT_NOTES],
                     progress=False)
        yield mem


@contextmanager
def retrieval(mem: Memory, **changes) -> Iterator[None]:
    base = mem.config.retrieval
    mem.config.retrieval = RetrievalConfig(**{**base.model_dump(), **changes})
    try:
        yield
    finally:
        mem.config.retrieval = base


def _search(mem: Memory, query: str, user: str) -> dict[str, object]:
    return {h.note.content: h for h in mem.search(query, k=10, user_id=user, as_of=ASKED)}


def test_period_lifts_the_notes_from_the_window_the_question_names(real):
    query = "What did I do two weeks ago?"
    with retrieval(real, time_weight=0.2):
        lifted = _search(real, query, "period")
    with retrieval(real, time_weight=0.0):
        plain = _search(real, query, "period")
    assert set(lifted) == set(plain) == {c for c, _ in PERIOD_NOTES}
    bike, hiking = "I fixed the flat tyre on my bike.", "I went hiking in the hills with my sister."
    # only the note from around 3 May is from the period named, and its score is 1 + time_weight times higher
    assert {c for c, h in lifted.items() if h.scores.period is not None} == {bike}
    assert all(h.scores.period is None for h in plain.values())  # time_weight=0: no period, scores unchanged
    assert lifted[bike].scores.period == 1.0
    assert lifted[bike].score == pytest.approx(1.2 * plain[bike].score, rel=1e-4)
    for content in set(lifted) - {bike}:
        assert lifted[content].score == pytest.approx(plain[content].score, rel=1e-5)
    # enough to pass a note that matched better without it
    assert plain[hiking].score > plain[bike].score and lifted[bike].score > lifted[hiking].score


def test_the_period_counts_from_when_the_question_is_asked(real):
    later = datetime(2023, 5, 29, 12, tzinfo=UTC)  # two weeks before: around 15 May
    hits = {h.note.content: h for h in real.search("What did I do two weeks ago?", k=10, user_id="period",
                                                    as_of=later)}
    assert {c for c, h in hits.items() if h.scores.period is not None} == {
        "I went hiking in the hills with my sister.", "I painted the garden fence blue."}


def test_present_weights_candidates_by_their_place_in_time(real):
    query = "Where do I live now?"
    with retrieval(real, present_weight=0.5):
        now = _search(real, query, "present")
    with retrieval(real, present_weight=0.0):
        flat = _search(real, query, "present")
    ts = {c: v.timestamp() for c, v in PRESENT_NOTES}
    oldest, newest = min(ts.values()), max(ts.values())  # every note of the scope is a candidate
    for content, hit in now.items():
        expected = 1 + 0.5 * (ts[content] - oldest) / (newest - oldest)
        assert hit.score == pytest.approx(expected * flat[content].score, rel=1e-4)
    assert next(iter(now)) == "I live in Porto."  # the newest home answers "now"
    assert next(iter(flat)) == "I live in Lisbon."  # without it the older one matched as well or better


def test_present_leaves_a_question_not_about_the_present_alone(real):
    with retrieval(real, present_weight=0.5):
        weighted = _search(real, "Where did I live?", "present")
    with retrieval(real, present_weight=0.0):
        flat = _search(real, "Where did I live?", "present")
    assert {c: h.score for c, h in weighted.items()} == {c: h.score for c, h in flat.items()}


def test_speakers_of_many_scopes_are_kept_until_the_store_changes(fast_mem, monkeypatch):
    # a daemon serves many users in turn: each one's speakers are read once, not at every search
    for u in ("u1", "u2", "u3"):
        fast_mem.add(f"I live in {u}.", user_id=u, metadata={"speaker": f"person-{u}"})
    engine, reads = fast_mem.engine, []
    real = engine.store.speakers
    monkeypatch.setattr(engine.store, "speakers", lambda flt: reads.append(flt) or real(flt))
    scopes = [build_filter(None, user_id=u) for u in ("u1", "u2", "u3")]
    for _ in range(3):
        assert [engine.speakers(f) for f in scopes] == [{"person-u1"}, {"person-u2"}, {"person-u3"}]
    assert len(reads) == 3
    fast_mem.add("You said so.", user_id="u2", metadata={"speaker": "assistant"})
    assert engine.speakers(scopes[1]) == {"person-u2", "assistant"} and len(reads) == 4
