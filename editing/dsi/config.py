"""Configuration of the DSI++ generative index."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from memkit.editing.config import DocumentMemoryConfig

__all__ = ["DSIConfig"]


class DSIConfig(DocumentMemoryConfig):
    """A LoRA adapter on the frozen model learns note text → docid and pseudo-query → docid; decoding is
    constrained to the docids held (a prefix trie), with beam search for a ranked list."""

    kind: Literal["dsi"] = "dsi"
    docids: Literal["atomic", "naive", "semantic"] = Field(default="semantic", description=(
        "atomic: one vocabulary token per note; naive: the note's arrival number as digits; semantic: the path "
        "of the note in a hierarchical k-means of its sentence embedding (DSI's semantically structured ids)"))
    branching: int = Field(default=10, ge=2, le=10, description="clusters per level of the semantic docids")
    leaf_size: int = Field(default=10, ge=1, description="a cluster this small (or smaller) is not split again")
    lora_rank: int = Field(default=16, ge=1)
    lora_alpha: float = Field(default=32.0, gt=0)
    lora_modules: tuple[str, ...] = Field(default=("self_attn.q_proj", "self_attn.v_proj", "mlp.down_proj"),
                                          description="linear modules of each adapted decoder block")
    lora_from: float = Field(default=0.5, ge=0.0, lt=1.0, description=(
        "adapt the blocks from this fraction of the depth up (the blocks below run without gradients)"))
    pseudo_queries: int = Field(default=4, ge=0, description="pseudo-queries made from each note (random spans)")
    epochs: int = Field(default=6, ge=1, description="passes over a write's examples")
    batch_size: int = Field(default=16, ge=1)
    lr: float = Field(default=5e-3, gt=0)
    replay: bool = Field(default=True, description=(
        "DSI++ generative memory: each write also trains on fresh pseudo-queries of earlier notes"))
    replay_ratio: float = Field(default=1.0, ge=0.0, description="replayed examples per new example")
    sam: bool = Field(default=True, description="sharpness-aware minimisation (DSI++'s flatter minima)")
    sam_rho: float = Field(default=0.05, gt=0.0)
    beams: int = Field(default=10, ge=1, description="beam width of the ranked search")
