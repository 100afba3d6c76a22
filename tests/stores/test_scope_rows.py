"""A search scope's embeddings kept between exact searches: the same answers as reading them each time, and
every write seen."""

from datetime import datetime, timedelta, timezone

import numpy as np

from memkit.filters import build_filter
from memkit.stores.scope_rows import ScopeRows, scope_vectors
from memkit.stores.sqlite import SQLiteStore
from memkit.types import Note, WriteBatch

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


def _unit(rng, n, dim=8):
    v = rng.standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _store(tmp_path, n=40):
    """Notes of two users, a day apart, every third one closed a week after it started."""
    rng = np.random.default_rng(1)
    s = SQLiteStore(tmp_path / "db")
    notes = [Note(content=f"n{i}", user_id="a" if i % 4 else "b", session_id=f"s{i % 3}",
                  valid_from=T0 + timedelta(days=i), valid_to=T0 + timedelta(days=i + 7) if i % 3 == 0 else None)
             for i in range(n)]
    s.write(WriteBatch(insert=list(zip(notes, _unit(rng, n), strict=True))))
    return s, notes, rng


def _uncached(s, q, k, flt):
    """The store's exact answer read from SQLite now, nothing kept."""
    return s.nearest(q, k, flt, None)


def test_kept_rows_give_the_sql_answer_for_every_validity_window(tmp_path):
    s, _, rng = _store(tmp_path)
    q = _unit(rng, 3)
    windows = [dict(), dict(as_of=T0 + timedelta(days=10)), dict(include_superseded=True),
               dict(as_of=T0 + timedelta(days=30), include_superseded=True)]
    for scope in (dict(user_id="a"), dict(user_id="a", session_id="s1"), dict(user_id="b")):
        for window in windows:
            flt = build_filter(**scope, **window)
            if "as_of" not in window and "include_superseded" not in window:
                flt = flt.model_copy(update={"open_at": (T0 + timedelta(days=20)).timestamp()})
            for _ in range(2):  # read, then kept
                assert s.nearest(q, 5, flt, max_rows=100) == _uncached(s, q, 5, flt)
            period = flt.within((T0 + timedelta(days=5)).timestamp(), (T0 + timedelta(days=25)).timestamp())
            assert s.nearest(q, 5, period, max_rows=100) == _uncached(s, q, 5, period)


def test_every_write_is_seen_by_the_next_search(tmp_path):
    s, notes, rng = _store(tmp_path)
    flt = build_filter(user_id="a", include_superseded=True)
    q = _unit(rng, 1)
    s.nearest(q, 5, flt, max_rows=100)  # kept
    new = Note(content="new", user_id="a")
    s.write(WriteBatch(insert=[(new, q[0])]))
    assert s.nearest(q, 1, flt, max_rows=100)[0][0][0] == new.id
    s.write(WriteBatch(delete=[new.id]))
    assert new.id not in {i for i, _ in s.nearest(q, 50, flt, max_rows=100)[0]}
    # a write that does not count as a change (the embedding refill) is seen too
    target = notes[1]
    s.write(WriteBatch(embeddings={target.id: q[0]}, counts_as_change=False))
    best, sim = s.nearest(q, 1, flt, max_rows=100)[0][0]
    assert best == target.id and abs(sim - 1.0) < 1e-5
    assert s.nearest(q, 5, flt, max_rows=100) == _uncached(s, q, 5, flt)


def test_a_scope_too_large_is_remembered_as_such_until_a_write(tmp_path, monkeypatch):
    s, _, rng = _store(tmp_path)
    reads = []
    real = s._read_scope
    monkeypatch.setattr(s, "_read_scope", lambda *a: reads.append(a) or real(*a))
    flt, q = build_filter(user_id="a"), _unit(rng, 1)
    assert s.nearest(q, 3, flt, max_rows=10) is None and s.nearest(q, 3, flt, max_rows=10) is None
    assert len(reads) == 1
    s.nearest(q, 3, flt, max_rows=100)
    s.nearest(q, 3, flt, max_rows=100)
    assert len(reads) == 2
    s.write(WriteBatch(insert=[(Note(content="x", user_id="a"), q[0])]))
    s.nearest(q, 3, flt, max_rows=100)
    assert len(reads) == 3


def test_least_recently_used_scopes_go_first_past_the_row_budget():
    rows = ScopeRows(max_rows=10)
    vec = np.ones(4, np.float32).tobytes()

    def scope(n):
        return lambda: scope_vectors([(f"id{i}", vec, 0.0, 1e18) for i in range(n)])

    rows.get("a", scope(4))
    rows.get("b", scope(4))
    rows.get("a", scope(99))  # kept: read again would give 99 rows
    rows.get("c", scope(4))  # 12 rows: b, the least recently used, goes
    assert len(rows.get("a", scope(0)).ids) == 4 and len(rows.get("c", scope(0)).ids) == 4
    assert len(rows.get("b", scope(1)).ids) == 1  # read again
    assert len(rows.get("big", scope(11)).ids) == 11 and len(rows.get("big", scope(2)).ids) == 2  # never kept


def test_a_read_that_a_write_overtook_is_not_kept():
    rows = ScopeRows()
    vec = np.ones(4, np.float32).tobytes()

    def stale():
        rows.clear()  # a write commits while this read runs
        return scope_vectors([("old", vec, 0.0, 1e18)])

    assert rows.get("a", stale).ids == ("old",)
    assert rows.get("a", lambda: scope_vectors([("new", vec, 0.0, 1e18)])).ids == ("new",)
