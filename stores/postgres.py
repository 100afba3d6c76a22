"""A note store in PostgreSQL (with pgvector), shared by every process that opens it.

The notes (with their embeddings, in a pgvector column with an HNSW index once the dimension is known), links,
history and metadata live in one schema (``schema_name``) of a database, so several memories can share a
database and many processes one memory.  Every write is one :class:`~memkit.types.WriteBatch` in one
transaction, which first takes the row lock of ``counters``: writers of all processes go one at a time, and a
crash or a lost connection leaves nothing half-written.  BM25 is PostgreSQL full-text search scored as SQLite
FTS5's ``bm25()`` (both stores rank alike); the schema, migrations and dialect are in
:mod:`memkit.stores.postgres_sql`.

One connection per store (autocommit for reads, a transaction per write), behind a lock; a connection that
broke is replaced on the next call.  The password of the URL is never shown: messages name the server by its
URL with the password masked.
"""

from __future__ import annotations

import logging
import math
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from pydantic import Field, field_validator

from memkit.config import StoreConfig, masked_url
from memkit.errors import ConfigError, EmbeddingMismatchError, MissingDependencyError, NotFoundError, StoreError
from memkit.filters import Filter
from memkit.stores.bookkeeping import IndexBookkeeping
from memkit.stores.ids import IdPrefixes
from memkit.stores.postgres_sql import (
    COUNTS_SQL,
    EXACT_BELOW,
    HISTORY_SQL,
    INSERT_ACCESS,
    INSERT_EVENT,
    INSERT_LINKS,
    INSERT_ROWS,
    LINKED_SQL,
    NOTE_COLUMNS,
    NOTES_FROM,
    RECORD_ACCESS,
    SAME_OWNER,
    SCHEMA_VERSION,
    SPEAKER,
    SPEAKERS_SQL,
    TS_CONFIG,
    UPDATE_NOTE,
    WITHIN_SQL,
    QmarkReader,
    SchemaTooNew,
    bm25_search,
    embeddings_sql,
    event_params,
    fts_text,
    insert_notes_sql,
    migrate,
    nearest_sql,
    note_params,
    register_vector,
    row_event,
    row_note,
    schema_version,
    secrets_of,
    update_params,
    vector_schema,
    where_sql,
)
from memkit.stores.scope_rows import ScopeRows, ScopeVectors, scope_vectors
from memkit.text import content_speaker
from memkit.types import Candidate, HistoryEvent, Link, Note, WriteBatch, WriteResult

__all__ = ["PostgresStore", "PostgresStoreConfig", "SCHEMA_VERSION"]

log = logging.getLogger(__name__)
T = TypeVar("T")
URL_ENV = "MEMKIT_POSTGRES_URL"
_SETUP_LOCK = 0x6D656D6B6974  # pg_advisory_xact_lock key ("memkit") held while a schema is created or migrated
_IDENT = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_NOTES_GENERATION = "notes_generation"  # meta: moves on at every write of notes, by any process (kept scopes)
_UPSERT_META = "INSERT INTO meta VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = excluded.value"


class PostgresStoreConfig(StoreConfig):
    """``[store]`` of ``kind = "postgres"``: a schema of a PostgreSQL database with pgvector."""

    kind: str = Field(default="postgres", description="'postgres': a schema of a PostgreSQL database (pgvector)")
    url: str | None = Field(
        default=None, repr=False,
        description="a libpq URL (postgresql://user:password@host:5432/db, or ...?host=/socket/dir); None: the "
        f"environment variable {URL_ENV} (which keeps the password out of the memory's config file)",
    )
    schema_name: str = Field(
        default="memkit", description="the PostgreSQL schema of this memory (memories under other schemas of one "
        "database never see each other)")
    hnsw_ef_search: int = Field(default=100, ge=1, le=1000, description="pgvector's hnsw.ef_search for searches")
    connect_timeout_s: float = Field(default=10, gt=0, description="seconds to wait for the server to answer")

    @field_validator("schema_name")
    @classmethod
    def _plain_identifier(cls, value: str) -> str:
        if not _IDENT.fullmatch(value) or value.startswith("pg_"):
            raise ValueError(f"{value!r} is not a plain PostgreSQL schema name: 1-63 lowercase letters, digits or "
                             "'_', starting with a letter or '_' (and not 'pg_')")
        return value


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError:
        raise MissingDependencyError("psycopg", extra="postgres", purpose="the postgres note store") from None
    return psycopg


