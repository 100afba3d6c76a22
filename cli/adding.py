"""``memkit add --file``: one note per line, added once however often the command is run.

Each line's note gets an id derived from where the line is (the file's resolved path, or
``-`` for stdin), its line number, its text and the command's defaults (user, agent, session,
metadata).  A run adds only the lines whose note is not stored yet, so a run cut short by
Ctrl-C (``add_many`` commits every ``write_batch`` notes) is finished by running the same
command again, and the notes it had committed are counted by their ids.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from memkit.errors import InvalidInputError

__all__ = ["Line", "read_lines", "line_id", "locate"]

_ITEM = re.compile(r"^item (\d+): ")


@dataclass
class Line:
    number: int
    item: str | dict[str, Any]
    id: str


def line_id(source: str, number: int, text: str, defaults: dict[str, Any]) -> str:
    """A note id (32 hex characters, like memkit's own) fixed by the line and the command's defaults."""
    key = json.dumps([source, number, text, defaults], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def read_lines(raw_lines: Iterable[bytes], name: str, defaults: dict[str, Any]) -> list[Line]:
    """The non-blank lines of a file opened in binary (UTF-8; a line starting with ``{`` is an ``add()`` dict).

    Every line is checked before anything is written: a line that is not UTF-8 or not a JSON object
    is an :class:`InvalidInputError` naming the file and the line.
    """
    source = "-" if name in ("-", "<stdin>") else str(Path(name).resolve())
    out: list[Line] = []
    for number, raw in enumerate(raw_lines, start=1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInputError(f"{name}:{number}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at column "
                                    f"{exc.start + 1}); nothing was added") from None
        text = text.removeprefix("\ufeff").strip() if number == 1 else text.strip()
        if not text:
            continue
        item: str | dict[str, Any] = text
        if text.startswith("{"):
            try:
                item = json.loads(text)
            except json.JSONDecodeError as exc:
                raise InvalidInputError(f"{name}:{number}: a line starting with '{{' must be a JSON object "
                                        f"({exc.msg}, column {exc.colno}); nothing was added") from None
        if isinstance(item, dict) and "id" in item:  # the line names its note
            if not isinstance(item["id"], str) or not item["id"]:
                raise InvalidInputError(f"{name}:{number}: id must be a non-empty string; nothing was added")
            out.append(Line(number, item, item["id"]))
            continue
        nid = line_id(source, number, text, defaults)
        out.append(Line(number, {**item, "id": nid} if isinstance(item, dict) else {"content": item, "id": nid}, nid))
    return out


def locate(message: str, lines: list[Line], name: str) -> str:
    """An ``add_many`` error about ``item N`` of ``lines``, told as the file and line it came from."""
    m = _ITEM.match(message)
    if m is None or int(m.group(1)) >= len(lines):
        return message
    return f"{name}:{lines[int(m.group(1))].number}: {message[m.end():]}"
