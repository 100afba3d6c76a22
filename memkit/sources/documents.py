"""Markdown (Obsidian notes included) and plain-text files as units of pieces.

A markdown file's YAML front matter gives tags (``tags``/``tag``), aliases (``aliases``/``alias``), the
time it is about (``date``/``created``) and metadata (its other keys); ``#tags`` in the text count too.
``[[wikilinks]]`` (and ``![[embeds]]`` and relative ``[text](other.md)`` links) name other files, and the
ingester links the notes.  Long files are split by headings, then paragraphs, into pieces of about
``target`` characters, each beginning with where it sits (the title and its headings).
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote

from memkit.errors import MissingDependencyError
from memkit.sources.units import Parsed, ParseError, Piece, Unit, as_datetime, json_safe, metadata_key, pack, split_text

__all__ = ["parse_markdown", "parse_text", "front_matter", "wikilinks", "decode", "TARGET_CHARS", "LIMIT_CHARS"]

TARGET_CHARS = 1200  # the embedder reads ~256 tokens (about 1,000 characters) of a note
LIMIT_CHARS = 2400
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_WIKILINK = re.compile(r"!?\[\[([^\]\[|#^]+)(?:#[^\]|]*)?(?:\^[^\]|]*)?(?:\|[^\]]*)?\]\]")
_MDLINK = re.compile(r"\[[^\]]*\]\(([^)\s]+\.md)(?:#[^)]*)?\)", re.IGNORECASE)
_TAG = re.compile(r"(?<![\w/&#])#([A-Za-z_][\w/\-]*)")
_RESERVED = {"tags", "tag", "aliases", "alias", "title", "date", "created"}


def decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8").removeprefix("\ufeff").replace("\r\n", "\n")
    except UnicodeDecodeError as exc:
        raise ParseError(f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})") from None


def front_matter(text: str) -> tuple[dict[str, Any], str, str | None]:
    """(front matter, body, warning): the YAML block between leading ``---`` lines, if any."""
    if not text.startswith("---\n"):
        return {}, text, None
    end = re.search(r"^(---|\.\.\.)\s*$", text[4:], re.MULTILINE)
    if end is None:
        return {}, text, None
    block, body = text[4 : 4 + end.start()], text[4 + end.end():].lstrip("\n")
    try:
        import yaml
    except ImportError:
        raise MissingDependencyError("pyyaml", "server", "reading markdown front matter") from None
    try:
        data = yaml.safe_load(block)
    except yaml.YAMLError as exc:
        return {}, body, f"front matter is not valid YAML ({str(exc).splitlines()[0]}); ignored"
    if data is None:
        return {}, body, None
    if not isinstance(data, dict):
        return {}, body, "front matter is not a mapping of keys to values; ignored"
    return data, body, None


def _strings(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v for v in re.split(r"[,\s]+", value) if v]
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value if v is not None and str(v).strip()]
    return [str(value)]


def _without_code(text: str) -> str:
    """The text outside fenced code blocks and inline code (where '#' and '[[' mean nothing)."""
    out, fenced = [], False
    for line in text.split("\n"):
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            out.append(re.sub(r"`[^`]*`", "", line))
    return "\n".join(out)


def wikilinks(text: str, here: PurePosixPath | None = None) -> list[str]:
    """The names ``text`` links to, lower case, in order, once each: ``[[Name]]``, ``[[folder/Name|shown]]``,
    ``![[Name]]``, and relative ``[shown](other.md)`` links (as paths from the vault root)."""
    plain = _without_code(text)
    names = [m.group(1).strip().lower().removesuffix(".md") for m in _WIKILINK.finditer(plain)]
    for m in _MDLINK.finditer(plain):
        target = unquote(m.group(1))
        if "://" in target:
            continue
        path = PurePosixPath(target)
        if here is not None and not target.startswith("/"):
            path = here.parent / path
        names.append(_normal(path).lower().removesuffix(".md"))
    return list(dict.fromkeys(n for n in names if n))


def _normal(path: PurePosixPath) -> str:
    parts: list[str] = []
    for p in path.parts:
        if p == "..":
            if parts:
                parts.pop()
        elif p not in (".", "/"):
            parts.append(p)
    return "/".join(parts)


def _sections(body: str) -> list[tuple[list[str], str]]:
    """(headings above it, text) per section, split at markdown headings outside code blocks."""
    sections: list[tuple[list[str], list[str]]] = [([], [])]
    stack: list[tuple[int, str]] = []
    fenced = False
    for line in body.split("\n"):
        if _FENCE.match(line):
            fenced = not fenced
        m = None if fenced else _HEADING.match(line)
        if m:
            level = len(m.group(1))
            stack = [(lvl, h) for lvl, h in stack if lvl < level] + [(level, m.group(2))]
            sections.append(([h for _, h in stack], [line]))
        else:
            sections[-1][1].append(line)
    return [(heads, "\n".join(lines).strip()) for heads, lines in sections if "\n".join(lines).strip()]


def _pieces(body: str, title: str, target: int, limit: int) -> list[tuple[str, list[str]]]:
    """(content, headings) per piece: sections packed up to ``target``; a long section split by paragraphs."""
    blocks: list[tuple[str, list[str]]] = []
    for heads, text in _sections(body):
        for part in split_text(text, target, limit - 200):
            blocks.append((part, heads))
    merged: list[tuple[str, list[str]]] = []
    for text, heads in blocks:
        if merged and len(merged[-1][0]) + 2 + len(text) <= target:
            merged[-1] = (merged[-1][0] + "\n\n" + text, merged[-1][1] or heads)
        else:
            merged.append((text, heads))
    if len(merged) <= 1:
        return merged
    out = []
    for text, heads in merged:  # say where a piece sits: its heading line becomes "Title › Section › ..."
        where = " › ".join([title, *[h for h in heads if h != title]])
        first, _, rest = text.partition("\n")
        m = _HEADING.match(first)
        if m and heads and m.group(2) == heads[-1]:
            text = f"{'#' * len(m.group(1))} {where}\n{rest}"
        elif not text.lstrip("# ").startswith(where):
            text = f"{where}\n\n{text}"
        out.append((text, heads))
    return out


def parse_markdown(raw: bytes, rel: PurePosixPath, *, target: int = TARGET_CHARS, limit: int = LIMIT_CHARS) -> Parsed:
    text = decode(raw)
    meta, body, warning = front_matter(text)
    h1 = re.search(r"^#\s+(.+?)\s*#*\s*$", _without_code(body), re.MULTILINE)
    title = str(meta.get("title") or (h1.group(1) if h1 else rel.stem)).strip() or rel.stem
    aliases = _strings(meta.get("aliases", meta.get("alias")))
    tags = _strings(meta.get("tags", meta.get("tag"))) + _TAG.findall(_without_code(body))
    tags = list(dict.fromkeys(t.lstrip("#") for t in tags if t.lstrip("#")))
    extra: dict[str, Any] = {}
    for key, value in meta.items():
        k = metadata_key(key)
        if k is not None and k not in _RESERVED:
            extra[k] = json_safe(value)
    when = as_datetime(meta.get("date", meta.get("created")))
    pieces = []
    for content, heads in _pieces(body, title, target, limit):
        info = {**extra, "title": title, **({"heading": heads[-1]} if heads else {})}
        pieces.append(Piece(content=content, tags=tags, metadata=info, valid_from=when,
                            links_to=wikilinks(content, rel)))
    names = [rel.stem.lower(), str(rel.with_suffix("")).lower(), *[a.lower() for a in aliases]]
    return Parsed("markdown", [Unit(key="", title=title, pieces=pieces, names=list(dict.fromkeys(names)))],
                  [warning] if warning else [])


def parse_text(raw: bytes, rel: PurePosixPath, *, target: int = TARGET_CHARS, limit: int = LIMIT_CHARS) -> Parsed:
    text = decode(raw)
    parts = split_text(text, target, limit)
    parts = pack(parts, target, limit)
    if len(parts) > 1:
        parts = [f"{rel.stem}\n\n{p}" for p in parts]
    pieces = [Piece(content=p, metadata={"title": rel.stem}) for p in parts]
    names = [rel.stem.lower(), str(rel.with_suffix("")).lower()]
    return Parsed("text", [Unit(key="", title=rel.stem, pieces=pieces, names=list(dict.fromkeys(names)))])
