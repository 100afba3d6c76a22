"""``memkit.Client`` and ``memkit.AsyncClient``: the daemon's REST API with ``Memory``'s method names and
return types (``Note``, ``Hit``, ``HistoryEvent``, ``Stats``), on httpx.

One core builds each request and parses its answer, without I/O; the two clients only send, one
blocking and one awaitable (the httpx pattern: no copied twin).  Errors come back as the same
:class:`~memkit.errors.MemkitError` subclasses the daemon raised.  ``add`` and ``add_many`` send an
``Idempotency-Key`` (a new one per call unless given), so a request whose answer was lost is sent
again safely: the daemon adds its notes once.

>>> with Client() as mem:            # the daemon of $MEMKIT_HOME (or ~/.memkit/default), the owner's token
...     mem.add("Alice moved to Lisbon", user_id="u1")
"""

from __future__ import annotations

import asyncio
import codecs
import functools
import os
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

import httpx
from pydantic import TypeAdapter, ValidationError
from pydantic_core import to_jsonable_python

from memkit import errors as _errors
from memkit.errors import DaemonError, InvalidInputError, MemkitError
from memkit.types import HistoryEvent, Hit, Note, Stats

__all__ = ["Client", "AsyncClient"]

_NOTES = TypeAdapter(list[Note])
_HITS = TypeAdapter(list[Hit])
_EVENTS = TypeAdapter(list[HistoryEvent])
_BY_STATUS: dict[int, type[MemkitError]] = {
    400: InvalidInputError, 401: _errors.AuthError, 403: _errors.PermissionDeniedError, 404: _errors.NotFoundError,
    409: _errors.ConflictError, 413: InvalidInputError,
}
_ALWAYS_RETRY = (httpx.ConnectError, httpx.ConnectTimeout)  # the request never reached the daemon
_RETRY_IF_SAFE = (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError, httpx.ReadTimeout)


def _error(response: httpx.Response) -> MemkitError:
    try:
        body = response.json()
        name, message = str(body.get("error", "")), str(body.get("message", ""))
    except (ValueError, AttributeError):
        name, message = "", response.text[:500]
    cls = getattr(_errors, name, None) if name in _errors.__all__ else None
    if not (isinstance(cls, type) and issubclass(cls, MemkitError)) or cls is _errors.MissingDependencyError:
        cls = _BY_STATUS.get(response.status_code)
    if cls is None:
        return DaemonError(f"the daemon answered {response.status_code}: {message or response.reason_phrase}")
    return cls(message)


def _body(**fields: Any) -> dict[str, Any]:
    return to_jsonable_python({k: v for k, v in fields.items() if v is not None})


class _ExportSink:
    """Where an export's bytes go: a file (through a temporary file) or an open text stream."""

    def __init__(self, target: str | Path | TextIO):
        self.stream = target if hasattr(target, "write") else None
        self.path = None if self.stream is not None else Path(target).expanduser()  # type: ignore[arg-type]
        if self.path is not None and self.path.is_dir():
            raise InvalidInputError(f"cannot export to {self.path}: it is a folder; give a file name")
        self.tmp = None if self.path is None else self.path.with_name(self.path.name + ".tmp")
        self.file = None if self.tmp is None else open(self.tmp, "wb")  # noqa: SIM115 - closed in finish/abort
        self.decoder = codecs.getincrementaldecoder("utf-8")()

    def write(self, chunk: bytes) -> None:
        if self.file is not None:
            self.file.write(chunk)
        else:
            self.stream.write(self.decoder.decode(chunk))  # type: ignore[union-attr]

    def finish(self, response: httpx.Response) -> int:
        if self.file is not None:
            self.file.close()
            os.replace(self.tmp, self.path)  # type: ignore[arg-type]
        return int(response.headers.get("X-Memkit-Notes", "0"))

    def abort(self) -> None:
        if self.file is not None:
            self.file.close()
            self.tmp.unlink(missing_ok=True)  # type: ignore[union-attr]


@dataclass
class _Call:
    """One request and how to read its answer."""

    method: str
    path: str
    parse: Callable[[httpx.Response], Any]
    json: Any = None
    params: dict[str, Any] | None = None
    headers: dict[str, str] | None = None
    retry: bool = True  # safe to send again when the answer was lost
    sink: Callable[[], _ExportSink] | None = None


def _nothing(_: httpx.Response) -> None:
    return None


def _id(note_id: str) -> str:
    if not isinstance(note_id, str) or not note_id:
        raise InvalidInputError(f"a note id must be a non-empty string, got {note_id!r}")
    return quote(note_id, safe="")


