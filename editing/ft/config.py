"""FT-L hyper-parameters (EasyEdit's FT baseline: fine-tune one FFN output matrix)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from memkit.editing.config import EditorConfig

__all__ = ["FTConfig"]


class FTConfig(EditorConfig):
    """Plain fine-tuning of the edited layer's weight on each edit's target tokens (Adam)."""

    kind: Literal["ft-l"] = "ft-l"
    lr: float = Field(default=5e-4, gt=0.0)
    n_iter: int = Field(default=25, ge=1)
    weight_decay: float = Field(default=0.0, ge=0.0)
    norm_bound: float | None = Field(default=None, gt=0.0, description="L-inf bound on the change of W (None: none)")
    early_stop_loss: float = Field(default=0.02, ge=0.0)

    @classmethod
    def smollm2(cls, **overrides: object) -> FTConfig:
        """The same layer WISE edits on SmolLM2-135M-Instruct."""
        values: dict[str, object] = {"layer": "model.layers.20.mlp.down_proj"}
        values.update(overrides)
        return cls(**values)
