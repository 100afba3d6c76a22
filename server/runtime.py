"""How clients find the daemon of a store: ``<store>/daemon.json``, and starting one in the background.

The daemon writes ``daemon.json`` (its pid, address and a random ``instance`` id) once it listens, and
removes it when it stops.  A client reads it, checks that the process lives and that ``/v1/health``
answers with the same instance (so a stale file, or another program on a reused port, is never
mistaken for the daemon), and talks to it; otherwise it opens the store itself.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from memkit.errors import DaemonError

__all__ = ["RuntimeInfo", "RUNTIME_FILE", "PID_FILE", "LOG_FILE", "read_runtime", "write_runtime",
           "remove_runtime", "find_daemon", "start_daemon", "pid_alive"]

RUNTIME_FILE = "daemon.json"
PID_FILE = "daemon.pid"
LOG_FILE = "daemon.log"


class RuntimeInfo(BaseModel):
    model_config = ConfigDict(extra="ignore")

    pid: int
    host: str
    port: int
    instance: str
    store: str
    version: str
    started_at: float

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    return True


def read_runtime(store: Path) -> RuntimeInfo | None:
    try:
        return RuntimeInfo.model_validate_json((Path(store).expanduser() / RUNTIME_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError, ValidationError):
        return None


def write_runtime(store: Path, info: RuntimeInfo) -> None:
    folder = Path(store)
    tmp = folder / f".{RUNTIME_FILE}.tmp"
    tmp.write_text(info.model_dump_json(indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, folder / RUNTIME_FILE)
    (folder / PID_FILE).write_text(f"{info.pid}\n", encoding="utf-8")


def remove_runtime(store: Path, instance: str) -> None:
    """Remove the runtime files if they are still this daemon's."""
    folder = Path(store)
    current = read_runtime(folder)
    if current is not None and current.instance == instance:
        (folder / RUNTIME_FILE).unlink(missing_ok=True)
        (folder / PID_FILE).unlink(missing_ok=True)


def find_daemon(store: Path, timeout: float = 2.0) -> RuntimeInfo | None:
    """The running daemon of ``store``, checked through its health endpoint, or None."""
    info = read_runtime(store)
    if info is None or not pid_alive(info.pid):
        return None
    import httpx

    try:
        r = httpx.get(f"{info.url}/v1/health", timeout=timeout)
        ok = r.status_code == 200 and r.json().get("instance") == info.instance
    except (httpx.HTTPError, ValueError):
        return None
    return info if ok else None


def start_daemon(store: Path, *, port: int = 0, wait_s: float = 120.0, extra: list[str] | None = None,
                 url: str | None = None) -> RuntimeInfo:
    """Start ``memkit serve`` for ``store`` as a background process (its own session; output to
    ``<store>/daemon.log``) and wait until it answers.  Returns its runtime info.  ``url``: the database it
    serves, ``store`` then being its local folder; the URL reaches the process in its environment
    (``MEMKIT_HOME``), never on its command line, which other users can read."""
    store = Path(store).expanduser().resolve()
    store.mkdir(parents=True, exist_ok=True)
    log_path = store / LOG_FILE
    where = ["--store", str(store)] if url is None else []
    env = {**os.environ, "MEMKIT_HOME": url} if url is not None else None
    cmd = [sys.executable, "-m", "memkit.cli.main", *where, "serve", "--port", str(port),
           *(["--folder", str(store)] if url is not None else []), *(extra or [])]
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, close_fds=True, env=env)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        info = read_runtime(store)
        if info is not None and info.pid == proc.pid and find_daemon(store) is not None:
            return info
        if proc.poll() is not None:
            raise DaemonError(f"the memkit daemon for {store} exited with code {proc.returncode} while starting: "
                              f"{_tail(log_path)}")
        time.sleep(0.1)
    raise DaemonError(f"the memkit daemon for {store} did not answer within {wait_s:.0f} s; see {log_path}")


def _tail(path: Path, lines: int = 5) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return "(no log)"
    return " | ".join(text[-lines:]) or "(empty log)"
