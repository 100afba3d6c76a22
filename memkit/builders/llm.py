"""The LLM note builder: any litellm model (``ollama/llama3``, ``gpt-4o-mini``, ``local/smollm2``).

The model answers a JSON schema; the answer is validated by pydantic and retried.
When it stays malformed, the heuristic note is used and ``note.metadata['memkit']``
records the fallback and the errors: a memory is never dropped.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from memkit.builders.base import Derived, speaker_of
from memkit.builders.heuristic import HeuristicBuilder
from memkit.config import BuilderConfig
from memkit.llm.client import complete_json
from memkit.types import Note

__all__ = ["LLMBuilder", "NoteFields", "note_messages"]


class NoteFields(BaseModel):
    model_config = ConfigDict(extra="ignore")

    keywords: list[str] = Field(min_length=1, max_length=12)
    tags: list[str] = Field(default_factory=list, max_length=12)
    context: str = Field(min_length=1, max_length=400)


_SYSTEM = (
    "You turn one memory into a Zettelkasten note. Reply with one JSON object and nothing else, "
    "matching this JSON schema:\n" + json.dumps(NoteFields.model_json_schema()) + "\n"
    "keywords: the most salient nouns, names and verbs, most important first; "
    "tags: broad categories (one or two words each); context: one sentence on the topic, who and when."
)


def note_messages(note: Note) -> list[dict[str, str]]:
    speaker = speaker_of(note)
    lines = [f"Memory: {note.content}"]
    if speaker:
        lines.append(f"Speaker: {speaker}")
    if note.valid_from is not None:
        lines.append(f"Time: {note.valid_from.isoformat()}")
    return [{"role": "system", "content": _SYSTEM}, {"role": "user", "content": "\n".join(lines)}]


class LLMBuilder:
    name = "llm"

    def __init__(self, config: BuilderConfig, embedder: object | None = None):
        self.config = config
        self.fallback = HeuristicBuilder(config)

    def params(self) -> dict:
        cfg = self.config
        params = {"temperature": cfg.temperature, "max_tokens": cfg.max_tokens, "timeout": cfg.timeout_s}
        if cfg.api_base:
            params["api_base"] = cfg.api_base
        params.update(cfg.extra_params)
        return params

    def derive(self, note: Note) -> Derived:
        cfg = self.config
        assert cfg.model is not None
        res = complete_json(cfg.model, note_messages(note), NoteFields, retries=cfg.retries, **self.params())
        if res.value is not None:
            v = res.value
            return Derived(
                keywords=v.keywords[: cfg.max_keywords],
                tags=v.tags[: cfg.max_tags],
                context=v.context.strip(),
                builder=f"llm:{cfg.model}",
                info={"builder": cfg.model, "attempts": res.attempts},
            )
        derived = self.fallback.derive(note)
        derived.info = {
            "builder": cfg.model,
            "fallback": "heuristic",
            "attempts": res.attempts,
            "errors": res.errors[-3:],
        }
        return derived

    def build(self, notes: Sequence[Note], embeddings: np.ndarray | None = None) -> list[Derived]:
        return [self.derive(n) for n in notes]
