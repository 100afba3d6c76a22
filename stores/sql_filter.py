"""The parts of a :class:`~memkit.filters.Filter` every SQL store writes alike: its scope (user, agent, session),
the owner of a link walk and the validity window, as conditions on the ``notes`` columns.  Each store adds its own
metadata conditions between them (:func:`memkit.stores.sqlite_sql.where_sql`,
:func:`memkit.stores.postgres_sql.where_sql`); ``mark`` is its parameter placeholder (``?`` or ``%s``)."""

from __future__ import annotations

from typing import Any

from memkit.errors import FilterError
from memkit.filters import Filter
from memkit.types import SCOPE_FIELDS

__all__ = ["scope_clauses", "validity_clauses"]


def scope_clauses(flt: Filter, alias: str, mark: str) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    for key, value in flt.scope.items():
        if key not in SCOPE_FIELDS:  # a column name: never one a caller made up
            raise FilterError(f"unknown scope field {key!r} (one of {', '.join(SCOPE_FIELDS)})")
        clauses.append(f"{alias}.{key} = {mark}")
        params.append(value)
    if flt.owner is not None:  # written so that the index on user_id serves it ('' is no user: never stored)
        if flt.owner:
            clauses.append(f"{alias}.user_id = {mark}")
            params.append(flt.owner)
        else:
            clauses.append(f"{alias}.user_id IS NULL")
    return clauses, params


def validity_clauses(flt: Filter, alias: str, mark: str) -> tuple[list[str], list[Any]]:
    bounds = ((flt.open_at, "valid_to_ts >"), (flt.started_by, "valid_from_ts <="),
              (flt.started_after, "valid_from_ts >="))
    kept = [(value, test) for value, test in bounds if value is not None]
    return [f"{alias}.{test} {mark}" for _, test in kept], [value for value, _ in kept]
