"""The runner: run folder layout, resumption after an interruption, guards against mixing runs."""

from __future__ import annotations

import json

import pytest

from memkit.bench.records import Query
from memkit.bench.runner import ITEMS, load_run, read_items, run_task
from memkit.bench.tasks.rrr import RecognitionRecallRetentionTask
from memkit.errors import BenchError

from .conftest import ScriptedSystem, choice_answer, text_answer


class Interrupt(Exception):
    """Stands in for Ctrl-C / a crash in the middle of a run."""


def _answer(q: Query):
    return choice_answer(q, len(q.id) % 2) if q.mode == "choose" else text_answer(q, q.id)


def _task() -> RecognitionRecallRetentionTask:
    return RecognitionRecallRetentionTask({"rounds": 3})


def _flaky(name: str, fail_on: str | None, persistent: bool) -> ScriptedSystem:
    def fn(q: Query):
        if fail_on and q.id.startswith(fail_on):
            raise Interrupt(q.id)
        return _answer(q)

    return ScriptedSystem(name, fn, persistent=persistent)


@pytest.mark.parametrize("persistent", [False, True])
def test_interrupted_run_resumes_where_it_stopped(tmp_path, persistent):
    out = tmp_path / "run"
    first = _flaky("oracle", "rrr/r2/", persistent)
    with pytest.raises(Interrupt):
        run_task(_task(), ["oracle"], limit=4, seed=0, out=out, progress=False,
                 system_factory=lambda *a: first)
    done = [r.episode_id for r in read_items(out)]
    assert done == ["rrr/round0", "rrr/round1"]
    assert load_run(out).systems["oracle"].status == "running" and first.closed

    second = _flaky("oracle", None, persistent)
    path, man = run_task(_task(), ["oracle"], limit=4, seed=0, out=out, progress=False,
                         system_factory=lambda *a: second)
    assert [r.episode_id for r in read_items(out)] == ["rrr/round0", "rrr/round1", "rrr/round2", "rrr/round3"]
    assert not any(q.startswith(("rrr/r0/", "rrr/r1/")) for q in second.asked)  # finished episodes skipped
    if persistent:  # the store kept rounds 0-1; what round 2 may have written is forgotten first
        assert second.forgotten == [f"rrr/interference/{r}/{j}" for r in (2, 3) for j in range(4)]
        assert not any(w.startswith(("rrr/study", "rrr/interference/1/")) for w in second.written)
    else:  # an in-process memory has the writes of finished episodes replayed
        assert second.written[:4] == [f"rrr/study/{i}" for i in range(4)]
        assert len(second.written) == 4 * 4
    assert man.systems["oracle"].status == "done" and man.systems["oracle"].episodes_done == 4

    fresh = _flaky("oracle", None, persistent)
    _, whole = run_task(_task(), ["oracle"], limit=4, seed=0, out=tmp_path / "whole", progress=False,
                        system_factory=lambda *a: fresh)
    assert man.summary.metrics == whole.summary.metrics  # same numbers as an uninterrupted run


def test_a_torn_last_line_is_dropped_and_redone(tmp_path):
    out = tmp_path / "run"
    run_task(_task(), ["oracle"], limit=3, seed=0, out=out, progress=False,
             system_factory=lambda *a: _flaky("oracle", None, False))
    lines = (out / ITEMS).read_text().splitlines()
    (out / ITEMS).write_text("\n".join(lines[:-1]) + "\n" + lines[-1][: len(lines[-1]) // 2])
    again = _flaky("oracle", None, False)
    run_task(_task(), ["oracle"], limit=3, seed=0, out=out, progress=False, system_factory=lambda *a: again)
    assert len(read_items(out)) == 4
    assert all(q.startswith("rrr/r3/") for q in again.asked)


def test_a_corrupt_middle_line_is_an_error(tmp_path):
    out = tmp_path / "run"
    run_task(_task(), ["oracle"], limit=2, seed=0, out=out, progress=False,
             system_factory=lambda *a: _flaky("oracle", None, False))
    lines = (out / ITEMS).read_text().splitlines()
    lines[1] = "{not json"
    (out / ITEMS).write_text("\n".join(lines) + "\n")
    with pytest.raises(BenchError, match="line 2 is corrupt"):
        read_items(out)


def test_a_run_folder_is_not_reused_for_another_configuration(tmp_path):
    out = tmp_path / "run"
    run_task(_task(), ["oracle"], limit=2, seed=0, out=out, progress=False,
             system_factory=lambda *a: _flaky("oracle", None, False))
    with pytest.raises(BenchError, match="another configuration"):
        run_task(_task(), ["oracle"], limit=2, seed=1, out=out, progress=False,
                 system_factory=lambda *a: _flaky("oracle", None, False))


def test_systems_can_be_added_to_a_finished_run(tmp_path):
    out = tmp_path / "run"
    run_task(_task(), ["oracle"], limit=2, seed=0, out=out, progress=False,
             system_factory=lambda *a: _flaky("oracle", None, False))
    systems = {"oracle": _flaky("oracle", None, False), "base": _flaky("base", None, False)}
    _, man = run_task(_task(), ["oracle", "base"], limit=2, seed=0, out=out, progress=False,
                      system_factory=lambda spec, *a: systems[spec.name])
    assert systems["oracle"].asked == []  # nothing left to do for it
    assert set(man.summary.metrics) == {"oracle", "base"}
    doc = json.loads((out / "run.json").read_text())
    assert doc["schema"] == "memkit.bench.run/1" and doc["config"]["task"] == "rrr"


def test_every_row_traces_to_stored_answers(tmp_path):
    out = tmp_path / "run"
    run_task(_task(), ["oracle"], limit=2, seed=0, out=out, progress=False,
             system_factory=lambda *a: _flaky("oracle", None, False))
    for rec in read_items(out):
        stored = {a.query_id for a in rec.answers}
        for row in rec.results:
            assert row.query_ids and set(row.query_ids) <= stored


def test_bad_runs_fail_clearly(tmp_path):
    with pytest.raises(BenchError, match="listed twice"):
        run_task(_task(), ["oracle", "oracle"], limit=2, out=tmp_path / "a", progress=False)
    with pytest.raises(BenchError, match="at least 1"):
        run_task(_task(), ["oracle"], limit=0, out=tmp_path / "b", progress=False)
    from memkit.errors import RegistryError

    with pytest.raises(RegistryError, match="did you mean 'sort'"):
        run_task("sortt", ["base"], limit=1, out=tmp_path / "c", progress=False)
