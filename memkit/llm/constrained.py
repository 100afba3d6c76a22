"""Constrained decoding: a Hugging Face causal LM writes JSON that always validates against a schema.

At every step only the tokens whose text keeps the output inside the schema's language
(:mod:`memkit.llm.schema_machine`) may be chosen; text the schema fixes (``{"keywords": ["``,
``, "tags": [``) is fed to the model in one forward pass instead of being generated token
by token; and when ``max_new_tokens`` runs out the value is closed with the shortest valid
completion.  So any model, even a randomly initialised one, yields valid JSON.

Which tokens are allowed is worked out over the vocabulary's texts: inside a free string
from precomputed masks (tokens of plain characters, by length) plus the few tokens holding
a quote; elsewhere by walking the sorted token texts along the characters the schema allows.

The key/value cache of a prompt's start (the system text and the examples, the same for
every note) is kept and reused by later prompts that share it.
"""

from __future__ import annotations

import bisect
import copy
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from memkit.hf.runtime import CausalLM
from memkit.llm.schema_machine import Machine, State, seen_items

__all__ = ["TokenTable", "token_table", "allowed_tokens", "generate_constrained", "PrefixCache"]

_MAX_CHAR = "\U0010ffff"


class TokenTable:
    """The text of every token of a tokenizer, and the indexes constrained decoding needs."""

    def __init__(self, tokenizer: Any):
        n = len(tokenizer)
        anchor = tokenizer.encode("a", add_special_tokens=False)[-1]
        base = tokenizer.decode([anchor])
        # decode each token after an anchor token: SentencePiece drops a leading space when decoding alone
        pairs = tokenizer.batch_decode([[anchor, i] for i in range(n)], clean_up_tokenization_spaces=False)
        special = set(getattr(tokenizer, "all_special_ids", []) or [])
        texts: list[str] = []
        for i, s in enumerate(pairs):
            t = s[len(base):] if s.startswith(base) else ""
            texts.append("" if i in special or "\ufffd" in t else t)
        self.texts = texts
        self.size = n
        lens = np.array([len(t) for t in texts], dtype=np.int64)
        plain = np.array([_plain(t) for t in texts], dtype=bool)
        self.lens = lens
        self.plain = plain  # may stand anywhere inside a free string (no quote, escape, control, double space)
        self.lead_ws = np.array([bool(t) and t[0].isspace() for t in texts], dtype=bool)
        self.trail_ws = np.array([bool(t) and t[-1].isspace() for t in texts], dtype=bool)
        self.quoted = [i for i, t in enumerate(texts) if '"' in t]  # may close a string
        by_text: dict[str, list[int]] = {}
        for i, t in enumerate(texts):
            if t:
                by_text.setdefault(t, []).append(i)
        self.sorted = sorted(by_text)
        self.ids = [by_text[t] for t in self.sorted]


def _plain(t: str) -> bool:
    if not t or '"' in t or "\\" in t or "\x7f" in t or any(c < " " for c in t):
        return False
    return not any(a.isspace() and b.isspace() for a, b in zip(t, t[1:], strict=False))


_tables: dict[int, tuple[Any, TokenTable]] = {}
_tables_lock = threading.Lock()


def token_table(tokenizer: Any) -> TokenTable:
    """The (cached) token table of ``tokenizer``; building it takes about a second for 50k tokens."""
    with _tables_lock:
        hit = _tables.get(id(tokenizer))
        if hit is None or hit[0] is not tokenizer:
            hit = (tokenizer, TokenTable(tokenizer))
            _tables[id(tokenizer)] = hit
        return hit[1]


def allowed_tokens(machine: Machine, table: TokenTable, state: State) -> np.ndarray:
    """The ids of the tokens whose whole text may come next in ``state`` (sorted, int64)."""
    top = state[-1] if state else None
    if top is not None and top[0] == "s":  # inside a free string: masks, plus the tokens with a quote
        _, node, text, ws = top
        n = len(text)
        room = node.max_len - n
        mask = table.plain & (table.lens <= room)
        if n == 0 or ws:
            mask &= ~table.lead_ws
        mask &= ~(table.trail_ws & (table.lens == room))  # whitespace never lands on the last position
        ids = np.flatnonzero(mask)
        if room > 0 and any(len(k) >= node.max_len for k in seen_items(state[:-1], node) or ()):
            # a string of the same array, at the maximum length: neither growing nor closing would remain
            full = ids[table.lens[ids] == room]
            ids = np.setdiff1d(ids, [i for i in full if machine.feed(state, table.texts[i]) is None])
        extra = [i for i in table.quoted if machine.feed(state, table.texts[i]) is not None]
        return np.union1d(ids, np.array(extra, dtype=np.int64)) if extra else ids
    out: list[int] = []
    _walk(machine, table, state, "", 0, len(table.sorted), out)
    return np.array(sorted(out), dtype=np.int64)


