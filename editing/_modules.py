"""Finding the edited module of a Hugging Face causal LM, and replaying frozen lower layers."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from memkit.errors import ConfigError
from memkit.hf.hooks import decoder_layers

__all__ = ["decoder_layers", "default_layer", "get_module", "set_module", "weight_of", "replay_layers_below"]

# The FFN "value" (output) matrix inside one decoder layer, by architecture.
_FFN_OUT = ("mlp.down_proj", "mlp.c_proj", "mlp.dense_4h_to_h", "mlp.fc_out", "mlp.fc2", "fc2", "feed_forward.w2")


def default_layer(model: nn.Module, fraction: float) -> str:
    """The FFN output matrix of the decoder layer at ``fraction`` of the depth."""
    prefix, layers = decoder_layers(model)
    index = min(len(layers) - 1, round(fraction * len(layers)))
    block = layers[index]
    names = dict(block.named_modules())
    for suffix in _FFN_OUT:
        if suffix in names:
            return f"{prefix}.{index}.{suffix}"
    raise ConfigError(f"cannot find the FFN output matrix in {type(block).__name__}; set `layer` explicitly")


def get_module(model: nn.Module, path: str) -> nn.Module:
    try:
        return model.get_submodule(path)
    except AttributeError as exc:
        raise ConfigError(f"the model has no module {path!r}: {exc}") from None


def set_module(model: nn.Module, path: str, module: nn.Module) -> None:
    parent_path, _, child = path.rpartition(".")
    parent = model.get_submodule(parent_path) if parent_path else model
    setattr(parent, child, module)


def weight_of(module: nn.Module) -> tuple[torch.Tensor, bool]:
    """The module's weight and whether it is stored (in, out) as in GPT-2's Conv1D."""
    weight = getattr(module, "weight", None)
    if not isinstance(weight, torch.Tensor) or weight.dim() != 2:
        raise ConfigError(f"the edited module must hold a 2-D weight, got {type(module).__name__}")
    return weight, type(module).__name__ == "Conv1D"


def layer_index(model: nn.Module, path: str) -> tuple[nn.ModuleList, int] | None:
    """The decoder ModuleList and the index of the block that contains ``path`` (None if not inside)."""
    prefix, layers = decoder_layers(model)
    if not path.startswith(prefix + "."):
        return None
    head = path[len(prefix) + 1 :].split(".", 1)[0]
    return (layers, int(head)) if head.isdigit() else None


@contextlib.contextmanager
def replay_layers_below(model: nn.Module, path: str, enabled: bool = True) -> Iterator[Any]:
    """Within the block, the first forward call records the outputs of the decoder layers below
    the one holding ``path``; later calls return the recorded outputs instead of recomputing.

    Exact as long as every call within the block gets the same inputs (one edit's batch),
    because nothing below the edited layer changes while it is trained.
    """
    found = layer_index(model, path) if enabled else None
    if not found or found[1] == 0:
        yield None
        return
    layers, index = found
    recorded: dict[int, Any] = {}
    hooks = []

    def recorder(i: int):
        def hook(_module: nn.Module, _args: Any, output: Any) -> None:
            recorded[i] = output

        return hook

    def replayer(i: int):
        def forward(*_args: Any, **_kwargs: Any) -> Any:
            return recorded[i]

        return forward

    for i in range(index):
        hooks.append(layers[i].register_forward_hook(recorder(i)))

    class _Switch:
        def arm(self) -> None:
            for h in hooks:
                h.remove()
            hooks.clear()
            for i in range(index):
                layers[i].forward = replayer(i)

    switch = _Switch()
    try:
        yield switch
    finally:
        for h in hooks:
            h.remove()
        for i in range(index):
            if "forward" in vars(layers[i]):
                del layers[i].forward
