"""What only the PostgreSQL note store has: a schema that migrates, a database shared by memories (one schema each)
and by processes, a server that can go away, BM25 computed like SQLite's and pgvector's HNSW under a filter.
Every test runs against a real PostgreSQL with pgvector (the ``pgserver`` package, see tests/servers.py)."""

from __future__ import annotations

import multiprocessing
import threading
import time
from datetime import datetime, timedelta, timezone

import numpy as np
import psycopg
import pytest

from memkit.config import masked_url
from memkit.errors import ConfigError, StoreError
from memkit.filters import Filter, build_filter
from memkit.stores.postgres import SCHEMA_VERSION, PostgresStore, PostgresStoreConfig
from memkit.stores.postgres_sql import fts_text, nearest_sql, where_sql
from memkit.stores.sqlite import SQLiteStore
from memkit.types import Link, NewEvent, Note, WriteBatch
from tests.servers import PostgresServer

T0 = datetime(2024, 5, 1, tzinfo=timezone.utc)
SECRET = "hunter2-Sup3rSecret"  # a password (pgserver trusts local connections, so any password is accepted)


def _with_password(url: str, password: str = SECRET) -> str:
    return url.replace("postgresql://postgres:@", f"postgresql://postgres:{password}@", 1)


def _open(url: str, **options) -> PostgresStore:
    return PostgresStore.open(None, PostgresStoreConfig(url=url, **options))


def _notes(n: int, prefix: str, **fields) -> list[Note]:
    return [Note(content=f"{prefix} note number {i}", valid_from=T0 + timedelta(minutes=i), **fields) for i in range(n)]


