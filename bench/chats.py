"""Real multi-session chats with labelled evidence: LongMemEval and LoCoMo, read into one typed record.

A :class:`Chat` is what one memory holds (one user's sessions) and the questions asked about it,
each with the turns and sessions that hold its answer.  LongMemEval gives every question its own
haystack (one ``Chat`` per question); LoCoMo asks many questions of one long conversation.

- :func:`read_longmemeval` reads the per-question files of ``longmemeval/s`` or ``/oracle``
  (Wu et al., ICLR 2025, MIT);
- :func:`read_locomo` reads a LoCoMo release file (``locomo10.json``; Maharana et al., ACL 2024);
- :func:`split` gives a fixed dev/test split of the questions, stratified by category, so
  defaults are chosen on one half and reported on the other.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from memkit.bench.data import resolve_dataset
from memkit.errors import BenchError, validation_message

__all__ = [
    "ChatTurn", "ChatSession", "ChatQuestion", "Chat", "read_longmemeval", "read_locomo", "read_chats", "split",
    "parse_date", "categories", "LOCOMO_CATEGORIES", "LONGMEMEVAL_S", "chat_source",
]

log = logging.getLogger(__name__)


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChatTurn(_Record):
    id: str = Field(min_length=1, description="unique within its chat, e.g. 'D3:5' (session 3, turn 5)")
    speaker: str = Field(min_length=1)
    text: str


class ChatSession(_Record):
    id: str = Field(min_length=1)
    date: AwareDatetime
    turns: list[ChatTurn]


class ChatQuestion(_Record):
    id: str = Field(min_length=1)
    question: str = Field(min_length=1)
    answer: str
    category: str = Field(min_length=1)
    date: AwareDatetime | None = Field(default=None, description="when the question is asked")
    evidence_turns: list[str] = Field(default_factory=list, description="ids of the turns that hold the answer")
    evidence_sessions: list[str] = Field(default_factory=list, description="ids of the sessions that hold it")


class Chat(_Record):
    """One memory's sessions in time order, and the questions asked of it."""

    id: str = Field(min_length=1)
    source: Literal["longmemeval", "locomo", "fixture"]
    sessions: list[ChatSession]
    questions: list[ChatQuestion]

    @model_validator(mode="after")
    def _evidence_known(self) -> Chat:
        turns = {t.id for s in self.sessions for t in s.turns}
        sessions = {s.id for s in self.sessions}
        if len(turns) != sum(len(s.turns) for s in self.sessions):
            raise ValueError("turn ids must be unique within a chat")
        for q in self.questions:
            if unknown := set(q.evidence_turns) - turns:
                raise ValueError(f"question {q.id}: evidence names no turn: {sorted(unknown)[:3]}")
            if unknown := set(q.evidence_sessions) - sessions:
                raise ValueError(f"question {q.id}: evidence names no session: {sorted(unknown)[:3]}")
        return self

    def turns(self) -> Iterator[tuple[ChatSession, ChatTurn]]:
        for s in self.sessions:
            for t in s.turns:
                yield s, t


def _chat(data: dict[str, Any], where: str) -> Chat:
    try:
        return Chat.model_validate(data)
    except ValidationError as e:
        raise BenchError(f"{where}: {validation_message(e, 'chat')}") from None


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise BenchError(f"cannot read {path}: {e.strerror or e}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BenchError(f"{path} is not a JSON file: {e}") from None


# -- dates --------------------------------------------------------------------
_MONTHS = {m: i for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november",
     "december"], start=1)} | {m[:3]: i for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november",
     "december"], start=1)}
_ISO = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:\D+?(\d{1,2}):(\d{2}))?")
_TIME = re.compile(r"(\d{1,2})(?::(\d{2}))?\s*([ap])\.?m\.?", re.I)
_DMY = re.compile(r"(\d{1,2})\s+([A-Za-z]+),?\s+(\d{4})")
_MDY = re.compile(r"([A-Za-z]+)\s+(\d{1,2}),?\s+(\d{4})")


def parse_date(text: str) -> datetime:
    """A chat date as UTC: LongMemEval's '2023/05/20 (Sat) 02:21', LoCoMo's '1:56 pm on 8 May, 2023',
    '8 May 2023', 'May 8, 2023' or ISO '2023-05-08 13:56'."""
    s = str(text).strip()
    hour = minute = 0
    if m := _ISO.search(s):
        year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
        hour, minute = int(m.group(4) or 0), int(m.group(5) or 0)
    else:
        if t := _TIME.search(s):
            hour, minute = int(t.group(1)) % 12 + (12 if t.group(3).lower() == "p" else 0), int(t.group(2) or 0)
            s = s[: t.start()] + s[t.end():]
        if (m := _DMY.search(s)) and m.group(2).lower() in _MONTHS:
            day, month, year = int(m.group(1)), _MONTHS[m.group(2).lower()], int(m.group(3))
        elif (m := _MDY.search(s)) and m.group(1).lower() in _MONTHS:
            month, day, year = _MONTHS[m.group(1).lower()], int(m.group(2)), int(m.group(3))
        else:
            raise BenchError(f"unreadable date {text!r}")
    try:
        return datetime(year, month, day, hour, minute, tzinfo=timezone.utc)
    except ValueError as e:
        raise BenchError(f"invalid date {text!r}: {e}") from None


