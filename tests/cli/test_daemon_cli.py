"""The CLI while a daemon holds the store (it goes through the daemon), and `memkit serve`'s own options."""

from __future__ import annotations

import json
import subprocess
import sys

from memkit.server.runtime import find_daemon
from tests.server.conftest import Daemon, _env, config_dir, daemon_factory  # noqa: F401  (fixtures)
from tests.server.test_ingest import make_vault


def test_cli_commands_work_while_the_daemon_holds_the_store(daemon_factory, tmp_path):  # noqa: F811
    d = daemon_factory()
    added = json.loads(d.cli("add", "Alice moved to Lisbon in May", "--user", "u1", "--meta", "src=chat",
                             "--json").stdout)[0]
    assert added["metadata"] == {"src": "chat", "memkit_client": "default"}  # written by the daemon
    d.cli("add", "--file", "-", "--user", "u1", input="Alice works at a fintech startup in Lisbon\nBob plays cello\n")
    hits = json.loads(d.cli("search", "where does Alice live?", "--user", "u1", "--json", "-k", "2").stdout)
    assert hits[0]["note"]["id"] == added["id"]
    assert "Lisbon" in d.cli("show", added["id"][:10]).stdout
    assert "updated" in d.cli("update", added["id"], "--content", "Alice moved to Porto").stdout
    assert json.loads(d.cli("history", added["id"], "--json").stdout)[0]["event"] == "add"
    stats = json.loads(d.cli("stats", "--json").stdout)
    assert stats["notes"] == 3
    d.cli("export", str(tmp_path / "out.jsonl"))
    assert len((tmp_path / "out.jsonl").read_text().splitlines()) >= 4
    report = d.cli("ingest", str(make_vault(tmp_path)), "--user", "u1").stdout
    assert report.startswith("3 files ingested")
    assert json.loads(d.cli("stats", "--json").stdout)["notes"] > 5
    d.cli("delete", added["id"])
    assert d.cli("show", added["id"], check=False).returncode == 3
    assert "serving" in d.cli("serve", "--status").stdout


def test_serve_daemon_stop_and_install(tmp_path, config_dir, monkeypatch):  # noqa: F811
    d = Daemon(store=tmp_path / "bg", config_dir=config_dir, env=_env(config_dir))
    started = d.cli("serve", "--daemon", "--port", "0").stdout
    assert "memkit daemon serving" in started and (d.store / "daemon.pid").is_file()
    info = find_daemon(d.store)
    assert info is not None and str(info.pid) == (d.store / "daemon.pid").read_text().strip()
    assert "stopped the daemon" in d.cli("serve", "--stop").stdout
    assert find_daemon(d.store) is None and not (d.store / "daemon.json").exists()
    assert d.cli("serve", "--status", check=False).returncode == 1
    env = {**d.env, "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    res = subprocess.run([sys.executable, "-m", "memkit.cli.main", "--store", str(d.store), "serve", "--install"],
                         env=env, capture_output=True, text=True, check=True)
    unit = next((tmp_path / "xdg" / "systemd" / "user").glob("memkit-bg-*.service"))
    body = unit.read_text()
    assert f"--store {d.store} serve --port 7319" in body and "KillSignal=SIGTERM" in body
    assert f"Environment=MEMKIT_CONFIG_DIR={config_dir}" in body
    assert "systemctl --user enable --now" in res.stdout  # said, not done
    from memkit.server.install import install_unit

    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # never the real ~/Library
    plist, how = install_unit(d.store, ["--port", "7319"], platform="darwin")
    assert plist.is_relative_to(tmp_path / "home" / "Library" / "LaunchAgents")
    assert "<key>ProgramArguments</key>" in plist.read_text() and how.startswith("enable it with")
