"""One conformance suite for every registered vector index, and the Chroma index on a Chroma server."""

from __future__ import annotations

import uuid

import numpy as np
import pytest

from memkit.filters import build_filter
from memkit.registry import vector_indexes

SERVER = "chroma server"  # the chroma kind with index.url: the session's `chroma run`, a collection per test
# "store" is the note store's own vector index (it writes nothing itself): it is tested with the note stores
KINDS = [name for name in vector_indexes.names() if name != "store"] + [SERVER]


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(params=KINDS)
def index(request, tmp_path):
    if request.param == SERVER:
        from memkit.stores.chroma import ChromaIndex, ChromaIndexConfig

        url = request.getfixturevalue("chroma_server").url
        idx = ChromaIndex(None, 8, ChromaIndexConfig(url=url, collection=f"t-{uuid.uuid4().hex}"))
    else:
        idx = vector_indexes.get(request.param)(tmp_path / request.param, 8, None)
    yield idx
    idx.close()


def _meta(i: int, user: str, valid_to: float = 1e18) -> dict:
    return {"valid_from": 0.0, "valid_to": valid_to, "version": 1, "owner": user, "user_id": user, "m.n": i}


def test_upsert_query_delete_versions_reset(index):
    rng = np.random.default_rng(0)
    vecs = _unit(rng.normal(size=(20, 8)))
    ids = [f"n{i}" for i in range(20)]
    index.upsert(ids, vecs, [_meta(i, "a" if i % 2 else "b") for i in range(20)])
    assert index.count() == 20
    res = index.query(vecs[:3], k=5)
    assert [r[0][0] for r in res] == ["n0", "n1", "n2"]
    assert all(abs(r[0][1] - 1.0) < 1e-4 for r in res)
    assert all(r[i][1] >= r[i + 1][1] for r in res for i in range(len(r) - 1))
    # filters are applied inside the index
    only_a = index.query(vecs[:1], k=20, where=build_filter(user_id="a", include_superseded=True))[0]
    assert {i for i, _ in only_a} == {f"n{i}" for i in range(1, 20, 2)}
    ranged = index.query(vecs[:1], k=20, where=build_filter({"n": {"$lt": 5}}, include_superseded=True))[0]
    assert {i for i, _ in ranged} == {"n0", "n1", "n2", "n3", "n4"}
    # upsert replaces
    index.upsert(["n0"], vecs[5:6], [{**_meta(0, "b"), "version": 2}])
    assert index.count() == 20 and index.versions()["n0"] == 2
    assert index.query(vecs[5:6], k=2)[0][1][0] in {"n0", "n5"}
    index.delete(["n0", "n1", "missing"])
    assert index.count() == 18 and "n0" not in index.versions()
    index.reset()
    assert index.count() == 0 and index.query(vecs[:1], k=3) == [[]]


def test_validity_filter(index):
    vecs = _unit(np.eye(8)[:3] + 0.01)
    index.upsert(["open", "closed", "later"], vecs,
                 [_meta(0, "a"), _meta(1, "a", valid_to=100.0), {**_meta(2, "a"), "valid_from": 500.0}])
    from memkit.filters import Filter

    assert {i for i, _ in index.query(vecs[:1], 5, where=Filter(open_at=200.0))[0]} == {"open", "later"}
    assert {i for i, _ in index.query(vecs[:1], 5, where=Filter(open_at=50.0, started_by=50.0))[0]} == {"open", "closed"}


def test_k_beyond_the_vectors_and_empty_queries(index):
    vecs = _unit(np.eye(8)[:3] + 0.01)
    assert index.query(vecs[:2], k=5) == [[], []]  # an empty index
    index.upsert(["a", "b", "c"], vecs, [_meta(i, "u") for i in range(3)])
    hits = index.query(vecs[:2], k=50)
    assert [len(h) for h in hits] == [3, 3] and [h[0][0] for h in hits] == ["a", "b"]
    ranged = index.query(vecs[:1], k=50, where=build_filter({"n": {"$gte": 1}}, include_superseded=True))[0]
    assert {i for i, _ in ranged} == {"b", "c"}
    assert index.query(vecs[:1], k=5, where=build_filter(user_id="nobody", include_superseded=True)) == [[]]
