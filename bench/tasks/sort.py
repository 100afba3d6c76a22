"""SORT: Sequence Order Recall Tasks on Book-SORT (Pink et al., 2024).

Given two segments of a book, which came first?  Each item is asked in both orders
(segment 1 as A, then as B), so a reader that always says "A" scores exactly 50%.
The three conditions of the paper map onto systems:

* in-context: the ``oracle`` system (the excerpt is in the prompt);
* memory: a ``retrieval`` memory holding the excerpt as position-carrying notes
  (overlapping word windows with ``metadata.position`` = word offset), searched with
  both segments and shown in text order; or a ``parametric`` memory written the same
  chunks by its ``write`` method;
* no context: the ``base`` system (near 50%).

The LLM-free scorer (``retrieval:reader=none``) locates each segment in the retrieved
notes and compares positions.

Book-SORT ships the 250-word excerpts; longer excerpts are cut from the full text
around the two segments: the words before segment 1 and after segment 2 keep their
published counts, the span between them is the book's own text (its word split can
differ from the published one by a few words).
"""

from __future__ import annotations

import csv
import random
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from memkit.bench.data import resolve_dataset
from memkit.bench.records import Answer, Ask, Episode, ItemResult, MemoryRecord, Passage, Query, Write
from memkit.bench.task import BreakdownSpec, MetricSpec, Task, TaskSpec, stable_seed
from memkit.errors import BenchError

__all__ = ["SortTask", "SPEC", "SortParams", "locate"]

EXCERPT_LENGTHS = (250, 1000, 2500, 10000, 20000)

SPEC = TaskSpec(
    name="sort",
    version=1,
    title="SORT: which of two book segments came first",
    citation="Pink et al. 2024, Assessing Episodic Memory in LLMs with Sequence Order Recall Tasks (Book-SORT)",
    description="Segment-order recall over Book-SORT; oracle = in-context, retrieval/parametric = memory, "
    "base = no context (chance 50%). Accuracy by excerpt length and distance bin, both orders asked.",
    default_limit=24,
    default_systems=("base", "oracle", "retrieval", "retrieval:reader=none"),
    llm_free=True,
    needs=frozenset({"choose"}),
    metrics=(
        MetricSpec(name="correct", label="accuracy", chance=0.5),
        MetricSpec(name="chose_a", label="share answering A", higher_is_better=None, chance=0.5),
        MetricSpec(name="recall_hit", label="both segments retrieved", higher_is_better=True),
    ),
    breakdowns=(
        BreakdownSpec(id="by_distance", title="Accuracy by distance bin (words between segments)",
                      metric="correct", tag="distance_bin", x_label="distance bin", series_tag="excerpt_length"),
        BreakdownSpec(id="by_length", title="Accuracy by excerpt length", metric="correct",
                      tag="excerpt_length", x_label="excerpt length (words)"),
    ),
    data_subdir="booksort",
)

PROMPT = (
    'Here are two segments from the book "{title}".\n\n'
    "Segment A: {a}\n\nSegment B: {b}\n\n"
    "Which segment appears first in the book? Reply with A or B."
)


class SortParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    excerpt_lengths: list[int] = Field(default=[250, 1000], description="any of 250, 1000, 2500, 10000, 20000")
    segment_length: int = Field(default=20, description="20 or 50 words")
    split: str = Field(default="test", description="test (excerpts 0-99) or dev (100-109)")
    chunk_words: int | None = Field(default=None, ge=8, description="words per memory note (default: max(64, 2 x segment))")
    chunk_overlap: int | None = Field(
        default=None, ge=0, description="words shared by consecutive notes (default: the segment length, so every "
        "segment lies whole inside some note)")
    k: int = Field(default=3, ge=1, description="notes retrieved per segment")
    passage_order: str = Field(default="position", description="position (text order) or rank")

    @field_validator("excerpt_lengths")
    @classmethod
    def _lengths(cls, v: list[int]) -> list[int]:
        bad = [x for x in v if x not in EXCERPT_LENGTHS]
        if bad or not v:
            raise ValueError(f"excerpt lengths must be among {EXCERPT_LENGTHS}, got {v}")
        return sorted(set(v))

    @field_validator("segment_length")
    @classmethod
    def _seg(cls, v: int) -> int:
        if v not in (20, 50):
            raise ValueError("segment_length must be 20 or 50")
        return v

    @field_validator("split")
    @classmethod
    def _split(cls, v: str) -> str:
        if v not in ("test", "dev"):
            raise ValueError("split must be 'test' or 'dev'")
        return v

    @field_validator("passage_order")
    @classmethod
    def _order(cls, v: str) -> str:
        if v not in ("position", "rank"):
            raise ValueError("passage_order must be 'position' or 'rank'")
        return v


def _clean(text: str) -> str:
    return text.strip().strip("*").strip()


def _read_csv(path: Path) -> list[dict[str, str]]:
    csv.field_size_limit(1 << 30)
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@lru_cache(maxsize=16)
def _book_words(path: str) -> tuple[str, ...]:
    return tuple(Path(path).read_text(encoding="utf-8").split())


