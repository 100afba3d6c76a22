"""Configuration: pydantic v2 models, one per part, readable from TOML.

Every section has a ``kind`` that selects an implementation from its registry.
Unknown keys are errors (``extra="forbid"``), so a typo never passes silently.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import sys
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny, ValidationError, field_validator, model_validator

from memkit.errors import ConfigError, validation_message

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = [
    "EmbedderConfig",
    "NotesConfig",
    "StoreConfig",
    "IndexConfig",
    "BuilderConfig",
    "LinkerConfig",
    "RetrievalConfig",
    "MemkitConfig",
    "default_home",
    "store_url",
    "remote_folder",
    "masked_url",
    "url_config",
    "parse_assignment",
    "from_environment",
]

log = logging.getLogger(__name__)
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def from_environment(value: str, where: str) -> str:
    """``value``, or when it is ``${NAME}``, the environment variable ``NAME`` (:class:`ConfigError` when it is not
    set; ``where`` names the setting, never its value)."""
    ref = _ENV_REF.fullmatch(value)
    if ref is None:
        return value
    found = os.environ.get(ref.group(1))
    if found is None:
        raise ConfigError(f"{where} is read from the environment variable {ref.group(1)}, which is not set")
    return found

BUNDLED_MINILM = "bundled:all-MiniLM-L6-v2"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)
    # settings that may hold a secret (a token): only their ``${NAME}`` values (read from the environment when
    # used) are written to a config file; a literal value is used but never written
    secret_fields: ClassVar[tuple[str, ...]] = ()


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
        "wide window pads little",
    )
    device: str = "cpu"
    threads: int | None = Field(
        default=None, ge=1,
        description="torch intra-op threads (None: all cores); on CPU a call that fits in one batch (a query, add() "
        "of one note) runs on threads of one torch thread each, which a busy machine cannot stall at every op",
    )
    traced: bool = Field(
        default=True,
        description="on CPU, run the model's transformer compiled (ONNX Runtime when `onnx`, else a TorchScript "
        "trace; checked against the eager model when loaded; a model it does not fit runs eagerly): no Python per "
        "op, so it runs without the GIL",
    )
    onnx: bool = Field(
        default=True,
        description="traced: run the transformer under ONNX Runtime (exported once into memkit's cache), the same "
        "vectors; a query embeds in 6.5 ms instead of 16 (p50, one thread); without onnx/onnxruntime: the trace",
    )
    workers: int | None = Field(
        default=None, ge=1,
        description="traced: batches embedded at once, each by a thread of one torch thread (None: one per torch "
        "thread); these never wait for each other, unlike intra-op threads; also the threads that run "
        "one-batch calls (queries), of one torch thread each",
    )
    freeze_gc: bool = Field(
        default=True,
        description="after loading the model, gc.freeze() the process's objects (torch's and transformers' many), so "
        "that later full garbage collections, a pause in add_many and searches, skip them; objects that exist then "
        "are never collected as cyclic garbage",
    )


class NotesConfig(_Section):
    """What text of a note is embedded (BM25 always indexes content, speaker, date, keywords, tags, context)."""

    embed_speaker: bool = Field(
        default=False, description="prefix the speaker to the embedded text (hurts short turns: names dominate)"
    )
    max_content_chars: int = Field(
        default=1_000_000, ge=1,
        description="the longest content add() and update() accept, in characters (the embedder reads only a note's "
        "first 256 tokens, so long documents are better split)",
    )


class StoreConfig(_Section):
    """The note store (authoritative: notes, links, history, BM25).  A store kind with options of its own
    registers a subclass of this as its config class (``memkit.registry.note_stores``)."""

    kind: str = Field(default="sqlite", description="'sqlite' (default: one file, memkit.db, in the memory's folder)")


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
        default="auto", description="who decides links/evolution: 'heuristic', 'llm', or 'auto' (llm when the "
        "builder is an llm other than a bundled 'local/...' model)"
    )
    k: int = Field(default=5, ge=1, le=100, description="how many nearest notes a new note is compared with")
    min_similarity: float = Field(default=0.55, ge=-1.0, le=1.0)
    strong_similarity: float = Field(
        default=0.75, ge=-1.0, le=1.0, description="link without shared keywords above this similarity"
    )
    min_shared_keywords: int = Field(default=1, ge=0)
    rare_name_notes: int = Field(
        default=8, ge=0,
        description="two notes of one user that share a name (a person, a pet, a place) found in at most this many "
        "notes of the store are linked when their similarity reaches name_min_similarity (0: off)")
    name_min_similarity: float = Field(default=0.3, ge=-1.0, le=1.0)
    link_session_turns: bool = Field(
        default=True, description="link consecutive notes of one session (conversation turns)"
    )
    evolve: bool = Field(default=True, description="let new notes update their neighbours (tags; context in LLM mode)")
    max_tags: int = Field(default=12, ge=1, description="evolution never grows a note beyond this many tags")


class RetrievalConfig(_Section):
    """How search ranks notes; defaults chosen on LongMemEval's dev half (BENCHMARKS §2)."""

    dense: bool = True
    lexical: bool = True
    fusion: Literal["rrf", "score", "z"] = Field(
        default="z",
        description="'z': weighted sum of standardised scores (how far each candidate stands out in each retriever); "
        "'rrf': weighted reciprocal rank fusion; 'score': weighted sum of min-max normalised scores",
    )
    dense_weight: float = Field(default=1.0, ge=0)
    lexical_weight: float = Field(default=1.0, ge=0)
    lexical_extra_weight: float = Field(
        default=1.0, ge=0, description="BM25 weight of the derived text (speaker, date, keywords, tags, context) vs. content"
    )
    rrf_k: int = Field(default=60, ge=1)
    candidates: int = Field(default=50, ge=1, le=10_000, description="how many hits each retriever contributes")
    speaker_boost: float = Field(
        default=1.0, ge=0,
        description="raise notes by a speaker the query names (metadata.speaker, or a chat role, see speaker_roles) "
        "by this fraction",
    )
    speaker_roles: dict[str, list[str]] = Field(
        default_factory=lambda: {"user": ["user", "human"], "assistant": ["assistant", "ai", "bot", "model"]},
        description="chat roles by the speaker values that play them: a question in the first person names the "
        "user's turns, one about what 'you said / recommended' the assistant's",
    )
    time_weight: float = Field(
        default=0.2, ge=0,
        description="a question naming a period ('four weeks ago', 'last month', 'in March'): notes from then are "
        "also searched for, and their scores multiplied by 1 + time_weight (0: off)")
    window_candidates: int = Field(default=20, ge=1, description="candidates each retriever adds per named period")
    present_weight: float = Field(
        default=0.5, ge=0,
        description="for a question about the present ('now', 'currently', 'these days'), each candidate's score is "
        "multiplied by 1 + present_weight x its place in time between the oldest (0) and newest (1) candidate",
    )
    informative_terms: int = Field(
        default=0, ge=0,
        description="chat turns (notes with a session_id) with fewer content words than this are down-weighted in "
        "proportion, as small talk; notes stored on their own are not (0: off)",
    )
    feedback: float = Field(
        default=0.0, ge=0,
        description="weight of re-scoring the candidates with the query moved towards the top hits (pseudo-relevance "
        "feedback), fused like dense and BM25 (0: off)",
    )
    feedback_docs: int = Field(default=3, ge=1, le=50)
    graph: bool = Field(default=False, description="graph expansion: linked notes of the best hits gain a share of "
                        "their score")
    graph_weight: float = Field(
        default=0.2, ge=0, description="share of a hit's score a linked note receives (times the link's weight)"
    )
    graph_seeds: int = Field(default=10, ge=1, description="top fused hits whose links are followed")
    link_weights: dict[str, float] = Field(
        default_factory=lambda: {"sequence": 1.0, "semantic": 0.5, "supersedes": 1.0, "manual": 1.0},
        description="multiplier per link kind when graph expansion follows a link (0 ignores the kind)",
    )
    recency: bool = Field(default=False, description="a small reciprocal-rank bonus for newer notes")
    recency_weight: float = Field(default=0.05, ge=0, description="the newest candidate gains at most this share of "
                                  "the best score")
    session_diversity: float = Field(
        default=0.075, ge=0, le=1,
        description="each note is scaled by (1 - session_diversity) per better note of its own session, so the results "
        "reach more conversations (0: off; replaces MMR when set)")
    diversity: float = Field(
        default=0.0, ge=0, le=1, description="MMR re-ranking: penalty for similarity to notes already ranked higher"
    )
    update_access: bool = Field(default=True, description="count retrievals and set last_accessed on returned notes")

    @model_validator(mode="after")
    def _one_retriever(self) -> RetrievalConfig:
        if not (self.dense or self.lexical):
            raise ValueError("retrieval needs at least one of dense or lexical")
        return self


