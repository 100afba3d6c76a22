"""The Generative Adapter (Chen et al. 2024): documents turned into a generated low-rank weight update of a frozen
causal LM in one forward pass.  Registered as ``adapter`` in :mod:`memkit.editing`."""

from __future__ import annotations

from memkit.editing.adapter.config import AdapterConfig
from memkit.registry import parametric_memories

__all__ = ["AdapterConfig", "GenerativeAdapter"]

parametric_memories.register("adapter", "memkit.editing.adapter.model:GenerativeAdapter",
                             config="memkit.editing.adapter.config:AdapterConfig")


def __getattr__(name: str):
    if name == "GenerativeAdapter":
        from memkit.editing.adapter.model import GenerativeAdapter

        return GenerativeAdapter
    raise AttributeError(name)