_GRAM = 4


@lru_cache(maxsize=16)
def _gram_index(path: str) -> dict[tuple[str, ...], list[int]]:
    words = _book_words(path)
    index: dict[tuple[str, ...], list[int]] = {}
    for i in range(len(words) - _GRAM + 1):
        index.setdefault(words[i : i + _GRAM], []).append(i)
    return index


def find_spans(index: dict[tuple[str, ...], list[int]], seg: Sequence[str]) -> list[tuple[int, int]]:
    """Where ``seg`` occurs in a book: ``(start, end)`` word spans, tolerant of text the book has
    inside the segment (a chapter heading the published split dropped)."""
    hits = sorted(
        (pos - j, j) for j in range(len(seg) - _GRAM + 1) for pos in index.get(tuple(seg[j : j + _GRAM]), ())
    )
    spans: list[tuple[int, int]] = []
    group: list[tuple[int, int]] = []
    for hit in hits + [(1 << 60, 0)]:
        if group and hit[0] - group[-1][0] > 30:
            if len({j for _, j in group}) >= 2 or len(seg) < _GRAM + 1:
                spans.append((min(s for s, _ in group), max(s for s, _ in group) + len(seg)))
            group = []
        group.append(hit)
    return spans


def cut_excerpt(book_path: str, seg1: list[str], seg2: list[str], pos1: int, pos2: int, length: int) -> str:
    """The excerpt around both segments (see the module docstring); raises when they are not in the book."""
    book, index = _book_words(book_path), _gram_index(book_path)
    pairs = [(a, b) for a in find_spans(index, seg1) for b in find_spans(index, seg2) if b[0] > a[0]]
    if not pairs:
        raise BenchError(f"segment pair not found in order in {book_path}: {' '.join(seg1[:6])}...")
    want = pos2 - pos1
    a, b = min(pairs, key=lambda ab: abs((ab[1][0] - ab[0][0]) - want))
    start = max(0, a[0] - pos1)
    end = min(len(book), b[1] + max(0, length - pos2 - len(seg2)))
    return " ".join(book[start:end])


def chunk_words(text: str, size: int, overlap: int) -> list[tuple[int, str]]:
    """``(word offset, text)`` windows of ``size`` words, consecutive windows sharing ``overlap``."""
    words = text.split()
    step = max(1, size - overlap)
    out = []
    for start in range(0, max(1, len(words)), step):
        out.append((start, " ".join(words[start : start + size])))
        if start + size >= len(words):
            break
    return out