def _registry_of(section: str) -> tuple[Any, type[_Section]]:
    """The registry whose kinds a section (``store`` or ``index``) names, and the section's base config class."""
    from memkit import registry

    if section == "store":
        return registry.note_stores, StoreConfig
    return registry.vector_indexes, IndexConfig


def _default_section(section: str) -> Any:
    """The section's default, by the config class its default kind registered (so a round trip through TOML,
    which reads it by kind, gives an equal config)."""
    reg, base = _registry_of(section)
    kind = base.model_fields["kind"].default
    own = reg.config_class(kind) if kind in reg else None
    return own() if isinstance(own, type) and issubclass(own, base) else base()


class MemkitConfig(_Section):
    embedder: EmbedderConfig = Field(default_factory=EmbedderConfig)
    notes: NotesConfig = Field(default_factory=NotesConfig)
    store: SerializeAsAny[StoreConfig] = Field(default_factory=lambda: _default_section("store"))
    index: SerializeAsAny[IndexConfig] = Field(default_factory=lambda: _default_section("index"))
    builder: BuilderConfig = Field(default_factory=BuilderConfig)
    linker: LinkerConfig = Field(default_factory=LinkerConfig)
    retrieval: RetrievalConfig = Field(default_factory=RetrievalConfig)
    write_batch: int = Field(default=256, ge=1, description="notes per transaction in add_many")

    @field_validator("store", "index", mode="before")
    @classmethod
    def _kind_section(cls, value: Any, info: Any) -> Any:
        """A section is validated by the config class its ``kind`` registered (a subclass of the section's)."""
        reg, base = _registry_of(info.field_name)
        kind = value.get("kind", base.model_fields["kind"].default) if isinstance(value, dict) else None
        if isinstance(kind, str) and kind in reg:
            own = reg.config_class(kind)
            if isinstance(own, type) and issubclass(own, base) and own is not base:
                return own.model_validate(value)
        return value

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
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        return cls.from_toml_text(text, f"config file {path}")

    @classmethod
    def from_toml_text(cls, text: str, source: str = "the config") -> MemkitConfig:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{source} is not valid TOML: {exc}") from None
        return cls.parse(data)

    def to_toml(self) -> str:
        """The config as TOML, without the literal values of secret settings (their ``${NAME}`` values are kept)."""
        lines: list[str] = []
        data = self.model_dump(exclude_none=True)
        for name in type(self).model_fields:
            section = getattr(self, name)
            for field in getattr(type(section), "secret_fields", ()):
                data[name][field], dropped = _without_secrets(data[name][field])
                if dropped:
                    log.warning("%s.%s: %s not written to the config file (a secret); give it again when opening "
                                "the memory, or write ${NAME} to read it from the environment", name, field,
                                ", ".join(dropped))
        for key, value in data.items():
            if not isinstance(value, dict):
                lines.append(f"{key} = {_toml_value(value)}")
        for key, value in data.items():
            if isinstance(value, dict):
                lines.append(f"\n[{key}]")
                lines.extend(f"{k} = {_toml_value(v)}" for k, v in value.items())
        return "\n".join(lines) + "\n"


