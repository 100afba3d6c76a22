"""A compression memory bank (CMT, Li et al. 2024; after MAC, Tack et al. 2024).  Registered as ``compression``."""

from __future__ import annotations

from memkit.editing.compression.config import CompressionConfig
from memkit.registry import parametric_memories

__all__ = ["CompressionConfig", "CompressionBank"]

parametric_memories.register("compression", "memkit.editing.compression.model:CompressionBank",
                             config="memkit.editing.compression.config:CompressionConfig")


def __getattr__(name: str):
    if name == "CompressionBank":
        from memkit.editing.compression.model import CompressionBank

        return CompressionBank
    raise AttributeError(name)
