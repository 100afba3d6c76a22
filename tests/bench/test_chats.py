"""memkit.bench.chats: LongMemEval and LoCoMo read into typed chats, and the fixed dev/test split."""

from __future__ import annotations

import json
import logging
import random
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from memkit.bench.chats import (
    LOCOMO_CATEGORIES,
    Chat,
    ChatQuestion,
    ChatSession,
    ChatTurn,
    categories,
    parse_date,
    read_chats,
    read_locomo,
    read_longmemeval,
    split,
)
from memkit.errors import BenchError

UTC = timezone.utc
FILES = ["1_0862e8bf.json", "1_0862e8bf_abs.json", "2_gpt4_1e4a8aec.json"]


@pytest.fixture(scope="session")
def oracle(data_dir: Path) -> Path:
    path = data_dir / "longmemeval" / "oracle"
    assert path.is_dir(), f"LongMemEval oracle files missing at {path}"
    return path


def _raw(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


# -- a made-up LoCoMo release file (same layout as locomo10.json) ---------------------------------------------------
def locomo_samples() -> list[dict[str, Any]]:
    """Two samples; sessions 1, 2 and 10 (numbered as ints, not strings), questions of every kind of evidence."""
    conv1 = {
        "speaker_a": "Caroline", "speaker_b": "Melanie",
        "session_1_date_time": "1:56 pm on 8 May, 2023",
        "session_1": [
            {"speaker": "Caroline", "dia_id": "D1:1", "text": "I went to an LGBTQ support group yesterday."},
            {"speaker": "Melanie", "dia_id": "D1:2", "text": "That sounds really meaningful, how was it?"},
            {"speaker": "Melanie", "dia_id": "D1:3", "text": "Look at what I finished last night.",
             "blip_caption": "a photo of a sunset painting"},
        ],
        "session_2_date_time": "10:37 am on 27 June, 2023",
        "session_2": [
            {"speaker": "Caroline", "dia_id": "D2:1", "text": "I am researching adoption agencies now."},
            {"speaker": "Melanie", "dia_id": "D2:2", "text": "My kids loved the camping trip to the lake."},
        ],
        "session_10_date_time": "12:05 am on 20 July, 2023",
        "session_10": [
            {"speaker": "Caroline", "dia_id": "D10:1", "text": "The support group helped me decide to adopt."},
        ],
    }
    qa1 = [
        {"question": "When did Caroline go to the LGBTQ support group?", "answer": "7 May 2023",
         "evidence": ["D1:1"], "category": 2},  # q1
        {"question": "What did the support group lead Caroline to?", "answer": "adoption",
         "evidence": ["D1:1; D10:1"], "category": 1},  # q2: two ids in one string
        {"question": "What did Melanie paint?", "answer": "a sunset", "evidence": ["D1:03"], "category": 4},  # q3
        {"question": "What did Melanie research?", "adversarial_answer": "adoption agencies",
         "evidence": ["D2:1"], "category": 5},  # q4: adversarial, no 'answer'
        {"question": "What is Caroline's favourite colour?", "answer": "blue", "evidence": [], "category": 3},  # q5
        {"question": "Where did Melanie camp?", "answer": "the lake", "evidence": ["D99:1", "S2"],
         "category": 4},  # q6: no evidence id names a turn
        {"question": "Where did the kids go?", "answer": "the lake", "evidence": ["D2:2", "D42:7"],
         "category": 4},  # q7: one good id, one bad
        {"question": "Who went camping?", "answer": "Melanie's kids", "evidence": ["D2:2", "D2:2"],
         "category": 4},  # q8: the same id twice
        {"question": "An unknown kind of question?", "answer": "x", "evidence": ["D2:1"], "category": 7},  # q9
    ]
    conv2 = {
        "speaker_a": "Jon", "speaker_b": "Gina",
        "session_1_date_time": "4:04 pm on 20 January, 2023",
        "session_1": [
            {"speaker": "Jon", "dia_id": "D1:1", "text": "I lost my job as a banker last week."},
            {"speaker": "Gina", "dia_id": "D1:2", "text": "I opened an online clothing store."},
            {"speaker": "Jon", "text": "I want to start a dance studio."},  # no dia_id: its place names it
        ],
    }
    qa2 = [
        {"question": "What did Jon lose?", "answer": "his job", "evidence": ["D1:1"], "category": 4},
        {"question": "What did Gina open?", "answer": "a clothing store", "evidence": ["D1:2"], "category": 1},
        {"question": "What does Jon want to start?", "answer": "a dance studio", "evidence": "D1:3",
         "category": "4"},  # evidence as a string, category as a string
    ]
    return [{"sample_id": "conv-1", "conversation": conv1, "qa": qa1},
            {"sample_id": "conv-2", "conversation": conv2, "qa": qa2}]


def write_locomo(path: Path, samples: list[dict[str, Any]] | None = None, *, prefix: str = "") -> Path:
    path.write_text(prefix + json.dumps(samples if samples is not None else locomo_samples(), indent=1),
                    encoding="utf-8")
    return path


# -- parse_date ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "expected"), [
    ("2023/05/20 (Sat) 02:21", datetime(2023, 5, 20, 2, 21, tzinfo=UTC)),
    ("1:56 pm on 8 May, 2023", datetime(2023, 5, 8, 13, 56, tzinfo=UTC)),
    ("12:05 am on 20 July, 2023", datetime(2023, 7, 20, 0, 5, tzinfo=UTC)),
    ("12:30 pm on 1 Jan, 2024", datetime(2024, 1, 1, 12, 30, tzinfo=UTC)),
    ("8 May 2023", datetime(2023, 5, 8, tzinfo=UTC)),
    ("May 8, 2023", datetime(2023, 5, 8, tzinfo=UTC)),
    ("2023-05-08 13:56", datetime(2023, 5, 8, 13, 56, tzinfo=UTC)),
])
def test_parse_date(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize("text", ["yesterday", "8 Smarch 2023", "2023/02/30 (Thu) 10:00"])
def test_parse_date_refuses_what_it_cannot_read(text):
    with pytest.raises(BenchError):
        parse_date(text)


# -- LongMemEval -----------------------------------------------------------------------------------------------------
def test_read_longmemeval_gives_typed_chats_true_to_the_file(oracle):
    for name in FILES:
        path = oracle / name
        raw = _raw(path)
        [chat] = read_longmemeval(path)
        assert isinstance(chat, Chat) and chat.source == "longmemeval"
        assert chat.id == raw["question_id"]
        assert [s.id for s in chat.sessions] == raw["haystack_session_ids"]
        assert all(isinstance(s, ChatSession) and s.date.tzinfo is not None for s in chat.sessions)
        assert [s.date for s in chat.sessions] == [parse_date(d) for d in raw["haystack_dates"]]
        for session, turns in zip(chat.sessions, raw["haystack_sessions"], strict=True):
            assert [(t.speaker, t.text) for t in session.turns] == [(t["role"], t["content"]) for t in turns]
            assert all(isinstance(t, ChatTurn) for t in session.turns)
        [q] = chat.questions
        assert isinstance(q, ChatQuestion)
        assert (q.id, q.question, q.answer) == (raw["question_id"], raw["question"], raw["answer"])
        assert q.date == parse_date(raw["question_date"])


def test_longmemeval_evidence_names_turns_and_sessions_that_exist(oracle):
    for name in FILES:
        raw = _raw(oracle / name)
        [chat] = read_longmemeval(oracle / name)
        [q] = chat.questions
        turns = {t.id: t for _, t in chat.turns()}
        assert set(q.evidence_turns) <= set(turns)
        assert set(q.evidence_sessions) <= {s.id for s in chat.sessions}
        assert q.evidence_sessions == raw["answer_session_ids"]
        # the evidence turns are exactly the turns marked has_answer
        marked = [t["content"] for s in raw["haystack_sessions"] for t in s if t.get("has_answer")]
        assert [turns[t].text for t in q.evidence_turns] == marked


def test_longmemeval_turn_ids_name_session_and_turn(oracle):
    [chat] = read_longmemeval(oracle / "2_gpt4_1e4a8aec.json")
    assert [t.id for t in chat.sessions[1].turns][:3] == ["D2:1", "D2:2", "D2:3"]
    assert chat.questions[0].evidence_turns == ["D2:1"]  # the first user turn of the second session
    assert chat.questions[0].date == datetime(2023, 5, 5, 3, 53, tzinfo=UTC)


def test_abs_files_are_an_abstention_category(oracle):
    [plain] = read_longmemeval(oracle / "1_0862e8bf.json")
    [abstain] = read_longmemeval(oracle / "1_0862e8bf_abs.json")
    assert plain.questions[0].category == "single-session-user"
    assert abstain.questions[0].category == "single-session-user-abstention"
    assert abstain.questions[0].evidence_turns == []  # the fact asked about was never said


def test_read_longmemeval_folder_is_by_file_name_and_limited(oracle):
    chats = read_longmemeval(oracle, limit=3)
    names = sorted(p.name for p in oracle.glob("*.json"))[:3]
    assert [c.id for c in chats] == [_raw(oracle / n)["question_id"] for n in names]


def test_read_longmemeval_refuses_other_files(tmp_path):
    with pytest.raises(BenchError, match="no LongMemEval"):
        read_longmemeval(tmp_path)
    (tmp_path / "x.json").write_text('{"question_id": "q"}')
    with pytest.raises(BenchError, match="haystack_sessions"):
        read_longmemeval(tmp_path / "x.json")
    (tmp_path / "x.json").write_text("not json")
    with pytest.raises(BenchError, match="not a JSON file"):
        read_longmemeval(tmp_path / "x.json")


# -- LoCoMo ----------------------------------------------------------------------------------------------------------
@pytest.fixture
def locomo(tmp_path) -> list[Chat]:
    return read_locomo(write_locomo(tmp_path / "locomo10.json"))


def test_read_locomo_sessions_and_turns(locomo):
    assert [c.id for c in locomo] == ["conv-1", "conv-2"]
    conv = locomo[0]
    assert conv.source == "locomo"
    assert [s.id for s in conv.sessions] == ["S1", "S2", "S10"]  # by session number, not as text
    assert [s.date for s in conv.sessions] == [datetime(2023, 5, 8, 13, 56, tzinfo=UTC),
                                               datetime(2023, 6, 27, 10, 37, tzinfo=UTC),
                                               datetime(2023, 7, 20, 0, 5, tzinfo=UTC)]
    assert [t.id for _, t in conv.turns()] == ["D1:1", "D1:2", "D1:3", "D2:1", "D2:2", "D10:1"]
    turn = conv.sessions[0].turns[2]
    assert turn.speaker == "Melanie"
    assert turn.text == "Look at what I finished last night. [shares a photo: a photo of a sunset painting]"
    # a turn without dia_id is named by its place
    assert [t.id for t in locomo[1].sessions[0].turns] == ["D1:1", "D1:2", "D1:3"]


def test_read_locomo_questions_and_their_evidence(locomo):
    qs = {q.id: q for q in locomo[0].questions}
    assert set(qs) == {"conv-1-q1", "conv-1-q2", "conv-1-q3", "conv-1-q4", "conv-1-q7", "conv-1-q8"}
    assert qs["conv-1-q1"].category == "temporal" and qs["conv-1-q1"].evidence_turns == ["D1:1"]
    assert qs["conv-1-q1"].evidence_sessions == ["S1"] and qs["conv-1-q1"].date is None
    # "D1:1; D10:1" is two ids, in two sessions
    assert qs["conv-1-q2"].category == "multi-hop"
    assert qs["conv-1-q2"].evidence_turns == ["D1:1", "D10:1"]
    assert qs["conv-1-q2"].evidence_sessions == ["S1", "S10"]
    assert qs["conv-1-q3"].evidence_turns == ["D1:3"]  # "D1:03"
    assert qs["conv-1-q4"].category == "adversarial" and qs["conv-1-q4"].answer == "adoption agencies"
    assert qs["conv-1-q7"].evidence_turns == ["D2:2"]  # the id naming no turn is dropped, the question kept
    assert qs["conv-1-q8"].evidence_turns == ["D2:2"] and qs["conv-1-q8"].evidence_sessions == ["S2"]
    assert {q.category for q in locomo[0].questions} <= set(LOCOMO_CATEGORIES.values())
    # evidence as one string and the category as text are read too
    assert [q.evidence_turns for q in locomo[1].questions] == [["D1:1"], ["D1:2"], ["D1:3"]]
    assert locomo[1].questions[2].category == "single-hop"


def test_read_locomo_leaves_out_questions_without_usable_evidence_and_logs_bad_ids(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="memkit.bench.chats"):
        chats = read_locomo(write_locomo(tmp_path / "locomo10.json"))
    ids = {q.id for q in chats[0].questions}
    assert "conv-1-q5" not in ids  # no evidence
    assert "conv-1-q6" not in ids  # no evidence id names a turn
    assert "conv-1-q9" not in ids  # unknown category
    assert "3 evidence ids name no turn" in caplog.text
    assert "conv-1/D99:1" in caplog.text


@pytest.mark.parametrize(("change", "match"), [
    (lambda s: s[0]["conversation"].pop("session_2_date_time"), "session_2_date_time"),
    (lambda s: s[0]["conversation"]["session_1"][0].pop("speaker"), "turn 1"),
    (lambda s: s[0]["qa"][0].update(question="  "), "qa 1 has no question"),
    (lambda s: s[0].pop("conversation"), "conversation"),
    (lambda s: s[0]["conversation"]["session_2"][1].update(dia_id="D2:1"), "unique"),
])
def test_read_locomo_refuses_malformed_samples(tmp_path, change, match):
    samples = locomo_samples()
    change(samples)
    with pytest.raises(BenchError, match=match):
        read_locomo(write_locomo(tmp_path / "bad.json", samples))


def test_read_locomo_refuses_a_file_that_is_not_a_list(tmp_path):
    (tmp_path / "x.json").write_text('{"sample_id": "a"}')
    with pytest.raises(BenchError, match="list of LoCoMo samples"):
        read_locomo(tmp_path / "x.json")


# -- read_chats ------------------------------------------------------------------------------------------------------
def test_read_chats_tells_the_formats_apart(tmp_path, oracle):
    assert [c.source for c in read_chats(write_locomo(tmp_path / "locomo10.json"))] == ["locomo", "locomo"]
    assert [c.source for c in read_chats(write_locomo(tmp_path / "one.json"), limit=1)] == ["locomo"]
    [one] = read_chats(oracle / FILES[0])
    assert one.source == "longmemeval" and one.id == "0862e8bf"
    folder = read_chats(oracle, limit=2)
    assert len(folder) == 2 and {c.source for c in folder} == {"longmemeval"}
    with pytest.raises(BenchError, match="no such data file"):
        read_chats(tmp_path / "missing.json")


# A LoCoMo file may start with whitespace before its '['.
def test_read_chats_tells_a_locomo_file_with_leading_whitespace(tmp_path):
    chats = read_chats(write_locomo(tmp_path / "locomo10.json", prefix="\n  "))
    assert [c.source for c in chats] == ["locomo", "locomo"]


# -- split -----------------------------------------------------------------------------------------------------------
def _qids(chats: list[Chat]) -> list[str]:
    return [q.id for c in chats for q in c.questions]


@pytest.fixture(scope="module")
def all_oracle(data_dir: Path) -> list[Chat]:
    return read_longmemeval(data_dir / "longmemeval" / "oracle")


def test_split_dev_and_test_are_disjoint_and_make_up_all(all_oracle):
    dev, test = split(all_oracle, "dev"), split(all_oracle, "test")
    every = _qids(all_oracle)
    assert set(_qids(dev)).isdisjoint(_qids(test))
    assert sorted(_qids(dev) + _qids(test)) == sorted(every)
    assert split(all_oracle, "all") == all_oracle


def test_split_is_stratified_by_category(all_oracle):
    total = Counter(q.category for c in all_oracle for q in c.questions)
    dev = Counter(q.category for c in split(all_oracle, "dev") for q in c.questions)
    test = Counter(q.category for c in split(all_oracle, "test") for q in c.questions)
    assert len(total) >= 6
    for cat, n in total.items():
        assert dev[cat] + test[cat] == n
        assert dev[cat] - test[cat] in (0, 1), cat  # every other question, the first one to dev


def test_split_is_deterministic_and_independent_of_order(all_oracle):
    shuffled = list(all_oracle)
    random.Random(7).shuffle(shuffled)
    assert set(_qids(split(shuffled, "dev"))) == set(_qids(split(all_oracle, "dev")))
    assert _qids(split(all_oracle, "test")) == _qids(split(all_oracle, "test"))


def test_split_keeps_chats_in_order_and_drops_chats_without_questions(locomo):
    dev, test = split(locomo, "dev"), split(locomo, "test")
    for part in (dev, test):
        assert all(c.questions for c in part)
        assert [c.id for c in part] == [c.id for c in locomo if c.id in {p.id for p in part}]
    for chat in locomo:
        d = [q.id for c in dev if c.id == chat.id for q in c.questions]
        t = [q.id for c in test if c.id == chat.id for q in c.questions]
        assert sorted(d + t) == sorted(q.id for q in chat.questions)
        assert (chat.id in {c.id for c in dev}) == bool(d) and (chat.id in {c.id for c in test}) == bool(t)
    assert all(c.questions for c in locomo)  # the input is not changed
    assert categories(locomo) == sorted({q.category for c in locomo for q in c.questions})


def test_split_divides_the_questions_of_one_chat(tmp_path):
    sample = locomo_samples()[1]
    sample["qa"] = [{"question": f"Question {i}?", "answer": "a", "evidence": ["D1:1"], "category": 1 + i % 2}
                    for i in range(20)]
    [chat] = read_locomo(write_locomo(tmp_path / "many.json", [sample]))
    [dev], [test] = split([chat], "dev"), split([chat], "test")
    assert dev.id == test.id == chat.id
    assert dev.sessions == test.sessions == chat.sessions  # the sessions stay whole
    assert len(dev.questions) == len(test.questions) == 10
    assert Counter(q.category for q in dev.questions) == Counter(q.category for q in test.questions)
