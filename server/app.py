"""The daemon's FastAPI application: the REST API under ``/v1`` and the MCP endpoint at ``/mcp``.

Routes are thin: parse, call one :class:`~memkit.server.service.Service` operation with the caller its
token belongs to, answer.  They are plain ``def`` functions, so FastAPI runs the (blocking) SDK calls in
its thread pool.  A :class:`~memkit.errors.MemkitError` becomes a JSON error with its message:
400 bad input, 401/403, 404 unknown id, 409 conflict, 413 body too large.
"""

from __future__ import annotations

import inspect
import os
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any

from fastapi import FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import TypeAdapter
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route

from memkit import __version__
from memkit.errors import (
    AuthError,
    ConflictError,
    InvalidInputError,
    MemkitError,
    NotFoundError,
    PermissionDeniedError,
    RegistryError,
    StoreInUseError,
)
from memkit.server.guard import CALLER, Guard
from memkit.server.schemas import (
    BatchIn,
    Error,
    Explored,
    Health,
    IdsIn,
    ImportIn,
    LinkIn,
    NoteIn,
    SearchIn,
    SourceIn,
    UpdateIn,
)
from memkit.server.service import Service
from memkit.server.settings import ServeSettings
from memkit.server.tokens import Caller, TokenStore
from memkit.types import HistoryEvent, Hit, Note, Stats

__all__ = ["create_app", "status_of"]

_NOTES = TypeAdapter(list[Note])
_HITS = TypeAdapter(list[Hit])
_EVENTS = TypeAdapter(list[HistoryEvent])
_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Error, "description": "bad input"}, 401: {"model": Error, "description": "no valid token"},
    403: {"model": Error, "description": "the token's scope does not allow it"},
    404: {"model": Error, "description": "unknown id"}, 409: {"model": Error, "description": "conflict"},
    413: {"model": Error, "description": "body too large"},
}


def status_of(exc: MemkitError) -> int:
    for cls, status in ((PermissionDeniedError, 403), (AuthError, 401), (NotFoundError, 404), (ConflictError, 409),
                        (InvalidInputError, 400), (RegistryError, 400), (StoreInUseError, 503)):
        if isinstance(exc, cls):
            return status
    return 400 if isinstance(exc, ValueError) else 500