# -- the schema ------------------------------------------------------------------------------------------------
def test_the_schema_is_created_once_and_reopening_keeps_everything(pg_url):
    config = PostgresStoreConfig(url=pg_url)
    assert not PostgresStore.found_in(None, config)
    with psycopg.connect(pg_url) as conn:  # found_in created nothing
        assert conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = 'memkit'").fetchone() is None
    s = PostgresStore.open(None, config)
    notes = _notes(3, "kept", user_id="u")
    s.write(WriteBatch(insert=[(n, np.ones(4, np.float32) / 2) for n in notes], link=[Link(src=notes[0].id,
                       dst=notes[1].id)], events=[NewEvent(notes[0].id, "add", None, {"x": 1}, T0, "user")]))
    s.check_embedder("model", 4)
    memory_id = s.get_meta("memory_id")
    assert s.get_meta("schema_version") == str(SCHEMA_VERSION) and len(memory_id) == 32
    s.close()
    with pytest.raises(StoreError, match="closed"):
        s.count()
    with psycopg.connect(pg_url) as conn:
        objects = conn.execute("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                               "WHERE n.nspname = 'memkit'").fetchone()[0]
    again = PostgresStore.open(None, config)
    try:
        assert PostgresStore.found_in(None, config)
        assert [n.id for n in again.iter_notes()] == [n.id for n in notes]
        assert again.get(notes[0].id).links == [notes[1].id] and len(again.history(notes[0].id)) == 1
        assert again.get_meta("memory_id") == memory_id and again.get_meta("dim") == "4"
        assert again.changes() == 1 and again.count() == 3
    finally:
        again.close()
    with psycopg.connect(pg_url) as conn:  # nothing was created twice
        assert conn.execute("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                            "WHERE n.nspname = 'memkit'").fetchone()[0] == objects


def test_a_newer_schema_is_refused_naming_both_versions(pg_url):
    _open(pg_url).close()
    with psycopg.connect(pg_url) as conn:
        conn.execute("UPDATE memkit.meta SET value = %s WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 7),))
    with pytest.raises(StoreError, match=rf"schema version {SCHEMA_VERSION + 7}\b.*reads version {SCHEMA_VERSION}\b"):
        _open(pg_url)


def test_two_memories_under_two_schemas_of_one_database_do_not_see_each_other(pg_url):
    a, b = _open(pg_url, schema_name="mem_a"), _open(pg_url, schema_name="mem_b")
    try:
        a.write(WriteBatch(insert=[(n, None) for n in _notes(3, "alpha", user_id="u")]))
        b.write(WriteBatch(insert=[(n, None) for n in _notes(2, "beta", user_id="u")]))
        assert (a.count(), b.count()) == (3, 2) and (a.changes(), b.changes()) == (1, 1)
        assert [i for i, _ in b.lexical(["alpha"], 5, Filter())] == [] and len(a.lexical(["alpha"], 5, Filter())) == 3
        assert a.get_meta("memory_id") != b.get_meta("memory_id")
        assert not PostgresStore.found_in(None, PostgresStoreConfig(url=pg_url))  # the default schema: untouched
    finally:
        a.close()
        b.close()


def test_config_is_checked_and_the_url_can_come_from_the_environment(pg_url, monkeypatch):
    for bad in ("Memkit", "1abc", "a-b", "pg_x", "x" * 64, 'a"; drop'):
        with pytest.raises(ValueError):
            PostgresStoreConfig(url=pg_url, schema_name=bad)
    monkeypatch.delenv("MEMKIT_POSTGRES_URL", raising=False)
    with pytest.raises(ConfigError, match="MEMKIT_POSTGRES_URL"):
        PostgresStore.open(None, PostgresStoreConfig())
    with pytest.raises(ConfigError, match="MEMKIT_POSTGRES_URL"):
        PostgresStore.found_in(None, PostgresStoreConfig())
    monkeypatch.setenv("MEMKIT_POSTGRES_URL", pg_url)
    s = PostgresStore.open(None, PostgresStoreConfig())
    s.close()
    assert PostgresStore.found_in(None, None)
    assert SECRET not in repr(PostgresStoreConfig(url=_with_password(pg_url)))


# -- many processes ----------------------------------------------------------------------------------------------
def _writer(url: str, worker: int, batches: int, per_batch: int) -> None:
    s = _open(url)  # every process opens the new store at once: its creation is one transaction behind a lock
    try:
        previous = None
        for b in range(batches):
            notes = [Note(content=f"worker {worker} batch {b} note {i}", user_id=f"w{worker}") for i in range(per_batch)]
            links = [Link(src=notes[i].id, dst=notes[i + 1].id, kind="sequence") for i in range(per_batch - 1)]
            if previous is not None:
                links.append(Link(src=previous, dst=notes[0].id, kind="sequence"))
            vecs = np.random.default_rng(worker * 1000 + b).standard_normal((per_batch, 8)).astype(np.float32)
            vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
            s.write(WriteBatch(insert=list(zip(notes, vecs, strict=True)), link=links,
                               events=[NewEvent(n.id, "add", None, {"content": n.content}, T0, "user") for n in notes]))
            s.record_access([notes[0].id], T0)
            previous = notes[-1].id
    finally:
        s.close()


def test_four_processes_write_into_one_store_at_once_and_nothing_is_lost(pg_url):
    workers, batches, per_batch = 4, 12, 10
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(pg_url, w, batches, per_batch)) for w in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(180)
    assert [p.exitcode for p in procs] == [0] * workers
    s = _open(pg_url)
    try:
        total = workers * batches * per_batch
        assert s.count() == total and s.changes() == workers * batches
        assert s.counts() == {"notes": total, "current_notes": total, "links": total - workers,
                              "history_events": total, "users": workers}
        for w in range(workers):
            mine = list(s.iter_notes(Filter(owner=f"w{w}")))
            assert sorted(n.content for n in mine) == sorted(
                f"worker {w} batch {b} note {i}" for b in range(batches) for i in range(per_batch))
            assert sum(n.retrieval_count for n in mine) == batches
            assert len(s.within(mine[0].id, total, f"w{w}")) == batches * per_batch - 1  # one chain per worker
        # the BM25 statistics every writer kept add up to what the notes hold
        assert s.lexical(["worker"], total + 1, Filter()) and len(s.lexical(["worker"], total + 1, Filter())) == total
        row = s._read(lambda c: c.execute("SELECT docs, tokens, (SELECT count(*) FROM notes), "
                                          "(SELECT sum(ntokens) FROM notes) FROM counters").fetchone())
        assert row[0] == row[2] == total and row[1] == row[3]
    finally:
        s.close()


# -- a server that goes away ------------------------------------------------------------------------------------------
def test_the_server_stopped_mid_write_loses_only_that_write(tmp_path):
    servers = [PostgresServer(tmp_path / "pg")]
    url = _with_password(servers[0].database())
    s = _open(url)
    try:
        committed = [_notes(3, f"batch {b}", user_id="u") for b in range(2)]
        for notes in committed:
            s.write(WriteBatch(insert=[(n, None) for n in notes]))
        # a second session holds the links table, so the next write stops halfway: its notes inserted, its links
        # waiting; then the server stops under it
        blocker = psycopg.connect(url)
        blocker.execute("LOCK TABLE memkit.links IN EXCLUSIVE MODE")
        half = _notes(3, "half written", user_id="u")
        failure: list[BaseException] = []

        def write() -> None:
            try:
                s.write(WriteBatch(insert=[(n, None) for n in half], link=[Link(src=half[0].id, dst=half[1].id)]))
            except BaseException as exc:  # noqa: BLE001 - handed to the test thread
                failure.append(exc)

        writer = threading.Thread(target=write)
        writer.start()
        with psycopg.connect(url, autocommit=True) as watcher:
            deadline = time.monotonic() + 30
            while not watcher.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND "
                                      "query LIKE 'INSERT INTO links%%'").fetchone()[0]:
                assert time.monotonic() < deadline, "the write never reached the locked table"
                time.sleep(0.05)
        servers[0].stop()
        writer.join(60)
        blocker.close()
        assert len(failure) == 1 and isinstance(failure[0], StoreError), failure
        message = str(failure[0])
        assert "unreachable" in message and str(tmp_path / "pg") in message and SECRET not in message
        with pytest.raises(StoreError, match="unreachable") as again:  # the next call tries a new connection
            s.count()
        assert SECRET not in str(again.value)

        servers.append(PostgresServer(tmp_path / "pg"))  # the same cluster, started again
        assert s.count() == 6  # the same store object connects again
        assert sorted(n.content for n in s.iter_notes()) == sorted(n.content for b in committed for n in b)
        assert s.all_links() == [] and s.changes() == 2
        fresh = _open(url)
        try:
            assert fresh.count() == 6 and not fresh.existing([n.id for n in half])
        finally:
            fresh.close()
    finally:
        s.close()
        servers[-1].stop()


def test_the_password_never_appears_in_an_error(pg_url, tmp_path):
    from tests.servers import free_port

    assert SECRET not in masked_url(_with_password(pg_url)) and "***" in masked_url(_with_password(pg_url))
    assert masked_url(f"host=db password='{SECRET}' dbname=x") == "host=db password=*** dbname=x"
    port = free_port()  # nothing listens there
    urls = [f"postgresql://someone:{SECRET}@127.0.0.1:{port}/db", f"postgresql://u@127.0.0.1:{port}/db?password={SECRET}",
            f"host=127.0.0.1 port={port} user=u password={SECRET} dbname=db",
            f"postgresql://u:{SECRET}%zz@127.0.0.1:{port}/db"]  # not even a URL libpq can read
    for url in urls:
        for attempt in (lambda url=url: _open(url, connect_timeout_s=2), lambda url=url: PostgresStore.found_in(
                None, PostgresStoreConfig(url=url, connect_timeout_s=2))):
            with pytest.raises(StoreError) as caught:
                attempt()
            assert SECRET not in str(caught.value) and "127.0.0.1" in str(caught.value)
    s = _open(_with_password(pg_url))
    try:
        for failing in (
            lambda: s.write(WriteBatch(insert=[(Note(id="a" * 32, content="x"), None)] * 2)),  # an id twice
            lambda: s.check_embedder("other", 4) or s.check_embedder("another", 4),
            lambda: s._read(lambda c: c.execute("SELECT * FROM no_such_table")),
        ):
            with pytest.raises(StoreError) as caught:
                failing()
            assert SECRET not in str(caught.value)
    finally:
        s.close()


# -- BM25 as SQLite computes it ---------------------------------------------------------------------------------------
# Short English sentences.  SQLite's porter and PostgreSQL's snowball (Porter2) stemmers disagree on a few words
# (dying -> dy / die, generously -> gener / generous, skies -> ski / sky, ...): these sentences and queries keep to
# words both stem alike (plural -s, -ing, -ed, -ly on regular words, names, numbers).
SENTENCES = [
    "Alice moved to Lisbon with her cat Miso in March",
    "Bob plays the cello on Sundays with his friends",
    "Carol adopted two cats and a small dog last year",
    "The quarterly tax forms are due in April",
    "Dan is learning Portuguese before moving to Porto",
    "Eve runs along the river every morning before work",
    "The garden needs water every morning in the summer",
    "Bob repaired an old bicycle for his nephew Tom",
    "Alice and Carol went hiking in the mountains together",
    "The cat sleeps on the warm windowsill all afternoon",
    "Priya cooks spicy lentil soup on cold evenings",
    "Omar plays chess with his grandfather on Fridays",
    "The dog barked at the mailman every single morning",
    "Tom painted the kitchen walls a bright yellow",
    "Carol's sister works as a nurse in Lisbon",
    "The bicycle shop closes early on Sundays",
    "Eve bought running shoes for the marathon in May",
    "Dan's flight to Porto was delayed by three hours",
    "Alice keeps her tax papers in a blue folder",
    "The river flooded the garden after the storm",
    "Omar's grandfather taught him to play the violin",
    "Priya and Eve met at the running club in 2019",
    "The kitchen smells of fresh bread every Friday",
    "Bob walks the dog along the river at night",
    "Carol plays the piano and Bob plays the cello",
    "Lisbon has steep streets and yellow trams",
    "The marathon starts at the old bridge at 8",
    "Tom's nephew collects stamps from Portugal",
    "Miso the cat hates the vacuum cleaner",
    "Eve's morning runs keep her calm before work",
    "Dan reads Portuguese novels on the train to work",
    "The mountains were covered in snow in March",
]
QUERIES = [["cat"], ["cats", "dog"], ["plays", "cello"], ["running", "morning", "river"], ["lisbon", "porto"],
           ["tax", "papers", "april"], ["bob"], ["the"], ["grandfather", "violin", "chess"], ["2019", "club"],
           ["march"], ["yellow", "kitchen", "walls"], ["work", "train"], ["sundays"], ["nobody", "here"],
           ["alice", "carol", "eve", "dan"], ["carol's"], ["bicycle", "bicycle"], ["may", "2024"], ["miso"]]


def _parity_stores(pg_url, tmp_path):
    notes = [Note(id=f"{i:032x}", content=t, user_id=("u", "v")[i % 2], keywords=t.split()[:2],
                  metadata={"speaker": ("Ann", "Ben", "Cat")[i % 3]}, valid_from=T0 + timedelta(days=i))
             for i, t in enumerate(SENTENCES)]
    # a long note: PostgreSQL keeps its tsvectors and term counts out of line (TOAST), read once per row
    notes.append(Note(id=f"{len(notes):032x}", content=" ".join(SENTENCES * 4), user_id="u",
                      valid_from=T0 + timedelta(days=len(notes))))
    stores = (_open(pg_url), SQLiteStore.open(tmp_path))
    for s in stores:
        s.write(WriteBatch(insert=[(n, None) for n in notes]))
        # an update and a delete move the statistics too
        s.write(WriteBatch(update=[notes[3].model_copy(update={"content": "The yearly tax forms are due in April",
                                                               "version": 2})], delete=[notes[-2].id]))
    return stores


def _same_ranking(mine: list[tuple[str, float]], ref: list[tuple[str, float]]) -> None:
    assert len(mine) == len(ref)
    assert [s for _, s in mine] == pytest.approx([s for _, s in ref], rel=1e-6, abs=1e-12)
    # ids agree where the score does not tie
    for (i, s), (j, _) in zip(mine, ref, strict=True):
        if i != j:
            assert sum(1 for _, x in ref if abs(x - s) <= 1e-9 * max(abs(s), 1e-12)) > 1, (mine, ref)


def test_lexical_ranks_and_scores_as_sqlite_fts5_bm25(pg_url, tmp_path):
    pg, lite = _parity_stores(pg_url, tmp_path)
    try:
        for words in QUERIES:
            for flt in (build_filter(include_superseded=True), build_filter(user_id="u", include_superseded=True),
                        build_filter({"speaker": "Ann"}, include_superseded=True),
                        build_filter(user_id="v", as_of=T0 + timedelta(days=9)),
                        build_filter(user_id="u").within(T0.timestamp(), (T0 + timedelta(days=14)).timestamp())):
                for extra in (1.0, 0.5, 0.0):
                    for k in (3, 50):
                        _same_ranking(pg.lexical(words, k, flt, extra), lite.lexical(words, k, flt, extra))
        assert pg.lexical(["nobody"], 5, Filter()) == [] and pg.lexical(["", "!!"], 5, Filter()) == []
        assert fts_text("Zoë's café-bar, naïve") == ("zoe s cafe bar naive", 5)  # as FTS5's unicode61 splits
        for owner, name in (("u", "lisbon"), ("v", "lisbon"), ("u", "the"), ("", "cat"), ("u", "carol's")):
            for limit in (1, 3, 100):
                assert pg.naming(owner, name, limit) == lite.naming(owner, name, limit)
    finally:
        pg.close()
        lite.close()


def test_lexical_skips_common_words_only_when_they_cannot_matter(pg_url):
    """A rare word's notes are ranked first; a word in most notes is read only when it can change the top k."""
    s = _open(pg_url)
    try:
        n = 2400
        notes = [Note(id=f"{i:032x}", content=("common filler " * (1 + i % 3)) + (f"rare{i % 40}" if i % 2 else "plain"),
                      user_id="u") for i in range(n)]
        s.write(WriteBatch(insert=[(x, None) for x in notes]))
        full = s.lexical(["common", "rare7"], n, Filter())
        assert len(full) == n  # every note holds 'common'
        assert sum("rare7" in x.content for x in notes) == 60
        for k in (1, 10, 59, 60, 61, 100):  # 60 notes hold rare7: beyond them the common word decides
            assert s.lexical(["common", "rare7"], k, Filter()) == full[:k]
    finally:
        s.close()


# -- vectors --------------------------------------------------------------------------------------------------------
def test_a_selective_filter_still_gets_k_neighbours_from_hnsw(pg_url, monkeypatch):
    rng = np.random.default_rng(7)
    dim, n, chosen = 16, 3000, 50
    vecs = rng.standard_normal((n, dim)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    s = _open(pg_url, hnsw_ef_search=40)
    try:
        s.check_embedder("random", dim)
        picked = set(rng.choice(n, chosen, replace=False).tolist())
        notes = [Note(content=f"note {i}", user_id="u", metadata={"pick": i in picked}) for i in range(n)]
        s.write(WriteBatch(insert=list(zip(notes, vecs, strict=True))))
        s._read(lambda c: c.execute("ANALYZE notes"))
        queries = rng.standard_normal((5, dim)).astype(np.float32)
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
        flt = build_filter({"pick": True})
        ids = {x.id for i, x in enumerate(notes) if i in picked}
        plan = " ".join(r[0] for r in s._rows("EXPLAIN SELECT id FROM notes ORDER BY embedding <=> %s LIMIT 10",
                                              (queries[0],)))
        assert "notes_embedding" in plan  # the HNSW index is there and used
        for exact_below in (2000, 20):  # few notes pass (an exact search), or the index is asked
            monkeypatch.setattr("memkit.stores.postgres.EXACT_BELOW", exact_below)
            got = s.nearest(queries, 10, flt, None)
            for q, hits in zip(queries, got, strict=True):
                assert len(hits) == 10 and {i for i, _ in hits} <= ids
                sims = sorted((float(vecs[i] @ q) for i in picked), reverse=True)[:10]
                assert [x for _, x in hits] == pytest.approx(sims, abs=1e-5)  # the exact answer
            assert all(len(h) == 10 for h in s.nearest(queries, 10, Filter(), None))  # the whole store
            # on a table this small the planner rather sorts the 50 itself; from here on it must use the index,
            # which pgvector filters after its scan: of the 40 candidates it looks at, about 1 in 60 passes
            s._read(lambda c: c.execute("SET enable_sort = off"))
        where, params = where_sql(flt, "n")
        approx = nearest_sql(where, None)[2]
        short = [len(s._read(lambda c, q=q: _approx(c, approx, q, params))) for q in queries]
        assert max(short) < 10, short  # what the store completed above
        assert s.nearest(queries[:1], 10, flt, 49) is None and len(s.nearest(queries[:1], 10, flt, 50)[0]) == 10
    finally:
        s.close()


def _approx(c, sql: str, q: np.ndarray, params: list) -> list:
    with c.transaction():
        c.execute("SELECT set_config('hnsw.ef_search', '40', true)")
        return c.execute(sql, (q, *params, q, 10)).fetchall()


def test_metadata_filters_match_the_sqlite_store(pg_url, tmp_path):
    metas = [{"n": 1}, {"n": 1.0}, {"n": "1"}, {"n": True}, {"n": 2.5}, {"n": None}, {}, {"n": [1]}, {"n": -3},
             {"n": False, "m": "x"}, {"m": "y"}]
    notes = [Note(id=f"{i:032x}", content=f"note {i}", metadata=m) for i, m in enumerate(metas)]
    pg, lite = _open(pg_url), SQLiteStore.open(tmp_path)
    try:
        for s in (pg, lite):
            s.write(WriteBatch(insert=[(n, None) for n in notes]))
        for filters in ({"n": 1}, {"n": "1"}, {"n": True}, {"n": {"$ne": 1}}, {"n": {"$in": [1, "1"]}},
                        {"n": {"$nin": [1, True]}}, {"n": {"$gt": 0}}, {"n": {"$lte": 1}}, {"n": {"$gte": -3, "$lt": 2}},
                        {"m": {"$ne": "x"}}, {"n": False}, {"n": 2.5, "m": {"$nin": ["y"]}}):
            flt = build_filter(filters, include_superseded=True)
            assert [n.id for n in pg.iter_notes(flt)] == [n.id for n in lite.iter_notes(flt)], filters
    finally:
        pg.close()
        lite.close()


def test_statements_prepared_before_the_embedding_column_got_its_dimension_are_prepared_again(pg_url):
    # two processes' connections: one reads vectors often enough for psycopg to prepare the statement, then the
    # other records the embedder, which gives the embedding column its dimension (the result type changes)
    reader, writer = _open(pg_url), _open(pg_url)
    try:
        notes = _notes(3, "prepared")
        writer.write(WriteBatch(insert=[(n, None) for n in notes]))
        ids = [n.id for n in notes]
        for _ in range(8):
            assert reader.embeddings(ids) == {}
        writer.check_embedder("test-embedder", 4)
        vec = np.asarray([1, 0, 0, 0], np.float32)
        writer.write(WriteBatch(embeddings={ids[0]: vec}))
        got = reader.embeddings(ids)
        assert list(got) == [ids[0]] and np.allclose(got[ids[0]], vec)
        assert reader.nearest(vec[None], 1, Filter(), None)[0][0][0] == ids[0]
    finally:
        reader.close()
        writer.close()


def test_a_kept_scope_sees_what_another_process_writes_and_answers_as_the_sql_does(pg_url):
    # two stores on one database stand for two processes: each keeps scopes in its own memory
    rng = np.random.default_rng(3)
    vecs = rng.standard_normal((30, 8)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    t0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
    notes = [Note(content=f"n{i}", user_id="u", valid_from=t0 + timedelta(days=i),
                  valid_to=t0 + timedelta(days=i + 5) if i % 3 == 0 else None) for i in range(30)]
    mine, theirs = _open(pg_url), _open(pg_url)
    try:
        mine.write(WriteBatch(insert=list(zip(notes, vecs, strict=True))))
        q = vecs[:2] + 0.05
        q /= np.linalg.norm(q, axis=1, keepdims=True)  # as an embedder gives them
        every = build_filter(user_id="u", include_superseded=True)
        period = every.within(t0.timestamp(), (t0 + timedelta(days=12)).timestamp())
        for flt in (every, build_filter(user_id="u", as_of=t0 + timedelta(days=9)), period):
            for _ in range(2):  # read, then kept: both as the database's own exact search
                assert _rounded(mine.nearest(q, 5, flt, 100)) == _sql_nearest(mine, q, 5, flt)
        flt = build_filter(user_id="u", include_superseded=True)
        before = mine.nearest(q[:1], 1, flt, 100)[0]
        new = Note(content="new", user_id="u")
        theirs.write(WriteBatch(insert=[(new, q[0])]))
        assert before[0][0] != new.id and mine.nearest(q[:1], 1, flt, 100)[0][0][0] == new.id
        theirs.write(WriteBatch(embeddings={notes[5].id: q[1]}, counts_as_change=False))
        assert mine.nearest(q[1:], 1, flt, 100)[0][0][0] == notes[5].id  # a refill, which counts as no change
        assert mine.nearest(q, 3, flt, 20) is None and mine.nearest(q, 3, flt, 20) is None  # 31 notes: too many
    finally:
        mine.close()
        theirs.close()


def _rounded(rows: list[list[tuple[str, float]]] | None) -> list[list[tuple[str, float]]]:
    assert rows is not None
    return [[(i, round(float(sim), 5)) for i, sim in row] for row in rows]


def _sql_nearest(store: PostgresStore, q: np.ndarray, k: int, flt: Filter) -> list[list[tuple[str, float]]]:
    """The database's own exact k nearest (the query of ``nearest_sql``)."""
    where, params = where_sql(flt, "n")
    _, exact, _ = nearest_sql(where, None)
    return _rounded([store._read(lambda c, v=v: c.execute(exact, (v, *params, v, k)).fetchall()) for v in q])
