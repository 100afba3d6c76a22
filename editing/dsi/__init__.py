"""DSI++: the model itself as the index of note ids (Tay et al. 2022; Mehta et al., EMNLP 2023).  Registered as
``dsi``."""

from __future__ import annotations

from memkit.editing.dsi.config import DSIConfig
from memkit.registry import parametric_memories

__all__ = ["DSIConfig", "DSIIndex"]

parametric_memories.register("dsi", "memkit.editing.dsi.model:DSIIndex", config="memkit.editing.dsi.config:DSIConfig")


def __getattr__(name: str):
    if name == "DSIIndex":
        from memkit.editing.dsi.model import DSIIndex

        return DSIIndex
    raise AttributeError(name)
