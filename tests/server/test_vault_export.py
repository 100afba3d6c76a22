"""`memkit export --obsidian DIR`: one markdown file per note, front matter, [[id]] links."""

from __future__ import annotations

import yaml
from click.testing import CliRunner

from memkit import Memory
from memkit.cli.main import cli
from memkit.sources.obsidian import MARKER


def test_export_as_an_obsidian_vault(tmp_path):
    store = tmp_path / "store"
    with Memory(store) as mem:
        a = mem.add("Alice moved to Lisbon in May", user_id="u1", tags=["moves"], metadata={"src": "chat"})
        b = mem.add("Alice works at a fintech startup", user_id="u1", links=[a.id])
        c = mem.add("Bob plays the cello", user_id="u2")
    runner = CliRunner()
    vault = tmp_path / "vault"
    res = runner.invoke(cli, ["--store", str(store), "export", "--obsidian", str(vault), "--user", "u1"],
                        catch_exceptions=False)
    assert res.exit_code == 0 and "exported 2 notes as an Obsidian vault" in res.stdout
    assert sorted(p.name for p in vault.iterdir()) == sorted([MARKER, f"{a.id}.md", f"{b.id}.md"])
    text = (vault / f"{a.id}.md").read_text()
    front = yaml.safe_load(text.split("---\n")[1])
    assert front["id"] == a.id and front["tags"] == ["moves"] and front["metadata"] == {"src": "chat"}
    assert front["aliases"] == ["Alice moved to Lisbon in May"] and front["user_id"] == "u1"
    assert "Alice moved to Lisbon in May" in text and f"[[{b.id}|Alice works at a fintech startup]]" in text
    assert c.id not in text
    # again, everyone's notes: the earlier export is updated in place
    assert runner.invoke(cli, ["--store", str(store), "export", "--obsidian", str(vault)]).exit_code == 0
    assert (vault / f"{c.id}.md").exists()
    # a folder of the user's own is never written into
    mine = tmp_path / "my-notes"
    mine.mkdir()
    (mine / "diary.md").write_text("private")
    refused = runner.invoke(cli, ["--store", str(store), "export", "--obsidian", str(mine)])
    assert refused.exit_code == 4 and "not empty" in refused.stderr
    assert sorted(p.name for p in mine.iterdir()) == ["diary.md"]
    assert runner.invoke(cli, ["--store", str(store), "export"]).exit_code == 2  # PATH or --obsidian
