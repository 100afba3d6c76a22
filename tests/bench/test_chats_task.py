"""The bench task "chats" (memkit.bench.tasks.chats): episodes from real chats, the turn/session recall score,
and whole runs through the real retrieval memory on LongMemEval oracle chats and a LoCoMo-format file."""

from __future__ import annotations

from pathlib import Path

import pytest

from memkit.bench import run_task
from memkit.bench.chatrecall import asked_at, question_recall
from memkit.bench.chats import read_chats, split
from memkit.bench.records import Answer, Ask, Episode, Passage, Query, Write
from memkit.bench.runner import make_task, read_items
from memkit.bench.tasks.chats import ChatsTask
from memkit.errors import InvalidInputError
from tests.bench.test_chats import write_locomo

METRICS = {"turn@5", "turn@10", "session@5", "session@10"}


@pytest.fixture(scope="module")
def oracle(data_dir: Path) -> Path:
    path = data_dir / "longmemeval" / "oracle"
    assert path.is_dir(), f"LongMemEval oracle files missing at {path}"
    return path


# -- score -----------------------------------------------------------------------------------------------------------
def _episode() -> Episode:
    gold = {
        "questions": {
            "q1": {"category": "multi-session", "turns": ["D1:1", "D2:2"], "sessions": ["S1", "S2"]},
            "q2": {"category": "single-session-user", "turns": ["D3:1"], "sessions": ["S3"]},
        },
        "session_of": {"D1:1": "S1", "D1:2": "S1", "D2:1": "S2", "D2:2": "S2", "D3:1": "S3"},
    }
    ask = Ask(queries=[Query(id="q1", mode="generate", prompt="?"), Query(id="q2", mode="generate", prompt="?")])
    return Episode(id="chat", actions=[Write(records=[]), ask], gold=gold)


def _answer(qid: str, turns: list[str]) -> Answer:
    return Answer(query_id=qid, system="s", passages=[Passage(id=f"chat/{t}", text=t) for t in turns])


def test_score_gives_the_exact_turn_and_session_recall():
    task = ChatsTask()
    # q1: D1:1 4th, then a turn of S2 (not its evidence D2:2) 6th; "D1:1b" and "D3:1x" name no turn
    q1 = ["D1:2", "D3:1", "D1:1b", "D1:1", "D3:1x", "D2:1"]
    # q2: its one evidence turn 6th, after a repeated passage
    q2 = ["D1:1", "D2:1", "D2:2", "D1:2", "D1:1", "D3:1"]
    rows = {r.id: r for r in task.score(_episode(), {"q1": _answer("q1", q1), "q2": _answer("q2", q2)})}
    assert rows["q1"].metrics == {"turn@5": 0.5, "session@5": 0.5, "turn@10": 0.5, "session@10": 1.0}
    assert rows["q2"].metrics == {"turn@5": 0.0, "session@5": 0.0, "turn@10": 1.0, "session@10": 1.0}
    assert rows["q1"].tags == {"category": "multi-session"} and rows["q1"].episode_id == "chat"
    assert rows["q1"].query_ids == ["q1"]


def test_score_with_nothing_retrieved_is_zero():
    task = ChatsTask()
    rows = task.score(_episode(), {"q1": _answer("q1", []), "q2": _answer("q2", ["D2:1"])})
    assert [r.metrics for r in rows] == [dict.fromkeys(METRICS, 0.0)] * 2


def test_score_only_strips_its_own_chat_prefix():
    task = ChatsTask()
    answer = Answer(query_id="q2", system="s", passages=[Passage(id="other/D3:1", text="x")])
    [_, row] = task.score(_episode(), {"q1": _answer("q1", []), "q2": answer})
    assert row.metrics["turn@10"] == 0.0  # another chat's D3:1 is not this chat's


# -- episodes --------------------------------------------------------------------------------------------------------
def test_episodes_write_every_turn_and_ask_as_of_the_question_date(oracle):
    path = oracle / "2_gpt4_1e4a8aec.json"
    [chat] = read_chats(path)
    [episode] = ChatsTask({"split": "all"}, data=str(path)).episodes(limit=5, seed=0)
    write, ask = episode.actions
    assert isinstance(write, Write) and isinstance(ask, Ask)
    assert episode.id == chat.id and episode.tags == {"source": "longmemeval"}
    assert [r.id for r in write.records] == [f"{chat.id}/{t.id}" for _, t in chat.turns() if t.text.strip()]
    assert all(r.scope == chat.id and r.session is not None for r in write.records)
    [q] = ask.queries
    [cq] = chat.questions
    assert (q.id, q.prompt, q.scope, q.k, q.as_of) == (cq.id, cq.question, chat.id, 10, asked_at(cq))
    assert episode.gold["questions"][cq.id] == {"category": cq.category, "turns": cq.evidence_turns,
                                                 "sessions": cq.evidence_sessions}
    assert episode.gold["session_of"] == {t.id: s.id for s, t in chat.turns()}


