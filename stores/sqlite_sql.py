"""The SQLite note store's schema and dialect: a :class:`~memkit.filters.Filter` as SQL, words as an FTS5 match,
a note as a row and back (used by :mod:`memkit.stores.sqlite`)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

import numpy as np

from memkit.builders.base import search_extra
from memkit.filters import Filter, epoch
from memkit.stores.sql_filter import scope_clauses, validity_clauses
from memkit.types import Note

__all__ = ["SCHEMA", "FTS_SCHEMA", "OLD_FTS", "SCOPE_COLUMN", "scope_token", "statements", "SCHEMA_VERSION", "WITHIN_SQL", "SAME_OWNER", "NOTE_COLUMNS", "note_row", "row_note", "fts_match", "where_sql",
           "to_iso", "from_iso"]

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS notes (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    content TEXT NOT NULL,
    keywords TEXT NOT NULL,
    tags TEXT NOT NULL,
    context TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    valid_from TEXT NOT NULL,
    valid_to TEXT,
    valid_from_ts REAL NOT NULL,
    valid_to_ts REAL NOT NULL,
    user_id TEXT,
    agent_id TEXT,
    session_id TEXT,
    metadata TEXT NOT NULL,
    source TEXT,
    retrieval_count INTEGER NOT NULL DEFAULT 0,
    last_accessed TEXT,
    version INTEGER NOT NULL,
    search_extra TEXT NOT NULL,
    embedding BLOB,
    scope_token TEXT GENERATED ALWAYS AS ('u' || lower(hex(coalesce(user_id, '')))) VIRTUAL
);
CREATE INDEX IF NOT EXISTS notes_user ON notes(user_id);
CREATE INDEX IF NOT EXISTS notes_agent ON notes(agent_id);
CREATE INDEX IF NOT EXISTS notes_session ON notes(session_id, valid_from_ts);
CREATE INDEX IF NOT EXISTS notes_valid_to ON notes(valid_to_ts);
CREATE TABLE IF NOT EXISTS links (
    src TEXT NOT NULL,
    dst TEXT NOT NULL,
    kind TEXT NOT NULL,
    weight REAL NOT NULL,
    created_at TEXT NOT NULL,
    actor TEXT NOT NULL,
    PRIMARY KEY (src, dst, kind)
);
CREATE INDEX IF NOT EXISTS links_dst ON links(dst);
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    note_id TEXT NOT NULL,
    event TEXT NOT NULL,
    before TEXT,
    after TEXT,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    reason TEXT,
    undone INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS history_note ON history(note_id, id);
"""


# The full-text index: content and the derived speaker/date/keyword text, ranked by BM25, plus one token per note
# naming its user (``scope_token``, never ranked), so that a search within one user's notes intersects the
# posting lists and ranks only that user's matches instead of every match in the store.
FTS_SCHEMA = """
CREATE VIRTUAL TABLE IF NOT EXISTS notes_fts USING fts5(
    content, search_extra, scope_token, content='notes', content_rowid='seq',
    tokenize='porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS notes_fts_ai AFTER INSERT ON notes BEGIN
    INSERT INTO notes_fts(rowid, content, search_extra, scope_token)
        VALUES (new.seq, new.content, new.search_extra, new.scope_token);
END;
CREATE TRIGGER IF NOT EXISTS notes_fts_ad AFTER DELETE ON notes BEGIN
    INSERT INTO notes_fts(notes_fts, rowid, content, search_extra, scope_token)
        VALUES ('delete', old.seq, old.content, old.search_extra, old.scope_token);
END;
CREATE TRIGGER IF NOT EXISTS notes_fts_au AFTER UPDATE OF content, search_extra, user_id ON notes BEGIN
    INSERT INTO notes_fts(notes_fts, rowid, content, search_extra, scope_token)
        VALUES ('delete', old.seq, old.content, old.search_extra, old.scope_token);
    INSERT INTO notes_fts(rowid, content, search_extra, scope_token)
        VALUES (new.seq, new.content, new.search_extra, new.scope_token);
END;
"""

# what stores written before the scope token hold, dropped and rebuilt from the notes when such a store is opened
OLD_FTS = ("DROP TRIGGER IF EXISTS notes_fts_ai", "DROP TRIGGER IF EXISTS notes_fts_ad",
           "DROP TRIGGER IF EXISTS notes_fts_au", "DROP TABLE IF EXISTS notes_fts")
SCOPE_COLUMN = ("ALTER TABLE notes ADD COLUMN scope_token TEXT GENERATED ALWAYS AS "
                "('u' || lower(hex(coalesce(user_id, '')))) VIRTUAL")


def statements(script: str) -> list[str]:
    """The SQL statements of ``script`` (triggers whole), to run one by one inside a transaction."""
    out, buf = [], ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    return out


def scope_token(user_id: str) -> str:
    """The full-text token of a user's notes (what ``notes.scope_token`` computes in SQL)."""
    return "u" + user_id.encode("utf-8").hex()

# one conversation: the same user and agent (IS: NULL matches NULL), so session links never cross scopes
SAME_OWNER = "user_id IS ? AND agent_id IS ?"
NOTE_COLUMNS = (
    "id, content, keywords, tags, context, created_at, updated_at, valid_from, valid_to, user_id, agent_id, "
    "session_id, metadata, source, retrieval_count, last_accessed, version"
)


