"""Recognition, recall and retention of few-shot memories (after Orhan, 2023).

A study set of generated sentences (see :mod:`memkit.bench.tasks.rrr_items`) is written
once.  Then, in round 0 and again after each of ``rounds`` interfering writes (a batch of
new sentences of the same form, in the same scope), every studied sentence is probed:

* recognition: two-alternative forced choice between the seen sentence and a foil
  (paraphrase, synonym swap, random words); which side the seen one is on alternates,
  so a reader that always answers "A" scores exactly 50%;
* recall: the first four words as the cue, the rest reproduced (ROUGE-L F1).

Retention is the same probes as curves over the number of interfering writes.  The
oracle puts everything written so far in the prompt (a long-context memory); the
LLM-free scorer recognises by the best word-overlap (ROUGE-L) with a retrieved note and
recalls the retrieved note that starts with the cue.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field, field_validator

from memkit.bench.metrics import normalize_answer, rouge_l
from memkit.bench.records import Answer, Ask, EditSpec, Episode, ItemResult, MemoryRecord, Passage, Query, Write
from memkit.bench.task import BreakdownSpec, MetricSpec, Task, TaskSpec, stable_seed
from memkit.bench.tasks.rrr_items import FOILS, SentenceGenerator

__all__ = ["RecognitionRecallRetentionTask", "SPEC", "RRRParams"]

SCOPE = "rrr"

SPEC = TaskSpec(
    name="rrr",
    version=1,
    title="Recognition, recall and retention of written items",
    citation="Orhan 2023, Recognition, recall, and retention of few-shot memories in large language models",
    description="Write generated sentences; 2AFC recognition against paraphrase / synonym-swap / random-word "
    "foils, cued recall scored by ROUGE-L, both again after 1..N interfering writes.",
    default_limit=12,
    default_systems=("base", "oracle", "retrieval", "retrieval:reader=none"),
    llm_free=True,
    needs=frozenset({"choose", "generate"}),
    metrics=(
        MetricSpec(name="recognition", label="recognition (all rounds)", chance=0.5),
        MetricSpec(name="recall", label="recall ROUGE-L (all rounds)", percent=False),
        MetricSpec(name="recognition_first", label="recognition, round 0", chance=0.5),
        MetricSpec(name="recognition_last", label="recognition, last round", chance=0.5),
        MetricSpec(name="recall_first", label="recall ROUGE-L, round 0", percent=False),
        MetricSpec(name="recall_last", label="recall ROUGE-L, last round", percent=False),
    ),
    breakdowns=(
        BreakdownSpec(id="recognition_retention", title="Recognition retention (2AFC accuracy)",
                      metric="recognition", tag="round", x_label="interfering writes", figure="line",
                      series_tag="foil"),
        BreakdownSpec(id="recall_retention", title="Recall retention (ROUGE-L)", metric="recall", tag="round",
                      x_label="interfering writes", figure="line"),
        BreakdownSpec(id="recognition_by_foil", title="Recognition by foil type", metric="recognition",
                      tag="foil", x_label="foil"),
    ),
)

RECOGNITION_PROMPT = (
    "Which of these two sentences did you see before?\nA: {a}\nB: {b}\nReply with A or B."
)
RECALL_PROMPT = "Complete this sentence from memory: {cue}"


class RRRParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rounds: int = Field(default=3, ge=0, le=50, description="interfering writes after the first probe")
    batch: int | None = Field(default=None, ge=1, description="sentences per interfering write (default: as many as studied)")
    foils: list[str] = Field(default=list(FOILS))
    k: int = Field(default=2, ge=1)
    max_new_tokens: int = Field(default=16, ge=4)

    @field_validator("foils")
    @classmethod
    def _foils(cls, v: list[str]) -> list[str]:
        bad = [f for f in v if f not in FOILS]
        if bad or not v:
            raise ValueError(f"foils must be among {FOILS}, got {v}")
        return list(dict.fromkeys(v))


class RecognitionRecallRetentionTask(Task):
    spec = SPEC
    Params = RRRParams

    def episodes(self, *, limit: int, seed: int) -> list[Episode]:
        p: RRRParams = self.params  # type: ignore[assignment]
        gen = SentenceGenerator(seed)
        study = [gen.sentence() for _ in range(limit)]
        foils = {(i, kind): gen.foil(s, kind) for i, s in enumerate(study) for kind in p.foils}
        records = [
            MemoryRecord(id=f"rrr/study/{i}", text=s.text, scope=SCOPE, metadata={"set": "study", "index": i},
                         edit=EditSpec(prompt=RECALL_PROMPT.format(cue=s.cue), target=" " + s.rest))
            for i, s in enumerate(study)
        ]
        episodes = []
        for rnd in range(p.rounds + 1):
            if rnd == 0:
                writes = records
            else:
                batch = [gen.sentence() for _ in range(p.batch or limit)]
                writes = [
                    MemoryRecord(id=f"rrr/interference/{rnd}/{j}", text=s.text, scope=SCOPE,
                                 metadata={"set": "interference", "round": rnd, "index": j},
                                 edit=EditSpec(prompt=RECALL_PROMPT.format(cue=s.cue), target=" " + s.rest))
                    for j, s in enumerate(batch)
                ]
            queries = []
            for i, s in enumerate(study):
                for f, kind in enumerate(p.foils):
                    seen_first = (i + f) % 2 == 0
                    a, b = (s.text, foils[(i, kind)]) if seen_first else (foils[(i, kind)], s.text)
                    queries.append(Query(
                        id=f"rrr/r{rnd}/{i}/recognition/{kind}", mode="choose",
                        prompt=RECOGNITION_PROMPT.format(a=a, b=b), answer_prefix="Answer:", options=[" A", " B"],
                        scope=SCOPE, search=[a, b], k=p.k, seed=stable_seed(seed, rnd, i, kind),
                        context_header="Sentences you have seen:", fields={"a": a, "b": b},
                    ))
                queries.append(Query(
                    id=f"rrr/r{rnd}/{i}/recall", mode="generate", prompt=RECALL_PROMPT.format(cue=s.cue),
                    scope=SCOPE, search=[s.cue], k=p.k, max_new_tokens=p.max_new_tokens,
                    seed=stable_seed(seed, rnd, i, "recall"), context_header="Sentences you have seen:",
                    fields={"cue": s.cue},
                ))
            gold = {"study": [{"text": s.text, "cue": s.cue, "rest": s.rest} for s in study],
                    "seen_option": {q.id: (0 if q.fields["a"] == study[int(q.id.split("/")[2])].text else 1)
                                    for q in queries if q.mode == "choose"},
                    "last_round": p.rounds}
            episodes.append(Episode(id=f"rrr/round{rnd}", actions=[Write(records=writes), Ask(queries=queries)],
                                    tags={"round": rnd}, gold=gold))
        return episodes

    def score(self, episode: Episode, answers: dict[str, Answer]) -> list[ItemResult]:
        rnd = episode.tags["round"]
        first, last = rnd == 0, rnd == episode.gold["last_round"]
        rows = []
        for q in episode.queries():
            a = answers[q.id]
            _, _, idx, kind, *foil = q.id.split("/")
            item = episode.gold["study"][int(idx)]
            if kind == "recognition":
                ok = float(a.choice == episode.gold["seen_option"][q.id])
                metrics = {"recognition": ok, "recognition_first": ok if first else None,
                           "recognition_last": ok if last else None}
                tags = {"round": rnd, "foil": foil[0], "kind": "recognition", "item": int(idx)}
            else:
                score = rouge_l(strip_cue(a.text, item["cue"]), item["rest"])
                metrics = {"recall": score, "recall_first": score if first else None,
                           "recall_last": score if last else None}
                tags = {"round": rnd, "kind": "recall", "item": int(idx)}
            rows.append(ItemResult(id=q.id, episode_id=episode.id, tags=tags, metrics=metrics, query_ids=[q.id]))
        return rows

    def llm_free_answer(self, query: Query, passages: Sequence[Passage]) -> Answer:
        """Recognise the option closest (ROUGE-L) to a retrieved note; recall the note that starts with the cue."""
        if query.mode == "choose":
            best = [max((rouge_l(query.fields[o], p.text) for p in passages), default=0.0) for o in ("a", "b")]
            if best[0] == best[1]:  # nothing tells them apart: a seeded coin, not a bias towards A
                choice = random.Random(stable_seed(query.seed, query.id)).randrange(2)
            else:
                choice = 0 if best[0] > best[1] else 1
            return Answer(query_id=query.id, system="", choice=choice, passages=list(passages),
                          meta={"overlap": best})
        cue = normalize_answer(query.fields["cue"])
        match = next((p for p in passages if normalize_answer(p.text).startswith(cue)), None)
        text = strip_cue(match.text, query.fields["cue"]) if match else ""
        return Answer(query_id=query.id, system="", texts=[text] * query.n_samples, passages=list(passages))


def strip_cue(text: str, cue: str) -> str:
    """The answer without a repeated cue (readers often restate it)."""
    t = text.strip()
    if normalize_answer(t).startswith(normalize_answer(cue)):
        return t[len(cue):].strip() if t.lower().startswith(cue.lower()) else " ".join(t.split()[len(cue.split()):])
    return t
