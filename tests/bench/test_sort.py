"""SORT on the real Book-SORT files: item construction, scoring with known answers, the LLM-free scorer."""

from __future__ import annotations

import pytest

from memkit.bench.readers import FunctionReader
from memkit.bench.records import Passage, Query
from memkit.bench.runner import run_task
from memkit.bench.systems import ContextSystem, OracleContext
from memkit.bench.tasks.sort import SortTask, chunk_words, locate
from memkit.errors import InvalidInputError

from .conftest import ScriptedSystem, choice_answer, factory, random_answer


def _gold(q: Query) -> int:
    return 0 if q.id.endswith("seg1_first") else 1


@pytest.fixture(scope="module")
def task(data_dir) -> SortTask:
    return SortTask({"excerpt_lengths": [250, 1000]}, data=str(data_dir / "booksort"))


def test_items_are_balanced_stratified_and_hold_both_segments(task):
    eps = task.episodes(limit=16, seed=3)
    assert len(eps) == 16
    assert {e.tags["excerpt_length"] for e in eps} == {250, 1000}
    assert len({e.tags["distance_bin"] for e in eps if e.tags["excerpt_length"] == 1000}) == 4
    for e in eps:
        qs = e.queries()
        assert [q.id.rsplit("/", 1)[1] for q in qs] == ["seg1_first", "seg2_first"]
        excerpt = qs[0].oracle_context[0]
        n_words = len(excerpt.split())
        assert 0.8 * e.tags["excerpt_length"] <= n_words <= 1.2 * e.tags["excerpt_length"]
        assert locate(e.gold["seg1"], [Passage(id="x", text=excerpt)])[1] >= 0.6
        # the memory notes cover the excerpt and carry their word positions
        recs = e.records()
        assert [r.metadata["position"] for r in recs] == sorted(r.metadata["position"] for r in recs)
        assert all(r.scope == recs[0].scope for r in recs)
        notes = [Passage(id=r.id, text=r.text, metadata=r.metadata) for r in recs]
        for seg in (e.gold["seg1"], e.gold["seg2"]):  # notes overlap by a segment: each lies whole in one
            assert locate(seg, notes)[1] >= 0.9


def test_same_seed_same_items_other_seed_other_items(task):
    a = [e.id for e in task.episodes(limit=8, seed=1)]
    assert a == [e.id for e in task.episodes(limit=8, seed=1)]
    assert a != [e.id for e in task.episodes(limit=8, seed=2)]


def test_right_memory_scores_one_random_about_half_always_a_exactly_half(task, tmp_path):
    systems = {
        "oracle": ScriptedSystem("oracle", lambda q: choice_answer(q, _gold(q))),
        "base": ScriptedSystem("base", lambda q: random_answer(q, seed=7)),
        "retrieval": ScriptedSystem("retrieval", lambda q: choice_answer(q, 0), persistent=True),
    }
    _, man = run_task(task, ["oracle", "base", "retrieval"], limit=40, seed=0, out=tmp_path / "run",
                      progress=False, system_factory=factory(systems))
    m = man.summary.metrics
    assert m["oracle"]["correct"].mean == 1.0 and m["oracle"]["correct"].n == 80
    assert 0.35 <= m["base"]["correct"].mean <= 0.65
    assert m["retrieval"]["correct"].mean == 0.5  # both orders asked: a position bias cannot score
    assert m["retrieval"]["chose_a"].mean == 1.0
    by_dist = next(t for t in man.summary.tables if t.id == "by_distance")
    assert any("1000" in row[0] for row in by_dist.rows)
    assert {f.id for f in man.summary.figures} == {"by_distance", "by_length"}


def test_llm_free_scorer_on_the_excerpt_is_always_right(task):
    system = ContextSystem("oracle:reader=none", "oracle", OracleContext(),
                           FunctionReader(task.llm_free_answer, "llm-free", frozenset({"choose"})))
    eps = task.episodes(limit=10, seed=5)
    right = 0
    for e in eps:
        for q, a in zip(e.queries(), system.answer(e.queries()), strict=True):
            right += a.choice == _gold(q)
            assert a.meta["guessed"] is False
    assert right == 20


def test_llm_free_scorer_guesses_by_coin_when_segments_are_missing(task):
    e = task.episodes(limit=4, seed=0)[0]
    answers = [task.llm_free_answer(q, []) for q in e.queries()]
    assert all(a.meta["guessed"] for a in answers)
    again = [task.llm_free_answer(q, []) for q in e.queries()]
    assert [a.choice for a in answers] == [a.choice for a in again]  # seeded


def test_chunks_overlap_and_locate_finds_positions():
    text = " ".join(f"w{i}" for i in range(100))
    chunks = chunk_words(text, 30, 10)
    assert [p for p, _ in chunks] == [0, 20, 40, 60, 80]
    passages = [Passage(id=str(p), text=t, metadata={"position": p}) for p, t in chunks]
    pos, overlap = locate("w45 w46 w47 w48", passages)
    assert (pos, overlap) == (45, 1.0)


def test_bad_parameters_are_clear_errors(data_dir):
    with pytest.raises(InvalidInputError, match="excerpt lengths"):
        SortTask({"excerpt_lengths": [300]})
    with pytest.raises(InvalidInputError, match="segment_length"):
        SortTask({"segment_length": 30})
