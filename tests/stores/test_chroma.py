"""The Chroma index: its failures are StoreErrors, and a damaged index is repaired from SQLite."""

from __future__ import annotations

import pytest

from memkit import Memory
from memkit.errors import StoreError


def test_an_index_failure_keeps_the_note_and_the_index_is_repaired_on_open(tmp_path):
    with Memory(tmp_path / "m") as mem:
        first = mem.add("the heron stood in the reeds", user_id="u")
        mem.index._client.delete_collection("notes")  # the index is damaged behind memkit's back
        with pytest.raises(StoreError, match="notes themselves are safe in SQLite"):
            mem.add("the otter swam under the bridge", user_id="u")
        assert mem.store.count() == 2  # committed before the index failed
        assert mem.search("otter", k=1)[0].note.content.startswith("the otter")  # a small store: searched exactly
        mem.config.index.exact_below = 0
        with pytest.raises(StoreError, match="failed while searching"):
            mem.search("otter", k=2)  # through the vector index
        assert mem.reindex() == 2  # `memkit reindex` rebuilds even a missing collection
        assert mem.search("heron", k=1)[0].note.id == first.id
        mem.index._client.delete_collection("notes")  # damaged again; this time the next open repairs it
    with Memory(tmp_path / "m") as mem:
        hits = mem.search("otter under the bridge", k=2)
        assert [h.note.content for h in hits][0] == "the otter swam under the bridge"
        assert {h.note.id for h in hits} >= {first.id}
        assert mem.stats().vector_count == 2


# -- a damaged index, in every state its folder can be in --------------------------------------------------------
import json  # noqa: E402
import random  # noqa: E402
import shutil  # noqa: E402

from click.testing import CliRunner  # noqa: E402

from memkit.cli.main import cli  # noqa: E402

_FACTS = [f"fact {i}: the {w} heron nests by the {p}" for i, (w, p) in
          enumerate(zip(["grey", "white", "purple", "night", "great", "little"] * 2,
                        ["river", "lake", "marsh", "bridge", "dam", "pond"] * 2, strict=True))]
_PAGE = 4096


def _garble(path, start, end=None):
    data = bytearray(path.read_bytes())
    end = len(data) if end is None else end
    data[start:end] = random.Random(start).randbytes(end - start)
    path.write_bytes(bytes(data))


def _segments(chroma):
    return [p for p in chroma.iterdir() if p.is_dir()]


def _random_bytes(c):
    (c / "chroma.sqlite3").write_bytes(random.Random(0).randbytes((c / "chroma.sqlite3").stat().st_size))


def _replace_by_file(c):
    shutil.rmtree(c)
    c.write_text("not an index", encoding="utf-8")


def _garble_segment_files(c):
    for seg in _segments(c):
        for f in seg.iterdir():
            f.write_bytes(random.Random(f.name).randbytes(max(64, f.stat().st_size)))


def _empty_folder(c):
    shutil.rmtree(c)
    c.mkdir()


DAMAGE = {
    "random bytes in chroma.sqlite3": _random_bytes,
    "one garbled page of chroma.sqlite3 (a Rust panic)": lambda c: _garble(c / "chroma.sqlite3", _PAGE, 2 * _PAGE),
    "garbled tail of chroma.sqlite3": lambda c: _garble(c / "chroma.sqlite3", 40 * _PAGE),
    "chroma replaced by a file": _replace_by_file,
    "HNSW segment folder missing": lambda c: [shutil.rmtree(s) for s in _segments(c)],
    "HNSW segment files garbled": _garble_segment_files,
    "an empty folder": _empty_folder,
}


@pytest.fixture(scope="module")
def healthy_store(tmp_path_factory):
    """A tiny store (real embedder, Chroma, searched through the index) with its HNSW segment on disk."""
    path = tmp_path_factory.mktemp("healthy") / "m"
    with Memory(path, {"index": {"exact_below": 0}}) as mem:
        notes = mem.add_many(_FACTS, user_id="u")
    assert _segments(path / "chroma") and (path / "chroma" / "chroma.sqlite3").stat().st_size > 41 * _PAGE
    return path, {n.content: n.id for n in notes}


