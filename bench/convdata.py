"""Multi-session two-person conversations with known evidence turns: a synthetic set and a LoCoMo reader.

The synthetic set (:func:`generate`) reproduces what makes retrieval over real chat memory hard: facts are
wrapped in small talk, stated with relative time ("last weekend") and paraphrased away from the question
("instrument" vs "violin lessons"), details sit in short replies that need the previous turn ("Max! He
already runs the house."), both friends have facts on the same topics, stories continue across sessions,
and open-domain questions ask about traits that are only shown, never named.  :func:`baseline_recall`
measures BM25 and (optionally) dense retrieval of the evidence turns, so a change to memkit's retrieval can
be judged against plain baselines on data that behaves like the real thing.

Records follow LoCoMo: a turn's ``dia_id`` is ``"D{session}:{turn}"`` (1-based).
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from memkit.errors import BenchError, InvalidInputError, validation_message
from memkit.text import STOPWORDS, stem, words

__all__ = [
    "Turn", "Session", "Question", "Conversation", "Category", "CATEGORIES", "LocomoReport", "LocomoFile",
    "generate", "load_locomo", "read_locomo", "parse_locomo_date", "save_jsonl", "load_jsonl",
    "baseline_recall", "turn_text", "content_terms", "question_overlap", "dia_key",
]

log = logging.getLogger(__name__)

Category = Literal["single-hop", "multi-hop", "temporal", "open-domain", "adversarial"]
CATEGORIES: tuple[str, ...] = ("single-hop", "multi-hop", "temporal", "open-domain", "adversarial")
_DIA_ID = re.compile(r"^D([1-9]\d*):([1-9]\d*)$")


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Turn(_Record):
    """One chat message (a note, for a one-note-per-turn memory)."""

    dia_id: str = Field(pattern=_DIA_ID.pattern, description='"D{session}:{turn}", 1-based')
    speaker: str = Field(min_length=1)
    text: str


class Session(_Record):
    """A sitting of the conversation; relative times in its turns ("yesterday") count from ``date_time``."""

    index: int = Field(ge=1)
    date_time: AwareDatetime
    turns: list[Turn]


class Question(_Record):
    """A question about one speaker, with the turns that hold the answer (as LoCoMo annotates them)."""

    id: str = Field(min_length=1)
    question: str = Field(min_length=1)
    answer: str
    evidence: list[str] = Field(min_length=1, description="dia_ids of the turns that hold the answer")
    category: Category


class Conversation(_Record):
    """Two speakers, their sessions in time order, and the questions asked about them."""

    id: str = Field(min_length=1)
    speakers: tuple[str, str]
    sessions: list[Session]
    questions: list[Question]

    @model_validator(mode="after")
    def _consistent(self) -> Conversation:
        seen: set[str] = set()
        for turn in self.turns():
            if turn.dia_id in seen:
                raise ValueError(f"duplicate dia_id {turn.dia_id}")
            seen.add(turn.dia_id)
        if len({s.index for s in self.sessions}) != len(self.sessions):
            raise ValueError("duplicate session index")
        for q in self.questions:
            missing = [e for e in q.evidence if e not in seen]
            if missing:
                raise ValueError(f"question {q.id} cites unknown turns {missing}")
        return self

    def turns(self) -> Iterator[Turn]:
        for s in self.sessions:
            yield from s.turns

    def turn(self, dia_id: str) -> Turn:
        for t in self.turns():
            if t.dia_id == dia_id:
                return t
        raise KeyError(dia_id)


def dia_key(dia_id: str) -> tuple[int, int]:
    """(session, turn) of a dia_id, for sorting; (0, 0) for a malformed one."""
    m = _DIA_ID.match(dia_id)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def generate(n_conversations: int = 10, sessions: tuple[int, int] = (12, 20), turns: tuple[int, int] = (14, 26),
             seed: int = 0) -> list[Conversation]:
    """Synthetic LoCoMo-like conversations; the same arguments always give the same conversations.

    Each has ``sessions`` (lo, hi) sessions of ``turns`` (lo, hi) turns and 15-25 questions (about 30%
    single-hop, 25% multi-hop, 25% temporal, 20% open-domain).  How they are built:
    :mod:`memkit.bench.convgen`; the events, people and small talk: :mod:`memkit.bench.convcatalog` and
    :mod:`memkit.bench.convtalk`.
    """
    from memkit.bench.convgen import build_conversation

    if n_conversations < 1:
        raise InvalidInputError("n_conversations must be at least 1")
    for name, (lo, hi), least in (("sessions", sessions, 3), ("turns", turns, 12)):
        if not least <= lo <= hi:
            raise InvalidInputError(f"{name} must be a range (lo, hi) with {least} <= lo <= hi, got {(lo, hi)}")
    return [build_conversation(f"memkit-conv:{seed}:{i}", f"synth-{seed}-{i}", sessions, turns)
            for i in range(n_conversations)]


# ----------------------------------------------------------------------------------------------- LoCoMo files

_LOCOMO_CATEGORIES: dict[int, Category] = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop",
                                           5: "adversarial"}
_MONTHS = {m: i for i, name in enumerate(("january", "february", "march", "april", "may", "june", "july", "august",
                                          "september", "october", "november", "december"), start=1)
           for m in (name, name[:3], name[:4])}
_TIME = re.compile(r"(\d{1,2})(?:[:.](\d{2}))?\s*([ap])\.?\s*m\b\.?", re.I)
_DMY = re.compile(r"(\d{1,2})(?:st|nd|rd|th)?\s+([a-z]+)\.?,?\s+(\d{4})", re.I)
_MDY = re.compile(r"([a-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})", re.I)
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2}))?")
_EVIDENCE = re.compile(r"D\s*(\d+)\s*:\s*(\d+)", re.I)


def parse_locomo_date(text: str) -> datetime:
    """'1:56 pm on 8 May, 2023' (and variants: '8 May 2023', 'May 8, 2023', '2023-05-08 13:56') as UTC."""
    s = str(text).strip()
    hour = minute = 0
    if m := _ISO.search(s):
        year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
        hour, minute = int(m.group(4) or 0), int(m.group(5) or 0)
    else:
        if t := _TIME.search(s):
            hour, minute = int(t.group(1)) % 12 + (12 if t.group(3).lower() == "p" else 0), int(t.group(2) or 0)
            s = s[: t.start()] + s[t.end():]
        m = _DMY.search(s)
        if m and m.group(2).lower() in _MONTHS:
            day, month, year = int(m.group(1)), _MONTHS[m.group(2).lower()], int(m.group(3))
        elif (m := _MDY.search(s)) and m.group(1).lower() in _MONTHS:
            month, day, year = _MONTHS[m.group(1).lower()], int(m.group(2)), int(m.group(3))
        else:
            raise BenchError(f"unreadable session date {text!r}")
    try:
        return datetime(year, month, day, hour, minute, tzinfo=timezone.utc)
    except ValueError as e:
        raise BenchError(f"invalid session date {text!r}: {e}") from None


class LocomoReport(_Record):
    """What :func:`read_locomo` had to leave out of a LoCoMo file."""

    questions_read: int = 0
    questions_without_evidence: int = 0
    questions_unknown_category: int = 0
    evidence_dropped: int = 0
    dropped_ids: list[str] = Field(default_factory=list, description='"sample_id/evidence" of each dropped id')


class LocomoFile(_Record):
    conversations: list[Conversation]
    report: LocomoReport


def _sample(raw: Any, where: str, report: LocomoReport) -> Conversation:
    if not isinstance(raw, dict) or not isinstance(raw.get("conversation"), dict):
        raise BenchError(f"{where}: expected an object with a 'conversation' object")
    conv = raw["conversation"]
    sid = str(raw.get("sample_id") or where)
    speakers = (conv.get("speaker_a"), conv.get("speaker_b"))
    if not all(isinstance(x, str) and x for x in speakers):
        raise BenchError(f"{sid}: speaker_a and speaker_b must be names")
    sessions = []
    numbers = sorted(int(m.group(1)) for k in conv if (m := re.fullmatch(r"session_(\d+)", k)))
    for n in numbers:
        turns_raw = conv[f"session_{n}"]
        if not isinstance(turns_raw, list):
            raise BenchError(f"{sid}: session_{n} must be a list of turns")
        if f"session_{n}_date_time" not in conv:
            raise BenchError(f"{sid}: session_{n} has no session_{n}_date_time")
        date = parse_locomo_date(conv[f"session_{n}_date_time"])
        turns = []
        for i, t in enumerate(turns_raw, start=1):
            if not isinstance(t, dict) or not isinstance(t.get("text", ""), str):
                raise BenchError(f"{sid}: session_{n} turn {i} is not a turn object")
            m = _EVIDENCE.fullmatch(str(t.get("dia_id", "")).strip())
            dia = f"D{int(m.group(1))}:{int(m.group(2))}" if m else f"D{n}:{i}"
            text = t.get("text", "")
            if t.get("blip_caption"):
                text = f"{text} [shares a photo: {t['blip_caption']}]".strip()
            if not t.get("speaker"):
                raise BenchError(f"{sid}: session_{n} turn {i} has no speaker")
            turns.append(Turn(dia_id=dia, speaker=str(t["speaker"]), text=text))
        sessions.append(Session(index=n, date_time=date, turns=turns))
    known = {t.dia_id for s in sessions for t in s.turns}
    questions = []
    for i, qa in enumerate(raw.get("qa") or [], start=1):
        report.questions_read += 1
        if not isinstance(qa, dict) or not str(qa.get("question", "")).strip():
            raise BenchError(f"{sid}: qa {i} has no question")
        raw_cat = str(qa.get("category", "")).strip()
        cat = _LOCOMO_CATEGORIES.get(int(raw_cat)) if raw_cat.isdigit() else None
        if cat is None:
            report.questions_unknown_category += 1
            continue
        raw_ev = qa.get("evidence") or []
        tokens = [x for e in (raw_ev if isinstance(raw_ev, list) else [raw_ev]) for x in re.split(r"[;,]", str(e))]
        evidence: list[str] = []
        for tok in (x.strip() for x in tokens if x.strip()):
            m = _EVIDENCE.fullmatch(tok)
            dia = f"D{int(m.group(1))}:{int(m.group(2))}" if m else tok
            if dia in known:
                evidence.append(dia)
            else:
                report.evidence_dropped += 1
                report.dropped_ids.append(f"{sid}/{tok}")
        if not evidence:
            report.questions_without_evidence += 1
            continue
        answer = qa.get("answer", qa.get("adversarial_answer", ""))
        questions.append(Question(id=f"{sid}-q{i}", question=str(qa["question"]).strip(), answer=str(answer),
                                  evidence=list(dict.fromkeys(evidence)), category=cat))
    try:
        return Conversation(id=sid, speakers=speakers, sessions=sessions, questions=questions)  # type: ignore[arg-type]
    except ValidationError as e:
        raise BenchError(f"{sid}: {validation_message(e, 'conversation')}") from None


def read_locomo(path: str | Path) -> LocomoFile:
    """Read a LoCoMo release file (``locomo10.json``) into conversations, with a report of what was dropped."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except OSError as e:
        raise BenchError(f"cannot read LoCoMo file {p}: {e.strerror or e}") from None
    except json.JSONDecodeError as e:
        raise BenchError(f"{p} is not JSON: {e}") from None
    if not isinstance(data, list):
        raise BenchError(f"{p}: expected a JSON list of samples")
    report = LocomoReport()
    convs = [_sample(raw, f"{p.name}[{i}]", report) for i, raw in enumerate(data)]
    return LocomoFile(conversations=convs, report=report)


