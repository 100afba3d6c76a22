"""Issue 11, as a new user met the CLI: user text is printed as text, ids are short and can be pasted back,
and the words fit the numbers."""

from __future__ import annotations

import json
import os

NASTY = [
    "path is C:\\data[/x]",  # Rich read this as a closing tag and crashed
    "arr[i] and [bold]x[/bold] in the array code",  # and this lost its brackets
    "red \x1b[31malert\x1b[0m",  # an escape sequence reached the terminal
    "title \x1b]0;pwned\x07 here",  # and this set the window title
]
SHOWN = [
    "path is C:\\data[/x]",
    "arr[i] and [bold]x[/bold] in the array code",
    "red \\x1b[31malert\\x1b[0m",
    "title \\x1b]0;pwned\\x07 here",
]


def _clean(out: str) -> str:
    assert "\x1b" not in out and "\x07" not in out, out
    return out


def test_user_text_is_shown_as_text_never_as_markup_or_escapes(memkit, tmp_path):
    store = tmp_path / "st[bold]ore"  # even the store's path
    notes = []
    for text, shown in zip(NASTY, SHOWN, strict=True):
        res = memkit("add", text, "--user", "u[red]1", "--meta", "k=v[/x]", store=store)
        assert _clean(res.stdout).strip().endswith(shown), res.stdout  # add's echo
        notes.append(json.loads(memkit("search", text, "--user", "u[red]1", "-k", "1", "--json",
                                       store=store).stdout)[0]["note"])
    linked = json.dumps({"content": NASTY[3] + " again", "user_id": "u[red]1", "links": [notes[0]["id"]]})
    memkit("add", "--file", "-", input=linked + "\n", store=store)
    for note, shown in zip(notes, SHOWN, strict=True):
        out = _clean(memkit("show", note["id"], store=store).stdout)
        assert shown in out and "u[red]1" in out and '"k": "v[/x]"' in out
        assert "add" in _clean(memkit("history", note["id"], store=store).stdout)
    assert "[bold]x[/bold]" in memkit("history", notes[1]["id"], store=store).stdout  # the change, as JSON
    table = _clean(memkit("search", "path C:\\data[/x]", "--user", "u[red]1", store=store).stdout)
    assert "for 'path C:\\data[/x]'" in table and SHOWN[0] in table
    table = _clean(memkit("search", "red alert \x1b[31m", "--user", "u[red]1", store=store).stdout)
    assert "for 'red alert \\x1b[31m'" in table and SHOWN[2] in table
    assert SHOWN[3] + " again" in _clean(memkit("related", notes[0]["id"], store=store).stdout)
    assert "st[bold]ore" in _clean(memkit("stats", store=store).stdout)


def test_errors_show_control_characters_escaped(memkit, tmp_path):
    memkit("add", "a note")
    res = memkit("show", "bad\x1b[31mid", code=3)
    assert res.stderr == "error: no note with id 'bad\\x1b[31mid'\n"
    named = tmp_path / "notes\x1b]0;pwned\x07.txt"  # a file name is user text too
    named.write_text('{"content": \n', encoding="utf-8")
    res = memkit("add", "--file", str(named), code=4)
    assert res.stderr.startswith(f"error: {tmp_path}/notes\\x1b]0;pwned\\x07.txt:1: a line starting with '{{'")


def test_a_long_note_is_echoed_on_one_shortened_line(memkit):
    res = memkit("add", "first line\nsecond line " + "word " * 40)
    line = res.stdout.rstrip("\n")
    assert "\n" not in line and line.endswith("…") and "first line\\nsecond line word" in line
    assert 70 < len(line.split("  ", 1)[1]) <= 80


def _table_ids(out: str) -> list[str]:
    return [row.split("│")[3].strip() for row in out.splitlines() if row.count("│") >= 7]


