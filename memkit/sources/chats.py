"""Chat transcripts as units: one conversation each, one piece per turn (a long turn split in several).

Read by their public structure:

- OpenAI-style ``messages``: ``{"messages": [{"role", "content"}, ...]}`` (a file of one, a JSON list of
  them, or JSON lines of them), or a bare list / JSON lines of ``{"role", "content"}`` messages.
  ``content`` may be a string or a list of ``{"type": "text", "text"}`` parts.
- The ChatGPT export ``conversations.json``: a list of ``{"title", "create_time", "mapping", "current_node"}``,
  where ``mapping`` is the message tree; the branch that ends at ``current_node`` is the conversation.
- The Claude export ``conversations.json``: a list of ``{"uuid", "name", "created_at", "chat_messages":
  [{"sender", "text", "content", "created_at"}]}``.

Each turn keeps its speaker (``metadata.speaker``: the role, ``human`` read as ``user``) and time
(``valid_from``), and the turns of a conversation share a ``session_id``, so memkit links them in order.
"""

from __future__ import annotations

import json
from pathlib import PurePosixPath
from typing import Any

from memkit.sources.documents import LIMIT_CHARS, TARGET_CHARS, decode
from memkit.sources.units import NotATranscript, Parsed, ParseError, Piece, Unit, as_datetime, split_text

__all__ = ["parse_chat", "detect"]

_SKIP_ROLES = {"system", "tool", "function", "developer"}


def _text(content: Any) -> str:
    """Message content as text: a string, a list of parts (text parts kept), or ChatGPT's ``parts``."""
    if isinstance(content, str):
        return content.strip()
    if isinstance(content, dict):
        if "parts" in content:
            return _text(content["parts"])
        return str(content.get("text", "")).strip() if content.get("type", "text") == "text" else ""
    if isinstance(content, list):
        return "\n\n".join(t for t in (_text(c) for c in content) if t)
    return ""


def _speaker(role: Any) -> str:
    role = str(role or "unknown").strip().lower()
    return "user" if role == "human" else role


def detect(data: Any) -> str | None:
    """Which transcript format parsed JSON is: chatgpt, claude, openai, or None."""
    if isinstance(data, dict):
        return "openai" if isinstance(data.get("messages"), list) else None
    if not isinstance(data, list) or not data or not all(isinstance(d, dict) for d in data):
        return None
    first = data[0]
    if "mapping" in first:
        return "chatgpt"
    if "chat_messages" in first:
        return "claude"
    if "messages" in first or ("role" in first and "content" in first):
        return "openai"
    return None


def _conversation(fmt: str, conv_id: str, title: str, turns: list[tuple[str, str, Any]], started: Any,
                  target: int, limit: int) -> Unit:
    session = f"{fmt}:{conv_id}"
    start = as_datetime(started)
    pieces: list[Piece] = []
    for i, (role, text, when) in enumerate(turns):
        at = as_datetime(when) or start
        parts = split_text(text, target, limit)
        for j, part in enumerate(parts):
            meta: dict[str, Any] = {"speaker": role, "turn": i, "conversation": title, "chat_format": fmt}
            if len(parts) > 1:
                meta["part"] = j
            pieces.append(Piece(content=part, metadata=meta, session_id=session, valid_from=at))
    return Unit(key=conv_id, title=title, pieces=pieces, names=[], chained=False)


def _openai(convs: list[Any], stem: str, target: int, limit: int) -> list[Unit]:
    units = []
    for n, conv in enumerate(convs):
        messages = conv.get("messages") if isinstance(conv, dict) else None
        if not isinstance(messages, list):
            raise ParseError(f"conversation {n}: 'messages' must be a list")
        conv_id = str(conv.get("id") or conv.get("conversation_id") or (stem if len(convs) == 1 else f"{stem}-{n}"))
        title = str(conv.get("title") or conv_id)
        turns = []
        for m in messages:
            if not isinstance(m, dict) or "role" not in m:
                raise ParseError(f"conversation {conv_id!r}: every message needs a 'role' and 'content'")
            text = _text(m.get("content"))
            if text and _speaker(m["role"]) not in _SKIP_ROLES:
                turns.append((_speaker(m["role"]), text, m.get("timestamp") or m.get("created_at") or m.get("create_time")))
        units.append(_conversation("openai", conv_id, title, turns, conv.get("created") or conv.get("create_time"),
                                   target, limit))
    return units


