"""Issue 11: missing stores, exports to stdout or of one user, files that are not UTF-8, and Ctrl-C during
``add --file`` and ``import`` (what was committed is kept and counted; running again finishes the job)."""

from __future__ import annotations

import json

import pytest

from memkit import Memory
from memkit.stores.sqlite import SQLiteStore

READ_ONLY = [("search", "x"), ("stats",), ("show", "abcd"), ("export", "out.jsonl"), ("related", "abcd"),
             ("history", "abcd"), ("delete", "abcd"), ("update", "abcd", "--tag", "t"), ("undo", "1"), ("reindex",)]


@pytest.mark.parametrize("args", READ_ONLY, ids=[a[0] for a in READ_ONLY])
def test_commands_on_a_missing_store_say_so_and_create_nothing(memkit, tmp_path, args):
    store = tmp_path / "nowhere"
    res = memkit(*args, store=store, code=3)
    assert res.stderr == f"error: no memory at {store}; `memkit add` creates one\n"
    assert not store.exists()


def test_add_and_import_create_a_store_and_say_where_once(memkit, tmp_path):
    first = memkit("add", "the first note")
    assert first.stderr == f"created a new memory at {tmp_path / 'store'}\n"
    assert memkit("add", "the second note").stderr == ""
    memkit("export", str(tmp_path / "out.jsonl"))
    res = memkit("import", str(tmp_path / "out.jsonl"), store=tmp_path / "copy")
    assert res.stderr.startswith(f"created a new memory at {tmp_path / 'copy'}\n")
    assert res.stdout == f"imported 2 notes from {tmp_path / 'out.jsonl'}\n"


def test_export_to_stdout_and_of_one_user(memkit, tmp_path):
    first = {"id": "a" * 32, "content": "Alice moved to Lisbon"}
    second = {"content": "Alice works in Lisbon at a bank", "links": ["a" * 32]}
    memkit("add", "--file", "-", "--user", "u1", input=f"{json.dumps(first)}\n{json.dumps(second)}\n")
    memkit("add", "Bob moved to Lisbon too", "--user", "u2")
    res = memkit("export", "-")
    lines = [json.loads(x) for x in res.stdout.splitlines()]
    assert lines[0]["format"] == "memkit-export/1" and sum("note" in x for x in lines) == 3
    assert res.stderr == "exported 3 notes\n"
    res = memkit("export", "-", "--user", "u1")
    lines = [json.loads(x) for x in res.stdout.splitlines()]
    notes = [x["note"] for x in lines if "note" in x]
    links = [x["link"] for x in lines if "link" in x]
    assert lines[0]["user_id"] == "u1" and {n["user_id"] for n in notes} == {"u1"} and len(notes) == 2
    ids = {n["id"] for n in notes}
    assert links and all(lk["src"] in ids and lk["dst"] in ids for lk in links)
    out = tmp_path / "u2.jsonl"
    assert memkit("export", str(out), "--user", "u2").stdout == f"exported 1 note to {out}\n"
    assert memkit("import", str(out), store=tmp_path / "u2-only").stdout.startswith("imported 1 note from")


def test_a_file_that_is_not_utf8_is_one_error_naming_the_line(memkit, tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_bytes(b"a fine line\n\nbad \xff byte\n")
    res = memkit("add", "--file", str(bad), code=4)
    assert res.stderr == f"error: {bad}:3: not UTF-8 text (byte 0xff at column 5); nothing was added\n"
    assert not (tmp_path / "store").exists()


def test_an_empty_file_says_so(memkit):
    res = memkit("add", "--file", "-", input="\n  \n")
    assert res.stdout == "" and res.stderr == "no notes in <stdin>: it has no non-blank lines\n"


def test_adding_a_file_again_adds_only_what_is_new(memkit, tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("Alice moved to Lisbon\nBob plays the cello\n", encoding="utf-8")
    assert memkit("add", "--file", str(path)).stderr.endswith("2 added, 0 already present\n")
    path.write_text("Alice moved to Lisbon\nBob plays the cello\nCarol sings\nCarol sings\n", encoding="utf-8")
    res = memkit("add", "--file", str(path))
    assert res.stderr.endswith("2 added, 2 already present\n") and res.stdout.count("Carol sings") == 2
    assert memkit("add", "--file", str(path), "--user", "u9").stderr.endswith("4 added, 0 already present\n")
    assert json.loads(memkit("stats", "--json").stdout)["notes"] == 8


def _interrupt_after(monkeypatch, chunks: int) -> None:
    """Ctrl-C while the chunk after ``chunks`` committed ones is being written (inside its transaction)."""
    calls = {"n": 0}
    insert = SQLiteStore._insert_notes

    def insert_then_interrupt(self, c, rows):
        calls["n"] += 1
        if calls["n"] > chunks:
            raise KeyboardInterrupt
        return insert(self, c, rows)

    monkeypatch.setattr(SQLiteStore, "_insert_notes", insert_then_interrupt)


def test_ctrl_c_during_add_file_keeps_and_counts_committed_notes_and_a_rerun_adds_the_rest(memkit, tmp_path,
                                                                                       monkeypatch):
    config = tmp_path / "small.toml"
    config.write_text("write_batch = 2\n", encoding="utf-8")
    lines = [f"note number {i} about topic {i % 3}" for i in range(7)]
    path = tmp_path / "notes.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with monkeypatch.context() as m:
        _interrupt_after(m, 2)
        res = memkit("--config", str(config), "add", "--file", str(path), code=130)
    assert res.stderr.endswith("interrupted: 4 of 7 notes were added and are kept; run the same command again to "
                               "add the rest\n")
    res = memkit("add", "--file", str(path))
    assert res.stderr.endswith("3 added, 4 already present\n")
    with Memory(tmp_path / "store") as mem:
        assert sorted(n.content for n in mem.all()) == sorted(lines)
        assert mem.index.count() == 7


def test_ctrl_c_during_import_counts_what_was_kept_and_a_rerun_finishes(memkit, tmp_path, monkeypatch):
    memkit("add", "--file", "-", "--user", "u", input="".join(f"fact {i} about Lisbon trams\n" for i in range(5)))
    memkit("export", str(tmp_path / "out.jsonl"))
    links = sum('"link"' in x for x in (tmp_path / "out.jsonl").read_text().splitlines())
    copy = tmp_path / "copy"
    (copy).mkdir()
    (copy / "config.toml").write_text("write_batch = 2\n", encoding="utf-8")
    with Memory(copy):  # a store whose config commits every 2 notes
        pass
    with monkeypatch.context() as m:
        _interrupt_after(m, 1)
        res = memkit("import", str(tmp_path / "out.jsonl"), store=copy, code=130)
    assert res.stderr.endswith("interrupted: 2 notes imported and kept; run the same command again to import the "
                               "rest (notes already present are skipped)\n")
    assert memkit("import", str(tmp_path / "out.jsonl"), store=copy).stdout.startswith("imported 3 notes")
    stats = json.loads(memkit("stats", "--json", store=copy).stdout)
    assert stats["notes"] == 5 and stats["links"] == links and stats["vector_count"] == 5
