"""Export and import reject bad paths and bad files with one clear error, and store nothing from them."""

from __future__ import annotations

import json

import pytest

from memkit.errors import InvalidInputError
from memkit.porting import FORMAT

HEADER = json.dumps({"format": FORMAT}) + "\n"


def test_export_to_a_folder_is_refused_and_leaves_nothing(fast_mem, tmp_path):
    fast_mem.add("a note", user_id="u")
    with pytest.raises(InvalidInputError, match="it is a folder"):
        fast_mem.export(tmp_path)
    assert not list(tmp_path.glob("*.tmp"))


@pytest.mark.parametrize("body,message", [
    ('{"content": "a plain line"}\n', r":1: not a memkit export \(format None, expected 'memkit-export/1'\)"),
    (HEADER + "not json\n", r":2: Expecting value"),
    (HEADER + "[1, 2]\n", r":2: expected a JSON object"),
    (HEADER + '{"other": 1}\n', r":2: expected a 'note' or a 'link' object"),
    (HEADER + '{"note": {"content": ""}}\n', r":2: content: content must not be empty$"),
], ids=["no header", "bad json", "not an object", "unknown kind", "invalid note"])
def test_bad_import_files_name_the_line_and_store_nothing(fast_mem, tmp_path, body, message):
    fast_mem.add("kept", user_id="u")
    path = tmp_path / "in.jsonl"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(InvalidInputError, match=f"^{path}{message}"):
        fast_mem.import_(path)
    assert fast_mem.stats().notes == 1


def test_import_of_a_folder_missing_file_or_non_utf8_text_is_refused(fast_mem, tmp_path):
    with pytest.raises(InvalidInputError, match="no such file"):
        fast_mem.import_(tmp_path)
    with pytest.raises(InvalidInputError, match="no such file"):
        fast_mem.import_(tmp_path / "missing.jsonl")
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes(HEADER.encode() + '{"note": {"content": "caf\xe9"}}\n'.encode("latin-1"))
    with pytest.raises(InvalidInputError, match="latin.jsonl: not UTF-8 text"):
        fast_mem.import_(latin)
    assert fast_mem.stats().notes == 0


def test_an_imported_link_across_users_is_dropped_and_the_rest_kept(fast_mem, tmp_path, caplog):
    a = fast_mem.add("trip to Rome", user_id="u1")
    b = fast_mem.add("Rome hotel booked", user_id="u1", links=[a.id])
    c = fast_mem.add("My bank PIN is 4321", user_id="u2")
    path = tmp_path / "export.jsonl"
    fast_mem.export(path)
    lines = path.read_text().splitlines()
    crossing = {"src": c.id, "dst": a.id, "kind": "manual", "weight": 1.0}  # as an edited or old file holds it
    path.write_text("\n".join([*lines, json.dumps({"link": crossing})]) + "\n")
    from memkit import Memory

    with Memory(tmp_path / "copy", fast_mem.config) as copy:
        assert copy.import_(path) == 3
        assert [n.id for n in copy.related(a.id)] == [b.id]
        assert copy.related(c.id) == []
        assert [(lk.src, lk.dst) for lk in copy.store.all_links()] == [(b.id, a.id)]
    assert "1 links join notes of different users" in caplog.text
