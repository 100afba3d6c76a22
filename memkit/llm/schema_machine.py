"""A character-level machine that accepts exactly the JSON texts of a (simple) JSON schema.

It drives constrained decoding (:mod:`memkit.llm.constrained`): at each step the decoder
asks which characters may come next, feeds the characters of the chosen token, and, when
the token budget runs out, closes the value with :meth:`Machine.completion`.  Every text it
accepts parses as JSON and validates against the schema.

Supported: objects with fixed properties (all of them are written, in schema order);
arrays (``minItems``/``maxItems``); strings (``minLength``/``maxLength``); ``enum`` and
``const`` values (a pydantic ``Literal``); integers and numbers without bounds; booleans;
null; ``anyOf``/``oneOf``/``type`` lists whose branches start with different characters
(``list[str] | None``); ``$ref`` into ``$defs``.  Anything else (``pattern``, ``format``,
numeric bounds, free-form objects) raises :class:`~memkit.errors.InvalidInputError`: the
caller then generates without constraints rather than with wrong ones.

The language is stricter than the schema's, so every text still validates and small
models write cleaner values: compact JSON with ``", "`` and ``": "`` separators
(``json.dumps``' default); free strings of at least one character, without escapes,
control characters, leading or trailing whitespace or two whitespace characters in a
row; and the strings (or enum values) of one array are all different (ignoring case),
which keeps a small model from repeating one keyword until its budget runs out.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from memkit.errors import InvalidInputError

__all__ = ["Machine", "State", "compile_schema", "seen_items"]

State = tuple  # a stack of frames (tuples), innermost last; () once the value is complete
_DIGITS = frozenset("0123456789")
_NUM_START = frozenset("-0123456789")
_MAX_DIGITS = 15
_FILLER = "x"
_FILLERS = "xyzqjkvw0123456789"


@dataclass(frozen=True, eq=False)
class _Str:
    min_len: int
    max_len: int


@dataclass(frozen=True, eq=False)
class _Lit:
    values: tuple[str, ...]  # JSON texts


@dataclass(frozen=True, eq=False)
class _Num:
    integer: bool


@dataclass(frozen=True, eq=False)
class _Arr:
    item: Any
    min_items: int
    max_items: int
    unique: bool = field(init=False)  # items kept distinct (strings ignoring case, or enum values)

    def __post_init__(self) -> None:
        item = self.item
        unique = (isinstance(item, _Str) and item.max_len >= 1) or (
            isinstance(item, _Lit) and len(item.values) >= self.min_items)
        object.__setattr__(self, "unique", unique)


@dataclass(frozen=True, eq=False)
class _Obj:
    keys: tuple[str, ...]
    values: tuple[Any, ...]
    prefixes: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        pre = tuple(("" if i == 0 else ", ") + json.dumps(k, ensure_ascii=False) + ": " for i, k in enumerate(self.keys))
        object.__setattr__(self, "prefixes", pre)


@dataclass(frozen=True, eq=False)
class _AnyOf:
    options: tuple[Any, ...]
    by_first: dict[str, Any]


_UNSUPPORTED = ("pattern", "format", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
                "patternProperties", "if", "not", "contains", "prefixItems", "minProperties", "maxProperties")


def _first(node: Any) -> frozenset[str]:
    if isinstance(node, _Obj):
        return frozenset("{")
    if isinstance(node, _Arr):
        return frozenset("[")
    if isinstance(node, _Str):
        return frozenset('"')
    if isinstance(node, _Lit):
        return frozenset(v[0] for v in node.values)
    if isinstance(node, _Num):
        return _NUM_START
    return frozenset(node.by_first)


def _fresh(node: _Str, text: str, ws: bool, seen: tuple[str, ...]) -> str:
    """The shortest suffix that ends a string started as ``text`` validly and unlike ``seen``."""
    need = max(node.min_len - len(text), 1 if ws else 0)
    for extra in range(need, node.max_len - len(text) + 1):
        for suffix in itertools.product(_FILLERS, repeat=extra):
            cand = text + "".join(suffix)
            if cand.casefold() not in seen:
                return "".join(suffix)
    raise AssertionError("no distinct string left")  # the machine never enters such a state


def _items(arr: _Arr, count: int, seen: tuple[str, ...]) -> list[str]:
    """JSON texts of the items that bring ``arr`` from ``count`` to its minimum, distinct where required."""
    out = []
    for _ in range(max(arr.min_items - count, 0)):
        if arr.unique and isinstance(arr.item, _Str):
            text = _fresh(arr.item, "", False, seen)
            seen += (text.casefold(),)
            out.append(f'"{text}"')
        elif arr.unique and isinstance(arr.item, _Lit):
            value = min((v for v in arr.item.values if v not in seen), key=len)
            seen += (value,)
            out.append(value)
        else:
            out.append(_minimal(arr.item))
    return out


def _minimal(node: Any) -> str:
    """The shortest JSON text of ``node``."""
    if isinstance(node, _Obj):
        return "{" + "".join(p + _minimal(v) for p, v in zip(node.prefixes, node.values, strict=True)) + "}"
    if isinstance(node, _Arr):
        return "[" + ", ".join(_items(node, 0, ())) + "]"
    if isinstance(node, _Str):
        return '"' + _FILLER * node.min_len + '"'
    if isinstance(node, _Lit):
        return min(node.values, key=len)
    if isinstance(node, _Num):
        return "0"
    return min((_minimal(o) for o in node.options), key=len)


class _Compiler:
    def __init__(self, schema: dict[str, Any], max_string: int):
        self.max_string = max_string
        self.defs = {**schema.get("definitions", {}), **schema.get("$defs", {})}
        self.resolving: set[str] = set()

    def node(self, s: Any, where: str) -> Any:  # noqa: C901 - one branch per JSON schema form
        if not isinstance(s, dict):
            raise InvalidInputError(f"unsupported JSON schema at {where}: {s!r}")
        if "$ref" in s:
            ref = s["$ref"]
            name = ref.rsplit("/", 1)[-1]
            if not ref.startswith("#/") or name not in self.defs:
                raise InvalidInputError(f"unsupported JSON schema reference {ref!r} at {where}")
            if name in self.resolving:
                raise InvalidInputError(f"recursive JSON schema ({name}) is not supported for constrained decoding")
            self.resolving.add(name)
            try:
                return self.node(self.defs[name], f"{where}->{name}")
            finally:
                self.resolving.discard(name)
        bad = [k for k in _UNSUPPORTED if k in s]
        if bad:
            raise InvalidInputError(f"JSON schema keyword {bad[0]!r} (at {where}) is not supported for constrained decoding")
        if "const" in s:
            return self.literal([s["const"]], where)
        if "enum" in s:
            return self.literal(list(s["enum"]), where)
        for key in ("anyOf", "oneOf"):
            if key in s:
                return self.union([self.node(o, f"{where}/{key}") for o in s[key]], where)
        if "allOf" in s:
            if len(s["allOf"]) != 1:
                raise InvalidInputError(f"allOf with several schemas (at {where}) is not supported")
            return self.node(s["allOf"][0], where)
        kind = s.get("type")
        if isinstance(kind, list):
            return self.union([self.node({**s, "type": k}, where) for k in kind], where)
        if kind == "object":
            props = s.get("properties") or {}
            if not props and s.get("additionalProperties") not in (None, False):
                raise InvalidInputError(f"free-form objects (at {where}) are not supported for constrained decoding")
            return _Obj(tuple(props), tuple(self.node(v, f"{where}.{k}") for k, v in props.items()))
        if kind == "array":
            lo, hi = int(s.get("minItems", 0)), int(s.get("maxItems", 10**9))
            if lo > hi:
                raise InvalidInputError(f"minItems > maxItems at {where}")
            item = self.node(s.get("items", {"type": "string"}), f"{where}[]") if hi > 0 else _Lit(("null",))
            return _Arr(item, lo, hi)
        if kind == "string":
            lo = int(s.get("minLength", 0))
            hi = int(s.get("maxLength", max(self.max_string, lo)))
            if lo > hi:
                raise InvalidInputError(f"minLength > maxLength at {where}")
            return _Str(max(lo, 1) if hi >= 1 else 0, hi)
        if kind in ("integer", "number"):
            return _Num(kind == "integer")
        if kind == "boolean":
            return _Lit(("true", "false"))
        if kind == "null":
            return _Lit(("null",))
        raise InvalidInputError(f"JSON schema at {where} has no supported type: {json.dumps(s)[:200]}")

    def literal(self, values: list[Any], where: str) -> _Lit:
        if not values:
            raise InvalidInputError(f"empty enum at {where}")
        texts = tuple(dict.fromkeys(json.dumps(v, ensure_ascii=False) for v in values))
        if any(a != b and b.startswith(a) for a in texts for b in texts):  # numbers: "1" and "12"
            raise InvalidInputError(f"enum values at {where} prefix one another; not supported for constrained decoding")
        if any("\\" in t for t in texts):
            raise InvalidInputError(f"enum values with escapes (at {where}) are not supported for constrained decoding")
        return _Lit(texts)

    def union(self, options: list[Any], where: str) -> Any:
        lits = [o for o in options if isinstance(o, _Lit)]
        if len(lits) > 1:  # Literal["a"] | Literal["b"] | None: one set of literal texts
            merged = self.literal([json.loads(v) for o in lits for v in o.values], where)
            options = [merged] + [o for o in options if not isinstance(o, _Lit)]
        if len(options) == 1:
            return options[0]
        by_first: dict[str, Any] = {}
        for o in options:
            for ch in _first(o):
                if ch in by_first:
                    raise InvalidInputError(f"anyOf branches at {where} start alike ({ch!r}); not supported for "
                                            "constrained decoding")
                by_first[ch] = o
        return _AnyOf(tuple(options), by_first)


def _num_ok(text: str, integer: bool, complete: bool) -> bool:
    """Is ``text`` a JSON number (``complete``) or a prefix of one?"""
    body = text[1:] if text.startswith("-") else text
    whole, dot, frac = body.partition(".")
    if not whole:
        return not complete and not dot
    if len(whole) > _MAX_DIGITS or len(frac) > _MAX_DIGITS or (len(whole) > 1 and whole[0] == "0"):
        return False
    if not set(whole) <= _DIGITS or not set(frac) <= _DIGITS or (dot and integer):
        return False
    return not (complete and dot and not frac)


def seen_items(rest: State, node: Any) -> tuple[str, ...] | None:
    """The items so far of the array ``node`` is an item of, when that array keeps its items distinct."""
    if rest and rest[-1][0] == "a" and rest[-1][1].unique and rest[-1][1].item is node:
        return rest[-1][3]
    return None


def _add_seen(rest: State, key: str) -> State:
    _, arr, count, seen = rest[-1]
    return rest[:-1] + (("a", arr, count, seen + (key,)),)


class Machine:
    """The compiled schema: ``initial`` state, :meth:`step`/:meth:`feed`, :meth:`next_chars`, :meth:`completion`.

    A state is a tuple of frames, innermost last: ``("v", node)`` a value starts; ``("s", node, text, ws)``
    inside a string; ``("l", candidates, pos)`` matching literal texts; ``("n", integer, text)`` a number;
    ``("a", node, items started, distinct items so far)``; ``("o", node, index of the next property)``.
    """

    def __init__(self, root: _Obj | _Arr):
        self.root = root
        self.initial: State = (("v", root),)

    def feed(self, state: State | None, text: str) -> State | None:
        """The state after ``text``, or None when the schema's language has no such continuation."""
        for ch in text:
            if state is None:
                return None
            state = self.step(state, ch)
        return state

    def step(self, state: State, ch: str) -> State | None:  # noqa: C901 - one branch per frame kind
        while state:
            top = state[-1]
            kind = top[0]
            rest = state[:-1]
            if kind == "s":
                _, node, text, ws = top
                seen = seen_items(rest, node)
                if ch == '"':
                    if len(text) < node.min_len or ws:
                        return None
                    if seen is None:
                        return rest
                    key = text.casefold()
                    return None if key in seen else _add_seen(rest, key)
                n = len(text)
                if ch < " " or ch in '\\\x7f' or n >= node.max_len:
                    return None
                if ch.isspace() and (n == 0 or ws or n + 1 == node.max_len):
                    return None
                if seen and n + 1 == node.max_len and (text + ch).casefold() in seen:
                    return None  # it could neither grow nor close
                return rest + (("s", node, text + ch, ch.isspace()),)
            if kind == "l":
                _, cands, pos = top
                left = tuple(c for c in cands if len(c) > pos and c[pos] == ch)
                if left:
                    if len(left) == 1 and len(left[0]) == pos + 1:
                        return self._lit_done(rest, left[0])
                    return rest + (("l", left, pos + 1),)
                done = [c for c in cands if len(c) == pos]
                if done:  # a complete literal ends here; the container takes ch
                    state = self._lit_done(rest, done[0])
                    continue
                return None
            if kind == "v":
                return self._start(rest, top[1], ch)
            if kind == "a":
                _, node, count, seen = top
                if count == 0:
                    if ch == "]" and node.min_items == 0:
                        return rest
                    if node.max_items == 0:
                        return None
                    state = rest + (("a", node, 1, seen), self._item(node, seen))
                    continue
                if ch == "]":
                    return rest if count >= node.min_items else None
                if ch == "," and self._more(node, count, seen):
                    return rest + (("a", node, count + 1, seen), self._item(node, seen), ("l", (" ",), 0))
                return None
            if kind == "o":
                _, node, i = top
                if i < len(node.keys):
                    state = rest + (("o", node, i + 1), ("v", node.values[i]), ("l", (node.prefixes[i],), 0))
                    continue
                return rest if ch == "}" else None
            if kind == "n":
                _, integer, text = top
                if _num_ok(text + ch, integer, complete=False):
                    return rest + (("n", integer, text + ch),)
                if _num_ok(text, integer, complete=True):
                    state = rest
                    continue
                return None
            raise AssertionError(kind)
        return None  # the value is already complete

    @staticmethod
    def _lit_done(rest: State, literal: str) -> State:
        if rest and rest[-1][0] == "a" and rest[-1][1].unique and isinstance(rest[-1][1].item, _Lit):
            return _add_seen(rest, literal)
        return rest

    @staticmethod
    def _item(arr: _Arr, seen: tuple[str, ...]) -> tuple:
        if arr.unique and isinstance(arr.item, _Lit):
            return ("l", tuple(v for v in arr.item.values if v not in seen), 0)
        return ("v", arr.item)

    @staticmethod
    def _more(arr: _Arr, count: int, seen: tuple[str, ...]) -> bool:
        if count >= arr.max_items:
            return False
        return not (arr.unique and isinstance(arr.item, _Lit)) or len(seen) < len(arr.item.values)

    def _start(self, rest: State, node: Any, ch: str) -> State | None:
        if isinstance(node, _AnyOf):
            node = node.by_first.get(ch)
            if node is None:
                return None
        if isinstance(node, _Obj):
            return rest + (("o", node, 0),) if ch == "{" else None
        if isinstance(node, _Arr):
            return rest + (("a", node, 0, ()),) if ch == "[" else None
        if isinstance(node, _Str):
            return rest + (("s", node, "", False),) if ch == '"' else None
        if isinstance(node, _Num):
            return rest + (("n", node.integer, ch),) if ch in _NUM_START else None
        return self.step(rest + (("l", node.values, 0),), ch)

    def next_chars(self, state: State) -> frozenset[str] | None:
        """The characters that may come next, or None when almost any may (inside a string or number)."""
        if not state:
            return frozenset()
        top = state[-1]
        kind = top[0]
        if kind == "v":
            return _first(top[1])
        if kind == "l":
            _, cands, pos = top
            if pos in map(len, cands):
                return None
            return frozenset(c[pos] for c in cands)
        if kind == "a":
            _, node, count, seen = top
            if count == 0:
                item = self._item(node, seen)
                if node.max_items == 0:
                    chars = frozenset()
                elif item[0] == "l":
                    chars = frozenset(v[0] for v in item[1])
                else:
                    chars = _first(node.item)
                return chars | {"]"} if node.min_items == 0 else chars
            return frozenset(("]",) * (count >= node.min_items) + (",",) * self._more(node, count, seen))
        if kind == "o":
            _, node, i = top
            return frozenset(node.prefixes[i][0] if i < len(node.keys) else "}")
        return None

    def forced(self, state: State, limit: int = 200) -> str:
        """The text that must come next whatever the model prefers (e.g. ``, "tags": [``)."""
        out = []
        while len(out) < limit:
            chars = self.next_chars(state)
            if chars is None or len(chars) != 1:
                break
            (ch,) = chars
            nxt = self.step(state, ch)
            if nxt is None:
                break
            out.append(ch)
            state = nxt
        return "".join(out)

    def completion(self, state: State) -> str:
        """The shortest text that completes the value from ``state`` (it ends where the value ends)."""
        out = []
        added: str | None = None  # an item just closed here, for the array frame below
        for i in range(len(state) - 1, -1, -1):
            top = state[i]
            kind = top[0]
            if kind == "v":
                out.append(_minimal(top[1]))
            elif kind == "s":
                _, node, text, ws = top
                seen = seen_items(state[:i], node)
                suffix = _fresh(node, text, ws, seen or ())
                out.append(suffix + '"')
                if seen is not None:
                    added = (text + suffix).casefold()
                continue
            elif kind == "l":
                _, cands, pos = top
                best = min(cands, key=len)
                out.append(best[pos:])
                if state[:i] and state[i - 1][0] == "a" and isinstance(state[i - 1][1].item, _Lit):
                    added = best
                continue
            elif kind == "n":
                _, integer, text = top
                out.append("" if _num_ok(text, integer, complete=True) else "0")
            elif kind == "a":
                _, node, count, seen = top
                if added is not None and node.unique:
                    seen = seen + (added,)
                if count == 0:
                    out.append(", ".join(_items(node, 0, seen)) + "]")
                else:
                    out.append("".join(", " + t for t in _items(node, count, seen)) + "]")
            elif kind == "o":
                _, node, i_next = top
                out.append("".join(p + _minimal(v) for p, v in zip(node.prefixes[i_next:], node.values[i_next:], strict=True)) + "}")
            added = None
        return "".join(out)


def compile_schema(schema: dict[str, Any], *, max_string: int = 200) -> Machine:
    """Compile a JSON schema whose root is an object (or array); ``max_string`` caps strings without maxLength."""
    root = _Compiler(schema, max_string).node(schema, "$")
    if not isinstance(root, (_Obj, _Arr)):
        raise InvalidInputError("constrained decoding needs a JSON schema whose root is an object or an array")
    return Machine(root)
