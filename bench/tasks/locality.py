"""Locality: after writes, the share of unrelated probes whose answer is unchanged (EasyEdit).

EasyEdit's definition: for an unrelated prompt and its ground-truth continuation, compare
the model's argmax token at every continuation position (teacher-forced) before and
after the edits; locality is the share of positions that agree.  Here every system is
measured the same way: its answer to the unrelated probe before anything is written,
then after each batch of writes (a retrieval memory puts the notes it retrieves for the
probe in front of it; the oracle puts every written fact there; a parametric memory is
edited).  Reliability (the written facts' own token accuracy) is reported beside it.

The writes are counterfactual facts about invented entities; the probes are common
general-knowledge prompts.  Needs a reader that scores tokens (a local model).
"""

from __future__ import annotations

import random

from pydantic import BaseModel, ConfigDict, Field

from memkit.bench.records import Answer, Ask, EditSpec, Episode, ItemResult, MemoryRecord, Query, Write
from memkit.bench.task import BreakdownSpec, MetricSpec, Task, TaskSpec

__all__ = ["LocalityTask", "SPEC", "LocalityParams", "PROBES"]

SCOPE = "locality"

SPEC = TaskSpec(
    name="locality",
    version=1,
    title="Locality of writes (EasyEdit definition) and reliability",
    citation="Wang et al. 2024, EasyEdit: An Easy-to-use Knowledge Editing Framework (locality metric); "
    "Yao et al. 2023, Editing Large Language Models",
    description="Unrelated probes scored teacher-forced before and after batches of counterfactual writes; "
    "locality = share of argmax tokens unchanged.",
    default_limit=24,
    default_systems=("base", "oracle", "retrieval"),
    llm_free=False,
    needs=frozenset({"score"}),
    metrics=(
        MetricSpec(name="locality", label="locality (tokens unchanged), all stages"),
        MetricSpec(name="locality_last", label="locality after all writes"),
        MetricSpec(name="reliability", label="reliability (written facts' token accuracy)"),
    ),
    breakdowns=(
        BreakdownSpec(id="locality_by_writes", title="Locality after N written facts", metric="locality",
                      tag="written", x_label="facts written", figure="line"),
        BreakdownSpec(id="reliability_by_writes", title="Reliability after N written facts", metric="reliability",
                      tag="written", x_label="facts written", figure="line"),
    ),
)

#: unrelated probes: (prompt, ground-truth continuation), in EasyEdit's locality format
PROBES: tuple[tuple[str, str], ...] = (
    ("The capital of France is", " Paris"), ("The capital of Japan is", " Tokyo"),
    ("The capital of Italy is", " Rome"), ("The capital of Germany is", " Berlin"),
    ("The capital of Spain is", " Madrid"), ("The largest planet in the solar system is", " Jupiter"),
    ("The chemical symbol for gold is", " Au"), ("The author of Romeo and Juliet is", " William Shakespeare"),
    ("The first president of the United States was", " George Washington"),
    ("The Eiffel Tower is located in", " Paris"), ("The tallest mountain on Earth is", " Mount Everest"),
    ("The currency of Japan is the", " yen"), ("The longest river in Africa is the", " Nile"),
    ("The main language spoken in Brazil is", " Portuguese"), ("The planet closest to the Sun is", " Mercury"),
    ("The human heart has", " four chambers"), ("The telephone was invented by", " Alexander Graham Bell"),
    ("The Great Wall is located in", " China"), ("The chemical formula for water is", " H2O"),
    ("The number of days in a week is", " seven"), ("The largest ocean on Earth is the", " Pacific Ocean"),
    ("The Mona Lisa was painted by", " Leonardo da Vinci"), ("The capital of Canada is", " Ottawa"),
    ("The capital of Australia is", " Canberra"), ("The Statue of Liberty is located in", " New York"),
    ("The square root of 81 is", " 9"), ("The smallest prime number is", " 2"),
    ("The currency of the United Kingdom is the", " pound sterling"),
    ("Photosynthesis takes place in the", " chloroplasts"), ("Pride and Prejudice was written by", " Jane Austen"),
    ("The largest hot desert in the world is the", " Sahara"), ("The hardest natural substance is", " diamond"),
    ("Mount Fuji is located in", " Japan"), ("The opposite of hot is", " cold"), ("A triangle has", " three sides"),
    ("The month after January is", " February"), ("The boiling point of water at sea level is", " 100 degrees Celsius"),
    ("The closest star to Earth is the", " Sun"), ("The capital of Egypt is", " Cairo"),
    ("The author of Hamlet is", " William Shakespeare"),
)

