"""The MCP tools: over the daemon's streamable-HTTP endpoint, through `memkit mcp` on stdio, and in process."""

from __future__ import annotations

import asyncio
import sys
import uuid

import httpx
import httpx2
from mcp import Client as MCPClient
from mcp import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from memkit import Memory
from memkit.server.mcp_tools import TOOLS, build_mcp, parse_since
from memkit.server.service import Service
from memkit.server.tokens import Caller
from tests.conftest import FAST


def _http(d, token: str | None = None) -> MCPClient:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token or d.token}"}, timeout=120)
    return MCPClient(streamable_http_client(f"{d.url}/mcp", http_client=http))


def test_tools_over_http_have_schemas_hints_and_work(shared_daemon):
    async def main() -> None:
        async with _http(shared_daemon) as c:
            tools = {t.name: t for t in (await c.list_tools()).tools}
            assert set(tools) == set(TOOLS)
            for name in ("recall", "get_note", "explore", "recent", "status"):
                assert tools[name].annotations.read_only_hint is True, name
            for name in ("forget", "update_note"):
                assert tools[name].annotations.destructive_hint is True, name
            assert tools["remember"].annotations.read_only_hint is False
            assert {"query", "q", "k", "limit"} <= set(tools["recall"].input_schema["properties"])
            assert "user_id" not in str(tools["recall"].input_schema)  # scope comes from the token only
            assert tools["recall"].output_schema is not None and tools["remember"].output_schema is not None
            tag = uuid.uuid4().hex[:6]
            a = (await c.call_tool("remember", {"content": f"Maya adopted a cat called Miso {tag}",
                                                "tags": ["pets"], "session_id": f"s-{tag}"})).structured_content
            b = (await c.call_tool("remember", {"content": f"Miso the cat likes tuna {tag}"})).structured_content
            assert a["metadata"]["memkit_client"] == "default" and a["tags"][0] == "pets"
            hits = (await c.call_tool("recall", {"q": f"Maya cat {tag}", "limit": 2})).structured_content["hits"]
            assert hits[0]["note"]["id"] in {a["id"], b["id"]} and len(hits) <= 2
            got = (await c.call_tool("get_note", {"id": a["id"]})).structured_content
            updated = await c.call_tool("update_note", {"id": a["id"], "content": f"Maya adopted two cats {tag}",
                                                        "expected_version": got["version"]})
            assert not updated.is_error and updated.structured_content["version"] == got["version"] + 1
            stale = await c.call_tool("update_note", {"id": a["id"], "content": "overwritten",
                                                      "expected_version": got["version"]})
            assert stale.is_error and "changed since you read it" in stale.content[0].text
            assert not (await c.call_tool("link_notes", {"a": a["id"], "b": b["id"]})).is_error
            explored = (await c.call_tool("explore", {"id": a["id"]})).structured_content
            assert b["id"] in {n["id"] for n in explored["related"]}
            recent = (await c.call_tool("recent", {"since": "1h", "limit": 5})).structured_content["notes"]
            assert recent[0]["id"] == b["id"]
            assert not (await c.call_tool("forget", {"id": b["id"]})).is_error
            missing = await c.call_tool("get_note", {"id": b["id"]})
            assert missing.is_error and "no note with id" in missing.content[0].text
            assert (await c.call_tool("status", {})).structured_content["notes"] >= 1
            bad = await c.call_tool("recall", {"k": 3})
            assert bad.is_error and "query" in bad.content[0].text

    asyncio.run(main())


