"""Showing user text in a terminal: always as plain text, never as Rich markup or escape sequences.

Everything a user (or a file, or a model) wrote goes through :func:`visible` before it is
printed, and into Rich only as a :class:`rich.text.Text` (:func:`text`), which Rich never
parses for markup: ``C:\\data[/x]`` and ``arr[i]`` print as written, and ``ESC [31m`` or a
window-title sequence prints as ``\\x1b[31m`` instead of reaching the terminal.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["visible", "shorten", "text", "console", "plural"]

# C0 and C1 controls and DEL (escape sequences, bells, carriage returns), and the invisible
# characters that reorder or break lines (bidi overrides and isolates, line/paragraph separators)
_HIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u2028-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escape(ch: str) -> str:
    code = ord(ch)
    return _NAMED.get(ch) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def visible(value: Any, *, newlines: bool = False) -> str:
    """``value`` as text with every control character shown escaped (``\\x1b``, ``\\n``, ``\\u202e``);
    with ``newlines``, line breaks are kept as line breaks."""
    s = value if isinstance(value, str) else str(value)
    if newlines:
        return "\n".join(_HIDDEN.sub(lambda m: _escape(m.group()), line) for line in s.split("\n"))
    return _HIDDEN.sub(lambda m: _escape(m.group()), s)


def shorten(value: Any, width: int = 80) -> str:
    """:func:`visible` on one line, cut to ``width`` characters with an ellipsis."""
    s = value if isinstance(value, str) else str(value)
    pieces = [_escape(ch) if _HIDDEN.match(ch) else ch for ch in s[: width * 4]]  # an escape is at most 6 wide
    if len(s) <= width * 4 and sum(map(len, pieces)) <= width:
        return "".join(pieces)
    out: list[str] = []
    used = 0
    for piece in pieces:
        if used + len(piece) > width - 1:
            break
        out.append(piece)
        used += len(piece)
    return "".join(out).rstrip() + "…"


def text(value: Any, style: str | None = None, *, newlines: bool = False) -> Any:
    """A Rich ``Text`` of ``value`` made :func:`visible`: printed as it is, never read as markup."""
    from rich.text import Text

    return Text(visible(value, newlines=newlines), style=style or "")


def console() -> Any:
    from rich.console import Console

    return Console(highlight=False)


def plural(n: int, word: str) -> str:
    """``1 hit``, ``2 hits``, ``no hits``."""
    if n == 0:
        return f"no {word}s"
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