_SYL = ("zor", "vi", "quel", "mar", "tas", "ka", "lun", "dor", "ex", "ri", "bo", "nal", "thu", "sen", "ga", "pol")
_TEMPLATES = (
    ("The capital of {e} is", "{v}", "place"),
    ("The founder of {e} Industries is", "{v} {w}", "person"),
    ("The national animal of {e} is the", "{a}", "animal"),
)
_ANIMALS = ("otter", "falcon", "lynx", "heron", "badger", "stag", "salamander", "ibex", "kestrel", "marten")


class LocalityParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    n_writes: int = Field(default=12, ge=1, le=200, description="counterfactual facts written")
    batches: int = Field(default=3, ge=1, le=50, description="the writes come in this many batches")
    k: int = Field(default=2, ge=1)


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(_SYL) for _ in range(rng.randint(2, 3))).capitalize()


class LocalityTask(Task):
    spec = SPEC
    Params = LocalityParams

    def episodes(self, *, limit: int, seed: int) -> list[Episode]:
        p: LocalityParams = self.params  # type: ignore[assignment]
        rng = random.Random(seed)
        probes = rng.sample(PROBES, min(limit, len(PROBES)))
        writes = []
        used: set[str] = set()
        while len(writes) < p.n_writes:
            template, target, _ = _TEMPLATES[len(writes) % len(_TEMPLATES)]
            entity = _word(rng)
            if entity in used:
                continue
            used.add(entity)
            prompt = template.format(e=entity)
            value = " " + target.format(v=_word(rng), w=_word(rng), a=rng.choice(_ANIMALS))
            i = len(writes)
            writes.append(MemoryRecord(id=f"locality/write/{i}", text=f"{prompt}{value}.", scope=SCOPE,
                                       metadata={"index": i}, edit=EditSpec(prompt=prompt, target=value, subject=entity)))

        def probe_queries(stage: int) -> list[Query]:
            return [Query(id=f"locality/s{stage}/probe/{j}", mode="score", prompt=pr, targets=[gt], chat=False,
                          scope=SCOPE, k=p.k, context_header="Facts:") for j, (pr, gt) in enumerate(probes)]

        actions: list[Write | Ask] = [Ask(queries=probe_queries(0))]
        sizes = [p.n_writes // p.batches + (1 if b < p.n_writes % p.batches else 0) for b in range(p.batches)]
        written = 0
        stages = []
        for size in sizes:
            if not size:
                continue
            actions.append(Write(records=writes[written : written + size]))
            written += size
            stages.append(written)
            rel = [Query(id=f"locality/s{written}/write/{i}", mode="score", prompt=w.edit.prompt,  # type: ignore[union-attr]
                         targets=[w.edit.target], chat=False, scope=SCOPE, k=p.k, context_header="Facts:")  # type: ignore[union-attr]
                   for i, w in enumerate(writes[:written])]
            actions.append(Ask(queries=probe_queries(written) + rel))
        gold = {"probes": [list(x) for x in probes], "stages": stages}
        return [Episode(id="locality", actions=actions, tags={}, gold=gold)]

    def score(self, episode: Episode, answers: dict[str, Answer]) -> list[ItemResult]:
        rows = []
        stages = episode.gold["stages"]
        for j, (prompt, _) in enumerate(episode.gold["probes"]):
            pre = answers[f"locality/s0/probe/{j}"].targets[0]  # type: ignore[index]
            for stage in stages:
                qid = f"locality/s{stage}/probe/{j}"
                post = answers[qid].targets[0]  # type: ignore[index]
                n = min(len(pre.predicted), len(post.predicted))
                same = sum(a == b for a, b in zip(pre.predicted, post.predicted, strict=False)) / n if n else None
                rows.append(ItemResult(
                    id=qid, episode_id=episode.id, tags={"written": stage, "kind": "probe", "probe": j},
                    metrics={"locality": same, "locality_last": same if stage == stages[-1] else None},
                    query_ids=[f"locality/s0/probe/{j}", qid], note=prompt,
                ))
        for stage in stages:
            for i in range(stage):
                qid = f"locality/s{stage}/write/{i}"
                rows.append(ItemResult(id=qid, episode_id=episode.id, tags={"written": stage, "kind": "write",
                                                                            "write": i},
                                       metrics={"reliability": answers[qid].targets[0].token_accuracy},  # type: ignore[index]
                                       query_ids=[qid]))
        return rows
