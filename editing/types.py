"""Typed records of parametric memories: edit requests, target scores, write reports."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from memkit.errors import InvalidInputError, validation_message
from memkit.types import new_id

__all__ = ["EditRequest", "TargetScore", "WriteReport", "EditMetrics", "Document", "as_document"]


class EditRequest(BaseModel):
    """One piece of knowledge to write, in the EasyEdit request format.

    ``prompt`` should elicit ``target_new``; ``rephrase_prompt`` is a paraphrase used to
    measure generalisation; ``locality_prompt`` / ``locality_ground_truth`` form an
    unrelated probe whose prediction must not change.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(default_factory=new_id, min_length=1, max_length=128)
    prompt: str
    target_new: str
    ground_truth: str | None = None
    rephrase_prompt: str | None = None
    locality_prompt: str | None = None
    locality_ground_truth: str | None = None
    subject: str | None = None
    source: str | None = Field(default=None, description="where the edit came from, e.g. a note id")

    @field_validator("prompt", "target_new")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be empty")
        return v

    @field_validator("ground_truth", "rephrase_prompt", "locality_prompt", "locality_ground_truth", "subject")
    @classmethod
    def _blank_is_none(cls, v: str | None) -> str | None:
        return v if v is not None and v.strip() else None

    @model_validator(mode="after")
    def _locality_pair(self) -> EditRequest:
        if (self.locality_prompt is None) != (self.locality_ground_truth is None):
            raise ValueError("locality_prompt and locality_ground_truth must be given together")
        return self


class TargetScore(BaseModel):
    """Teacher-forced score of a target continuation given a prompt."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    token_accuracy: float = Field(ge=0.0, le=1.0, description="share of target tokens that are the argmax")
    log_prob: float = Field(le=0.0, description="sum of the target tokens' log-probabilities")
    n_tokens: int = Field(ge=1)
    predicted: list[int] = Field(default_factory=list, description="argmax token id at each target position")
    routed: int | None = Field(
        default=None, description="which memory answered: None = main model, else the side-memory index"
    )

    @property
    def mean_log_prob(self) -> float:
        return self.log_prob / self.n_tokens


class WriteReport(BaseModel):
    """What one ``write`` call did."""

    model_config = ConfigDict(extra="forbid")

    backend: str
    written: int = 0
    request_ids: list[str] = Field(default_factory=list)
    seconds: float = 0.0
    steps: list[int] = Field(default_factory=list, description="optimisation steps taken per request")
    final_loss: list[float] = Field(default_factory=list, description="loss at the last step per request")
    total_writes: int = Field(default=0, description="writes the memory holds after this call")
    details: dict[str, Any] = Field(default_factory=dict)

    @property
    def seconds_per_write(self) -> float:
        return self.seconds / self.written if self.written else 0.0


class EditMetrics(BaseModel):
    """Reliability, generalisation and locality after a sequence of edits (EasyEdit definitions)."""

    model_config = ConfigDict(extra="forbid")

    n_edits: int
    reliability: float
    generalization: float | None = None
    locality: float | None = None
    reliability_em: float = Field(default=0.0, description="share of edits whose every target token is the argmax")
    generalization_em: float | None = Field(default=None, description="the same after the rephrase")
    routing: dict[str, dict[str, float]] | None = Field(
        default=None,
        description="memories with side memories: where rephrases went ('own': the memory holding their edit, "
        "'main': the unedited model, 'other': another memory) and where locality prompts went ('main' / 'side')",
    )
    per_edit: list[dict[str, float | str | None]] = Field(default_factory=list)


class Document(BaseModel):
    """One document a memory takes in, under an id (a note id when it comes from a memkit memory)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(default_factory=new_id, min_length=1, max_length=128)
    text: str
    source: str | None = None

    @field_validator("text")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be empty")
        return v


def as_document(item: Document | EditRequest | dict[str, Any] | str) -> Document:
    """A :class:`Document` from a document, an edit request (its prompt and target as one text), a dict or a text."""
    if isinstance(item, Document):
        return item
    if isinstance(item, EditRequest):
        return Document(id=item.id, text=f"{item.prompt} {item.target_new.strip()}", source=item.source)
    if isinstance(item, str):
        return _validated({"text": item})
    if isinstance(item, dict):
        if "text" not in item and "prompt" in item:
            return as_document(_request(item))
        return _validated(item)
    raise InvalidInputError(f"write takes Document records, edit requests, dicts or texts, got {type(item).__name__}")


def _validated(data: dict[str, Any]) -> Document:
    try:
        return Document.model_validate(data)
    except ValidationError as exc:
        raise InvalidInputError(f"not a valid document: {validation_message(exc, 'document')}") from None


def _request(data: dict[str, Any]) -> EditRequest:
    try:
        return EditRequest.model_validate(data)
    except ValidationError as exc:
        raise InvalidInputError(f"not a valid edit request: {validation_message(exc, 'request')}") from None