def test_a_user_limited_token_sees_only_its_users_notes_through_every_tool(shared_daemon):
    tag = uuid.uuid4().hex[:6]
    token = shared_daemon.tokens().create(f"mcp-{tag}", user_id=f"ann-{tag}")
    with httpx.Client(base_url=shared_daemon.url, headers={"Authorization": f"Bearer {shared_daemon.token}"}) as h:
        other = h.post("/v1/notes", json={"content": f"Ben's diary entry {tag}", "user_id": f"ben-{tag}"}).json()

    async def main() -> None:
        async with _http(shared_daemon, token) as c:
            mine = (await c.call_tool("remember", {"content": f"Ann's diary entry {tag}"})).structured_content
            assert mine["user_id"] == f"ann-{tag}"
            hits = (await c.call_tool("recall", {"query": f"diary entry {tag}", "k": 20})).structured_content["hits"]
            assert {h["note"]["user_id"] for h in hits} == {f"ann-{tag}"}
            for tool, args in (("get_note", {"id": other["id"]}), ("explore", {"id": other["id"]}),
                               ("forget", {"id": other["id"]}), ("link_notes", {"a": mine["id"], "b": other["id"]}),
                               ("update_note", {"id": other["id"], "content": "x", "expected_version": 1})):
                r = await c.call_tool(tool, args)
                assert r.is_error and "no note with id" in r.content[0].text, tool
            recent = (await c.call_tool("recent", {"limit": 100})).structured_content["notes"]
            assert {n["user_id"] for n in recent} == {f"ann-{tag}"}
            assert (await c.call_tool("status", {})).structured_content["notes"] == 1

    asyncio.run(main())
    with httpx.Client(base_url=shared_daemon.url, headers={"Authorization": f"Bearer {shared_daemon.token}"}) as h:
        assert h.get(f"/v1/notes/{other['id']}").status_code == 200  # still there


def _stdio(d, *args: str) -> MCPClient:
    return MCPClient(StdioServerParameters(command=sys.executable, env=d.env,
                                           args=["-m", "memkit.cli.main", "--store", str(d.store), "mcp", *args]))


def test_memkit_mcp_on_stdio_is_a_thin_client_of_the_daemon(shared_daemon):
    tag = uuid.uuid4().hex[:6]

    async def main() -> str:
        async with _stdio(shared_daemon, "--no-start") as c:
            assert {t.name for t in (await c.list_tools()).tools} == set(TOOLS)
            note = (await c.call_tool("remember", {"content": f"told over stdio {tag}"})).structured_content
            hits = (await c.call_tool("recall", {"query": f"told over stdio {tag}"})).structured_content["hits"]
            assert hits[0]["note"]["id"] == note["id"]
            return note["id"]

    nid = asyncio.run(main())
    with httpx.Client(base_url=shared_daemon.url, headers={"Authorization": f"Bearer {shared_daemon.token}"}) as h:
        assert h.get(f"/v1/notes/{nid}").json()["metadata"]["memkit_client"] == "default"  # written by the daemon


def test_memkit_mcp_starts_a_daemon_when_none_runs(daemon_factory, tmp_path, config_dir):
    from memkit.server.daemon import stop
    from memkit.server.runtime import find_daemon
    from tests.server.conftest import Daemon, _env

    d = Daemon(store=tmp_path / "fresh", config_dir=config_dir, env=_env(config_dir))

    async def main() -> None:
        async with _stdio(d) as c:
            r = await c.call_tool("remember", {"content": "the first memory of a new store"})
            assert not r.is_error, r.content

    try:
        asyncio.run(main())
        assert find_daemon(d.store) is not None  # started in the background; it outlives the stdio server
    finally:
        stop(d.store)


def test_tools_in_process(tmp_path):
    """The same tools through the SDK's in-memory client (no HTTP: the default caller stands in for a token)."""
    with Memory(tmp_path / "m", FAST) as mem:
        server = build_mcp(Service(mem), default_caller=Caller(client="test", user_id="u"))

        async def main() -> None:
            async with MCPClient(server) as c:
                await c.call_tool("remember", {"content": "Lena plays chess on Sundays", "tags": ["games"]})
                hits = (await c.call_tool("recall", {"q": "chess", "limit": 1})).structured_content["hits"]
                assert hits[0]["note"]["user_id"] == "u" and hits[0]["note"]["metadata"]["memkit_client"] == "test"
                bad = await c.call_tool("recent", {"since": "last tuesday"})
                assert bad.is_error and "since" in bad.content[0].text

        asyncio.run(main())
    assert parse_since("2024-05-01").isoformat() == "2024-05-01T00:00:00+00:00"
    assert parse_since("2 days ago") is not None and parse_since(None) is None
