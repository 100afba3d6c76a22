"""Running the daemon: open the store (taking its lock: the daemon is its only writer), serve, stop cleanly.

uvicorn runs one worker on a socket bound here (so the port is known before the first request, and
``--port 0`` takes any free one).  SIGTERM or Ctrl-C stops it gracefully: requests in progress finish,
and every write acknowledged was committed before its answer (``Memory`` commits per call), so nothing
acknowledged is lost.  Then the runtime file is removed and the store closed.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import sys
import threading
import time
from pathlib import Path

from memkit import __version__
from memkit.errors import DaemonError, MemkitError, StoreInUseError
from memkit.server.runtime import RuntimeInfo, find_daemon, pid_alive, read_runtime, remove_runtime, write_runtime
from memkit.server.settings import ServeSettings

__all__ = ["serve", "stop", "WARMUP_USER"]

WARMUP_USER = "memkit-daemon-warmup-5f1c0e"  # a user no note has: the warm-up search finds nothing, changes nothing
log = logging.getLogger("memkit.server")


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise DaemonError(f"cannot listen on {host}:{port}: {exc.strerror or exc} (another program uses the port? "
                          "try --port 0 for any free one)") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _warm(mem: object) -> None:
    """Load the embedder and open the vector index before the first request needs them."""
    try:
        _ = mem.index  # type: ignore[attr-defined]
        mem.search("warm up", k=1, user_id=WARMUP_USER)  # type: ignore[attr-defined]
    except MemkitError as exc:  # the daemon still serves; the first real request will report the problem
        log.warning("warming up failed: %s", exc)


def serve(settings: ServeSettings, *, log_level: str = "info") -> None:
    """Serve the store of ``settings`` until SIGTERM / SIGINT."""
    import uvicorn

    from memkit.memory import Memory
    from memkit.server.app import create_app
    from memkit.server.service import Service
    from memkit.server.sources import SourceManager
    from memkit.server.state import DaemonState
    from memkit.server.tokens import TokenStore

    store = settings.store.expanduser().resolve()
    where = settings.location
    running = find_daemon(store, timeout=1.0)
    if running is not None:
        raise DaemonError(f"a memkit daemon already serves {where} at {running.url} (pid {running.pid})")
    store.mkdir(parents=True, exist_ok=True)  # a database's local folder: the daemon's own files
    try:
        mem = Memory(settings.url if settings.url is not None else store)
    except StoreInUseError as exc:
        raise DaemonError(f"{exc}; the daemon must be the store's only user") from None
    state = None
    try:
        tokens = TokenStore(settings.config_dir)
        tokens.ensure_default()
        state = DaemonState(store)
        state.purge()
        service = Service(mem, state)
        sources = SourceManager(service, state)
        sock = _bind(settings.host, settings.port)
        info = RuntimeInfo(pid=os.getpid(), host=settings.host, port=sock.getsockname()[1],
                           instance=secrets.token_hex(8), store=where, version=__version__,
                           started_at=time.time())

        def on_start() -> None:
            write_runtime(store, info)
            threading.Thread(target=_warm, args=(mem,), name="memkit-warmup", daemon=True).start()
            sources.start()
            print(f"memkit daemon: serving {where} at {info.url} (pid {info.pid}); tokens in {settings.config_dir}",
                  file=sys.stderr, flush=True)

        def on_stop() -> None:  # the lifespan's end: uvicorn re-raises SIGTERM after it, so close here
            sources.stop()
            remove_runtime(store, info.instance)
            state.close()
            mem.close()
            print(f"memkit daemon: stopped; {where} closed", file=sys.stderr, flush=True)

        app = create_app(service, tokens, settings, instance=info.instance, sources=sources, on_start=on_start,
                         on_stop=on_stop)
        config = uvicorn.Config(app, workers=1, lifespan="on", log_level=log_level, access_log=False,
                                server_header=False, timeout_graceful_shutdown=30, proxy_headers=False)
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        if state is not None:
            state.close()
        mem.close()


def stop(store: Path, wait_s: float = 60.0) -> RuntimeInfo | None:
    """Send SIGTERM to the daemon of ``store`` and wait until it is gone; None if none was running."""
    info = read_runtime(Path(store).expanduser().resolve())
    if info is None or not pid_alive(info.pid):
        return None
    os.kill(info.pid, signal.SIGTERM)
    deadline = time.monotonic() + wait_s
    while pid_alive(info.pid) and time.monotonic() < deadline:
        try:  # reap it when it is our own child
            os.waitpid(info.pid, os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.05)
    if pid_alive(info.pid):
        raise DaemonError(f"the daemon (pid {info.pid}) did not stop within {wait_s:.0f} s")
    return info
