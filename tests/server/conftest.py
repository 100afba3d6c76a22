"""A real daemon in a subprocess (``memkit serve --port 0``) on a store in a temporary folder, with its own
config folder for tokens; talked to over loopback HTTP only."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from memkit.server.runtime import find_daemon, read_runtime
from memkit.server.tokens import TokenStore


@dataclass
class Daemon:
    store: Path
    config_dir: Path
    env: dict[str, str]
    proc: subprocess.Popen | None = None
    url: str = ""
    token: str = ""
    log: Path = field(default_factory=Path)

    def start(self, timeout: float = 90.0, extra: tuple[str, ...] = ()) -> Daemon:
        self.log = self.store.parent / f"{self.store.name}-daemon.log"
        out = open(self.log, "ab")  # noqa: SIM115 - the child keeps it
        self.proc = subprocess.Popen([sys.executable, "-m", "memkit.cli.main", "--store", str(self.store), "serve",
                                      "--port", "0", "--log-level", "warning", *extra],
                                     env=self.env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            info = read_runtime(self.store)
            if info is not None and info.pid == self.proc.pid and find_daemon(self.store) is not None:
                self.url = info.url
                self.token = TokenStore(self.config_dir).default_token() or ""
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"daemon did not start: {self.log.read_text()[-3000:]}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout=timeout)

    def http(self, token: str | None = None) -> httpx.Client:
        tok = self.token if token is None else token
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {tok}"} if tok else {}, timeout=60)

    def tokens(self) -> TokenStore:
        return TokenStore(self.config_dir)

    def cli(self, *args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
        res = subprocess.run([sys.executable, "-m", "memkit.cli.main", "--store", str(self.store), *args],
                             env=self.env, capture_output=True, text=True, input=input, timeout=120)
        if check:
            assert res.returncode == 0, (args, res.stdout, res.stderr)
        return res


def _env(config_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMKIT_")}
    env["MEMKIT_CONFIG_DIR"] = str(config_dir)
    return env


@pytest.fixture
def config_dir(tmp_path, monkeypatch):
    """Tokens in a temporary config folder (never the user's), for this process and the daemons it starts."""
    folder = tmp_path / "config"
    monkeypatch.setenv("MEMKIT_CONFIG_DIR", str(folder))
    for var in ("MEMKIT_TOKEN", "MEMKIT_URL", "MEMKIT_HOME"):
        monkeypatch.delenv(var, raising=False)
    return folder


@pytest.fixture
def daemon_factory(tmp_path, config_dir):
    """``make(store_name)``: a new daemon (stopped at the end of the test)."""
    started: list[Daemon] = []

    def make(name: str = "store") -> Daemon:
        d = Daemon(store=tmp_path / name, config_dir=config_dir, env=_env(config_dir))
        started.append(d)
        return d.start()

    yield make
    for d in started:
        if d.proc is not None and d.proc.poll() is None:
            d.stop()


@pytest.fixture(scope="module")
def shared_daemon(tmp_path_factory):
    """One daemon for a whole test module (starting one takes seconds): tests use their own users.  Its
    request bodies are limited to 1 MiB."""
    root = tmp_path_factory.mktemp("daemon")
    config = root / "config"
    old = os.environ.get("MEMKIT_CONFIG_DIR")
    os.environ["MEMKIT_CONFIG_DIR"] = str(config)
    d = Daemon(store=root / "store", config_dir=config, env=_env(config)).start(extra=("--max-body-mb", "1"))
    yield d
    d.stop()
    if old is None:
        os.environ.pop("MEMKIT_CONFIG_DIR", None)
    else:
        os.environ["MEMKIT_CONFIG_DIR"] = old


def count(d: Daemon, user: str) -> int:
    with d.http() as h:
        r = h.get("/v1/notes", params={"user_id": user, "limit": 1000, "include_superseded": "true"})
        assert r.status_code == 200, r.text
        return len(r.json())


def dumps(obj: object) -> str:
    return json.dumps(obj)
