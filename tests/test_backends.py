"""One suite through ``Memory`` over every back end: embedded SQLite + Chroma, PostgreSQL + pgvector, and SQLite +
a Chroma server, all real (the servers run on loopback, see tests/servers.py).  The hashing embedder keeps it fast;
``exact_below = 0`` sends every vector search through the back end's own index."""

from __future__ import annotations

import multiprocessing
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from memkit import EmbeddingMismatchError, InvalidInputError, Memory
from memkit.cli.main import cli
from memkit.migrate import migrate

BACKENDS = ("embedded", "postgres", "chroma-server")
EMBED = {"kind": "hash", "model": "hash"}
T0 = datetime(2024, 3, 1, tzinfo=timezone.utc)


def _open(kind: str, tmp_path, request, embedder: dict | None = None) -> Memory:
    embedder = embedder or EMBED
    if kind == "embedded":
        return Memory(tmp_path / "embedded", {"embedder": embedder, "index": {"kind": "chroma", "exact_below": 0}})
    if kind == "postgres":
        url = request.getfixturevalue("pg_url")
        return Memory(url, {"embedder": embedder, "index": {"kind": "store", "exact_below": 0}})
    server = request.getfixturevalue("chroma_server")
    return Memory(tmp_path / "server-backed", {"embedder": embedder, "index": {
        "kind": "chroma", "url": server.url, "collection": f"t-{uuid.uuid4().hex}", "exact_below": 0}})


@pytest.fixture(params=BACKENDS)
def mem(request, tmp_path):
    with _open(request.param, tmp_path, request) as m:
        yield m


# notes of two users; metadata of every JSON scalar type, some keys missing
ROWS = [
    ("Alice moved to Lisbon with her cat Miso", "u1", {"n": 1, "lang": "en", "flag": True, "score": 0.5}),
    ("Bob plays the cello every Sunday morning", "u1", {"n": 2, "lang": "pt", "flag": False}),
    ("The quarterly tax forms are due in April", "u1", {"n": 3, "lang": "en", "score": 2.5}),
    ("Alice's sister Carol adopted a grey cat", "u1", {"n": 4, "lang": "de", "flag": True, "tag": "pets"}),
    ("The garden needs water every morning in summer", "u1", {"n": "5", "lang": "en"}),
    ("Bob repaired an old bicycle for his nephew", "u1", {"n": 6, "flag": 1}),
    ("Priya runs along the river at dawn", "u1", {"n": 7.5, "lang": "pt", "tag": "sport"}),
    ("Omar is learning Portuguese before moving to Porto", "u1", {}),
    ("Dana keeps two cats and a parrot named Kiwi", "u2", {"n": 1, "lang": "en", "flag": True}),
    ("Dana's bank PIN is written on a yellow note", "u2", {"n": 2, "lang": "en"}),
]


def _fill(m: Memory) -> dict[str, str]:
    """The notes, added one session per user; their ids by content."""
    notes = m.add_many([{"content": c, "user_id": u, "metadata": md, "session_id": f"s-{u}",
                         "valid_from": T0 + timedelta(hours=i)} for i, (c, u, md) in enumerate(ROWS)], progress=False)
    return {n.content: n.id for n in notes}


OPERATOR_CASES = [
    ({"lang": "en"}, {0, 2, 4}),
    ({"lang": {"$ne": "en"}}, {1, 3, 6}),  # a note without the key matches no operator, $ne included
    ({"lang": {"$in": ["pt", "de"]}}, {1, 3, 6}),
    ({"lang": {"$nin": ["pt", "de"]}}, {0, 2, 4}),
    ({"flag": True}, {0, 3}),  # True is not 1
    ({"flag": {"$ne": True}}, {1, 5}),
    ({"n": 2}, {1}),
    ({"n": {"$in": [1, 2, "5"]}}, {0, 1, 4}),
    ({"n": {"$gt": 3}}, {3, 5, 6}),  # ranges compare numbers only ("5" is a string)
    ({"n": {"$gte": 3}}, {2, 3, 5, 6}),
    ({"n": {"$lt": 3}}, {0, 1}),
    ({"n": {"$lte": 6}}, {0, 1, 2, 3, 5}),
    ({"score": {"$gte": 0.5, "$lt": 2.5}}, {0}),
    ({"tag": ["pets", "sport"], "lang": {"$ne": "de"}}, {6}),
]


