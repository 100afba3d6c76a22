"""Search filters: scope, metadata conditions and validity, applied inside the stores.

A user writes ``filters={"src": "chat", "n": {"$gte": 3}, "lang": {"$in": ["en", "pt"]}}``;
:func:`build_filter` validates it into a typed :class:`Filter`, which each store compiles
into its own dialect (SQL in ``memkit.stores.sqlite``, a ``where`` in ``memkit.stores.chroma``,
a predicate in ``memkit.stores.exact``).  A vector index filters on the flat metadata
:func:`index_metadata` gives it for each note.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from memkit.errors import FilterError
from memkit.types import METADATA_KEY, METADATA_KEY_RULE, SCOPE_FIELDS, text_problem, utcnow

__all__ = ["Condition", "Filter", "build_filter", "index_metadata", "FOREVER", "epoch"]

Op = Literal["$eq", "$ne", "$in", "$nin", "$gt", "$gte", "$lt", "$lte"]
_OPS: tuple[str, ...] = ("$eq", "$ne", "$in", "$nin", "$gt", "$gte", "$lt", "$lte")
_RANGE = ("$gt", "$gte", "$lt", "$lte")
_KEY = METADATA_KEY  # one rule for what a note may hold and what a filter may name
FOREVER = 1e18  # valid_to of a note that is still valid, as an epoch in the index
Scalar = str | int | float | bool


def epoch(dt: datetime | None) -> float:
    return FOREVER if dt is None else dt.timestamp()


class Condition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    op: Op
    value: Any


class Filter(BaseModel):
    """Scope + metadata conditions (ANDed) + a validity window."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    scope: dict[str, str] = {}
    conditions: tuple[Condition, ...] = ()
    open_at: float | None = None  # keep notes with valid_to > open_at (epoch s); None: keep closed notes too
    started_by: float | None = None  # keep notes with valid_from <= started_by (time travel with as_of)
    started_after: float | None = None  # keep notes with valid_from >= started_after (a period a question names)
    owner: str | None = None  # link scope: notes whose user_id (or '' for none) equals this

    def without_validity(self) -> Filter:
        return self.model_copy(update={"open_at": None, "started_by": None, "started_after": None})

    def within(self, start: float, end: float) -> Filter:
        """This filter, keeping only notes whose experience time (``valid_from``) lies in ``[start, end]``."""
        return self.model_copy(update={
            "started_after": start if self.started_after is None else max(start, self.started_after),
            "started_by": end if self.started_by is None else min(end, self.started_by)})


def _num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _check_scalar(key: str, v: Any) -> Scalar:
    if not isinstance(v, (str, int, float, bool)):
        raise FilterError(f"filter on {key!r}: values must be str, int, float or bool, got {type(v).__name__}")
    problem = text_problem(v) if isinstance(v, str) else None
    if problem:
        raise FilterError(f"filter on {key!r}: the value {problem}")
    return v


def build_filter(
    filters: dict[str, Any] | None = None,
    *,
    user_id: str | None = None,
    agent_id: str | None = None,
    session_id: str | None = None,
    include_superseded: bool = False,
    as_of: datetime | None = None,
) -> Filter:
    """Validate user filters into a :class:`Filter`; raise :class:`FilterError` naming the problem.

    By default only notes still valid now are kept; ``include_superseded`` keeps closed ones too,
    and ``as_of`` keeps the notes that were valid at that moment.
    """
    scope = {}
    for name, value in zip(SCOPE_FIELDS, (user_id, agent_id, session_id), strict=True):
        if value is not None:
            if not isinstance(value, str) or not value.strip():
                raise FilterError(f"{name} must be a non-empty string, got {value!r}")
            problem = text_problem(value)
            if problem:
                raise FilterError(f"{name} {problem}")
            scope[name] = value
    if filters is None:
        filters = {}
    if not isinstance(filters, dict):
        raise FilterError(f"filters must be a dict of metadata key -> value or {{op: value}}, got {type(filters).__name__}")
    conditions: list[Condition] = []
    for key, spec in filters.items():
        if not isinstance(key, str) or not _KEY.fullmatch(key):
            raise FilterError(f"bad filter key {key!r}: {METADATA_KEY_RULE}")
        if key in SCOPE_FIELDS:
            raise FilterError(f"filter on {key!r}: pass {key}= as a search argument, not in filters")
        if isinstance(spec, dict):
            if not spec:
                raise FilterError(f"filter on {key!r}: empty operator dict")
            items = list(spec.items())
        elif isinstance(spec, (list, tuple)):
            items = [("$in", spec)]
        else:
            items = [("$eq", spec)]
        for op, value in items:
            if op not in _OPS:
                raise FilterError(f"filter on {key!r}: unknown operator {op!r} (use one of {', '.join(_OPS)})")
            if op in ("$in", "$nin"):
                if not isinstance(value, (list, tuple)) or not value:
                    raise FilterError(f"filter on {key!r}: {op} needs a non-empty list")
                value = tuple(_check_scalar(key, v) for v in value)
            elif op in _RANGE:
                if not _num(value):
                    raise FilterError(f"filter on {key!r}: {op} needs a number, got {value!r}")
            else:
                value = _check_scalar(key, value)
            conditions.append(Condition(key=key, op=op, value=value))
    if as_of is not None:
        if not isinstance(as_of, datetime) or as_of.tzinfo is None:
            raise FilterError(f"as_of must be a timezone-aware datetime, got {as_of!r}")
        open_at, started_by = as_of.timestamp(), as_of.timestamp()
    else:
        open_at = None if include_superseded else utcnow().timestamp()
        started_by = None
    return Filter(scope=scope, conditions=tuple(conditions), open_at=open_at, started_by=started_by)


def index_metadata(note: Any) -> dict[str, Any]:
    """The flat, scalar metadata a vector index keeps for filtering one note."""
    meta: dict[str, Any] = {
        "valid_from": epoch(note.valid_from),
        "valid_to": epoch(note.valid_to),
        "version": note.version,
        "owner": note.user_id or "",
    }
    for f in SCOPE_FIELDS:
        value = getattr(note, f)
        if value is not None:
            meta[f] = value
    for key, value in note.metadata.items():
        if isinstance(value, (str, int, float, bool)) and _KEY.fullmatch(key):  # keys stored before the rule: skipped
            meta[f"m.{key}"] = value
    return meta