def _damaged_copy(healthy_store, tmp_path, damage):
    path, ids = healthy_store
    store = tmp_path / "m"
    shutil.copytree(path, store, ignore=shutil.ignore_patterns("memkit.lock"))
    DAMAGE[damage](store / "chroma")
    return store, ids


def _kept_aside(store):
    return sorted(p.name for p in store.iterdir() if p.name.startswith("chroma."))


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_index_is_moved_aside_and_rebuilt_on_open(healthy_store, tmp_path, damage, caplog):
    store, ids = _damaged_copy(healthy_store, tmp_path, damage)
    before = set(p.name for p in tmp_path.iterdir())
    with Memory(store) as mem:
        hits = mem.search(_FACTS[2], k=3, user_id="u")
        assert hits[0].note.id == ids[_FACTS[2]]
        assert mem.stats().vector_count == len(_FACTS) == mem.index.count()
    assert set(p.name for p in tmp_path.iterdir()) == before  # nothing written outside the store
    aside = _kept_aside(store)
    if damage == "chroma replaced by a file":
        assert len(aside) == 1 and (store / aside[0]).read_text(encoding="utf-8") == "not an index"  # kept as it was
    for name in aside:  # a damaged index is never deleted: it is moved aside, and the log says where
        assert name.startswith("chroma.broken-") and str(store / name) in caplog.text
    with Memory(store) as mem:  # the rebuilt index is a healthy one: nothing more is moved on the next open
        assert mem.search(_FACTS[4], k=1, user_id="u")[0].note.id == ids[_FACTS[4]]
    assert _kept_aside(store) == aside


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_reindex_rebuilds_a_damaged_index_in_a_new_folder(healthy_store, tmp_path, damage):
    store, ids = _damaged_copy(healthy_store, tmp_path, damage)
    with Memory(store) as mem:
        assert mem.reindex() == len(_FACTS)
        assert mem.search(_FACTS[5], k=1, user_id="u")[0].note.id == ids[_FACTS[5]]
        assert mem.reindex() == len(_FACTS)  # a healthy index is replaced too, and the old folder removed
    assert all(name.startswith("chroma.broken-") for name in _kept_aside(store))


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_memkit_reindex_and_stats_on_a_damaged_index(healthy_store, tmp_path, damage):
    store, _ = _damaged_copy(healthy_store, tmp_path, damage)
    runner = CliRunner()
    res = runner.invoke(cli, ["--store", str(store), "reindex"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert f"reindexed {len(_FACTS)} vectors" in res.output
    DAMAGE[damage](store / "chroma") if (store / "chroma").is_dir() else None  # damaged again, then stats
    res = runner.invoke(cli, ["--store", str(store), "stats", "--json"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    stats = json.loads(res.output[res.output.index("{"):])
    assert stats["notes"] == stats["vector_count"] == len(_FACTS)


@pytest.mark.parametrize("damage", ["HNSW segment files garbled", "HNSW segment folder missing"])
def test_a_damaged_hnsw_segment_of_a_flushed_index_is_rebuilt(tmp_path, damage):
    """Chroma writes its HNSW graph to disk once 1000 vectors wait (sync_threshold); then the segment is read."""
    cfg = {"embedder": {"kind": "hash", "model": "hash"}, "index": {"exact_below": 0}}
    with Memory(tmp_path / "m", cfg) as mem:
        notes = mem.add_many([f"record {i} of the ledger" for i in range(1100)], user_id="u")
    DAMAGE[damage](tmp_path / "m" / "chroma")
    with Memory(tmp_path / "m", cfg) as mem:
        assert mem.search("record 7 of the ledger", k=1, user_id="u")[0].note.id == notes[7].id
        assert mem.index.count() == 1100
        assert mem.reindex() == 1100
