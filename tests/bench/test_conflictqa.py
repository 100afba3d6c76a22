"""Knowledge-conflict probes on the real ConflictQA file, scored with scripted readers of known behaviour."""

from __future__ import annotations

import pytest

from memkit.bench.records import Query
from memkit.bench.runner import run_task
from memkit.bench.tasks.conflictqa import CONDITIONS, ConflictQATask

from .conftest import ScriptedSystem, choice_answer, factory


@pytest.fixture(scope="module")
def task(data_dir) -> ConflictQATask:
    return ConflictQATask(data=str(data_dir / "conflictqa"))


@pytest.fixture(scope="module")
def gold(task):
    return {e.id: e.gold for e in task.episodes(limit=12, seed=0)}


def _follow_last_evidence(q: Query, gold) -> object:
    """Own answer = the Llama memory side; afterwards it sides with the last piece of evidence it reads."""
    ep, cond = q.id.rsplit("/", 1)
    g = gold[ep]
    if cond == "elicit":
        return choice_answer(q, g["m_option"])
    last = CONDITIONS[cond][-1][0]
    return choice_answer(q, g["m_option"] if last == "m" else g["c_option"])


def test_items_ask_every_condition_with_its_evidence(task):
    e = task.episodes(limit=3, seed=0)[0]
    qs = {q.id.rsplit("/", 1)[1]: q for q in e.queries()}
    assert set(qs) == {"elicit", *CONDITIONS}
    assert qs["elicit"].oracle_context == []
    assert len(qs["two_m_one_c"].oracle_context) == 3 and qs["two_m_one_c"].k == 3
    assert qs["both_mc"].oracle_context == list(reversed(qs["both_cm"].oracle_context))
    scopes = {r.scope for r in e.records()}
    assert len(scopes) == len(CONDITIONS)  # each condition's evidence in its own scope
    assert qs["only_c"].options == [" A", " B"] and "uncertain" not in qs["only_c"].prompt
    paper = ConflictQATask({"uncertain_option": True}, data=task.data).episodes(limit=1, seed=0)[0]
    assert paper.queries()[0].options == [" A", " B", " C"] and "C. uncertain" in paper.queries()[0].prompt


def test_stubborn_reader_has_memorization_ratio_one(task, tmp_path):
    systems = {"base": ScriptedSystem("base", lambda q: choice_answer(q, 0))}
    _, man = run_task(task, ["base"], limit=12, seed=0, out=tmp_path / "r", progress=False,
                      system_factory=factory(systems))
    m = man.summary.metrics["base"]
    assert m["memorization_ratio"].mean == 1.0 and m["memorization_ratio"].n == 12
    assert m["confirmation_bias"].mean == 1.0
    assert m["order_sensitivity"].mean == 0.0 and m["order_flip"].mean == 0.0
    assert m["elicit_uncertain"].mean == 0.0
    assert any(f.id == "conflict_ratios" for f in man.summary.figures)


def test_evidence_follower_is_order_sensitive(task, gold, tmp_path):
    systems = {"oracle": ScriptedSystem("oracle", lambda q: _follow_last_evidence(q, gold))}
    _, man = run_task(task, ["oracle"], limit=12, seed=0, out=tmp_path / "r", progress=False,
                      system_factory=factory(systems))
    m = man.summary.metrics["oracle"]
    assert m["memorization_ratio"].mean == 0.0
    assert m["confirmation_bias"].mean == 0.5
    assert m["order_sensitivity"].mean == 1.0 and m["order_flip"].mean == 1.0
    assert m["mr_two_own_sources"].mean == 0.0 and m["mr_two_counter_sources"].mean == 0.0
    assert m["elicit_agrees_llama"].mean == 1.0


def test_uncertain_reader_is_excluded_from_ratios(data_dir, tmp_path):
    task = ConflictQATask({"uncertain_option": True}, data=str(data_dir / "conflictqa"))
    systems = {"base": ScriptedSystem("base", lambda q: choice_answer(q, 2))}
    _, man = run_task(task, ["base"], limit=4, seed=0, out=tmp_path / "r", progress=False,
                      system_factory=factory(systems))
    m = man.summary.metrics["base"]
    assert m["elicit_uncertain"].mean == 1.0
    assert m["memorization_ratio"].mean is None and m["memorization_ratio"].n == 0


def test_option_order_is_balanced_by_seed(task):
    eps = task.episodes(limit=40, seed=0)
    first = sum(e.gold["m_option"] == 0 for e in eps)
    assert 10 <= first <= 30
