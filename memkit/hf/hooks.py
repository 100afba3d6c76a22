"""Reaching inside a Hugging Face causal LM: the decoder blocks, the hidden states entering one of them, memory
slots written into the residual stream, and low-rank additions to linear layers.

These are what the document memories of :mod:`memkit.editing` (the compression bank, the generative adapter)
need of a frozen model; they work through forward hooks, so the model's own forward, its key/value cache and
``generate`` are used unchanged.  torch is imported on first use.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from memkit.errors import ConfigError

if TYPE_CHECKING:
    import torch
    from torch import nn

__all__ = ["decoder_layers", "states_before", "slots_at", "starting_at", "linear_deltas", "slot_mask"]


def decoder_layers(model: nn.Module) -> tuple[str, nn.ModuleList]:
    """The dotted path and the ModuleList of the model's decoder blocks (the longest ModuleList)."""
    from torch import nn

    best: tuple[str, nn.ModuleList] | None = None
    for name, module in model.named_modules():
        if isinstance(module, nn.ModuleList) and (best is None or len(module) > len(best[1])):
            best = (name, module)
    if best is None:
        raise ConfigError(f"cannot find the decoder layers of {type(model).__name__}; set `layer` explicitly")
    return best


class _Stop(Exception):  # noqa: N818  (control flow, never escapes this module)
    """Raised by a hook to end a forward pass once the wanted hidden states are in hand."""


def _hidden(args: tuple[Any, ...], kwargs: dict[str, Any]) -> torch.Tensor:
    return args[0] if args else kwargs["hidden_states"]


def states_before(model: nn.Module, layer: int, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                  position_ids: torch.Tensor | None = None) -> torch.Tensor:
    """The hidden states entering decoder block ``layer`` (``(batch, seq, hidden)``); the blocks above it never
    run.  ``layer`` may equal the number of blocks: the states after the last block, before the final norm."""
    _, blocks = decoder_layers(model)
    if not 0 <= layer <= len(blocks):
        raise ConfigError(f"layer {layer} is outside 0..{len(blocks)}")
    got: list[torch.Tensor] = []
    if layer == len(blocks):
        out = model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                    output_hidden_states=True, use_cache=False, logits_to_keep=1)
        return out.hidden_states[-1]

    def grab(_module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        got.append(_hidden(args, kwargs))
        raise _Stop

    handle = blocks[layer].register_forward_pre_hook(grab, with_kwargs=True)
    try:
        model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids, use_cache=False)
    except _Stop:
        pass
    finally:
        handle.remove()
    return got[0]


def slot_mask(attention_mask: torch.Tensor, n_slots: int) -> torch.Tensor:
    """The first ``n_slots`` attended positions of each row (rows may be left- or right-padded), as a bool mask."""
    import torch

    seen = torch.cumsum(attention_mask.long(), dim=1)
    return attention_mask.bool() & (seen <= n_slots)


@contextlib.contextmanager
def slots_at(model: nn.Module, layer: int, mask: torch.Tensor, vectors: torch.Tensor) -> Iterator[None]:
    """Within the block, the hidden states entering block ``layer`` at the ``mask`` positions (``(batch, seq)``
    bool, ``n`` per row) are replaced by ``vectors`` (``(batch, n, hidden)``), in every pass whose width is the
    mask's (the prompt pass; decoding steps with a key/value cache pass through).  Gradients reach ``vectors``
    through the blocks from ``layer`` up only."""
    _, blocks = decoder_layers(model)
    if not 0 <= layer < len(blocks):
        raise ConfigError(f"layer {layer} is outside 0..{len(blocks) - 1}")
    flat = vectors.reshape(-1, vectors.shape[-1])
    if int(mask.sum()) != flat.shape[0]:
        raise ConfigError(f"{int(mask.sum())} slot positions for {flat.shape[0]} memory vectors")

    def write(_module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        hidden = _hidden(args, kwargs)
        if hidden.shape[:2] != mask.shape:
            return None
        hidden = hidden.masked_scatter(mask.unsqueeze(-1), flat.to(hidden.dtype))
        if args:
            return (hidden, *args[1:]), kwargs
        return args, {**kwargs, "hidden_states": hidden}

    handle = blocks[layer].register_forward_pre_hook(write, with_kwargs=True)
    try:
        yield
    finally:
        handle.remove()


@contextlib.contextmanager
def starting_at(model: nn.Module, layer: int, states: torch.Tensor) -> Iterator[None]:
    """Within the block, the model's forward skips blocks ``0..layer-1`` and feeds ``states`` (as
    :func:`states_before` returned them for the same inputs) to block ``layer``: exact, and the lower blocks cost
    nothing (training reuses the frozen lower blocks' output across steps)."""
    _, blocks = decoder_layers(model)
    if not 0 < layer < len(blocks):
        raise ConfigError(f"layer {layer} is outside 1..{len(blocks) - 1}")

    def skip(*args: Any, **kwargs: Any) -> Any:
        return _hidden(args, kwargs)

    def give(*args: Any, **kwargs: Any) -> Any:
        if _hidden(args, kwargs).shape[:2] != states.shape[:2]:
            raise ConfigError("starting_at: the forward pass's inputs are not the ones the states were taken for")
        return states

    for i in range(layer):
        blocks[i].forward = give if i == layer - 1 else skip
    try:
        yield
    finally:
        for i in range(layer):
            del blocks[i].forward


@contextlib.contextmanager
def linear_deltas(model: nn.Module, deltas: Mapping[str, Callable[[torch.Tensor], torch.Tensor]]) -> Iterator[None]:
    """Within the block, each named linear module's output gets ``delta(x)`` added (``x`` its input): a weight
    update ``W + ΔW`` applied without touching ``W``."""
    modules = dict(model.named_modules())
    handles = []

    def hook_for(delta: Callable[[torch.Tensor], torch.Tensor]) -> Callable[..., Any]:
        def add(_module: Any, args: tuple[Any, ...], output: torch.Tensor) -> torch.Tensor:
            return output + delta(args[0]).to(output.dtype)

        return add

    try:
        for name, delta in deltas.items():
            if name not in modules:
                raise ConfigError(f"the model has no module {name!r}")
            handles.append(modules[name].register_forward_hook(hook_for(delta)))
        yield
    finally:
        for handle in handles:
            handle.remove()


def inputs_of(model: nn.Module, names: list[str], input_ids: torch.Tensor,
              attention_mask: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """The input (first argument, or ``hidden_states``) of each named module in one forward pass of the model;
    the pass stops once every one has run (modules above the last never run).  Each must run once per pass."""
    modules = dict(model.named_modules())
    missing = [n for n in names if n not in modules]
    if missing:
        raise ConfigError(f"the model has no module {missing[0]!r}")
    got: dict[str, torch.Tensor] = {}

    def grab_for(name: str) -> Callable[..., None]:
        def grab(_module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
            got[name] = _hidden(args, kwargs)
            if len(got) == len(set(names)):
                raise _Stop

        return grab

    handles = [modules[n].register_forward_pre_hook(grab_for(n), with_kwargs=True) for n in dict.fromkeys(names)]
    try:
        model(input_ids=input_ids, attention_mask=attention_mask, use_cache=False, logits_to_keep=1)
    except _Stop:
        pass
    finally:
        for handle in handles:
            handle.remove()
    if len(got) < len(set(names)):
        raise ConfigError(f"modules {sorted(set(names) - set(got))} did not run in the forward pass")
    return {n: got[n] for n in names}
