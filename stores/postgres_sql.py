"""The PostgreSQL note store's schema and dialect (used by :mod:`memkit.stores.postgres`): the versioned schema and
its migrations, a note as a row and back, a :class:`~memkit.filters.Filter` as SQL, BM25 scored as SQLite FTS5
scores it, nearest-neighbour queries, pgvector's ``vector`` as numpy, and URLs with their password masked.

Every statement runs with ``search_path`` set to the store's schema (then the schema holding pgvector), so names
here are unqualified; the trigger functions pin that path when they are created.
"""

from __future__ import annotations

import json
import math
import re
import struct
import unicodedata
import uuid
from collections.abc import Sequence
from datetime import timezone
from typing import Any
from urllib.parse import quote

import numpy as np

from memkit.builders.base import search_extra
from memkit.filters import Filter, epoch
from memkit.stores.sql_filter import scope_clauses, validity_clauses
from memkit.types import HistoryEvent, NewEvent, Note

__all__ = [
    "SCHEMA_VERSION", "MIGRATIONS", "SchemaTooNew", "vector_schema", "schema_version", "migrate", "TS_CONFIG",
    "EXACT_BELOW", "NOTE_COLUMNS", "INSERT_ROWS", "UPDATE_NOTE", "HISTORY_SQL", "INSERT_EVENT", "INSERT_LINKS",
    "LINKED_SQL", "RECORD_ACCESS", "INSERT_ACCESS", "NOTES_FROM", "COUNTS_SQL", "SPEAKER", "SPEAKERS_SQL", "SAME_OWNER", "WITHIN_SQL",
    "insert_notes_sql", "embeddings_sql", "fts_text", "note_params", "update_params", "row_note",
    "event_params", "row_event", "where_sql", "bm25_search", "nearest_sql", "register_vector", "QmarkReader",
    "secrets_of",
]

TS_CONFIG = "memkit_fts"  # the text search configuration in the store's schema
K1, B = 1.2, 0.75  # BM25's constants, as SQLite FTS5's bm25() has them
COMMON_ROWS = 1000  # bm25_search: a phrase held by more notes (and a tenth of them) is looked up last, if at all
EXACT_BELOW = 2000  # nearest(max_rows=None): at most this many notes in scope are searched exactly, not by HNSW

