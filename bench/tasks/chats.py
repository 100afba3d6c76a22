"""Evidence recall on real multi-session chats (LongMemEval, or a LoCoMo file), as a bench task.

One episode per chat: every turn is written (one record per turn, scoped to the chat, stored
``fields`` or ``plain`` as :mod:`memkit.bench.chatrecall` describes), then each question is
asked as of its date.  A question scores by where its evidence lands among the retrieved
passages: turn and session recall at 5 and 10, the metric of ``python -m
memkit.bench.conversational`` (which adds cached stores and ablations on top of the same
reader and metric).  LLM-free: the retrieved passages are the answer.

    memkit bench run chats -s retrieval:reader=none --limit 10
    memkit bench run chats -s retrieval:reader=none -p split=dev -p storing=plain
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from memkit.bench.chatrecall import ABSTENTION, Storing, asked_at, chat_records, question_recall
from memkit.bench.chats import LONGMEMEVAL_S, chat_source, read_chats, split
from memkit.bench.records import Answer, Ask, Episode, ItemResult, Passage, Query, Write
from memkit.bench.task import BreakdownSpec, MetricSpec, Task, TaskSpec, stable_seed

__all__ = ["ChatsTask", "ChatsParams", "SPEC"]

SPEC = TaskSpec(
    name="chats",
    version=1,
    title="Evidence recall on real multi-session chats",
    citation="Wu et al. 2025, LongMemEval (ICLR); Maharana et al. 2024, LoCoMo (ACL)",
    description="Write every turn of a user's chat sessions, ask the benchmark's questions as of their date, and "
    "count the evidence turns (and sessions) among the top 5 and 10 passages; abstention questions are left out.",
    default_limit=10,
    default_systems=("retrieval:reader=none",),
    llm_free=True,
    needs=frozenset({"generate"}),
    metrics=(
        MetricSpec(name="turn@10", label="evidence turns in the top 10"),
        MetricSpec(name="session@10", label="evidence sessions in the top 10"),
        MetricSpec(name="turn@5", label="evidence turns in the top 5"),
        MetricSpec(name="session@5", label="evidence sessions in the top 5"),
    ),
    breakdowns=(
        BreakdownSpec(id="turn_by_type", title="Evidence turns in the top 10, by question type", metric="turn@10",
                      tag="category", x_label="question type"),
        BreakdownSpec(id="session_by_type", title="Evidence sessions in the top 10, by question type",
                      metric="session@10", tag="category", x_label="question type"),
    ),
    data_subdir=LONGMEMEVAL_S,
)


class ChatsParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    split: Literal["dev", "test", "all"] = Field(default="test", description="the fixed half of the questions")
    storing: Storing = Field(default="fields", description="'fields': session, speaker and time as fields; "
                             "'plain': 'speaker: text' with its time only")
    k: int = Field(default=10, ge=10, le=200, description="passages retrieved per question")


class ChatsTask(Task):
    spec = SPEC
    Params = ChatsParams

    def episodes(self, *, limit: int, seed: int) -> list[Episode]:
        p: ChatsParams = self.params  # type: ignore[assignment]
        episodes = []
        # in a fixed order that mixes the question types, so that a small ``limit`` samples all of them
        chats = sorted(split(read_chats(chat_source(self.data)), p.split), key=lambda c: stable_seed(seed, c.id))
        for chat in chats[:limit]:
            asked = [q for q in chat.questions if not q.category.endswith(ABSTENTION)]
            if not asked:
                continue
            session_of = {t.id: s.id for s, t in chat.turns()}
            queries = [Query(id=q.id, mode="generate", prompt=q.question, scope=chat.id, k=p.k, as_of=asked_at(q))
                       for q in asked]
            gold = {q.id: {"category": q.category, "turns": q.evidence_turns, "sessions": q.evidence_sessions}
                    for q in asked}
            episodes.append(Episode(
                id=chat.id,
                actions=[Write(records=chat_records(chat, p.storing)), Ask(queries=queries)],
                tags={"source": chat.source},
                gold={"questions": gold, "session_of": session_of},
            ))
        return episodes

    def score(self, episode: Episode, answers: dict[str, Answer]) -> list[ItemResult]:
        rows = []
        session_of: dict[str, str] = episode.gold["session_of"]
        prefix = f"{episode.id}/"
        for qid, g in episode.gold["questions"].items():
            ranked = [p.id.removeprefix(prefix) for p in answers[qid].passages]
            rows.append(ItemResult(id=qid, episode_id=episode.id, tags={"category": g["category"]},
                                   metrics=question_recall(ranked, g["turns"], g["sessions"], session_of), query_ids=[qid]))
        return rows

    def llm_free_answer(self, query: Query, passages: Sequence[Passage]) -> Answer:
        return Answer(query_id=query.id, system="", texts=[passages[0].text if passages else ""],
                      passages=list(passages))
