"""The authoritative note store: SQLite (through sqlite-utils) in WAL mode.

One file holds the notes (with their embeddings), the links between them, every
history event, an FTS5 index for BM25 search and the store's metadata (schema
version, embedding model and dimension, change counter).  Every write is one
transaction, so a crash loses nothing that was committed.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import sqlite_utils

from memkit.errors import EmbeddingMismatchError, NotFoundError, StoreError
from memkit.filters import Filter, epoch
from memkit.types import HistoryEvent, Link, Note

__all__ = ["SQLiteStore", "Candidate", "SCHEMA_VERSION"]


class Candidate(NamedTuple):
    """A search candidate's stored features."""

    embedding: np.ndarray | None
    content: str
    speaker: str | None  # metadata.speaker
    valid_from_ts: float
    session_id: str | None = None


SCHEMA_VERSION = 1

_SCHEMA = """
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
    embedding BLOB
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
CREATE VIRTUAL TABLE IF NOT EXISTS notes_fts USING fts5(
    content, search_extra, content='notes', content_rowid='seq', tokenize='porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS notes_fts_ai AFTER INSERT ON notes BEGIN
    INSERT INTO notes_fts(rowid, content, search_extra) VALUES (new.seq, new.content, new.search_extra);
END;
CREATE TRIGGER IF NOT EXISTS notes_fts_ad AFTER DELETE ON notes BEGIN
    INSERT INTO notes_fts(notes_fts, rowid, content, search_extra)
        VALUES ('delete', old.seq, old.content, old.search_extra);
END;
CREATE TRIGGER IF NOT EXISTS notes_fts_au AFTER UPDATE OF content, search_extra ON notes BEGIN
    INSERT INTO notes_fts(notes_fts, rowid, content, search_extra)
        VALUES ('delete', old.seq, old.content, old.search_extra);
    INSERT INTO notes_fts(rowid, content, search_extra) VALUES (new.seq, new.content, new.search_extra);
END;
"""

_NOTE_COLUMNS = (
    "id, content, keywords, tags, context, created_at, updated_at, valid_from, valid_to, user_id, agent_id, "
    "session_id, metadata, source, retrieval_count, last_accessed, version"
)
_WORD = re.compile(r"\w+", re.UNICODE)


def _iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.astimezone(timezone.utc).isoformat()


def _dt(s: str | None) -> datetime | None:
    return None if s is None else datetime.fromisoformat(s)


def note_row(note: Note, search_extra: str, embedding: np.ndarray | None) -> dict[str, Any]:
    return {
        "id": note.id,
        "content": note.content,
        "keywords": json.dumps(note.keywords),
        "tags": json.dumps(note.tags),
        "context": note.context,
        "created_at": _iso(note.created_at),
        "updated_at": _iso(note.updated_at),
        "valid_from": _iso(note.valid_from),
        "valid_to": _iso(note.valid_to),
        "valid_from_ts": epoch(note.valid_from),
        "valid_to_ts": epoch(note.valid_to),
        "user_id": note.user_id,
        "agent_id": note.agent_id,
        "session_id": note.session_id,
        "metadata": json.dumps(note.metadata, ensure_ascii=False),
        "source": note.source,
        "retrieval_count": note.retrieval_count,
        "last_accessed": _iso(note.last_accessed),
        "version": note.version,
        "search_extra": search_extra,
        "embedding": None if embedding is None else np.asarray(embedding, dtype=np.float32).tobytes(),
    }


def _row_note(row: sqlite3.Row | tuple, links: list[str]) -> Note:
    (nid, content, keywords, tags, context, created, updated, vfrom, vto, user, agent, session, meta, source, count,
     accessed, version) = row
    return Note.model_construct(
        id=nid,
        content=content,
        keywords=json.loads(keywords),
        tags=json.loads(tags),
        context=context,
        links=links,
        created_at=_dt(created),
        updated_at=_dt(updated),
        valid_from=_dt(vfrom),
        valid_to=_dt(vto),
        user_id=user,
        agent_id=agent,
        session_id=session,
        metadata=json.loads(meta),
        source=source,
        retrieval_count=count,
        last_accessed=_dt(accessed),
        version=version,
    )