class _Core:
    """Request building and answer parsing, shared by :class:`Client` and :class:`AsyncClient`."""

    def __init__(self, url: str | None = None, token: str | None = None, *, store: str | Path | None = None,
                 timeout: float = 60.0, retries: int = 4):
        self.path: Path | None = None
        self.created = False  # (Memory's attribute: a client never creates a store)
        self._store = None
        if url is None:
            url = os.environ.get("MEMKIT_URL")
        if url is None:
            from memkit.config import default_home
            from memkit.server.runtime import find_daemon

            self._store = Path(store).expanduser() if store is not None else default_home()
            info = find_daemon(self._store)
            if info is None:
                raise DaemonError(f"no memkit daemon is running for {self._store}; start one with `memkit serve`")
            url, self.path = info.url, Path(info.store)
        if token is None:
            token = os.environ.get("MEMKIT_TOKEN")
        if token is None:
            from memkit.server.settings import config_dir
            from memkit.server.tokens import TokenStore

            token = TokenStore(config_dir()).default_token()
            if token is None:
                raise DaemonError("no token: pass token=, set MEMKIT_TOKEN, or start the daemon once (it writes the "
                                  "owner's token to the config folder)")
        self.url = url.rstrip("/")
        self.timeout, self.retries = timeout, retries
        self._headers = {"Authorization": f"Bearer {token}", "User-Agent": "memkit-client"}

    def _rediscover(self) -> bool:
        """After a refused connection: the daemon may have restarted on another port."""
        if self._store is None:
            return False
        from memkit.server.runtime import read_runtime

        info = read_runtime(self._store)
        if info is None or info.url == self.url:
            return False
        self.url = info.url
        return True

    @staticmethod
    def _answer(call: _Call, response: httpx.Response) -> Any:
        if response.status_code >= 400:
            raise _error(response)
        try:
            return call.parse(response)
        except (ValidationError, ValueError) as exc:
            raise DaemonError(f"unexpected answer from the daemon to {call.method} {call.path}: {exc}") from None

    def _retry_delay(self, call: _Call, exc: httpx.TransportError, attempt: int) -> float:
        """How long to wait before sending ``call`` again after ``exc`` (a :class:`DaemonError` when it may not
        be retried); a refused connection first looks for the daemon on another port."""
        if attempt >= self.retries or not (
                isinstance(exc, _ALWAYS_RETRY) or (call.retry and isinstance(exc, _RETRY_IF_SAFE))):
            raise DaemonError(f"cannot reach the memkit daemon at {self.url}: {exc}") from None
        if isinstance(exc, _ALWAYS_RETRY) and self._rediscover():
            self._http.base_url = self.url  # type: ignore[attr-defined]
        return 0.25 * 2**attempt

    # -- operations (each returns the request to send) -------------------------------------------------
    def add(self, content: str, *, user_id: str | None = None, agent_id: str | None = None,
            session_id: str | None = None, metadata: dict[str, Any] | None = None, source: str | None = None,
            keywords: list[str] | None = None, tags: list[str] | None = None, context: str | None = None,
            valid_from: datetime | str | None = None, created_at: datetime | str | None = None, id: str | None = None,
            supersedes: str | list[str] | None = None, links: list[str] | None = None,
            idempotency_key: str | None = None) -> Any:
        """Add one note (``Memory.add``)."""
        body = _body(content=content, user_id=user_id, agent_id=agent_id, session_id=session_id, metadata=metadata,
                     source=source, keywords=keywords, tags=tags, context=context, valid_from=valid_from,
                     created_at=created_at, id=id, supersedes=supersedes, links=links)
        return _Call("POST", "/v1/notes", lambda r: Note.model_validate_json(r.content), json=body,
                     headers={"Idempotency-Key": idempotency_key or uuid.uuid4().hex})

    def add_many(self, items: Sequence[str | dict[str, Any]], *, user_id: str | None = None,
                 agent_id: str | None = None, session_id: str | None = None, metadata: dict[str, Any] | None = None,
                 source: str | None = None, progress: bool | None = None, idempotency_key: str | None = None) -> Any:
        """Add many notes in one request (``Memory.add_many``; ``progress`` is accepted and ignored)."""
        body = _body(items=list(items), user_id=user_id, agent_id=agent_id, session_id=session_id,
                     metadata=metadata, source=source)
        return _Call("POST", "/v1/notes:batch", lambda r: _NOTES.validate_json(r.content), json=body,
                     headers={"Idempotency-Key": idempotency_key or uuid.uuid4().hex})

    def search(self, query: str, k: int = 5, *, user_id: str | None = None, agent_id: str | None = None,
               session_id: str | None = None, filters: dict[str, Any] | None = None,
               include_superseded: bool = False, as_of: datetime | None = None) -> Any:
        """Hybrid search (``Memory.search``)."""
        body = _body(query=query, k=k, user_id=user_id, agent_id=agent_id, session_id=session_id, filters=filters,
                     include_superseded=include_superseded, as_of=as_of)
        return _Call("POST", "/v1/search", lambda r: _HITS.validate_json(r.content), json=body)

    def get(self, note_id: str) -> Any:
        return _Call("GET", f"/v1/notes/{_id(note_id)}", lambda r: Note.model_validate_json(r.content))

    def update(self, note_id: str, *, expected_version: int | None = None, **changes: Any) -> Any:
        """Change fields of a note; with ``expected_version``, only if nobody changed it since (else
        :class:`~memkit.errors.ConflictError`)."""
        headers = None if expected_version is None else {"If-Match": f'"{expected_version}"'}
        return _Call("PATCH", f"/v1/notes/{_id(note_id)}", lambda r: Note.model_validate_json(r.content),
                     json=to_jsonable_python(changes), headers=headers, retry=False)

    def delete(self, note_id: str, *, expected_version: int | None = None) -> Any:
        headers = None if expected_version is None else {"If-Match": f'"{expected_version}"'}
        return _Call("DELETE", f"/v1/notes/{_id(note_id)}", _nothing, headers=headers, retry=False)

    def related(self, note_id: str, depth: int = 1) -> Any:
        return _Call("GET", f"/v1/notes/{_id(note_id)}/related", lambda r: _NOTES.validate_json(r.content),
                     params={"depth": depth})

    def explore(self, note_id: str, depth: int = 1) -> Any:
        def parse(r: httpx.Response) -> tuple[Note, list[Note]]:
            data = r.json()
            return Note.model_validate(data["note"]), [Note.model_validate(n) for n in data["related"]]

        return _Call("GET", f"/v1/notes/{_id(note_id)}/explore", parse, params={"depth": depth})

    def history(self, note_id: str) -> Any:
        return _Call("GET", f"/v1/notes/{_id(note_id)}/history", lambda r: _EVENTS.validate_json(r.content))

    def recent(self, since: datetime | None = None, limit: int = 20, *, user_id: str | None = None,
               agent_id: str | None = None, session_id: str | None = None, include_superseded: bool = False) -> Any:
        """The newest notes, newest first."""
        params = _body(since=since, limit=limit, user_id=user_id, agent_id=agent_id, session_id=session_id,
                       include_superseded=include_superseded)
        return _Call("GET", "/v1/notes", lambda r: _NOTES.validate_json(r.content), params=params)

    def link(self, src: str, dst: str, kind: str = "manual", weight: float = 1.0) -> Any:
        return _Call("POST", "/v1/links", _nothing, json={"src": src, "dst": dst, "kind": kind, "weight": weight})

    def unlink(self, src: str, dst: str) -> Any:
        return _Call("DELETE", f"/v1/links/{_id(src)}/{_id(dst)}", lambda r: int(r.json()["removed"]), retry=False)

    def undo(self, event_id: int) -> Any:
        return _Call("POST", f"/v1/undo/{int(event_id)}", lambda r: HistoryEvent.model_validate_json(r.content),
                     retry=False)

    def resolve_id(self, note_id: str, *, deleted: bool = False) -> Any:
        return _Call("GET", f"/v1/ids/{_id(note_id)}", lambda r: str(r.json()["id"]),
                     params={"deleted": str(deleted).lower()})

    def short_ids(self, ids: Sequence[str], min_len: int = 8) -> Any:
        return _Call("POST", "/v1/ids:short", lambda r: dict(r.json()), json={"ids": list(ids), "min_len": min_len})

    def existing(self, ids: Sequence[str]) -> Any:
        return _Call("POST", "/v1/ids:existing", lambda r: set(r.json()["ids"]), json={"ids": list(ids)})

    def stats(self) -> Any:
        return _Call("GET", "/v1/stats", lambda r: Stats.model_validate_json(r.content))

    def export(self, path: str | Path | TextIO, *, user_id: str | None = None) -> Any:
        """Write the notes and links as JSON lines to a file or an open text stream; returns the number of notes."""
        return _Call("GET", "/v1/export", _nothing, params=_body(user_id=user_id),
                     sink=lambda: _ExportSink(path))

    def import_(self, path: str | Path, *, on_conflict: str = "skip", progress: bool | None = None) -> Any:
        """Import an export file; the daemon reads it (it must be on the daemon's machine)."""
        full = str(Path(path).expanduser().resolve())
        return _Call("POST", "/v1/import", lambda r: int(r.json()["imported"]),
                     json={"path": full, "on_conflict": on_conflict}, retry=False)

    def reindex(self, progress: bool | None = None) -> Any:
        return _Call("POST", "/v1/reindex", lambda r: int(r.json()["vectors"]), retry=False)

    def health(self) -> Any:
        return _Call("GET", "/v1/health", lambda r: dict(r.json()))

    def add_source(self, path: str | Path, *, user_id: str | None = None, agent_id: str | None = None,
                   watch: bool = False, interval: float = 300.0) -> Any:
        """Have the daemon ingest a file or folder of its machine (once, or ``watch``-ing it)."""
        from memkit.server.sources import Job

        body = _body(path=str(Path(path).expanduser().resolve()), user_id=user_id, agent_id=agent_id, watch=watch,
                     interval=interval)
        return _Call("POST", "/v1/sources", lambda r: Job.model_validate_json(r.content), json=body, retry=False)

    def source(self, source_id: str) -> Any:
        from memkit.server.sources import Job

        return _Call("GET", f"/v1/sources/{_id(source_id)}", lambda r: Job.model_validate_json(r.content))

    def remove_source(self, source_id: str) -> Any:
        return _Call("DELETE", f"/v1/sources/{_id(source_id)}", _nothing, retry=False)


