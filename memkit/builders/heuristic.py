"""The offline note builder: keywords from ranked candidate phrases, tags, a one-line context."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from memkit.builders.base import Derived, speaker_of
from memkit.config import BuilderConfig
from memkit.text import entities, human_date, rank_phrases, stem, words
from memkit.types import Note

__all__ = ["HeuristicBuilder"]


class HeuristicBuilder:
    """Keywords: RAKE-ranked candidate phrases (names boosted). Tags: names and head words.

    Context: who said it, when, and what about, in one line. Costs microseconds per
    note, so ingest speed stays that of the embedder.
    """

    name = "heuristic"

    def __init__(self, config: BuilderConfig | None = None, embedder: object | None = None):
        self.config = config or BuilderConfig()

    def derive(self, note: Note) -> Derived:
        cfg = self.config
        keywords = rank_phrases(note.content, cfg.max_keywords)
        tags: list[str] = []
        for name in entities(note.content):
            tags.append(name.lower())
        for kw in keywords:
            head = words(kw)[-1].lower() if words(kw) else ""
            if head and stem(head) not in {stem(t) for t in tags}:
                tags.append(head)
        tags = tags[: cfg.max_tags]
        speaker = speaker_of(note)
        who = speaker or ""
        when = human_date(note.valid_from) if note.valid_from else ""
        about = ", ".join(keywords[:3]) if keywords else note.content[:60]
        prefix = " ".join(p for p in (who, f"on {when}" if when and who else when) if p)
        context = f"{prefix}: {about}" if prefix else about
        return Derived(keywords=keywords, tags=tags, context=context, builder=self.name)

    def build(self, notes: Sequence[Note], embeddings: np.ndarray | None = None) -> list[Derived]:
        return [self.derive(n) for n in notes]
