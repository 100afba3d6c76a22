"""The MCP tools, over the same service operations as the REST routes.

Mounted on the daemon at ``/mcp`` (streamable HTTP, stateless, JSON responses: each request stands
alone, so a daemon restart breaks no client).  The caller comes from the bearer token of the HTTP
request (put in the ASGI scope by the Guard), never from a tool argument: no tool takes a ``user_id``.
Parameter names models tend to guess are accepted too (``q`` for ``query``, ``limit`` for ``k``).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import Any

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field

from memkit import __version__
from memkit.errors import InvalidInputError, MemkitError
from memkit.server.guard import CALLER
from memkit.server.service import Service
from memkit.server.tokens import Caller
from memkit.sources.units import as_datetime
from memkit.types import Hit, Note, Stats

__all__ = ["build_mcp", "TOOLS", "parse_since"]

TOOLS = ("remember", "recall", "get_note", "update_note", "link_notes", "explore", "recent", "forget", "status")
_AGO = re.compile(r"^\s*(\d+)\s*(m|min|minutes?|h|hours?|d|days?|w|weeks?)\s*(ago)?\s*$", re.IGNORECASE)
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}

_INSTRUCTIONS = """\
memkit is the user's long-term memory, shared by their agents and apps on this machine.
Call `recall` before answering questions about the user, their projects or earlier conversations;
call `remember` for facts, preferences and decisions worth keeping (one fact per note, in plain words).
To change a note, `get_note` first and pass its `version` as `expected_version` to `update_note`."""


class Recalled(BaseModel):
    hits: list[Hit] = Field(description="best first; each hit has the note, its score and the score parts")


class Explored(BaseModel):
    note: Note
    related: list[Note] = Field(description="notes linked to it, nearest first")


class NoteList(BaseModel):
    notes: list[Note]


class Done(BaseModel):
    ok: bool = True
    id: str | None = None
    detail: str = ""


def parse_since(value: str | datetime | None) -> datetime | None:
    """An ISO date or time (a time without a zone is UTC), or an age such as ``24h``, ``7d``, ``2 weeks ago``."""
    if value is None or isinstance(value, datetime):
        return value
    m = _AGO.match(value)
    if m:
        unit = _UNITS[m.group(2)[0].lower()]
        return datetime.now(timezone.utc) - timedelta(**{unit: int(m.group(1))})
    when = as_datetime(value)
    if when is None:
        raise InvalidInputError(f"since: expected an ISO date or time (2024-05-01, 2024-05-01T12:00) or an age "
                                f"such as 24h or 7d, got {value!r}")
    return when


def build_mcp(service: Service, default_caller: Caller | None = None) -> MCPServer:
    """The MCP server of the daemon, its streamable-HTTP session manager made (stateless, JSON responses).

    ``default_caller`` answers for requests that carry no HTTP request (an in-process client in tests);
    over HTTP, the token's caller always decides.
    """
    mcp = MCPServer("memkit", version=__version__, instructions=_INSTRUCTIONS, log_level="WARNING")

    def who(ctx: Context) -> Caller:
        request = ctx.request_context.request
        found = request.scope.get(CALLER) if request is not None and hasattr(request, "scope") else None
        if found is None:
            found = default_caller
        if found is None:
            raise ToolError("no caller: the request carried no memkit token")
        return found

    async def run(ctx: Context, op: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await anyio.to_thread.run_sync(partial(op, who(ctx), *args, **kwargs))
        except MemkitError as exc:  # the model reads the message and can correct its call
            raise ToolError(str(exc)) from exc

    def hints(read_only: bool, destructive: bool = False, idempotent: bool = False, title: str = "") -> ToolAnnotations:
        return ToolAnnotations(title=title, read_only_hint=read_only, destructive_hint=destructive,
                               idempotent_hint=idempotent, open_world_hint=False)

    @mcp.tool(annotations=hints(False, title="Remember"))
    async def remember(ctx: Context, content: str, tags: list[str] | None = None,
                       metadata: dict[str, Any] | None = None, session_id: str | None = None,
                       valid_from: datetime | None = None) -> Note:
        """Store one memory: a fact, preference, decision or event, in plain words.  ``valid_from``: when it
        happened or became true (ISO time; default now).  ``session_id`` groups turns of one conversation."""
        item = {"content": content, "tags": tags, "metadata": metadata, "session_id": session_id,
                "valid_from": valid_from}
        return await run(ctx, service.add, {k: v for k, v in item.items() if v is not None})

    @mcp.tool(annotations=hints(True, title="Recall"))
    async def recall(ctx: Context, query: str | None = None, k: int | None = None,
                     filters: dict[str, Any] | None = None, as_of: datetime | None = None,
                     q: str | None = None, limit: int | None = None) -> Recalled:
        """Search the memory by meaning and words; best matches first.  ``query`` (or ``q``): what to look for;
        ``k`` (or ``limit``): how many, default 10; ``filters``: metadata conditions such as {"src": "chat"} or
        {"n": {"$gte": 3}}; ``as_of``: the notes that were true at that time (ISO)."""
        text = query if query is not None else q
        if text is None:
            raise ToolError("recall needs a query (query or q)")
        hits = await run(ctx, service.search, text, k or limit or 10, filters=filters, as_of=as_of)
        return Recalled(hits=hits)

    @mcp.tool(annotations=hints(True, title="Get a note"))
    async def get_note(ctx: Context, id: str) -> Note:
        """One note by its id, with its ``version`` (pass it to ``update_note`` as ``expected_version``)."""
        return await run(ctx, service.get, id)

    @mcp.tool(annotations=hints(False, destructive=True, title="Update a note"))
    async def update_note(ctx: Context, id: str, expected_version: int, content: str | None = None,
                          tags: list[str] | None = None) -> Note:
        """Change a note's content and/or tags.  ``expected_version`` is the version you read (``get_note``):
        if someone changed the note since, nothing is written and you get a conflict error; read it again."""
        changes = {k: v for k, v in {"content": content, "tags": tags}.items() if v is not None}
        if not changes:
            raise ToolError("give content and/or tags to change")
        return await run(ctx, service.update, id, changes, expected_version)

    @mcp.tool(annotations=hints(False, idempotent=True, title="Link two notes"))
    async def link_notes(ctx: Context, a: str, b: str) -> Done:
        """Link two related notes (by id), so that finding one brings the other."""
        await run(ctx, service.link, a, b)
        return Done(id=a, detail=f"linked {a} and {b}")

    @mcp.tool(annotations=hints(True, title="Explore links"))
    async def explore(ctx: Context, id: str, depth: int = 1) -> Explored:
        """A note and the notes linked to it within ``depth`` hops."""
        note, linked = await run(ctx, service.explore, id, depth)
        return Explored(note=note, related=linked)

    @mcp.tool(annotations=hints(True, title="Recent notes"))
    async def recent(ctx: Context, since: str | None = None, limit: int = 20) -> NoteList:
        """The newest notes, newest first.  ``since``: an ISO date or time, or an age such as 24h or 7d."""
        try:
            when = parse_since(since)
        except InvalidInputError as exc:
            raise ToolError(str(exc)) from exc
        return NoteList(notes=await run(ctx, service.recent, when, limit))

    @mcp.tool(annotations=hints(False, destructive=True, idempotent=True, title="Forget a note"))
    async def forget(ctx: Context, id: str) -> Done:
        """Delete a note (its history keeps the last state, so the owner can undo it)."""
        deleted = await run(ctx, service.delete, id)
        return Done(id=deleted, detail=f"deleted {deleted}")

    @mcp.tool(annotations=hints(True, title="Memory status"))
    async def status(ctx: Context) -> Stats:
        """How many notes and links the memory holds (yours, for a limited token)."""
        return await run(ctx, service.stats)

    # Host and Origin are checked for the whole daemon by its Guard (also with --allow-remote), not here
    mcp.streamable_http_app(streamable_http_path="/mcp", stateless_http=True, json_response=True,
                            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False))
    return mcp
