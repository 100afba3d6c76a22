"""Note ids by prefix, as git resolves a short hash: the part of :class:`SQLiteStore` that does it.

Ids are 32 hex characters, time-ordered (UUIDv7), so notes written close together share a long
start; a prefix is resolved, and the shortest unique prefix found, by range scans of the unique
index on ``notes.id`` (and the index on ``history.note_id``, for deleted notes).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from typing import Any

from memkit.errors import InvalidInputError, NotFoundError

__all__ = ["IdPrefixes", "MIN_PREFIX"]

MIN_PREFIX = 4  # the shortest id prefix resolve_id accepts (as git)
_AMBIGUOUS_SHOWN = 100  # an ambiguous prefix reports its matches up to this many


class IdPrefixes:
    """Mixed into :class:`memkit.stores.sqlite.SQLiteStore` (which provides ``conn``)."""

    conn: sqlite3.Connection

    def resolve_id(self, prefix: str, *, deleted: bool = False) -> str:
        """The id of the one note whose id is ``prefix``, or else starts with it.

        An exact id always wins; a prefix needs :data:`MIN_PREFIX` characters and must match one
        note (:class:`InvalidInputError` names how many it matches; :class:`NotFoundError` when
        none).  ``deleted`` also resolves the ids of deleted notes, known from their history.
        Both lookups are range scans of an index on the id.
        """
        tables = (("notes", "id"), ("history", "note_id")) if deleted else (("notes", "id"),)
        for table, col in tables:
            if self.conn.execute(f"SELECT 1 FROM {table} WHERE {col} = ? LIMIT 1", (prefix,)).fetchone():
                return prefix
        if len(prefix) >= MIN_PREFIX:
            for p in dict.fromkeys((prefix, prefix.lower())):
                found: set[str] = set()
                for table, col in tables:
                    found.update(self._with_prefix(table, col, p, _AMBIGUOUS_SHOWN + 1))
                if len(found) == 1:
                    return found.pop()
                if found:
                    many = f"{_AMBIGUOUS_SHOWN} or more" if len(found) > _AMBIGUOUS_SHOWN else str(len(found))
                    raise InvalidInputError(f"id prefix {prefix!r} is ambiguous: it matches {many} notes; "
                                            "give more of the id")
        short = "" if len(prefix) >= MIN_PREFIX else f" (an id prefix needs at least {MIN_PREFIX} characters)"
        raise NotFoundError(f"no note with id {prefix!r}{short}")

    def _with_prefix(self, table: str, col: str, prefix: str, limit: int) -> list[str]:
        bound = _prefix_bound(prefix)
        sql = f"SELECT DISTINCT {col} FROM {table} WHERE {col} >= ?"
        params: list[Any] = [prefix]
        if bound is not None:
            sql += f" AND {col} < ?"
            params.append(bound)
        rows = self.conn.execute(f"{sql} ORDER BY {col} LIMIT ?", (*params, limit)).fetchall()
        return [r[0] for r in rows if r[0].startswith(prefix)]

    def short_ids(self, ids: Sequence[str], min_len: int = 8) -> dict[str, str]:
        """For each of ``ids``, its shortest prefix (at least ``min_len`` characters) that
        :meth:`resolve_id` resolves to it, also among deleted notes: the id's common prefix with its
        neighbours in id order, plus one character (the whole id when that is not shorter)."""
        out: dict[str, str] = {}
        for nid in ids:
            n = max(min_len, MIN_PREFIX)
            for table, col in (("notes", "id"), ("history", "note_id")):
                for op, order in (("<", "DESC"), (">", "ASC")):
                    row = self.conn.execute(
                        f"SELECT {col} FROM {table} WHERE {col} {op} ? ORDER BY {col} {order} LIMIT 1", (nid,)
                    ).fetchone()
                    if row is not None:
                        n = max(n, _common_prefix(nid, row[0]) + 1)
            out[nid] = nid[:n] if n < len(nid) else nid
        return out


def _prefix_bound(prefix: str) -> str | None:
    """The least string above every string that starts with ``prefix`` (SQLite compares UTF-8 bytes,
    which order as code points), or None when there is none."""
    for i in range(len(prefix) - 1, -1, -1):
        if ord(prefix[i]) < 0x10FFFF:
            nxt = ord(prefix[i]) + 1
            if 0xD800 <= nxt <= 0xDFFF:  # surrogates are not stored characters
                nxt = 0xE000
            return prefix[:i] + chr(nxt)
    return None


def _common_prefix(a: str, b: str) -> int:
    return len(os.path.commonprefix([a, b]))