# -- LongMemEval ----------------------------------------------------------------
def _longmemeval_file(path: Path) -> Chat:
    raw = _read_json(path)
    if not isinstance(raw, dict) or not isinstance(raw.get("haystack_sessions"), list):
        raise BenchError(f"{path}: expected a LongMemEval question object with 'haystack_sessions'")
    try:
        qid = str(raw["question_id"])
        ids, dates = raw["haystack_session_ids"], raw["haystack_dates"]
        sessions_raw = raw["haystack_sessions"]
        if not (len(ids) == len(dates) == len(sessions_raw)):
            raise BenchError(f"{path}: haystack ids, dates and sessions differ in length")
        sessions, ev_turns = [], []
        for n, (sid, date, turns) in enumerate(zip(ids, dates, sessions_raw, strict=True), start=1):
            out = []
            for i, t in enumerate(turns, start=1):
                tid = f"D{n}:{i}"
                out.append({"id": tid, "speaker": t["role"], "text": t["content"]})
                if t.get("has_answer"):
                    ev_turns.append(tid)
            sessions.append({"id": str(sid), "date": parse_date(date), "turns": out})
        # a haystack may hold one session twice; keep the first (the evidence labels name it)
        seen: set[str] = set()
        sessions = [s for s in sessions if not (s["id"] in seen or seen.add(s["id"]))]  # type: ignore[func-returns-value]
        kept = {t["id"] for s in sessions for t in s["turns"]}
        question = {
            "id": qid, "question": raw["question"], "answer": str(raw.get("answer", "")),
            "category": raw["question_type"] + ("-abstention" if qid.endswith("_abs") else ""),
            "date": parse_date(raw["question_date"]) if raw.get("question_date") else None,
            "evidence_turns": [t for t in ev_turns if t in kept],
            "evidence_sessions": [str(s) for s in raw.get("answer_session_ids") or [] if str(s) in seen],
        }
    except (KeyError, TypeError) as e:
        raise BenchError(f"{path}: not a LongMemEval question file (missing or bad {e})") from None
    return _chat({"id": qid, "source": "longmemeval", "sessions": sessions, "questions": [question]}, str(path))


def read_longmemeval(path: str | Path, limit: int | None = None) -> list[Chat]:
    """The questions in a folder of LongMemEval per-question files (or one such file), by file name."""
    p = Path(path)
    files = sorted(p.glob("*.json")) if p.is_dir() else [p]
    if not files:
        raise BenchError(f"no LongMemEval question files (*.json) in {p}")
    return [_longmemeval_file(f) for f in files[:limit]]


# -- LoCoMo ---------------------------------------------------------------------
LOCOMO_CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop", 5: "adversarial"}
_EVIDENCE = re.compile(r"D\s*(\d+)\s*:\s*(\d+)")


