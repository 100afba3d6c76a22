"""DynamicQA (Marjanović et al., 2024): static, temporal and disputable facts that get updated.

Each item writes the original fact (its ``context`` with the original object), then the
updated one (the object replaced by ``replace_name``) superseding it, and asks:

* ``current``: the question, greedily: is the answer the current value (``replace_name``)
  or the stale one (``obj`` / ``possible_answers``)?
* ``history``: the value before the update, searching superseded notes too: did the
  memory keep the history (the original note comes back: ``history_kept``), and does
  the reader name the old value (``history_answer``)?
* ``persuasion``: the Coherent Persuasion score of the paper: answers are sampled
  (``n_samples`` at ``temperature``) before anything is written and after the update,
  clustered by meaning, and CP = mean KL(cluster distribution with the memory ||
  without), each cluster represented by the mean of its samples' next-token
  distributions, averaged over generated tokens (as in the paper's code).

Semantic clustering: ``clustering="normalized"`` (default) groups answers equal after
SQuAD normalisation (lower case, no punctuation or articles); ``"embedding"`` groups
answers whose bundled all-MiniLM-L6-v2 embeddings have cosine >= 0.85.  The paper
uses bidirectional entailment with DeBERTa-large-MNLI, which memkit does not bundle.
CP needs next-token distributions, so it is reported for local HF readers only.

Data: the paper's released ``Static_final.csv``, ``Temporal_final.csv`` and
``Disputable_final.csv`` (pass their folder with ``--data``);
:func:`memkit.bench.tasks.dynamicqa_synth.write_synthetic_dynamicqa` writes
synthetic files in the same format.
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Sequence
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from memkit.bench.data import resolve_dataset
from memkit.bench.metrics import cluster_answers, contains_answer, persuasion_score
from memkit.bench.records import Answer, Ask, EditSpec, Episode, ItemResult, MemoryRecord, Passage, Query, Write
from memkit.bench.task import BreakdownSpec, MetricSpec, Summary, Task, TaskSpec, stable_seed
from memkit.errors import BenchError

__all__ = ["DynamicQATask", "SPEC", "DynamicQAParams", "FILES"]

FILES = {"static": "Static_final.csv", "temporal": "Temporal_final.csv", "disputable": "Disputable_final.csv"}
_ORIGINAL_TIME = datetime(2020, 1, 1, tzinfo=timezone.utc)
_UPDATE_TIME = datetime(2024, 1, 1, tzinfo=timezone.utc)

SPEC = TaskSpec(
    name="dynamicqa",
    version=1,
    title="DynamicQA: does the memory return the current value, keep the history, and persuade?",
    citation="Marjanović et al. 2024, DYNAMICQA: Tracing Internal Knowledge Conflicts in Language Models",
    description="Write a fact, then its update; ask for the current value, for the old one, and measure the "
    "Coherent Persuasion score of the memory's context on the reader.",
    default_limit=12,
    default_systems=("base", "oracle", "retrieval", "retrieval:reader=none"),
    llm_free=True,
    needs=frozenset({"generate"}),
    metrics=(
        MetricSpec(name="current", label="answers the current value"),
        MetricSpec(name="stale", label="answers the stale value", higher_is_better=False),
        MetricSpec(name="history_kept", label="old fact retrievable"),
        MetricSpec(name="history_answer", label="names the old value"),
        MetricSpec(name="cp_score", label="Coherent Persuasion (KL)", higher_is_better=None, percent=False),
        MetricSpec(name="current_before", label="current value before any write", higher_is_better=None),
    ),
    breakdowns=(
        BreakdownSpec(id="current_by_partition", title="Current value by partition", metric="current",
                      tag="partition", x_label="partition"),
        BreakdownSpec(id="cp_by_partition", title="Coherent Persuasion score by partition", metric="cp_score",
                      tag="partition", x_label="partition"),
    ),
    data_subdir="dynamicqa",
)

PROMPT = "Answer the question with one word.\nThis article is about {subj}.\nQuestion: {question}"
HISTORY_PROMPT = (
    "Answer the question with one word.\nThis article is about {subj}.\n"
    "Before the most recent update, what was the answer to this question: {question}"
)


class DynamicQAParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    partitions: list[str] = Field(default=["static", "temporal", "disputable"])
    n_samples: int = Field(default=4, ge=2, le=32, description="answers sampled per condition (paper: 10)")
    temperature: float = Field(default=0.5, gt=0, description="sampling temperature (paper: 0.5)")
    max_new_tokens: int = Field(default=8, ge=1, le=64, description="tokens per sampled answer (persuasion)")
    answer_tokens: int = Field(default=16, ge=1, le=64, description="tokens of the greedy current/history answers")
    k: int = Field(default=2, ge=1)
    clustering: str = Field(default="normalized", description="normalized | embedding")

    @field_validator("partitions")
    @classmethod
    def _parts(cls, v: list[str]) -> list[str]:
        bad = [p for p in v if p not in FILES]
        if bad or not v:
            raise ValueError(f"partitions must be among {list(FILES)}, got {v}")
        return list(dict.fromkeys(v))

    @field_validator("clustering")
    @classmethod
    def _clustering(cls, v: str) -> str:
        if v not in ("normalized", "embedding"):
            raise ValueError("clustering must be 'normalized' or 'embedding'")
        return v


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return rows


def _required(row: dict[str, str], partition: str) -> None:
    need = ["id", "subj", "question", "context", "obj", "replace_name"]
    missing = [c for c in need if c not in row]
    if missing:
        raise BenchError(f"{FILES[partition]} lacks the columns {missing}; expected the paper's released format")


def _aliases(row: dict[str, str]) -> list[str]:
    raw = row.get("possible_answers") or ""
    try:
        found = json.loads(raw) if raw else []
    except json.JSONDecodeError:
        raise BenchError(f"possible_answers of row {row['id']} is not a JSON list: {raw[:80]!r}") from None
    return list(dict.fromkeys([row["obj"], *[str(a) for a in found]]))


def fact_text(row: dict[str, str], partition: str, value: str) -> str:
    """The context with ``value`` as the object (the paper's construction)."""
    ctx = row["context"].strip()
    if partition == "disputable":
        return f"This article is about {row['subj']}. " + ctx.replace(row["obj"], value)
    return ctx.replace("[ENTITY]", value)


class DynamicQATask(Task):
    spec = SPEC
    Params = DynamicQAParams

    def episodes(self, *, limit: int, seed: int) -> list[Episode]:
        p: DynamicQAParams = self.params  # type: ignore[assignment]
        root = resolve_dataset(self.data, SPEC.data_subdir or "dynamicqa", [FILES[x] for x in p.partitions])
        rng = random.Random(seed)
        out: list[Episode] = []
        for i, part in enumerate(p.partitions):
            n = limit // len(p.partitions) + (1 if i < limit % len(p.partitions) else 0)
            rows = _rows(root / FILES[part])
            if rows:
                _required(rows[0], part)
            rows = [r for r in rows if r["obj"].strip() and r["replace_name"].strip()
                    and r["obj"].strip().lower() != r["replace_name"].strip().lower()]
            for r in rng.sample(rows, min(n, len(rows))):
                out.append(self._episode(r, part, seed))
        return out

    def _episode(self, row: dict[str, str], part: str, seed: int) -> Episode:
        p: DynamicQAParams = self.params  # type: ignore[assignment]
        ep_id = f"dynamicqa/{part}/{row['id']}"
        scope = ep_id
        old, new = row["obj"].strip(), row["replace_name"].strip()
        old_text, new_text = fact_text(row, part, old), fact_text(row, part, new)
        prompt = PROMPT.format(subj=row["subj"], question=row["question"])
        meta = {"partition": part, "row_id": row["id"], "subject": row["subj"]}
        orig = MemoryRecord(id=f"{ep_id}/original", text=old_text, scope=scope, valid_from=_ORIGINAL_TIME,
                            metadata={**meta, "value": "original"},
                            edit=EditSpec(prompt=prompt, target=" " + old, subject=row["subj"]))
        upd = MemoryRecord(id=f"{ep_id}/update", text=new_text, scope=scope, valid_from=_UPDATE_TIME,
                           supersedes=orig.id, metadata={**meta, "value": "update"},
                           edit=EditSpec(prompt=prompt, target=" " + new, subject=row["subj"]))
        qseed = stable_seed(seed, ep_id)
        common: dict[str, Any] = {"scope": scope, "k": p.k, "seed": qseed, "answer_prefix": "Answer:"}
        sampled = {"mode": "generate", "n_samples": p.n_samples, "temperature": p.temperature,
                   "want_distributions": True, "max_new_tokens": p.max_new_tokens}
        greedy = {"mode": "generate", "max_new_tokens": p.answer_tokens}
        before = Query(id=f"{ep_id}/before", prompt=prompt, oracle_context=[], **sampled, **common)
        current = Query(id=f"{ep_id}/current", prompt=prompt, oracle_context=[new_text], **greedy, **common)
        after = Query(id=f"{ep_id}/after", prompt=prompt, oracle_context=[new_text], **sampled, **common)
        history = Query(id=f"{ep_id}/history", prompt=HISTORY_PROMPT.format(subj=row["subj"], question=row["question"]),
                        include_superseded=True, oracle_context=[old_text, new_text], search=[row["question"]],
                        **greedy, **common)
        gold = {"old": _aliases(row), "new": [new], "old_record": orig.id, "new_record": upd.id}
        return Episode(
            id=ep_id,
            actions=[Ask(queries=[before]), Write(records=[orig]), Write(records=[upd]),
                     Ask(queries=[current, after, history])],
            tags={"partition": part}, gold=gold,
        )

    def _cluster(self, texts: Sequence[str]) -> list[list[int]]:
        p: DynamicQAParams = self.params  # type: ignore[assignment]
        if p.clustering == "embedding":
            return cluster_answers(texts, "embedding", embed=_bundled_embed)
        return cluster_answers(texts, "normalized")

    def score(self, episode: Episode, answers: dict[str, Answer]) -> list[ItemResult]:
        g = episode.gold
        ep = episode.id
        before, current, after, history = (answers[f"{ep}/{n}"] for n in ("before", "current", "after", "history"))
        is_new = contains_answer(current.text, g["new"])
        is_old = contains_answer(current.text, g["old"])
        metrics: dict[str, float | None] = {
            "current": float(is_new and not is_old),
            "stale": float(is_old and not is_new),
            "history_answer": float(contains_answer(history.text, g["old"]) and not contains_answer(history.text, g["new"])),
            "history_kept": None,
            "cp_score": None,
            "current_before": sum(contains_answer(t, g["new"]) for t in before.texts) / max(1, len(before.texts)),
        }
        memory = history.meta.get("memory")
        if memory == "retrieval":
            metrics["history_kept"] = float(any(p.id == g["old_record"] for p in history.passages))
        elif memory == "oracle":
            metrics["history_kept"] = float(any(contains_answer(p.text, g["old"]) for p in history.passages))
        if before.distributions is not None and after.distributions is not None:
            metrics["cp_score"] = persuasion_score(self._cluster(after.texts), after.distributions,
                                                   self._cluster(before.texts), before.distributions)
        note = None if before.distributions is not None else "no next-token distributions: CP not computed"
        return [ItemResult(id=ep, episode_id=ep, tags=dict(episode.tags), metrics=metrics,
                           query_ids=[a.query_id for a in (before, current, after, history)], note=note)]

    def summarize(self, results: dict[str, list[ItemResult]]) -> Summary:
        summary = super().summarize(results)
        summary.notes.append(
            "CP is the paper's mean KL over all pairs of (with-memory, without-memory) answer clusters, so it is "
            "above 0 even when nothing persuades: the base system's CP (same prompt before and after, independent "
            "samples) is that floor."
        )
        summary.notes.append(f"Semantic clustering: {self.params.clustering} "  # type: ignore[attr-defined]
                             "(normalized = equal after SQuAD normalisation; embedding = bundled MiniLM, cos >= 0.85).")
        return summary

    def llm_free_answer(self, query: Query, passages: Sequence[Passage]) -> Answer:
        """The memory's own answer: the current note (or, for history, the superseded notes), verbatim."""
        if query.include_superseded:
            old = [p for p in passages if p.metadata.get("valid_to")]
            text = " ".join(p.text for p in old)
        else:
            text = passages[0].text if passages else ""
        return Answer(query_id=query.id, system="", texts=[text] * query.n_samples, passages=list(passages),
                      meta={"llm_free": True})


@lru_cache(maxsize=1)
def _bundled_embedder() -> Any:
    from memkit.config import EmbedderConfig
    from memkit.registry import embedders

    return embedders.get("sentence-transformers")(EmbedderConfig())


def _bundled_embed(texts: Sequence[str]) -> Any:
    return _bundled_embedder().embed(list(texts))
