"""Tokens: private files, hashes only, scopes, revocation; and `memkit token`."""

from __future__ import annotations

import json
import stat
import subprocess
import sys

import pytest

from memkit.errors import InvalidInputError, NotFoundError
from memkit.server.settings import ServeSettings
from memkit.server.tokens import Caller, TokenStore


def test_tokens_are_private_hashed_and_scoped(tmp_path):
    store = TokenStore(tmp_path / "cfg")
    owner = store.ensure_default()
    assert store.ensure_default() == owner  # made once
    limited = store.create("phone", user_id="u1", agent_id="a1")
    for name in ("token", "tokens.json"):
        assert stat.S_IMODE((tmp_path / "cfg" / name).stat().st_mode) == 0o600, name
    assert stat.S_IMODE((tmp_path / "cfg").stat().st_mode) == 0o700
    saved = (tmp_path / "cfg" / "tokens.json").read_text()
    assert limited not in saved and owner not in saved  # only hashes
    assert store.verify(owner) == Caller(client="default")
    assert store.verify(limited) == Caller(client="phone", user_id="u1", agent_id="a1")
    assert store.verify(limited + "x") is None and store.verify("") is None and store.verify(None) is None
    assert [r.name for r in store.list()] == ["default", "phone"]
    with pytest.raises(InvalidInputError):
        store.create("phone")
    with pytest.raises(InvalidInputError):
        store.create("bad name!")
    other = TokenStore(tmp_path / "cfg")  # another process's view (a running daemon) sees the revocation
    assert other.verify(limited) is not None
    store.revoke("phone")
    assert other.verify(limited) is None
    with pytest.raises(NotFoundError):
        store.revoke("phone")


def test_serve_refuses_a_non_loopback_host_unless_allowed(tmp_path):
    with pytest.raises(ValueError, match="--allow-remote"):
        ServeSettings(store=tmp_path, host="0.0.0.0")
    assert ServeSettings(store=tmp_path, host="0.0.0.0", allow_remote=True).allow_remote
    assert ServeSettings(store=tmp_path, host="::1").host == "::1"


def test_token_commands(tmp_path):
    env = {"MEMKIT_CONFIG_DIR": str(tmp_path / "cfg"), "PATH": "/usr/bin:/bin"}

    def memkit(*args: str, code: int = 0) -> subprocess.CompletedProcess:
        res = subprocess.run([sys.executable, "-m", "memkit.cli.main", "token", *args], env=env, capture_output=True,
                             text=True)
        assert res.returncode == code, res.stderr
        return res

    raw = memkit("create", "laptop-agent", "--user", "me").stdout.strip()
    assert raw.startswith("mk_") and TokenStore(tmp_path / "cfg").verify(raw).user_id == "me"
    listed = json.loads(memkit("list", "--json").stdout)
    assert listed == [{"name": "laptop-agent", "user_id": "me", "agent_id": None,
                       "created_at": listed[0]["created_at"]}]
    owner = memkit("show").stdout.strip()
    assert TokenStore(tmp_path / "cfg").verify(owner).client == "default"
    memkit("revoke", "laptop-agent")
    assert memkit("revoke", "laptop-agent", code=3).stderr.strip() == "error: no token named 'laptop-agent'"