# -- the schema: each step of MIGRATIONS takes a store from version i to i + 1, in one transaction ----------------
_V1 = [
    "CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL)",
    # one row: how many notes the BM25 index holds and their tokens (FTS5's row count and total size); its row lock
    # is what every write transaction takes first, so writers of all processes go one at a time
    "CREATE TABLE counters (one boolean PRIMARY KEY DEFAULT true CHECK (one), docs bigint NOT NULL, "
    "tokens bigint NOT NULL)",
    "INSERT INTO counters VALUES (true, 0, 0)",
    # how many notes hold each lexeme (in either text column): BM25's document frequency, kept by the triggers
    'CREATE TABLE fts_terms (term text COLLATE "C" PRIMARY KEY, docs bigint NOT NULL)',
    # each lexeme of a tsvector with how often it occurs: BM25's term frequency, looked up per note in O(log n)
    """CREATE FUNCTION memkit_tf(tsv tsvector) RETURNS jsonb LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT coalesce(jsonb_object_agg(lexeme, array_length(positions, 1)), '{}'::jsonb) FROM unnest(tsv) $$""",
    """CREATE TABLE notes (
        seq bigserial PRIMARY KEY,
        id text COLLATE "C" NOT NULL UNIQUE,
        content text NOT NULL,
        keywords text[] NOT NULL,
        tags text[] NOT NULL,
        context text NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        valid_from timestamptz NOT NULL,
        valid_to timestamptz,
        valid_from_ts double precision NOT NULL,
        valid_to_ts double precision NOT NULL,
        user_id text,
        agent_id text,
        session_id text,
        metadata jsonb NOT NULL,
        source text,
        version bigint NOT NULL,
        search_extra text NOT NULL,
        content_tsv tsvector NOT NULL,
        extra_tsv tsvector NOT NULL,
        ntokens integer NOT NULL,
        embedding vector,
        content_tf jsonb GENERATED ALWAYS AS (memkit_tf(content_tsv)) STORED,
        extra_tf jsonb GENERATED ALWAYS AS (memkit_tf(extra_tsv)) STORED
    )""",
    "CREATE INDEX notes_user ON notes (user_id)",
    "CREATE INDEX notes_agent ON notes (agent_id)",
    "CREATE INDEX notes_session ON notes (session_id, valid_from_ts)",
    "CREATE INDEX notes_valid_to ON notes (valid_to_ts)",
    "CREATE INDEX notes_fts ON notes USING gin (content_tsv, extra_tsv)",
    """CREATE TABLE links (
        seq bigserial NOT NULL,
        src text COLLATE "C" NOT NULL,
        dst text COLLATE "C" NOT NULL,
        kind text NOT NULL,
        weight double precision NOT NULL,
        created_at timestamptz NOT NULL,
        actor text NOT NULL,
        PRIMARY KEY (src, dst, kind)
    )""",
    "CREATE INDEX links_dst ON links (dst)",
    # how often each note was retrieved, apart from the note: counting a retrieval then rewrites one small row,
    # not the note's (which PostgreSQL would copy whole, with new entries in its HNSW and full-text indexes)
    """CREATE TABLE access (
        id text COLLATE "C" PRIMARY KEY REFERENCES notes (id) ON DELETE CASCADE,
        retrieval_count bigint NOT NULL,
        last_accessed timestamptz
    )""",
    """CREATE TABLE history (
        id bigserial PRIMARY KEY,
        note_id text COLLATE "C" NOT NULL,
        event text NOT NULL,
        before json,
        after json,
        at timestamptz NOT NULL,
        actor text NOT NULL,
        reason text,
        undone boolean NOT NULL DEFAULT false
    )""",
    "CREATE INDEX history_note ON history (note_id, id)",
    # English stems as SQLite's porter tokenizer makes them, with no stopwords (FTS5 drops none).  Diacritics are
    # removed in Python before text reaches the server (fts_text), as FTS5's remove_diacritics does: the unaccent
    # extension is not in every PostgreSQL (pgserver's build lacks it), and the same code then serves every server.
    "CREATE TEXT SEARCH DICTIONARY memkit_stem (TEMPLATE = pg_catalog.snowball, Language = english)",
    f"CREATE TEXT SEARCH CONFIGURATION {TS_CONFIG} (PARSER = pg_catalog.default)",
    f"ALTER TEXT SEARCH CONFIGURATION {TS_CONFIG} ADD MAPPING FOR asciiword, word, numword, asciihword, hword, "
    "numhword, hword_asciipart, hword_part, hword_numpart, int, uint, float, sfloat, version WITH memkit_stem",
    # the BM25 statistics follow every change of the notes (statement triggers: once per statement, not per row)
    """CREATE FUNCTION fts_added() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
    BEGIN
        INSERT INTO fts_terms AS t (term, docs)
            SELECT lex, count(*) FROM new_rows n, unnest(tsvector_to_array(n.content_tsv || n.extra_tsv)) lex
            GROUP BY lex
        ON CONFLICT (term) DO UPDATE SET docs = t.docs + excluded.docs;
        UPDATE counters SET docs = docs + s.n, tokens = tokens + s.t
            FROM (SELECT count(*) AS n, coalesce(sum(ntokens), 0) AS t FROM new_rows) s WHERE s.n > 0;
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION fts_removed() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
    BEGIN
        UPDATE fts_terms t SET docs = t.docs - g.n
            FROM (SELECT lex, count(*) AS n FROM old_rows o, unnest(tsvector_to_array(o.content_tsv || o.extra_tsv))
                  lex GROUP BY lex) g
            WHERE t.term = g.lex;
        UPDATE counters SET docs = docs - s.n, tokens = tokens - s.t
            FROM (SELECT count(*) AS n, coalesce(sum(ntokens), 0) AS t FROM old_rows) s WHERE s.n > 0;
        RETURN NULL;
    END $$""",
    # a note's text changes rarely (and its access count, embedding or validity often): a row trigger that fires
    # only when the text did (statement triggers with transition tables cannot be limited to some columns)
    """CREATE FUNCTION fts_changed() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
    BEGIN
        UPDATE fts_terms SET docs = docs - 1
            WHERE term = ANY(tsvector_to_array(old.content_tsv || old.extra_tsv)::text[] COLLATE "C");
        INSERT INTO fts_terms AS t (term, docs)
            SELECT lex, 1 FROM unnest(tsvector_to_array(new.content_tsv || new.extra_tsv)) lex
        ON CONFLICT (term) DO UPDATE SET docs = t.docs + 1;
        UPDATE counters SET tokens = tokens + new.ntokens - old.ntokens;
        RETURN NULL;
    END $$""",
    "CREATE TRIGGER notes_fts_ai AFTER INSERT ON notes REFERENCING NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION fts_added()",
    "CREATE TRIGGER notes_fts_ad AFTER DELETE ON notes REFERENCING OLD TABLE AS old_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION fts_removed()",
    "CREATE TRIGGER notes_fts_au AFTER UPDATE OF content_tsv, extra_tsv, ntokens ON notes FOR EACH ROW WHEN "
    "(old.content_tsv <> new.content_tsv OR old.extra_tsv <> new.extra_tsv OR old.ntokens <> new.ntokens) "
    "EXECUTE FUNCTION fts_changed()",
]

