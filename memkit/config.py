"""Configuration: pydantic v2 models, one per part, readable from TOML.

Every section has a ``kind`` that selects an implementation from its registry.
Unknown keys are errors (``extra="forbid"``), so a typo never passes silently.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from memkit.errors import ConfigError, validation_message

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = [
    "EmbedderConfig",
    "NotesConfig",
    "IndexConfig",
    "BuilderConfig",
    "LinkerConfig",
    "RetrievalConfig",
    "MemkitConfig",
    "default_home",
]

BUNDLED_MINILM = "bundled:all-MiniLM-L6-v2"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class EmbedderConfig(_Section):
    kind: str = "sentence-transformers"
    model: str = Field(
        default=BUNDLED_MINILM,
        description="a sentence-transformers model name or path; 'bundled:all-MiniLM-L6-v2' is the offline default",
    )
    batch_size: int = Field(default=32, ge=1, le=4096)
    window: int = Field(
        default=2048, ge=1,
        description="texts per embedder call in add_many; a call's texts are sorted by length before batching, so a "
        "wide window pads little (256 in input order embeds ~20% slower than 2048)",
    )
    device: str = "cpu"
    threads: int | None = Field(default=None, ge=1, description="torch intra-op threads (None: all cores)")
    traced: bool = Field(
        default=True,
        description="on CPU, run the model's transformer as a TorchScript trace (checked against the eager model "
        "when loaded; a model it does not fit runs eagerly): no Python per op, so it runs without the GIL",
    )
    workers: int | None = Field(
        default=None, ge=1,
        description="traced: batches embedded at once, each by a thread of one torch thread (None: one per torch "
        "thread); these never wait for each other, unlike intra-op threads",
    )
    freeze_gc: bool = Field(
        default=True,
        description="after loading the model, gc.freeze() the process's objects (~450k once torch and transformers "
        "are imported), so that later full garbage collections skip them (each took ~0.3 s, a pause in add_many "
        "and in searches alike); objects that exist then are never collected as cyclic garbage",
    )


class NotesConfig(_Section):
    """What text of a note is embedded (BM25 always indexes content, speaker, date, keywords, tags, context).

    Measured on the synthetic conversations: prefixing the speaker, or the previous turn, lowers dense recall
    (names and small talk dominate short turns), so both stay off by default.
    """

    embed_speaker: bool = Field(
        default=False, description="prefix the speaker to the embedded text (hurts short turns: names dominate)"
    )


class IndexConfig(_Section):
    kind: str = Field(default="chroma", description="'chroma' (default, persistent HNSW) or 'exact' (numpy, small stores)")
    hnsw_ef_search: int = Field(default=100, ge=10)
    exact_below: int = Field(
        default=2000, ge=0,
        description="a search whose filter leaves at most this many notes (one user's, one session's) is exact, over "
        "the embeddings SQLite keeps: faster than the index's filtered search, and no approximation (0: always the index)",
    )


class BuilderConfig(_Section):
    kind: str = Field(default="heuristic", description="'heuristic' (offline) or 'llm' (through litellm)")
    model: str | None = Field(default=None, description="litellm model string for kind='llm', e.g. 'ollama/llama3'")
    api_base: str | None = None
    max_keywords: int = Field(default=6, ge=1, le=50)
    max_tags: int = Field(default=4, ge=0, le=50)
    retries: int = Field(default=2, ge=0, le=10)
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    timeout_s: float = Field(default=120.0, gt=0)
    max_tokens: int = Field(default=384, ge=16)
    extra_params: dict[str, Any] = Field(
        default_factory=dict, description="passed to litellm.completion as is (api_key, mock_response, ...)"
    )

    @model_validator(mode="after")
    def _llm_needs_model(self) -> BuilderConfig:
        if self.kind == "llm" and not self.model:
            raise ValueError("builder.kind='llm' needs builder.model (a litellm model string, e.g. 'local/smollm2')")
        return self


class LinkerConfig(_Section):
    enabled: bool = True
    judge: str = Field(
        default="auto", description="who decides links/evolution: 'heuristic', 'llm', or 'auto' (llm when builder is llm)"
    )
    k: int = Field(default=5, ge=1, le=100, description="how many nearest notes a new note is compared with")
    min_similarity: float = Field(default=0.55, ge=-1.0, le=1.0)
    strong_similarity: float = Field(
        default=0.75, ge=-1.0, le=1.0, description="link without shared keywords above this similarity"
    )
    min_shared_keywords: int = Field(default=1, ge=0)
    link_session_turns: bool = Field(
        default=True, description="link consecutive notes of one session (conversation turns)"
    )
    evolve: bool = Field(default=True, description="let new notes update their neighbours (tags; context in LLM mode)")
    max_tags: int = Field(default=12, ge=1, description="evolution never grows a note beyond this many tags")


class RetrievalConfig(_Section):
    dense: bool = True
    lexical: bool = True
    graph: bool = True
    recency: bool = True
    fusion: Literal["rrf", "score"] = Field(
        default="rrf",
        description="'rrf': weighted reciprocal rank fusion; 'score': weighted sum of per-query normalised scores",
    )
    speaker_boost: float = Field(
        default=0.5, ge=0, description="raise notes whose metadata.speaker is named in the query by this fraction"
    )
    informative_terms: int = Field(
        default=4, ge=0,
        description="chat turns (notes with a session_id) with fewer content words than this are down-weighted in "
        "proportion, as small talk; notes stored on their own are not (0: off)",
    )
    feedback: float = Field(
        default=2.0, ge=0,
        description="weight of re-scoring the candidates with the query moved towards the top hits (pseudo-relevance "
        "feedback), fused like dense and BM25 (best on the development set: 2 with RRF, 0.5 with score fusion)",
    )
    feedback_docs: int = Field(default=3, ge=1, le=50)
    diversity: float = Field(
        default=0.3, ge=0, le=1, description="MMR re-ranking: penalty for similarity to notes already ranked higher"
    )
    lexical_extra_weight: float = Field(
        default=1.0, ge=0, description="BM25 weight of the derived text (speaker, date, keywords, tags, context) vs. content"
    )
    rrf_k: int = Field(default=60, ge=1)
    dense_weight: float = Field(default=1.0, ge=0)
    lexical_weight: float = Field(default=1.0, ge=0)
    graph_weight: float = Field(
        default=0.2, ge=0, description="share of a hit's score a linked note receives (times the link's weight)"
    )
    recency_weight: float = Field(default=0.05, ge=0, description="the newest candidate gains at most this share of the best score")
    present_weight: float = Field(
        default=0.5, ge=0,
        description="for a question about the present ('now', 'currently', 'these days'), each candidate's score is "
        "multiplied by 1 + present_weight x its place in time between the oldest (0) and newest (1) candidate",
    )
    candidates: int = Field(default=50, ge=1, le=10_000, description="how many hits each retriever contributes")
    graph_seeds: int = Field(default=10, ge=1, description="top fused hits whose links are followed")
    link_weights: dict[str, float] = Field(
        default_factory=lambda: {"sequence": 1.0, "semantic": 0.5, "supersedes": 1.0, "manual": 1.0},
        description="multiplier per link kind when graph expansion follows a link (0 ignores the kind)",
    )
    update_access: bool = Field(default=True, description="count retrievals and set last_accessed on returned notes")

    @model_validator(mode="after")
    def _one_retriever(self) -> RetrievalConfig:
        if not (self.dense or self.lexical):
            raise ValueError("retrieval needs at least one of dense or lexical")
        return self


class MemkitConfig(_Section):
    embedder: EmbedderConfig = Field(default_factory=EmbedderConfig)
    notes: NotesConfig = Field(default_factory=NotesConfig)
    index: IndexConfig = Field(default_factory=IndexConfig)
    builder: BuilderConfig = Field(default_factory=BuilderConfig)
    linker: LinkerConfig = Field(default_factory=LinkerConfig)
    retrieval: RetrievalConfig = Field(default_factory=RetrievalConfig)
    write_batch: int = Field(default=256, ge=1, description="notes per transaction in add_many")

    @classmethod
    def parse(cls, data: Any) -> MemkitConfig:
        """Build from a dict (or return a config unchanged), turning validation errors into ConfigError."""
        if data is None:
            return cls()
        if isinstance(data, cls):
            return data
        if not isinstance(data, dict):
            raise ConfigError(f"config must be a MemkitConfig or a dict, got {type(data).__name__}")
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise ConfigError(_describe(exc)) from None

    @classmethod
    def from_toml(cls, path: str | Path) -> MemkitConfig:
        path = Path(path).expanduser()
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
        return cls.parse(data)

    def to_toml(self) -> str:
        lines: list[str] = []
        data = self.model_dump(exclude_none=True)
        for key, value in data.items():
            if not isinstance(value, dict):
                lines.append(f"{key} = {_toml_value(value)}")
        for key, value in data.items():
            if isinstance(value, dict):
                lines.append(f"\n[{key}]")
                lines.extend(f"{k} = {_toml_value(v)}" for k, v in value.items())
        return "\n".join(lines) + "\n"


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{json.dumps(str(k))} = {_toml_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return json.dumps(str(v))  # a JSON string is a valid TOML basic string


def _describe(exc: ValidationError) -> str:
    return "invalid config: " + validation_message(exc, "config")


def default_home() -> Path:
    """``$MEMKIT_HOME`` or ``~/.memkit/default``."""
    env = os.environ.get("MEMKIT_HOME")
    return Path(env).expanduser() if env else Path.home() / ".memkit" / "default"