def _without_secrets(value: Any) -> tuple[Any, list[str]]:
    """``value`` (a string or a dict of strings) with only its ``${NAME}`` references, and the names of what went."""
    if isinstance(value, dict):
        kept = {k: v for k, v in value.items() if isinstance(v, str) and _ENV_REF.fullmatch(v)}
        return kept, [str(k) for k in value if k not in kept]
    if isinstance(value, str) and not _ENV_REF.fullmatch(value):
        return None, ["its value"]
    return value, []


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


_STORE_URL = re.compile(r"^postgres(?:ql)?://", re.IGNORECASE)


def store_url(location: Any) -> str | None:
    """``location`` when it is a database URL (``postgresql://...``) rather than a folder, else None."""
    return location if isinstance(location, str) and _STORE_URL.match(location) else None


def masked_url(url: str) -> str:
    """``url`` with its password (in the URL's user part, a ``password=`` parameter or keyword) as ``***``."""
    url = re.sub(r"^(postgres(?:ql)?://[^:@/?]*):[^@/?]+@", r"\1:***@", url)
    return re.sub(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^&\s]*)", r"\1***", url, flags=re.IGNORECASE)


def url_config(config: MemkitConfig | dict | None, url: str) -> MemkitConfig:
    """``config`` for the memory at ``url``: its store there (PostgreSQL; the store's other options kept when it
    is already one, or given without a kind, as ``{"store": {"schema_name": ...}}``) and, unless ``config`` names
    another index, the store's own vector search."""
    if isinstance(config, dict) and isinstance(config.get("store"), dict) and "kind" not in config["store"]:
        config = {**config, "store": {"kind": "postgres", **config["store"]}}
    config = MemkitConfig.parse(config)
    data = config.model_dump()
    store = data["store"] if data["store"].get("kind") == "postgres" else {"kind": "postgres"}
    data["store"] = {**store, "url": url}
    if "index" not in config.model_fields_set:
        data["index"] = {"kind": "store"}
    return MemkitConfig.parse(data)


def remote_folder(url: str) -> Path:
    """The local folder of the memory at a database ``url`` (the daemon's files, a lock): beside the default
    memory, named by a hash of the URL."""
    home = os.environ.get("MEMKIT_HOME")
    base = Path(home).expanduser().parent if home and store_url(home) is None else Path.home() / ".memkit"
    return base / "remote" / hashlib.sha256(url.encode()).hexdigest()[:16]


def default_home() -> Path:
    """``$MEMKIT_HOME`` or ``~/.memkit/default``."""
    env = os.environ.get("MEMKIT_HOME")
    return Path(env).expanduser() if env else Path.home() / ".memkit" / "default"


def parse_assignment(item: str, *, json_value: bool = True) -> tuple[str, Any]:
    """A command line's ``KEY=VALUE``: the key stripped; VALUE as JSON when it parses (``json_value``), else the
    bare string (e.g. a layer name).  Raises ``ValueError("expected KEY=VALUE, got ...")`` without ``=`` or key."""
    key, sep, value = item.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"expected KEY=VALUE, got {item!r}")
    if not json_value:
        return key.strip(), value.strip()
    try:
        return key.strip(), json.loads(value)
    except json.JSONDecodeError:
        return key.strip(), value