MIGRATIONS: list[list[str]] = [_V1]
SCHEMA_VERSION = len(MIGRATIONS)


class SchemaTooNew(Exception):
    """A store written by a newer memkit (its schema version is ``args[0]``)."""


def vector_schema(conn: Any) -> str | None:
    """The schema pgvector is installed in (None: not installed in this database)."""
    row = conn.execute("SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
                       "WHERE e.extname = 'vector'").fetchone()
    return None if row is None else row[0]


def schema_version(conn: Any, schema: str) -> int | None:
    """The schema version of the store in ``schema`` (None: there is none)."""
    if conn.execute("SELECT to_regclass(%s)", (f'"{schema}".meta',)).fetchone()[0] is None:
        return None
    row = conn.execute(f'SELECT value FROM "{schema}".meta WHERE key = %s', ("schema_version",)).fetchone()
    return None if row is None else int(row[0])


def migrate(conn: Any, schema: str, vectors_in: str | None) -> int | None:
    """In the caller's transaction: create ``schema`` where missing, point ``conn`` at it (then at ``vectors_in``,
    pgvector's schema) and bring its tables to :data:`SCHEMA_VERSION`, step by step; the version it had (None: new).
    A newer store is :class:`SchemaTooNew`.  At creation the store records its ``memory_id``, as SQLite's does."""
    if conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone() is None:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    conn.execute(f'SET search_path TO "{schema}", "{vectors_in}"')
    current = schema_version(conn, schema)
    if current is not None and current > SCHEMA_VERSION:
        raise SchemaTooNew(current)
    for step in MIGRATIONS[current or 0:]:
        for statement in step:
            conn.execute(statement)
    conn.execute("INSERT INTO meta VALUES ('schema_version', %s) ON CONFLICT (key) DO UPDATE SET value = "
                 "excluded.value", (str(SCHEMA_VERSION),))
    conn.execute("INSERT INTO meta VALUES ('memory_id', %s) ON CONFLICT (key) DO NOTHING", (uuid.uuid4().hex,))
    return current


# -- notes and events as rows -----------------------------------------------------------------------------------------
# a note's fields, its retrieval count and last access joined from ``access`` (alias ``a``) to ``notes n``
NOTE_COLUMNS = (
    "n.id, n.content, n.keywords, n.tags, n.context, n.created_at, n.updated_at, n.valid_from, n.valid_to, n.user_id, "
    "n.agent_id, n.session_id, n.metadata, n.source, coalesce(a.retrieval_count, 0), a.last_accessed, n.version"
)
NOTES_FROM = "notes n LEFT JOIN access a ON a.id = n.id"
_INSERT_HEAD = (
    "INSERT INTO notes (id, content, keywords, tags, context, created_at, updated_at, valid_from, valid_to, "
    "valid_from_ts, valid_to_ts, user_id, agent_id, session_id, metadata, source, "
    "version, search_extra, content_tsv, extra_tsv, ntokens, embedding) VALUES "
)
_INSERT_ROW = (
    "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s, %s, %s, "
    f"to_tsvector('{TS_CONFIG}', %s), to_tsvector('{TS_CONFIG}', %s), %s, %s::vector)"
)
INSERT_ROWS = 1000  # notes per INSERT statement (22 parameters each: PostgreSQL takes up to 65535)
# the retrieval counts of notes inserted with some (an import, a migration)
INSERT_ACCESS = ("INSERT INTO access SELECT * FROM unnest(%s::text[], %s::bigint[], %s::timestamptz[]) "
                 "ON CONFLICT (id) DO UPDATE SET retrieval_count = excluded.retrieval_count, "
                 "last_accessed = excluded.last_accessed")


