"""memkit: long-term memory for LLM agents and people.

``import memkit`` is light: it loads neither torch, chromadb nor litellm; those
are imported when a part that needs them is first used.
"""

from __future__ import annotations

from memkit import _env  # noqa: F401  (quiet, offline defaults; must come first)
from memkit.errors import (
    ConfigError,
    EmbeddingMismatchError,
    FilterError,
    InvalidInputError,
    MemkitError,
    MissingDependencyError,
    NotFoundError,
    StoreError,
)
from memkit.types import HistoryEvent, Hit, Link, Note, ScoreParts, Stats

__version__ = "0.1.0"

__all__ = [
    "Memory",
    "AsyncMemory",
    "Client",
    "AsyncClient",
    "MemkitConfig",
    "Note",
    "Hit",
    "ScoreParts",
    "Link",
    "HistoryEvent",
    "Stats",
    "MemkitError",
    "ConfigError",
    "InvalidInputError",
    "FilterError",
    "NotFoundError",
    "StoreError",
    "EmbeddingMismatchError",
    "MissingDependencyError",
    "__version__",
]

_LAZY = {
    "Memory": "memkit.memory:Memory",
    "AsyncMemory": "memkit.memory:AsyncMemory",
    "Client": "memkit.client:Client",  # the daemon's REST API, with Memory's methods (loads httpx)
    "AsyncClient": "memkit.client:AsyncClient",
    "MemkitConfig": "memkit.config:MemkitConfig",
}


def __getattr__(name: str):  # PEP 562: keep the import of memkit light
    if name in _LAZY:
        from memkit.registry import load_target

        value = load_target(_LAZY[name])
        globals()[name] = value
        return value
    raise AttributeError(f"module 'memkit' has no attribute {name!r}")
