"""Small, dependency-free text helpers: tokens, stopwords, candidate phrases, entities."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache

__all__ = [
    "STOPWORDS", "words", "stem", "terms", "candidate_phrases", "rank_phrases", "entities", "human_date",
    "asks_about_present", "query_words", "content_speaker",
]

STOPWORDS = frozenset(
    """
a about above after again against all also am an and any are aren't as at be because been before being below
between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down during each few for
from further get got had hadn't has hasn't have haven't having he he'd he'll he's her here here's hers herself him
himself his how how's i i'd i'll i'm i've if in into is isn't it it's its itself just let's like me more most mustn't
my myself no nor not now of off on once only or other ought our ours ourselves out over own really same shan't she
she'd she'll she's should shouldn't so some such than that that's the their theirs them themselves then there
there's these they they'd they'll they're they've this those through to too under until up upon us very was wasn't
we we'd we'll we're we've were weren't what what's when when's where where's which while who who's whom why why's
will with won't would wouldn't you you'd you'll you're you've your yours yourself yourselves yes yeah oh ok okay hey
hi hello thanks thank lot lots much many well even still ever every one ones thing things something anything
nothing way ways going go goes gone went make made know knew think thought want wanted say said tell told see saw
seen really quite pretty sure right good great nice awesome cool wow totally definitely actually probably maybe
just kind sort feel felt lately recently today yesterday tomorrow time times day days week weeks year years also
s t d ll m re ve last next getting gets trying tried try let lets bit
""".split()
)

_PRESENT = re.compile(
    r"\b(now|nowadays|currently|current|these days|at the moment|at present|anymore|latest|most recent)\b", re.I
)


# "Caroline: I went to ...", "user: ...": who says a turn stored as plain text (one to three words before ": ")
_SAID_BY = re.compile(r"([^\W\d_][\w'.-]*(?: [^\W\d_][\w'.-]*){0,2}): \S")
_NOT_SPEAKERS = frozenset(
    "note notes todo to-do re fwd fw ps p.s. update edit warning error tip fact source summary title date time "
    "subject reminder idea task question answer q a example step status result http https".split())


def content_speaker(content: str) -> str | None:
    """Who says ``content`` when it is a turn stored as plain text: the one to three words before a leading
    ``": "`` ("Caroline: I went…" -> "Caroline"), unless they are a label ("Note:", "TODO:", "Re:") or start
    like a sentence ("My plan: …")."""
    m = _SAID_BY.match(content[:48])
    if m is None or m.group(1).lower() in _NOT_SPEAKERS or m.group(1).split()[0].lower() in STOPWORDS:
        return None  # a label, or a sentence ("What: x", "My plan: y")
    return m.group(1)


def asks_about_present(query: str) -> bool:
    """Whether a question asks about the present state ("where does she live now?", "current job")."""
    return _PRESENT.search(query) is not None


_WORD = re.compile(r"[^\W_][\w'\-]*", re.UNICODE)
_SPLIT = re.compile(r"[.,;:!?()\[\]{}\"“”‘’/\\|<>@#$%^&*+=~`\n\r\t]|\s-\s|—|–")


def words(text: str) -> list[str]:
    return [w.strip("'-") for w in _WORD.findall(text) if w.strip("'-")]


def stem(word: str) -> str:
    """A light English stemmer (plural / -ing / -ed) for matching keywords across notes."""
    return _stem(word) if len(word) <= 64 else _stem.__wrapped__(word)  # a huge "word" (a blob) is not cached


@lru_cache(maxsize=1 << 16)
def _stem(word: str) -> str:
    w = word.lower()
    for suffix, repl in (("ies", "y"), ("sses", "ss"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            if suffix == "s" and w.endswith("ss"):
                continue
            return w[: -len(suffix)] + repl
    return w


@lru_cache(maxsize=1 << 16)
def _phrase_terms(phrase: str) -> frozenset[str]:
    return frozenset(stem(w) for w in words(phrase) if w.lower() not in STOPWORDS and len(w) > 1)


_CACHED_PHRASE = 200  # longer texts (whole notes) are not cached: the cache would keep them alive


def terms(phrases: Iterable[str]) -> set[str]:
    """Stemmed content words of a list of phrases (cached per phrase: keywords recur across notes)."""
    out: set[str] = set()
    for p in phrases:
        out |= _phrase_terms(p) if len(p) <= _CACHED_PHRASE else _phrase_terms.__wrapped__(p)
    return out


def candidate_phrases(text: str, max_words: int = 3) -> list[str]:
    """RAKE-style candidates: runs of content words between stopwords and punctuation."""
    out: list[str] = []

    def flush(run: list[str]) -> None:
        # long runs are cut from the end, where English noun phrases keep their head (by index: linear in the run)
        for end in range(len(run), 0, -max_words):
            out.append(" ".join(run[max(0, end - max_words) : end]))

    for chunk in _SPLIT.split(text):
        run: list[str] = []
        for w in words(chunk):
            if w.lower() in STOPWORDS or (len(w) < 2 and not w.isdigit()):
                flush(run)
                run = []
            else:
                run.append(w)
        flush(run)
    return out


def entities(text: str) -> list[str]:
    """Capitalised words that do not start a sentence: a cheap proxy for names."""
    found: dict[str, None] = {}  # ordered and O(1) membership: a text of many names stays linear
    for sentence in re.split(r"(?<=[.!?])\s+|\n", text):
        toks = words(sentence)
        for i, w in enumerate(toks):
            if i > 0 and w[0].isupper() and w.lower() not in STOPWORDS and w not in found and len(w) > 1:
                found[w] = None
    return list(found)


def rank_phrases(text: str, limit: int) -> list[str]:
    """Rank candidate phrases by RAKE's degree/frequency score, names first among ties."""
    cands = candidate_phrases(text)
    if not cands:
        return []
    freq: Counter[str] = Counter()
    degree: Counter[str] = Counter()
    for c in cands:
        ws = [w.lower() for w in c.split()]
        for w in ws:
            freq[w] += 1
            degree[w] += len(ws)
    names = {e.lower() for e in entities(text)}
    scored: dict[str, float] = {}
    for c in cands:
        key = c.lower()
        if key in scored:
            continue
        ws = key.split()
        score = sum(degree[w] / freq[w] for w in ws) + (1.5 if any(w in names for w in ws) else 0.0)
        score += 0.1 * min(len(key), 12) / 12  # prefer informative (longer) words among equals
        scored[key] = score
    ranked = sorted(scored, key=lambda c: -scored[c])
    original = {c.lower(): c for c in cands}
    return [original[c] for c in ranked[:limit]]


def human_date(dt: datetime) -> str:
    """'8 May 2023' — the words a person would use in a question about the date."""
    return f"{dt.day} {dt.strftime('%B %Y')}"


_QUERY_WORD = re.compile(r"\w+", re.UNICODE)


def query_words(text: str, stopwords: frozenset[str]) -> list[str]:
    """The words a lexical search ORs: lowercased, once each, numbers and words of 2+ letters not in ``stopwords``."""
    out: list[str] = []
    for w in _QUERY_WORD.findall(text.lower()):
        keep = w.isdigit() or (len(w) > 1 and w not in stopwords)
        if keep and w not in out:
            out.append(w)
    return out
