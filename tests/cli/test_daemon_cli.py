"""The CLI while a daemon holds the store (it goes through the daemon), and `memkit serve`'s own options."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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


def test_serve_a_memory_in_postgresql_in_the_background(tmp_path, config_dir, pg_url):  # noqa: F811
    from memkit.config import masked_url

    assert pg_url.startswith("postgresql://postgres:@")
    pg_url = pg_url.replace("postgres:@", "postgres:s3cret-pw@", 1)  # the test server trusts its socket: ignored
    folder = tmp_path / "pg-daemon"
    d = Daemon(store=folder, config_dir=config_dir, env=_env(config_dir))

    def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "memkit.cli.main", "--store", pg_url, *args], env=d.env,
                              capture_output=True, text=True, check=check)

    started = cli("serve", "--daemon", "--port", "0", "--folder", str(folder)).stdout
    try:
        assert f"memkit daemon serving {masked_url(pg_url)}" in started
        info = find_daemon(folder)
        assert info is not None and info.store == masked_url(pg_url)
        # the URL reaches the daemon in its environment: not on its command line, not in its files
        assert "s3cret-pw" not in Path(f"/proc/{info.pid}/cmdline").read_text()
        assert all("s3cret-pw" not in p.read_text(errors="replace") for p in folder.iterdir() if p.suffix in (".json", ".log"))
        d.url, d.token = info.url, d.tokens().default_token()
        with d.http() as h:
            a = h.post("/v1/notes", json={"content": "Alice moved to Lisbon in May", "user_id": "u1"})
            assert a.status_code == 201, a.text
            hits = h.post("/v1/search", json={"q": "where does Alice live?", "limit": 1, "user_id": "u1"}).json()
            assert hits[0]["note"]["id"] == a.json()["id"]
        assert "serving" in cli("serve", "--status", "--folder", str(folder)).stdout
    finally:  # a failed assertion must not leave the daemon running
        stopped = cli("serve", "--stop", "--folder", str(folder)).stdout
    assert "stopped the daemon" in stopped and find_daemon(folder) is None
    from memkit import Memory

    with Memory(pg_url) as mem:  # what the daemon wrote is in the database
        assert [n.content for n in mem.iter_notes(user_id="u1")] == ["Alice moved to Lisbon in May"]
    refused = cli("serve", "--install", check=False)
    assert refused.returncode == 2 and "--install writes the command line" in refused.stderr
