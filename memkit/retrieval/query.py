"""Reading a question before searching: its content words, the speakers it names, the time it points to.

- **Lexical words**: BM25 ORs the question's content words.
- **Speakers**: a name in the question names a speaker (LoCoMo: "What did Caroline research?").
  Chat roles are named by pronouns: a question in the first person ("my", "I") is about what the
  user said; one about what "you said / recommended / told me" is about what the assistant said.
- **Time**: "four weeks ago", "last month", "in March" become windows of time (``memkit.timeref``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from memkit.text import STOPWORDS, query_words

__all__ = ["lexical_match", "speakers_named"]

_NAME = re.compile(r"[^\W\d_]+")
_FIRST_PERSON = re.compile(r"\b(i|me|my|mine|myself|i'm|i've|i'd|i'll)\b", re.I)
_ASSISTANT_SAID = re.compile(
    r"\byou(?:'d|'ve)?\s+(?:\w+\s+){0,2}?(said|say|mentioned|mention|told|tell|recommended|recommend|suggested|"
    r"suggest|provided|gave|give|listed|explained|shared|described|wrote|showed|offered|proposed|came up with|"
    r"helped|advised|named|noted|pointed out)\b", re.I)


def lexical_match(query: str) -> tuple[str, ...]:
    """The words of ``query`` a lexical search ORs: its content words (empty when it has none)."""
    return tuple(query_words(query, STOPWORDS))


def speakers_named(query: str, speakers: Iterable[str], roles: Mapping[str, Iterable[str]] | None = None) -> set[str]:
    """The speakers ``query`` names: by name (or first name), or a chat role by pronoun.

    ``roles`` maps ``"user"`` and ``"assistant"`` to the speaker values that play them (e.g. the
    OpenAI roles).  A question about what "you said" names the assistant; otherwise a question in
    the first person names the user.
    """
    speakers = {s for s in speakers if s.strip()}  # a blank speaker value names nobody
    words = {w.lower() for w in _NAME.findall(query)}
    found = {s for s in speakers if s.lower() in words or s.split()[0].lower() in words}
    if roles:
        by_role = {role: {s for s in speakers if s.lower() in {v.lower() for v in values}}
                   for role, values in roles.items()}
        if _ASSISTANT_SAID.search(query):
            found |= by_role.get("assistant", set())
        elif _FIRST_PERSON.search(query):
            found |= by_role.get("user", set())
    return found