def test_short_ids_from_the_table_work_everywhere_an_id_is_taken(memkit):
    for text in ("Alice moved to Lisbon in May", "Alice works at a fintech startup", "Bob plays the cello"):
        memkit("add", text, "--user", "u1")
    full = [h["note"]["id"] for h in json.loads(memkit("search", "Alice", "--user", "u1", "-k", "3", "--json").stdout)]
    shown = _table_ids(memkit("search", "Alice", "--user", "u1", "-k", "3").stdout)
    assert len(shown) == 3 and all(8 <= len(s) < 32 for s in shown)
    full = [next(f for f in full if f.startswith(s)) for s in shown]  # each a prefix of one id: in table order
    assert len(set(full)) == 3
    for short, nid in zip(shown, full, strict=True):
        assert json.loads(memkit("show", short, "--json").stdout)["id"] == nid
    common = os.path.commonprefix(full)
    assert len(common) >= 4
    res = memkit("show", common, code=4)
    assert res.stderr == f"error: id prefix '{common}' is ambiguous: it matches 3 notes; give more of the id\n"
    assert memkit("show", "0" * 31 + "1", code=3).stderr.startswith("error: no note with id")
    note = json.loads(memkit("update", shown[0], "--tag", "moves", "--tag", "city", "--meta", "src=cli",
                             "--json").stdout)
    assert note["id"] == full[0] and note["tags"] == ["moves", "city"] and note["metadata"]["src"] == "cli"
    assert json.loads(memkit("history", shown[0], "--json").stdout)[-1]["event"] == "update"
    assert memkit("delete", shown[1]).stdout == f"deleted {full[1]}\n"
    assert json.loads(memkit("history", shown[1], "--json").stdout)[-1]["event"] == "delete"


def test_update_changes_content_and_merges_metadata(memkit):
    nid = json.loads(memkit("add", "Alice moved to Lisbon", "--meta", "src=chat", "--json").stdout)[0]["id"]
    out = memkit("update", nid[:10], "--content", "Alice moved to Porto", "--meta", "n=3").stdout
    assert out.startswith(f"updated {nid} (version 2)  Alice moved to Porto")
    note = json.loads(memkit("show", nid, "--json").stdout)
    assert note["content"] == "Alice moved to Porto" and note["metadata"] == {"src": "chat", "n": 3}
    assert json.loads(memkit("search", "Porto", "--json").stdout)[0]["note"]["id"] == nid
    assert "give --content, --tag or --meta" in memkit("update", nid, code=2).stderr


def test_search_as_of_a_time_and_the_words_of_results(memkit):
    old = json.loads(memkit("add", "Maya lives in Lisbon", "--user", "m", "--json").stdout)[0]
    new = json.loads(memkit("add", "Maya lives in Porto", "--user", "m", "--supersedes", old["id"][:12],
                            "--json").stdout)[0]
    from datetime import datetime, timezone

    t_old, t_new = (datetime.fromisoformat(n["valid_from"]) for n in (old, new))
    between = (t_old + (t_new - t_old) / 2).astimezone(timezone.utc).replace(tzinfo=None)  # naive: read as UTC
    hits = json.loads(memkit("search", "where does Maya live", "--user", "m", "--as-of", between.isoformat(),
                             "--json").stdout)
    assert [h["note"]["id"] for h in hits] == [old["id"]]
    now = json.loads(memkit("search", "where does Maya live", "--user", "m", "--json").stdout)
    assert [h["note"]["id"] for h in now] == [new["id"]]
    assert "expected an ISO 8601 date or time" in memkit("search", "x", "--as-of", "yesterday", code=2).stderr
    assert "1 hit for 'where does Maya live'" in memkit("search", "where does Maya live", "--user", "m").stdout
    assert memkit("search", "Maya", "--user", "nobody").stdout == "no hits for 'Maya'\n"
    alone = json.loads(memkit("add", "an unrelated note about cellos", "--user", "z", "--json").stdout)[0]["id"]
    assert memkit("related", alone[:12]).stdout == f"no notes linked to {alone}\n"
