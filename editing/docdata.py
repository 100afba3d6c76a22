"""Documents from the shared data for the document-memory benchmark: passages of the Book-SORT books
(public-domain novels, ``<data root>/booksort/full_text/*.txt``), each with a cloze question.

A passage is a run of whole sentences of one book (``min_words`` to ``max_words`` words).  Its question is the
passage's last sentence cut just before a *name*: a capitalised word that is not the sentence's first and that
also occurs earlier in the passage (so a reader of the passage can tell it; a model without it cannot).  The
answer is that word.  The document is the whole passage, the cloze sentence included: the benchmark asks
whether a system can give back what it was shown.

Read by path, never copied; the same books and seed give the same passages.
"""

from __future__ import annotations

import itertools
import random
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from memkit.errors import InvalidInputError

__all__ = ["Cloze", "book_passages", "cloze_of", "booksort_dir"]

_SENTENCE = re.compile(r"(?<=[.!?])[\"”’)]*\s+(?=[\"“‘(]?[A-Z])")
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
# capitalised words that are not names
_COMMON = frozenset(
    "I I'm I've I'd I'll A An The This That These Those It He She We They You My Your His Her Our Their Its Mr Mrs "
    "Miss Dr Sir Lady Lord Mister Madam Oh Yes No Not But And Or So Then There Here What Why How When Where Who "
    "Well Now Of In On At To For With As If Do Don't Is Was Are Be Chapter CHAPTER God OK Ah Good".split())


class Cloze(BaseModel):
    """One passage (the document) and its cloze question: ``prompt`` continued by ``answer``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    document: str
    prompt: str
    answer: str
    book: str


def booksort_dir() -> Path:
    """``<data root>/booksort/full_text`` (the root as :func:`memkit.bench.data.data_root` finds it)."""
    from memkit.bench.data import data_root

    folder = data_root() / "booksort" / "full_text"
    if not folder.is_dir():
        raise InvalidInputError(f"no Book-SORT books at {folder}")
    return folder


def _body(text: str) -> str:
    """The book between Project Gutenberg's START and END lines (the whole text when they are missing)."""
    start = text.find("*** START")
    if start >= 0:
        text = text[text.find("\n", start) + 1 :]
    end = text.find("*** END")
    return text[:end] if end >= 0 else text


def _sentences(text: str) -> list[str]:
    out: list[str] = []
    for para in re.split(r"\n\s*\n", _body(text)):
        flat = " ".join(para.split())
        if not flat or flat.isupper() or len(flat.split()) < 3:  # headings, chapter numbers
            continue
        out += [s.strip() for s in _SENTENCE.split(flat) if s.strip()]
    return out


def cloze_of(sentences: list[str]) -> tuple[str, str] | None:
    """(prompt, answer) for the passage ``sentences``: the last sentence cut before its first name that also occurs
    earlier in the passage, at least four words in; None when it has none."""
    *before, last = sentences
    earlier = {w.strip("'’-") for s in before for w in _WORD.findall(s)}
    for i, m in enumerate(_WORD.finditer(last)):
        word = m.group().strip("'’-")
        # possessive "Caroline's": the answer is the name alone
        word = re.sub(r"['’]s$", "", word)
        if i < 4 or not word[:1].isupper() or word in _COMMON or len(word) < 3 or word not in earlier:
            continue
        prompt = last[: m.start()].rstrip()
        if prompt and (prompt[-1].isalpha() or prompt[-1] in ",;:"):
            return prompt, word
    return None


def book_passages(n: int, *, seed: int = 0, folder: str | Path | None = None, min_words: int = 35,
                  max_words: int = 70) -> list[Cloze]:
    """``n`` passages with a cloze question each, from all books in turn, each book's in a seeded order (passages
    never overlap)."""
    root = Path(folder) if folder is not None else booksort_dir()
    books = sorted(root.glob("*.txt"))
    if not books:
        raise InvalidInputError(f"no books (*.txt) in {root}")
    per_book: list[list[Cloze]] = []
    for path in books:
        found: list[Cloze] = []
        sentences = _sentences(path.read_text(encoding="utf-8", errors="replace"))
        i = 0
        while i < len(sentences):
            j, words = i, 0
            while j < len(sentences) and words < min_words:
                words += len(sentences[j].split())
                j += 1
            chunk = sentences[i:j]
            cloze = cloze_of(chunk) if len(chunk) >= 2 and words <= max_words else None
            if cloze is None:
                i += 1
                continue
            found.append(Cloze(id=f"{path.stem}-{i}", document=" ".join(chunk), prompt=cloze[0], answer=cloze[1],
                               book=path.stem))
            i = j
        random.Random(f"booksort:{seed}:{path.stem}").shuffle(found)
        per_book.append(found)
    # round robin over the books, so that a long book does not make most of a short list
    mixed = [c for row in itertools.zip_longest(*per_book) for c in row if c is not None]
    if n > len(mixed):
        raise InvalidInputError(f"the books in {root} give {len(mixed)} passages; asked for {n}")
    return mixed[:n]
