"""memkit.bench.chatrecall: chat turns as notes, evidence recall per question, and ``evaluate`` on real
LongMemEval chats in a real Memory (bundled all-MiniLM-L6-v2, Chroma, SQLite)."""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from memkit import Memory
from memkit.bench.chatrecall import (
    ABSTENTION,
    BASELINES,
    TURN_KEY,
    asked_at,
    build_store,
    chat_items,
    chat_records,
    evaluate,
    question_recall,
)
from memkit.bench.chats import Chat, ChatQuestion, ChatSession, ChatTurn, read_longmemeval
from memkit.config import MemkitConfig, RetrievalConfig

UTC = timezone.utc
FAST = {"embedder": {"kind": "hash", "model": "hash"}, "index": {"kind": "exact"}}
# two answerable chats (1 and 2 sessions, 12 and 24 turns) and one abstention question
FILES = ["1_8550ddae.json", "2_gpt4_1e4a8aec.json", "1_0862e8bf_abs.json"]


def _chat() -> Chat:
    d1, d2 = datetime(2023, 5, 1, 9, tzinfo=UTC), datetime(2023, 5, 8, 18, tzinfo=UTC)
    return Chat(id="c1", source="fixture", sessions=[
        ChatSession(id="S1", date=d1, turns=[
            ChatTurn(id="D1:1", speaker="user", text="I adopted a cat called Luna."),
            ChatTurn(id="D1:2", speaker="assistant", text="   "),
            ChatTurn(id="D1:3", speaker="assistant", text="Congratulations on Luna!"),
        ]),
        ChatSession(id="S2", date=d2, turns=[ChatTurn(id="D2:1", speaker="user", text="Luna likes tuna.")]),
    ], questions=[ChatQuestion(id="q", question="What is my cat called?", answer="Luna", category="x",
                               date=datetime(2023, 5, 9, 8, 30, tzinfo=UTC), evidence_turns=["D1:1"],
                               evidence_sessions=["S1"])])


# -- chat_items ------------------------------------------------------------------------------------------------------
def test_chat_items_fields_store_session_speaker_and_time():
    items = chat_items(_chat(), "fields")
    d1, d2 = datetime(2023, 5, 1, 9, tzinfo=UTC), datetime(2023, 5, 8, 18, tzinfo=UTC)
    assert items == [
        {"user_id": "c1", "valid_from": d1, "content": "I adopted a cat called Luna.", "session_id": "c1/S1",
         "metadata": {"speaker": "user", TURN_KEY: "D1:1"}},
        # the blank turn is left out, but the turns keep their place in time (30 s apart)
        {"user_id": "c1", "valid_from": d1 + timedelta(seconds=60), "content": "Congratulations on Luna!",
         "session_id": "c1/S1", "metadata": {"speaker": "assistant", TURN_KEY: "D1:3"}},
        {"user_id": "c1", "valid_from": d2, "content": "Luna likes tuna.", "session_id": "c1/S2",
         "metadata": {"speaker": "user", TURN_KEY: "D2:1"}},
    ]
    assert chat_items(_chat()) == items  # fields is the default


def test_chat_items_plain_store_speaker_colon_text_and_no_session():
    items = chat_items(_chat(), "plain")
    assert [it["content"] for it in items] == ["user: I adopted a cat called Luna.",
                                               "assistant: Congratulations on Luna!", "user: Luna likes tuna."]
    assert all("session_id" not in it for it in items)
    assert [it["metadata"] for it in items] == [{TURN_KEY: "D1:1"}, {TURN_KEY: "D1:3"}, {TURN_KEY: "D2:1"}]
    assert [it["valid_from"] for it in items] == [it["valid_from"] for it in chat_items(_chat(), "fields")]


def test_chat_records_are_the_items_with_chat_turn_ids():
    records = chat_records(_chat(), "fields")
    assert [r.id for r in records] == ["c1/D1:1", "c1/D1:3", "c1/D2:1"]
    assert [r.session for r in records] == ["c1/S1", "c1/S1", "c1/S2"]
    assert all(r.scope == "c1" for r in records)
    assert [r.session for r in chat_records(_chat(), "plain")] == [None, None, None]


def test_asked_at_is_the_end_of_the_question_day():
    assert asked_at(_chat().questions[0]) == datetime(2023, 5, 9, 23, 59, 59, tzinfo=UTC)
    assert asked_at(ChatQuestion(id="q", question="?", answer="", category="x")) is None


# -- question_recall ---------------------------------------------------------------------------------------------------
SESSION_OF = {"D1:1": "S1", "D1:2": "S1", "D2:3": "S2", "D2:4": "S2", "D3:1": "S3"}


def test_question_recall_exact_values():
    ranked = ["D1:1", None, "D2:3", "D9:9", "D1:2", "D3:1"]
    row = question_recall(ranked, ["D1:1", "D3:1", "D2:4"], ["S1", "S3"], SESSION_OF, ks=(2, 6))
    assert row == {
        "turn@2": pytest.approx(1 / 3), "session@2": pytest.approx(1 / 2),  # top 2: D1:1 (and a hit of no turn)
        "turn@6": pytest.approx(2 / 3), "session@6": pytest.approx(1.0),  # D9:9 names no session: ignored
    }


def test_question_recall_only_the_kinds_of_evidence_given():
    assert question_recall(["D1:1"], [], ["S1"], SESSION_OF) == {"session@5": 1.0, "session@10": 1.0}
    assert question_recall(["D2:3"], ["D1:1"], [], SESSION_OF) == {"turn@5": 0.0, "turn@10": 0.0}
    assert question_recall([], ["D1:1"], ["S1"], SESSION_OF, ks=(1,)) == {"turn@1": 0.0, "session@1": 0.0}


