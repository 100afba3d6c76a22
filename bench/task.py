"""The task format: a declarative :class:`TaskSpec` (data) plus a few hooks (code).

A task module defines ``SPEC`` (name, version, metrics, breakdowns, defaults), a
``Params`` model of its knobs, and a :class:`Task` subclass with three hooks:

* ``episodes(limit, seed)``: the items as :class:`~memkit.bench.records.Episode`
  records, deterministic given the seed;
* ``score(episode, answers)``: the answers of one episode as
  :class:`~memkit.bench.records.ItemResult` rows;
* ``llm_free_answer(query, passages)`` (optional): answer from retrieved passages
  without a language model, for tasks where that is meaningful.

``summarize`` turns rows into tables and figures from the spec's declarations; a task
overrides it only to add task-level numbers (e.g. conflict ratios).  Bump ``version``
whenever items, prompts or scoring change: a run records it and refuses to resume
across versions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from memkit.bench.metrics import group_by_tag, summarize_metric
from memkit.bench.records import Answer, Episode, ItemResult, Passage, Query
from memkit.errors import BenchError, InvalidInputError, validation_message

__all__ = [
    "MetricSpec",
    "BreakdownSpec",
    "TaskSpec",
    "Stat",
    "Point",
    "FigureData",
    "TableData",
    "Summary",
    "Task",
    "stable_seed",
]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MetricSpec(_Spec):
    name: str
    label: str
    higher_is_better: bool | None = True
    chance: float | None = Field(default=None, description="the value a memory-less guesser gets")
    percent: bool = True


class BreakdownSpec(_Spec):
    """A table (and optionally a figure) of one metric grouped by one tag."""

    id: str
    title: str
    metric: str
    tag: str
    x_label: str
    figure: Literal["bar", "line"] | None = "bar"
    series_tag: str | None = Field(default=None, description="split each system's series by this tag too")
    chance: float | None = None


class TaskSpec(_Spec):
    name: str
    version: int = Field(ge=1)
    title: str
    citation: str
    description: str
    default_limit: int = Field(ge=1)
    default_systems: tuple[str, ...]
    llm_free: bool = Field(description="a retrieval memory may answer without a reader (reader=none)")
    needs: frozenset[str] = Field(description="capabilities a reader must have: choose, generate, score")
    metrics: tuple[MetricSpec, ...]
    breakdowns: tuple[BreakdownSpec, ...] = ()
    data_subdir: str | None = Field(default=None, description="folder under the data dir (None: generated items)")


class Stat(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mean: float | None
    n: int
    lo: float | None = None
    hi: float | None = None


class Point(BaseModel):
    model_config = ConfigDict(extra="forbid")

    x: Any
    y: float | None
    n: int
    lo: float | None = None
    hi: float | None = None


class FigureData(BaseModel):
    """A figure as data: the report draws it; ``source`` says which rows it aggregates."""

    model_config = ConfigDict(extra="forbid")

    id: str
    title: str
    kind: Literal["bar", "line"]
    x_label: str
    y_label: str
    series: dict[str, list[Point]]
    chance: float | None = None
    percent: bool = True
    source: str


class TableData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    title: str
    columns: list[str]
    rows: list[list[Any]]


class Summary(BaseModel):
    model_config = ConfigDict(extra="forbid")

    metrics: dict[str, dict[str, Stat]] = Field(description="system -> metric -> stat")
    tables: list[TableData] = Field(default_factory=list)
    figures: list[FigureData] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


def stable_seed(*parts: Any) -> int:
    """A 31-bit seed from any parts, stable across processes (unlike ``hash``)."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def _sort_key(value: Any) -> tuple[int, Any]:
    return (0, value) if isinstance(value, (int, float)) else (1, str(value))


class Task:
    """Base class of benchmark tasks; see the module docstring for what to override."""

    spec: ClassVar[TaskSpec]
    Params: ClassVar[type[BaseModel]]

    def __init__(self, params: dict[str, Any] | BaseModel | None = None, *, data: str | Path | None = None):
        if isinstance(params, BaseModel):
            params = params.model_dump()
        try:
            self.params = self.Params.model_validate(params or {})
        except ValidationError as exc:
            raise InvalidInputError(f"bad parameters for task {self.spec.name!r}: "
                                    f"{validation_message(exc, 'params')}") from None
        self.data = data

    # -- hooks --------------------------------------------------------------
    def episodes(self, *, limit: int, seed: int) -> list[Episode]:
        raise NotImplementedError

    def score(self, episode: Episode, answers: dict[str, Answer]) -> list[ItemResult]:
        raise NotImplementedError

    def llm_free_answer(self, query: Query, passages: Sequence[Passage]) -> Answer:
        raise BenchError(f"task {self.spec.name!r} has no LLM-free scorer; give the retrieval system a reader")

    # -- summaries -------------------------------------------------------------
    def summarize(self, results: dict[str, list[ItemResult]]) -> Summary:
        metrics: dict[str, dict[str, Stat]] = {}
        for system, rows in results.items():
            metrics[system] = {
                m.name: Stat(**summarize_metric(r.metrics.get(m.name) for r in rows)) for m in self.spec.metrics
            }
        tables, figures = [], []
        for b in self.spec.breakdowns:
            table, figure = self._breakdown(b, results)
            tables.append(table)
            if figure is not None:
                figures.append(figure)
        return Summary(metrics=metrics, tables=tables, figures=figures)

    def _breakdown(self, b: BreakdownSpec, results: dict[str, list[ItemResult]]) -> tuple[TableData, FigureData | None]:
        series: dict[str, list[Point]] = {}
        for system, rows in results.items():
            groups = group_by_tag(rows, b.series_tag) if b.series_tag else {None: rows}
            for sub, sub_rows in sorted(groups.items(), key=lambda kv: _sort_key(kv[0])):
                name = system if sub is None else f"{system} · {sub}"
                points = []
                for x, xs in sorted(group_by_tag(sub_rows, b.tag).items(), key=lambda kv: _sort_key(kv[0])):
                    s = summarize_metric(r.metrics.get(b.metric) for r in xs)
                    if s["n"]:
                        points.append(Point(x=x, y=s["mean"], n=s["n"], lo=s["lo"], hi=s["hi"]))
                if points:
                    series[name] = points
        xs_all = sorted({p.x for pts in series.values() for p in pts}, key=_sort_key)
        rows_out = []
        for name, pts in series.items():
            by_x = {p.x: p for p in pts}
            rows_out.append(
                [name] + [None if x not in by_x else {"mean": by_x[x].y, "n": by_x[x].n} for x in xs_all]
            )
        table = TableData(id=b.id, title=b.title, columns=[b.x_label, *map(str, xs_all)], rows=rows_out)
        metric = next((m for m in self.spec.metrics if m.name == b.metric), None)
        figure = None
        if b.figure and series:
            figure = FigureData(
                id=b.id,
                title=b.title,
                kind=b.figure,
                x_label=b.x_label,
                y_label=metric.label if metric else b.metric,
                series=series,
                chance=b.chance if b.chance is not None else (metric.chance if metric else None),
                percent=metric.percent if metric else True,
                source=f"mean of items.jsonl results[].metrics.{b.metric} grouped by tags.{b.tag}"
                + (f" and tags.{b.series_tag}" if b.series_tag else ""),
            )
        return table, figure
