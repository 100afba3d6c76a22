from datetime import datetime, timezone

import numpy as np
import pytest

from memkit.errors import NotFoundError, StoreError
from memkit.filters import build_filter
from memkit.stores.sqlite import SQLiteStore, fts_match, where_sql
from memkit.text import STOPWORDS, query_words
from memkit.types import Link, NewEvent, Note, WriteBatch


def _add(store, *notes):
    store.write(WriteBatch(insert=[(n, np.ones(4, np.float32)) for n in notes]))


def test_notes_round_trip_with_links_and_history(tmp_path):
    s = SQLiteStore(tmp_path / "db")
    a = Note(content="alpha", metadata={"x": [1, 2]}, user_id="u",
             valid_from=datetime(2020, 1, 1, tzinfo=timezone.utc))
    b = Note(content="beta")
    _add(s, a, b)
    s.write(WriteBatch(link=[Link(src=a.id, dst=b.id)], events=[NewEvent(a.id, "add", None, {"x": 1}, a.created_at,
                                                                         "user")]))
    got = s.get(a.id)
    assert got.model_dump() == a.model_copy(update={"links": [b.id]}).model_dump()
    assert s.get(b.id).links == [a.id]
    assert [e.event for e in s.history(a.id)] == ["add"]
    with pytest.raises(NotFoundError):
        s.get("nope")


def test_failed_batch_rolls_back_whole(tmp_path):
    s = SQLiteStore(tmp_path / "db")
    a, b = Note(content="alpha"), Note(content="beta")
    _add(s, a, b)
    changes = s.changes()
    with pytest.raises(StoreError):  # a duplicate id: nothing of the batch is kept
        s.write(WriteBatch(insert=[(Note(content="new"), None), (a, None)], link=[Link(src=a.id, dst=b.id)],
                           events=[NewEvent(a.id, "link", None, {}, a.created_at, "user")]))
    assert s.count() == 2 and s.all_links() == [] and s.history(a.id) == [] and s.changes() == changes


def test_bm25_or_query_and_filters(tmp_path):
    s = SQLiteStore(tmp_path / "db")
    notes = [Note(content=t, user_id=u) for t, u in
             [("the red kayak is in the garage", "a"), ("kayaking on the lake", "a"), ("red wine", "b")]]
    _add(s, *notes)
    q = query_words("Where is the red kayak?", STOPWORDS)
    assert q == ["red", "kayak"] and fts_match(q) == '"red" OR "kayak"'
    hits = s.lexical(q, 10, build_filter(user_id="a"))
    assert [h[0] for h in hits] == [notes[0].id, notes[1].id]  # porter stemming: kayaking ~ kayak
    assert query_words("the of and", STOPWORDS) == [] and fts_match([]) is None and s.lexical([], 10, build_filter()) == []


def test_not_a_store_is_a_clear_error(tmp_path):
    bad = tmp_path / "db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="not a memkit store"):
        SQLiteStore(bad)