def test_question_recall_counts_a_session_once():
    row = question_recall(["D2:3", "D2:4", "D1:1"], ["D2:4"], ["S2", "S1"], SESSION_OF, ks=(2, 3))
    assert row == {"turn@2": 1.0, "session@2": 0.5, "turn@3": 1.0, "session@3": 1.0}


# -- build_store ------------------------------------------------------------------------------------------------------
def test_build_store_is_cached_and_rebuilds_an_interrupted_build(tmp_path):
    chats = [_chat()]
    cfg = MemkitConfig.parse(FAST)
    with build_store(chats, "fields", cfg, cache=tmp_path, embed_cache=False, progress=False) as mem:
        assert len(mem.all(user_id="c1")) == 3
        root = mem.path.parent
    assert json.loads((root / "complete").read_text())["notes"] == 3
    with build_store(chats, "fields", cfg, cache=tmp_path, embed_cache=False, progress=False) as mem:
        assert mem.path.parent == root and len(mem.all(user_id="c1")) == 3  # reused, not written twice
    with build_store(chats, "plain", cfg, cache=tmp_path, embed_cache=False, progress=False) as mem:
        assert mem.path.parent != root  # another storing, another store
        assert sorted(n.content for n in mem.all(user_id="c1"))[0] == "assistant: Congratulations on Luna!"
    (root / "complete").unlink()  # as if the build had been interrupted
    with build_store(chats, "fields", cfg, cache=tmp_path, embed_cache=False, progress=False) as mem:
        assert len(mem.all(user_id="c1")) == 3
    assert (root / "complete").is_file()


# -- evaluate on real chats in a real Memory ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def chats(data_dir: Path) -> list[Chat]:
    return [c for f in FILES for c in read_longmemeval(data_dir / "longmemeval" / "oracle" / f)]


@pytest.fixture(scope="module")
def store(chats, tmp_path_factory) -> Iterator[Memory]:
    mem = build_store(chats, "fields", MemkitConfig(), cache=tmp_path_factory.mktemp("stores"), embed_cache=False,
                      progress=False)
    with mem:
        yield mem


def test_evaluate_on_real_chats(store, chats):
    result = evaluate(store, chats, ks=(5, 10), name="default", keep_per_question=True)
    asked = [q for c in chats for q in c.questions if not q.category.endswith(ABSTENTION)]
    assert len(asked) == 2 and len(asked) < sum(len(c.questions) for c in chats)
    assert result.name == "default"
    assert result.questions == len(asked)  # the abstention question is left out
    assert set(result.per_question) == {q.id for q in asked}
    assert set(result.by_category) == {q.category for q in asked}
    assert sum(row["n"] for row in result.by_category.values()) == result.questions
    for k in (5, 10):
        for value in (result.turn_recall[k], result.session_recall[k]):
            assert 0.0 <= value <= 1.0
        # the means are those of the per-question rows
        assert result.turn_recall[k] == pytest.approx(
            statistics.fmean(r[f"turn@{k}"] for r in result.per_question.values()), abs=1e-4)
    for row in result.per_question.values():
        assert row["turn@5"] <= row["turn@10"] and row["session@5"] <= row["session@10"]
        # oracle haystacks hold only the evidence sessions: any turn returned is from one of them
        assert row["session@10"] > 0
    assert all(set(c.questions[0].evidence_sessions) == {s.id for s in c.sessions} for c in chats)
    assert result.ms_per_query > 0


def test_evaluate_scores_what_search_returns(store, chats):
    chat = chats[1]
    [q] = chat.questions
    hits = store.search(q.question, k=10, user_id=chat.id, as_of=asked_at(q))
    assert {h.note.user_id for h in hits} == {chat.id}  # searched within its own chat
    ranked = [h.note.metadata[TURN_KEY] for h in hits]
    expected = question_recall(ranked, q.evidence_turns, q.evidence_sessions, {t.id: s.id for s, t in chat.turns()})
    result = evaluate(store, [chat], keep_per_question=True)
    assert result.per_question[q.id] == pytest.approx(expected)


def test_evaluate_restores_the_retrieval_config(store, chats):
    before = store.config.retrieval
    result = evaluate(store, chats, retrieval={"fusion": "rrf"}, name="rrf")
    assert store.config.retrieval is before
    assert result.name == "rrf" and result.questions == 2


@pytest.mark.parametrize(("baseline", "off", "on"), [("BM25 only", "dense", "lexical"),
                                                     ("dense only", "lexical", "dense")])
def test_baselines_switch_a_retriever_off(store, chats, baseline, off, on):
    base = store.config.retrieval
    store.config.retrieval = RetrievalConfig(**{**base.model_dump(), **BASELINES[baseline]})
    try:
        hits = [h for c in chats for q in c.questions
                for h in store.search(q.question, k=10, user_id=c.id, as_of=asked_at(q))]
    finally:
        store.config.retrieval = base
    assert hits
    assert all(getattr(h.scores, off) is None for h in hits)
    assert all(getattr(h.scores, on) is not None for h in hits)
    result = evaluate(store, chats, retrieval=BASELINES[baseline], name=baseline)
    assert all(0.0 <= v <= 1.0 for v in result.turn_recall.values())


def test_default_search_uses_both_retrievers(store, chats):
    chat = chats[0]
    hits = store.search(chat.questions[0].question, k=10, user_id=chat.id)
    assert any(h.scores.dense is not None for h in hits) and any(h.scores.lexical is not None for h in hits)
