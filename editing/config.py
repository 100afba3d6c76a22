"""Configuration shared by the back ends that edit one weight matrix of a causal LM."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["EditorConfig", "DocumentMemoryConfig"]


class EditorConfig(BaseModel):
    """Options every weight-editing back end has.  Subclasses add a ``kind`` and their own."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    layer: str | None = Field(
        default=None,
        description="dotted path of the edited linear module, e.g. 'model.layers.20.mlp.down_proj'; "
        "None picks the FFN output matrix of the decoder layer at `layer_fraction` of the depth",
    )
    layer_fraction: float = Field(default=0.67, gt=0.0, lt=1.0)
    chat_template: bool = Field(default=False, description="wrap prompts in the tokenizer's chat template")
    max_length: int = Field(default=256, ge=8, description="prompt + target tokens kept (longer prompts are cut on the left)")
    seed: int = 0
    cache_lower_layers: bool = Field(
        default=True,
        description="during an edit, compute the frozen layers below the edited one once and replay them "
        "(exact; saves most of the forward pass)",
    )


class DocumentMemoryConfig(BaseModel):
    """Options every document memory has.  Subclasses add a ``kind`` and their own."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    weights: str | None = Field(
        default=None, description="file of trained weights (written by the back end's training script); "
        "None: untrained, initialised from `seed`")
    chat_template: bool = Field(default=False, description="wrap prompts in the tokenizer's chat template")
    max_length: int = Field(default=256, ge=8, description="prompt + target tokens kept (longer prompts are cut on the left)")
    max_doc_tokens: int = Field(default=128, ge=4, description="tokens of a document read (longer ones are cut)")
    seed: int = 0
