"""The memkit daemon: one local process that owns a store and serves it over REST and MCP.

``memkit serve`` runs it; :mod:`memkit.server.service` holds the operations (one code path for the
REST routes and the MCP tools, each taking the caller's scope from its token);
:mod:`memkit.server.app` is the FastAPI application; :mod:`memkit.server.tokens` the bearer tokens;
:mod:`memkit.server.runtime` how clients find a running daemon.  Importing this package loads
neither FastAPI nor uvicorn nor the MCP SDK (``pip install 'memkit[server]'``).
"""
