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
    "StoreNotFoundError",
    "EmbeddingMismatchError",
    "StoreInUseError",
    "VectorIndexError",
    "MissingDependencyError",
    "RegistryError",
    "LLMError",
    "EditingError",
    "BenchError",
    "ConflictError",
    "AuthError",
    "PermissionDeniedError",
    "DaemonError",
    "validation_message",
]


class MemkitError(Exception):
    """Base class of every error memkit raises on purpose.

    ``exit_code`` is the CLI's exit status for it: 1 a store or run-time failure, 3 something
    not found (a note, a store), 4 invalid input (an argument, a filter, an unknown name),
    5 an invalid configuration.  2 stays click's own code for a malformed command line.
    """

    exit_code: int = 1


class ConfigError(MemkitError, ValueError):
    """A configuration value or file is invalid."""

    exit_code = 5


class InvalidInputError(MemkitError, ValueError):
    """An argument given to an SDK call is invalid (empty content, wrong type, ...)."""

    exit_code = 4


class FilterError(InvalidInputError):
    """A search filter is malformed or uses an unsupported operator."""


class NotFoundError(MemkitError, KeyError):
    """No note (or other object) exists under the given id."""

    exit_code = 3

    def __str__(self) -> str:  # KeyError quotes its message; we don't want that
        return str(self.args[0]) if self.args else "not found"


class StoreError(MemkitError):
    """The store on disk is unreadable, locked or inconsistent."""


class StoreNotFoundError(StoreError):
    """There is no memory at the given path (and the call was not allowed to create one)."""

    exit_code = 3


class EmbeddingMismatchError(StoreError):
    """The store was built with another embedding model or dimension."""


class StoreInUseError(StoreError):
    """Another process has the store open (a store is used by one process at a time)."""


class VectorIndexError(StoreError):
    """The vector index (derived data) failed or is damaged; the notes in SQLite are safe and it is rebuilt."""


class MissingDependencyError(MemkitError, ImportError):
    """An optional dependency is not installed; the message says what to install."""

    def __init__(self, package: str, extra: str | None = None, purpose: str | None = None):
        hint = f"pip install 'memkit[{extra}]'" if extra else f"pip install {package}"
        what = f" (needed for {purpose})" if purpose else ""
        super().__init__(f"the optional dependency {package!r} is not installed{what}; run: {hint}")
        self.package = package


class RegistryError(MemkitError, LookupError):
    """An unknown name was looked up in a registry."""

    exit_code = 4


class LLMError(MemkitError):
    """A language model call failed (provider error, unusable output after retries)."""


class EditingError(MemkitError):
    """A parametric memory could not be written, loaded or queried."""


class BenchError(MemkitError):
    """A benchmark task or run is misconfigured or its data is unusable."""


class ConflictError(MemkitError):
    """A write lost a race: the note changed since the caller read it (its ``version`` differs), or an
    idempotency key was reused for another request.  Read again and retry."""


class AuthError(MemkitError):
    """The daemon refused the request: no token, or a token it does not know (HTTP 401)."""


class PermissionDeniedError(AuthError):
    """The token is valid but limited: the request names another user or agent, or needs an unrestricted
    token (HTTP 403)."""


class DaemonError(MemkitError):
    """The memkit daemon could not be started or reached, or answered in a way the client did not expect."""


def validation_message(exc: Any, what: str = "input") -> str:
    """A pydantic ``ValidationError`` as one line: ``field.path: message; ...`` (``what`` names a top-level error).

    pydantic's own wording ("Value error, ", "Assertion failed, ") is dropped: the message is ours.
    """
    return "; ".join(f"{'.'.join(str(p) for p in err['loc']) or what}: {_plain(err['msg'])}" for err in exc.errors())


def _plain(msg: str) -> str:
    if msg.startswith("Value error, "):
        return msg[len("Value error, "):]
    if msg.startswith("Assertion failed, "):  # the message, without the assert statement pytest may append
        return msg[len("Assertion failed, "):].split("\n", 1)[0]
    return msg
