"""Options of the Generative Adapter back end."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from memkit.editing.config import DocumentMemoryConfig

__all__ = ["AdapterConfig"]


class AdapterConfig(DocumentMemoryConfig):
    """Options of the Generative Adapter (Chen et al. 2024): which linear modules get a generated low-rank update,
    its rank, and what the generator reads.

    Each target linear ``W`` (``d_in -> d_out``) of decoder block ``l`` gets ``ΔW = O · N(S) · P`` where
    ``S = Σ_t (A h_t)(B h_{t-key_shift})ᵀ`` (``rank x rank``) sums over every token ``t`` of every document held,
    ``h_t`` being the context's hidden states (see ``context``), RMS-normalised per token and centred per document
    (``center``).  The defaults (``key_shift=1``, ``center="document"``, ``keys="token"``) are what trained best on
    the generated facts; ``key_shift=0, center="none"`` is the paper's reading.  ``select`` (default 1) sums, per
    question, only the states of the documents it matches best; ``select=None`` sums them all, as the paper does.
    """

    kind: Literal["adapter"] = "adapter"
    rank: int = Field(default=64, ge=1, le=4096, description="r: the width of the projections and of the state S")
    layers: list[int] | None = Field(
        default=None, description="decoder blocks whose linear gets an update; None: 4 blocks spread over the top "
        "half of the model (SmolLM2-135M: 15, 18, 22, 26)")
    module: str = Field(default="mlp.down_proj", min_length=1,
                        description="the linear inside each block that gets the update (e.g. mlp.down_proj, self_attn.o_proj)")
    context: Literal["linear_input", "block_input"] = Field(
        default="linear_input", description="what the generator reads of a document: the target linear's own input "
        "(keys and queries then live in one space) or the hidden states entering the block (the residual stream)")
    key_shift: int = Field(
        default=1, ge=0, le=8, description="keys B ĥ are read this many tokens before their values A ĥ (0: the same "
        "token, as in the paper; 1: the token before, so a prompt ending where a document's sentence did retrieves "
        "the word that came next there)")
    keys: Literal["token", "prefix"] = Field(
        default="token", description="the key paired with value token t: \"token\", B ĥ of the one token "
        "key_shift before it (the paper: key_shift 0); \"prefix\", the sum of B ĥ over every token of the document "
        "up to key_shift before it, so an object token is keyed by its subject's tokens too (the adapted linear "
        "then writes the object at the subject's positions of a prompt, where the LM's attention reads attributes)")
    center: Literal["none", "document"] = Field(
        default="document", description="before the outer products, subtract from each token's state ĥ_t the mean of "
        "its document's states (\"document\"), so the component every token shares does not dominate S; "
        "\"none\": the paper's raw states")
    eps: float = Field(default=1e-6, gt=0.0, description="added to the norm N divides by")
    select: int | None = Field(
        default=1, ge=1, le=1024, description="each question is answered from the state of the `select` held "
        "documents that match it best (BM25 over token ids, memkit.editing.adapter.select), so many documents do not "
        "blend into one update; None: from every document held, the paper's reading")

    @field_validator("layers")
    @classmethod
    def _distinct(cls, v: list[int] | None) -> list[int] | None:
        if v is not None and (not v or len(set(v)) != len(v) or min(v) < 0):
            raise ValueError("must be a non-empty list of distinct non-negative block indices")
        return v