def insert_notes_sql(rows: int) -> str:
    """One INSERT of ``rows`` notes (parameters: :func:`note_params` of each): the statement triggers that keep the
    BM25 statistics then run once for them all."""
    return _INSERT_HEAD + ", ".join([_INSERT_ROW] * rows)


# an update leaves scope, creation, access and the embedding as they are
UPDATE_NOTE = (
    "UPDATE notes SET content = %s, keywords = %s, tags = %s, context = %s, updated_at = %s, valid_from = %s, "
    "valid_to = %s, valid_from_ts = %s, valid_to_ts = %s, metadata = %s::jsonb, source = %s, version = %s, "
    f"search_extra = %s, content_tsv = to_tsvector('{TS_CONFIG}', %s), extra_tsv = to_tsvector('{TS_CONFIG}', %s), "
    "ntokens = %s WHERE id = %s"
)


def embeddings_sql(rows: int) -> str:
    """New embeddings of ``rows`` stored notes in one UPDATE (parameters: id, vector of each)."""
    return ("UPDATE notes n SET embedding = v.e FROM (VALUES " + ", ".join(["(%s, %s::vector)"] * rows)
            + ") AS v(id, e) WHERE n.id = v.id")


HISTORY_SQL = "SELECT id, note_id, event, before, after, at, actor, reason, undone FROM history"
INSERT_EVENT = ("INSERT INTO history (note_id, event, before, after, at, actor, reason) "
                "VALUES (%s, %s, %s::json, %s::json, %s, %s, %s)")
INSERT_LINKS = ("INSERT INTO links (src, dst, kind, weight, created_at, actor) SELECT * FROM unnest(%s::text[], "
                "%s::text[], %s::text[], %s::float8[], %s::timestamptz[], %s::text[]) ON CONFLICT DO NOTHING")
LINKED_SQL = ("SELECT src, dst FROM links WHERE src = ANY(%s) UNION SELECT dst, src FROM links WHERE dst = ANY(%s) "
              "ORDER BY 1, 2")  # each note's linked notes, in id order (as SQLite's UNION gives them)
RECORD_ACCESS = ("INSERT INTO access SELECT a.id, a.times, %s FROM (SELECT id, count(*) AS times FROM unnest(%s::text[]) "
                 "id GROUP BY id) a WHERE EXISTS (SELECT 1 FROM notes n WHERE n.id = a.id) ON CONFLICT (id) DO UPDATE "
                 "SET retrieval_count = access.retrieval_count + excluded.retrieval_count, "
                 "last_accessed = excluded.last_accessed")
COUNTS_SQL = ("SELECT (SELECT count(*) FROM notes), (SELECT count(*) FROM notes WHERE valid_to_ts > %s), "
              "(SELECT count(*) FROM links), (SELECT count(*) FROM history), (SELECT count(DISTINCT user_id) FROM notes)")
# metadata.speaker when it is a string (SQLite's json_extract gives a number as a number: not a speaker either)
SPEAKER = "CASE WHEN jsonb_typeof(n.metadata -> 'speaker') = 'string' THEN n.metadata ->> 'speaker' END"
# each note's speaker, and the head of a note without one (content_speaker reads who says it), as SQLiteStore's
SPEAKERS_SQL = (
    f"SELECT DISTINCT {SPEAKER}, CASE WHEN coalesce(jsonb_typeof(n.metadata -> 'speaker'), 'null') = 'null' "
    "AND strpos(left(n.content, 48), ': ') > 1 THEN substr(n.content, 1, strpos(n.content, ': ') + 2) END FROM notes n")
# one conversation: the same user and agent (NULL matches NULL), as SQLite's ``IS``
SAME_OWNER = "user_id IS NOT DISTINCT FROM %s AND agent_id IS NOT DISTINCT FROM %s"

_TOKEN = re.compile(r"[^\W_]+")  # FTS5's unicode61: runs of letters and digits (underscore separates)


def fts_text(text: str) -> tuple[str, int]:
    """``text`` as the server's parser should see it, and its number of tokens: lowercased, diacritics removed,
    and split as FTS5's unicode61 tokenizer splits (every character that is not a letter or digit separates), so
    that PostgreSQL counts the same tokens as SQLite (its own parser reads ``e-mail`` or ``3.5`` as one token)."""
    if not text.isascii():
        text = "".join(ch for ch in unicodedata.normalize("NFD", text) if not unicodedata.combining(ch))
    tokens = _TOKEN.findall(text.lower())
    return " ".join(tokens), len(tokens)


