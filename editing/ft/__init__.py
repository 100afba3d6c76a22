"""FT-L, the fine-tuning baseline.  Registered as ``ft-l`` in :mod:`memkit.editing`."""

from __future__ import annotations

from memkit.editing.ft.config import FTConfig
from memkit.registry import parametric_memories

__all__ = ["FTConfig", "FTL"]

parametric_memories.register("ft-l", "memkit.editing.ft.model:FTL", config="memkit.editing.ft.config:FTConfig")


def __getattr__(name: str):
    if name == "FTL":
        from memkit.editing.ft.model import FTL

        return FTL
    raise AttributeError(name)
