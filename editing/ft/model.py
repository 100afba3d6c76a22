"""FT-L: fine-tune one FFN output matrix in place (the baseline of the WISE paper)."""

from __future__ import annotations

from typing import Any

import torch

from memkit.editing._modules import replay_layers_below
from memkit.editing.backend import WeightEditor
from memkit.editing.ft.config import FTConfig
from memkit.editing.types import EditRequest
from memkit.hf.load import DEFAULT_BASE_MODEL

__all__ = ["FTL"]


class FTL(WeightEditor):
    """Each edit runs ``n_iter`` Adam steps on the target's cross-entropy, on W itself."""

    name = "ft-l"
    config_class = FTConfig
    config: FTConfig

    def __init__(self, config: FTConfig | None = None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.original = self.module.weight.detach().clone()
        self._stash: torch.Tensor | None = None

    @classmethod
    def default_config(cls, base_model: str) -> FTConfig:
        return FTConfig.smollm2() if base_model.lower() == DEFAULT_BASE_MODEL else FTConfig()

    def _write_one(self, request: EditRequest) -> tuple[int, float]:
        cfg = self.config
        batch = self.collate([self.make_row(request.prompt, request.target_new)])
        weight = self.module.weight
        weight.requires_grad_(True)
        opt = torch.optim.Adam([weight], lr=cfg.lr, weight_decay=cfg.weight_decay)
        steps, loss_value = 0, float("nan")
        try:
            with replay_layers_below(self.model, self.layer, cfg.cache_lower_layers) as replay:
                for step in range(cfg.n_iter):
                    loss = self.target_loss(batch, self.target_logits(batch))
                    if step == 0 and replay is not None:
                        replay.arm()
                    loss_value = loss.item()
                    if loss_value <= cfg.early_stop_loss:
                        break
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    if cfg.norm_bound is not None:
                        with torch.no_grad():
                            weight.copy_(torch.clamp(weight, self.original - cfg.norm_bound, self.original + cfg.norm_bound))
                    steps = step + 1
        finally:
            weight.requires_grad_(False)
            weight.grad = None
        return steps, loss_value

    def _set_enabled(self, enabled: bool) -> None:
        weight = self.module.weight
        with torch.no_grad():
            if not enabled and self._stash is None:
                self._stash = weight.detach().clone()
                weight.copy_(self.original)
            elif enabled and self._stash is not None:
                weight.copy_(self._stash)
                self._stash = None

    def _state_tensors(self) -> dict[str, torch.Tensor]:
        return {"weight": self.module.weight.detach()}

    def _restore(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        with torch.no_grad():
            self.module.weight.copy_(tensors["weight"])

    def _describe_state(self) -> dict[str, Any]:
        change = (self.module.weight.detach() - self.original).abs()
        return {"max_abs_change": float(change.max()), "changed_entries": int((change > 0).sum())}