def _json(data: bytes | str, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(content=data, status_code=status, media_type="application/json", headers=headers)


def _note(note: Note, status: int = 200) -> Response:
    return _json(note.model_dump_json(), status, {"ETag": f'"{note.version}"'})


def _version(if_match: str | None, body_version: int | None) -> int | None:
    """``If-Match: "3"`` (or ``W/"3"``, or ``3``) and/or ``expected_version``: the version a change expects."""
    if if_match is None:
        return body_version
    raw = if_match.strip().removeprefix("W/").strip('"')
    try:
        version = int(raw)
    except ValueError:
        raise InvalidInputError(f"If-Match must be a note version such as \"3\" (its ETag), got {if_match!r}") from None
    if body_version is not None and body_version != version:
        raise InvalidInputError(f"If-Match ({version}) and expected_version ({body_version}) disagree")
    return version


def _key(value: str | None) -> str | None:
    if value is not None and not (1 <= len(value) <= 255 and value.isprintable()):
        raise InvalidInputError("Idempotency-Key must be 1-255 printable characters")
    return value


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
        msg = err.get("msg", "invalid")
        if err.get("type") == "json_invalid":  # its loc is the character position
            loc, msg = "body", f"invalid JSON at character {loc} ({err.get('ctx', {}).get('error', msg)})"
        parts.append(f"{loc}: {msg.removeprefix('Value error, ')}")
    return "; ".join(parts)


def _no_telemetry() -> dict[str, Any]:
    """FastAPI's own OpenTelemetry spans, metrics and logs off, and never exported: recent FastAPI records them
    when a tracer is configured in the process and exports them over OTLP when ``FASTAPI_OTEL_AUTO_CONFIGURE`` is
    set, a variable meant for some other app.  A personal memory's requests stay on the machine.  (Older FastAPI
    has no such option, and records nothing.)"""
    if "telemetry" not in inspect.signature(FastAPI.__init__).parameters:
        return {}
    return {"telemetry": {"tracing": False, "metrics": False, "logs": False, "operation_spans": False,
                          "auto_configure": False}}


def create_app(service: Service, tokens: TokenStore, settings: ServeSettings, *, instance: str,
               sources: Any = None, on_start: Callable[[], None] | None = None,
               on_stop: Callable[[], None] | None = None, mcp: bool = True) -> Any:
    """The daemon's ASGI application (the FastAPI app wrapped in :class:`~memkit.server.guard.Guard`)."""
    mcp_server = None
    if mcp:
        from memkit.server.mcp_tools import build_mcp

        mcp_server = build_mcp(service)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if on_start is not None:
            on_start()
        try:
            if mcp_server is not None:
                async with mcp_server.session_manager.run():
                    yield
            else:
                yield
        finally:
            if on_stop is not None:
                on_stop()

    app = FastAPI(title="memkit", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="A person's long-term memory, served to local agents. Every route but /v1/health "
                  "needs `Authorization: Bearer <token>`.", **_no_telemetry())

    @app.exception_handler(MemkitError)
    async def _memkit_error(request: Request, exc: MemkitError) -> JSONResponse:
        return JSONResponse({"error": type(exc).__name__, "message": str(exc)}, status_code=status_of(exc))

    @app.exception_handler(RequestValidationError)
    async def _bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"error": "InvalidInputError", "message": _validation_message(exc)}, status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": "HTTPError", "message": str(exc.detail)}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    def caller(request: Request) -> Caller:
        return request.scope[CALLER]

    # -- notes -----------------------------------------------------------------------------------------
    @app.get("/v1/health", response_model=Health, tags=["daemon"])
    def health() -> Response:
        """Whether the daemon is up (no token needed); ``instance`` tells clients which daemon answered."""
        return _json(Health(status="ok", version=__version__, instance=instance).model_dump_json())

    @app.post("/v1/notes", response_model=Note, status_code=201, responses=_ERRORS, tags=["notes"])
    def add_note(request: Request, body: NoteIn,
                 idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None) -> Response:
        """Add one note.  With an ``Idempotency-Key`` header a retried request adds nothing (also after a
        daemon restart) and gets the first answer."""
        note = service.add(caller(request), body.model_dump(exclude_none=True), _key(idempotency_key))
        return _note(note, 201)

    @app.post("/v1/notes:batch", response_model=list[Note], status_code=201, responses=_ERRORS, tags=["notes"])
    def add_notes(request: Request, body: BatchIn,
                  idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None) -> Response:
        """Add many notes; every item is validated before anything is written."""
        items = [i if isinstance(i, str) else i.model_dump(exclude_none=True) for i in body.items]
        defaults = body.model_dump(exclude_none=True, exclude={"items"})
        notes = service.add_many(caller(request), items, defaults, _key(idempotency_key))
        return _json(_NOTES.dump_json(notes), 201)

    @app.get("/v1/notes", response_model=list[Note], responses=_ERRORS, tags=["notes"])
    def recent(request: Request, since: datetime | None = None, limit: Annotated[int, Query(ge=1, le=1000)] = 20,
               user_id: str | None = None, agent_id: str | None = None, session_id: str | None = None,
               include_superseded: bool = False) -> Response:
        """The newest notes, newest first (``since``: created at or after)."""
        notes = service.recent(caller(request), since, limit, user_id=user_id, agent_id=agent_id,
                               session_id=session_id, include_superseded=include_superseded)
        return _json(_NOTES.dump_json(notes))

    @app.get("/v1/notes/{note_id}", response_model=Note, responses=_ERRORS, tags=["notes"])
    def get_note(request: Request, note_id: str) -> Response:
        """One note (its ``ETag`` is its version, for ``If-Match``)."""
        return _note(service.get(caller(request), note_id))

    @app.patch("/v1/notes/{note_id}", response_model=Note, responses=_ERRORS, tags=["notes"])
    def update_note(request: Request, note_id: str, body: UpdateIn,
                    if_match: Annotated[str | None, Header(alias="If-Match")] = None) -> Response:
        """Change a note.  With ``If-Match: "<version>"`` or ``expected_version``, only if nobody changed it
        since (409 otherwise): two agents cannot silently overwrite each other."""
        changes = body.model_dump(exclude_unset=True, exclude={"expected_version"})
        note = service.update(caller(request), note_id, changes, _version(if_match, body.expected_version))
        return _note(note)

    @app.delete("/v1/notes/{note_id}", status_code=204, responses=_ERRORS, tags=["notes"])
    def delete_note(request: Request, note_id: str,
                    if_match: Annotated[str | None, Header(alias="If-Match")] = None) -> Response:
        """Delete a note (its history stays)."""
        service.delete(caller(request), note_id, _version(if_match, None))
        return Response(status_code=204)

    @app.get("/v1/notes/{note_id}/related", response_model=list[Note], responses=_ERRORS, tags=["notes"])
    def related(request: Request, note_id: str, depth: Annotated[int, Query(ge=1, le=10)] = 1) -> Response:
        return _json(_NOTES.dump_json(service.related(caller(request), note_id, depth)))

    @app.get("/v1/notes/{note_id}/explore", response_model=Explored, responses=_ERRORS, tags=["notes"])
    def explore(request: Request, note_id: str, depth: Annotated[int, Query(ge=1, le=10)] = 1) -> Response:
        note, linked = service.explore(caller(request), note_id, depth)
        return _json(Explored(note=note, related=linked).model_dump_json())

    @app.get("/v1/notes/{note_id}/history", response_model=list[HistoryEvent], responses=_ERRORS, tags=["notes"])
    def history(request: Request, note_id: str) -> Response:
        return _json(_EVENTS.dump_json(service.history(caller(request), note_id)))

    @app.post("/v1/search", response_model=list[Hit], responses=_ERRORS, tags=["notes"])
    def search(request: Request, body: SearchIn) -> Response:
        """Hybrid search within the token's scope."""
        hits = service.search(caller(request), body.query, body.k, user_id=body.user_id, agent_id=body.agent_id,
                              session_id=body.session_id, filters=body.filters,
                              include_superseded=body.include_superseded, as_of=body.as_of)
        return _json(_HITS.dump_json(hits))

    @app.post("/v1/links", status_code=204, responses=_ERRORS, tags=["links"])
    def link(request: Request, body: LinkIn) -> Response:
        service.link(caller(request), body.src, body.dst, body.kind, body.weight)
        return Response(status_code=204)

    @app.delete("/v1/links/{src}/{dst}", responses=_ERRORS, tags=["links"])
    def unlink(request: Request, src: str, dst: str) -> Response:
        return _json(f'{{"removed": {service.unlink(caller(request), src, dst)}}}')

    # -- ids -------------------------------------------------------------------------------------------
    @app.get("/v1/ids/{note_id}", responses=_ERRORS, tags=["ids"])
    def resolve_id(request: Request, note_id: str, deleted: bool = False) -> dict[str, str]:
        """The full id a prefix names (a limited token needs full ids)."""
        return {"id": service.resolve_id(caller(request), note_id, deleted)}

    @app.post("/v1/ids:existing", responses=_ERRORS, tags=["ids"])
    def existing(request: Request, body: IdsIn) -> dict[str, list[str]]:
        return {"ids": sorted(service.existing(caller(request), body.ids))}

    @app.post("/v1/ids:short", responses=_ERRORS, tags=["ids"])
    def short_ids(request: Request, body: IdsIn) -> dict[str, str]:
        return service.short_ids(caller(request), body.ids, body.min_len)

    # -- store -----------------------------------------------------------------------------------------
    @app.get("/v1/stats", response_model=Stats, responses=_ERRORS, tags=["store"])
    def stats(request: Request) -> Response:
        """Counts (of the token's own notes, for a limited token)."""
        return _json(service.stats(caller(request)).model_dump_json())

    @app.get("/v1/export", responses={200: {"content": {"application/x-ndjson": {}}}, **_ERRORS}, tags=["store"])
    def export(request: Request, user_id: str | None = None) -> Response:
        """The token's notes and the links among them as a memkit export (JSON lines)."""
        fd, path = tempfile.mkstemp(prefix="memkit-export-", suffix=".jsonl")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                n = service.export(caller(request), f, user_id)
        except BaseException:
            os.unlink(path)
            raise
        return FileResponse(path, media_type="application/x-ndjson", headers={"X-Memkit-Notes": str(n)},
                            background=BackgroundTask(os.unlink, path))

    @app.post("/v1/import", responses=_ERRORS, tags=["store"])
    def import_(request: Request, body: ImportIn) -> dict[str, int]:
        """Import a memkit export file from the daemon's machine (unrestricted token)."""
        if body.on_conflict not in ("skip", "error"):
            raise InvalidInputError("on_conflict must be 'skip' or 'error'")
        return {"imported": service.import_(caller(request), body.path, body.on_conflict)}

    @app.post("/v1/undo/{event_id}", response_model=HistoryEvent, responses=_ERRORS, tags=["store"])
    def undo(request: Request, event_id: int) -> Response:
        return _json(service.undo(caller(request), event_id).model_dump_json())

    @app.post("/v1/reindex", responses=_ERRORS, tags=["store"])
    def reindex(request: Request) -> dict[str, int]:
        return {"vectors": service.reindex(caller(request))}

    # -- sources ---------------------------------------------------------------------------------------
    if sources is not None:
        @app.post("/v1/sources", status_code=201, responses=_ERRORS, tags=["sources"])
        def add_source(request: Request, body: SourceIn) -> Response:
            """Ingest a file or folder of the daemon's machine (markdown, an Obsidian vault, chat exports), once
            or, with ``watch``, whenever it changes.  Needs an unrestricted token."""
            job = sources.add(caller(request), body)
            return _json(job.model_dump_json(), 201)

        @app.get("/v1/sources", tags=["sources"])
        def list_sources(request: Request) -> Response:
            return _json("[" + ",".join(j.model_dump_json() for j in sources.list(caller(request))) + "]")

        @app.get("/v1/sources/{source_id}", responses=_ERRORS, tags=["sources"])
        def get_source(request: Request, source_id: str) -> Response:
            return _json(sources.get(caller(request), source_id).model_dump_json())

        @app.delete("/v1/sources/{source_id}", status_code=204, responses=_ERRORS, tags=["sources"])
        def remove_source(request: Request, source_id: str) -> Response:
            sources.remove(caller(request), source_id)
            return Response(status_code=204)

    if mcp_server is not None:
        from mcp.server.streamable_http_manager import StreamableHTTPASGIApp

        app.router.routes.append(Route("/mcp", endpoint=StreamableHTTPASGIApp(mcp_server.session_manager),
                                       methods=["GET", "POST", "DELETE"]))
    return Guard(app, tokens, allow_remote=settings.allow_remote, max_body_bytes=settings.max_body_bytes)
