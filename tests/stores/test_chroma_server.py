"""The Chroma index on a Chroma server (``index.url``): one collection per memory, failures that name the server,
and filters with memkit's semantics in both modes (embedded and server).  A real ``chroma run``, no mocks."""

from __future__ import annotations

import socket
import uuid

import numpy as np
import pytest

from memkit import Memory
from memkit.config import MemkitConfig
from memkit.errors import ConfigError, FilterError, VectorIndexError
from memkit.filters import Filter, build_filter
from memkit.registry import note_stores
from memkit.stores.chroma import ChromaIndex, ChromaIndexConfig, chroma_where
from memkit.stores.exact import ExactIndex

TOKEN = "secret-token"
HASH = {"embedder": {"kind": "hash", "model": "hash"}}


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def _meta(version: int = 1, user: str | None = "u", **extra) -> dict:
    meta = {"valid_from": 0.0, "valid_to": 1e18, "version": version, "owner": user or ""}
    if user is not None:
        meta["user_id"] = user
    return {**meta, **{f"m.{k}": v for k, v in extra.items()}}


@pytest.fixture
def stores(tmp_path):
    """Two real SQLite note stores: two memories, each with its own memory id."""
    sqlite = note_stores.get("sqlite")
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    opened = [sqlite.open(tmp_path / name) for name in ("a", "b")]
    yield opened
    for store in opened:
        store.close()


def _server_index(url: str, store=None, **config) -> ChromaIndex:
    return ChromaIndex(None, 8, ChromaIndexConfig(url=url, **config), store=store)


# -- configuration -----------------------------------------------------------------------------------------------
def test_the_config_selects_a_server_and_names_what_is_wrong():
    cfg = MemkitConfig.parse({"index": {"kind": "chroma", "url": "http://127.0.0.1:8000",
                                        "headers": {"X-Chroma-Token": TOKEN}, "collection": "notes-of-ann"}})
    assert isinstance(cfg.index, ChromaIndexConfig) and cfg.index.url == "http://127.0.0.1:8000"
    assert TOKEN not in repr(cfg.index)
    assert MemkitConfig.parse({"index": {"kind": "chroma"}}).index.url is None  # embedded, as before
    with pytest.raises(ConfigError, match=r"index.url: 'http://h:1/chroma': a path prefix"):
        MemkitConfig.parse({"index": {"kind": "chroma", "url": "http://h:1/chroma"}})
    with pytest.raises(ConfigError, match="must not hold credentials") as err:
        MemkitConfig.parse({"index": {"kind": "chroma", "url": f"http://ann:{TOKEN}@h:1"}})
    assert TOKEN not in str(err.value)
    with pytest.raises(ConfigError, match="index.collection"):
        MemkitConfig.parse({"index": {"kind": "chroma", "collection": "a"}})


def test_a_server_index_needs_a_collection_name_or_a_memory_id(chroma_server):
    with pytest.raises(ConfigError, match="needs index.collection"):
        _server_index(chroma_server.url)


# -- one collection per memory --------------------------------------------------------------------------------------
def test_two_memories_on_one_server_never_share_a_collection(chroma_server, stores):
    a, b = (_server_index(chroma_server.url, store=s) for s in stores)
    try:
        assert a.collection == f"memkit-{stores[0].get_meta('memory_id')}" != b.collection
        vecs = _unit(np.random.default_rng(1).normal(size=(6, 8)))
        a.upsert([f"a{i}" for i in range(4)], vecs[:4], [_meta() for _ in range(4)])
        b.upsert(["b0", "b1"], vecs[4:], [_meta(), _meta()])
        assert a.count() == 4 and b.count() == 2
        assert {i for i, _ in a.query(vecs[4:5], k=10)[0]} == {"a0", "a1", "a2", "a3"}
        assert {i for i, _ in b.query(vecs[:1], k=10)[0]} == {"b0", "b1"}
        b.reset()  # empties only its own collection
        assert b.count() == 0 and a.count() == 4
        assert set(a.versions()) == {"a0", "a1", "a2", "a3"}
    finally:
        a.close()
        b.close()
    # a collection named by hand that holds another memory's vectors is refused
    with pytest.raises(ConfigError, match="holds the vectors of another memory"):
        _server_index(chroma_server.url, store=stores[1], collection=a.collection)


def test_reopening_finds_the_vectors(chroma_server, stores):
    vecs = _unit(np.random.default_rng(2).normal(size=(5, 8)))
    idx = _server_index(chroma_server.url, store=stores[0])
    idx.upsert([f"n{i}" for i in range(5)], vecs, [_meta(version=i + 1) for i in range(5)])
    idx.close()
    idx = _server_index(chroma_server.url, store=stores[0])
    try:
        assert idx.count() == 5 and idx.versions() == {f"n{i}": i + 1 for i in range(5)}
        assert idx.query(vecs[3:4], k=1)[0][0][0] == "n3"
    finally:
        idx.close()