def load_locomo(path: str | Path) -> list[Conversation]:
    """:func:`read_locomo`'s conversations; what had to be dropped is logged as a warning."""
    f = read_locomo(path)
    r = f.report
    if r.evidence_dropped or r.questions_without_evidence or r.questions_unknown_category:
        log.warning("%s: dropped %d evidence ids that name no turn; skipped %d questions without evidence and %d "
                    "of unknown category (of %d)", path, r.evidence_dropped, r.questions_without_evidence,
                    r.questions_unknown_category, r.questions_read)
    return f.conversations


def save_jsonl(conversations: Sequence[Conversation], path: str | Path) -> None:
    """One conversation per line."""
    with Path(path).open("w", encoding="utf-8") as fh:
        for c in conversations:
            fh.write(c.model_dump_json() + "\n")


def load_jsonl(path: str | Path) -> list[Conversation]:
    p = Path(path)
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise BenchError(f"cannot read {p}: {e.strerror or e}") from None
    out = []
    for n, line in enumerate(lines, start=1):
        if line.strip():
            try:
                out.append(Conversation.model_validate_json(line))
            except ValidationError as e:
                raise BenchError(f"{p}:{n}: {validation_message(e, 'conversation')}") from None
    return out


# ----------------------------------------------------------------------------------------------- baselines

