"""``memkit.Client`` / ``AsyncClient``: Memory's method names and return types, over a real daemon."""

from __future__ import annotations

import asyncio
import inspect
import uuid

import pytest

import memkit
from memkit import AsyncClient, Client, HistoryEvent, Hit, Memory, Note, Stats
from memkit.errors import ConflictError, DaemonError, InvalidInputError, NotFoundError, PermissionDeniedError

SHARED = ("add", "add_many", "search", "get", "update", "delete", "related", "history", "link", "unlink", "undo",
          "export", "import_", "stats", "reindex", "resolve_id", "short_ids", "existing", "close")


def test_the_clients_have_memorys_methods():
    for name in SHARED:
        assert callable(getattr(Client, name)) and callable(getattr(AsyncClient, name)), name
        if name in ("close", "update", "delete"):
            continue
        mem_params = list(inspect.signature(getattr(Memory, name)).parameters)
        client_params = list(inspect.signature(getattr(Client, name)).parameters)
        assert client_params[: len(mem_params)] == mem_params, name
    for name in SHARED:
        if name != "close":
            assert inspect.iscoroutinefunction(getattr(AsyncClient, name)), name
    assert memkit.Client is Client and "Client" in memkit.__all__ and "AsyncClient" in memkit.__all__


def test_client_round_trip(shared_daemon, tmp_path):
    user = f"client-{uuid.uuid4().hex[:6]}"
    with Client(store=shared_daemon.store) as mem:  # found through the store's runtime file, the owner's token
        assert mem.url == shared_daemon.url and mem.path == shared_daemon.store
        a = mem.add("Alice moved to Lisbon in May", user_id=user, metadata={"src": "chat"})
        b, c = mem.add_many(["Alice works at a fintech startup in Lisbon", {"content": "Bob plays the cello"}],
                            user_id=user)
        assert isinstance(a, Note) and a.metadata == {"src": "chat", "memkit_client": "default"}
        hits = mem.search("where does Alice live?", k=2, user_id=user, filters={"src": "chat"})
        assert isinstance(hits[0], Hit) and hits[0].note.id == a.id
        assert mem.get(a.id[:10]).id == a.id and mem.resolve_id(a.id[:10]) == a.id
        current = mem.get(a.id).version
        moved = mem.update(a.id, content="Alice moved to Porto", expected_version=current)
        assert moved.version == current + 1
        with pytest.raises(ConflictError):
            mem.update(a.id, content="Alice moved to Faro", expected_version=current)
        mem.link(a.id, c.id)
        assert c.id in {n.id for n in mem.related(a.id)}
        assert mem.unlink(a.id, c.id) == 1
        events = mem.history(a.id)
        assert all(isinstance(e, HistoryEvent) for e in events) and events[0].event == "add"
        mem.delete(b.id)
        with pytest.raises(NotFoundError):
            mem.get(b.id)
        undone = mem.undo(mem.history(b.id)[-1].id)
        assert undone.event == "delete" and mem.get(b.id).content == b.content
        assert mem.existing([a.id, "0" * 32]) == {a.id}
        assert set(mem.short_ids([a.id])) == {a.id}
        assert mem.export(tmp_path / "out.jsonl", user_id=user) == 3
        assert isinstance(mem.stats(), Stats)
        assert [n.id for n in mem.recent(limit=3, user_id=user)][0] in {b.id, c.id, a.id}
        with pytest.raises(InvalidInputError):
            mem.add("   ")


def test_async_client(shared_daemon):
    user = f"async-{uuid.uuid4().hex[:6]}"

    async def main() -> None:
        async with AsyncClient(shared_daemon.url, shared_daemon.token) as mem:
            notes = await asyncio.gather(*(mem.add(f"async note {i}", user_id=user) for i in range(8)))
            assert len({n.id for n in notes}) == 8
            hits = await mem.search("async note 3", k=1, user_id=user)
            assert hits[0].note.content == "async note 3"
            out = await mem.export(__import__("io").StringIO(), user_id=user)
            assert out == 8
            with pytest.raises(NotFoundError):
                await mem.get("f" * 32)

    asyncio.run(main())


def test_client_errors(shared_daemon):
    limited = shared_daemon.tokens().create(f"c-{uuid.uuid4().hex[:6]}", user_id="somebody")
    with Client(shared_daemon.url, limited) as mem:
        with pytest.raises(PermissionDeniedError):
            mem.add("x", user_id="someone-else")
        with pytest.raises(PermissionDeniedError):
            mem.reindex()
    with Client(shared_daemon.url, "mk_wrong") as mem:
        with pytest.raises(memkit.errors.AuthError):
            mem.stats()
    with pytest.raises(DaemonError, match="cannot reach"):
        Client("http://127.0.0.1:9", "t", retries=1).stats()
    with pytest.raises(DaemonError, match="no memkit daemon is running"):
        Client(store=shared_daemon.store.parent / "nowhere")
