"""Real servers on loopback for the back-end benchmark and tests: PostgreSQL with pgvector (the ``pgserver``
package: its own PostgreSQL binaries, started from Python, reached on a Unix socket) and a Chroma server
(``chroma run`` from the chromadb package).  A user with a real cluster or server points memkit at its URL
instead; these are for measuring and testing on one machine."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

from memkit.errors import BenchError, MissingDependencyError

__all__ = ["PostgresServer", "ChromaServer", "free_port"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """A PostgreSQL cluster in ``folder`` (created, or started again when it is there), pgvector included."""

    def __init__(self, folder: Path):
        try:
            import pgserver
        except ImportError:
            raise MissingDependencyError("pgserver", purpose="a local PostgreSQL for tests and benchmarks") from None
        self.server = pgserver.get_server(str(folder), cleanup_mode="stop")
        self.url = self.server.get_uri()  # postgresql://postgres:@/postgres?host=<folder>

    def database(self) -> str:
        """A new, empty database; its URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:16]}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url.replace("/postgres?", f"/{name}?", 1)

    def stop(self) -> None:
        self.server.cleanup()


class ChromaServer:
    """``chroma run`` on a free loopback port, persisting in ``folder``; ``url`` once it answers."""

    def __init__(self, folder: Path, timeout_s: float = 60.0):
        import httpx

        exe = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which("chroma")
        if exe is None:
            raise MissingDependencyError("chromadb", purpose="the `chroma` command that runs a Chroma server")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = Path(folder) / "chroma.log"
        env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [exe, "run", "--host", "127.0.0.1", "--port", str(self.port), "--path", str(Path(folder) / "data")],
                stdout=log, stderr=subprocess.STDOUT, env=env,
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"the chroma server exited ({self.proc.returncode}): {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise BenchError(f"the chroma server did not answer on {self.url} within {timeout_s:.0f} s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