def test_a_memory_on_a_chroma_server_keeps_nothing_of_the_index_on_disk(chroma_server, tmp_path):
    cfg = {**HASH, "index": {"kind": "chroma", "url": chroma_server.url, "exact_below": 0}}
    with Memory(tmp_path / "one", cfg) as one, Memory(tmp_path / "two", cfg) as two:
        heron = one.add("the grey heron stood in the reeds", user_id="u")
        two.add("the grey heron stood in the reeds of another memory", user_id="u")
        assert [h.note.id for h in one.search("grey heron", k=5, user_id="u")] == [heron.id]
        assert one.index.collection != two.index.collection and one.index.count() == 1
    assert not (tmp_path / "one" / "chroma").exists()
    with Memory(tmp_path / "one", cfg) as one:
        assert one.index.count() == 1 and one.reindex() == 1
        assert one.search("heron in the reeds", k=1, user_id="u")[0].note.id == heron.id


# -- a token in the headers never reaches a config file ------------------------------------------------------------
def test_a_literal_token_is_used_but_never_written_and_an_environment_reference_is(chroma_server, tmp_path, caplog):
    cfg = {**HASH, "index": {"kind": "chroma", "url": chroma_server.url,
                             "headers": {"X-Chroma-Token": TOKEN, "X-Tenant-Key": "${MEMKIT_TEST_TENANT}"}}}
    parsed = MemkitConfig.parse(cfg)
    with caplog.at_level("WARNING", logger="memkit.config"):
        text = parsed.to_toml()
    assert TOKEN not in text and "${MEMKIT_TEST_TENANT}" in text
    assert "index.headers: X-Chroma-Token not written" in caplog.text and TOKEN not in caplog.text
    assert MemkitConfig.from_toml_text(text).index.headers == {"X-Tenant-Key": "${MEMKIT_TEST_TENANT}"}
    with Memory(tmp_path / "m", cfg) as mem, pytest.raises(
            ConfigError, match=r"index.headers\['X-Tenant-Key'\] is read from the environment variable "
                               "MEMKIT_TEST_TENANT, which is not set"):
        mem.index  # noqa: B018 - opens the index
    import os

    os.environ["MEMKIT_TEST_TENANT"] = "tenant-secret"
    try:
        with Memory(tmp_path / "m", cfg) as mem:
            mem.add("the grey heron", user_id="u")
            assert mem.index.count() == 1 and mem.index._headers["X-Tenant-Key"] == "tenant-secret"
    finally:
        del os.environ["MEMKIT_TEST_TENANT"]
    on_disk = (tmp_path / "m" / "config.toml").read_text()
    assert TOKEN not in on_disk and "tenant-secret" not in on_disk and "${MEMKIT_TEST_TENANT}" in on_disk


