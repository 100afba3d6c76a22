"""Locality (EasyEdit definition): unchanged argmax tokens on unrelated probes after writes."""

from __future__ import annotations

from collections.abc import Sequence

from memkit.bench.readers import render_user_text
from memkit.bench.records import Answer, Passage, Query, TargetResult
from memkit.bench.runner import run_task
from memkit.bench.systems import ContextSystem, NoContext, OracleContext
from memkit.bench.task import stable_seed
from memkit.bench.tasks.locality import PROBES, LocalityTask


class ContextSensitiveReader:
    """Predictions are a function of the whole prompt (so any context changes them); a target counts as
    known when it appears in the prompt."""

    name = "context-sensitive"
    capabilities = frozenset({"choose", "generate", "score"})

    def read(self, items: Sequence[tuple[Query, Sequence[Passage]]]) -> list[Answer]:
        out = []
        for q, ps in items:
            user = render_user_text(q, ps)
            targets = [TargetResult(token_accuracy=1.0 if t.strip() in user else 0.0, log_prob=-1.0, n_tokens=3,
                                    predicted=[stable_seed(user, i) % 50_000 for i in range(3)])
                       for t in q.targets or []]
            out.append(Answer(query_id=q.id, system="", targets=targets, passages=list(ps)))
        return out


def _systems() -> dict[str, ContextSystem]:
    reader = ContextSensitiveReader()
    return {"base": ContextSystem("base", "base", NoContext(), reader),
            "oracle": ContextSystem("oracle", "oracle", OracleContext(), reader)}


def test_episode_probes_before_and_after_each_batch():
    task = LocalityTask({"n_writes": 5, "batches": 2})
    (e,) = task.episodes(limit=6, seed=0)
    kinds = [a.kind for a in e.actions]
    assert kinds == ["ask", "write", "ask", "write", "ask"]
    assert e.gold["stages"] == [3, 5]
    assert len(e.records()) == 5 and all(r.edit is not None for r in e.records())
    probes = e.actions[0].queries
    assert len(probes) == 6 and all(q.mode == "score" and not q.chat for q in probes)
    assert {tuple(p) for p in e.gold["probes"]} <= set(PROBES)


def test_unchanged_answers_score_one_context_that_changes_them_scores_zero(tmp_path):
    systems = _systems()
    _, man = run_task(LocalityTask({"n_writes": 4, "batches": 2}), ["base", "oracle"], limit=10, seed=0,
                      out=tmp_path / "r", progress=False, system_factory=lambda spec, wd, t: systems[spec.name])
    m = man.summary.metrics
    assert m["base"]["locality"].mean == 1.0 and m["base"]["locality"].n == 20
    assert m["base"]["reliability"].mean == 0.0  # it never sees the written facts
    assert m["oracle"]["locality"].mean < 0.05  # every written fact in the prompt changes every prediction
    assert m["oracle"]["reliability"].mean == 1.0
    curve = next(f for f in man.summary.figures if f.id == "locality_by_writes")
    assert [p.x for p in curve.series["base"]] == [2, 4]