def test_episodes_leave_out_abstention_questions(oracle):
    task = ChatsTask({"split": "all"}, data=str(oracle / "1_0862e8bf_abs.json"))
    assert task.episodes(limit=5, seed=0) == []


def test_episodes_take_the_split_in_a_seeded_order(oracle):
    chats = read_chats(oracle)
    test_ids = {c.id for c in split(chats, "test")}
    first = ChatsTask(data=str(oracle)).episodes(limit=6, seed=0)  # split "test" by default
    assert {e.id for e in first} <= test_ids
    assert [e.id for e in first] == [e.id for e in ChatsTask(data=str(oracle)).episodes(limit=6, seed=0)]
    assert [e.id for e in first] != [e.id for e in ChatsTask(data=str(oracle)).episodes(limit=6, seed=1)]
    dev = ChatsTask({"split": "dev"}, data=str(oracle)).episodes(limit=6, seed=0)
    assert not {e.id for e in dev} & test_ids


def test_params_are_checked():
    with pytest.raises(InvalidInputError, match="bad parameters"):
        make_task("chats", {"k": 5})
    with pytest.raises(InvalidInputError, match="bad parameters"):
        make_task("chats", {"storing": "json"})


# -- whole runs through the real memory ----------------------------------------------------------------------------
def _answers(out: Path, system: str) -> list[Answer]:
    return [a for rec in read_items(out) if rec.system == system for a in rec.answers]


def test_run_on_longmemeval_oracle_chats(tmp_path, oracle):
    out = tmp_path / "run"
    system = "retrieval:reader=none"
    _, man = run_task("chats", [system], limit=2, data=str(oracle), out=out, progress=False)
    episodes = ChatsTask(data=str(oracle)).episodes(limit=2, seed=0)
    gold = {qid: g for e in episodes for qid, g in e.gold["questions"].items()}
    session_of = {e.id: e.gold["session_of"] for e in episodes}
    metrics = man.summary.metrics[system]
    assert set(metrics) == METRICS
    for name in METRICS:
        assert metrics[name].n == len(gold) > 0
        assert 0.0 <= metrics[name].mean <= 1.0
    assert {t.id for t in man.summary.tables} >= {"turn_by_type", "session_by_type"}
    # each row is the recall of the passages the memory returned
    rows = {r.id: r for rec in read_items(out) for r in rec.results}
    answers = _answers(out, system)
    assert {a.query_id for a in answers} == set(gold) == set(rows)
    for a in answers:
        assert 0 < len(a.passages) <= 10
        chat = a.passages[0].id.split("/")[0]
        assert all(p.id.startswith(f"{chat}/") for p in a.passages)  # searched within its own chat
        ranked = [p.id.removeprefix(f"{chat}/") for p in a.passages]
        g = gold[a.query_id]
        assert rows[a.query_id].metrics == question_recall(ranked, g["turns"], g["sessions"], session_of[chat])
        # stored as fields: the turn's text, its speaker as metadata
        assert all(p.metadata["speaker"] in {"user", "assistant"} for p in a.passages)
        assert not any(p.text.startswith(("user: ", "assistant: ")) for p in a.passages)


def test_run_on_a_locomo_file_stored_plain(tmp_path):
    data = write_locomo(tmp_path / "locomo10.json")
    out = tmp_path / "run"
    system = "retrieval:reader=none"
    _, man = run_task("chats", [system], limit=2, data=str(data), out=out, progress=False,
                      params={"split": "all", "storing": "plain"})
    chats = read_chats(data)
    n_questions = sum(len(c.questions) for c in chats)
    metrics = man.summary.metrics[system]
    assert set(metrics) == METRICS
    assert all(metrics[m].n == n_questions for m in METRICS)
    # each conversation has at most 10 turns, so the top 10 hold every evidence turn
    assert metrics["turn@10"].mean == 1.0 and metrics["session@10"].mean == 1.0
    speakers = {t.speaker for c in chats for _, t in c.turns()}
    texts = {f"{t.speaker}: {t.text}" for c in chats for _, t in c.turns()}
    answers = _answers(out, system)
    assert {a.query_id for a in answers} == {q.id for c in chats for q in c.questions}
    for a in answers:
        assert a.passages
        for p in a.passages:
            assert p.text in texts  # "speaker: text"
            assert p.text.split(": ", 1)[0] in speakers
            assert "speaker" not in p.metadata
