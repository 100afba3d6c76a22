"""The daemon's dependencies load only when the daemon (or the client) is used."""

from __future__ import annotations

import json
import subprocess
import sys

_HEAVY = ("fastapi", "uvicorn", "starlette", "mcp", "httpx", "watchfiles", "yaml", "torch", "chromadb")


def _loaded(code: str) -> list[str]:
    probe = code + f"\nimport sys, json; print(json.dumps([m for m in {_HEAVY!r} if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_importing_memkit_and_its_daemon_modules_stays_light():
    assert _loaded("import memkit, memkit.server, memkit.sources, memkit.cli.main, memkit.server.service, "
                   "memkit.server.tokens, memkit.server.runtime, memkit.sources.ingester") == []


def test_the_client_loads_httpx_only():
    assert _loaded("import memkit; memkit.Client; memkit.AsyncClient") == ["httpx"]


def test_new_commands_have_help():
    from click.testing import CliRunner

    from memkit.cli.main import cli

    for args in (["serve"], ["mcp"], ["ingest"], ["token"], ["token", "create"], ["export"]):
        res = CliRunner().invoke(cli, [*args, "--help"])
        assert res.exit_code == 0 and len(res.output) > 100, args