_OPS = ("add", "add_many", "search", "get", "update", "delete", "related", "explore", "history", "recent", "link",
        "unlink", "undo", "resolve_id", "short_ids", "existing", "stats", "export", "import_", "reindex", "health",
        "add_source", "source", "remove_source")


class Client(_Core):
    """The daemon, with ``Memory``'s methods.  ``url``/``token`` default to ``$MEMKIT_URL``/``$MEMKIT_TOKEN``,
    else the running daemon of ``store`` (default ``$MEMKIT_HOME``) and the owner's token."""

    def __init__(self, url: str | None = None, token: str | None = None, *, store: str | Path | None = None,
                 timeout: float = 60.0, retries: int = 4, transport: httpx.BaseTransport | None = None):
        super().__init__(url, token, store=store, timeout=timeout, retries=retries)
        self._http = httpx.Client(base_url=self.url, headers=self._headers, timeout=timeout, transport=transport)

    def _send(self, call: _Call) -> Any:
        attempt = 0
        while True:
            try:
                if call.sink is None:
                    r = self._http.request(call.method, call.path, json=call.json, params=call.params,
                                           headers=call.headers)
                    return self._answer(call, r)
                sink = call.sink()
                try:
                    with self._http.stream(call.method, call.path, params=call.params, headers=call.headers) as r:
                        if r.status_code >= 400:
                            r.read()
                            raise _error(r)
                        for chunk in r.iter_bytes():
                            sink.write(chunk)
                    return sink.finish(r)
                except BaseException:
                    sink.abort()
                    raise
            except httpx.TransportError as exc:
                time.sleep(self._retry_delay(call, exc, attempt))
                attempt += 1

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client({self.url!r})"


