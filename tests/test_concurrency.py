"""Searches run together, a write runs alone: through the real parts (SQLite, Chroma, the bundled embedder).

``Memory`` holds a readers-writer lock: searches (and the other reads) overlap, each write excludes them, so a
search sees a batch of notes whole or not at all, and ``close()`` waits for the searches in flight.  The
tests meet two searches at a barrier inside the query embedding and inside the vector index's query: with
one lock for everything, the second search could not get there while the first waits, and the barrier
breaks after its timeout.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

import pytest

from memkit import Memory
from memkit.errors import StoreError
from memkit.lock import ReadWriteLock

MEET = 30.0  # seconds two searches may take to meet at a barrier (a shared, busy machine is slow)
NOTES = ["Maya adopted a cat named Miso", "Sam plays the cello on Sundays", "Quarterly tax forms are due in April",
         "The garden needs water every morning", "Lena flew to Kyoto for a conference", "Bob bakes sourdough bread",
         "The car is due for an oil change", "Priya runs along the river at dawn", "Omar is learning Portuguese",
         "The roof leaked during the storm", "Tala paints watercolours of harbours", "Jonas repairs old bicycles"]
ZEBRAS = [f"Zebra sighting number {i}: a zebra crossed the savanna road near camp {i}" for i in range(12)]


def _mem(tmp_path, **config):
    # exact_below 0: every search goes through the Chroma index, not only the store's exact search
    return Memory(tmp_path / "m", {"index": {"kind": "chroma", "exact_below": 0}, **config})


class _MeetingIndex:
    """The real vector index; ``query`` waits at ``barrier`` (when set) before it runs."""

    def __init__(self, index, barrier=None, entered=None, release=None):
        self._index, self.barrier, self.entered, self.release = index, barrier, entered, release

    def query(self, *args, **kwargs):
        if self.barrier is not None:
            self.barrier.wait()
        if self.entered is not None:
            self.entered.set()
            assert self.release.wait(MEET)
        return self._index.query(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._index, name)


class _MeetingEmbedder:
    """The real embedder; embedding a text that holds ``mark`` waits at ``barrier`` first."""

    def __init__(self, embedder, mark, barrier):
        self._embedder, self.mark, self.barrier = embedder, mark, barrier

    def embed(self, texts, **kwargs):
        if any(self.mark in t for t in texts):
            self.barrier.wait()
        return self._embedder.embed(texts, **kwargs)

    def __getattr__(self, name):
        return getattr(self._embedder, name)


def _two_searches(mem, queries):
    """Run two searches at once; their hits (or the exception each raised)."""
    out: dict[int, object] = {}

    def run(i):
        try:
            out[i] = mem.search(queries[i], k=3, user_id="u")
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            out[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(3 * MEET)
    assert not any(t.is_alive() for t in threads)
    return out


class _OneAtATime:
    """The lock Memory had: one holder, whatever it does."""

    def __init__(self):
        self._lock = threading.RLock()

    @contextmanager
    def reading(self):
        with self._lock:
            yield

    writing = reading


def test_two_searches_overlap_in_embedding_and_in_the_vector_index(tmp_path):
    with _mem(tmp_path) as mem:
        mem.add_many(NOTES, user_id="u")
        assert mem.search("cat", k=1, user_id="u")  # the index is open (the first search that needs it opens it)
        real_index, real_embedder = mem.engine._index, mem.embedder
        embed_meet, index_meet = threading.Barrier(2, timeout=MEET), threading.Barrier(2, timeout=MEET)
        mem.embedder = _MeetingEmbedder(real_embedder, "meet", embed_meet)
        mem.engine._index = _MeetingIndex(real_index, index_meet)
        # each search waits inside its query's embedding, then inside the index's query, until the other is there
        out = _two_searches(mem, ["meet: who adopted a cat?", "meet: who plays the cello?"])
        assert not any(isinstance(r, BaseException) for r in out.values()), f"the searches did not meet: {out}"
        assert "Miso" in out[0][0].note.content and "cello" in out[1][0].note.content, out

        # the same two searches under one lock for everything: the second cannot reach the index while the
        # first waits there, so the barrier breaks (the test can tell searches that overlap from ones that queue)
        mem.embedder = real_embedder
        mem._lock, rw = _OneAtATime(), mem._lock
        mem.engine._index = _MeetingIndex(real_index, threading.Barrier(2, timeout=2.0))
        out = _two_searches(mem, ["who adopted a cat?", "who plays the cello?"])
        assert any(isinstance(r, threading.BrokenBarrierError) for r in out.values()), out
        mem._lock, mem.engine._index = rw, real_index


def test_a_batch_written_during_searches_is_seen_whole_or_not_at_all(tmp_path):
    # 4 notes a transaction: the 12-note batch is 3 store transactions, each followed by the index, slowed
    # down here so that a search slipping between them would see 4 or 8 of the 12
    with _mem(tmp_path, write_batch=4) as mem:
        seed = {n.id for n in mem.add_many(NOTES, user_id="u")}
        query = "where was a zebra seen near the camp?"
        before = {h.note.id for h in mem.search(query, k=50, user_id="u")}
        assert before == seed
        real_index = mem.engine._index
        upsert = real_index.upsert

        def slow_upsert(*args, **kwargs):
            upsert(*args, **kwargs)
            time.sleep(0.3)

        real_index.upsert = slow_upsert
        seen: list[tuple[float, float, frozenset[str]]] = []
        errors: list[BaseException] = []
        written = threading.Event()

        def searcher():
            try:
                while not written.is_set() or len(seen) < 12:
                    t = time.perf_counter()
                    hits = mem.search(query, k=50, user_id="u")
                    seen.append((t, time.perf_counter(), frozenset(h.note.id for h in hits)))
            except BaseException as exc:  # noqa: BLE001 - reported to the test
                errors.append(exc)

        threads = [threading.Thread(target=searcher) for _ in range(4)]
        for t in threads:
            t.start()
        while len(seen) < 4 and not errors:
            time.sleep(0.01)
        start = time.perf_counter()
        batch = {n.id for n in mem.add_many(ZEBRAS, user_id="u")}
        end = time.perf_counter()
        written.set()
        for t in threads:
            t.join(120)
        real_index.upsert = upsert
        assert not errors, errors
        after = seed | batch
        assert {h.note.id for h in mem.search(query, k=50, user_id="u")} == after
        partial = sorted(len(ids & batch) for _, _, ids in seen if ids not in (before, after))
        assert not partial, f"searches saw part of the batch (this many of its {len(batch)} notes): {partial}"
        # searches were in flight while the batch was written, and saw it before or after
        assert any(t0 < end and t1 > start for t0, t1, _ in seen)
        assert any(ids == before for _, _, ids in seen) and any(ids == after for _, _, ids in seen)


def test_many_searches_at_once_each_get_their_own_answer(tmp_path):
    """Concurrent searches share the store's one SQLite connection (its calls serialised) and the index: each
    gets the answer it gets alone, within its own user's notes."""
    with _mem(tmp_path) as mem:
        for user in ("u1", "u2"):
            mem.add_many([f"{user}: {text}" for text in NOTES], user_id=user)
        asks = [("who adopted a cat?", "Miso"), ("who plays the cello?", "cello"), ("when are taxes due?", "tax"),
                ("who flew to Kyoto?", "Kyoto"), ("who bakes bread?", "sourdough"), ("who fixes bicycles?", "bicycles")]
        alone = {(q, u): mem.search(q, k=1, user_id=u)[0].note.id for q, _ in asks for u in ("u1", "u2")}
        wrong: list[object] = []

        def searcher(i):
            try:
                for j in range(12):
                    q, word = asks[(i + j) % len(asks)]
                    user = ("u1", "u2")[(i + j) % 2]
                    hit = mem.search(q, k=1, user_id=user)[0].note
                    if hit.id != alone[(q, user)] or hit.user_id != user or word not in hit.content:
                        wrong.append((q, user, hit.content))
            except BaseException as exc:  # noqa: BLE001 - reported to the test
                wrong.append(exc)

        threads = [threading.Thread(target=searcher, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not any(t.is_alive() for t in threads) and not wrong, wrong


def test_close_waits_for_the_searches_in_flight(tmp_path):
    mem = _mem(tmp_path)
    mem.add_many(NOTES, user_id="u")
    mem.search("cat", k=1, user_id="u")
    entered, release = threading.Event(), threading.Event()
    mem.engine._index = _MeetingIndex(mem.engine._index, entered=entered, release=release)
    got: list[object] = []
    search = threading.Thread(target=lambda: got.append(mem.search("who adopted a cat?", k=1, user_id="u")))
    search.start()
    assert entered.wait(MEET)
    closer = threading.Thread(target=mem.close)
    closer.start()
    closer.join(0.5)
    assert closer.is_alive()  # the search holds the memory open
    release.set()
    search.join(MEET)
    closer.join(MEET)
    assert not closer.is_alive() and "Miso" in got[0][0].note.content
    with pytest.raises(StoreError, match="closed"):
        mem.search("cat", k=1, user_id="u")


def test_read_write_lock_many_readers_one_writer_and_no_upgrade():
    lock = ReadWriteLock()
    inside = threading.Barrier(3, timeout=MEET)

    def reader():
        with lock.reading():
            inside.wait()  # three readers hold it at once

    readers = [threading.Thread(target=reader) for _ in range(3)]
    for t in readers:
        t.start()
    for t in readers:
        t.join(MEET)
    assert not any(t.is_alive() for t in readers)

    got: list[str] = []

    def late_reader():
        with lock.reading():
            got.append("read")

    with lock.writing(), lock.writing(), lock.reading():  # a writer may take it again, in either mode
        other = threading.Thread(target=late_reader)
        other.start()
        other.join(0.2)
        assert other.is_alive() and not got  # a reader waits for the writer
    other.join(MEET)
    assert got == ["read"]

    with lock.reading(), pytest.raises(RuntimeError, match="reading cannot take it for writing"):
        lock.acquire_write()


def test_a_waiting_writer_holds_back_new_readers():
    """A stream of searches cannot starve a write: a reader that comes while a writer waits goes after it."""
    lock = ReadWriteLock()
    order: list[str] = []
    first_in, second_go = threading.Event(), threading.Event()

    def first():
        with lock.reading():
            first_in.set()
            _until(lambda: lock._waiting_writers == 1)
            second_go.set()
            time.sleep(0.3)  # time for the second reader to get in, were it not held back
            order.append("first reader")

    def writer():
        assert first_in.wait(MEET)
        with lock.writing():
            order.append("writer")

    def second():
        assert second_go.wait(MEET)
        with lock.reading():
            order.append("second reader")

    threads = [threading.Thread(target=f) for f in (first, writer, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(MEET)
    assert order == ["first reader", "writer", "second reader"]


def _until(cond, timeout=MEET):
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end
        time.sleep(0.005)
