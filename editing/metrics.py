"""Reliability, Generalization and Locality, as EasyEdit and the WISE paper define them.

- Reliability: teacher-forced token accuracy of ``target_new`` after the edit prompt.
- Generalization: the same after the rephrased prompt.
- Locality: share of argmax tokens on ``locality_prompt + locality_ground_truth`` that are
  unchanged from the unedited model.
- Reliability / Generalization EM: share of edits whose every target token is the argmax (a
  multi-token target counts only when all of it is right).

Each is the mean over edits, measured after all T edits were written (not after each).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from memkit.editing.types import EditMetrics, EditRequest, TargetScore
from memkit.errors import InvalidInputError

__all__ = ["locality_baseline", "evaluate_edits"]


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def locality_baseline(memory: Any, requests: Sequence[EditRequest]) -> list[TargetScore | None]:
    """Score the locality probes on the memory *before* it is edited (one entry per request)."""
    probes = [(i, r) for i, r in enumerate(requests) if r.locality_prompt]
    scores = memory.score([r.locality_prompt for _, r in probes], [r.locality_ground_truth for _, r in probes])
    out: list[TargetScore | None] = [None] * len(requests)
    for (i, _), s in zip(probes, scores, strict=True):
        out[i] = s
    return out


def evaluate_edits(
    memory: Any, requests: Sequence[EditRequest], baseline: Sequence[TargetScore | None] | None = None
) -> EditMetrics:
    """Score ``memory`` on the edits it holds; ``baseline`` from :func:`locality_baseline`."""
    if not requests:
        raise InvalidInputError("evaluate_edits needs at least one request")
    if baseline is not None and len(baseline) != len(requests):
        raise InvalidInputError("the locality baseline must have one entry per request")
    rel = memory.score([r.prompt for r in requests], [r.target_new for r in requests])
    para = [(i, r) for i, r in enumerate(requests) if r.rephrase_prompt]
    gen = memory.score([r.rephrase_prompt for _, r in para], [r.target_new for _, r in para])
    gen_by = {i: s for (i, _), s in zip(para, gen, strict=True)}
    loc_by: dict[int, float] = {}
    post: list[TargetScore] = []
    if baseline is not None:
        probes = [(i, r) for i, r in enumerate(requests) if r.locality_prompt and baseline[i] is not None]
        post = memory.score([r.locality_prompt for _, r in probes], [r.locality_ground_truth for _, r in probes])
        for (i, _), after in zip(probes, post, strict=True):
            before = baseline[i].predicted  # type: ignore[union-attr]
            same = sum(a == b for a, b in zip(before, after.predicted, strict=True))
            loc_by[i] = same / max(len(before), 1)
    per_edit = [
        {
            "id": r.id,
            "reliability": rel[i].token_accuracy,
            "generalization": gen_by[i].token_accuracy if i in gen_by else None,
            "locality": loc_by.get(i),
        }
        for i, r in enumerate(requests)
    ]
    return EditMetrics(
        n_edits=len(requests),
        reliability=_mean([s.token_accuracy for s in rel]) or 0.0,
        generalization=_mean([s.token_accuracy for s in gen]),
        locality=_mean(list(loc_by.values())),
        reliability_em=_mean([float(s.token_accuracy == 1.0) for s in rel]) or 0.0,
        generalization_em=_mean([float(s.token_accuracy == 1.0) for s in gen]),
        routing=_routing_shares(memory, [r for _, r in para], gen, post),
        per_edit=per_edit,
    )


def _routing_shares(memory: Any, rephrased: Sequence[EditRequest], gen: Sequence[TargetScore],
                    locality: Sequence[TargetScore]) -> dict[str, dict[str, float]] | None:
    """Where rephrases and locality prompts were routed, for memories that say which edits each side memory holds."""
    held = getattr(memory, "memory_edit_ids", None)
    if held is None:
        return None
    holder = {edit_id: k for k, ids in enumerate(held()) for edit_id in ids}
    out: dict[str, dict[str, float]] = {}
    if gen:
        routes = [(s.routed, holder.get(r.id)) for r, s in zip(rephrased, gen, strict=True)]
        out["rephrase"] = {"own": sum(k is not None and k == own for k, own in routes) / len(routes),
                           "main": sum(k is None for k, _ in routes) / len(routes),
                           "other": sum(k is not None and k != own for k, own in routes) / len(routes)}
    if locality:
        side = sum(s.routed is not None for s in locality) / len(locality)
        out["locality"] = {"main": 1.0 - side, "side": side}
    return out
