"""The WISE side-memory layer: the frozen FFN value matrix W beside side copies W'.

It wraps the original module.  For each input row it measures the activation score
``Delta_k(x) = mean over the prompt's tokens of ||A(x) (W'_k - W)||_2`` for every side
memory k and answers with the one of largest score among those above their threshold,
else with W alone.

The choice is made once per prompt.  Inside a :meth:`SideMemoryLinear.session` the
first forward call (the whole prompt) decides and later calls (one token each while
decoding with the KV cache) reuse the decision; routing a one-token input on its own
would drop the edit.  Outside a session the layer routes on calls of more than one token
and reuses the last decision for one-token calls of the same batch size, so a plain
``model.generate`` keeps the decision too.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["SideMemoryLinear", "masked_mean", "masked_pool"]


class SideMemoryLinear(nn.Module):
    def __init__(self, base: nn.Module, transposed: bool = False) -> None:
        super().__init__()
        self.base = base
        self.transposed = transposed  # GPT-2 Conv1D stores (in, out)
        self.memories: list[torch.Tensor] = []
        self.thresholds: list[float] = []
        self.train_weight: nn.Parameter | None = None
        self.enabled = True
        self.route_each_call = False
        self.normalized = False  # compare memories by score / threshold instead of raw score
        self.pool = "mean"  # how a prompt's per-token scores become one: "mean" (the paper) or "max"
        self.force_route: int | None = None  # diagnostics: use this memory for every row, whatever the scores
        # per-call records
        self.last_input: torch.Tensor | None = None
        self.last_norms: torch.Tensor | None = None
        self.last_scores: torch.Tensor | None = None
        self.decision: torch.Tensor | None = None
        self._in_session = False
        self._route_mask: torch.Tensor | None = None

    @property
    def weight(self) -> torch.Tensor:
        return self.base.weight

    def delta(self, x: torch.Tensor, side: torch.Tensor) -> torch.Tensor:
        """``x (side - W)``: what the side memory adds to the base output."""
        diff = side - self.base.weight
        return x @ diff if self.transposed else F.linear(x, diff)

    def scores(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """Activation scores (B, K): per memory, the mean over masked tokens of ||delta||."""
        out = []
        for side in self.memories:
            norms = self.delta(x, side).norm(dim=-1)  # (B, T)
            out.append(masked_pool(norms, mask, self.pool))
        return torch.stack(out, dim=1)

    def decide(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """Per row, the index of the side memory to use, or -1 for the main memory."""
        scores = self.scores(x, mask)
        self.last_scores = scores
        if self.force_route is not None:
            return torch.full((x.shape[0],), self.force_route, dtype=torch.long, device=x.device)
        thr = torch.tensor(self.thresholds, device=scores.device, dtype=scores.dtype)
        above = scores >= thr
        rank = scores / thr if self.normalized else scores
        best = torch.where(above, rank, torch.full_like(rank, float("-inf"))).argmax(dim=1)
        return torch.where(above.any(dim=1), best, torch.full_like(best, -1))

    @contextlib.contextmanager
    def session(self, route_mask: torch.Tensor | None, decided: torch.Tensor | None = None) -> Iterator[None]:
        """Route once, on the first forward call, over the tokens of ``route_mask`` (B, T); or, given
        ``decided`` (one memory index or -1 per row, chosen outside the model), use that throughout."""
        self._in_session, self._route_mask, self.decision = True, route_mask, decided
        try:
            yield
        finally:
            self._in_session, self._route_mask = False, None

    def _decision_for(self, x: torch.Tensor) -> torch.Tensor:
        b, t = x.shape[0], x.shape[1]
        same_batch = self.decision is not None and self.decision.shape[0] == b
        if self.route_each_call:
            self.decision = self.decide(x, None)
        elif self._in_session:
            if not same_batch:
                mask = self._route_mask
                if mask is not None and tuple(mask.shape) != (b, t):
                    mask = None
                self.decision = self.decide(x, mask)
        elif t > 1 or not same_batch:
            self.decision = self.decide(x, None)
        assert self.decision is not None
        return self.decision

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.base(x)
        if self.train_weight is not None:  # editing: every row goes through the trained W'
            delta = self.delta(x, self.train_weight)
            self.last_input = x.detach()
            self.last_norms = delta.norm(dim=-1)
            return out + delta
        if not self.enabled or not self.memories:
            return out
        decision = self._decision_for(x)
        if bool((decision < 0).all()):
            return out
        add = torch.zeros_like(out)
        for k in decision.unique().tolist():
            if k < 0:
                continue
            rows = decision == k
            add[rows] = self.delta(x[rows], self.memories[k]).to(out.dtype)
        return out + add


def masked_pool(values: torch.Tensor, mask: torch.Tensor | None, pool: str) -> torch.Tensor:
    """:func:`masked_mean`, or the masked maximum when ``pool == "max"``."""
    if pool == "mean":
        return masked_mean(values, mask)
    if mask is None:
        return values.max(dim=-1).values
    return values.masked_fill(~mask.bool(), float("-inf")).max(dim=-1).values.clamp_min(0.0)


def masked_mean(values: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Mean over the last dim of ``values`` (B, T), over positions where ``mask`` is true."""
    if mask is None:
        return values.mean(dim=-1)
    m = mask.to(values.dtype)
    return (values * m).sum(-1) / m.sum(-1).clamp_min(1.0)
