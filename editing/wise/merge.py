"""TIES merging (Yadav et al., 2023) of side-memory shards: trim, elect sign, disjoint mean."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from memkit.errors import InvalidInputError

__all__ = ["ties_merge", "trim"]


def trim(delta: torch.Tensor, density: float) -> torch.Tensor:
    """Keep the ``density`` share of entries with the largest magnitude, zero the rest."""
    if density >= 1.0:
        return delta
    k = int(density * delta.numel())
    if k < 1:
        return torch.zeros_like(delta)
    flat = delta.reshape(-1)
    keep = torch.topk(flat.abs().float(), k, largest=True).indices
    out = torch.zeros_like(flat)
    out[keep] = flat[keep]
    return out.view_as(delta)


def ties_merge(
    base: torch.Tensor,
    tensors: Sequence[torch.Tensor],
    density: float,
    weights: Sequence[float] | None = None,
) -> torch.Tensor:
    """Merge ``tensors`` (each ``base`` + a task delta) into one tensor.

    Each delta is trimmed to ``density``; per entry the sign with the larger weighted mass
    is elected (ties go to +); the result is ``base`` plus the weighted mean of the kept
    deltas that agree with the elected sign (entries where none agree stay at ``base``).
    """
    if not tensors:
        raise InvalidInputError("ties_merge needs at least one tensor")
    if weights is None:
        weights = [1.0 / len(tensors)] * len(tensors)
    if len(weights) != len(tensors):
        raise InvalidInputError("ties_merge: one weight per tensor")
    deltas = torch.stack([trim((t - base).float(), density) for t in tensors])
    w = torch.tensor(list(weights), dtype=deltas.dtype, device=deltas.device).view(-1, *([1] * base.dim()))
    weighted = deltas * w
    elected = torch.where(weighted.sum(0) >= 0, 1.0, -1.0).to(deltas.dtype)
    agree = (torch.sign(deltas) == elected).to(deltas.dtype)  # trimmed zeros never agree
    total = (weighted * agree).sum(0)
    norm = (w * agree).sum(0)
    norm = torch.where(norm == 0, torch.ones_like(norm), norm)
    return (base.float() + total / norm).to(base.dtype)
