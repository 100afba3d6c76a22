"""WISE side-memory editing.  Registered as ``wise`` (WISE-Merge), ``wise-retrieve`` (WISE-Retrieve) and
``wise-embed`` (memkit's addition: side memories routed by the edit prompts' sentence embeddings)."""

from __future__ import annotations

from memkit.editing.wise.config import WISEConfig
from memkit.registry import parametric_memories

__all__ = ["WISEConfig", "WISE", "WISERetrieve", "WISEEmbed", "ties_merge"]

_LAZY = {
    "WISE": "memkit.editing.wise.model:WISE",
    "WISERetrieve": "memkit.editing.wise.model:WISERetrieve",
    "WISEEmbed": "memkit.editing.wise.model:WISEEmbed",
    "ties_merge": "memkit.editing.wise.merge:ties_merge",
}


parametric_memories.register("wise", "memkit.editing.wise.model:WISE", config="memkit.editing.wise.config:WISEConfig")
parametric_memories.register("wise-retrieve", "memkit.editing.wise.model:WISERetrieve",
                             config="memkit.editing.wise.config:WISEConfig")
parametric_memories.register("wise-embed", "memkit.editing.wise.model:WISEEmbed",
                             config="memkit.editing.wise.config:WISEConfig")


def __getattr__(name: str):
    if name in _LAZY:
        from memkit.registry import load_target

        return load_target(_LAZY[name])
    raise AttributeError(name)
