"""Link decisions and evolution: A-MEM's neighbours -> link -> evolve, done by note id.

A judge looks at one new note and its nearest existing notes and decides which
to link, how the neighbours' tags/context evolve, and which older notes the new
one supersedes.  The heuristic judge uses similarity and shared keywords and may
add shared tags; the LLM judge asks a litellm model and falls back to the
heuristic one when the answer is unusable.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from memkit.config import BuilderConfig, LinkerConfig
from memkit.errors import ConfigError
from memkit.registry import link_judges
from memkit.text import stem, terms, words
from memkit.types import Note

__all__ = ["Neighbour", "Decision", "HeuristicJudge", "LLMJudge", "answer_schema"]


@dataclass
class Neighbour:
    note: Note
    similarity: float
    names: frozenset[str] = frozenset()  # rare names (of people, pets, places) both notes hold


@dataclass
class Decision:
    """What to do with one new note's neighbourhood; every id is a neighbour's id."""

    links: dict[str, float] = field(default_factory=dict)  # neighbour id -> weight
    tags: dict[str, list[str]] = field(default_factory=dict)  # neighbour id -> new full tag list
    contexts: dict[str, str] = field(default_factory=dict)  # neighbour id -> new context
    supersedes: list[str] = field(default_factory=list)
    actor: str = "heuristic"
    info: dict[str, Any] = field(default_factory=dict)


class HeuristicJudge:
    """Link when similar enough and sharing keywords (or very similar); evolve by adding shared tags."""

    actor = "heuristic"

    def __init__(self, config: LinkerConfig, builder: BuilderConfig | None = None):
        self.config = config

    def decide(self, note: Note, neighbours: Sequence[Neighbour]) -> Decision:
        cfg = self.config
        mine = terms(note.keywords) | terms(note.tags)
        d = Decision(actor=self.actor)
        if not mine:  # small talk ("Right?", "Haha same") has nothing to link about
            return d
        for nb in neighbours:
            shared = mine & (terms(nb.note.keywords) | terms(nb.note.tags) | terms([nb.note.content]))
            if nb.similarity >= cfg.strong_similarity or (
                nb.similarity >= cfg.min_similarity and len(shared) >= cfg.min_shared_keywords
            ) or (nb.names and nb.similarity >= cfg.name_min_similarity):
                d.links[nb.note.id] = round(float(nb.similarity), 4)
                if cfg.evolve and shared:
                    # the neighbour is tagged with the topics the two notes share, as confirmed by the new note
                    have = {stem(t) for t in nb.note.tags}
                    add = [w.lower() for kw in note.keywords + note.tags for w in words(kw)
                           if stem(w) in shared and stem(w) not in have]
                    new_tags = list(dict.fromkeys(nb.note.tags + add))[: max(cfg.max_tags, len(nb.note.tags))]
                    if new_tags != nb.note.tags:
                        d.tags[nb.note.id] = new_tags
        return d


class _Update(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    tags: list[str] | None = None
    context: str | None = None


class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore")

    links: list[str] = Field(default_factory=list)
    updates: list[_Update] = Field(default_factory=list)
    supersedes: list[str] = Field(default_factory=list)


_SYSTEM = (
    "You maintain a Zettelkasten memory. Given a NEW note and its nearest existing notes (each with an id), "
    "decide: which existing notes the new note should link to (related topics, people, events); how their tags "
    "or one-line context should evolve in light of the new note; and which existing notes the new note makes "
    "out of date (the same fact with a newer value, e.g. a new address replaces an old one). "
    "Reply with one JSON object only, matching this JSON schema:\n" + json.dumps(_Answer.model_json_schema()) +
    "\nUse only ids from the list. Leave lists empty when nothing applies."
)


def _example(new: str, existing: dict[str, str], answer: dict[str, Any]) -> list[dict[str, str]]:
    lines = [json.dumps({"id": "new", "content": new})] + [json.dumps({"id": k, "content": v}) for k, v in existing.items()]
    return [{"role": "user", "content": "NEW: " + lines[0] + "\nEXISTING:\n" + "\n".join(lines[1:])},
            {"role": "assistant", "content": json.dumps(answer)}]


# worked examples: most new notes supersede nothing (a small model otherwise closes every neighbour)
_EXAMPLES = _example(
    "Tom moved to 12 Rua Nova in Lisbon.",
    {"a04c9e13": "Tom lives at 4 Elm Street in Leeds.", "5d2e8b70": "Tom plays tennis on Sundays."},
    {"links": ["a04c9e13", "5d2e8b70"], "updates": [], "supersedes": ["a04c9e13"]},
) + _example(
    "What should I cook for Tom's birthday dinner?",
    {"77b0e4d1": "I bought a new road bike.", "3f9a01c2": "Tom is vegetarian."},
    {"links": ["3f9a01c2"], "updates": [], "supersedes": []},
)


def answer_schema(ids: Sequence[str], max_tags: int = 12) -> dict[str, Any]:
    """The JSON schema of a link decision over the neighbours ``ids``: :class:`_Answer`'s shape, every id one
    of ``ids`` (so a constrained model cannot name another note), lists no longer than the neighbours."""
    one_of = {"type": "string", "enum": list(ids)}
    tags = {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 30}, "maxItems": max_tags}
    update = {"type": "object", "required": ["id"], "properties": {
        "id": one_of,
        "tags": {"anyOf": [tags, {"type": "null"}]},
        "context": {"anyOf": [{"type": "string", "minLength": 1, "maxLength": 200}, {"type": "null"}]},
    }}
    return {"title": "LinkDecision", "type": "object", "required": ["links", "updates", "supersedes"], "properties": {
        "links": {"type": "array", "items": one_of, "maxItems": len(ids)},
        "updates": {"type": "array", "items": update, "maxItems": len(ids)},
        "supersedes": {"type": "array", "items": one_of, "maxItems": len(ids)},
    }}


def _describe(n: Note, short: str) -> str:
    return json.dumps(
        {"id": short, "content": n.content, "keywords": n.keywords, "tags": n.tags, "context": n.context,
         "time": n.valid_from.isoformat() if n.valid_from else None},
        ensure_ascii=False,
    )


class LLMJudge:
    """Ask a litellm model; ids are shown as short unique suffixes of the real note ids and mapped back."""

    def __init__(self, config: LinkerConfig, builder: BuilderConfig):
        if not builder.model:
            raise ConfigError("linker.judge='llm' needs builder.model (a litellm model string)")
        self.config = config
        self.builder = builder
        self.fallback = HeuristicJudge(config)
        self.actor = f"llm:{builder.model}"

    def decide(self, note: Note, neighbours: Sequence[Neighbour]) -> Decision:
        from memkit.llm.client import complete_json

        if not neighbours:
            return Decision(actor=self.actor)
        short = _short_ids([nb.note.id for nb in neighbours])
        back = {v: k for k, v in short.items()}
        user = "NEW: " + _describe(note, "new") + "\nEXISTING:\n" + "\n".join(
            _describe(nb.note, short[nb.note.id]) for nb in neighbours
        )
        cfg = self.builder
        params: dict[str, Any] = {"temperature": cfg.temperature, "max_tokens": cfg.max_tokens, "timeout": cfg.timeout_s}
        if cfg.api_base:
            params["api_base"] = cfg.api_base
        params.update(cfg.extra_params)
        assert cfg.model is not None
        messages = [{"role": "system", "content": _SYSTEM}, *_EXAMPLES, {"role": "user", "content": user}]
        res = complete_json(cfg.model, messages,
                            _Answer, retries=cfg.retries,
                            response_schema=answer_schema(list(short.values()), self.config.max_tags), **params)
        if res.value is None:
            d = self.fallback.decide(note, neighbours)
            d.info = {"judge": cfg.model, "fallback": "heuristic", "errors": res.errors[-3:]}
            return d
        ans = res.value
        sims = {nb.note.id: nb.similarity for nb in neighbours}
        by_id = {nb.note.id: nb.note for nb in neighbours}
        d = Decision(actor=self.actor, info={"judge": cfg.model, "attempts": res.attempts})
        ignored = []
        for s in ans.links:
            if s in back:
                d.links[back[s]] = round(float(sims[back[s]]), 4)
            else:
                ignored.append(s)
        for u in ans.updates:
            nid = back.get(u.id)
            if nid is None:
                ignored.append(u.id)
                continue
            if u.tags is not None:
                tags = [t for t in (x.strip() for x in u.tags) if t][: self.config.max_tags]
                if tags and tags != by_id[nid].tags:
                    d.tags[nid] = tags
            if u.context and u.context.strip() and u.context.strip() != by_id[nid].context:
                d.contexts[nid] = u.context.strip()[:400]
        for s in ans.supersedes:
            if s in back:
                d.supersedes.append(back[s])
            else:
                ignored.append(s)
        if ignored:
            d.info["ignored_ids"] = ignored[:10]
        return d


def _short_ids(ids: Sequence[str], start: int = 8) -> dict[str, str]:
    """Unique suffixes of the ids (the random end of a UUIDv7; its start is a shared timestamp)."""
    n = start
    while True:
        short = {i: i[-n:] for i in ids}
        if len(set(short.values())) == len(ids) or n >= max(len(i) for i in ids):
            return short
        n += 4


link_judges.register("heuristic", "memkit.linking:HeuristicJudge", config="memkit.config:LinkerConfig")
link_judges.register("llm", "memkit.linking:LLMJudge", config="memkit.config:LinkerConfig")
