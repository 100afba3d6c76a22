"""Search filters: scope, metadata conditions and validity, applied inside the stores.

A user writes ``filters={"src": "chat", "n": {"$gte": 3}, "lang": {"$in": ["en", "pt"]}}``;
:func:`build_filter` validates it into a typed :class:`Filter`, which each store
translates (SQL for SQLite, ``where`` for Chroma, a predicate for the exact index).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from memkit.errors import FilterError
from memkit.types import SCOPE_FIELDS, utcnow

__all__ = ["Condition", "Filter", "build_filter", "index_metadata", "FOREVER", "epoch"]

Op = Literal["$eq", "$ne", "$in", "$nin", "$gt", "$gte", "$lt", "$lte"]
_OPS: tuple[str, ...] = ("$eq", "$ne", "$in", "$nin", "$gt", "$gte", "$lt", "$lte")
_RANGE = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}
_KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_\-]{0,127}$")
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
    owner: str | None = None  # link scope: notes whose user_id (or '' for none) equals this

    # -- SQLite ---------------------------------------------------------------
    def to_sql(self, alias: str = "notes") -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        for key, value in self.scope.items():
            clauses.append(f"{alias}.{key} = ?")
            params.append(value)
        if self.owner is not None:  # written so that the index on user_id serves it ('' is no user: never stored)
            if self.owner:
                clauses.append(f"{alias}.user_id = ?")
                params.append(self.owner)
            else:
                clauses.append(f"{alias}.user_id IS NULL")
        for c in self.conditions:
            expr = f"json_extract({alias}.metadata, ?)"
            path = f'$."{c.key}"'
            if c.op in ("$eq", "$ne"):
                clauses.append(f"{expr} {'=' if c.op == '$eq' else '!='} ?")
                params += [path, _sql_value(c.value)]
            elif c.op in ("$in", "$nin"):
                marks = ",".join("?" * len(c.value))
                clauses.append(f"{expr} {'IN' if c.op == '$in' else 'NOT IN'} ({marks})")
                params += [path, *(_sql_value(v) for v in c.value)]
            else:
                clauses.append(f"{expr} {_RANGE[c.op]} ?")
                params += [path, c.value]
        if self.open_at is not None:
            clauses.append(f"{alias}.valid_to_ts > ?")
            params.append(self.open_at)
        if self.started_by is not None:
            clauses.append(f"{alias}.valid_from_ts <= ?")
            params.append(self.started_by)
        return (" AND ".join(clauses) or "1"), params

    # -- Chroma ---------------------------------------------------------------
    def to_chroma(self) -> dict[str, Any] | None:
        parts: list[dict[str, Any]] = [{k: {"$eq": v}} for k, v in self.scope.items()]
        if self.owner is not None:
            parts.append({"owner": {"$eq": self.owner}})
        for c in self.conditions:
            parts.append({f"m.{c.key}": {c.op: list(c.value) if isinstance(c.value, tuple) else c.value}})
        if self.open_at is not None:
            parts.append({"valid_to": {"$gt": self.open_at}})
        if self.started_by is not None:
            parts.append({"valid_from": {"$lte": self.started_by}})
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else {"$and": parts}

    # -- in Python (exact index) ---------------------------------------------
    def matches(self, meta: dict[str, Any]) -> bool:
        for key, value in self.scope.items():
            if meta.get(key) != value:
                return False
        if self.owner is not None and meta.get("owner") != self.owner:
            return False
        for c in self.conditions:
            k = f"m.{c.key}"
            if k not in meta:
                return False
            if not _OPS[c.op](meta[k], c.value):
                return False
        if self.open_at is not None and not meta["valid_to"] > self.open_at:
            return False
        return self.started_by is None or meta["valid_from"] <= self.started_by

    def without_validity(self) -> Filter:
        return self.model_copy(update={"open_at": None, "started_by": None})


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "$eq": lambda v, x: v == x,
    "$ne": lambda v, x: v != x,
    "$in": lambda v, x: v in x,
    "$nin": lambda v, x: v not in x,
    "$gt": lambda v, x: _num(v) and v > x,
    "$gte": lambda v, x: _num(v) and v >= x,
    "$lt": lambda v, x: _num(v) and v < x,
    "$lte": lambda v, x: _num(v) and v <= x,
}


def _num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _sql_value(v: Any) -> Any:
    return int(v) if isinstance(v, bool) else v


def _check_scalar(key: str, v: Any) -> Scalar:
    if not isinstance(v, (str, int, float, bool)):
        raise FilterError(f"filter on {key!r}: values must be str, int, float or bool, got {type(v).__name__}")
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
            scope[name] = value
    if filters is None:
        filters = {}
    if not isinstance(filters, dict):
        raise FilterError(f"filters must be a dict of metadata key -> value or {{op: value}}, got {type(filters).__name__}")
    conditions: list[Condition] = []
    for key, spec in filters.items():
        if not isinstance(key, str) or not _KEY.match(key):
            raise FilterError(f"bad filter key {key!r}: use letters, digits, '_' or '-'")
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
        if isinstance(value, (str, int, float, bool)) and _KEY.match(key):
            meta[f"m.{key}"] = value
    return meta
