"""Configuration of the compression memory bank."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from memkit.editing.config import DocumentMemoryConfig

__all__ = ["CompressionConfig"]


class CompressionConfig(DocumentMemoryConfig):
    """A compressor (learned query tokens attending over a document's hidden states) writes ``n_memory`` vectors
    per document into the bank; an aggregator turns the ``top_k`` best-matching entries into ``n_memory`` memory
    slots written into the frozen model's residual stream at the same block."""

    kind: Literal["compression"] = "compression"
    layer_fraction: float = Field(default=0.6, gt=0.0, lt=1.0, description=(
        "the decoder block (as a fraction of the depth) whose input states the compressor reads and into whose "
        "input the memory slots are written; the blocks below it never see the memory"))
    n_memory: int = Field(default=4, ge=1, le=64, description="memory vectors per document (and slots per question)")
    key_dim: int = Field(default=128, ge=8, description="width of the attention and matching projections")
    top_k: int = Field(default=4, ge=1, description="bank entries aggregated for a question")
    match_temperature: float = Field(default=0.05, gt=0.0, description=(
        "the cosine of the question's and an entry's keys, divided by this, is added to the aggregator's "
        "attention logits of that entry's vectors"))