def _locomo_sample(raw: Any, where: str, dropped: list[str]) -> Chat:
    if not isinstance(raw, dict) or not isinstance(raw.get("conversation"), dict):
        raise BenchError(f"{where}: expected an object with a 'conversation' object")
    conv = raw["conversation"]
    cid = str(raw.get("sample_id") or where)
    sessions = []
    numbers = sorted(int(m.group(1)) for k in conv if (m := re.fullmatch(r"session_(\d+)", k)))
    for n in numbers:
        turns_raw = conv[f"session_{n}"]
        if not isinstance(turns_raw, list) or f"session_{n}_date_time" not in conv:
            raise BenchError(f"{cid}: session_{n} must be a list of turns with a session_{n}_date_time")
        turns = []
        for i, t in enumerate(turns_raw, start=1):
            if not isinstance(t, dict) or not t.get("speaker") or not isinstance(t.get("text", ""), str):
                raise BenchError(f"{cid}: session_{n} turn {i} is not a turn object with a speaker")
            m = _EVIDENCE.fullmatch(str(t.get("dia_id", "")).strip())
            text = t.get("text", "")
            if t.get("blip_caption"):
                text = f"{text} [shares a photo: {t['blip_caption']}]".strip()
            turns.append({"id": f"D{int(m.group(1))}:{int(m.group(2))}" if m else f"D{n}:{i}",
                          "speaker": str(t["speaker"]), "text": text})
        sessions.append({"id": f"S{n}", "date": parse_date(conv[f"session_{n}_date_time"]), "turns": turns})
    session_of = {t["id"]: s["id"] for s in sessions for t in s["turns"]}
    questions = []
    for i, qa in enumerate(raw.get("qa") or [], start=1):
        if not isinstance(qa, dict) or not str(qa.get("question", "")).strip():
            raise BenchError(f"{cid}: qa {i} has no question")
        raw_cat = str(qa.get("category", "")).strip()
        cat = LOCOMO_CATEGORIES.get(int(raw_cat)) if raw_cat.isdigit() else None
        raw_ev = qa.get("evidence") or []
        tokens = [x for e in (raw_ev if isinstance(raw_ev, list) else [raw_ev]) for x in re.split(r"[;,]", str(e))]
        evidence = []
        for tok in (x.strip() for x in tokens if x.strip()):
            m = _EVIDENCE.fullmatch(tok)
            tid = f"D{int(m.group(1))}:{int(m.group(2))}" if m else tok
            if tid in session_of:
                evidence.append(tid)
            else:
                dropped.append(f"{cid}/{tok}")
        if cat is None or not evidence:
            continue
        evidence = list(dict.fromkeys(evidence))
        questions.append({
            "id": f"{cid}-q{i}", "question": str(qa["question"]).strip(),
            "answer": str(qa.get("answer", qa.get("adversarial_answer", ""))), "category": cat,
            "evidence_turns": evidence, "evidence_sessions": list(dict.fromkeys(session_of[t] for t in evidence)),
        })
    return _chat({"id": cid, "source": "locomo", "sessions": sessions, "questions": questions}, cid)


def read_locomo(path: str | Path) -> list[Chat]:
    """A LoCoMo release file: one chat per sample; questions without usable evidence are left out, and evidence
    ids that name no turn are dropped (logged)."""
    p = Path(path)
    data = _read_json(p)
    if not isinstance(data, list):
        raise BenchError(f"{p}: expected a JSON list of LoCoMo samples")
    dropped: list[str] = []
    chats = [_locomo_sample(raw, f"{p.name}[{i}]", dropped) for i, raw in enumerate(data)]
    if dropped:
        log.warning("%s: %d evidence ids name no turn and were dropped (e.g. %s)", p, len(dropped), dropped[:3])
    return chats


LONGMEMEVAL_S = "longmemeval/s"  # the default data set, under the data root


def chat_source(data: str | Path | None = None) -> Path:
    """Where chats are read from: ``data`` (a LongMemEval folder or file, a LoCoMo file, or a URL, fetched
    once) or else ``<data root>/longmemeval/s``."""
    if data is not None and Path(data).expanduser().is_file():
        return Path(data).expanduser()
    return resolve_dataset(data, LONGMEMEVAL_S)


def read_chats(path: str | Path, limit: int | None = None) -> list[Chat]:
    """LongMemEval (a folder of per-question files, or one) or LoCoMo (a JSON list), told apart by content."""
    p = Path(path).expanduser()
    if not p.exists():
        raise BenchError(f"no such data file or folder: {p}")
    if p.is_dir():
        return read_longmemeval(p, limit)
    head = p.read_text(encoding="utf-8", errors="replace").lstrip()[:1]
    return read_locomo(p)[:limit] if head == "[" else read_longmemeval(p)


# -- split ----------------------------------------------------------------------
def _rank(qid: str) -> str:
    return hashlib.sha256(qid.encode()).hexdigest()


def split(chats: Iterable[Chat], part: Literal["dev", "test", "all"]) -> list[Chat]:
    """A fixed half of the questions, stratified by category (by a hash of each question id).

    Within each category the questions are ordered by hash; every other one is ``dev``, the rest
    ``test``.  A chat keeps only the questions of ``part``; chats with none are left out.
    """
    chats = list(chats)
    if part == "all":
        return chats
    by_cat: dict[str, list[str]] = defaultdict(list)
    for c in chats:
        for q in c.questions:
            by_cat[q.category].append(q.id)
    dev = {qid for ids in by_cat.values() for i, qid in enumerate(sorted(ids, key=_rank)) if i % 2 == 0}
    out = []
    for c in chats:
        qs = [q for q in c.questions if (q.id in dev) == (part == "dev")]
        if qs:
            out.append(c.model_copy(update={"questions": qs}))
    return out


def categories(chats: Sequence[Chat]) -> list[str]:
    """The question categories present, in a stable order."""
    return sorted({q.category for c in chats for q in c.questions})