def test_exact_nearest_in_a_small_scope_and_none_in_a_large_one(tmp_path):
    s = SQLiteStore(tmp_path / "db")
    rng = np.random.default_rng(0)
    vecs = rng.standard_normal((12, 4)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    notes = [Note(content=f"n{i}", user_id="a" if i < 8 else "b") for i in range(12)]
    s.write(WriteBatch(insert=list(zip(notes, vecs, strict=True))))
    q = vecs[:2] + 0.01
    got = s.nearest(q, 3, build_filter(user_id="a"), max_rows=8)
    for row, qv in zip(got, q, strict=True):
        want = sorted(range(8), key=lambda i: -float(vecs[i] @ qv))[:3]  # only user a's notes
        assert [nid for nid, _ in row] == [notes[i].id for i in want]
        assert [round(sim, 5) for _, sim in row] == [round(float(vecs[i] @ qv), 5) for i in want]
    assert s.nearest(q, 3, build_filter(user_id="a"), max_rows=7) is None  # 8 notes pass: left to the index
    assert s.nearest(q, 3, build_filter(user_id="nobody"), max_rows=7) == [[], []]


def test_candidates_read_features_of_the_notes_passing_the_filter(tmp_path):
    s = SQLiteStore(tmp_path / "db")
    a = Note(content="alpha", user_id="u", metadata={"speaker": "Ann"})
    b = Note(content="beta", user_id="v")
    _add(s, a, b)
    got = s.candidates([a.id, b.id, "missing"], build_filter(user_id="u"))
    assert list(got) == [a.id]
    assert got[a.id].content == "alpha" and got[a.id].speaker == "Ann"
    assert got[a.id].embedding.tolist() == [1.0] * 4
    assert got[a.id].valid_from_ts == a.valid_from.timestamp()
    assert set(s.candidates([a.id, b.id])) == {a.id, b.id}


def test_a_full_disk_is_a_store_error_and_keeps_every_committed_note(tmp_path):
    """SQLite's page limit stands in for a full disk: the failing chunk is rolled back, the rest stays."""
    from memkit import Memory

    cfg = {"embedder": {"kind": "hash", "model": "hash"}, "index": {"kind": "exact"}, "write_batch": 16}
    with Memory(tmp_path / "m", cfg) as mem:
        mem.add_many([f"kept note {i}" for i in range(20)], user_id="u")
        pages = mem.store.conn.execute("PRAGMA page_count").fetchone()[0]
        mem.store.conn.execute(f"PRAGMA max_page_count = {pages + 8}")
        with pytest.raises(StoreError, match="nothing of this change was kept: database or disk is full"):
            mem.add_many([f"a long note {i} " + "with many words " * 100 for i in range(300)], user_id="u")
        stored = mem.stats()
        assert 20 <= stored.notes < 320 and stored.vector_count == stored.notes
        mem.store.conn.execute("PRAGMA max_page_count = 1073741823")  # space again
        mem.add("written once there was space again", user_id="u")
    with Memory(tmp_path / "m", cfg) as mem:
        assert mem.stats().notes == stored.notes + 1
        assert all(mem.get(n.id).content for n in mem.store.iter_notes())
        assert mem.search("space again", k=1, user_id="u")[0].note.content == "written once there was space again"


def test_the_link_scope_of_a_user_uses_the_user_index_and_no_user_means_null(tmp_path):
    from memkit.filters import Filter

    s = SQLiteStore(tmp_path / "db")
    notes = [Note(content="a's", user_id="a"), Note(content="b's", user_id="b"), Note(content="nobody's")]
    _add(s, *notes)
    for owner, want in (("a", {notes[0].id}), ("", {notes[2].id})):
        where, params = where_sql(Filter(owner=owner))
        rows = s.conn.execute(f"SELECT id FROM notes WHERE {where}", params).fetchall()
        assert {r[0] for r in rows} == want
        plan = " ".join(str(r[-1]) for r in s.conn.execute(f"EXPLAIN QUERY PLAN SELECT id FROM notes WHERE {where}",
                                                           params))
        assert "notes_user" in plan  # an index search, not a scan of every note (linking runs this per chunk)


def test_resolve_id_takes_any_unique_prefix_as_git_does(tmp_path):
    from memkit.errors import InvalidInputError

    s = SQLiteStore(tmp_path / "db")
    a, b, c = "0198aaaa1111" + "0" * 20, "0198aaaa2222" + "0" * 20, "0198bbbb3333" + "0" * 20
    _add(s, Note(id=a, content="a"), Note(id=b, content="b"), Note(id=c, content="c"), Note(id="0198", content="d"))
    assert s.resolve_id(a) == a and s.resolve_id("0198aaaa1") == a and s.resolve_id("0198b") == c
    assert s.resolve_id("0198AAAA2") == b  # hex typed in capitals
    assert s.resolve_id("0198") == "0198"  # an exact id wins over the notes it is a prefix of
    with pytest.raises(InvalidInputError, match=r"id prefix '0198aaaa' is ambiguous: it matches 2 notes"):
        s.resolve_id("0198aaaa")
    with pytest.raises(NotFoundError, match=r"^no note with id '0198cccc'$"):
        s.resolve_id("0198cccc")
    with pytest.raises(NotFoundError, match="an id prefix needs at least 4 characters"):
        s.resolve_id("01")


def test_resolve_id_of_a_deleted_note_goes_through_its_history(tmp_path):
    s = SQLiteStore(tmp_path / "db")
    gone = "0198cccc" + "0" * 24
    s.write(WriteBatch(events=[NewEvent(gone, "delete", {}, None, datetime.now(timezone.utc), "user")]))
    with pytest.raises(NotFoundError):
        s.resolve_id("0198cc")
    assert s.resolve_id("0198cc", deleted=True) == gone


def test_short_ids_are_the_shortest_prefixes_that_resolve_back(tmp_path):
    s = SQLiteStore(tmp_path / "db")
    same_ms = ["0198aaaa1111" + "7" + "abc" + "0" * 16, "0198aaaa1111" + "7" + "abd" + "0" * 16]
    alone, user_given = "0198ffff" + "1" * 24, "my-note"
    _add(s, *(Note(id=i, content=i) for i in [*same_ms, alone, user_given]))
    short = s.short_ids([*same_ms, alone, user_given])
    assert short == {same_ms[0]: same_ms[0][:16], same_ms[1]: same_ms[1][:16], alone: alone[:8],
                     user_given: user_given}
    assert all(s.resolve_id(p) == i for i, p in short.items())


def test_a_users_bm25_search_ranks_only_that_users_matches_as_the_whole_store_would(tmp_path):
    s = SQLiteStore(tmp_path / "db")
    users = ["ann", "bo", "Ünal 7", None]
    notes = [Note(content=f"{w} kayak trip number {i}", user_id=u)
             for i, (w, u) in enumerate((w, u) for w in ("red", "blue", "green") for u in users)]
    _add(s, *notes)
    q = ["red", "kayak"]
    assert fts_match(q, "ann") == '("red" OR "kayak") AND scope_token:"u616e6e"'
    everyone = s.lexical(q, 50, build_filter())
    for user in ("ann", "bo", "Ünal 7"):
        mine = {n.id for n in notes if n.user_id == user}
        hits = s.lexical(q, 50, build_filter(user_id=user))
        # the same scores, in the same order, as the store-wide ranking cut to the user's notes
        assert hits == [h for h in everyone if h[0] in mine] and {h[0] for h in hits} == mine
    # the token of a note follows its user through an update of its text
    n0 = s.get(notes[0].id)
    s.write(WriteBatch(update=[n0.model_copy(update={"content": "a yellow canoe", "version": n0.version + 1})]))
    assert notes[0].id not in {h[0] for h in s.lexical(q, 50, build_filter(user_id="ann"))}
    assert [h[0] for h in s.lexical(["canoe"], 50, build_filter(user_id="ann"))] == [notes[0].id]


def test_a_store_written_before_the_user_token_gets_it_on_open_and_keeps_every_note(tmp_path):
    import sqlite3

    from memkit.stores.sqlite_sql import OLD_FTS

    path = tmp_path / "db"
    s = SQLiteStore(path)
    notes = [Note(content=f"note {i} about kayaks", user_id=u) for i, u in enumerate(["a", "b", "a"])]
    _add(s, *notes)
    s.conn.close()
    raw = sqlite3.connect(path)  # the layout of the previous version: no scope_token anywhere
    for statement in OLD_FTS:
        raw.execute(statement)
    raw.execute("ALTER TABLE notes DROP COLUMN scope_token")
    raw.executescript("""
CREATE VIRTUAL TABLE notes_fts USING fts5(
    content, search_extra, content='notes', content_rowid='seq', tokenize='porter unicode61 remove_diacritics 2');
CREATE TRIGGER notes_fts_ai AFTER INSERT ON notes BEGIN
    INSERT INTO notes_fts(rowid, content, search_extra) VALUES (new.seq, new.content, new.search_extra);
END;
INSERT INTO notes_fts(notes_fts) VALUES ('rebuild');
""")
    raw.commit()
    raw.close()
    s = SQLiteStore(path)
    assert "scope_token" in s.conn.execute("SELECT sql FROM sqlite_master WHERE name = 'notes_fts'").fetchone()[0]
    assert {h[0] for h in s.lexical(["kayaks"], 10, build_filter(user_id="a"))} == {notes[0].id, notes[2].id}
    later = Note(content="a later kayaks note", user_id="b")
    _add(s, later)
    assert {h[0] for h in s.lexical(["kayaks"], 10, build_filter(user_id="b"))} == {notes[1].id, later.id}
    assert s.count() == 4


def test_a_turn_stored_as_plain_text_has_a_speaker_unless_its_metadata_names_one(tmp_path):
    s = SQLiteStore(tmp_path / "db")
    plain = Note(content="Caroline: I researched adoption agencies", user_id="u")
    named = Note(content="Bo: hello", user_id="u", metadata={"speaker": "Melanie"})  # the field wins
    label = Note(content="Note: buy milk", user_id="u")
    other = Note(content="Dave: I sold my car", user_id="v")
    _add(s, plain, named, label, other)
    assert s.speakers(build_filter(user_id="u")) == {"Caroline", "Melanie"}
    feats = s.candidates([plain.id, named.id, label.id])
    assert (feats[plain.id].speaker, feats[named.id].speaker, feats[label.id].speaker) == ("Caroline", "Melanie", None)