class AsyncClient(_Core):
    """:class:`Client` for asyncio code: the same methods, awaitable."""

    def __init__(self, url: str | None = None, token: str | None = None, *, store: str | Path | None = None,
                 timeout: float = 60.0, retries: int = 4, transport: httpx.AsyncBaseTransport | None = None):
        super().__init__(url, token, store=store, timeout=timeout, retries=retries)
        self._http = httpx.AsyncClient(base_url=self.url, headers=self._headers, timeout=timeout, transport=transport)

    async def _send(self, call: _Call) -> Any:
        attempt = 0
        while True:
            try:
                if call.sink is None:
                    r = await self._http.request(call.method, call.path, json=call.json, params=call.params,
                                                 headers=call.headers)
                    return self._answer(call, r)
                sink = call.sink()
                try:
                    async with self._http.stream(call.method, call.path, params=call.params,
                                                 headers=call.headers) as r:
                        if r.status_code >= 400:
                            await r.aread()
                            raise _error(r)
                        async for chunk in r.aiter_bytes():
                            sink.write(chunk)
                    return sink.finish(r)
                except BaseException:
                    sink.abort()
                    raise
            except httpx.TransportError as exc:
                await asyncio.sleep(self._retry_delay(call, exc, attempt))
                attempt += 1

    async def close(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"AsyncClient({self.url!r})"


def _sync(name: str) -> Any:
    op = getattr(_Core, name)

    @functools.wraps(op)
    def method(self: Client, *args: Any, **kwargs: Any) -> Any:
        return self._send(op(self, *args, **kwargs))

    return method


def _async(name: str) -> Any:
    op = getattr(_Core, name)

    @functools.wraps(op)
    async def method(self: AsyncClient, *args: Any, **kwargs: Any) -> Any:
        return await self._send(op(self, *args, **kwargs))

    return method


for _name in _OPS:
    setattr(Client, _name, _sync(_name))
    setattr(AsyncClient, _name, _async(_name))