@pytest.mark.parametrize(("filters", "expected"), OPERATOR_CASES, ids=[str(f) for f, _ in OPERATOR_CASES])
def test_every_filter_operator_gives_the_same_notes(mem, filters, expected):
    ids = _fill(mem)
    want = {ids[ROWS[i][0]] for i in expected}
    got = {h.note.id for h in mem.search("cat cello garden river", k=50, user_id="u1", filters=filters)}
    assert got == want
    assert {n.id for n in mem.all(user_id="u1", filters=filters)} == want


def test_scope_isolation_in_search_all_and_related(mem):
    ids = _fill(mem)
    for query in ("bank PIN", "cats", "Dana"):
        assert all(h.note.user_id == "u1" for h in mem.search(query, k=20, user_id="u1"))
    assert {n.user_id for n in mem.all(user_id="u2")} == {"u2"}
    for content, nid in ids.items():
        owner = next(u for c, u, _ in ROWS if c == content)
        assert {n.user_id for n in mem.related(nid, depth=3)} <= {owner}


def test_a_filtered_search_returns_k_whenever_k_notes_match(mem):
    mem.add_many([{"content": f"note {i} about topic {i % 7}", "user_id": "u", "metadata": {"bucket": i % 40}}
                  for i in range(400)], progress=False)
    for bucket in (0, 17, 39):  # 10 notes each, among 400
        hits = mem.search("topic 3", k=10, user_id="u", filters={"bucket": bucket})
        assert len(hits) == 10 and {h.note.metadata["bucket"] for h in hits} == {bucket}


def test_the_same_data_and_queries_give_the_same_results_on_every_back_end(tmp_path, request):
    # the real bundled embedder: no two notes tie (the hashing one scores most pairs 0, and ties fall any way)
    queries = ["who has a cat?", "music on Sundays", "taxes", "moving to Portugal", "morning routine", "Dana"]
    results = {}
    for kind in BACKENDS:
        with _open(kind, tmp_path, request, embedder={"kind": "sentence-transformers"}) as m:
            ids = _fill(m)
            names = {v: k for k, v in ids.items()}
            results[kind] = [[(names[h.note.id], h.score) for h in m.search(q, k=5, user_id="u1")] for q in queries]
    for kind in BACKENDS[1:]:
        for q, mine, ref in zip(queries, results[kind], results["embedded"], strict=True):
            assert [c for c, _ in mine] == [c for c, _ in ref], (kind, q)
            assert [s for _, s in mine] == pytest.approx([s for _, s in ref], rel=1e-4), (kind, q)


def _writer(url: str, worker: int) -> None:
    with Memory(url, {"embedder": EMBED, "index": {"kind": "store"}}) as m:
        for b in range(5):
            m.add_many([f"worker {worker} batch {b} note {i}" for i in range(5)], user_id=f"w{worker}",
                       session_id=f"w{worker}", progress=False)


def test_a_url_memory_takes_store_options_without_naming_the_kind(pg_url):
    """``{"store": {"schema_name": ...}}`` with a URL: the options of the PostgreSQL store, as the URL implies."""
    with Memory(pg_url, {"embedder": EMBED, "store": {"schema_name": "second_memory"}}) as m:
        assert m.config.store.kind == "postgres" and m.config.store.schema_name == "second_memory"
        m.add("only in the second schema", user_id="u1")
    with Memory(pg_url, {"embedder": EMBED}) as default_schema:
        assert default_schema.stats().notes == 0
    with Memory(pg_url, {"embedder": EMBED, "store": {"schema_name": "second_memory"}}) as again:
        assert [n.content for n in again.all()] == ["only in the second schema"]


