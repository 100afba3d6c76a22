"""Memory behaviour through the real parts: SQLite, Chroma and the bundled MiniLM embedder."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from memkit import Memory
from memkit.errors import EmbeddingMismatchError, InvalidInputError, NotFoundError

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


def test_persistence_across_processes(tmp_path):
    store = tmp_path / "m"
    with Memory(store) as mem:
        note = mem.add("Alice moved to Lisbon in May", user_id="u1", metadata={"src": "chat"})
        mem.add("Bob is learning the cello", user_id="u1")
    code = (
        "import json, sys\n"
        "from memkit import Memory\n"
        f"m = Memory({str(store)!r})\n"
        "hits = m.search('Where does Alice live?', k=1, user_id='u1')\n"
        "print(json.dumps({'id': hits[0].note.id, 'count': hits[0].note.retrieval_count, 'n': m.stats().notes}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got == {"id": note.id, "count": 1, "n": 2}
    with Memory(store) as mem:  # reopening resets nothing: the counter written by the other process is there
        again = mem.get(note.id)
        assert again.retrieval_count == 1 and again.last_accessed is not None
        assert again.metadata == {"src": "chat"}


def test_links_are_by_id_bidirectional_and_survive_restart(tmp_path):
    store = tmp_path / "m"
    with Memory(store) as mem:
        a = mem.add("Maya adopted a cat named Miso who needs a kidney diet", user_id="u")
        b = mem.add("The vet says Miso the cat must stay on the kidney diet", user_id="u")
        c = mem.add("Quarterly tax forms are due in April", user_id="u")
        assert a.id in mem.get(b.id).links and b.id in mem.get(a.id).links
        assert c.id not in mem.get(a.id).links
    with Memory(store) as mem:
        assert [n.id for n in mem.related(a.id)] == [b.id]
        assert b.id in mem.get(a.id).links
        link_events = [e for e in mem.history(b.id) if e.event == "link"]
        assert link_events and link_events[0].after["dst"] == a.id


def test_evolution_is_recorded_and_undoable(real_mem):
    a = real_mem.add("Planning a hiking trip to the Alps with Sam", user_id="u")
    b = real_mem.add("Sam bought new hiking boots for the Alps trip", user_id="u")
    evolved = [e for e in real_mem.history(a.id) if e.event == "evolve"]
    assert evolved, "the newer note should add shared tags to its neighbour"
    ev = evolved[0]
    assert ev.before["tags"] != ev.after["tags"] and set(ev.before["tags"]) < set(ev.after["tags"])
    assert ev.reason == f"evolved by note {b.id}"
    current = real_mem.get(a.id)
    assert current.tags == ev.after["tags"] and current.version == 2
    real_mem.undo(ev.id)
    restored = real_mem.get(a.id)
    assert restored.tags == ev.before["tags"] and restored.version == 3
    assert real_mem.history(a.id)[-1].event == "undo"
    with pytest.raises(InvalidInputError, match="already undone"):
        real_mem.undo(ev.id)


def test_supersession_closes_old_note_and_search_prefers_current(real_mem):
    old = real_mem.add("Alice lives in Lisbon", user_id="u", valid_from=T0)
    new = real_mem.add("Alice lives in Porto now", user_id="u", supersedes=old.id, valid_from=T0 + timedelta(days=30))
    closed = real_mem.get(old.id)
    assert closed.valid_to == new.valid_from and not closed.is_current
    assert [h.note.id for h in real_mem.search("Where does Alice live?", k=5, user_id="u")] == [new.id]
    ids = {h.note.id for h in real_mem.search("Where does Alice live?", k=5, user_id="u", include_superseded=True)}
    assert ids == {old.id, new.id}
    then = [h.note.id for h in real_mem.search("Where does Alice live?", k=5, user_id="u",
                                                as_of=T0 + timedelta(days=1))]
    assert then == [old.id]
    sup = [e for e in real_mem.history(old.id) if e.event == "supersede"][0]
    assert sup.after["superseded_by"] == new.id
    real_mem.undo(sup.id)
    assert real_mem.get(old.id).valid_to is None


@pytest.mark.parametrize("exact_below", [0, 2000], ids=["vector index", "exact in SQLite"])
def test_current_notes_are_found_when_most_near_neighbours_are_closed(tmp_path, exact_below):
    # in the vector index the validity window is checked after the search; with nearly every near note
    # closed the search must still return the current ones (the index is asked again with the whole filter)
    cfg = {"retrieval": {"candidates": 8, "lexical": False, "graph": False}, "index": {"exact_below": exact_below}}
    with Memory(tmp_path / "m", cfg) as mem:
        old = mem.add_many([{"content": f"Alice lives in Lisbon, flat {i}", "valid_from": T0} for i in range(20)],
                           user_id="u")
        for n in old:
            mem.update(n.id, valid_to=T0 + timedelta(days=1))
        current = mem.add("Gardening tips for tomatoes", user_id="u")
        hits = mem.search("Where does Alice live in Lisbon?", k=3, user_id="u")
        assert [h.note.id for h in hits] == [current.id]
        assert len(mem.search("Where does Alice live in Lisbon?", k=3, user_id="u", include_superseded=True)) == 3


def test_scope_isolation_with_graph_expansion(real_mem):
    mine = real_mem.add_many(["My dentist appointment is on Friday", "The dentist said to floss daily"], user_id="a")
    theirs = real_mem.add_many(["My dentist appointment moved to Monday", "Dentist bills are expensive"], user_id="b")
    for query in ("dentist appointment", "floss", "bills"):
        got = {h.note.user_id for h in real_mem.search(query, k=10, user_id="a")}
        assert got <= {"a"}
    # links never cross users, so the graph cannot carry one user's note to another
    for n in mine:
        assert not set(real_mem.get(n.id).links) & {t.id for t in theirs}
    assert {h.note.id for h in real_mem.search("dentist", k=10, user_id="b")} == {t.id for t in theirs}


def test_metadata_filters_inside_the_stores(real_mem):
    real_mem.add_many([{"content": f"meeting note number {i} about the budget", "metadata": {"n": i, "kind": k}}
                       for i, k in enumerate(["a", "b", "a", "b", "a"])], user_id="u")
    hits = real_mem.search("budget meeting", k=10, user_id="u", filters={"kind": "a", "n": {"$gte": 2}})
    assert sorted(h.note.metadata["n"] for h in hits) == [2, 4]
    hits = real_mem.search("budget meeting", k=10, user_id="u", filters={"n": {"$in": [1, 3]}})
    assert sorted(h.note.metadata["n"] for h in hits) == [1, 3]


def test_hybrid_beats_dense_only_on_a_lexical_query(tmp_path):
    import random

    rng = random.Random(7)
    codes = rng.sample(range(10000, 99999), 40)
    clients = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wayne"]
    facts = [f"Invoice {c} for the consulting work was paid by {rng.choice(clients)}" for c in codes]
    dense_cfg = {"retrieval": {"lexical": False, "graph": False, "recency": False}}
    with Memory(tmp_path / "dense", dense_cfg) as dense, Memory(tmp_path / "hybrid") as hybrid:
        dense.add_many(facts)
        hybrid.add_many(facts)
        queries = [(f"who paid invoice {c}?", f"Invoice {c} ") for c in codes]
        d = sum(dense.search(q, k=1)[0].note.content.startswith(want) for q, want in queries) / len(queries)
        h = sum(hybrid.search(q, k=1)[0].note.content.startswith(want) for q, want in queries) / len(queries)
    assert h == 1.0
    assert d < 0.9, f"dense-only should confuse similar invoice numbers (got {d})"


def test_reconciliation_after_vector_index_is_deleted(tmp_path):
    store = tmp_path / "m"
    with Memory(store) as mem:
        notes = mem.add_many([f"note {i}: the quick brown fox number {i}" for i in range(30)])
    shutil.rmtree(store / "chroma")
    with Memory(store) as mem:
        assert mem.index.count() == 30
        assert mem.search("fox number 7", k=1)[0].note.id == notes[7].id
        assert mem.reindex() == 30


def test_embedding_model_mismatch_is_an_error(tmp_path):
    store = tmp_path / "m"
    with Memory(store) as mem:
        mem.add("hello")
    with pytest.raises(EmbeddingMismatchError, match="all-MiniLM-L6-v2"):
        Memory(store, {"embedder": {"kind": "hash", "model": "hash"}})


def test_update_reembeds_and_delete_keeps_history(real_mem):
    n = real_mem.add("The meeting is on Tuesday", user_id="u")
    u = real_mem.update(n.id, content="The standup moved to Thursday morning")
    assert u.version == 2 and u.keywords != n.keywords
    assert real_mem.search("standup Thursday", k=1, user_id="u")[0].note.id == n.id
    ev = real_mem.history(n.id)[-1]
    assert ev.event == "update" and ev.before["content"] == "The meeting is on Tuesday"
    real_mem.delete(n.id)
    with pytest.raises(NotFoundError):
        real_mem.get(n.id)
    assert real_mem.search("standup Thursday", k=5, user_id="u") == []
    deleted = real_mem.history(n.id)[-1]
    assert deleted.event == "delete"
    real_mem.undo(deleted.id)
    assert real_mem.get(n.id).content == "The standup moved to Thursday morning"
    assert real_mem.search("standup Thursday", k=1, user_id="u")[0].note.id == n.id


def test_export_import_round_trip(tmp_path):
    with Memory(tmp_path / "a") as a:
        notes = a.add_many(["Ines lives in Porto", "Ines is my sister and lives in Porto"], user_id="u",
                           metadata={"src": "x"})
        assert a.export(tmp_path / "out.jsonl") == 2
    with Memory(tmp_path / "b") as b:
        assert b.import_(tmp_path / "out.jsonl") == 2
        assert b.import_(tmp_path / "out.jsonl") == 0  # idempotent
        got = b.get(notes[1].id)
        assert got.metadata == {"src": "x"} and got.links == [notes[0].id]
        assert b.search("sister", k=1, user_id="u")[0].note.id == notes[1].id


def test_import_in_windows_and_chunks_keeps_every_note_and_vector(tmp_path):
    with Memory(tmp_path / "a") as a:
        notes = a.add_many([f"note {i} about the {w} garden" for i, w in enumerate("red green blue old new".split())])
        a.export(tmp_path / "out.jsonl")
        want = a.store.embeddings([n.id for n in notes])
    with Memory(tmp_path / "c", {"embedder": {"window": 2}, "write_batch": 1}) as c:
        assert c.import_(tmp_path / "out.jsonl") == len(notes)
        got = c.store.embeddings([n.id for n in notes])
        assert all(float(got[n.id] @ want[n.id]) > 0.999 for n in notes)
        assert c.index.count() == len(notes)


def test_bad_input_is_rejected_and_loses_nothing(real_mem):
    keep = real_mem.add("keep me", user_id="u")
    mine = real_mem.add("a second note of mine", user_id="u")
    theirs = real_mem.add("someone else's note", user_id="v")
    before = real_mem.stats()
    for call, message in [
        (lambda: real_mem.add(""), "content"),
        (lambda: real_mem.add(123), "content must be a string"),
        (lambda: real_mem.add_many(["fine", {"content": "x", "bogus": 1}]), "item 1: unknown field"),
        (lambda: real_mem.add_many(["fine", {"content": "x", "valid_from": "2024-01-01T00:00:00"}]),
         "item 1: valid_from"),
        (lambda: real_mem.add_many("not a list"), "list of strings or dicts"),
        (lambda: real_mem.add("x", supersedes="nope"), "no note with id 'nope'"),
        (lambda: real_mem.search(""), "query"),
        (lambda: real_mem.search("x", k=0), "k must be"),
        (lambda: real_mem.search("x", filters={"a": {"$bad": 1}}), "unknown operator"),
        (lambda: real_mem.get("missing"), "no note with id"),
        (lambda: real_mem.update(keep.id, color="red"), "cannot update field"),
        (lambda: real_mem.update(keep.id, content="  "), "content"),
        (lambda: real_mem.related(keep.id, depth=0), "depth"),
        (lambda: real_mem.link(keep.id, theirs.id), "different users"),  # related() would cross users
        (lambda: real_mem.add("x", user_id="u", links=[theirs.id]), "another user"),
        (lambda: real_mem.link(keep.id, keep.id), "itself"),
        (lambda: real_mem.add_many([{"id": "me", "content": "x", "supersedes": "me"}]), "itself"),
        (lambda: real_mem.link(keep.id, mine.id, weight=5), "weight: Input should be less than or equal to 1"),
    ]:
        with pytest.raises((InvalidInputError, NotFoundError), match=message):
            call()
    after = real_mem.stats()
    assert (after.notes, after.links, after.history_events) == (before.notes, before.links, before.history_events)
    assert real_mem.get(keep.id).content == "keep me"


def test_stats_and_related_depth(real_mem):
    notes = real_mem.add_many(
        [{"content": t, "session_id": "s1", "metadata": {"speaker": "Ann"}} for t in
         ["hi there", "I started pottery classes", "the teacher is great", "see you soon"]], user_id="u")
    # session turns are chained by sequence links: 0-1-2-3
    seq = {(lk.src, lk.dst) for n in notes for lk in real_mem.store.links_of(n.id) if lk.kind == "sequence"}
    assert seq == {(notes[i + 1].id, notes[i].id) for i in range(3)}
    assert notes[1].id in {n.id for n in real_mem.related(notes[0].id, depth=1)}
    assert {n.id for n in real_mem.related(notes[0].id, depth=3)} == {n.id for n in notes[1:]}
    s = real_mem.stats()
    assert s.notes == 4 and s.links >= 3 and s.vector_count == 4 and s.dim == 384


def test_speaker_and_time_aware_notes(real_mem):
    n = real_mem.add("I went to a support group yesterday", metadata={"speaker": "Caroline"},
                     valid_from=datetime(2023, 5, 8, 13, 56, tzinfo=timezone.utc))
    assert "Caroline" in n.context and "8 May 2023" in n.context
    assert real_mem.search("Caroline May 2023", k=1)[0].note.id == n.id


def test_search_on_an_empty_store_returns_nothing(real_mem, fast_mem):
    assert real_mem.search("anything at all", k=5) == []
    assert fast_mem.search("anything at all", k=5, user_id="u") == []
    assert real_mem.stats().notes == 0


def test_notes_by_or_about_a_person_the_question_names_are_boosted_and_listed_best_first(real_mem):
    real_mem.add_many([
        {"content": "I moved to a flat in Porto near the river", "metadata": {"speaker": "Maya"}},
        {"content": "My flat in Porto has a view of the river", "metadata": {"speaker": "Maya"}},
        {"content": "I bought a bike to ride along the river", "metadata": {"speaker": "Maya"}},
        {"content": "Maya lives in Porto.", "metadata": {"speaker": "memkit"}},
        {"content": "Tom lives in Lisbon.", "metadata": {"speaker": "memkit"}},
    ], user_id="u")
    real_mem.config.retrieval.update_access = False

    def scores(boost):
        real_mem.config.retrieval.speaker_boost = boost
        hits = real_mem.search("Where does Maya live?", k=5, user_id="u")
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        return {h.note.content: h.score for h in hits}

    on, off = scores(1.0), scores(0.0)
    assert next(iter(on)) == "Maya lives in Porto."
    # Maya's own notes and a note naming her (written by someone else) are boosted alike; Tom's is not
    for text in on:
        expected = 1.0 if text.startswith("Tom") else 2.0
        assert on[text] / off[text] == pytest.approx(expected, rel=1e-4), text


def test_a_question_about_the_present_prefers_the_newest_matching_note(real_mem):
    def month(m):
        return datetime(2024, m, 1, tzinfo=timezone.utc)

    notes = real_mem.add_many([
        {"content": "I live in a small flat in Lisbon near the castle", "valid_from": month(1)},
        {"content": "My brother has a house in Madrid with his wife", "valid_from": month(2)},
        {"content": "Work was busy this week, lots of meetings", "valid_from": month(4)},
        {"content": "I live in Porto now, the flat is bigger", "valid_from": month(9)},
    ], user_id="u", metadata={"speaker": "Maya"})
    lisbon, porto = notes[0].id, notes[3].id
    real_mem.config.retrieval.update_access = False

    def ranked(query, present):
        real_mem.config.retrieval.present_weight = present
        return [(h.note.id, h.score) for h in real_mem.search(query, k=4, user_id="u")]

    # a question about the present lifts the newest matching note over the older one ...
    now_on, now_off = [i for i, _ in ranked("Where does Maya live now?", 0.5)], [i for i, _ in ranked("Where does Maya live now?", 0.0)]
    assert now_on.index(porto) < now_on.index(lisbon)
    assert now_off.index(porto) > now_off.index(lisbon)
    # ... and a question that does not ask about the present is left alone
    assert ranked("Where does Maya live?", 0.5) == ranked("Where does Maya live?", 0.0)


def test_short_chat_turns_are_down_weighted_but_short_standalone_notes_are_not(real_mem):
    when = datetime(2024, 5, 1, tzinfo=timezone.utc)
    fact, turn = real_mem.add_many([
        {"content": "Maya is vegetarian.", "valid_from": when},  # a fact stored on its own, mem0-style
        {"content": "Maya is vegetarian.", "valid_from": when, "session_id": "chat-1"},  # the same words in a chat
    ], user_id="u")
    real_mem.config.retrieval.update_access = False
    real_mem.config.retrieval.informative_terms = 4  # off by default: it did not earn its place on LongMemEval

    def scores():
        return {h.note.id: h.score for h in real_mem.search("Is Maya vegetarian?", k=2, user_id="u")}

    s = scores()
    assert s[fact.id] > 1.3 * s[turn.id]  # two content words: the chat turn keeps 3/5 of its fused score
    real_mem.config.retrieval.informative_terms = 0
    s = scores()
    assert abs(s[fact.id] - s[turn.id]) < 0.05 * s[fact.id]


def test_add_many_windows_and_chunks_do_not_change_what_is_stored(tmp_path):
    """Embedding windows and write chunks are a speed matter: order, vectors and session links stay the same."""
    turns = [{"content": f"turn {i}: {w} talked about the garden and the {w} tomatoes", "session_id": f"s{i % 2}",
              "user_id": "u"} for i, w in enumerate(["red", "green", "yellow", "small", "big", "old", "new"] * 2)]
    stored = {}
    for name, cfg in {"one": {}, "many": {"embedder": {"window": 4}, "write_batch": 3}}.items():
        with Memory(tmp_path / name, cfg) as mem:
            notes = mem.add_many(turns)
            assert [n.content for n in notes] == [t["content"] for t in turns]
            vecs = mem.store.embeddings([n.id for n in notes])
            seq = {(mem.get(lk.src).content, mem.get(lk.dst).content) for n in notes for lk in mem.store.links_of(n.id)
                   if lk.kind == "sequence"}
            stored[name] = ([vecs[n.id] for n in notes], seq)
    assert stored["one"][1] == stored["many"][1]
    assert len(stored["one"][1]) == len(turns) - 2  # each turn after the first of its session links to the one before
    for a, b in zip(stored["one"][0], stored["many"][0], strict=True):
        assert float(a @ b) > 0.999


# -- one user's notes stay one user's: session links ----------------------------------------------------------------
def _sequence_links(mem):
    return {(lk.src, lk.dst) for lk in mem.store.all_links() if lk.kind == "sequence"}


def test_session_links_never_join_two_users_or_two_agents(real_mem, tmp_path):
    from click.testing import CliRunner

    from memkit.cli.main import cli

    a = real_mem.add("trip to Rome", user_id="u1", session_id="chat-1")
    pin = real_mem.add("My bank PIN is 4321", user_id="u2", session_id="chat-1")
    planner = real_mem.add("I booked a hotel near the Colosseum", user_id="u1", agent_id="planner", session_id="chat-1")
    booker = real_mem.add("I booked the flights to Rome", user_id="u1", agent_id="booker", session_id="chat-1")
    a2 = real_mem.add("we land at noon", user_id="u1", session_id="chat-1")
    planner2 = real_mem.add("the hotel has a rooftop pool", user_id="u1", agent_id="planner", session_id="chat-1")
    # each conversation (session, user, agent) is chained on its own
    assert _sequence_links(real_mem) == {(a2.id, a.id), (planner2.id, planner.id)}  # booker's and u2's: alone
    assert booker.id not in {i for pair in _sequence_links(real_mem) for i in pair}
    assert pin.id not in {n.id for n in real_mem.related(a.id, depth=5)}
    res = CliRunner().invoke(cli, ["--store", str(real_mem.path), "related", a.id, "--depth", "5"],
                             catch_exceptions=False)
    assert res.exit_code == 0 and "PIN" not in res.output
    # one add_many call holding several users' turns of one session is chained per user too
    turns = real_mem.add_many([{"content": "hello, this is u3", "user_id": "u3"},
                               {"content": "hello, this is u4", "user_id": "u4"},
                               {"content": "u3 again", "user_id": "u3"},
                               {"content": "u4 again", "user_id": "u4"}], session_id="chat-2")
    assert _sequence_links(real_mem) - {(a2.id, a.id), (planner2.id, planner.id)} == {
        (turns[2].id, turns[0].id), (turns[3].id, turns[1].id)}


def _cross_user_store(path):
    """A store as earlier versions wrote it: a session link joining two users' notes (and two agents')."""
    from memkit.types import Link, WriteBatch

    mem = Memory(path)
    a = mem.add("trip to Rome", user_id="u1", session_id="chat-1")
    pin = mem.add("My bank PIN is 4321", user_id="u2", session_id="chat-1")
    x = mem.add("the planner agent's note", user_id="u1", agent_id="planner", session_id="s")
    y = mem.add("the booker agent's note", user_id="u1", agent_id="booker", session_id="s")
    mem.store.write(WriteBatch(link=[Link(src=pin.id, dst=a.id, kind="sequence", weight=0.8, actor="memkit"),
                                     Link(src=y.id, dst=x.id, kind="sequence", weight=0.8, actor="memkit")]))
    mem.graph.invalidate()
    return mem, a, pin, x, y


def test_related_and_search_never_cross_users_even_through_a_stored_cross_user_link(tmp_path):
    mem, a, pin, _, _ = _cross_user_store(tmp_path / "m")
    with mem:
        assert (pin.id, a.id) in _sequence_links(mem)  # the link is there (the repair runs when a store is opened)
        assert [n.id for n in mem.related(a.id, depth=3)] == []
        assert [n.id for n in mem.related(pin.id, depth=3)] == []
        for query in ("trip to Rome", "bank PIN", "Rome"):  # graph expansion keeps only notes passing the filter
            hits = mem.search(query, k=10, user_id="u1")
            assert hits and {h.note.user_id for h in hits} == {"u1"}
        assert {h.note.user_id for h in mem.search("trip to Rome", k=10, user_id="u2")} <= {"u2"}


def test_cross_scope_session_links_are_removed_once_on_open_with_history_and_a_log_line(tmp_path, caplog):
    mem, a, pin, x, y = _cross_user_store(tmp_path / "m")
    with mem:
        mem.store.conn.execute("DELETE FROM meta WHERE key = 'sequence_scope'")  # a store written before the repair
        events_before = mem.stats().history_events
    with caplog.at_level("WARNING"), Memory(tmp_path / "m") as mem:
        assert _sequence_links(mem) == set()
        assert "removed 2 session link(s) that joined notes of different users or agents" in caplog.text
        unlinks = [e for e in mem.history(pin.id) + mem.history(y.id) if e.event == "unlink"]
        assert {(e.note_id, e.before["dst"], e.actor) for e in unlinks} == {(pin.id, a.id, "memkit"),
                                                                            (y.id, x.id, "memkit")}
        assert mem.stats().history_events == events_before + 2
        with pytest.raises(InvalidInputError, match="different users"):  # undoing it cannot bring it back
            mem.undo(next(e.id for e in unlinks if e.note_id == pin.id))
    caplog.clear()
    with caplog.at_level("WARNING"), Memory(tmp_path / "m") as mem:  # once: no second scan, no second event
        assert "session link" not in caplog.text
        assert mem.stats().history_events == events_before + 2


# -- text that cannot be stored is one clear error, and nothing is written -------------------------------------------
def _unchanged(mem, before):
    after = mem.stats()
    return (after.notes, after.links, after.history_events) == (before.notes, before.links, before.history_events)


def test_undecodable_text_and_nul_characters_are_one_invalid_input_error_naming_the_item(real_mem, tmp_path):
    from memkit.errors import FilterError
    from memkit.porting import FORMAT

    keep = real_mem.add("keep me", user_id="u")
    before = real_mem.stats()
    surrogate = r"contains an unpaired surrogate \('\\ud800'\) at position 4, which is not valid Unicode text"
    for call, message in [
        (lambda: real_mem.add("bad \ud800"), f"^item 0: content: {surrogate}"),
        (lambda: real_mem.add_many(["fine", "also fine", "still fine", "bad \ud800 text"], user_id="u"),
         f"^item 3: content: {surrogate}"),
        (lambda: real_mem.add("fine", keywords=["ok", "bad \ud800"]), f"^item 0: keywords: entry 1 {surrogate}"),
        (lambda: real_mem.add("fine", tags=["bad \udc80"]), r"^item 0: tags: entry 0 contains an unpaired surrogate"),
        (lambda: real_mem.add("fine", context="bad \ud800"), f"^item 0: context: {surrogate}"),
        (lambda: real_mem.add("fine", user_id="bad \ud800"), f"^item 0: user_id: {surrogate}"),
        (lambda: real_mem.add_many(["fine"], session_id="bad \ud800"), f"^item 0: session_id: {surrogate}"),
        (lambda: real_mem.add("fine", metadata={"src": {"deep": ["ok", "bad \ud800"]}}),
         rf"^item 0: metadata: value \['src'\]\['deep'\]\[1\] {surrogate}"),
        (lambda: real_mem.add("fine", metadata={"src": "bad \ud800"}), rf"^item 0: metadata: value \['src'\] {surrogate}"),
        (lambda: real_mem.update(keep.id, content="bad \ud800"), f"^cannot update note {keep.id}: content: {surrogate}"),
        (lambda: real_mem.search("bad \ud800"), f"^query {surrogate}"),
        # NUL: C code (SQLite's functions, Chroma's filters) ends a string there: user 'u\x00v' matched user 'u'
        (lambda: real_mem.add("bad \x00 text"), r"^item 0: content: contains a NUL character \('\\x00'\) at position 4$"),
        (lambda: real_mem.add("fine", user_id="u\x00v"), r"^item 0: user_id: contains a NUL character"),
        (lambda: real_mem.add("fine", metadata={"k": ["a\x00b"]}), r"^item 0: metadata: value \['k'\]\[0\] contains a NUL"),
        (lambda: real_mem.update(keep.id, tags=["x\x00"]), r"tags: entry 0 contains a NUL character"),
    ]:
        with pytest.raises(InvalidInputError, match=message):
            call()
    with pytest.raises(FilterError, match=r"^user_id contains a NUL character"):
        real_mem.search("keep", user_id="u\x00v")
    with pytest.raises(FilterError, match=r"^filter on 'src': the value contains an unpaired surrogate"):
        real_mem.search("keep", filters={"src": "bad \ud800"})
    # an import: the JSONL escape "\ud800" decodes to a lone surrogate; the error names the line
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps({"format": FORMAT}) + "\n" + json.dumps({"note": {"content": "fine"}}) + "\n"
                    + '{"note": {"content": "bad \\ud800"}}\n', encoding="utf-8")
    with pytest.raises(InvalidInputError, match=f"^{path}:3: content: {surrogate}"):
        real_mem.import_(path)
    assert _unchanged(real_mem, before)
    assert real_mem.get(keep.id).content == "keep me" and real_mem.get(keep.id).version == 1


def test_notes_stored_before_the_text_rules_still_read_update_and_restore(real_mem):
    import numpy as np

    from memkit.types import Note, WriteBatch

    # written by an earlier version: NUL in the content, metadata keys no filter can name
    old = Note.model_construct(**{**Note(content="x").model_dump(), "content": "old\x00note about gardening",
                                  "metadata": {"x.y": 1, "with space": "v", "ok": 2}})
    real_mem.store.write(WriteBatch(insert=[(old, np.ones(384, np.float32) / np.sqrt(384))]))
    got = real_mem.get(old.id)
    assert got.content == "old\x00note about gardening" and got.metadata == {"x.y": 1, "with space": "v", "ok": 2}
    updated = real_mem.update(old.id, tags=["garden"])  # the stored fields are kept as they are
    assert updated.tags == ["garden"] and updated.metadata == got.metadata and updated.content == got.content
    real_mem.delete(old.id)
    real_mem.undo(real_mem.history(old.id)[-1].id)
    assert real_mem.get(old.id).metadata == got.metadata
    assert [h.note.id for h in real_mem.search("gardening", k=1, filters={"ok": 2})] == [old.id]


# -- metadata keys: one rule for writing and filtering ----------------------------------------------------------------
@pytest.mark.parametrize("key", ['a"b', "x.y", "$in", "with space", "", "k" * 129, "-lead", "x\n", "ключ"])
def test_metadata_keys_no_filter_can_name_are_refused_on_write_with_the_rule(real_mem, key):
    from memkit.errors import FilterError

    keep = real_mem.add("keep me", user_id="u", metadata={"ok": 1})
    before = real_mem.stats()
    rule = r"keys are 1-128 letters, digits, '_' or '-', starting with a letter, digit or '_'"
    for call in (lambda: real_mem.add("x", metadata={key: 1}),
                 lambda: real_mem.add_many(["y"], metadata={key: 1}),
                 lambda: real_mem.update(keep.id, metadata={"ok": 1, key: 1})):
        with pytest.raises(InvalidInputError, match=rf"metadata: key {re.escape(repr(key))} is not allowed: {rule}"):
            call()
    with pytest.raises(FilterError, match=rf"bad filter key {re.escape(repr(key))}: {rule}"):
        real_mem.search("keep", filters={key: 1})
    assert _unchanged(real_mem, before)


def test_nested_metadata_keys_are_free_and_only_top_level_keys_filter(real_mem):
    n = real_mem.add("a note with nested metadata", user_id="u",
                     metadata={"src": {"x.y": 1, "any key": [1, {"$in": "v"}]}, "n": 3})
    assert real_mem.get(n.id).metadata == {"src": {"x.y": 1, "any key": [1, {"$in": "v"}]}, "n": 3}
    assert [h.note.id for h in real_mem.search("nested metadata", k=1, filters={"n": 3})] == [n.id]


def test_import_of_an_export_with_unfilterable_keys_names_the_line(real_mem, tmp_path):
    from memkit.porting import FORMAT

    path = tmp_path / "old.jsonl"
    path.write_text(json.dumps({"format": FORMAT}) + "\n" + json.dumps({"note": {"content": "fine", "metadata": {
        "ok": 1}}}) + "\n" + json.dumps({"note": {"content": "old", "metadata": {"x.y": 1}}}) + "\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match=rf"^{path}:3: metadata: key 'x\.y' is not allowed: keys are 1-128"):
        real_mem.import_(path)
    assert real_mem.stats().notes == 0


# -- the size of a note --------------------------------------------------------------------------------------------------
def test_content_above_the_maximum_size_is_refused_and_a_note_at_the_maximum_is_built(tmp_path):
    from memkit.config import MemkitConfig

    assert MemkitConfig().notes.max_content_chars == 1_000_000
    with Memory(tmp_path / "small", {"notes": {"max_content_chars": 1000}}) as mem:
        at_max = mem.add("w" * 1000, user_id="u")
        with pytest.raises(InvalidInputError, match=r"^item 1: content is 1,001 characters, more than the maximum of "
                                                    r"1,000 \(notes.max_content_chars in the store's config.toml\)"):
            mem.add_many(["fine", "w" * 1001])
        with pytest.raises(InvalidInputError, match=rf"^cannot update note {at_max.id}: content is 1,001 characters"):
            mem.update(at_max.id, content="w" * 1001)
        assert mem.stats().notes == 1
    with Memory(tmp_path / "default") as mem:  # a note at the default maximum: a run of a million characters
        text = ("word " * 200_000)[:999_999] + "x"
        note = mem.add(text, user_id="u")
        assert len(mem.get(note.id).content) == 1_000_000 and note.keywords
        with pytest.raises(InvalidInputError, match="content is 1,000,001 characters"):
            mem.add(text + "y", user_id="u")


def test_turns_stored_as_plain_text_get_the_speaker_and_role_boosts(real_mem):
    real_mem.add_many([
        "Caroline: I researched adoption agencies last week",
        "Melanie: I researched pottery classes near me",
        "user: I adopted a cat named Luna",
        "assistant: Cats named Luna are very common",
    ], user_id="u")
    real_mem.config.retrieval.update_access = False

    def ranked(question, boost):
        real_mem.config.retrieval.speaker_boost = boost
        return {h.note.content.split(":")[0]: h.score for h in real_mem.search(question, k=4, user_id="u")}

    on, off = ranked("What did Caroline research?", 1.0), ranked("What did Caroline research?", 0.0)
    assert next(iter(on)) == "Caroline" and on["Caroline"] / off["Caroline"] == pytest.approx(2.0, rel=1e-4)
    assert on["Melanie"] == pytest.approx(off["Melanie"], rel=1e-4)
    on, off = ranked("What is the name of my cat?", 1.0), ranked("What is the name of my cat?", 0.0)
    assert on["user"] / off["user"] == pytest.approx(2.0, rel=1e-4)  # the first person: the user's turns
    assert on["assistant"] == pytest.approx(off["assistant"], rel=1e-4)


def test_hits_of_a_conversation_are_listed_by_the_score_they_are_ranked_by(real_mem):
    from memkit.demo import DEMO_SESSIONS

    real_mem.add_many([{"content": text, "session_id": f"s{si}", "metadata": {"speaker": speaker}}
                       for si, (_, turns) in enumerate(DEMO_SESSIONS) for speaker, text in turns], user_id="maya")
    for question in ["What diet does the cat need?", "Where does Maya live now?", "What race is Maya training for?"]:
        hits = real_mem.search(question, k=5, user_id="maya")
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True), question
