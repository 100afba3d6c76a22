"""The authoritative note store: SQLite (through sqlite-utils) in WAL mode.

One file holds the notes (with their embeddings), the links between them, every
history event, an FTS5 index for BM25 search and the store's metadata (schema
version, embedding model and dimension, change counter).  Every write is one
:class:`~memkit.types.WriteBatch` in one transaction, so a crash loses nothing that was
committed.  Its schema and query dialect (a :class:`~memkit.filters.Filter` as SQL, words as an
FTS5 match) are in :mod:`memkit.stores.sqlite_sql`.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import sqlite_utils

from memkit.config import StoreConfig
from memkit.errors import EmbeddingMismatchError, NotFoundError, StoreError
from memkit.filters import Filter
from memkit.stores.bookkeeping import IndexBookkeeping
from memkit.stores.ids import MIN_PREFIX, IdPrefixes
from memkit.stores.scope_rows import ScopeRows, ScopeVectors, scope_vectors
from memkit.stores.sqlite_sql import (
    FTS_SCHEMA,
    NOTE_COLUMNS,
    OLD_FTS,
    SAME_OWNER,
    SCHEMA,
    SCHEMA_VERSION,
    SCOPE_COLUMN,
    WITHIN_SQL,
    from_iso,
    fts_match,
    note_row,
    row_note,
    statements,
    to_iso,
    where_sql,
)
from memkit.text import content_speaker
from memkit.types import SCOPE_FIELDS, Candidate, HistoryEvent, Link, NewEvent, Note, WriteBatch, WriteResult

__all__ = ["SQLiteStore", "SCHEMA_VERSION", "MIN_PREFIX", "DB_FILE", "where_sql", "fts_match", "note_row"]

log = logging.getLogger(__name__)
DB_FILE = "memkit.db"  # the store's file in a memory's folder

_KEPT_ON_UPDATE = ("created_at", "retrieval_count", "last_accessed", *SCOPE_FIELDS)  # an update leaves these


class SQLiteStore(IdPrefixes, IndexBookkeeping):
    """Notes, links, history and the FTS index in one SQLite file."""

    shared = False  # one process at a time (memkit.lock.StoreLock)

    @classmethod
    def open(cls, folder: Path, config: StoreConfig | None = None) -> SQLiteStore:
        """The store of the memory in ``folder`` (``memkit.db``), repaired once where an old version left damage."""
        store = cls(Path(folder) / DB_FILE)
        try:
            store.repair_sequence_links()
        except BaseException:
            store.close()
            raise
        return store

    @classmethod
    def found_in(cls, folder: Path, config: StoreConfig | None = None) -> bool:
        return (Path(folder) / DB_FILE).is_file()

    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            conn = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None, timeout=30.0)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the note store {self.path}: {exc}") from None
        self.db = sqlite_utils.Database(conn)
        self.conn = conn
        self._lock = threading.RLock()
        self._scope_rows = ScopeRows()  # scopes' embeddings between exact searches, dropped at each write
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
            conn.executescript(SCHEMA)  # idempotent; executescript runs outside our transactions
            self._scope_full_text()
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise StoreError(f"{self.path} is not a memkit store or is damaged: {exc}") from None
        version = self.get_meta("schema_version")
        if self.get_meta("memory_id") is None:  # names the memory where it has parts elsewhere (a Chroma server)
            self.set_meta("memory_id", uuid.uuid4().hex)
        if version is None:
            self.set_meta("schema_version", str(SCHEMA_VERSION))
        elif int(version) != SCHEMA_VERSION:
            raise StoreError(f"{self.path} has schema version {version}; this memkit reads version {SCHEMA_VERSION}")

    def _scope_full_text(self) -> None:
        """Create the full-text index, or give a store written before the user's token was indexed one: the old
        index is dropped and rebuilt from the notes in one transaction (a few seconds per 50k notes)."""
        columns = {r[1] for r in self.conn.execute("PRAGMA table_xinfo(notes)")}
        fts = self.conn.execute("SELECT sql FROM sqlite_master WHERE name = 'notes_fts'").fetchone()
        if "scope_token" in columns and fts is not None and "scope_token" in fts[0]:
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            if "scope_token" not in columns:
                self.conn.execute(SCOPE_COLUMN)
            for statement in (*(OLD_FTS if fts is not None else ()), *statements(FTS_SCHEMA)):
                self.conn.execute(statement)
            if fts is not None:
                self.conn.execute("INSERT INTO notes_fts(notes_fts) VALUES ('rebuild')")
                log.info("%s: rebuilt the full-text index with each note's user", self.path)
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise

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
            self._put_meta(c, key, value)

    # -- how far the derived vector index has followed (IndexBookkeeping) ----------
    def _meta_transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return self.transaction()

    @staticmethod
    def _put_meta(c: sqlite3.Connection, key: str, value: str) -> None:
        c.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    @staticmethod
    def _drop_meta(c: sqlite3.Connection, *keys: str) -> None:
        c.execute(f"DELETE FROM meta WHERE key IN ({','.join('?' * len(keys))})", keys)

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

    # -- writes -------------------------------------------------------------------
    def write(self, batch: WriteBatch) -> WriteResult:
        """Commit ``batch`` in one transaction (see :class:`~memkit.types.WriteBatch` for the order)."""
        try:
            return self._write(batch)
        finally:  # after the commit (or its failure): a scope read while it committed is not kept either
            self._scope_rows.clear()

    def _write(self, batch: WriteBatch) -> WriteResult:
        with self.transaction() as c:
            was_in_step = self.index_in_step()
            self._insert_notes(c, [note_row(n, e) for n, e in batch.insert])
            for note in batch.update:
                self._update_note(c, note)
            if batch.embeddings:
                c.executemany("UPDATE notes SET embedding = ? WHERE id = ?",
                              [(np.asarray(v, dtype=np.float32).tobytes(), nid) for nid, v in batch.embeddings.items()])
            added = self._insert_links(c, batch.link)
            removed = sum(self._delete_link(c, a, b, kind) for a, b, kind in batch.unlink)
            for note_id in batch.delete:
                c.execute("DELETE FROM links WHERE src = ? OR dst = ?", (note_id, note_id))
                c.execute("DELETE FROM notes WHERE id = ?", (note_id,))
            self._insert_events(c, batch.events)
            c.executemany("UPDATE history SET undone = 1 WHERE id = ?", [(i,) for i in batch.undone])
            if batch.counts_as_change:
                c.execute("INSERT INTO meta(key, value) VALUES ('changes', '1') "
                          "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1")
            if batch.defer_index is not None:
                self._defer_index(c, batch.defer_index, was_in_step)
        return WriteResult(links_added=added, links_removed=removed)

    def _insert_notes(self, c: sqlite3.Connection, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        cols = list(rows[0])
        sql = f"INSERT INTO notes ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
        try:
            c.executemany(sql, [tuple(r[k] for k in cols) for r in rows])
        except sqlite3.IntegrityError as exc:
            raise StoreError(f"cannot insert notes: {exc} (an id already exists?)") from None

    def _update_note(self, c: sqlite3.Connection, note: Note) -> None:
        row = note_row(note, None)
        for f in ("embedding", *_KEPT_ON_UPDATE):
            row.pop(f)
        cols = [k for k in row if k != "id"]
        cur = c.execute(
            f"UPDATE notes SET {', '.join(f'{k} = ?' for k in cols)} WHERE id = ?",
            (*(row[k] for k in cols), row["id"]),
        )
        if cur.rowcount == 0:
            raise NotFoundError(f"no note with id {row['id']!r}")

    @staticmethod
    def _insert_links(c: sqlite3.Connection, links: Iterable[Link]) -> int:
        rows = [(lk.src, lk.dst, lk.kind, lk.weight, to_iso(lk.created_at), lk.actor) for lk in links]
        before = c.total_changes
        c.executemany("INSERT OR IGNORE INTO links VALUES (?, ?, ?, ?, ?, ?)", rows)
        return c.total_changes - before

    @staticmethod
    def _delete_link(c: sqlite3.Connection, src: str, dst: str, kind: str | None = None) -> int:
        sql = "DELETE FROM links WHERE ((src = ? AND dst = ?) OR (src = ? AND dst = ?))"
        params: list[Any] = [src, dst, dst, src]
        if kind is not None:
            sql += " AND kind = ?"
            params.append(kind)
        return c.execute(sql, params).rowcount

    @staticmethod
    def _insert_events(c: sqlite3.Connection, events: Iterable[NewEvent]) -> None:
        rows = [
            (
                e.note_id,
                e.event,
                None if e.before is None else json.dumps(e.before, ensure_ascii=False, default=str),
                None if e.after is None else json.dumps(e.after, ensure_ascii=False, default=str),
                to_iso(e.at),
                e.actor,
                e.reason,
            )
            for e in events
        ]
        c.executemany(
            "INSERT INTO history(note_id, event, before, after, at, actor, reason) VALUES (?, ?, ?, ?, ?, ?, ?)", rows
        )

    def record_access(self, ids: Sequence[str], at: datetime) -> None:
        if not ids:
            return
        with self.transaction() as c:
            c.executemany(
                "UPDATE notes SET retrieval_count = retrieval_count + 1, last_accessed = ? WHERE id = ?",
                [(to_iso(at), i) for i in ids],
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
            rows += self.conn.execute(f"SELECT {NOTE_COLUMNS} FROM notes WHERE id IN ({marks})", chunk).fetchall()
        links = self._links_for([r[0] for r in rows])
        return {r[0]: row_note(r, links[r[0]]) for r in rows}

    def get(self, note_id: str) -> Note:
        found = self.get_many([note_id])
        if note_id not in found:
            raise NotFoundError(f"no note with id {note_id!r}")
        return found[note_id]

    def exists(self, note_id: str) -> bool:
        return self.conn.execute("SELECT 1 FROM notes WHERE id = ?", (note_id,)).fetchone() is not None

    def existing(self, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` are stored notes."""
        out: set[str] = set()
        for chunk in _chunks(list(dict.fromkeys(ids)), 400):
            marks = ",".join("?" * len(chunk))
            out.update(r[0] for r in self.conn.execute(f"SELECT id FROM notes WHERE id IN ({marks})", chunk))
        return out

    def of_user(self, ids: Iterable[str], user_id: str | None) -> set[str]:
        """Which of ``ids`` are stored notes of ``user_id`` (None: of no user)."""
        out: set[str] = set()
        for chunk in _chunks(list(dict.fromkeys(ids)), 400):
            marks = ",".join("?" * len(chunk))
            out.update(r[0] for r in self.conn.execute(
                f"SELECT id FROM notes WHERE id IN ({marks}) AND user_id IS ?", (*chunk, user_id)))
        return out

    def iter_notes(self, flt: Filter | None = None, batch: int = 500) -> Iterator[Note]:
        where, params = where_sql(flt) if flt else ("1", [])
        last = 0
        while True:
            rows = self.conn.execute(
                f"SELECT seq, {NOTE_COLUMNS} FROM notes WHERE seq > ? AND {where} ORDER BY seq LIMIT ?",
                (last, *params, batch),
            ).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            links = self._links_for([r[1] for r in rows])
            for r in rows:
                yield row_note(r[1:], links[r[1]])

    def nearest(self, vectors: np.ndarray, k: int, flt: Filter, max_rows: int | None
                ) -> list[list[tuple[str, float]]] | None:
        """Exact cosine search over the stored embeddings of the notes passing ``flt``.

        ``None`` when more than ``max_rows`` notes are in ``flt``'s scope (its validity aside): a scope that large
        is left to the vector index.  A scope's rows (ids, embeddings, validity) are kept in memory between
        searches (:class:`ScopeRows`) until the next write; the validity window is applied to them here.
        """
        vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        if max_rows is None:  # every passing note, however many: read now, keep nothing
            found = self._read_scope(flt, None)
        else:
            scope = flt.without_validity()
            found = self._scope_rows.get((scope.model_dump_json(), max_rows, self.changes()), lambda: self._read_scope(scope, max_rows))
        return None if found is None else found.nearest(vectors, k, flt)

    def _read_scope(self, flt: Filter, max_rows: int | None) -> ScopeVectors | None:
        """The notes passing ``flt`` that have an embedding; None when more than ``max_rows`` pass."""
        where, params = where_sql(flt)
        if max_rows is not None:
            n = self.conn.execute(
                f"SELECT count(*) FROM (SELECT 1 FROM notes WHERE {where} LIMIT ?)", (*params, max_rows + 1)
            ).fetchone()[0]
            if n > max_rows:
                return None
        return scope_vectors(self.conn.execute(
            f"SELECT id, embedding, valid_from_ts, valid_to_ts FROM notes WHERE {where} AND embedding IS NOT NULL",
            params).fetchall())

    def naming(self, owner: str, name: str, limit: int) -> list[str] | None:
        """Ids of the notes of ``owner`` (a user id, '' for none) whose content holds the word ``name``, when at
        most ``limit`` notes of the whole store hold it; None when more do (the name is not rare here)."""
        phrase = '"' + name.replace('"', '""') + '"'
        try:
            seqs = [r[0] for r in self.conn.execute(
                "SELECT rowid FROM notes_fts WHERE notes_fts MATCH ? LIMIT ?", (f"content: {phrase}", limit + 1))]
        except sqlite3.OperationalError as exc:
            raise StoreError(f"full-text search failed for {name!r}: {exc}") from None
        if len(seqs) > limit:
            return None
        where, params = where_sql(Filter(owner=owner))
        marks = ",".join("?" * len(seqs))
        return [r[0] for r in self.conn.execute(f"SELECT id FROM notes WHERE seq IN ({marks}) AND {where}",
                                                (*seqs, *params))]

    def lexical(self, words: Sequence[str], k: int, flt: Filter, extra_weight: float = 1.0) -> list[tuple[str, float]]:
        """BM25 over the FTS5 index of any of ``words`` (content, and the derived text at ``extra_weight``); higher
        is better."""
        query = fts_match(words, flt.scope.get("user_id"))
        if query is None:
            return []
        where, params = where_sql(flt, "n")
        rank = f"bm25(notes_fts, 1.0, {float(extra_weight)!r}, 0.0)"  # the user's token is never ranked
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
        """For notes with a session, the previous and next note of the same conversation (session, user and
        agent) by time."""
        out: dict[str, tuple[str | None, str | None]] = {}
        for nid in note_ids:
            row = self.conn.execute("SELECT session_id, valid_from_ts, seq, user_id, agent_id FROM notes WHERE id = ?",
                                    (nid,)).fetchone()
            if row is None or row[0] is None:
                continue
            session, ts, seq, user, agent = row
            prev = self.conn.execute(
                f"SELECT id FROM notes WHERE session_id = ? AND {SAME_OWNER} "
                "AND (valid_from_ts < ? OR (valid_from_ts = ? AND seq < ?)) ORDER BY valid_from_ts DESC, seq DESC LIMIT 1",
                (session, user, agent, ts, ts, seq),
            ).fetchone()
            nxt = self.conn.execute(
                f"SELECT id FROM notes WHERE session_id = ? AND {SAME_OWNER} "
                "AND (valid_from_ts > ? OR (valid_from_ts = ? AND seq > ?)) ORDER BY valid_from_ts, seq LIMIT 1",
                (session, user, agent, ts, ts, seq),
            ).fetchone()
            out[nid] = (prev[0] if prev else None, nxt[0] if nxt else None)
        return out

    def last_in_session(self, session_id: str, *, user_id: str | None, agent_id: str | None
                        ) -> tuple[str, float] | None:
        """The latest note of one conversation: this session of this user and agent (None matches no user/agent)."""
        row = self.conn.execute(
            f"SELECT id, valid_from_ts FROM notes WHERE session_id = ? AND {SAME_OWNER} "
            "ORDER BY valid_from_ts DESC, seq DESC LIMIT 1",
            (session_id, user_id, agent_id),
        ).fetchone()
        return None if row is None else (row[0], row[1])

    def repair_sequence_links(self) -> list[Link]:
        """Delete the sequence links that join notes of different users or agents, once per store.

        Earlier versions chained the turns of one session id whoever wrote them, so two users sharing a
        session id saw each other's notes through ``related``.  Each removal is an ``unlink`` history event;
        the meta key ``sequence_scope`` records that the store was checked, so later opens do not scan.
        """
        if self.get_meta("sequence_scope") == "1":
            return []
        with self.transaction() as c:
            if self.get_meta("sequence_scope") == "1":  # another opener got here first
                return []
            rows = c.execute(
                "SELECT l.src, l.dst, l.kind, l.weight, l.created_at, l.actor FROM links l "
                "JOIN notes a ON a.id = l.src JOIN notes b ON b.id = l.dst WHERE l.kind = 'sequence' "
                "AND (a.user_id IS NOT b.user_id OR a.agent_id IS NOT b.agent_id)"
            ).fetchall()
            removed = [Link.model_construct(src=s, dst=d, kind=k, weight=w, created_at=from_iso(t), actor=a)
                       for s, d, k, w, t, a in rows]
            if removed:
                c.executemany("DELETE FROM links WHERE src = ? AND dst = ? AND kind = 'sequence'",
                              [(lk.src, lk.dst) for lk in removed])
                now = datetime.now(timezone.utc)
                self._insert_events(c, [
                    NewEvent(lk.src, "unlink", {"dst": lk.dst, "kind": lk.kind, "weight": lk.weight}, None, now,
                             "memkit", "a session link joined notes of different users or agents (repaired on open)")
                    for lk in removed])
                c.execute("INSERT INTO meta(key, value) VALUES ('changes', '1') "
                          "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1")
            c.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('sequence_scope', '1')")
        if removed:
            log.warning("%s: removed %d session link(s) that joined notes of different users or agents (each is an "
                        "'unlink' event in the notes' history)", self.path, len(removed))
        return removed

    def all_links(self) -> list[Link]:
        return [
            Link.model_construct(src=s, dst=d, kind=k, weight=w, created_at=from_iso(t), actor=a)
            for s, d, k, w, t, a in self.conn.execute("SELECT src, dst, kind, weight, created_at, actor FROM links")
        ]

    def links_of(self, note_id: str) -> list[Link]:
        return [
            Link.model_construct(src=s, dst=d, kind=k, weight=w, created_at=from_iso(t), actor=a)
            for s, d, k, w, t, a in self.conn.execute(
                "SELECT src, dst, kind, weight, created_at, actor FROM links WHERE src = ? OR dst = ?",
                (note_id, note_id),
            )
        ]

    def within(self, note_id: str, depth: int, user_id: str | None) -> dict[str, int]:
        rows = self.conn.execute(WITHIN_SQL, {"start": note_id, "depth": depth, "user": user_id}).fetchall()
        return dict(rows)

    def history(self, note_id: str) -> list[HistoryEvent]:
        return [self._event(r) for r in self.conn.execute(
            "SELECT id, note_id, event, before, after, at, actor, reason, undone FROM history "
            "WHERE note_id = ? ORDER BY id", (note_id,))]

    def iter_history(self) -> Iterator[HistoryEvent]:
        rows = self.conn.execute(
            "SELECT id, note_id, event, before, after, at, actor, reason, undone FROM history ORDER BY id").fetchall()
        return (self._event(r) for r in rows)

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
            at=from_iso(r[5]), actor=r[6], reason=r[7], undone=bool(r[8]),
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
        where, params = where_sql(flt) if flt is not None else ("1", [])
        out: dict[str, Candidate] = {}
        for chunk in _chunks(list(ids), 400):
            marks = ",".join("?" * len(chunk))
            for nid, blob, content, speaker, ts, session in self.conn.execute(
                f"SELECT id, embedding, content, json_extract(metadata, '$.speaker'), valid_from_ts, session_id "
                f"FROM notes WHERE id IN ({marks}) AND {where}", (*chunk, *params)
            ):
                out[nid] = Candidate(
                    embedding=np.frombuffer(blob, dtype=np.float32) if blob is not None else None,
                    content=content, speaker=speaker if isinstance(speaker, str) else content_speaker(content),
                    valid_from_ts=ts, session_id=session,
                )
        return out

    def speakers(self, flt: Filter) -> set[str]:
        """The distinct speakers of the notes passing ``flt``: ``metadata.speaker``, or for a note without one,
        who says it when it is a turn stored as plain text (:func:`~memkit.text.content_speaker`)."""
        where, params = where_sql(flt.without_validity())
        rows = self.conn.execute(
            f"SELECT DISTINCT json_extract(metadata, '$.speaker'), CASE WHEN json_extract(metadata, '$.speaker') IS NULL AND "
            f"instr(substr(content, 1, 48), ': ') > 1 THEN substr(content, 1, instr(content, ': ') + 2) END "
            f"FROM notes WHERE {where}", params)
        out = set()
        for given, head in rows:
            said = given if isinstance(given, str) else content_speaker(head) if head is not None else None
            if said:
                out.add(said)
        return out

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
