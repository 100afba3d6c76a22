"""One conformance suite for every registered note store (``memkit.registry.note_stores``)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from memkit.errors import EmbeddingMismatchError, NotFoundError, StoreError
from memkit.filters import Filter, build_filter
from memkit.protocols import NoteStore
from memkit.registry import note_stores
from memkit.types import Link, NewEvent, Note, WriteBatch

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


# how each store kind is configured for a test: the options it needs beyond its kind (a server's address)
_OPTIONS = {"postgres": lambda request: {"url": request.getfixturevalue("pg_url")}}


@pytest.fixture(params=note_stores.names())
def kind(request) -> str:
    return request.param


@pytest.fixture
def config(kind, request):
    options = _OPTIONS.get(kind, lambda request: {})(request)
    return note_stores.config_class(kind)(kind=kind, **options)


def _open(kind: str, folder, config):
    return note_stores.get(kind).open(folder, config)


def _elsewhere(kind: str, folder, config):
    """Where no store of ``kind`` is: another folder, or (a server's store) another schema of its database."""
    if "schema_name" in type(config).model_fields:
        return folder, config.model_copy(update={"schema_name": "elsewhere"})
    return folder / "elsewhere", config


@pytest.fixture
def store(kind, config, tmp_path):
    s = _open(kind, tmp_path, config)
    yield s
    s.close()


def _unit(*rows: list[float]) -> list[np.ndarray]:
    return [np.asarray(r, np.float32) / np.linalg.norm(r) for r in rows]


def _notes() -> list[Note]:
    return [
        Note(id="a" * 32, content="Alice moved to Lisbon with her cat Miso", user_id="u", session_id="s",
             metadata={"speaker": "Alice", "n": 1}, valid_from=T0),
        Note(id="b" * 32, content="Bob plays the cello on Sundays", user_id="u", session_id="s",
             metadata={"speaker": "Bob", "n": 2}, valid_from=T0 + timedelta(minutes=1)),
        Note(id="c" * 32, content="Carol's cat is called Miso too", user_id="v", metadata={"n": 3}, valid_from=T0),
    ]


def _fill(store) -> list[Note]:
    notes = _notes()
    vecs = _unit([1, 0, 0, 0], [0, 1, 0, 0], [0.9, 0.1, 0, 0])
    store.write(WriteBatch(insert=list(zip(notes, vecs, strict=True)),
                           events=[NewEvent(n.id, "add", None, {"content": n.content}, T0, "user") for n in notes]))
    return notes


def test_open_found_in_and_protocol(store, kind, config, tmp_path):
    cls = type(store)
    assert isinstance(store, NoteStore) and isinstance(cls.shared, bool)
    assert cls.found_in(tmp_path, config)
    folder, other = _elsewhere(kind, tmp_path, config)
    assert not cls.found_in(folder, other) and not cls.found_in(folder, other)  # asking creates nothing
    assert store.get_meta("memory_id")  # named once, at creation


def test_written_notes_read_back_whole(store):
    notes = _fill(store)
    assert store.count() == 3 and store.versions() == {n.id: 1 for n in notes}
    got = store.get(notes[0].id)
    assert got.model_dump() == notes[0].model_dump()
    assert set(store.get_many([notes[0].id, "missing"])) == {notes[0].id}
    assert store.exists(notes[1].id) and not store.exists("missing")
    assert store.existing([notes[1].id, "missing"]) == {notes[1].id}
    assert store.of_user([n.id for n in notes], "u") == {notes[0].id, notes[1].id}
    assert [n.id for n in store.iter_notes()] == [n.id for n in notes]  # insertion order
    assert [n.id for n in store.iter_notes(build_filter({"n": {"$gte": 2}}, include_superseded=True))] == \
        [notes[1].id, notes[2].id]
    assert np.allclose(store.embeddings([notes[0].id])[notes[0].id], [1, 0, 0, 0])
    assert store.counts() == {"notes": 3, "current_notes": 3, "links": 0, "history_events": 3, "users": 2}
    with pytest.raises(NotFoundError):
        store.get("missing")


def test_a_batch_is_all_or_nothing_and_moves_the_change_counter(store):
    notes = _fill(store)
    before = store.changes()
    with pytest.raises(StoreError):
        store.write(WriteBatch(insert=[(Note(content="new"), None), (notes[0], None)],
                               link=[Link(src=notes[0].id, dst=notes[1].id)]))
    assert store.count() == 3 and store.all_links() == [] and store.changes() == before
    store.write(WriteBatch(events=[NewEvent(notes[0].id, "update", None, None, T0, "user")], counts_as_change=False))
    assert store.changes() == before


def test_updates_links_deletes_and_history(store):
    notes = _fill(store)
    a, b, c = notes
    changed = a.model_copy(update={"content": "Alice moved to Porto", "version": 2, "user_id": "other",
                                   "retrieval_count": 7})
    store.write(WriteBatch(update=[changed], embeddings={a.id: _unit([0, 0, 1, 0])[0]}))
    got = store.get(a.id)
    assert got.content == "Alice moved to Porto" and got.version == 2
    assert got.user_id == "u" and got.retrieval_count == 0  # scope and access are not an update's to change
    assert np.allclose(store.embeddings([a.id])[a.id], [0, 0, 1, 0])
    with pytest.raises(NotFoundError):
        store.write(WriteBatch(update=[Note(id="z" * 32, content="never stored")]))
    res = store.write(WriteBatch(link=[Link(src=a.id, dst=b.id, kind="semantic"), Link(src=a.id, dst=b.id, kind="manual")]))
    assert res.links_added == 2 and store.get(b.id).links == [a.id]
    assert store.write(WriteBatch(link=[Link(src=a.id, dst=b.id, kind="manual")])).links_added == 0  # kept as it was
    assert store.write(WriteBatch(unlink=[(b.id, a.id, "manual")])).links_removed == 1  # either direction
    assert [lk.kind for lk in store.links_of(a.id)] == ["semantic"]
    store.write(WriteBatch(link=[Link(src=b.id, dst=c.id)]))
    store.write(WriteBatch(delete=[b.id], events=[NewEvent(b.id, "delete", {"content": b.content}, None, T0, "user")]))
    assert not store.exists(b.id) and store.all_links() == []  # its links went with it
    events = store.history(b.id)
    assert [e.event for e in events] == ["add", "delete"]
    store.write(WriteBatch(undone=[events[-1].id], counts_as_change=False))
    assert store.event(events[-1].id).undone and store.resolve_id(b.id[:8], deleted=True) == b.id
    with pytest.raises(NotFoundError):
        store.event(10_000)


def test_search_features(store):
    notes = _fill(store)
    a, b, c = notes
    everyone = build_filter(include_superseded=True)
    assert [i for i, _ in store.lexical(["cello", "sundays"], 5, everyone)] == [b.id]
    assert {i for i, _ in store.lexical(["miso"], 5, build_filter(user_id="u", include_superseded=True))} == {a.id}
    assert store.lexical([], 5, everyone) == []
    near = store.nearest(np.stack(_unit([1, 0, 0, 0])), 2, everyone, max_rows=10)
    assert [i for i, _ in near[0]] == [a.id, c.id] and abs(near[0][0][1] - 1.0) < 1e-5
    assert store.nearest(np.stack(_unit([1, 0, 0, 0])), 2, everyone, max_rows=2) is None  # left to the index
    assert [i for i, _ in store.nearest(np.stack(_unit([1, 0, 0, 0])), 5, Filter(owner="v"), 10)[0]] == [c.id]
    feats = store.candidates([a.id, c.id, "missing"], build_filter(user_id="u", include_superseded=True))
    assert list(feats) == [a.id] and feats[a.id].speaker == "Alice" and feats[a.id].session_id == "s"
    assert feats[a.id].valid_from_ts == T0.timestamp() and np.allclose(feats[a.id].embedding, [1, 0, 0, 0])
    assert store.speakers(build_filter(user_id="u")) == {"Alice", "Bob"}
    assert store.naming("u", "miso", 5) == [a.id]  # held by 2 notes of the store: rare enough
    assert store.naming("u", "miso", 1) is None
    assert store.last_in_session("s", user_id="u", agent_id=None) == (b.id, b.valid_from.timestamp())
    assert store.last_in_session("s", user_id="v", agent_id=None) is None


def test_ids_access_and_embedder(store):
    _fill(store)
    assert store.resolve_id("aaaa") == "a" * 32 and store.short_ids(["a" * 32]) == {"a" * 32: "a" * 8}
    store.record_access(["a" * 32], T0)
    got = store.get("a" * 32)
    assert got.retrieval_count == 1 and got.last_accessed == T0
    store.check_embedder("model-x", None)  # nothing recorded before the dimension is known
    store.check_embedder("model-x", 4)
    store.check_embedder("model-x", None)
    assert store.get_meta("embedder") == "model-x" and store.get_meta("dim") == "4"
    with pytest.raises(EmbeddingMismatchError):
        store.check_embedder("model-y", 4)


def test_the_vector_index_bookkeeping(store):
    notes = _fill(store)
    store.index_synced()
    assert store.index_in_step() and store.index_pending() == []
    store.write(WriteBatch(update=[notes[0].model_copy(update={"version": 2})], defer_index=[notes[0].id]))
    assert store.index_in_step() and store.index_pending() == [notes[0].id]  # in step but for the noted ids
    store.write(WriteBatch(delete=[notes[1].id], defer_index=[notes[1].id]))
    assert sorted(store.index_pending()) == sorted([notes[0].id, notes[1].id])
    store.clear_index_pending()
    assert store.index_pending() == []
    store.write(WriteBatch(link=[Link(src=notes[0].id, dst=notes[2].id)]))  # followed by no one: behind now
    assert not store.index_in_step()
    store.write(WriteBatch(delete=[notes[2].id], defer_index=[notes[2].id]))
    assert not store.index_in_step() and store.index_pending() == []  # behind already: a full reconcile will do


def test_reopening_keeps_everything(kind, config, tmp_path):
    s = _open(kind, tmp_path, config)
    notes = _fill(s)
    memory_id = s.get_meta("memory_id")
    s.close()
    again = _open(kind, tmp_path, config)
    try:
        assert [n.id for n in again.iter_notes()] == [n.id for n in notes]
        assert again.changes() >= 1 and again.get_meta("memory_id") == memory_id
        assert [e.note_id for e in again.iter_history()] == [n.id for n in notes]
    finally:
        again.close()


def test_nearest_with_no_row_limit_always_answers(store):
    notes = _fill(store)
    a, b, c = notes
    everyone = build_filter(include_superseded=True)
    query = np.stack(_unit([1, 0, 0, 0], [0, 1, 0, 0]))
    near = store.nearest(query, 2, everyone, max_rows=None)
    assert [[i for i, _ in hits] for hits in near] == [[a.id, c.id], [b.id, c.id]]
    assert abs(near[0][0][1] - 1.0) < 1e-5 and abs(near[0][1][1] - 0.9938837) < 1e-5
    assert near == store.nearest(query, 2, everyone, max_rows=10)  # the same answer as an exact search
    assert [i for i, _ in store.nearest(query[:1], 5, Filter(owner="v"), None)[0]] == [c.id]
    assert [i for i, _ in store.nearest(query[:1], 5, build_filter({"n": {"$gte": 2}}, include_superseded=True),
                                        None)[0]] == [c.id, b.id]
    assert store.nearest(query[:1], 5, Filter(owner="nobody"), None) == [[]]
    store.write(WriteBatch(insert=[(Note(content="no embedding yet", user_id="w"), None)]))
    assert store.nearest(query[:1], 5, Filter(owner="w"), None) == [[]]  # a note without an embedding is not ranked


def test_within_walks_links_in_the_users_notes(store):
    notes = _fill(store)
    a, b, c = notes
    d = Note(id="d" * 32, content="Dan is Bob's brother", user_id="u")
    e = Note(id="e" * 32, content="Eve is Dan's friend", user_id="u")
    f = Note(id="f" * 32, content="Fay is nobody's", user_id=None)
    g = Note(id="0" * 32, content="Gus is nobody's either", user_id=None)
    store.write(WriteBatch(insert=[(d, None), (e, None), (f, None), (g, None)], link=[
        Link(src=a.id, dst=b.id), Link(src=d.id, dst=b.id, kind="sequence"),  # a - b - d - e, either direction
        Link(src=d.id, dst=e.id), Link(src=b.id, dst=c.id),  # c is another user's: never entered
        Link(src=c.id, dst=e.id), Link(src=a.id, dst=f.id), Link(src=f.id, dst=g.id),
        Link(src=e.id, dst=a.id, kind="manual"),  # a cycle back to the start
    ]))
    assert store.within(a.id, 0, "u") == {}
    assert store.within(a.id, 1, "u") == {b.id: 1, e.id: 1}
    assert store.within(a.id, 2, "u") == {b.id: 1, e.id: 1, d.id: 2}  # d at its shortest distance, the start left out
    assert store.within(a.id, 5, "u") == {b.id: 1, e.id: 1, d.id: 2}
    assert store.within(a.id, 3, None) == {f.id: 1, g.id: 2}  # None: notes of no user
    assert store.within(c.id, 2, "v") == {}  # its neighbours are all another user's
    assert store.within(c.id, 2, "u") == {b.id: 1, e.id: 1, a.id: 2, d.id: 2}  # the start's own user is not asked
    assert store.within("missing", 2, "u") == {}
    store.write(WriteBatch(delete=[b.id]))
    assert store.within(a.id, 2, "u") == {e.id: 1, d.id: 2}