def _utc(when: Any) -> Any:
    return None if when is None else when.astimezone(timezone.utc)


def update_params(note: Note) -> tuple[Any, ...]:
    """The parameters of :data:`UPDATE_NOTE` for ``note``."""
    extra = search_extra(note)
    content_text, content_tokens = fts_text(note.content)
    extra_text, extra_tokens = fts_text(extra)
    return (
        note.content, list(note.keywords), list(note.tags), note.context, _utc(note.updated_at),
        _utc(note.valid_from), _utc(note.valid_to), epoch(note.valid_from), epoch(note.valid_to),
        json.dumps(note.metadata, ensure_ascii=False), note.source, note.version, extra, content_text, extra_text,
        content_tokens + extra_tokens + 1,  # + 1: FTS5's third column holds one token per note (the user's)
        note.id,
    )


def note_params(note: Note, embedding: np.ndarray | None) -> tuple[Any, ...]:
    """The parameters of one note's row of :func:`insert_notes_sql`."""
    (content, keywords, tags, context, updated, vfrom, vto, vfrom_ts, vto_ts, meta, source, version, extra,
     content_text, extra_text, tokens, nid) = update_params(note)
    return (nid, content, keywords, tags, context, _utc(note.created_at), updated, vfrom, vto, vfrom_ts, vto_ts,
            note.user_id, note.agent_id, note.session_id, meta, source, version, extra, content_text, extra_text, tokens,
            None if embedding is None else np.asarray(embedding, dtype=np.float32))


def row_note(row: Sequence[Any], links: list[str]) -> Note:
    (nid, content, keywords, tags, context, created, updated, vfrom, vto, user, agent, session, meta, source, count,
     accessed, version) = row
    return Note.model_construct(
        id=nid, content=content, keywords=list(keywords), tags=list(tags), context=context, links=links,
        created_at=created, updated_at=updated, valid_from=vfrom, valid_to=vto, user_id=user, agent_id=agent,
        session_id=session, metadata=meta, source=source, retrieval_count=count, last_accessed=accessed,
        version=version,
    )


def event_params(e: NewEvent) -> tuple[Any, ...]:
    """The parameters of :data:`INSERT_EVENT` (``json``, not ``jsonb``: the fields keep their order)."""
    return (e.note_id, e.event,
            None if e.before is None else json.dumps(e.before, ensure_ascii=False, default=str),
            None if e.after is None else json.dumps(e.after, ensure_ascii=False, default=str),
            _utc(e.at), e.actor, e.reason)


def row_event(r: Sequence[Any]) -> HistoryEvent:
    return HistoryEvent(id=r[0], note_id=r[1], event=r[2], before=r[3], after=r[4], at=r[5], actor=r[6], reason=r[7],
                        undone=bool(r[8]))


# -- walks along links --------------------------------------------------------------------------------------------
# Breadth first, one row per distance: the frontier at that distance and every note seen so far, so each note is
# entered once, at its shortest distance (a walk of rows per path would revisit notes by every path).
WITHIN_SQL = """
WITH RECURSIVE walk(frontier, seen, d) AS (
    SELECT ARRAY[%(start)s::text COLLATE "C"], ARRAY[%(start)s::text COLLATE "C"], 0
    UNION ALL
    SELECT nxt.ids, w.seen || nxt.ids, w.d + 1
    FROM walk w CROSS JOIN LATERAL (
        SELECT array_agg(DISTINCT n.id) AS ids
        FROM (SELECT l.dst AS id FROM links l WHERE l.src = ANY(w.frontier)
              UNION SELECT l.src FROM links l WHERE l.dst = ANY(w.frontier)) nb
        JOIN notes n ON n.id = nb.id AND n.user_id IS NOT DISTINCT FROM %(user)s
        WHERE NOT nb.id = ANY(w.seen)
    ) nxt
    WHERE w.d < %(depth)s AND nxt.ids IS NOT NULL
)
SELECT unnest(frontier), d FROM walk WHERE d > 0
"""


# -- filters ------------------------------------------------------------------------------------------------------
_RANGE = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}


