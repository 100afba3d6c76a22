"""``memkit mcp``: an MCP server on stdio that forwards every request to the daemon's MCP endpoint.

Apps that launch their MCP servers as subprocesses (Claude Desktop, editors) get the daemon's tools
through it, and the daemon stays the store's only writer: this process never opens the store.  It
finds the daemon through the store's runtime file, starts one in the background when none runs, and
opens one short connection per request (the daemon's endpoint is stateless), so a daemon restarted
meanwhile, even on another port, is found again.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server
from mcp.shared.exceptions import MCPError
from mcp.types import CallToolRequestParams, CallToolResult, ListToolsResult, PaginatedRequestParams, TextContent

from memkit import __version__
from memkit.errors import DaemonError
from memkit.server.runtime import find_daemon, start_daemon

__all__ = ["run_stdio", "Upstream"]

T = TypeVar("T")
_UNREACHABLE = (httpx2.TransportError, OSError)


class Upstream:
    """The daemon of a store, reached over its MCP endpoint."""

    def __init__(self, store: Path, start: bool = True, token: str | None = None, url: str | None = None):
        self.store, self.start, self.url = Path(store), start, url
        self.token = token or os.environ.get("MEMKIT_TOKEN")

    def _target(self) -> tuple[str, str]:
        info = find_daemon(self.store)
        if info is None:
            if not self.start:
                raise DaemonError(f"no memkit daemon is running for {self.store}; start one with `memkit serve`")
            info = start_daemon(self.store, url=self.url)
        token = self.token
        if token is None:
            from memkit.server.settings import config_dir
            from memkit.server.tokens import TokenStore

            token = TokenStore(config_dir()).default_token()
        if token is None:
            raise DaemonError("no token for the daemon: set MEMKIT_TOKEN or run `memkit token show`")
        return f"{info.url}/mcp", token

    async def call(self, request: Callable[[Client], Awaitable[T]]) -> T:
        """Run ``request`` on a fresh connection; once more (finding or starting the daemon again) when the
        daemon could not be reached."""
        for attempt in (1, 2):
            url, token = await anyio.to_thread.run_sync(self._target)
            try:
                async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"},
                                              timeout=httpx2.Timeout(30.0, read=300.0)) as http:
                    async with Client(streamable_http_client(url, http_client=http), mode="legacy") as client:
                        return await request(client)
            except Exception as exc:  # anyio wraps transport errors in an ExceptionGroup
                cause = next((e for e in _leaves(exc) if isinstance(e, _UNREACHABLE)), None)
                if cause is None:
                    raise
                if attempt == 2:
                    raise DaemonError(f"cannot reach the memkit daemon at {url}: {cause}") from None
        raise AssertionError("unreachable")


def _leaves(exc: BaseException) -> list[BaseException]:
    """An exception, or the exceptions inside an exception group (nested ones too)."""
    inner = getattr(exc, "exceptions", None)
    return [exc] if inner is None else [leaf for e in inner for leaf in _leaves(e)]


def build_proxy(upstream: Upstream) -> Server[Any]:
    async def list_tools(ctx: Any, params: PaginatedRequestParams | None) -> ListToolsResult:
        try:
            return await upstream.call(lambda c: c.list_tools())
        except DaemonError as exc:
            raise MCPError(code=-32603, message=str(exc)) from None

    async def call_tool(ctx: Any, params: CallToolRequestParams) -> CallToolResult:
        try:
            return await upstream.call(lambda c: c.call_tool(params.name, params.arguments or {}))
        except DaemonError as exc:
            return CallToolResult(content=[TextContent(type="text", text=str(exc))], is_error=True)

    return Server("memkit", version=__version__, on_list_tools=list_tools, on_call_tool=call_tool,
                  instructions="memkit: the user's long-term memory (through the local memkit daemon).")


def run_stdio(store: Path, start: bool = True, url: str | None = None) -> None:
    """Serve MCP on stdin/stdout until the client closes it."""
    upstream = Upstream(store, start, url=url)

    async def main() -> None:
        server = build_proxy(upstream)
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())

    anyio.run(main)
