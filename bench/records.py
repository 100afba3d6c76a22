"""Typed records that flow through a benchmark run.

A task turns its data into :class:`Episode` records: ordered :class:`Write` and
:class:`Ask` actions.  A system under test stores each :class:`MemoryRecord` and
answers each :class:`Query` with an :class:`Answer`; the task scores the answers of
an episode into :class:`ItemResult` rows, which the runner appends to the run's
JSONL file, keyed by episode id.  Everything carries ids; nothing downstream
relies on list positions or on parsing formatted text.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "EditSpec",
    "MemoryRecord",
    "Query",
    "Passage",
    "TargetResult",
    "Answer",
    "Write",
    "Ask",
    "Episode",
    "ItemResult",
    "EpisodeRecord",
]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EditSpec(_Record):
    """How a parametric memory writes a record: a prompt that should elicit ``target``."""

    prompt: str = Field(min_length=1)
    target: str = Field(min_length=1)
    subject: str | None = None


class MemoryRecord(_Record):
    """One thing a task writes into the memory under test."""

    id: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1, description="the content as a retrieval memory or a prompt stores it")
    scope: str | None = Field(default=None, description="namespace (the user id of a retrieval memory)")
    metadata: dict[str, Any] = Field(default_factory=dict)
    valid_from: AwareDatetime | None = None
    session: str | None = Field(default=None, description="the conversation the record is a turn of")
    supersedes: str | None = Field(default=None, description="id of an earlier MemoryRecord this one replaces")
    edit: EditSpec | None = Field(default=None, description="the record as an edit; derived from text when absent")


QueryMode = Literal["choose", "generate", "score"]


class Query(_Record):
    """One question put to a system.

    ``prompt`` is the question without context; a system that has context (passages
    retrieved from its memory, or the oracle's gold context) puts it before the prompt.
    ``answer_prefix`` starts the answer (e.g. ``"Answer: Segment"``); ``options``
    (choose) and ``targets`` (score) are continuations of it.
    """

    id: str = Field(min_length=1, max_length=300)
    mode: QueryMode
    prompt: str
    answer_prefix: str = ""
    chat: bool = Field(default=True, description="wrap the prompt in the reader's chat template")
    options: list[str] | None = Field(default=None, description="continuations to choose from (mode choose)")
    targets: list[str] | None = Field(default=None, description="continuations to score (mode score)")
    max_new_tokens: int = Field(default=16, ge=1, le=512)
    stop: list[str] = Field(default_factory=lambda: ["\n"], description="generation ends at a token containing "
                            "one of these, once the answer has begun")
    n_samples: int = Field(default=1, ge=1, le=64)
    temperature: float = Field(default=0.0, ge=0.0, le=5.0)
    seed: int = 0
    want_distributions: bool = Field(
        default=False, description="return each sample's mean next-token distribution (for persuasion scores)"
    )
    # where context comes from
    scope: str | None = None
    search: list[str] | None = Field(default=None, description="retrieval queries; None: the prompt")
    k: int = Field(default=4, ge=1, le=200)
    include_superseded: bool = False
    as_of: AwareDatetime | None = Field(default=None, description="when the question is asked ('last week' "
                                        "counts from then); None: now")
    passage_order: Literal["rank", "position"] = Field(
        default="rank", description="'position': sort passages by metadata['position'] (e.g. word offset in a book)"
    )
    oracle_context: list[str] | None = Field(
        default=None, description="the gold context an oracle puts in the prompt; None: everything written in scope"
    )
    context_header: str = "Context:"
    fields: dict[str, Any] = Field(default_factory=dict, description="structured inputs for LLM-free readers")

    @model_validator(mode="after")
    def _mode_inputs(self) -> Query:
        if self.mode == "choose" and not self.options:
            raise ValueError("a choose query needs options")
        if self.mode == "score" and not self.targets:
            raise ValueError("a score query needs targets")
        return self


class Passage(_Record):
    """A piece of context a system put in front of the prompt."""

    id: str
    text: str
    score: float | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class TargetResult(_Record):
    """Teacher-forced score of one target continuation."""

    token_accuracy: float = Field(ge=0.0, le=1.0)
    log_prob: float
    n_tokens: int = Field(ge=0)
    predicted: list[int] = Field(default_factory=list, description="argmax token id at each target position")


class Answer(_Record):
    """A system's answer to one query, with the context it used."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    query_id: str
    system: str
    choice: int | None = None
    option_logprobs: list[float] | None = None
    texts: list[str] = Field(default_factory=list, description="generated answers (several when sampled)")
    targets: list[TargetResult] | None = None
    passages: list[Passage] = Field(default_factory=list)
    meta: dict[str, Any] = Field(default_factory=dict)
    distributions: Any = Field(default=None, exclude=True, description="(n_samples, vocab) array; never stored")

    @property
    def text(self) -> str:
        return self.texts[0] if self.texts else ""

    def check(self, query: Query) -> None:
        """Raise ``ValueError`` unless this is a well-formed answer to ``query``."""
        if self.query_id != query.id:
            raise ValueError(f"answer for {self.query_id!r} given to query {query.id!r}")
        if query.mode == "choose" and self.choice is not None and not 0 <= self.choice < len(query.options or []):
            raise ValueError(f"query {query.id!r}: choice {self.choice} is not an option index")
        if query.mode == "generate" and len(self.texts) != query.n_samples:
            raise ValueError(f"query {query.id!r}: {len(self.texts)} answers for n_samples={query.n_samples}")
        if query.mode == "score" and len(self.targets or []) != len(query.targets or []):
            raise ValueError(f"query {query.id!r}: {len(self.targets or [])} scores for {len(query.targets or [])} targets")


class Write(_Record):
    kind: Literal["write"] = "write"
    records: list[MemoryRecord]


class Ask(_Record):
    kind: Literal["ask"] = "ask"
    queries: list[Query]


class Episode(_Record):
    """The unit of work and of resumption: writes and questions, in order."""

    id: str = Field(min_length=1, max_length=300)
    actions: list[Annotated[Write | Ask, Field(discriminator="kind")]]
    tags: dict[str, Any] = Field(default_factory=dict, description="breakdown labels (bin, partition, round, ...)")
    gold: dict[str, Any] = Field(default_factory=dict, description="what the scorer needs to know")

    @field_validator("actions")
    @classmethod
    def _unique_query_ids(cls, v: list[Write | Ask]) -> list[Write | Ask]:
        seen: set[str] = set()
        for action in v:
            for q in action.queries if isinstance(action, Ask) else []:
                if q.id in seen:
                    raise ValueError(f"duplicate query id {q.id!r} in one episode")
                seen.add(q.id)
        return v

    def queries(self) -> list[Query]:
        return [q for a in self.actions if isinstance(a, Ask) for q in a.queries]

    def records(self) -> list[MemoryRecord]:
        return [r for a in self.actions if isinstance(a, Write) for r in a.records]


class ItemResult(_Record):
    """One scored row: the unit every table and figure aggregates."""

    id: str = Field(description="unique within the run and system")
    episode_id: str
    tags: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, float | None] = Field(default_factory=dict)
    query_ids: list[str] = Field(default_factory=list, description="the answers this row was computed from")
    note: str | None = None


class EpisodeRecord(_Record):
    """One line of ``items.jsonl``: a finished episode of one system."""

    system: str
    episode_id: str
    task: str
    task_version: int
    results: list[ItemResult]
    answers: list[Answer]
    seconds: float
    finished_at: datetime