def _walk(machine: Machine, table: TokenTable, state: State, prefix: str, lo: int, hi: int, out: list[int]) -> None:
    """Add the tokens in ``table.sorted[lo:hi]`` (all starting with ``prefix``, fed so far) that stay valid."""
    words = table.sorted
    if lo < hi and words[lo] == prefix:
        lo += 1
    if lo >= hi:
        return
    depth = len(prefix)
    chars = machine.next_chars(state)
    if chars is not None:
        steps = []
        for ch in sorted(chars):
            a = bisect.bisect_left(words, prefix + ch, lo, hi)
            b = bisect.bisect_left(words, prefix + ch + _MAX_CHAR, a, hi)
            if a < b:
                steps.append((ch, a, b))
    else:
        steps = []
        k = lo
        while k < hi:
            ch = words[k][depth]
            b = bisect.bisect_left(words, prefix + ch + _MAX_CHAR, k, hi)
            steps.append((ch, k, b))
            k = b
    for ch, a, b in steps:
        nxt = machine.step(state, ch)
        if nxt is None:
            continue
        if words[a] == prefix + ch:
            out.extend(table.ids[a])
        if nxt and (b - a > 1 or words[a] != prefix + ch):
            _walk(machine, table, nxt, prefix + ch, a, b, out)


class PrefixCache:
    """Key/value caches of prompt starts shared by successive prompts (a few, least recently used dropped)."""

    def __init__(self, slots: int = 4, min_tokens: int = 16):
        self.slots, self.min_tokens = slots, min_tokens
        self.saved: OrderedDict[tuple[int, ...], Any] = OrderedDict()  # prompt start -> its cache
        self.recent: list[tuple[int, ...]] = []  # the last prompts, to find what they share

    def lookup(self, ids: list[int]) -> tuple[Any | None, int]:
        """A copy of the cache of the longest saved start of ``ids`` (not all of it), and its length."""
        best = None
        for key in self.saved:
            if len(best or ()) < len(key) < len(ids) and tuple(ids[: len(key)]) == key:
                best = key
        if best is None:
            return None, 0
        self.saved.move_to_end(best)
        return copy.deepcopy(self.saved[best]), len(best)

    def shared_start(self, ids: list[int], have: int) -> int:
        """How much of ``ids`` a recent prompt shares, when that is worth saving: ``min_tokens`` more than the
        ``have`` tokens already cached."""
        best = 0
        for old in self.recent:
            n = _common(old, ids)
            best = max(best, n)
        self.recent = ([tuple(ids)] + [r for r in self.recent if r != tuple(ids)])[: 2 * self.slots]
        return best if best >= have + self.min_tokens and best < len(ids) else 0

    def save(self, ids: list[int], cache: Any) -> None:
        self.saved[tuple(ids)] = copy.deepcopy(cache)
        while len(self.saved) > self.slots:
            self.saved.popitem(last=False)


def _common(a: tuple[int, ...], b: list[int]) -> int:
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


@dataclass
class Generated:
    text: str
    prompt_tokens: int
    completion_tokens: int
    closed_early: bool  # the token budget ran out and the value was closed with its shortest completion


class _Runner:
    """Feeds token ids to the model, keeping its key/value cache; returns the last position's logits."""

    def __init__(self, lm: CausalLM, cache: Any):
        self.lm, self.cache = lm, cache

    def __call__(self, ids: list[int]) -> Any:
        self.cache, logits = self.lm.forward(ids, self.cache, last_only=True)
        return logits[-1]


def generate_constrained(model: Any, tokenizer: Any, prompt_ids: list[int], machine: Machine, *,
                         max_new_tokens: int = 256, temperature: float = 0.0, prefix_cache: PrefixCache | None = None,
                         generator: Any = None) -> Generated:
    """Generate the JSON text of ``machine``'s schema after ``prompt_ids`` (greedy unless ``temperature`` > 0)."""
    import torch

    table = token_table(tokenizer)
    state = machine.initial
    out: list[str] = []
    used = 0
    closed_early = False
    with torch.inference_mode():
        cache, start = prefix_cache.lookup(prompt_ids) if prefix_cache else (None, 0)
        run = _Runner(CausalLM(model, tokenizer), cache)
        shared = prefix_cache.shared_start(prompt_ids, start) if prefix_cache else 0
        if shared > start:  # a start shared with a recent prompt: compute it separately and keep it
            run(prompt_ids[start:shared])
            prefix_cache.save(prompt_ids[:shared], run.cache)
            start = shared
        logits = run(prompt_ids[start:])
        model_turn = False
        while state:
            forced = "" if model_turn else machine.forced(state)
            if forced:
                # fed in one pass, all but its last token: that one may merge with what follows (` [` + `],`
                # is `` [],``), so the model picks it, among the tokens that fit
                head = tokenizer.encode(forced, add_special_tokens=False)[:-1]
                text = "".join(table.texts[i] for i in head)
                if text and forced.startswith(text):
                    state = machine.feed(state, text)
                    out.append(text)
                    used += len(head)
                    logits = run(head)
                model_turn = True
                continue
            model_turn = False
            rest = machine.completion(state)
            if used + len(tokenizer.encode(rest, add_special_tokens=False)) >= max_new_tokens:
                out.append(rest)
                closed_early = True
                break
            allowed = allowed_tokens(machine, table, state)
            if len(allowed) == 0:  # no single token fits (a tokenizer without some character): close it
                out.append(rest)
                closed_early = True
                break
            scores = logits[torch.from_numpy(allowed)]
            if temperature and temperature > 0:
                probs = torch.softmax(scores / temperature, dim=-1)
                pick = int(allowed[int(torch.multinomial(probs, 1, generator=generator))])
            else:
                pick = int(allowed[int(torch.argmax(scores))])
            text = table.texts[pick]
            state = machine.feed(state, text)
            assert state is not None, "an allowed token left the schema's language"
            out.append(text)
            used += 1
            if state:
                logits = run([pick])
    return Generated("".join(out), len(prompt_ids), used, closed_early)