def locate(segment: str, passages: Sequence[Passage]) -> tuple[float, float]:
    """Best ``(position, overlap)`` of ``segment`` among passages carrying ``metadata.position``.

    Position = passage position + word offset of the best-matching window; overlap is the
    share of the segment's words found in that window (1.0 for a verbatim match).
    """
    seg = segment.lower().split()
    best = (float("inf"), 0.0)
    for p in passages:
        words = p.text.lower().split()
        base = float(p.metadata.get("position", 0))
        n = len(seg)
        for off in range(0, max(1, len(words) - n // 2)):
            window = words[off : off + n]
            overlap = sum(1 for x, y in zip(window, seg, strict=False) if x == y) / n
            if overlap > best[1] or (overlap == best[1] and base + off < best[0]):
                best = (base + off, overlap)
    return best


class SortTask(Task):
    spec = SPEC
    Params = SortParams

    def _chunking(self) -> tuple[int, int]:
        p: SortParams = self.params  # type: ignore[assignment]
        size = p.chunk_words or max(64, 2 * p.segment_length)
        overlap = p.segment_length if p.chunk_overlap is None else p.chunk_overlap
        if overlap >= size:
            raise BenchError(f"chunk_overlap ({overlap}) must be smaller than chunk_words ({size})")
        return size, overlap

    def _root(self) -> Path:
        return resolve_dataset(self.data, SPEC.data_subdir or "booksort", ["BookSORT", "full_text"])

    def episodes(self, *, limit: int, seed: int) -> list[Episode]:
        p: SortParams = self.params  # type: ignore[assignment]
        root = self._root()
        rng = random.Random(seed)
        per_len = [limit // len(p.excerpt_lengths) + (1 if i < limit % len(p.excerpt_lengths) else 0)
                   for i in range(len(p.excerpt_lengths))]
        out: list[Episode] = []
        for length, n in zip(p.excerpt_lengths, per_len, strict=True):
            if n:
                out.extend(self._episodes_for(root, length, n, rng, seed))
        return out

    def _episodes_for(self, root: Path, length: int, n: int, rng: random.Random, seed: int) -> list[Episode]:
        p: SortParams = self.params  # type: ignore[assignment]
        ls = p.segment_length
        seg_file = root / "BookSORT" / f"segments_{length}-s{ls}-n110.csv"
        if not seg_file.exists():
            raise BenchError(f"Book-SORT file missing: {seg_file}")
        titles = {r["book_idx"]: r["book_title"] for r in _read_csv(root / "BookSORT" / f"books_{length}-s{ls}-n110.csv")}
        lo, hi = (0, 99) if p.split == "test" else (100, 109)
        rows = [r for r in _read_csv(seg_file) if lo <= int(r["excerpt_idx"]) <= hi]
        bins: dict[int, list[dict[str, str]]] = {}
        for r in rows:
            bins.setdefault(int(r["distance_bin"]), []).append(r)
        chosen: list[dict[str, str]] = []
        order = sorted(bins)
        for i, b in enumerate(order):  # stratified by distance bin
            k = n // len(order) + (1 if i < n % len(order) else 0)
            pool = sorted(bins[b], key=lambda r: (r["book_idx"], int(r["excerpt_idx"]), int(r["segment_idx"])))
            chosen.extend(rng.sample(pool, min(k, len(pool))))
        excerpts: dict[tuple[str, str], str] = {}
        if length == 250:
            for r in _read_csv(root / "BookSORT" / f"excerpts_250-s{ls}-n110.csv"):
                excerpts[(r["book_idx"], r["excerpt_idx"])] = _clean(r["excerpt_text"])
        return [self._episode(r, length, titles, excerpts, root, seed) for r in chosen]

    def _episode(self, r: dict[str, str], length: int, titles: dict[str, str],
                 excerpts: dict[tuple[str, str], str], root: Path, seed: int) -> Episode:
        p: SortParams = self.params  # type: ignore[assignment]
        book, ex, si = r["book_idx"], r["excerpt_idx"], r["segment_idx"]
        s1, s2 = _clean(r["segment_1"]), _clean(r["segment_2"])
        if length == 250:
            excerpt = excerpts.get((book, ex))
            if excerpt is None:
                raise BenchError(f"Book-SORT excerpt {book}/{ex} missing from the excerpts file")
        else:
            excerpt = cut_excerpt(str(root / "full_text" / f"{book}-0.txt"), s1.split(), s2.split(),
                                  int(r["seg1_pos"]), int(r["seg2_pos"]), length)
        ep_id = f"sort/{length}/s{p.segment_length}/{book}/{ex}/{si}"
        scope = f"sort/{length}/{book}/{ex}"
        title = titles.get(book, "unknown")
        records = [
            MemoryRecord(id=f"{scope}/w{pos}", text=text, scope=scope,
                         metadata={"position": pos, "book": book, "excerpt": int(ex), "title": title})
            for pos, text in chunk_words(excerpt, *self._chunking())
        ]
        queries = []
        for order, (a, b) in (("seg1_first", (s1, s2)), ("seg2_first", (s2, s1))):
            queries.append(Query(
                id=f"{ep_id}/{order}", mode="choose", prompt=PROMPT.format(title=title, a=a, b=b),
                answer_prefix="Answer: Segment", options=[" A", " B"], scope=scope, search=[a, b], k=p.k,
                passage_order=p.passage_order,  # type: ignore[arg-type]
                oracle_context=[excerpt], context_header="Text from the book:", seed=stable_seed(seed, ep_id),
                fields={"a": a, "b": b},
            ))
        tags = {"excerpt_length": length, "distance_bin": int(r["distance_bin"]), "book": book}
        gold = {"seg1": s1, "seg2": s2, "seg1_pos": int(r["seg1_pos"]), "seg2_pos": int(r["seg2_pos"])}
        return Episode(id=ep_id, actions=[Write(records=records), Ask(queries=queries)], tags=tags, gold=gold)

    def score(self, episode: Episode, answers: dict[str, Answer]) -> list[ItemResult]:
        rows = []
        for q in episode.queries():
            a = answers[q.id]
            gold = 0 if q.id.endswith("seg1_first") else 1
            order = q.id.rsplit("/", 1)[1]
            metrics: dict[str, float | None] = {
                "correct": float(a.choice == gold),
                "chose_a": None if a.choice is None else float(a.choice == 0),
                "recall_hit": None,
            }
            if a.passages and not a.passages[0].id.startswith("oracle:"):
                found = [locate(seg, a.passages)[1] >= 0.8 for seg in (episode.gold["seg1"], episode.gold["seg2"])]
                metrics["recall_hit"] = float(all(found))
            rows.append(ItemResult(id=q.id, episode_id=episode.id, tags={**episode.tags, "order": order},
                                   metrics=metrics, query_ids=[q.id]))
        return rows

    def llm_free_answer(self, query: Query, passages: Sequence[Passage]) -> Answer:
        """Locate both segments in the retrieved notes and answer by position (a coin flip when either is missing)."""
        pos_a, ov_a = locate(query.fields["a"], passages)
        pos_b, ov_b = locate(query.fields["b"], passages)
        found = ov_a >= 0.5 and ov_b >= 0.5 and pos_a != pos_b
        if found:
            choice = 0 if pos_a < pos_b else 1
        else:
            choice = random.Random(stable_seed(query.seed, query.id)).randrange(2)
        meta: dict[str, Any] = {"pos_a": pos_a, "pos_b": pos_b, "overlap_a": ov_a, "overlap_b": ov_b,
                                "guessed": not found}
        return Answer(query_id=query.id, system="", choice=choice, passages=list(passages), meta=meta)