def fts_query(text: str, stopwords: frozenset[str]) -> str | None:
    """A BM25 query that ORs the content words of ``text`` (FTS5's default AND finds almost nothing)."""
    words: list[str] = []
    for w in _WORD.findall(text.lower()):
        keep = w.isdigit() or (len(w) > 1 and w not in stopwords)
        if keep and w not in words:
            words.append(w)
    if not words:
        return None
    return " OR ".join(f'"{w}"' for w in words)


class SQLiteStore:
    """Notes, links, history and the FTS index in one SQLite file."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            conn = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None, timeout=30.0)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the note store {self.path}: {exc}") from None
        self.db = sqlite_utils.Database(conn)
        self.conn = conn
        self._lock = threading.RLock()
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
            conn.executescript(_SCHEMA)  # idempotent; executescript runs outside our transactions
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise StoreError(f"{self.path} is not a memkit store or is damaged: {exc}") from None
        version = self.get_meta("schema_version")
        if version is None:
            self.set_meta("schema_version", str(SCHEMA_VERSION))
        elif int(version) != SCHEMA_VERSION:
            raise StoreError(f"{self.path} has schema version {version}; this memkit reads version {SCHEMA_VERSION}")

    # -- plumbing -------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self.conn.in_transaction:  # nested: join the outer transaction
                yield self.conn
                return
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StoreError(f"cannot write to the note store {self.path}: {exc}") from None
            try:
                yield self.conn
                self.conn.execute("COMMIT")
            except BaseException as exc:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):  # disk full, I/O error, a store changed under us
                    raise StoreError(f"writing to the note store {self.path} failed, nothing of this change was "
                                     f"kept: {exc}") from exc
                raise

    def close(self) -> None:
        with self._lock:
            self.conn.close()

    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as c:
            c.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def bump_changes(self, c: sqlite3.Connection, n: int = 1) -> None:
        c.execute(
            "INSERT INTO meta(key, value) VALUES ('changes', ?) "
            "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + ?",
            (str(n), n),
        )

    def changes(self) -> int:
        return int(self.get_meta("changes") or 0)

    def check_embedder(self, name: str, dim: int | None) -> None:
        """Record the embedder on first use; a different one later is an error, not silent corruption."""
        stored_name, stored_dim = self.get_meta("embedder"), self.get_meta("dim")
        if stored_name is None:
            if dim is not None:
                with self.transaction() as c:
                    c.execute("INSERT OR REPLACE INTO meta VALUES ('embedder', ?)", (name,))
                    c.execute("INSERT OR REPLACE INTO meta VALUES ('dim', ?)", (str(dim),))
            return
        if stored_name != name or (dim is not None and stored_dim is not None and int(stored_dim) != dim):
            raise EmbeddingMismatchError(
                f"the store {self.path.parent} was built with embedder {stored_name!r} (dim {stored_dim}); "
                f"it is now opened with {name!r}" + (f" (dim {dim})" if dim is not None else "")
                + ". Open it with the same embedder, or export and import into a new store."
            )

    # -- writes (callers wrap these in one transaction) ------------------------
    def insert_notes(self, c: sqlite3.Connection, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        cols = list(rows[0])
        sql = f"INSERT INTO notes ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
        try:
            c.executemany(sql, [tuple(r[k] for k in cols) for r in rows])
        except sqlite3.IntegrityError as exc:
            raise StoreError(f"cannot insert notes: {exc} (an id already exists?)") from None

    def update_note(self, c: sqlite3.Connection, row: dict[str, Any]) -> None:
        cols = [k for k in row if k != "id"]
        cur = c.execute(
            f"UPDATE notes SET {', '.join(f'{k} = ?' for k in cols)} WHERE id = ?",
            (*(row[k] for k in cols), row["id"]),
        )
        if cur.rowcount == 0:
            raise NotFoundError(f"no note with id {row['id']!r}")

    def delete_note(self, c: sqlite3.Connection, note_id: str) -> None:
        c.execute("DELETE FROM links WHERE src = ? OR dst = ?", (note_id, note_id))
        c.execute("DELETE FROM notes WHERE id = ?", (note_id,))

    def insert_links(self, c: sqlite3.Connection, links: Iterable[Link]) -> int:
        rows = [(lk.src, lk.dst, lk.kind, lk.weight, _iso(lk.created_at), lk.actor) for lk in links]
        before = c.total_changes
        c.executemany("INSERT OR IGNORE INTO links VALUES (?, ?, ?, ?, ?, ?)", rows)
        return c.total_changes - before

    def delete_link(self, c: sqlite3.Connection, src: str, dst: str, kind: str | None = None) -> int:
        sql = "DELETE FROM links WHERE ((src = ? AND dst = ?) OR (src = ? AND dst = ?))"
        params: list[Any] = [src, dst, dst, src]
        if kind is not None:
            sql += " AND kind = ?"
            params.append(kind)
        return c.execute(sql, params).rowcount

    def insert_events(self, c: sqlite3.Connection, events: Iterable[dict[str, Any]]) -> None:
        rows = [
            (
                e["note_id"],
                e["event"],
                None if e.get("before") is None else json.dumps(e["before"], ensure_ascii=False, default=str),
                None if e.get("after") is None else json.dumps(e["after"], ensure_ascii=False, default=str),
                _iso(e["at"]),
                e["actor"],
                e.get("reason"),
            )
            for e in events
        ]
        c.executemany(
            "INSERT INTO history(note_id, event, before, after, at, actor, reason) VALUES (?, ?, ?, ?, ?, ?, ?)", rows
        )

    def mark_undone(self, c: sqlite3.Connection, event_id: int) -> None:
        c.execute("UPDATE history SET undone = 1 WHERE id = ?", (event_id,))

    def record_access(self, ids: Sequence[str], at: datetime) -> None:
        if not ids:
            return
        with self.transaction() as c:
            c.executemany(
                "UPDATE notes SET retrieval_count = retrieval_count + 1, last_accessed = ? WHERE id = ?",
                [(_iso(at), i) for i in ids],
            )

    # -- reads ----------------------------------------------------------------
    def _links_for(self, ids: Sequence[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {i: [] for i in ids}
        for chunk in _chunks(list(ids), 400):
            marks = ",".join("?" * len(chunk))
            for src, dst in self.conn.execute(
                f"SELECT src, dst FROM links WHERE src IN ({marks}) UNION SELECT dst, src FROM links WHERE dst IN ({marks})",
                (*chunk, *chunk),
            ):
                if dst not in out[src]:
                    out[src].append(dst)
        return out

    def get_many(self, ids: Sequence[str]) -> dict[str, Note]:
        """The notes that exist among ``ids`` (missing ids are left out)."""
        rows = []
        for chunk in _chunks(list(dict.fromkeys(ids)), 400):
            marks = ",".join("?" * len(chunk))
            rows += self.conn.execute(f"SELECT {_NOTE_COLUMNS} FROM notes WHERE id IN ({marks})", chunk).fetchall()
        links = self._links_for([r[0] for r in rows])
        return {r[0]: _row_note(r, links[r[0]]) for r in rows}

    def get(self, note_id: str) -> Note:
        found = self.get_many([note_id])
        if note_id not in found:
            raise NotFoundError(f"no note with id {note_id!r}")
        return found[note_id]

    def exists(self, note_id: str) -> bool:
        return self.conn.execute("SELECT 1 FROM notes WHERE id = ?", (note_id,)).fetchone() is not None

    def iter_notes(self, flt: Filter | None = None, batch: int = 500) -> Iterator[Note]:
        where, params = (flt.to_sql() if flt else ("1", []))
        last = 0
        while True:
            rows = self.conn.execute(
                f"SELECT seq, {_NOTE_COLUMNS} FROM notes WHERE seq > ? AND {where} ORDER BY seq LIMIT ?",
                (last, *params, batch),
            ).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            links = self._links_for([r[1] for r in rows])
            for r in rows:
                yield _row_note(r[1:], links[r[1]])

    def nearest(self, vectors: np.ndarray, k: int, flt: Filter, max_rows: int) -> list[list[tuple[str, float]]] | None:
        """Exact cosine search over the stored embeddings of the notes passing ``flt``.

        ``None`` when more than ``max_rows`` notes pass: a scope that large is left to the vector index.
        """
        where, params = flt.to_sql()
        n = self.conn.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM notes WHERE {where} LIMIT ?)", (*params, max_rows + 1)
        ).fetchone()[0]
        if n > max_rows:
            return None
        rows = self.conn.execute(
            f"SELECT id, embedding FROM notes WHERE {where} AND embedding IS NOT NULL", params
        ).fetchall()
        vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        if not rows:
            return [[] for _ in vectors]
        mat = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), -1)
        sims = vectors @ mat.T
        out = []
        for row in sims:
            top = np.argsort(-row, kind="stable")[:k]
            out.append([(rows[j][0], float(row[j])) for j in top])
        return out

    def lexical(self, query: str, k: int, flt: Filter, extra_weight: float = 1.0) -> list[tuple[str, float]]:
        """BM25 over the FTS5 index (content, and the derived text at ``extra_weight``); higher is better."""
        where, params = flt.to_sql("n")
        rank = f"bm25(notes_fts, 1.0, {float(extra_weight)!r})"
        try:
            rows = self.conn.execute(
                f"SELECT n.id, -{rank} AS s FROM notes_fts JOIN notes n ON n.seq = notes_fts.rowid "
                f"WHERE notes_fts MATCH ? AND {where} ORDER BY {rank} LIMIT ?",
                (query, *params, k),
            ).fetchall()
        except sqlite3.OperationalError as exc:
            raise StoreError(f"full-text search failed for {query!r}: {exc}") from None
        return [(r[0], float(r[1])) for r in rows]

    def session_neighbours(self, note_ids: Sequence[str]) -> dict[str, tuple[str | None, str | None]]:
        """For notes with a session, the previous and next note of the same session by time."""
        out: dict[str, tuple[str | None, str | None]] = {}
        for nid in note_ids:
            row = self.conn.execute("SELECT session_id, valid_from_ts, seq FROM notes WHERE id = ?", (nid,)).fetchone()
            if row is None or row[0] is None:
                continue
            session, ts, seq = row
            prev = self.conn.execute(
                "SELECT id FROM notes WHERE session_id = ? AND (valid_from_ts < ? OR (valid_from_ts = ? AND seq < ?)) "
                "ORDER BY valid_from_ts DESC, seq DESC LIMIT 1",
                (session, ts, ts, seq),
            ).fetchone()
            nxt = self.conn.execute(
                "SELECT id FROM notes WHERE session_id = ? AND (valid_from_ts > ? OR (valid_from_ts = ? AND seq > ?)) "
                "ORDER BY valid_from_ts, seq LIMIT 1",
                (session, ts, ts, seq),
            ).fetchone()
            out[nid] = (prev[0] if prev else None, nxt[0] if nxt else None)
        return out

    def last_in_session(self, session_id: str) -> tuple[str, float] | None:
        row = self.conn.execute(
            "SELECT id, valid_from_ts FROM notes WHERE session_id = ? ORDER BY valid_from_ts DESC, seq DESC LIMIT 1",
            (session_id,),
        ).fetchone()
        return None if row is None else (row[0], row[1])

    def all_links(self) -> list[Link]:
        return [
            Link.model_construct(src=s, dst=d, kind=k, weight=w, created_at=_dt(t), actor=a)
            for s, d, k, w, t, a in self.conn.execute("SELECT src, dst, kind, weight, created_at, actor FROM links")
        ]

    def links_of(self, note_id: str) -> list[Link]:
        return [
            Link.model_construct(src=s, dst=d, kind=k, weight=w, created_at=_dt(t), actor=a)
            for s, d, k, w, t, a in self.conn.execute(
                "SELECT src, dst, kind, weight, created_at, actor FROM links WHERE src = ? OR dst = ?",
                (note_id, note_id),
            )
        ]

    def history(self, note_id: str) -> list[HistoryEvent]:
        return [self._event(r) for r in self.conn.execute(
            "SELECT id, note_id, event, before, after, at, actor, reason, undone FROM history "
            "WHERE note_id = ? ORDER BY id", (note_id,))]

    def event(self, event_id: int) -> HistoryEvent:
        row = self.conn.execute(
            "SELECT id, note_id, event, before, after, at, actor, reason, undone FROM history WHERE id = ?",
            (event_id,),
        ).fetchone()
        if row is None:
            raise NotFoundError(f"no history event with id {event_id}")
        return self._event(row)

    @staticmethod
    def _event(r: tuple) -> HistoryEvent:
        return HistoryEvent(
            id=r[0], note_id=r[1], event=r[2],
            before=None if r[3] is None else json.loads(r[3]),
            after=None if r[4] is None else json.loads(r[4]),
            at=_dt(r[5]), actor=r[6], reason=r[7], undone=bool(r[8]),
        )

    def embeddings(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        out = {}
        for chunk in _chunks(list(ids), 400):
            marks = ",".join("?" * len(chunk))
            for nid, blob in self.conn.execute(f"SELECT id, embedding FROM notes WHERE id IN ({marks})", chunk):
                if blob is not None:
                    out[nid] = np.frombuffer(blob, dtype=np.float32)
        return out

    def candidates(self, ids: Sequence[str], flt: Filter | None = None) -> dict[str, Candidate]:
        """What retrieval needs of each of ``ids`` that exists (and passes ``flt``), in one read."""
        where, params = flt.to_sql() if flt is not None else ("1", [])
        out: dict[str, Candidate] = {}
        for chunk in _chunks(list(ids), 400):
            marks = ",".join("?" * len(chunk))
            for nid, blob, content, speaker, ts, session in self.conn.execute(
                f"SELECT id, embedding, content, json_extract(metadata, '$.speaker'), valid_from_ts, session_id "
                f"FROM notes WHERE id IN ({marks}) AND {where}", (*chunk, *params)
            ):
                out[nid] = Candidate(
                    embedding=np.frombuffer(blob, dtype=np.float32) if blob is not None else None,
                    content=content, speaker=speaker if isinstance(speaker, str) else None, valid_from_ts=ts,
                    session_id=session,
                )
        return out

    def speakers(self, flt: Filter) -> set[str]:
        """The distinct ``metadata.speaker`` values of the notes passing ``flt``."""
        where, params = flt.without_validity().to_sql()
        rows = self.conn.execute(
            f"SELECT DISTINCT json_extract(metadata, '$.speaker') FROM notes WHERE {where} "
            "AND json_extract(metadata, '$.speaker') IS NOT NULL", params)
        return {r[0] for r in rows if isinstance(r[0], str)}

    def versions(self) -> dict[str, int]:
        return dict(self.conn.execute("SELECT id, version FROM notes"))

    def missing_embeddings(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT id FROM notes WHERE embedding IS NULL")]

    def count(self, where: str = "1", params: Sequence[Any] = ()) -> int:
        return int(self.conn.execute(f"SELECT count(*) FROM notes WHERE {where}", params).fetchone()[0])

    def counts(self) -> dict[str, int]:
        q = self.conn.execute
        return {
            "notes": self.count(),
            "current_notes": self.count("valid_to_ts > ?", (datetime.now(timezone.utc).timestamp(),)),
            "links": int(q("SELECT count(*) FROM links").fetchone()[0]),
            "history_events": int(q("SELECT count(*) FROM history").fetchone()[0]),
            "users": int(q("SELECT count(DISTINCT user_id) FROM notes").fetchone()[0]),
        }


def _chunks(seq: list[Any], n: int) -> Iterator[list[Any]]:
    for i in range(0, len(seq), n):
        yield seq[i : i + n]
