"""DynamicQA on synthetic files in the paper's released format."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from memkit.bench.records import Answer, Query
from memkit.bench.runner import run_task
from memkit.bench.tasks.dynamicqa import DynamicQATask, fact_text
from memkit.bench.tasks.dynamicqa_synth import DISPUTABLE_COLUMNS, STATIC_COLUMNS, write_synthetic_dynamicqa
from memkit.errors import BenchError

from .conftest import ScriptedSystem, factory, random_answer


@pytest.fixture
def files(tmp_path):
    return write_synthetic_dynamicqa(tmp_path / "dqa", n=6, seed=1)


def test_synthetic_files_have_the_released_columns(files):
    for name, cols in (("Static_final.csv", STATIC_COLUMNS), ("Temporal_final.csv", STATIC_COLUMNS),
                       ("Disputable_final.csv", DISPUTABLE_COLUMNS)):
        with open(files / name, newline="") as fh:
            rows = list(csv.reader(fh))
        assert rows[0] == ["", *cols]  # pandas' unnamed index column first
        assert len(rows) == 7
    with open(files / "Static_final.csv", newline="") as fh:
        row = next(csv.DictReader(fh))
    assert "[ENTITY]" in row["context"] and isinstance(json.loads(row["possible_answers"]), list)


def test_episode_writes_original_then_superseding_update(files):
    eps = DynamicQATask(data=str(files)).episodes(limit=6, seed=0)
    assert sorted(e.tags["partition"] for e in eps) == ["disputable"] * 2 + ["static"] * 2 + ["temporal"] * 2
    for e in eps:
        kinds = [a.kind for a in e.actions]
        assert kinds == ["ask", "write", "write", "ask"]
        orig, upd = e.records()
        assert upd.supersedes == orig.id and upd.valid_from > orig.valid_from
        assert "[ENTITY]" not in orig.text and "[ENTITY]" not in upd.text
        before = e.actions[0].queries[0]
        assert before.oracle_context == [] and before.want_distributions and before.n_samples == 4


def test_fact_text_fills_entity_slots_and_disputable_objects():
    row = {"context": " X was a [ENTITY] and a famous [ENTITY].", "obj": "poet", "subj": "X"}
    assert fact_text(row, "static", "judge") == "X was a judge and a famous judge."
    row = {"context": "the city treats water by filtration.", "obj": "filtration", "subj": "Oslo"}
    assert fact_text(row, "disputable", "boiling") == "This article is about Oslo. the city treats water by boiling."


def _right(q: Query, gold: dict[str, dict]) -> Answer:
    ep, kind = q.id.rsplit("/", 1)
    g = gold[ep]
    value = {"before": g["old"][0], "current": g["new"][0], "after": g["new"][0], "history": g["old"][0]}[kind]
    a = Answer(query_id=q.id, system="", texts=[value] * q.n_samples, meta={"memory": "oracle"})
    if q.want_distributions:  # a persuadable reader: the distribution moves to the new value
        d = np.full((q.n_samples, 4), 0.01)
        d[:, 0 if kind == "before" else 1] = 0.97
        a.distributions = d
    if kind == "history":
        from memkit.bench.records import Passage

        a.passages = [Passage(id="oracle:0", text=f"it was {g['old'][0]}")]
    return a


def test_right_memory_scores_one_random_scores_zero(files, tmp_path):
    task = DynamicQATask(data=str(files))
    gold = {e.id: e.gold for e in task.episodes(limit=6, seed=0)}
    systems = {"oracle": ScriptedSystem("oracle", lambda q: _right(q, gold)),
               "base": ScriptedSystem("base", lambda q: random_answer(q))}
    _, man = run_task(task, ["oracle", "base"], limit=6, seed=0, out=tmp_path / "run", progress=False,
                      system_factory=factory(systems))
    m = man.summary.metrics
    assert m["oracle"]["current"].mean == 1.0 and m["oracle"]["stale"].mean == 0.0
    assert m["oracle"]["history_answer"].mean == 1.0 and m["oracle"]["history_kept"].mean == 1.0
    assert m["oracle"]["cp_score"].mean > 1.0  # KL between clearly different distributions
    assert m["base"]["current"].mean == 0.0 and m["base"]["history_kept"].n == 0
    assert m["base"]["cp_score"].n == 0  # no distributions, no CP


def test_unpersuaded_reader_has_zero_cp(files):
    task = DynamicQATask(data=str(files))
    e = task.episodes(limit=1, seed=0)[0]
    answers = {}
    for q in e.queries():
        a = Answer(query_id=q.id, system="s", texts=["same"] * q.n_samples)
        if q.want_distributions:
            a.distributions = np.tile([0.5, 0.3, 0.2], (q.n_samples, 1))
        answers[q.id] = a
    row = task.score(e, answers)[0]
    assert row.metrics["cp_score"] == pytest.approx(0.0)
    assert row.metrics["current"] == 0.0


def test_wrong_format_is_a_clear_error(tmp_path):
    (tmp_path / "Static_final.csv").write_text(",id,subj,question\n0,1,A,Q?\n")
    for n in ("Temporal_final.csv", "Disputable_final.csv"):
        (tmp_path / n).write_text("")
    with pytest.raises(BenchError, match="released format"):
        DynamicQATask(data=str(tmp_path)).episodes(limit=3, seed=0)
    with pytest.raises(BenchError, match="does not exist"):
        DynamicQATask(data=str(tmp_path / "nowhere"), params={"partitions": ["static"]}).episodes(limit=1, seed=0)
    (tmp_path / "only_static").mkdir()
    with pytest.raises(BenchError, match="lacks Static_final.csv, Temporal_final.csv"):
        DynamicQATask(data=str(tmp_path / "only_static")).episodes(limit=1, seed=0)