def test_a_header_from_the_environment_is_what_the_server_receives(monkeypatch):
    import http.server
    import threading

    seen: list[dict[str, str]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the standard library's name
            seen.append(dict(self.headers))
            self.send_response(500)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("MEMKIT_TEST_TOKEN", TOKEN)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with pytest.raises(VectorIndexError) as err:
            _server_index(url, collection="mine", headers={"X-Chroma-Token": "${MEMKIT_TEST_TOKEN}"}, timeout_s=5)
    finally:
        server.shutdown()
        server.server_close()
    assert seen and seen[0].get("X-Chroma-Token") == TOKEN and TOKEN not in str(err.value)


# -- failures of the server -----------------------------------------------------------------------------------------
def _assert_names_the_server(exc: BaseException, url: str) -> None:
    text = str(exc)
    assert url in text and TOKEN not in text
    assert "notes themselves are safe" in text and "memkit reindex" in text
    assert exc.__cause__ is None and exc.__suppress_context__  # no chromadb or httpx traceback behind it


def test_a_stopped_server_is_a_vector_index_error_naming_it(tmp_path):
    from tests.servers import ChromaServer

    server = ChromaServer(tmp_path)
    try:
        idx = _server_index(server.url, collection="mine", headers={"X-Chroma-Token": TOKEN}, timeout_s=5)
        vecs = _unit(np.eye(8)[:2] + 0.01)
        idx.upsert(["x", "y"], vecs, [_meta(), _meta()])
        assert idx.count() == 2
    finally:
        server.stop()
    for call in (lambda: idx.upsert(["z"], vecs[:1], [_meta()]), lambda: idx.query(vecs, k=2),
                 lambda: idx.count(), lambda: idx.versions(), lambda: idx.delete(["x"]), idx.reset):
        with pytest.raises(VectorIndexError) as err:
            call()
        _assert_names_the_server(err.value, server.url)
    idx.close()
    idx.close()  # closing twice, or a client whose server is gone, is quiet
    with pytest.raises(VectorIndexError, match="failed while opening the index") as err:
        _server_index(server.url, collection="mine", headers={"X-Chroma-Token": TOKEN})
    _assert_names_the_server(err.value, server.url)


def test_a_server_that_never_answers_times_out_at_open():
    with socket.socket() as listener:  # accepts connections (the backlog) and never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        with pytest.raises(VectorIndexError, match="ReadTimeout") as err:
            _server_index(url, collection="mine", headers={"X-Chroma-Token": TOKEN}, timeout_s=0.5)
    _assert_names_the_server(err.value, url)


# -- filters: memkit's semantics in both modes ----------------------------------------------------------------------
# x of each note: ints, floats, strings, bools, and notes without it
VALUES: dict[str, object] = {
    "i0": 0, "i1": 1, "i2": 2, "ineg": -3, "im1": -1, "big": 2**62, "f1": 1.0, "f15": 1.5, "f25": 2.5, "fm05": -0.5,
    "fm15": -1.5, "f05": 0.5, "s1": "1", "sa": "a", "sb": "b", "btrue": True, "bfalse": False,
    "other": None, "none": None,
}
NUMBERS = [0, 1, 2, -1, 1.0, 2.0, 1.5, 0.5, -0.5, -1.5, 2.5, 1.25, -3, 2**62, 1e20]  # Chroma cuts 1.5 to 1 for ints
OPERANDS = {
    "$eq": [*NUMBERS, True, False, "1", "a", "zzz"],
    "$ne": [*NUMBERS, True, False, "1", "a"],
    "$in": [[1], [1.5], [True], ["a", "b"], [1, "a"], [True, 2], [1.5, 2], [False, 0, "1"], ["zzz"], [0.5, -0.5, 2],
            [1.0, 2, "b", 1.5]],
    "$nin": [[1], [True], ["a"], [1, "a"], [True, 2], [1.5, 2], [False, 0, "1"], ["zzz"], [0.5, -1.5, 2.0, "a"]],
    **{op: NUMBERS + [-5, 10, -1e20] for op in ("$gt", "$gte", "$lt", "$lte")},
}


def _kind(v: object) -> str:
    return "bool" if isinstance(v, bool) else "number" if isinstance(v, (int, float)) else "str"


def _same(a: object, b: object) -> bool:
    return _kind(a) == _kind(b) and a == b


def _expected(op: str, operand: object) -> set[str]:
    """memkit's semantics: a value matches one of its own type (True is not 1, 1 is 1.0), a range only numbers,
    and a note without the key matches no operator, $ne and $nin included."""
    out = set()
    for nid, v in VALUES.items():
        if v is None:
            continue
        if op == "$eq":
            ok = _same(v, operand)
        elif op == "$ne":
            ok = not _same(v, operand)
        elif op == "$in":
            ok = any(_same(v, o) for o in operand)
        elif op == "$nin":
            ok = not any(_same(v, o) for o in operand)
        else:
            ok = _kind(v) == "number" and {"$gt": v > operand, "$gte": v >= operand, "$lt": v < operand,
                                            "$lte": v <= operand}[op]
        if ok:
            out.add(nid)
    return out


@pytest.fixture(params=["embedded", "server", "exact"])
def any_index(request, tmp_path):
    """The Chroma index embedded and on the server, and the exact index (memkit's own predicate) beside them."""
    if request.param == "exact":
        idx = ExactIndex(None, 8, None)
    elif request.param == "embedded":
        idx = ChromaIndex(tmp_path / "chroma", 8, None)
    else:
        idx = _server_index(request.getfixturevalue("chroma_server").url, collection=f"t-{uuid.uuid4().hex}")
    yield idx
    idx.close()


def _ids(index, flt: Filter, k: int = 50) -> set[str]:
    return {i for i, _ in index.query(np.ones((1, 8), dtype=np.float32), k, where=flt)[0]}


def test_every_operator_gives_memkits_answer(any_index):
    ids = list(VALUES)
    vecs = _unit(np.random.default_rng(3).normal(size=(len(ids), 8)))
    metas = [_meta(**({} if v is None else {"x": v}), **({"y": 1} if nid == "other" else {}))
             for nid, v in VALUES.items()]
    any_index.upsert(ids, vecs, metas)
    for op, operands in OPERANDS.items():
        for operand in operands:
            flt = build_filter({"x": {op: operand}}, include_superseded=True)
            assert _ids(any_index, flt) == _expected(op, operand), f"{op} {operand!r}"
    # a $ne/$nin with another condition on the key
    both = build_filter({"x": {"$ne": "a", "$in": ["a", "b", 1]}}, include_superseded=True)
    assert _ids(any_index, both) == {"sb", "i1", "f1"} == _expected("$ne", "a") & _expected("$in", ["a", "b", 1])
    ranged = build_filter({"x": {"$nin": [1, 2.5], "$gte": 0}}, include_superseded=True)
    assert _ids(any_index, ranged) == _expected("$nin", [1, 2.5]) & _expected("$gte", 0) == {"i0", "i2", "big", "f15", "f05"}


@pytest.mark.parametrize("mode", ["embedded", "server"])
def test_what_a_chroma_where_cannot_say_is_a_filter_error(mode, tmp_path, request):
    # with another condition on the key, a $ne/$nin is exact in the where itself
    chroma_where(build_filter({"x": {"$ne": "a", "$in": ["a", "b", 1]}}))
    # alone, it cannot be said in a where (the index checks the key on its hits instead)
    with pytest.raises(FilterError, match=r"chroma index cannot apply \$ne on 'x'"):
        chroma_where(build_filter({"x": {"$ne": "a"}}))
    with pytest.raises(FilterError, match=r"chroma index cannot apply \$nin on 'x'"):
        chroma_where(build_filter({"x": {"$nin": ["a", 1]}}))
    if mode == "embedded":
        idx = ChromaIndex(tmp_path / "chroma", 8, None)
    else:
        idx = _server_index(request.getfixturevalue("chroma_server").url, collection=f"t-{uuid.uuid4().hex}")
    try:
        vecs = _unit(np.eye(8)[:2] + 0.01)
        idx.upsert(["p", "q"], vecs, [_meta(x=1), _meta(x=2.5)])
        for bad in (float("inf"), float("nan"), 2**64):  # what Chroma cannot compare with: named, not a failed search
            with pytest.raises(FilterError, match=r"chroma index cannot apply \$lt on 'x'"):
                idx.query(vecs[:1], 3, where=build_filter({"x": {"$lt": bad}}))
        assert idx.count() == 2 and {i for i, _ in idx.query(vecs[:1], 3, where=build_filter({"x": {"$lt": 3}}))[0]} \
            == {"p", "q"}
    finally:
        idx.close()


def test_scope_owner_and_validity_give_memkits_answer(any_index):
    notes = {
        "ann-open": {**_meta(user="ann"), "session_id": "s1"},
        "ann-closed": {**_meta(user="ann"), "valid_to": 100.0},
        "ann-later": {**_meta(user="ann"), "valid_from": 500.0},
        "bob-open": {**_meta(user="bob"), "session_id": "s1"},
        "nobody": _meta(user=None),
    }
    any_index.upsert(list(notes), _unit(np.random.default_rng(4).normal(size=(5, 8))), list(notes.values()))
    assert _ids(any_index, Filter(scope={"user_id": "ann"})) == {"ann-open", "ann-closed", "ann-later"}
    assert _ids(any_index, Filter(scope={"session_id": "s1"})) == {"ann-open", "bob-open"}
    assert _ids(any_index, Filter(owner="")) == {"nobody"}
    assert _ids(any_index, Filter(owner="bob")) == {"bob-open"}
    assert _ids(any_index, Filter(open_at=200.0)) == {"ann-open", "ann-later", "bob-open", "nobody"}
    assert _ids(any_index, Filter(open_at=50.0, started_by=50.0)) == {"ann-open", "ann-closed", "bob-open", "nobody"}
    assert _ids(any_index, Filter(scope={"user_id": "ann"}, started_after=400.0)) == {"ann-later"}


def test_a_ne_whose_nearest_hits_lack_the_key_still_finds_k(any_index):
    rng = np.random.default_rng(5)
    query = _unit(rng.normal(size=(1, 8)))
    near = _unit(query + 0.05 * rng.normal(size=(40, 8)))  # the 40 nearest notes have no "x"
    far = _unit(-query + 0.05 * rng.normal(size=(4, 8)))
    any_index.upsert([f"near{i}" for i in range(40)] + [f"far{i}" for i in range(4)], np.vstack([near, far]),
                     [_meta() for _ in range(40)] + [_meta(x=f"v{i}") for i in range(4)])
    hits = any_index.query(query, 3, where=build_filter({"x": {"$ne": "v0"}}))[0]
    assert {i for i, _ in hits} == {"far1", "far2", "far3"}
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