def where_sql(flt: Filter, alias: str = "notes") -> tuple[str, list[Any]]:
    """A :class:`Filter` as an SQL condition on the ``notes`` table (as ``alias``) and its parameters.

    Metadata as in every store: ``$eq``/``$ne``/``$in``/``$nin`` compare JSON values of the same type (``true`` is
    not ``1``, ``"1"`` is not ``1``; ``1`` and ``1.0`` are one number), the ranges match numbers only, and a note
    without the key matches no condition on it (``$ne`` and ``$nin`` included).
    """
    clauses, params = scope_clauses(flt, alias, "%s")
    for c in flt.conditions:
        expr = f"({alias}.metadata -> %s)"
        if c.op in ("$eq", "$ne"):  # a missing key is NULL: it passes neither
            clauses.append(f"{expr} {'=' if c.op == '$eq' else '<>'} %s::jsonb")
            params += [c.key, json.dumps(c.value)]
        elif c.op in ("$in", "$nin"):
            clauses.append(f"{expr} {'= ANY' if c.op == '$in' else '<> ALL'}(%s::jsonb[])")
            params += [c.key, [json.dumps(v) for v in c.value]]
        else:  # CASE: the cast is never tried on a value that is not a number
            clauses.append(f"CASE WHEN jsonb_typeof({expr}) = 'number' THEN ({alias}.metadata ->> %s)::float8 END "
                           f"{_RANGE[c.op]} %s")
            params += [c.key, c.key, float(c.value)]
    window, bounds = validity_clauses(flt, alias, "%s")
    clauses += window
    params += bounds
    return (" AND ".join(clauses) or "true"), params


# -- BM25 as SQLite FTS5 scores it ----------------------------------------------------------------------------------
def _quote_lexeme(lexeme: str) -> str:
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def phrase_query(parts: Sequence[tuple[int, str]]) -> str:
    """The tsquery of a phrase given as ``(position, lexeme)`` in order: ``'a' <1> 'b'`` (the distance is how far
    each lexeme follows the one before)."""
    out = _quote_lexeme(parts[0][1])
    for (p0, _), (p1, lex) in zip(parts, parts[1:], strict=False):
        out += f" <{p1 - p0}> {_quote_lexeme(lex)}"
    return out


def _hits(column: str, parts: Sequence[tuple[int, str]], params: list[Any]) -> str:
    """SQL: how often the phrase ``parts`` occurs in the ``content`` or ``extra`` text of the row ``n`` (read through
    ``d``, which holds its term counts and tsvector detoasted once): a word's count from the note's term frequencies,
    a phrase's from the positions of its lexemes."""
    if len(parts) == 1:
        params.append(parts[0][1])
        return f"coalesce((d.{column}_tf ->> %s)::float8, 0)"
    column = f"d.{column}_tsv"
    first = parts[0][0]
    params.append(parts[0][1])
    checks = []
    for pos, lex in parts[1:]:
        checks.append(f"(p + {pos - first})::smallint = ANY(coalesce((SELECT u.positions FROM unnest({column}) u "
                      "WHERE u.lexeme = %s), '{}'))")
        params.append(lex)
    return (f"(SELECT count(*) FROM unnest(coalesce((SELECT u.positions FROM unnest({column}) u "
            f"WHERE u.lexeme = %s), '{{}}')) p WHERE {' AND '.join(checks)})")


def _f(x: float) -> str:
    """A double precision literal (a bare ``0.75`` is a numeric in PostgreSQL, computed otherwise than C's double)."""
    return f"{float(x)!r}::float8"


