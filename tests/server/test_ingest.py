"""`memkit ingest`: markdown, an Obsidian vault, chat transcripts; idempotent, read-only, watched."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from memkit import Memory
from memkit.cli.main import cli
from memkit.sources.documents import LIMIT_CHARS
from memkit.sources.ingester import Ingester
from tests.conftest import FAST

LONG = "\n\n".join(
    f"## Chapter {c}\n\n" + "\n\n".join(f"Paragraph {c}.{p}: Bob practised the cello for {p + c} hours and wrote "
                                         f"down what his teacher said about bowing, posture and breathing."
                                         for p in range(6))
    for c in range(1, 5))


def make_vault(root: Path) -> Path:
    vault = root / "vault"
    (vault / ".obsidian").mkdir(parents=True)
    (vault / ".obsidian" / "app.json").write_text('{"theme": "dark"}')
    (vault / "Places").mkdir()
    (vault / "Alice.md").write_text(
        "---\ntags: [person, friend]\naliases: [Ally]\ndate: 2024-05-01\nstatus: close\nfavourite number: 7\n---\n"
        "# Alice\n\nAlice lives in [[Lisbon]] and plays duets with [[Bob|Bobby]]. #climbing\n")
    (vault / "Places" / "Lisbon.md").write_text("Lisbon is the capital of Portugal, where [[Ally]] lives.\n")
    (vault / "Bob.md").write_text(f"# Bob\n\nBob is a cellist.\n\n{LONG}\n")
    (vault / "diagram.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (vault / "settings.json").write_text('{"theme": "dark"}')
    (vault / "broken.md").write_bytes(b"caf\xe9 au lait\n")
    return vault


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def mem(tmp_path):
    with Memory(tmp_path / "store", FAST) as m:
        yield m


def _by_title(mem: Memory) -> dict[str, list]:
    out: dict[str, list] = {}
    for n in mem.iter_notes():
        out.setdefault(n.metadata.get("title", ""), []).append(n)
    return out


def test_an_obsidian_vault_is_read_into_linked_notes_and_never_written(mem, tmp_path):
    vault = make_vault(tmp_path)
    before = snapshot(vault)
    ing = Ingester(mem, mem.path, user_id="me")
    report = ing.run(vault)
    assert snapshot(vault) == before  # the files' bytes and times are unchanged, and nothing was added
    assert (report.files, report.ingested) == (5, 3)
    assert {Path(i.path).name for i in report.skipped} == {"diagram.png", "settings.json"}
    assert [(Path(i.path).name, i.reason) for i in report.failed] == [("broken.md", "not UTF-8 text (byte 0xe9 at "
                                                                                    "offset 3)")]
    notes = _by_title(mem)
    (alice,) = notes["Alice"]
    assert set(alice.tags) >= {"person", "friend", "climbing"} and alice.user_id == "me"
    assert alice.metadata["status"] == "close" and alice.metadata["favourite_number"] == 7
    assert alice.valid_from.isoformat().startswith("2024-05-01") and alice.source == str(vault / "Alice.md")
    (lisbon,) = notes["Lisbon"]
    bob = sorted(notes["Bob"], key=lambda n: n.metadata["chunk"])
    assert len(bob) > 2 and all(len(n.content) <= LIMIT_CHARS for n in bob)
    assert all(b.metadata["chunks"] == len(bob) for b in bob)
    for prev, cur in zip(bob, bob[1:], strict=False):  # the chunks of a long document are linked in order
        assert prev.id in cur.links
    assert bob[1].content.startswith("## Bob › Chapter 2\n")  # each piece says where it sits
    assert lisbon.id in alice.links and bob[0].id in alice.links  # [[Lisbon]] and [[Bob|Bobby]]
    assert alice.id in lisbon.links  # [[Ally]]: by alias
    assert report.links >= 3

    again = ing.run(vault)
    assert (again.notes_added, again.ingested, again.unchanged) == (0, 0, 3)
    assert sum(1 for _ in mem.iter_notes()) == 2 + len(bob)


def test_a_changed_file_supersedes_its_old_notes_and_a_removed_one_closes_them(mem, tmp_path):
    vault = make_vault(tmp_path)
    ing = Ingester(mem, mem.path)
    ing.run(vault)
    (old,) = _by_title(mem)["Alice"]
    (vault / "Alice.md").write_text("---\ntags: [person]\n---\n# Alice\n\nAlice moved to [[Lisbon]] last year.\n")
    report = ing.run(vault)
    assert (report.ingested, report.notes_added, report.notes_closed) == (1, 1, 1)
    alice = {n.id: n for n in _by_title(mem)["Alice"]}
    assert alice[old.id].valid_to is not None  # kept, closed
    (new,) = [n for n in alice.values() if n.valid_to is None]
    assert "moved" in new.content
    assert mem.search("where does Alice live", k=3)[0].note.id != old.id
    (vault / "Places" / "Lisbon.md").unlink()
    gone = ing.run(vault)
    assert gone.removed == 1 and gone.notes_closed == 1
    assert all(n.valid_to is not None for n in _by_title(mem)["Lisbon"])


def chat_fixtures(folder: Path) -> Path:
    folder.mkdir()
    (folder / "support.json").write_text(json.dumps({
        "id": "support-1", "title": "Printer trouble", "messages": [
            {"role": "system", "content": "You are helpful."},
            {"role": "user", "content": "My printer jams on every page.", "timestamp": "2024-03-01T10:00:00Z"},
            {"role": "assistant", "content": [{"type": "text", "text": "Try cleaning the rollers."}],
             "timestamp": "2024-03-01T10:00:05Z"}]}))
    (folder / "lines.jsonl").write_text("\n".join(json.dumps(m) for m in [
        {"role": "user", "content": "I prefer tea over coffee."}, {"role": "assistant", "content": "Noted."}]) + "\n")
    node = lambda nid, parent, children, role, text, t: {  # noqa: E731
        "id": nid, "parent": parent, "children": children,
        "message": None if role is None else {"id": nid, "author": {"role": role}, "create_time": t,
                                              "content": {"content_type": "text", "parts": [text]}}}
    chatgpt = [{"title": "Trip plans", "create_time": 1714550400.0, "conversation_id": "c-trip",
                "current_node": "m3b", "mapping": {
                    "root": node("root", None, ["m1"], None, "", None),
                    "m1": node("m1", "root", ["m2"], "user", "Plan a weekend in Porto.", 1714550400.0),
                    "m2": node("m2", "m1", ["m3a", "m3b"], "assistant", "Day one: Ribeira.", 1714550460.0),
                    "m3a": node("m3a", "m2", [], "user", "An abandoned branch.", 1714550500.0),
                    "m3b": node("m3b", "m2", [], "user", "Add a port wine cellar tour.", 1714550520.0)}}]
    (folder / "chatgpt").mkdir()
    (folder / "chatgpt" / "conversations.json").write_text(json.dumps(chatgpt))
    claude = [{"uuid": "k-1", "name": "Garden", "created_at": "2024-06-01T08:00:00Z", "chat_messages": [
        {"sender": "human", "text": "Which tomatoes grow well on a balcony?", "created_at": "2024-06-01T08:00:00Z",
         "content": [{"type": "text", "text": "Which tomatoes grow well on a balcony?"}]},
        {"sender": "assistant", "text": "Cherry tomatoes such as Sungold.", "created_at": "2024-06-01T08:00:09Z",
         "content": [{"type": "text", "text": "Cherry tomatoes such as Sungold."}]}]}]
    (folder / "claude").mkdir()
    (folder / "claude" / "conversations.json").write_text(json.dumps(claude))
    return folder


def test_chat_transcripts_keep_speakers_times_and_sessions(mem, tmp_path):
    chats = chat_fixtures(tmp_path / "chats")
    ing = Ingester(mem, mem.path, user_id="me")
    report = ing.run(chats)
    assert report.failed == [] and report.ingested == 4
    turns = {n.content: n for n in mem.iter_notes()}
    assert "You are helpful." not in turns and "An abandoned branch." not in turns  # system turns, other branches
    printer = turns["My printer jams on every page."]
    assert printer.metadata["speaker"] == "user" and printer.session_id == "openai:support-1"
    assert printer.valid_from.isoformat() == "2024-03-01T10:00:00+00:00"
    assert turns["Try cleaning the rollers."].metadata["speaker"] == "assistant"
    assert printer.id in turns["Try cleaning the rollers."].links  # a session's turns are linked in order
    assert turns["Add a port wine cellar tour."].session_id == "chatgpt:c-trip"
    assert turns["Day one: Ribeira."].valid_from.isoformat() == "2024-05-01T08:01:00+00:00"
    tomato = turns["Which tomatoes grow well on a balcony?"]
    assert tomato.metadata["speaker"] == "user" and tomato.session_id == "claude:k-1"
    assert turns["I prefer tea over coffee."].session_id == "openai:lines"
    # a re-export with one more turn adds that turn only
    data = json.loads((chats / "claude" / "conversations.json").read_text())
    data[0]["chat_messages"].append({"sender": "human", "text": "And basil?", "created_at": "2024-06-01T08:01:00Z"})
    (chats / "claude" / "conversations.json").write_text(json.dumps(data))
    again = ing.run(chats)
    assert (again.ingested, again.notes_added, again.notes_closed, again.unchanged) == (1, 1, 0, 3)


def test_watch_picks_up_new_and_changed_files(mem, tmp_path):
    from memkit.sources.watch import watch

    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "first.md").write_text("The first note.\n")
    stop = threading.Event()
    reports = []
    ing = Ingester(mem, mem.path)
    t = threading.Thread(target=watch, args=(ing, folder), kwargs={"stop": stop, "on_report": reports.append},
                         daemon=True)
    t.start()
    try:
        deadline = time.monotonic() + 30
        while not reports and time.monotonic() < deadline:
            time.sleep(0.1)
        (folder / "second.md").write_text("A second note, written while watching.\n")
        while time.monotonic() < deadline and not any("second note" in n.content for n in mem.iter_notes()):
            time.sleep(0.2)
        assert any("second note" in n.content for n in mem.iter_notes())
    finally:
        stop.set()
        t.join(timeout=10)


def test_ingest_command(tmp_path, monkeypatch):
    monkeypatch.setenv("MEMKIT_CONFIG_DIR", str(tmp_path / "cfg"))
    vault = make_vault(tmp_path)
    runner = CliRunner()
    store = tmp_path / "cli-store"
    res = runner.invoke(cli, ["--store", str(store), "ingest", str(vault), "--user", "me"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith("3 files ingested") and "failed: " in res.stderr and "broken.md" in res.stderr
    assert "skipped 1 file (unsupported file type .png)" in res.stderr
    again = runner.invoke(cli, ["--store", str(store), "ingest", str(vault), "--user", "me", "--json"])
    report = json.loads(again.stdout)
    assert report["unchanged"] == 3 and report["notes_added"] == 0
    assert os.listdir(vault / ".obsidian") == ["app.json"]
