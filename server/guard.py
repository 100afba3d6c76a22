"""The daemon's front door, an ASGI middleware around everything (REST, OpenAPI and MCP alike).

In order: the ``Host`` header must name this machine's loopback (``localhost``, ``127.0.0.1``, ``[::1]``)
unless ``--allow-remote`` (against DNS rebinding: a web page whose name resolves to 127.0.0.1 sends its
own name); a browser's cross-origin request is refused (an ``Origin`` that is not this daemon's own, or
``Sec-Fetch-Site: cross-site``) and no CORS header is ever sent; a bearer token is required everywhere
but ``/v1/health`` (401 without a valid one); a body larger than the limit gets 413 before it is read.
The caller the token belongs to is put in the ASGI scope under ``memkit.caller``.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from memkit.server.settings import is_loopback
from memkit.server.tokens import TokenStore

__all__ = ["Guard", "CALLER", "error_body"]

CALLER = "memkit.caller"
_OPEN = frozenset({"/v1/health"})


def error_body(error: str, message: str) -> bytes:
    return json.dumps({"error": error, "message": message}).encode("utf-8")


def _hostname(host: str) -> str:
    """``localhost:7319`` -> ``localhost``; ``[::1]:7319`` -> ``::1``."""
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class Guard:
    def __init__(self, app: Any, tokens: TokenStore, *, allow_remote: bool = False, max_body_bytes: int):
        self.app = app
        self.tokens = tokens
        self.allow_remote = allow_remote
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":  # no websockets here
            await send({"type": "websocket.close", "code": 1008})
            return
        headers: dict[bytes, bytes] = {}
        for k, v in scope["headers"]:
            headers.setdefault(k, v)
        host = headers.get(b"host", b"").decode("latin-1")
        if not self.allow_remote and not (host and is_loopback(_hostname(host))):
            await _reply(send, 403, "ForbiddenHost", f"Host {host!r} is not this machine's loopback address; the "
                         "daemon answers only requests for localhost, 127.0.0.1 or [::1]")
            return
        origin = headers.get(b"origin")
        if origin is not None:
            parts = urlsplit(origin.decode("latin-1"))
            if parts.scheme not in ("http", "https") or parts.netloc != host:
                await _reply(send, 403, "CrossOrigin", "cross-origin requests are refused")
                return
        if headers.get(b"sec-fetch-site") == b"cross-site":
            await _reply(send, 403, "CrossOrigin", "cross-origin requests are refused")
            return
        if scope["path"] not in _OPEN:
            auth = headers.get(b"authorization", b"").decode("latin-1")
            scheme, _, token = auth.partition(" ")
            caller = self.tokens.verify(token.strip()) if scheme.lower() == "bearer" else None
            if caller is None:
                await _reply(send, 401, "AuthError", "a valid bearer token is required (Authorization: Bearer ...; "
                             "`memkit token create` makes one)", [(b"www-authenticate", b'Bearer realm="memkit"')])
                return
            scope[CALLER] = caller
        length = headers.get(b"content-length")
        if length is not None:
            try:
                size = int(length)
            except ValueError:
                await _reply(send, 400, "InvalidInputError", "bad Content-Length header")
                return
            if size > self.max_body_bytes:
                await _too_large(send, self.max_body_bytes)
                return
        elif headers.get(b"transfer-encoding") is not None:  # chunked: read it here, up to the limit
            chunks, total = [], 0
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    return  # the client went away
                total += len(message.get("body", b""))
                if total > self.max_body_bytes:
                    await _too_large(send, self.max_body_bytes)
                    return
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    break
            receive = _replay(b"".join(chunks), receive)
        await self.app(scope, receive, send)


def _replay(body: bytes, receive: Any) -> Any:
    sent = False

    async def again() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again


async def _too_large(send: Any, limit: int) -> None:
    await _reply(send, 413, "InvalidInputError", f"the request body is larger than the daemon's limit of {limit:,} "
                 "bytes (memkit serve --max-body-mb); send fewer notes per request")


async def _reply(send: Any, status: int, error: str, message: str,
                 extra: list[tuple[bytes, bytes]] | None = None) -> None:
    body = error_body(error, message)
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *(extra or [])]})
    await send({"type": "http.response.body", "body": body})