def turn_text(turn: Turn) -> str:
    """What a one-note-per-turn memory stores: the speaker, then the text (as memkit's ``embed_text``)."""
    return f"{turn.speaker}: {turn.text}"


def content_terms(text: str) -> list[str]:
    """Stemmed words without stopwords (memkit's tokenizer)."""
    return [stem(w) for w in words(text.lower()) if w not in STOPWORDS and len(w) > 1]


def question_overlap(conversation: Conversation, question: Question) -> int:
    """How many content words of the question (speaker names left out) its evidence turns also contain."""
    names = {stem(n.lower()) for n in conversation.speakers}
    q = set(content_terms(question.question)) - names
    ev = {w for d in question.evidence for w in content_terms(conversation.turn(d).text)}
    return len(q & ev)


def _bm25(docs: list[list[str]], query: list[str], k1: float = 1.2, b: float = 0.75) -> list[float]:
    n = len(docs)
    avg = sum(map(len, docs)) / max(n, 1) or 1.0
    df = Counter(w for d in docs for w in set(d))
    scores = []
    for d in docs:
        tf, score = Counter(d), 0.0
        for w in set(query):
            if tf[w]:
                idf = math.log(1 + (n - df[w] + 0.5) / (df[w] + 0.5))
                score += idf * tf[w] * (k1 + 1) / (tf[w] + k1 * (1 - b + b * len(d) / avg))
        scores.append(score)
    return scores


