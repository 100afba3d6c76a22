"""The memkit CLI end to end (real SQLite, Chroma and the bundled embedder), in process."""

from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from memkit import Memory
from memkit.cli.main import cli


@pytest.fixture
def run(tmp_path):
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None, code: int = 0):
        res = runner.invoke(cli, ["--store", str(tmp_path / "store"), *args], input=input, catch_exceptions=False)
        assert res.exit_code == code, res.stdout
        return res

    return invoke


def test_end_to_end(run, tmp_path):
    out = run("add", "Alice moved to Lisbon in May", "--user", "u1", "--meta", "src=chat", "--json").stdout
    alice = json.loads(out)[0]
    assert alice["metadata"] == {"src": "chat"}
    lines = "Alice works at a fintech startup in Lisbon\n" + json.dumps({"content": "Bob plays the cello"}) + "\n"
    out = run("add", "--file", "-", "--user", "u1", input=lines).stdout
    assert len(out.strip().splitlines()) == 2
    hits = json.loads(run("search", "where does Alice live?", "--user", "u1", "--json", "-k", "2").stdout)
    assert hits[0]["note"]["id"] == alice["id"] and set(hits[0]["scores"]) >= {"dense", "lexical", "graph", "recency"}
    table = run("search", "cello", "--user", "u1").stdout
    assert "Bob plays the cello" in table
    assert "Lisbon" in run("show", alice["id"]).stdout
    assert "fintech" in run("related", alice["id"]).stdout
    hist = json.loads(run("history", alice["id"], "--json").stdout)
    assert hist[0]["event"] == "add"
    stats = json.loads(run("stats", "--json").stdout)
    assert stats["notes"] == 3 and stats["vector_count"] == 3
    assert "reindexed 3 vectors" in run("reindex").stdout
    run("export", str(tmp_path / "out.jsonl"))
    run("delete", alice["id"])
    run("show", alice["id"], code=3)
    deleted = json.loads(run("history", alice["id"], "--json").stdout)[-1]
    assert deleted["event"] == "delete"
    assert "undid" in run("undo", str(deleted["id"])).stdout
    assert "Lisbon" in run("show", alice["id"]).stdout
    fresh = CliRunner().invoke(cli, ["--store", str(tmp_path / "other"), "import", str(tmp_path / "out.jsonl")])
    assert fresh.exit_code == 0 and "imported 3 notes" in fresh.stdout


def test_errors_are_one_clean_line(run):
    run("add", "a first note")
    res = run("show", "nope", code=3)
    assert res.stderr.strip() == "error: no note with id 'nope'"
    res = run("search", "x", "--filter", 'n={"$bad": 1}', code=4)
    assert res.stderr.startswith("error: filter on 'n': unknown operator") and "Traceback" not in res.stdout
    assert run("add", "   ", code=4).stderr.startswith("error: item 0: content")
    assert "Invalid value for --filter: 'noequals': expected KEY=VALUE" in run("search", "x", "--filter", "noequals",
                                                                              code=2).stderr
    assert "Invalid value for --meta: 'x': expected KEY=VALUE" in run("add", "y", "--meta", "x", code=2).stderr
    bad = run("add", "--file", "-", input='fine line\n{"content": \n', code=4)
    assert bad.stderr.strip() == ("error: <stdin>:2: a line starting with '{' must be a JSON object (Expecting value, "
                                  "column 12); nothing was added")
    assert json.loads(run("stats", "--json").stdout)["notes"] == 1


def test_every_command_has_help():
    def walk(group: click.Group, prefix: list[str]):
        for name, cmd in group.commands.items():
            yield prefix + [name], cmd
            if isinstance(cmd, click.Group):
                yield from walk(cmd, prefix + [name])

    runner = CliRunner()
    for path, cmd in walk(cli, []):
        res = runner.invoke(cli, [*path, "--help"])
        assert res.exit_code == 0 and (cmd.help or cmd.short_help), path
    assert {"add", "search", "show", "related", "history", "delete", "export", "import", "stats", "reindex",
            "demo", "undo"} <= set(cli.commands)


def test_installed_script_and_memkit_home(tmp_path):
    env = {"MEMKIT_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"}
    exe = [sys.executable, "-m", "memkit.cli.main"]
    subprocess.run([*exe, "add", "stored through MEMKIT_HOME"], env=env, check=True, capture_output=True)
    out = subprocess.run([*exe, "search", "MEMKIT_HOME", "--json"], env=env, check=True, capture_output=True, text=True)
    assert json.loads(out.stdout)[0]["note"]["content"] == "stored through MEMKIT_HOME"
    bad = subprocess.run([*exe, "show", "nope"], env=env, capture_output=True, text=True)
    assert bad.returncode == 3 and bad.stderr.strip() == "error: no note with id 'nope'"


def test_demo_never_wipes_a_folder_it_did_not_make(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.txt").write_text("years of work")
    res = CliRunner().invoke(cli, ["demo", "--store", str(mine)])
    assert res.exit_code == 4 and "was not made by `memkit demo`" in res.stderr
    assert (mine / "thesis.txt").read_text() == "years of work"
    with Memory(tmp_path / "store") as mem:  # nor a memkit store
        mem.add("a real memory", user_id="u")
    assert CliRunner().invoke(cli, ["demo", "--store", str(tmp_path / "store")]).exit_code == 4
    with Memory(tmp_path / "store") as mem:
        assert mem.stats().notes == 1


def test_demo_runs(tmp_path):
    res = CliRunner().invoke(cli, ["demo", "--store", str(tmp_path / "demo")], catch_exceptions=False)
    assert res.exit_code == 0, res.stdout
    assert "reopened from disk" in res.output and "evolution events" in res.stdout
    assert "superseded" in res.stdout
    again = CliRunner().invoke(cli, ["demo", "--store", str(tmp_path / "demo")], catch_exceptions=False)
    assert again.exit_code == 0  # its own folder is wiped and written again
    with Memory(tmp_path / "demo") as mem:  # the demo's headline question gets the current fact first
        hits = mem.search("Where does Maya live now?", k=3, user_id="maya")
    assert hits[0].note.content == "Maya lives in Porto."
    assert not any("lease on a flat in Lisbon" in h.note.content for h in hits)
