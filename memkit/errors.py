"""The one error tree of memkit.

Every error memkit raises on purpose is a :class:`MemkitError`; the CLI turns it
into one clean line and a non-zero exit code.  Subclasses also derive from the
matching built-in (``ValueError``, ``KeyError``, ...) where that helps callers
that already catch those.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "MemkitError",
    "ConfigError",
    "InvalidInputError",
    "FilterError",
    "NotFoundError",
    "StoreError",
    "EmbeddingMismatchError",
    "StoreInUseError",
    "MissingDependencyError",
    "RegistryError",
    "LLMError",
    "EditingError",
    "BenchError",
    "validation_message",
]


class MemkitError(Exception):
    """Base class of every error memkit raises on purpose."""

    exit_code: int = 1


class ConfigError(MemkitError, ValueError):
    """A configuration value or file is invalid."""

    exit_code = 2


class InvalidInputError(MemkitError, ValueError):
    """An argument given to an SDK call is invalid (empty content, wrong type, ...)."""

    exit_code = 2


class FilterError(InvalidInputError):
    """A search filter is malformed or uses an unsupported operator."""


class NotFoundError(MemkitError, KeyError):
    """No note (or other object) exists under the given id."""

    exit_code = 3

    def __str__(self) -> str:  # KeyError quotes its message; we don't want that
        return str(self.args[0]) if self.args else "not found"


class StoreError(MemkitError):
    """The store on disk is unreadable, locked or inconsistent."""


class EmbeddingMismatchError(StoreError):
    """The store was built with another embedding model or dimension."""


class StoreInUseError(StoreError):
    """Another process has the store open (a store is used by one process at a time)."""


class MissingDependencyError(MemkitError, ImportError):
    """An optional dependency is not installed; the message says what to install."""

    def __init__(self, package: str, extra: str | None = None, purpose: str | None = None):
        hint = f"pip install 'memkit[{extra}]'" if extra else f"pip install {package}"
        what = f" (needed for {purpose})" if purpose else ""
        super().__init__(f"the optional dependency {package!r} is not installed{what}; run: {hint}")
        self.package = package


class RegistryError(MemkitError, LookupError):
    """An unknown name was looked up in a registry."""

    exit_code = 2


class LLMError(MemkitError):
    """A language model call failed (provider error, unusable output after retries)."""


class EditingError(MemkitError):
    """A parametric memory could not be written, loaded or queried."""


class BenchError(MemkitError):
    """A benchmark task or run is misconfigured or its data is unusable."""


def validation_message(exc: Any, what: str = "input") -> str:
    """A pydantic ``ValidationError`` as one line: ``field.path: message; ...`` (``what`` names a top-level error)."""
    return "; ".join(f"{'.'.join(str(p) for p in err['loc']) or what}: {err['msg']}" for err in exc.errors())
