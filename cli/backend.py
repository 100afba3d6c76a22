"""Which memory a CLI command talks to: the store's daemon when one runs, else the store itself.

A daemon holds its store's lock, so opening the store directly would fail with ``StoreInUseError``;
instead the command goes through :class:`memkit.Client` (same methods) with the owner's token.  The
runtime file is looked at first, so a command on a store without a daemon imports nothing more.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from memkit.errors import StoreInUseError

__all__ = ["open_memory", "running_daemon", "LOCATION"]

_WAIT_FOR_DAEMON_S = 15.0


class _Location(click.ParamType):
    """A memory's folder, or the URL of its database (``postgresql://...``), kept as the string it is."""

    name = "folder|url"

    def convert(self, value: Any, param: Any, ctx: Any) -> Path | str:
        from memkit.config import store_url

        if isinstance(value, Path) or store_url(value) is not None:
            return value
        path = Path(value)
        if path.exists() and not path.is_dir():
            self.fail(f"{value!r} is a file, not a memory folder", param, ctx)
        return path


LOCATION = _Location()


def running_daemon(store: Path | str) -> Any:
    """The runtime info of the daemon serving ``store`` (a folder; a database has none), or None."""
    from memkit.server.runtime import RUNTIME_FILE, find_daemon

    if not isinstance(store, Path) or not (store.expanduser() / RUNTIME_FILE).is_file():
        return None
    return find_daemon(Path(store).expanduser())


def _client(store: Path, info: Any) -> Any:
    from memkit.client import Client

    return Client(info.url, store=store)


def open_memory(store: Path, config: Any = None, create: bool = False) -> Any:
    """A ``Memory`` on ``store``, or a ``Client`` of its daemon when one runs (``config`` is then the daemon's)."""
    from memkit.memory import Memory

    info = running_daemon(store)
    if info is not None:
        return _client(store, info)
    try:
        return Memory(store, config=config, create=create)
    except StoreInUseError:  # perhaps a daemon starting: it writes its runtime file once it listens
        deadline = time.monotonic() + _WAIT_FOR_DAEMON_S
        while time.monotonic() < deadline:
            time.sleep(0.2)
            info = running_daemon(store)
            if info is not None:
                return _client(store, info)
        raise