def _bm25_sql(phrases: Sequence[tuple[Sequence[tuple[int, str]], float]], extra_weight: float, avgdl: float,
             where: str, where_params: Sequence[Any], k: int, matched: Sequence[int] | None = None
             ) -> tuple[str, list[Any]]:
    """The query of the ``k`` best notes passing ``where`` that hold any of ``phrases`` (each its ``(position,
    lexeme)`` parts and its idf; only those at the positions ``matched``, when given, select notes), scored as FTS5's ``bm25(notes_fts, 1.0, extra_weight, 0.0)`` (negated: higher is
    better): for each phrase, ``idf × f × (k1 + 1) / (f + k1 × (1 − b + b × D / avgdl))`` with ``f`` its hits in the
    content plus ``extra_weight`` × its hits in the derived text and ``D`` the note's tokens."""
    params: list[Any] = []
    freqs, scores = [], []
    for i, (parts, idf) in enumerate(phrases):
        hits = _hits("content", parts, params)
        if extra_weight:
            hits += f" + {_f(extra_weight)} * " + _hits("extra", parts, params)
        freqs.append(f"({hits})::float8 AS f{i}")
        scores.append(f"{_f(idf)} * (f.f{i} * {_f(K1 + 1)} / (f.f{i} + f.norm))")  # in the order FTS5 computes
    chosen = [phrases[i] for i in matched] if matched is not None else phrases
    match = " | ".join(f"({phrase_query(parts)})" for parts, _ in chosen)
    # d: the row's term counts (and, for a phrase of several lexemes, its tsvectors) detoasted once.  A long note's
    # are stored out of line, and PostgreSQL detoasts a value again at each reference: ten words read it ten times.
    # (`|| '{}'` and `|| ''` return their left side as a value in memory.)
    fields = ("content", "extra") if extra_weight else ("content",)
    held = [f"n.{c}_tf || '{{}}'::jsonb AS {c}_tf" for c in fields]
    if any(len(parts) > 1 for parts, _ in phrases):
        held += [f"n.{c}_tsv || ''::tsvector AS {c}_tsv" for c in fields]
    # OFFSET 0 keeps each of them (and each frequency) a column computed once per row, not an expression copied
    # into the ones that use it
    sql = (
        f"SELECT n.id, {' + '.join(scores)} AS score FROM notes n CROSS JOIN LATERAL (SELECT {', '.join(held)} "
        f"OFFSET 0) d CROSS JOIN LATERAL (SELECT {', '.join(freqs)}, "
        f"{_f(K1)} * ({_f(1 - B)} + {_f(B)} * n.ntokens / {_f(avgdl)}) AS norm OFFSET 0) f "
        f"WHERE (n.content_tsv @@ %s::tsquery OR n.extra_tsv @@ %s::tsquery) AND {where} "
        f"ORDER BY score DESC, n.seq LIMIT %s"
    )
    return sql, [*params, match, match, *where_params, k]