def _chatgpt(convs: list[dict[str, Any]], target: int, limit: int) -> list[Unit]:
    units = []
    for n, conv in enumerate(convs):
        mapping = conv.get("mapping")
        if not isinstance(mapping, dict):
            raise ParseError(f"conversation {n}: 'mapping' must be an object")
        node_id = conv.get("current_node")
        if node_id not in mapping:  # no current node: follow the last child from the root
            node_id = next((k for k, v in mapping.items() if isinstance(v, dict) and not v.get("parent")), None)
            while node_id in mapping and mapping[node_id].get("children"):
                node_id = mapping[node_id]["children"][-1]
        branch = []
        seen: set[str] = set()
        while node_id in mapping and node_id not in seen:
            seen.add(node_id)
            branch.append(mapping[node_id])
            node_id = mapping[node_id].get("parent")
        turns = []
        for node in reversed(branch):
            msg = node.get("message") if isinstance(node, dict) else None
            if not isinstance(msg, dict):
                continue
            role = _speaker((msg.get("author") or {}).get("role"))
            hidden = (msg.get("metadata") or {}).get("is_visually_hidden_from_conversation")
            text = _text(msg.get("content"))
            if text and role not in _SKIP_ROLES and not hidden:
                turns.append((role, text, msg.get("create_time")))
        conv_id = str(conv.get("conversation_id") or conv.get("id") or n)
        units.append(_conversation("chatgpt", conv_id, str(conv.get("title") or conv_id), turns,
                                   conv.get("create_time"), target, limit))
    return units


def _claude(convs: list[dict[str, Any]], target: int, limit: int) -> list[Unit]:
    units = []
    for n, conv in enumerate(convs):
        messages = conv.get("chat_messages")
        if not isinstance(messages, list):
            raise ParseError(f"conversation {n}: 'chat_messages' must be a list")
        turns = []
        for m in messages:
            if not isinstance(m, dict):
                continue
            text = _text(m.get("content")) or _text(m.get("text"))
            if text:
                turns.append((_speaker(m.get("sender")), text, m.get("created_at")))
        conv_id = str(conv.get("uuid") or n)
        units.append(_conversation("claude", conv_id, str(conv.get("name") or conv_id), turns, conv.get("created_at"),
                                   target, limit))
    return units


def parse_chat(raw: bytes, rel: PurePosixPath, *, target: int = TARGET_CHARS, limit: int = LIMIT_CHARS) -> Parsed:
    """A ``.json`` or ``.jsonl`` transcript file; a :class:`ParseError` when it is not one memkit knows."""
    text = decode(raw)
    try:
        if rel.suffix.lower() == ".jsonl":
            data: Any = [json.loads(line) for line in text.splitlines() if line.strip()]
        else:
            data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(f"not valid JSON (line {exc.lineno}: {exc.msg})") from None
    fmt = detect(data)
    if fmt is None:
        raise NotATranscript("JSON, but not a chat transcript memkit knows (OpenAI-style messages, ChatGPT or "
                             "Claude export)")
    if fmt == "chatgpt":
        units = _chatgpt(data, target, limit)
    elif fmt == "claude":
        units = _claude(data, target, limit)
    elif isinstance(data, dict):
        units = _openai([data], rel.stem, target, limit)
    elif "messages" in data[0]:
        units = _openai(data, rel.stem, target, limit)
    else:
        units = _openai([{"messages": data}], rel.stem, target, limit)
    return Parsed("chat", [u for u in units if u.pieces])