def to_iso(when: datetime | None) -> str | None:
    return None if when is None else when.astimezone(timezone.utc).isoformat()


def from_iso(s: str | None) -> datetime | None:
    return None if s is None else datetime.fromisoformat(s)


def note_row(note: Note, embedding: np.ndarray | None) -> dict[str, Any]:
    """A note as a row of the ``notes`` table (with the derived text BM25 indexes beside its content)."""
    return {
        "id": note.id,
        "content": note.content,
        "keywords": json.dumps(note.keywords),
        "tags": json.dumps(note.tags),
        "context": note.context,
        "created_at": to_iso(note.created_at),
        "updated_at": to_iso(note.updated_at),
        "valid_from": to_iso(note.valid_from),
        "valid_to": to_iso(note.valid_to),
        "valid_from_ts": epoch(note.valid_from),
        "valid_to_ts": epoch(note.valid_to),
        "user_id": note.user_id,
        "agent_id": note.agent_id,
        "session_id": note.session_id,
        "metadata": json.dumps(note.metadata, ensure_ascii=False),
        "source": note.source,
        "retrieval_count": note.retrieval_count,
        "last_accessed": to_iso(note.last_accessed),
        "version": note.version,
        "search_extra": search_extra(note),
        "embedding": None if embedding is None else np.asarray(embedding, dtype=np.float32).tobytes(),
    }


def row_note(row: sqlite3.Row | tuple, links: list[str]) -> Note:
    (nid, content, keywords, tags, context, created, updated, vfrom, vto, user, agent, session, meta, source, count,
     accessed, version) = row
    return Note.model_construct(
        id=nid,
        content=content,
        keywords=json.loads(keywords),
        tags=json.loads(tags),
        context=context,
        links=links,
        created_at=from_iso(created),
        updated_at=from_iso(updated),
        valid_from=from_iso(vfrom),
        valid_to=from_iso(vto),
        user_id=user,
        agent_id=agent,
        session_id=session,
        metadata=json.loads(meta),
        source=source,
        retrieval_count=count,
        last_accessed=from_iso(accessed),
        version=version,
    )


# Every note reachable from :start in at most :depth hops along links (either way), entering only notes of :user
# (NULL: of no user), at its shortest distance; the start left out.
WITHIN_SQL = """
WITH RECURSIVE walk(id, d) AS (
    SELECT :start, 0
    UNION
    SELECT n.id, w.d + 1
    FROM walk w
    JOIN links l ON l.src = w.id OR l.dst = w.id
    JOIN notes n ON n.id = CASE WHEN l.src = w.id THEN l.dst ELSE l.src END AND n.user_id IS :user
    WHERE w.d < :depth
)
SELECT id, min(d) FROM walk WHERE id != :start GROUP BY id
"""


def fts_match(words: Sequence[str], user_id: str | None = None) -> str | None:
    """The FTS5 match of any of ``words`` (FTS5's default AND finds almost nothing): ``"a" OR "b"``; with
    ``user_id``, only among that user's notes."""
    any_word = " OR ".join('"' + w.replace('"', '""') + '"' for w in words)
    if not any_word:
        return None
    return any_word if user_id is None else f'({any_word}) AND scope_token:"{scope_token(user_id)}"'



_RANGE = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}


def where_sql(flt: Filter, alias: str = "notes") -> tuple[str, list[Any]]:
    """A :class:`Filter` as an SQL condition on the ``notes`` table (as ``alias``) and its parameters."""
    clauses, params = scope_clauses(flt, alias, "?")
    for c in flt.conditions:
        # a value matches one of the same JSON type (true is not 1); a note without the key matches nothing
        expr, kind = f"json_extract({alias}.metadata, ?)", f"json_type({alias}.metadata, ?)"
        path = f'$."{c.key}"'
        if c.op in ("$eq", "$ne", "$in", "$nin"):
            values = c.value if c.op in ("$in", "$nin") else (c.value,)
            same = " OR ".join(f"({kind} {_JSON_TYPE[_kind(v)]} AND {expr} = ?)" for v in values)
            same_params = [p for v in values for p in (path, path, _sql_value(v))]
            if c.op in ("$eq", "$in"):
                clauses.append(f"({same})")
                params += same_params
            else:
                clauses.append(f"({kind} IS NOT NULL AND NOT ({same}))")
                params += [path, *same_params]
        else:
            clauses.append(f"({kind} IN ('integer', 'real') AND {expr} {_RANGE[c.op]} ?)")
            params += [path, path, c.value]
    window, bounds = validity_clauses(flt, alias, "?")
    clauses += window
    params += bounds
    return (" AND ".join(clauses) or "1"), params


_JSON_TYPE = {"bool": "IN ('true', 'false')", "number": "IN ('integer', 'real')", "text": "= 'text'"}


def _kind(v: Any) -> str:
    return "bool" if isinstance(v, bool) else "text" if isinstance(v, str) else "number"


def _sql_value(v: Any) -> Any:
    return int(v) if isinstance(v, bool) else v
