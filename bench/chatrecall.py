"""Evidence recall of memkit's search on real multi-session chats (LongMemEval, LoCoMo), LLM-free.

One note per chat turn, one user per chat; each question is searched within its chat, and we
count how many of its evidence turns (turn recall) and evidence sessions (session recall: a
session counts when one of its turns is returned) land in the top ``k``.  Abstention questions
(LongMemEval's ``*_abs``: the asked-about fact was never said) are left out of the means.

Turns can be stored two ways, as users do: ``fields`` (``session_id``, ``metadata.speaker``,
``valid_from``: how the README asks) and ``plain`` (``"speaker: text"`` only, with its time).
A built store is cached by data, storing and ingest config, so retrieval variants are cheap.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import statistics
import time
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from memkit.bench.chats import Chat, ChatQuestion
from memkit.bench.data import cache_root
from memkit.bench.records import MemoryRecord
from memkit.config import MemkitConfig, RetrievalConfig

__all__ = ["Storing", "chat_items", "chat_records", "build_store", "evaluate", "question_recall", "asked_at",
           "RecallResult", "ABSTENTION", "TURN_KEY"]

Storing = Literal["fields", "plain"]
ABSTENTION = "-abstention"
TURN_KEY = "turn"  # metadata key holding the chat's turn id


def chat_items(chat: Chat, storing: Storing = "fields") -> list[dict[str, Any]]:
    """One ``add()`` item per non-empty turn, timed by its session (30 s apart), scoped to the chat."""
    items = []
    for s in chat.sessions:
        for i, t in enumerate(s.turns):
            if not t.text.strip():
                continue
            item: dict[str, Any] = {"user_id": chat.id, "valid_from": s.date + timedelta(seconds=30 * i)}
            if storing == "fields":
                item |= {"content": t.text, "session_id": f"{chat.id}/{s.id}",
                         "metadata": {"speaker": t.speaker, TURN_KEY: t.id}}
            else:
                item |= {"content": f"{t.speaker}: {t.text}", "metadata": {TURN_KEY: t.id}}
            items.append(item)
    return items


def chat_records(chat: Chat, storing: Storing = "fields") -> list[MemoryRecord]:
    """:func:`chat_items` as bench records (``<chat>/<turn>`` ids), for the ``chats`` task."""
    return [MemoryRecord(id=f"{chat.id}/{it['metadata'][TURN_KEY]}", text=it["content"], scope=it["user_id"],
                         session=it.get("session_id"), valid_from=it["valid_from"], metadata=it["metadata"])
            for it in chat_items(chat, storing)]


def _store_key(chats: Sequence[Chat], storing: Storing, config: MemkitConfig) -> str:
    ingest_cfg = config.model_dump(mode="json", exclude={"retrieval"})
    h = hashlib.sha256(json.dumps({"chats": [c.id for c in chats], "storing": storing, "config": ingest_cfg,
                                   "n": sum(len(s.turns) for c in chats for s in c.sessions)},
                                  sort_keys=True).encode())
    return h.hexdigest()[:16]


def build_store(chats: Sequence[Chat], storing: Storing, config: MemkitConfig, *, cache: Path | None,
                embed_cache: bool = True, progress: bool = True) -> Any:
    """A ``Memory`` holding every chat (reused from ``cache`` when the same store was built before)."""
    from memkit.memory import Memory

    root = cache if cache is not None else cache_root() / "bench-stores"
    path = root / f"{storing}-{_store_key(chats, storing, config)}"
    done = path / "complete"
    if path.exists() and not done.exists():
        shutil.rmtree(path)  # an interrupted build
    mem = Memory(path / "store", config)
    if embed_cache:
        from memkit.bench.embcache import CachedEmbedder

        mem.embedder = CachedEmbedder(mem.embedder)
    if not done.exists():
        items = [it for c in chats for it in chat_items(c, storing)]
        t0 = time.perf_counter()
        mem.add_many(items, progress=progress)
        done.write_text(json.dumps({"notes": len(items), "seconds": round(time.perf_counter() - t0, 1)}))
    return mem


class RecallResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    questions: int
    turn_recall: dict[int, float]  # k -> mean over questions with evidence turns
    session_recall: dict[int, float]  # k -> mean over questions
    by_category: dict[str, dict[str, float]]  # category -> {"turn@10": ..., "session@10": ..., "n": ...}
    ms_per_query: float
    per_question: dict[str, dict[str, float]] = {}


def _recall(found: set[str], wanted: Sequence[str]) -> float:
    return len(found & set(wanted)) / len(wanted)


def question_recall(ranked: Sequence[str | None], turns: Sequence[str], sessions: Sequence[str],
                    session_of: dict[str, str], ks: Sequence[int] = (5, 10)) -> dict[str, float]:
    """``turn@k``: the share of the evidence ``turns`` among the first ``k`` of ``ranked`` (turn ids, best
    first); ``session@k``: the share of the evidence ``sessions`` they come from.  Only the kinds of evidence
    a question has."""
    row: dict[str, float] = {}
    for k in ks:
        top = {t for t in ranked[:k] if t is not None}
        if turns:
            row[f"turn@{k}"] = _recall(top, turns)
        if sessions:
            row[f"session@{k}"] = _recall({session_of[t] for t in top if t in session_of}, sessions)
    return row


def asked_at(q: ChatQuestion) -> datetime | None:
    """When a question is asked, so that "four weeks ago" counts from then.  A question's date is read to the
    end of its day: LongMemEval times some sessions of that day a few hours after the question itself."""
    if q.date is None:
        return None
    return q.date.replace(hour=23, minute=59, second=59)


def evaluate(mem: Any, chats: Sequence[Chat], ks: Sequence[int] = (5, 10), name: str = "memkit",
             retrieval: dict[str, Any] | None = None, keep_per_question: bool = False) -> RecallResult:
    """Search every (non-abstention) question within its chat and score turn and session recall@k."""
    base = mem.config.retrieval
    if retrieval is not None:
        mem.config.retrieval = RetrievalConfig(**{**base.model_dump(), **retrieval, "update_access": False})
    try:
        k_max = max(ks)
        turn_r: dict[int, list[float]] = defaultdict(list)
        sess_r: dict[int, list[float]] = defaultdict(list)
        by_cat: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        per_q: dict[str, dict[str, float]] = {}
        took: list[float] = []
        for chat in chats:
            session_of = {t.id: s.id for s, t in chat.turns()}
            for q in chat.questions:
                if q.category.endswith(ABSTENTION):
                    continue
                t0 = time.perf_counter()
                hits = mem.search(q.question, k=k_max, user_id=chat.id, as_of=asked_at(q))
                took.append(time.perf_counter() - t0)
                row = question_recall([h.note.metadata.get(TURN_KEY) for h in hits], q.evidence_turns,
                                      q.evidence_sessions, session_of, ks)
                for k in ks:
                    if f"turn@{k}" in row:
                        turn_r[k].append(row[f"turn@{k}"])
                    if f"session@{k}" in row:
                        sess_r[k].append(row[f"session@{k}"])
                for key, v in row.items():
                    by_cat[q.category][key].append(v)
                per_q[q.id] = row
    finally:
        mem.config.retrieval = base
    mean = lambda xs: round(statistics.fmean(xs), 4) if xs else float("nan")  # noqa: E731
    return RecallResult(
        name=name, questions=len(took),
        turn_recall={k: mean(turn_r[k]) for k in ks}, session_recall={k: mean(sess_r[k]) for k in ks},
        by_category={c: {**{key: mean(v) for key, v in d.items()}, "n": len(d.get(f"session@{k_max}", []))}
                     for c, d in sorted(by_cat.items())},
        ms_per_query=round(1000 * statistics.fmean(took), 2) if took else 0.0,
        per_question=per_q if keep_per_question else {},
    )


# Retrieval variants: the default, the plain retrievers, each part of the default switched off, and each part
# that is off by default switched on (all measured on the dev split, reported on test; see BENCHMARKS.md).
_PLAIN = {"graph": False, "recency": False, "speaker_boost": 0.0, "feedback": 0.0, "diversity": 0.0,
          "informative_terms": 0, "present_weight": 0.0, "time_weight": 0.0, "session_diversity": 0.0}
BASELINES: dict[str, dict[str, Any]] = {
    "memkit default": {},
    "dense only": {**_PLAIN, "lexical": False},
    "BM25 only": {**_PLAIN, "dense": False},
    "dense + BM25, RRF": {**_PLAIN, "fusion": "rrf"},
    "dense + BM25, z-score": {**_PLAIN, "fusion": "z"},
}
ABLATIONS: dict[str, dict[str, Any]] = {
    "- z-score fusion (RRF)": {"fusion": "rrf"},
    "- speaker roles": {"speaker_boost": 0.0},
    "- named periods": {"time_weight": 0.0},
    "- present intent": {"present_weight": 0.0},
    "- session diversity": {"session_diversity": 0.0},
    "+ graph expansion": {"graph": True},
    "+ recency": {"recency": True},
    "+ feedback (RM3)": {"feedback": 0.5},
    "+ MMR diversity": {"diversity": 0.3, "session_diversity": 0.0},  # MMR runs only without session diversity
    "+ informative prior": {"informative_terms": 4},
}
