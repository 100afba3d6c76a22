"""The LLM note builder: any litellm model (``ollama/llama3``, ``gpt-4o-mini``, ``local/smollm2``).

The model answers a JSON schema; the answer is validated by pydantic and retried.
The schema goes to the model as litellm's ``response_format`` where the model supports it:
``local/...`` models then decode under it (constrained decoding), so even the bundled
135M model always answers valid JSON, and picks its keywords among the note's own phrases
(:func:`keyword_candidates`; a model that small otherwise invents keywords or copies the
examples').  When the answer stays malformed, the heuristic note
is used and ``note.metadata['memkit']`` records the fallback and the errors: a memory is
never dropped.  Building shows a progress bar per note on a terminal.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from memkit.builders.base import Derived, speaker_of
from memkit.builders.heuristic import HeuristicBuilder
from memkit.config import BuilderConfig
from memkit.llm.client import complete_json
from memkit.llm.status import model_label, note_progress
from memkit.text import entities, human_date, rank_phrases
from memkit.types import Note

__all__ = ["LLMBuilder", "NoteFields", "note_messages", "note_schema", "keyword_candidates"]

KEYWORD_CHARS, TAG_CHARS, CONTEXT_CHARS = 40, 30, 200


class NoteFields(BaseModel):
    model_config = ConfigDict(extra="ignore")

    keywords: list[str] = Field(min_length=1, max_length=12)
    tags: list[str] = Field(default_factory=list, max_length=12)
    context: str = Field(min_length=1, max_length=400)


def note_schema(config: BuilderConfig | None = None, candidates: Sequence[str] = ()) -> dict[str, Any]:
    """The JSON schema the model is asked to answer: :class:`NoteFields`, narrowed to what memkit keeps.

    Every answer valid for it is valid for ``NoteFields``; the narrower bounds keep a small model's
    constrained answer short (memkit keeps ``max_keywords`` keywords and ``max_tags`` tags anyway).
    With ``candidates``, each keyword is one of them (phrases of the memory itself).
    """
    cfg = config or BuilderConfig()
    words = {"type": "string", "minLength": 1, "maxLength": KEYWORD_CHARS}
    keyword = {"type": "string", "enum": list(dict.fromkeys(candidates))} if candidates else words
    return {
        "title": "NoteFields",
        "type": "object",
        "properties": {
            "keywords": {"type": "array", "items": keyword, "minItems": 1, "maxItems": min(12, cfg.max_keywords)},
            "tags": {"type": "array", "items": {**words, "maxLength": TAG_CHARS}, "maxItems": min(12, cfg.max_tags)},
            "context": {"type": "string", "minLength": 1, "maxLength": CONTEXT_CHARS},
        },
        "required": ["keywords", "tags", "context"],
    }


def keyword_candidates(note: Note, limit: int = 16) -> list[str]:
    """Phrases of the note a grounded keyword may be: ranked candidate phrases and names (plain text only)."""
    out: dict[str, str] = {}
    for p in rank_phrases(note.content, limit) + entities(note.content):
        p = p.strip()
        if 0 < len(p) <= KEYWORD_CHARS and '"' not in p and "\\" not in p and all(c >= " " for c in p):
            out.setdefault(p.casefold(), p)
    return list(out.values())


_SYSTEM = (
    "You turn one memory into a Zettelkasten note, as one JSON object: keywords (the names, places, things and "
    "activities the memory is about, copied from it, most important first), tags (one or two broad topics) and "
    "context (one short sentence: who did what, and when if it says). Reply with the JSON object only."
)
# four examples from different walks of life: with fewer, a small model copies an example's names into notes
_EXAMPLES = [
    ("I adopted a cat named Miso last week; she needs a special kidney diet.",
     {"keywords": ["Miso", "cat", "adopted", "kidney diet"], "tags": ["pets", "health"],
      "context": "The user adopted a cat named Miso who needs a kidney diet."}),
    ("Can you recommend a good hotel in Porto? I'm flying there with my brother Tom in June.",
     {"keywords": ["hotel", "Porto", "brother Tom", "June"], "tags": ["travel"],
      "context": "The user is travelling to Porto with his brother Tom in June and wants a hotel."}),
    ("My daughter Ana started piano lessons at the community music school on Tuesdays.",
     {"keywords": ["Ana", "piano lessons", "community music school", "Tuesdays"], "tags": ["family", "music"],
      "context": "The user's daughter Ana takes piano lessons on Tuesdays."}),
    ("What's a good way to fix a leaking kitchen faucet? I don't want to call a plumber again.",
     {"keywords": ["leaking kitchen faucet", "fix", "plumber"], "tags": ["home repair"],
      "context": "The user wants to fix a leaking kitchen faucet without a plumber."}),
]


def note_messages(note: Note) -> list[dict[str, str]]:
    """The chat that asks for one note's fields: instructions, worked examples, then the memory."""
    speaker = speaker_of(note)
    lines = [f"Memory: {note.content}"]
    if speaker:
        lines.append(f"Speaker: {speaker}")
    if note.valid_from is not None:
        lines.append(f"Date: {human_date(note.valid_from)}")
    messages = [{"role": "system", "content": _SYSTEM}]
    for memory, fields in _EXAMPLES:
        messages += [{"role": "user", "content": f"Memory: {memory}"},
                     {"role": "assistant", "content": json.dumps(fields, ensure_ascii=False)}]
    return messages + [{"role": "user", "content": "\n".join(lines)}]


class LLMBuilder:
    name = "llm"

    def __init__(self, config: BuilderConfig, embedder: object | None = None):
        self.config = config
        self.fallback = HeuristicBuilder(config)
        self.progress: bool | None = None  # None: a bar per note when stderr is a terminal

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
        # a local model picks its keywords among the note's own phrases: a small one invents or copies them
        grounded = keyword_candidates(note) if cfg.model.startswith("local/") else []
        res = complete_json(cfg.model, note_messages(note), NoteFields, retries=cfg.retries,
                            response_schema=note_schema(cfg, grounded), **self.params())
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
        out = []
        with note_progress(f"notes by {model_label(self.config.model)}", len(notes), self.progress) as done:
            for n in notes:
                out.append(self.derive(n))
                done()
        return out