def test_four_processes_write_one_postgres_memory_and_nothing_is_lost(pg_url):
    with Memory(pg_url, {"embedder": EMBED}) as m:  # created once, before the writers
        m.add("the first note", user_id="w0")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(pg_url, w)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(240)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    with Memory(pg_url, {"embedder": EMBED}) as m:
        assert m.stats().notes == 101
        for w in range(4):
            mine = m.all(user_id=f"w{w}")
            assert len(mine) == 25 + (w == 0)
            contents = {n.content for n in mine}
            assert all(f"worker {w} batch {b} note {i}" in contents for b in range(5) for i in range(5))
        hits = m.search("worker 2 batch 3 note 4", k=1, user_id="w2")
        assert hits[0].note.content == "worker 2 batch 3 note 4"


def test_migrate_copies_everything_between_back_ends_and_again_changes_nothing(tmp_path, request):
    with _open("embedded", tmp_path, request) as a:
        ids = _fill(a)
        first = ids[ROWS[0][0]]
        a.update(first, content="Alice moved to Porto with her cat Miso")
        a.delete(ids[ROWS[9][0]])
        a.link(ids[ROWS[1][0]], ids[ROWS[2][0]])
        a.undo(a.history(first)[-1].id)
        for target in ("postgres", "chroma-server"):
            hits_a = [h.note.id for h in a.search("who has a cat?", k=5, user_id="u1")]
            with _open(target, tmp_path / target, request) as b:
                report = migrate(a, b, progress=False)
                assert report.notes_copied == 9 and report.checksums_verified == 9
                assert report.target_counts == report.source_counts
                assert b.history(first) == [e.model_copy(update={"id": x.id}) for e, x in
                                            zip(a.history(first), b.history(first), strict=True)]
                assert [h.note.id for h in b.search("who has a cat?", k=5, user_id="u1")] == hits_a
                assert ids[ROWS[2][0]] in b.get(ids[ROWS[1][0]]).links
                again = migrate(a, b, progress=False)
                assert (again.notes_copied, again.notes_overwritten, again.events_copied, again.links_added) == \
                    (0, 0, 0, 0)
                assert again.notes_unchanged == 9 and again.target_counts == report.target_counts
                # a note changed in the source since: overwritten, with the event that changed it
                changed = ids[ROWS[2][0]]
                a.update(changed, content=f"The quarterly tax forms are due in May ({target})")
                third = migrate(a, b, progress=False)
                assert (third.notes_overwritten, third.events_copied, third.notes_unchanged) == (1, 1, 8)
                assert b.get(changed).content == a.get(changed).content and b.history(changed)[-1].event == "update"
                assert ids[ROWS[2][0]] in b.get(ids[ROWS[1][0]]).links  # its links came back with it
                if target == "postgres":  # and back from the database into a new folder
                    with Memory(tmp_path / "back", {"embedder": EMBED, "index": {"kind": "exact"}}) as c:
                        home = migrate(b, c, progress=False)
                        assert home.checksums_verified == 9 and home.target_counts == home.source_counts
                        assert [n.id for n in c.all()] == [n.id for n in b.all()]


def test_migrate_on_the_command_line(tmp_path, pg_url):
    cli_runner = CliRunner(env={"COLUMNS": "200"})
    folder = tmp_path / "m"
    with Memory(folder, {"embedder": EMBED, "index": {"kind": "exact"}}) as m:
        m.add_many(["one note", "two notes"], user_id="u", progress=False)
    result = cli_runner.invoke(cli, ["migrate", "--from", str(folder), "--to", pg_url, "--json"])
    assert result.exit_code == 0, result.output
    assert '"checksums_verified": 2' in result.output
    result = cli_runner.invoke(cli, ["--store", pg_url, "search", "two notes", "--user", "u"])
    assert result.exit_code == 0 and "two notes" in result.output, result.output


def test_migrate_between_embedders_is_refused_before_anything_is_written(tmp_path):
    with Memory(tmp_path / "a", {"embedder": EMBED, "index": {"kind": "exact"}}) as a, \
            Memory(tmp_path / "b", {"index": {"kind": "exact"}}) as b:  # the bundled MiniLM
        a.add("a note embedded by the hashing embedder", user_id="u")
        with pytest.raises(EmbeddingMismatchError, match="hash-256"):
            migrate(a, b, progress=False)
        assert b.stats().notes == 0
        with pytest.raises(InvalidInputError, match="itself"):
            migrate(a, a, progress=False)
