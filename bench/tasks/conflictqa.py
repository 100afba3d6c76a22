"""Knowledge-conflict probes on ConflictQA (Xie et al., ICLR 2024, "Adaptive Chameleon or Stubborn Sloth").

ConflictQA's memory side was elicited from Llama-2-7B, so the reader's own answer is
elicited again: a multiple-choice question (the two answers in a seeded order; plus
"uncertain" with ``uncertain_option=true``, the paper's format, which small readers
choose for nearly everything) without evidence.  The side the reader picks is its *parametric* answer;
the other is the *counter* answer.  Every item then asks, with evidence:

* each side's evidence alone (``parametric_memory`` for the Llama answer,
  ``counter_memory`` for the other);
* both, in either order;
* several sources: two for one side (its memory plus its aligned evidence) and one for
  the other, both ways round.

All conditions are asked for both sides, and mapped onto the reader's own answer after
the fact, so the items do not depend on a model.  Reported (Xie et al.'s definitions):

* memorization ratio MR = f_param / (f_param + f_counter) with the counter-evidence alone;
* confirmation bias: MR with both pieces of evidence (0.5: no preference; above 0.5 the
  reader sides with the evidence that agrees with it);
* order sensitivity: |MR(own evidence first) - MR(counter first)|, and the share of
  items whose answer flips with the order;
* MR with 2 sources for its own side vs 1, and 1 vs 2.

With a ``base`` system the evidence is never shown (MR = 1); with the ``oracle`` it is
put in the prompt; with a ``retrieval`` memory each condition's evidence is written as
notes (in its own scope) and comes back by searching with the question, shown in the
order it was written.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from memkit.bench.data import resolve_dataset
from memkit.bench.records import Answer, Ask, Episode, ItemResult, MemoryRecord, Query, Write
from memkit.bench.task import FigureData, MetricSpec, Point, Stat, Summary, Task, TaskSpec, stable_seed
from memkit.errors import BenchError

__all__ = ["ConflictQATask", "SPEC", "ConflictQAParams", "CONDITIONS"]

FILE = "conflictQA-strategyQA-llama2-7b.json"

# condition -> evidence, by side: "m" = the Llama memory side, "c" = the counter side
CONDITIONS: dict[str, list[str]] = {
    "only_m": ["m"],
    "only_c": ["c"],
    "both_mc": ["m", "c"],
    "both_cm": ["c", "m"],
    "two_m_one_c": ["m", "m+", "c"],
    "one_m_two_c": ["m", "c", "c+"],
}

SPEC = TaskSpec(
    name="conflictqa",
    version=1,
    title="Knowledge-conflict probes: memorization ratio, confirmation bias, order sensitivity",
    citation="Xie et al. 2024 (ICLR), Adaptive Chameleon or Stubborn Sloth: Revealing the Behavior of LLMs "
    "in Knowledge Conflicts (ConflictQA, StrategyQA half)",
    description="Elicit the reader's own answer, then show counter-evidence alone, both sides in either order, "
    "and several sources; evidence comes from the memory under test.",
    default_limit=12,
    default_systems=("base", "oracle", "retrieval"),
    llm_free=False,
    needs=frozenset({"choose"}),
    metrics=(
        MetricSpec(name="memorization_ratio", label="memorization ratio (MR), counter-evidence only",
                   higher_is_better=None),
        MetricSpec(name="confirmation_bias", label="confirmation bias: MR with both", higher_is_better=None,
                   chance=0.5),
        MetricSpec(name="order_sensitivity", label="order sensitivity |MR own first - counter first|", higher_is_better=False),
        MetricSpec(name="order_flip", label="answer flips with evidence order", higher_is_better=False),
        MetricSpec(name="mr_two_own_sources", label="MR, 2 own sources : 1 counter", higher_is_better=None),
        MetricSpec(name="mr_two_counter_sources", label="MR, 1 own source : 2 counter", higher_is_better=None),
        MetricSpec(name="elicit_uncertain", label="no own answer (uncertain)", higher_is_better=None),
        MetricSpec(name="elicit_agrees_llama", label="own answer = Llama-2's", higher_is_better=None),
    ),
    data_subdir="conflictqa",
)

PROMPT = (
    "Answer the question by choosing one option.\n"
    "Question: {question}\nA. {a}\nB. {b}\n{uncertain}Reply with {letters}."
)
_ROLE_CONDITIONS = {  # reader-relative name -> (condition if own side is m, if own side is c)
    "counter_only": ("only_c", "only_m"),
    "own_only": ("only_m", "only_c"),
    "both_own_first": ("both_mc", "both_cm"),
    "both_counter_first": ("both_cm", "both_mc"),
    "two_own_sources": ("two_m_one_c", "one_m_two_c"),
    "two_counter_sources": ("one_m_two_c", "two_m_one_c"),
}


class ConflictQAParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    multi_source: bool = Field(default=True, description="also ask the 2-vs-1 source conditions")
    uncertain_option: bool = Field(
        default=False,
        description="offer 'C. uncertain' as in the paper; off by default because small readers put nearly all "
        "their mass on it, which leaves no item to measure (the choice is then forced between the two answers)",
    )


def _load(path: Path) -> list[dict[str, Any]]:
    out = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise BenchError(f"{path}: line {n} is not JSON ({exc})") from None
            need = ("question", "memory_answer", "counter_answer", "parametric_memory", "counter_memory",
                    "parametric_memory_aligned_evidence", "counter_memory_aligned_evidence")
            missing = [k for k in need if not rec.get(k)]
            if missing:
                raise BenchError(f"{path}: line {n} lacks {missing}")
            rec["_line"] = n
            out.append(rec)
    return out


class ConflictQATask(Task):
    spec = SPEC
    Params = ConflictQAParams

    def episodes(self, *, limit: int, seed: int) -> list[Episode]:
        root = resolve_dataset(self.data, SPEC.data_subdir or "conflictqa", [FILE])
        records = _load(root / FILE)
        rng = random.Random(seed)
        chosen = sorted(rng.sample(records, min(limit, len(records))), key=lambda r: r["_line"])
        return [self._episode(r, seed) for r in chosen]

    def _episode(self, rec: dict[str, Any], seed: int) -> Episode:
        p: ConflictQAParams = self.params  # type: ignore[assignment]
        ep_id = f"conflictqa/{rec['_line']}"
        qseed = stable_seed(seed, ep_id)
        m_first = random.Random(qseed).random() < 0.5  # which answer is option A
        a, b = (rec["memory_answer"], rec["counter_answer"]) if m_first else (rec["counter_answer"], rec["memory_answer"])
        unc = p.uncertain_option
        prompt = PROMPT.format(question=rec["question"], a=a, b=b, uncertain="C. uncertain\n" if unc else "",
                               letters="A, B or C" if unc else "A or B")
        texts = {"m": rec["parametric_memory"].strip(), "c": rec["counter_memory"].strip(),
                 "m+": rec["parametric_memory_aligned_evidence"].strip(),
                 "c+": rec["counter_memory_aligned_evidence"].strip()}
        common: dict[str, Any] = {"mode": "choose", "prompt": prompt, "answer_prefix": "Answer:",
                                  "options": [" A", " B", " C"] if unc else [" A", " B"], "seed": qseed,
                                  "search": [rec["question"]],
                                  "passage_order": "position", "context_header": "Evidence:"}
        actions: list[Write | Ask] = [Ask(queries=[Query(id=f"{ep_id}/elicit", oracle_context=[], scope=ep_id,
                                                         **common)])]
        queries = []
        for cond, sides in CONDITIONS.items():
            if not p.multi_source and cond.startswith(("two", "one")):
                continue
            scope = f"{ep_id}/{cond}"
            actions.append(Write(records=[
                MemoryRecord(id=f"{scope}/{i}", text=texts[s], scope=scope, metadata={"position": i, "side": s})
                for i, s in enumerate(sides)
            ]))
            queries.append(Query(id=f"{ep_id}/{cond}", scope=scope, k=len(sides),
                                 oracle_context=[texts[s] for s in sides], **common))
        actions.append(Ask(queries=queries))
        gold = {"m_option": 0 if m_first else 1, "c_option": 1 if m_first else 0,
                "ground_truth": rec.get("ground_truth")}
        return Episode(id=ep_id, actions=actions, tags={}, gold=gold)

    def score(self, episode: Episode, answers: dict[str, Answer]) -> list[ItemResult]:
        g = episode.gold
        ep = episode.id
        side_of = {g["m_option"]: "m", g["c_option"]: "c", 2: "uncertain"}
        own = side_of.get(answers[f"{ep}/elicit"].choice)  # type: ignore[arg-type]
        rows = [ItemResult(id=f"{ep}/elicit", episode_id=ep, tags={"condition": "elicit", "own_side": own},
                           metrics={"elicit_uncertain": float(own == "uncertain"),
                                    "elicit_agrees_llama": None if own == "uncertain" else float(own == "m")},
                           query_ids=[f"{ep}/elicit"])]
        if own not in ("m", "c"):
            return rows
        picked: dict[str, str | None] = {}
        for role, (if_m, if_c) in _ROLE_CONDITIONS.items():
            qid = f"{ep}/{if_m if own == 'm' else if_c}"
            if qid not in answers:
                continue
            side = side_of.get(answers[qid].choice)  # type: ignore[arg-type]
            label = "uncertain" if side == "uncertain" else ("own" if side == own else "counter")
            picked[role] = label
            rows.append(ItemResult(
                id=f"{ep}/{role}", episode_id=ep, tags={"condition": role, "own_side": own},
                metrics={"own": float(label == "own"), "counter": float(label == "counter"),
                         "uncertain": float(label == "uncertain")},
                query_ids=[qid],
            ))
        if "both_own_first" in picked and "both_counter_first" in picked:
            rows.append(ItemResult(id=f"{ep}/order", episode_id=ep, tags={"condition": "order", "own_side": own},
                                   metrics={"order_flip": float(picked["both_own_first"] != picked["both_counter_first"])},
                                   query_ids=[f"{ep}/both_mc", f"{ep}/both_cm"]))
        return rows

    def summarize(self, results: dict[str, list[ItemResult]]) -> Summary:
        summary = super().summarize(results)
        series: dict[str, list[Point]] = {}
        for system, rows in results.items():
            mr: dict[str, Stat] = {}
            for role in _ROLE_CONDITIONS:
                sel = [r for r in rows if r.tags.get("condition") == role]
                own = sum(r.metrics.get("own") or 0 for r in sel)
                ctr = sum(r.metrics.get("counter") or 0 for r in sel)
                mr[role] = Stat(mean=own / (own + ctr) if own + ctr else None, n=int(own + ctr))
            both_own = sum(r.metrics.get("own") or 0 for r in rows if r.tags.get("condition", "").startswith("both"))
            both_ctr = sum(r.metrics.get("counter") or 0 for r in rows
                           if r.tags.get("condition", "").startswith("both"))
            m = summary.metrics[system]
            m["memorization_ratio"] = mr["counter_only"]
            m["confirmation_bias"] = Stat(mean=both_own / (both_own + both_ctr) if both_own + both_ctr else None,
                                          n=int(both_own + both_ctr))
            a, b = mr["both_own_first"].mean, mr["both_counter_first"].mean
            m["order_sensitivity"] = Stat(mean=None if a is None or b is None else abs(a - b),
                                          n=min(mr["both_own_first"].n, mr["both_counter_first"].n))
            m["mr_two_own_sources"] = mr["two_own_sources"]
            m["mr_two_counter_sources"] = mr["two_counter_sources"]
            series[system] = [Point(x=role, y=s.mean, n=s.n) for role, s in mr.items() if s.mean is not None]
        if any(series.values()):
            summary.figures.append(FigureData(
                id="conflict_ratios", title="Memorization ratio by evidence condition", kind="bar",
                x_label="condition (relative to the reader's own answer)", y_label="memorization ratio",
                series={k: v for k, v in series.items() if v}, chance=None,
                source="own / (own + counter) summed over items.jsonl rows with tags.condition = x",
            ))
        summary.notes.append("Items where the reader's own answer was 'uncertain' count only in elicit_uncertain.")
        return summary