def _settings(config: Any) -> tuple[str, PostgresStoreConfig]:
    """The URL (the config's, else ``$MEMKIT_POSTGRES_URL``) and the options of the store ``config`` names."""
    cfg = config if isinstance(config, PostgresStoreConfig) else PostgresStoreConfig()
    url = cfg.url or os.environ.get(URL_ENV)
    if not url:
        raise ConfigError(f"the postgres note store needs store.url (a libpq URL such as "
                          f"postgresql://user@host:5432/db) or the environment variable {URL_ENV}")
    return url, cfg


def _storable(ids: Iterable[str]) -> list[str]:
    """``ids`` once each, without those PostgreSQL text cannot hold (a NUL character): no note has such an id."""
    return [i for i in dict.fromkeys(ids) if isinstance(i, str) and "\x00" not in i]


def _stale_plan(exc: BaseException) -> bool:
    """A prepared statement's result type changed (``check_embedder`` gives the embedding column its dimension
    once, in whichever process embeds first): the statement is prepared again."""
    return "cached plan must not change result type" in str(exc)


def _nul(*values: str | None) -> bool:
    return any(v is not None and "\x00" in v for v in values)


class PostgresStore(IdPrefixes, IndexBookkeeping):
    """Notes, links, history and the BM25 statistics in one schema of a PostgreSQL database."""

    shared = True  # many processes may use it at once
    config_class = PostgresStoreConfig

    @classmethod
    def open(cls, folder: Path | None = None, config: Any = None) -> PostgresStore:
        """The store configured by ``config`` (``folder``, the memory's own, holds only its config)."""
        return cls(config)

    @classmethod
    def found_in(cls, folder: Path | None = None, config: Any = None) -> bool:
        """Whether the configured schema holds a memkit store already (nothing is created)."""
        probe = cls.__new__(cls)
        probe._init_fields(*_settings(config))
        conn = probe._connect()
        try:
            return schema_version(conn, probe.schema) is not None
        except probe._pg.Error as exc:
            raise StoreError(probe._message(f"reading the note store in schema {probe.schema!r}", exc)) from None
        finally:
            conn.close()

    def __init__(self, config: Any = None):
        self._init_fields(*_settings(config))
        conn = self._connect()
        try:
            self._setup(conn)
            self._configure(conn)
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def _init_fields(self, url: str, config: PostgresStoreConfig) -> None:
        self._pg = _psycopg()
        self._url, self.config, self.schema = url, config, config.schema_name
        self._secrets = secrets_of(url)
        self.where = self._scrub(masked_url(url))
        self._lock = threading.RLock()
        self._scope_rows = ScopeRows()  # scopes' embeddings between exact searches (see nearest)
        self._conn: Any = None
        self._in_tx = self._closed = False
        self._vector_schema: str | None = None
        self.conn = QmarkReader(lambda sql, params: self._rows(sql, params))  # what IdPrefixes reads through

    # -- connections ------------------------------------------------------------------------------------------
    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _message(self, doing: str, exc: BaseException) -> str:
        what = self._scrub(str(exc).strip()) or type(exc).__name__
        return f"{doing} in the PostgreSQL database at {self.where} failed: {what}"

    def _unreachable(self, exc: BaseException, writing: bool = False) -> str:
        what = self._scrub(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
        kept = (" The change was not confirmed: PostgreSQL keeps a transaction whole or not at all, so nothing of "
                "it is half-written." if writing else "")
        return (f"the PostgreSQL server at {self.where} is unreachable ({what}); the note store in schema "
                f"{self.schema!r} cannot be used until it answers.{kept}")

    def _connect(self) -> Any:
        """A new autocommit connection, in UTC (psycopg then reads timestamps as UTC datetimes)."""
        try:
            conn = self._pg.connect(self._url, autocommit=True,  # statements run 5 times are prepared: no planning
                                    connect_timeout=max(2, math.ceil(self.config.connect_timeout_s)))
        except self._pg.Error as exc:
            raise StoreError(self._unreachable(exc)) from None
        try:
            conn.execute("SET TimeZone TO 'UTC'")
            # prepared statements skip parsing; each run is still planned for its parameters (a generic plan of
            # the scoped searches, chosen after five runs, was slower: p50 28 ms against 19 at 10k notes)
            conn.execute("SET plan_cache_mode = force_custom_plan")
        except self._pg.Error as exc:
            conn.close()
            raise StoreError(self._unreachable(exc)) from None
        return conn

    def _setup(self, conn: Any) -> None:
        """Create pgvector, the schema and its tables where missing, and migrate an older schema, in one
        transaction under an advisory lock (two processes opening a new database at once do not collide)."""
        try:
            self._vector_schema = vector_schema(conn)
            if self._vector_schema is not None and schema_version(conn, self.schema) == SCHEMA_VERSION:
                return
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SETUP_LOCK,))
                if vector_schema(conn) is None:
                    try:
                        with conn.transaction():
                            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
                    except self._pg.Error as exc:
                        raise StoreError(self._message("creating the pgvector extension (CREATE EXTENSION vector; "
                                                       "the note store needs it)", exc)) from None
                self._vector_schema = vector_schema(conn)
                if migrate(conn, self.schema, self._vector_schema) is None:
                    log.info("created the memkit note store in schema %r at %s", self.schema, self.where)
        except SchemaTooNew as exc:
            raise StoreError(f"the note store in schema {self.schema!r} at {self.where} has schema version "
                             f"{exc.args[0]}; this memkit reads version {SCHEMA_VERSION} (upgrade memkit to open it)"
                             ) from None
        except self._pg.OperationalError as exc:
            raise StoreError(self._unreachable(exc)) from None
        except self._pg.Error as exc:
            raise StoreError(self._message(f"opening the note store in schema {self.schema!r}", exc)) from None

    def _configure(self, conn: Any) -> None:
        """Point the connection at the schema and teach it pgvector's ``vector`` (numpy float32 both ways)."""
        try:
            conn.execute(f'SET search_path TO "{self.schema}", "{self._vector_schema}"')
            register_vector(conn)
        except self._pg.Error as exc:
            raise StoreError(self._unreachable(exc)) from None

    def _live(self) -> Any:
        if self._closed:
            raise StoreError(f"the note store in schema {self.schema!r} at {self.where} is closed")
        if self._conn is None or self._conn.closed or self._conn.broken:  # broken by an earlier call: one new try
            self._drop()
            conn = self._connect()
            try:
                self._configure(conn)
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except self._pg.Error:  # a broken connection has nothing left to close
                log.debug("closing a broken connection to %s failed", self.where)

    def _read(self, fn: Callable[[Any], T], doing: str = "reading the note store") -> T:
        """``fn(connection)``, once more on a new connection when the one it had broke (a read is safe to retry)."""
        with self._lock:
            if self._in_tx:  # inside a write: its transaction handles failures
                return fn(self._conn)
            for attempt in (0, 1):
                conn = self._live()
                try:
                    return fn(conn)
                except self._pg.Error as exc:
                    if not attempt and _stale_plan(exc):  # the embedding column got its dimension meanwhile
                        conn.execute("DEALLOCATE ALL")  # psycopg forgets its prepared statements with the server's
                        continue
                    if not (conn.closed or conn.broken):
                        raise StoreError(self._message(doing, exc)) from None
                    self._drop()
                    if attempt:
                        raise StoreError(self._unreachable(exc)) from None
            raise AssertionError("unreachable")  # pragma: no cover

    def _rows(self, sql: str, params: Any = (), binary: bool = False) -> list[Any]:
        return self._read(lambda c: c.execute(sql, params, binary=binary).fetchall())

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        """One write transaction (joined when nested), which first takes the writers' row lock."""
        with self._lock:
            if self._in_tx:
                yield self._conn
                return
            conn = self._live()
            try:
                with conn.transaction():
                    self._in_tx = True
                    try:
                        conn.execute("SELECT 1 FROM counters FOR UPDATE")  # one writer at a time, all processes
                        yield conn
                    finally:
                        self._in_tx = False
            except self._pg.Error as exc:
                if conn.closed or conn.broken:
                    self._drop()
                    raise StoreError(self._unreachable(exc, writing=True)) from None
                raise StoreError(self._message("writing to the note store (nothing of this change was kept)",
                                               exc)) from None

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._drop()

    # -- metadata and bookkeeping -------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        rows = self._rows("SELECT value FROM meta WHERE key = %s", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        with self._transaction() as c:
            self._put_meta(c, key, value)

    # how far the derived vector index has followed: IndexBookkeeping
    def _meta_transaction(self) -> AbstractContextManager[Any]:
        return self._transaction()

    @staticmethod
    def _put_meta(c: Any, key: str, value: str) -> None:
        c.execute(_UPSERT_META, (key, value))

    @staticmethod
    def _drop_meta(c: Any, *keys: str) -> None:
        c.execute("DELETE FROM meta WHERE key = ANY(%s)", (list(keys),))

    def check_embedder(self, name: str, dim: int | None) -> None:
        """Record the embedder on first use (and give the embeddings their dimension and an HNSW index); a
        different one later is an error, not silent corruption."""
        stored_name, stored_dim = self.get_meta("embedder"), self.get_meta("dim")
        if stored_name is None and dim is not None:
            with self._transaction() as c:
                stored_name, stored_dim = self.get_meta("embedder"), self.get_meta("dim")  # another process first?
                if stored_name is None:
                    c.cursor().executemany(_UPSERT_META, [("embedder", name), ("dim", str(dim))])
                    self._index_embeddings(c, int(dim))
                    return
        if stored_name is not None and (stored_name != name or (
                dim is not None and stored_dim is not None and int(stored_dim) != dim)):
            raise EmbeddingMismatchError(
                f"the store in schema {self.schema!r} at {self.where} was built with embedder {stored_name!r} (dim "
                f"{stored_dim}); it is now opened with {name!r}" + (f" (dim {dim})" if dim is not None else "")
                + ". Open it with the same embedder, or export and import into a new store.")

    def _index_embeddings(self, c: Any, dim: int) -> None:
        c.execute(f"ALTER TABLE notes ALTER COLUMN embedding TYPE vector({dim})")
        try:
            with c.transaction():
                c.execute("CREATE INDEX IF NOT EXISTS notes_embedding ON notes USING hnsw (embedding vector_cosine_ops)")
        except self._pg.Error as exc:  # pgvector's HNSW takes up to 2000 dimensions: searches are exact then
            if c.closed or c.broken:
                raise
            log.warning("no HNSW index on the embeddings of %s (schema %r): %s; nearest() searches exactly",
                        self.where, self.schema, self._scrub(str(exc)))

    # -- writes -------------------------------------------------------------------------------------------------
    def write(self, batch: WriteBatch) -> WriteResult:
        """Commit ``batch`` in one transaction (see :class:`~memkit.types.WriteBatch` for the order)."""
        try:
            return self._write(batch)
        finally:  # this process's kept scopes go at once; other processes see the counter move
            self._scope_rows.clear()

    def _write(self, batch: WriteBatch) -> WriteResult:
        with self._transaction() as c:
            was_in_step = self.index_in_step()
            try:
                for i in range(0, len(batch.insert), INSERT_ROWS):  # the triggers run once per statement
                    chunk = batch.insert[i:i + INSERT_ROWS]
                    c.execute(insert_notes_sql(len(chunk)), [p for n, e in chunk for p in note_params(n, e)])
                used = [n for n, _ in batch.insert if n.retrieval_count or n.last_accessed is not None]
                if used:
                    c.execute(INSERT_ACCESS, ([n.id for n in used], [n.retrieval_count for n in used],
                                              [n.last_accessed for n in used]))
            except self._pg.errors.UniqueViolation as exc:
                raise StoreError(f"cannot insert notes: {self._scrub(str(exc))} (an id already exists?)") from None
            for note in batch.update:
                if c.execute(UPDATE_NOTE, update_params(note)).rowcount == 0:
                    raise NotFoundError(f"no note with id {note.id!r}")
            new = list(batch.embeddings.items())
            for i in range(0, len(new), INSERT_ROWS):
                chunk = new[i:i + INSERT_ROWS]
                c.execute(embeddings_sql(len(chunk)), [p for nid, v in chunk for p in (nid, np.asarray(v, np.float32))])
            added = self._insert_links(c, batch.link)
            removed = sum(self._delete_link(c, a, b, kind) for a, b, kind in batch.unlink)
            if batch.delete:
                gone = list(batch.delete)
                c.execute("DELETE FROM links WHERE src = ANY(%s) OR dst = ANY(%s)", (gone, gone))
                c.execute("DELETE FROM notes WHERE id = ANY(%s)", (gone,))
            if batch.events:
                c.cursor().executemany(INSERT_EVENT, [event_params(e) for e in batch.events])
            if batch.undone:
                c.execute("UPDATE history SET undone = true WHERE id = ANY(%s)", ([int(i) for i in batch.undone],))
            if batch.counts_as_change:
                c.execute("INSERT INTO meta VALUES ('changes', '1') ON CONFLICT (key) DO UPDATE "
                          "SET value = (meta.value::bigint + 1)::text")
            if batch.insert or batch.update or batch.embeddings or batch.delete:  # what kept scopes hold
                c.execute(f"INSERT INTO meta VALUES ('{_NOTES_GENERATION}', '1') ON CONFLICT (key) DO UPDATE "
                          "SET value = (meta.value::bigint + 1)::text")
            if batch.defer_index is not None:
                self._defer_index(c, batch.defer_index, was_in_step)
        return WriteResult(links_added=added, links_removed=removed)

    @staticmethod
    def _insert_links(c: Any, links: Iterable[Link]) -> int:
        """Add ``links`` (an existing one, or one twice, is kept as it was); how many were new."""
        links = list(links)
        if not links:
            return 0
        columns = [[lk.src for lk in links], [lk.dst for lk in links], [lk.kind for lk in links],
                   [float(lk.weight) for lk in links], [lk.created_at for lk in links], [lk.actor for lk in links]]
        return int(c.execute(INSERT_LINKS, columns).rowcount)

    @staticmethod
    def _delete_link(c: Any, src: str, dst: str, kind: str | None = None) -> int:
        sql = "DELETE FROM links WHERE ((src = %s AND dst = %s) OR (src = %s AND dst = %s))"
        params: list[Any] = [src, dst, dst, src]
        if kind is not None:
            sql += " AND kind = %s"
            params.append(kind)
        return int(c.execute(sql, params).rowcount)

    def record_access(self, ids: Sequence[str], at: datetime) -> None:
        """Count one retrieval of each of ``ids`` (an id given twice, twice) and set its ``last_accessed``."""
        ids = [i for i in ids if not _nul(i)]
        if not ids:
            return

        # not a change of the memory: no writers' lock (a search never waits for another process's add_many),
        # and no wait for the disk (a crash may lose the last counts, never a note)
        def run(c: Any) -> None:
            with c.transaction():
                c.execute("SELECT set_config('synchronous_commit', 'off', true)")
                c.execute(RECORD_ACCESS, (at.astimezone(timezone.utc), ids))

        self._read(run, "recording retrievals")

    # -- notes --------------------------------------------------------------------------------------------------
    @staticmethod
    def _links_for(c: Any, ids: Sequence[str]) -> dict[str, list[str]]:
        """Each note's linked notes, in id order (as SQLite's UNION gives them)."""
        out: dict[str, list[str]] = {i: [] for i in ids}
        if ids:
            for src, dst in c.execute(LINKED_SQL, (ids, ids)):
                out[src].append(dst)
        return out

    def _notes(self, sql: str, params: Sequence[Any], at: int = 0) -> list[Any]:
        """The rows of ``sql``, whose note columns start at ``at``, each with its :class:`Note`: ``(row, note)``."""
        def run(c: Any) -> list[Any]:
            rows = c.execute(sql, params).fetchall()
            links = self._links_for(c, [r[at] for r in rows])
            return [(r, row_note(r[at:], links[r[at]])) for r in rows]

        return self._read(run)

    def get_many(self, ids: Sequence[str]) -> dict[str, Note]:
        """The notes that exist among ``ids`` (missing ids are left out)."""
        ids = _storable(ids)
        found = self._notes(f"SELECT {NOTE_COLUMNS} FROM {NOTES_FROM} WHERE n.id = ANY(%s) ORDER BY n.id", (ids,)) if ids else []
        return {n.id: n for _, n in found}

    def get(self, note_id: str) -> Note:
        found = self.get_many([note_id])
        if note_id not in found:
            raise NotFoundError(f"no note with id {note_id!r}")
        return found[note_id]

    def exists(self, note_id: str) -> bool:
        return bool(self.existing([note_id]))

    def existing(self, ids: Sequence[str]) -> set[str]:
        ids = _storable(ids)
        return {r[0] for r in self._rows("SELECT id FROM notes WHERE id = ANY(%s)", (ids,))} if ids else set()

    def of_user(self, ids: Iterable[str], user_id: str | None) -> set[str]:
        """Which of ``ids`` are stored notes of ``user_id`` (None: of no user)."""
        ids = _storable(ids)
        if not ids or _nul(user_id):
            return set()
        return {r[0] for r in self._rows("SELECT id FROM notes WHERE id = ANY(%s) AND user_id IS NOT DISTINCT FROM %s",
                                         (ids, user_id))}

    def iter_notes(self, flt: Filter | None = None, batch: int = 500) -> Iterator[Note]:
        """The notes passing ``flt``, in insertion order (read ``batch`` at a time)."""
        where, params = where_sql(flt, "n") if flt else ("true", [])
        last = 0
        while True:
            found = self._notes(f"SELECT n.seq, {NOTE_COLUMNS} FROM {NOTES_FROM} WHERE n.seq > %s AND {where} "
                                "ORDER BY n.seq LIMIT %s", (last, *params, batch), at=1)
            if not found:
                return
            last = found[-1][0][0]
            yield from (note for _, note in found)

    def count(self) -> int:
        return int(self._rows("SELECT docs FROM counters")[0][0])

    def counts(self) -> dict[str, int]:
        row = self._rows(COUNTS_SQL, (datetime.now(timezone.utc).timestamp(),))[0]
        return dict(zip(("notes", "current_notes", "links", "history_events", "users"), map(int, row), strict=True))

    def versions(self) -> dict[str, int]:
        return dict(self._rows("SELECT id, version FROM notes ORDER BY seq"))

    def last_in_session(self, session_id: str, *, user_id: str | None, agent_id: str | None
                        ) -> tuple[str, float] | None:
        """The latest note of one conversation: this session of this user and agent (None matches no user/agent)."""
        if _nul(session_id, user_id, agent_id):
            return None
        rows = self._rows(f"SELECT id, valid_from_ts FROM notes WHERE session_id = %s AND {SAME_OWNER} "
                          "ORDER BY valid_from_ts DESC, seq DESC LIMIT 1", (session_id, user_id, agent_id))
        return (rows[0][0], float(rows[0][1])) if rows else None

    def resolve_id(self, prefix: str, *, deleted: bool = False) -> str:
        if _nul(prefix):  # no id holds one (PostgreSQL text cannot)
            raise NotFoundError(f"no note with id {prefix!r}")
        return super().resolve_id(prefix, deleted=deleted)

    # -- links and history ----------------------------------------------------------------------------------------
    def _links(self, where: str = "true", params: Sequence[Any] = ()) -> list[Link]:
        rows = self._rows(f"SELECT src, dst, kind, weight, created_at, actor FROM links WHERE {where} ORDER BY seq",
                          params)
        return [Link.model_construct(src=s, dst=d, kind=k, weight=w, created_at=t, actor=a) for s, d, k, w, t, a in rows]

    def all_links(self) -> list[Link]:
        return self._links()

    def links_of(self, note_id: str) -> list[Link]:
        return [] if _nul(note_id) else self._links("src = %s OR dst = %s", (note_id, note_id))

    def within(self, note_id: str, depth: int, user_id: str | None) -> dict[str, int]:
        """Every note reachable from ``note_id`` in at most ``depth`` hops along links (either way), entering only
        notes of ``user_id`` (None: of no user), at its shortest distance; the start left out (one query)."""
        if depth < 1 or _nul(note_id, user_id):
            return {}
        rows = self._rows(WITHIN_SQL, {"start": note_id, "depth": int(depth), "user": user_id})
        return {nid: int(d) for nid, d in rows}

    def history(self, note_id: str) -> list[HistoryEvent]:
        return [] if _nul(note_id) else [row_event(r) for r in self._rows(
            f"{HISTORY_SQL} WHERE note_id = %s ORDER BY id", (note_id,))]

    def iter_history(self, batch: int = 1000) -> Iterator[HistoryEvent]:
        """Every history event of the store (deleted notes' too), oldest first."""
        last = 0
        while rows := self._rows(f"{HISTORY_SQL} WHERE id > %s ORDER BY id LIMIT %s", (last, batch)):
            last = rows[-1][0]
            yield from (row_event(r) for r in rows)

    def event(self, event_id: int) -> HistoryEvent:
        rows = self._rows(f"{HISTORY_SQL} WHERE id = %s", (int(event_id),))
        if not rows:
            raise NotFoundError(f"no history event with id {event_id}")
        return row_event(rows[0])

    # -- search features ---------------------------------------------------------------------------------------------
    def embeddings(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        ids = _storable(ids)
        return dict(self._rows("SELECT id, embedding FROM notes WHERE id = ANY(%s) AND embedding IS NOT NULL "
                               "ORDER BY id", (ids,), binary=True)) if ids else {}

    def nearest(self, vectors: np.ndarray, k: int, flt: Filter, max_rows: int | None
                ) -> list[list[tuple[str, float]]] | None:
        """For each vector, the ``k`` nearest notes passing ``flt`` by cosine similarity, best first.

        With ``max_rows``: exact, or None when more than ``max_rows`` notes pass (left to the vector index).  With
        ``max_rows=None``: exact when at most :data:`EXACT_BELOW` notes pass, else by the HNSW index, completed by
        an exact pass when the index came back short (pgvector filters after its scan, so a selective filter
        leaves fewer than ``k`` of the candidates it looked at).
        """
        vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        if max_rows is not None and not self._in_tx:  # a scope's rows, kept until a write of notes anywhere
            scope = flt.without_validity()
            key = (scope.model_dump_json(), max_rows, self.get_meta(_NOTES_GENERATION))
            found = self._scope_rows.get(key, lambda: self._read_scope(scope, max_rows))
            return None if found is None else found.nearest(vectors, k, flt)
        where, params = where_sql(flt, "n")
        limit, k = (max_rows if max_rows is not None else EXACT_BELOW), max(k, 0)
        scoped, exact, approx = nearest_sql(where, max_rows)

        def run(c: Any) -> list[list[tuple[str, float]]] | None:
            def search(sql: str, v: np.ndarray) -> list[tuple[str, float]]:
                return [(i, float(s)) for i, s in c.execute(sql, (v, *params, v, k)).fetchall()]

            out: list[list[tuple[str, float]]] = []
            for v in vectors:
                rows = c.execute(scoped, (*params, limit + 1, v, limit, v, k)).fetchall()
                if rows[0][0] > limit:
                    break
                out.append([(i, float(sim)) for _, i, sim in rows if i is not None])
            else:
                return out
            if max_rows is not None:
                return None  # more notes pass than max_rows: left to the vector index
            out = []
            with c.transaction():
                c.execute("SELECT set_config('hnsw.ef_search', %s, true)",
                          (str(min(1000, max(self.config.hnsw_ef_search, k))),))
                for v in vectors:
                    hits = search(approx, v)
                    out.append(hits if len(hits) >= k else search(exact, v))  # more than len(hits) notes pass
            return out

        return self._read(run, "searching the note store")

    def _read_scope(self, flt: Filter, max_rows: int) -> ScopeVectors | None:
        """The notes passing ``flt`` that have an embedding, in insertion order; None when more than ``max_rows``
        pass."""
        where, params = where_sql(flt, "n")

        def run(c: Any) -> ScopeVectors | None:
            n = c.execute(f"SELECT count(*) FROM (SELECT 1 FROM notes n WHERE {where} LIMIT %s) s",
                          (*params, max_rows + 1)).fetchone()[0]
            if n > max_rows:
                return None
            return scope_vectors(c.execute(
                f"SELECT n.id, n.embedding, n.valid_from_ts, n.valid_to_ts FROM notes n WHERE {where} "
                "AND n.embedding IS NOT NULL ORDER BY n.seq", params, binary=True).fetchall())

        return self._read(run, "searching the note store")

    def lexical(self, words: Sequence[str], k: int, flt: Filter, extra_weight: float = 1.0) -> list[tuple[str, float]]:
        """BM25 of the notes passing ``flt`` holding any of ``words`` (content, and the derived text at
        ``extra_weight``), as SQLite FTS5's ``bm25()`` scores it; higher is better."""
        texts = [fts_text(w)[0] for w in words]
        if k <= 0 or not any(texts):
            return []
        return self._read(lambda c: bm25_search(c, texts, k, flt, extra_weight), "full-text search")

    def naming(self, owner: str, name: str, limit: int) -> list[str] | None:
        """Ids of the notes of ``owner`` (a user id, '' for none) whose content holds the word ``name``, when at
        most ``limit`` notes of the whole store hold it; None when more do (the name is not rare here)."""
        text = fts_text(name)[0]
        if not text:
            return []

        def run(c: Any) -> list[int]:
            held = c.execute(f"SELECT min(coalesce(t.docs, 0)) FROM unnest(tsvector_to_array(to_tsvector("
                             f"'{TS_CONFIG}', %s))) u(lexeme) LEFT JOIN fts_terms t ON t.term = u.lexeme",
                             (text,)).fetchone()[0]
            if not held:  # a word of it is in no note (what most new names are): one look at the term counts
                return []
            # with a LIMIT the planner likes a sequential scan that stops early; for a rare name it reads the
            # whole table (15 ms at 2k notes), where the full-text index answers in a fraction of a millisecond
            with c.transaction():
                c.execute("SELECT set_config('enable_seqscan', 'off', true)")
                return [r[0] for r in c.execute(f"SELECT seq FROM notes WHERE content_tsv @@ phraseto_tsquery("
                                                 f"'{TS_CONFIG}', %s) LIMIT %s", (text, limit + 1))]

        seqs = self._read(run, "full-text search")
        if len(seqs) > limit:
            return None
        where, params = where_sql(Filter(owner=owner), "n")
        return [r[0] for r in self._rows(f"SELECT n.id FROM notes n WHERE n.seq = ANY(%s) AND {where} ORDER BY n.seq",
                                         (seqs, *params))] if seqs else []

    def candidates(self, ids: Sequence[str], flt: Filter | None = None) -> dict[str, Candidate]:
        """What retrieval needs of each of ``ids`` that exists (and passes ``flt``), in one read."""
        ids = _storable(ids)
        if not ids:
            return {}
        where, params = where_sql(flt, "n") if flt is not None else ("true", [])
        rows = self._rows(f"SELECT n.id, n.embedding, n.content, {SPEAKER}, n.valid_from_ts, n.session_id FROM notes n "
                          f"WHERE n.id = ANY(%s) AND {where} ORDER BY n.id", (ids, *params), binary=True)
        return {nid: Candidate(embedding=emb, content=content, valid_from_ts=ts, session_id=session,
                               speaker=speaker if isinstance(speaker, str) else content_speaker(content))
                for nid, emb, content, speaker, ts, session in rows}

    def speakers(self, flt: Filter) -> set[str]:
        """The distinct speakers of the notes passing ``flt``: ``metadata.speaker``, or for a note without one,
        who says it when it is a turn stored as plain text (:func:`~memkit.text.content_speaker`)."""
        where, params = where_sql(flt.without_validity(), "n")
        rows = self._rows(f"{SPEAKERS_SQL} WHERE {where}", params)
        said = (given if isinstance(given, str) else content_speaker(head) if head is not None else None
                for given, head in rows)
        return {s for s in said if s}
