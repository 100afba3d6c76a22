"""Recognition, recall and retention: generated items, foils, scoring and curves."""

from __future__ import annotations

import random

import pytest

from memkit.bench.metrics import rouge_l
from memkit.bench.readers import FunctionReader
from memkit.bench.records import Answer, Query
from memkit.bench.runner import run_task
from memkit.bench.systems import ContextSystem, OracleContext
from memkit.bench.tasks.rrr import RecognitionRecallRetentionTask, strip_cue
from memkit.bench.tasks.rrr_items import SentenceGenerator

from .conftest import ScriptedSystem, choice_answer, factory, random_answer, text_answer


def test_foils_differ_from_the_seen_sentence_in_the_intended_way():
    gen = SentenceGenerator(0)
    rng = random.Random(0)
    for _ in range(30):
        s = gen.sentence()
        para, syn, rand = s.paraphrase(), s.synonym_swap(rng), gen.foil(s, "random")
        assert sorted(s.text.lower().strip(".").split()) != sorted(para.lower().replace(",", "").strip(".").split())
        assert {s.name, s.obj, s.place} <= set(para.replace(",", " ").replace(".", " ").split())
        changed = [a for a, b in zip(s.text.split(), syn.split(), strict=True) if a != b and a not in ("a", "an")]
        assert 1 <= len(changed) <= 2 and len(s.text.split()) == len(syn.split())
        assert rand != s.text and not rand.startswith(s.cue)
        assert s.text == f"{s.cue} {s.rest}"


def test_cues_are_unique_and_items_reproducible():
    task = RecognitionRecallRetentionTask({"rounds": 2})
    eps = task.episodes(limit=10, seed=4)
    assert [e.id for e in eps] == ["rrr/round0", "rrr/round1", "rrr/round2"]
    texts = [r.text for e in eps for r in e.records()]
    assert len(texts) == 30 and len({t.split(" the ")[0] + t.split()[2] + t.split()[3] for t in texts}) == 30
    again = task.episodes(limit=10, seed=4)
    assert [r.text for e in again for r in e.records()] == texts
    # seen sentence on side A for exactly half of the recognition probes of a round
    seen = eps[0].gold["seen_option"]
    assert sum(v == 0 for v in seen.values()) * 2 == len(seen)


def _right(q: Query, gold) -> Answer:
    if q.mode == "choose":
        return choice_answer(q, gold["seen_option"][q.id])
    idx = int(q.id.split("/")[2])
    return text_answer(q, gold["study"][idx]["cue"] + " " + gold["study"][idx]["rest"])


def test_right_memory_scores_one_random_about_chance_curves_per_round(tmp_path):
    task = RecognitionRecallRetentionTask({"rounds": 2})
    eps = task.episodes(limit=12, seed=0)
    gold = {**eps[0].gold, "seen_option": {k: v for e in eps for k, v in e.gold["seen_option"].items()}}
    systems = {
        "oracle": ScriptedSystem("oracle", lambda q: _right(q, gold)),
        "base": ScriptedSystem("base", lambda q: random_answer(q, seed=1)),
        "retrieval": ScriptedSystem("retrieval", lambda q: choice_answer(q, 0) if q.mode == "choose"
                                    else text_answer(q, "")),
    }
    _, man = run_task(task, ["oracle", "base", "retrieval"], limit=12, seed=0, out=tmp_path / "r",
                      progress=False, system_factory=factory(systems))
    m = man.summary.metrics
    assert m["oracle"]["recognition"].mean == 1.0 and m["oracle"]["recall"].mean == 1.0
    assert m["oracle"]["recognition"].n == 12 * 3 * 3
    assert 0.35 <= m["base"]["recognition"].mean <= 0.65 and m["base"]["recall"].mean < 0.3
    assert m["retrieval"]["recognition"].mean == 0.5 and m["retrieval"]["recall"].mean == 0.0
    curve = next(f for f in man.summary.figures if f.id == "recognition_retention")
    assert [p.x for p in curve.series["oracle · paraphrase"]] == [0, 1, 2]
    assert systems["oracle"].written[:12] == [f"rrr/study/{i}" for i in range(12)]
    assert len(systems["oracle"].written) == 12 * 3


def test_llm_free_scorer_over_everything_written_recognises_and_recalls():
    task = RecognitionRecallRetentionTask({"rounds": 1})
    system = ContextSystem("oracle:reader=none", "oracle", OracleContext(),
                           FunctionReader(task.llm_free_answer, "llm-free", frozenset({"choose", "generate"})))
    for e in task.episodes(limit=6, seed=2):
        system.write(e.records())
        answers = {a.query_id: a for a in system.answer(e.queries())}
        rows = task.score(e, answers)
        assert all(r.metrics.get("recognition", 1.0) == 1.0 for r in rows)
        assert all(r.metrics.get("recall", 1.0) == 1.0 for r in rows)


def test_recall_scoring_strips_a_repeated_cue():
    assert strip_cue("Mira the quiet baker painted a boat.", "Mira the quiet baker") == "painted a boat."
    assert strip_cue("painted a boat.", "Mira the quiet baker") == "painted a boat."
    # articles are dropped by the normalisation: LCS 2 of 3 and 2 words -> F1 = 0.8
    assert rouge_l("painted a red boat", "painted a boat") == pytest.approx(0.8)
    assert rouge_l("", "painted") == 0.0