def _ranked(ids: list[str], scores: Sequence[float]) -> list[str]:
    return [i for _, i in sorted(zip(scores, ids, strict=True), key=lambda x: -x[0])]


def _summary(rows: list[tuple[str, float]]) -> dict[str, Any]:
    by: dict[str, list[float]] = defaultdict(list)
    for cat, r in rows:
        by[cat].append(r)
    return {"overall": round(sum(r for _, r in rows) / max(len(rows), 1), 4),
            "by_category": {c: round(sum(v) / len(v), 4) for c, v in sorted(by.items())}}


def baseline_recall(conversations: Sequence[Conversation], embed: Callable[[list[str]], Any] | None = None,
                    k: int = 10) -> dict[str, Any]:
    """Recall@k of evidence turns when each question ranks all turns of its conversation.

    Per question, recall is the share of its evidence turns in the top ``k``; the numbers are means over
    questions, overall and per category.  BM25 (memkit's tokenizer: stopwords out, light stemming) always;
    with ``embed`` (texts -> vectors, e.g. a SentenceTransformer's ``encode``) also dense cosine and their
    reciprocal-rank fusion (k=60).  Turns are indexed as ``"Speaker: text"``.
    """
    rows: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for conv in conversations:
        turns = list(conv.turns())
        ids = [t.dia_id for t in turns]
        texts = [turn_text(t) for t in turns]
        docs = [content_terms(t) for t in texts]
        if embed is not None:
            tvecs = [_unit(v) for v in embed(texts)]
            qvecs = [_unit(v) for v in embed([q.question for q in conv.questions])] if conv.questions else []
        for qi, q in enumerate(conv.questions):
            bm25 = _bm25(docs, content_terms(q.question))
            ranks = {"bm25": _ranked(ids, bm25)}
            if embed is not None:
                ranks["dense"] = _ranked(ids, [sum(map(float.__mul__, qvecs[qi], v)) for v in tvecs])
                fused: dict[str, float] = defaultdict(float)
                matched = [d for d, sc in zip(ids, bm25, strict=True) if sc > 0]  # BM25 ranks only the turns it matched
                for r in (_ranked(matched, [sc for sc in bm25 if sc > 0]), ranks["dense"]):
                    for pos, d in enumerate(r):
                        fused[d] += 1 / (60 + pos + 1)
                ranks["rrf"] = _ranked(list(fused), list(fused.values()))
            ev = set(q.evidence)
            for name, ranked in ranks.items():
                rows[name].append((q.category, len(ev & set(ranked[:k])) / len(ev)))
    n = len(rows["bm25"])
    return {"k": k, "questions": n, "conversations": len(conversations),
            **{name: _summary(r) for name, r in rows.items()}}


def _unit(v: Any) -> list[float]:
    xs = [float(x) for x in v]
    norm = math.sqrt(sum(x * x for x in xs)) or 1.0
    return [x / norm for x in xs]
