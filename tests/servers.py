"""Real servers on loopback for the back-end tests (:mod:`memkit.bench.servers`): each starts once per test
session; every test gets a database (or collection names) of its own.  A server that cannot start fails the
test, never skips it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from memkit.bench.servers import ChromaServer, PostgresServer, free_port
from memkit.errors import MemkitError

__all__ = ["PostgresServer", "ChromaServer", "free_port", "started"]


def started(server_cls, factory) -> Iterator:  # noqa: ANN001
    folder = factory.mktemp(server_cls.__name__.lower())
    try:
        server = server_cls(folder)
    except MemkitError as exc:
        pytest.fail(f"cannot start {server_cls.__name__}: {exc}")
    try:
        yield server
    finally:
        server.stop()