def bm25_search(c: Any, texts: Sequence[str], k: int, flt: Filter, extra_weight: float) -> list[tuple[str, float]]:
    """The ``k`` best notes passing ``flt`` that hold any of ``texts`` (words as :func:`fts_text` gives them, each one
    FTS5 phrase: in the order given, a word twice counts twice), as ``(id, score)`` best first, read on ``c``."""
    docs, tokens = c.execute("SELECT docs, tokens FROM counters").fetchone()
    if not docs:
        return []
    parts: dict[int, list[tuple[int, str]]] = {}
    known: dict[str, int] = {}
    for i, lexeme, positions, held in c.execute(
            f"SELECT w.i, u.lexeme, u.positions, t.docs FROM unnest(%s::text[]) WITH ORDINALITY AS w(txt, i) "
            f"CROSS JOIN LATERAL unnest(to_tsvector('{TS_CONFIG}', w.txt)) u LEFT JOIN fts_terms t ON t.term = u.lexeme",
            (list(texts),)):
        parts.setdefault(i, []).extend((p, lexeme) for p in positions)
        known[lexeme] = int(held or 0)
    phrases, held_by = [], []
    for i in sorted(parts):
        phrase = sorted(parts[i])
        if len(phrase) == 1:
            held = known[phrase[0][1]]
        else:
            q = phrase_query(phrase)
            held = c.execute("SELECT count(*) FROM notes WHERE content_tsv @@ %s::tsquery OR extra_tsv @@ %s::tsquery",
                             (q, q)).fetchone()[0]
        if held:  # a phrase no note holds adds nothing
            idf = math.log((docs - held + 0.5) / (held + 0.5))
            phrases.append((phrase, idf if idf > 0 else 1e-6))  # as FTS5
            held_by.append(held)
    if not phrases:
        return []
    where, params = where_sql(flt, "n")

    def best(matched: list[int] | None) -> list[tuple[str, float]]:
        sql, all_params = _bm25_sql(phrases, extra_weight, tokens / docs, where, params, k, matched)
        return [(i, float(s)) for i, s in c.execute(sql, all_params).fetchall()]

    # MaxScore: a phrase adds less than idf × (k1 + 1) to any note.  When the notes holding the rarer phrases give k
    # answers and the k-th outscores every common phrase together, no note that holds only common phrases can be
    # among the k best: those (many) notes are never read.
    common = {i for i, held in enumerate(held_by) if held > max(COMMON_ROWS, docs // 10)}
    if common and len(common) < len(phrases):
        found = best([i for i in range(len(phrases)) if i not in common])
        if len(found) == k and found[-1][1] > sum(phrases[i][1] * (K1 + 1) for i in common):
            return found
    return best(None)


# -- nearest neighbours ---------------------------------------------------------------------------------------------
def nearest_sql(where: str, max_rows: int | None) -> tuple[str, str, str]:
    """For the notes passing ``where``: (scoped) how many (counting up to a limit: one scan) and, when no more than
    that, the k nearest of them, exactly; (exact) the k nearest, exactly; (approx) the k nearest by the HNSW index.
    ``+ 0`` keeps the planner from the (approximate) index where the answer must be exact.  Parameters: scoped:
    where's, limit + 1, vector, limit, vector, k; the others: vector, where's, vector, k."""
    scoped = (
        f"WITH scope AS MATERIALIZED (SELECT n.seq FROM notes n WHERE {where}"
        f"{' AND n.embedding IS NOT NULL' if max_rows is None else ''} LIMIT %s) "
        "SELECT c.n, x.id, x.sim FROM (SELECT count(*) AS n FROM scope) c LEFT JOIN LATERAL ("
        "SELECT m.id, 1 - (m.embedding <=> %s) AS sim, m.seq FROM notes m WHERE c.n <= %s AND m.seq IN "
        "(SELECT seq FROM scope) AND m.embedding IS NOT NULL ORDER BY (m.embedding <=> %s) + 0, m.seq LIMIT %s"
        ") x ON true ORDER BY x.sim DESC, x.seq")
    ranked = f"SELECT n.id, 1 - (n.embedding <=> %s) FROM notes n WHERE {where} AND n.embedding IS NOT NULL ORDER BY "
    return scoped, ranked + "(n.embedding <=> %s) + 0, n.seq LIMIT %s", ranked + "n.embedding <=> %s LIMIT %s"


# -- pgvector's vector as numpy float32: binary, dim (int16), unused (int16), dim float4, all big-endian --------------
def _vector_text(data: Any) -> np.ndarray:
    body = bytes(data)[1:-1]  # [1,2.5,...]
    return np.array(body.split(b","), dtype=np.float32) if body else np.zeros(0, np.float32)


def register_vector(conn: Any) -> None:
    """Teach ``conn`` pgvector's ``vector``: a numpy array is sent as one, and one is read as a float32 array."""
    from psycopg.adapt import Dumper, Loader
    from psycopg.pq import Format

    oid = conn.execute("SELECT 'vector'::regtype::oid").fetchone()[0]

    class VectorDumper(Dumper):
        format = Format.BINARY

        def dump(self, obj: Any) -> bytes:
            a = np.asarray(obj, dtype=">f4").ravel()
            return struct.pack(">HH", a.size, 0) + a.tobytes()

    class VectorLoader(Loader):
        format = Format.BINARY

        def load(self, data: Any) -> np.ndarray:
            return np.frombuffer(data, dtype=">f4", offset=4).astype(np.float32)

    class VectorTextLoader(Loader):
        def load(self, data: Any) -> np.ndarray:
            return _vector_text(data)

    VectorDumper.oid = oid
    conn.adapters.register_dumper(np.ndarray, VectorDumper)
    conn.adapters.register_loader(oid, VectorLoader)
    conn.adapters.register_loader(oid, VectorTextLoader)


class QmarkReader:
    """What :class:`memkit.stores.ids.IdPrefixes` reads through: ``execute(sql, params)`` with sqlite3's ``?`` marks,
    run by ``read(sql, params)``, and the rows' ``fetchone``/``fetchall``."""

    def __init__(self, read: Any):
        self._read = read

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return _Rows(self._read(sql.replace("?", "%s"), list(params)))


class _Rows(list):
    def fetchone(self) -> Any:
        return self[0] if self else None

    def fetchall(self) -> list[Any]:
        return list(self)


# -- messages -------------------------------------------------------------------------------------------------------
def secrets_of(url: str) -> list[str]:
    """The password of ``url`` as it may be echoed back: as written, and decoded (longest first)."""
    found = set(re.findall(r"^postgres(?:ql)?://[^:@/?]*:([^@/?]*)@", url))
    for quoted, bare in re.findall(r"password\s*=\s*(?:'((?:[^'\\]|\\.)*)'|([^&\s]*))", url, re.IGNORECASE):
        found.add(quoted or bare)
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    try:
        password = conninfo_to_dict(url).get("password")
    except psycopg.Error:  # a URL libpq cannot read has only the forms found above
        password = None
    if password:
        found.update((str(password), quote(str(password), safe="")))
    return sorted((s for s in found if s), key=len, reverse=True)
