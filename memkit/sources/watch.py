"""Keep a file or folder ingested: the ``watchfiles`` events, plus a full rescan by hash every ``interval``
seconds (watchers miss events: a folder synced in while asleep, a network drive, an editor's atomic save)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from memkit.errors import MissingDependencyError
from memkit.sources.ingester import Ingester, IngestReport

__all__ = ["watch"]


def watch(ingester: Ingester, root: Path, *, interval: float = 300.0, stop: threading.Event | None = None,
          on_report: Callable[[IngestReport], None] | None = None, progress: bool | None = None) -> None:
    """Ingest ``root`` now, then each change, until ``stop`` is set (or Ctrl-C)."""
    try:
        import watchfiles
    except ImportError:
        raise MissingDependencyError("watchfiles", "server", "watching a folder") from None
    root = Path(root).expanduser().resolve()
    report = ingester.run(root, progress=progress)
    if on_report is not None:
        on_report(report)
    last_full = time.monotonic()
    target = root if root.is_dir() else root.parent
    for changes in watchfiles.watch(target, stop_event=stop, yield_on_timeout=True, rust_timeout=1000,
                                    raise_interrupt=False):
        if stop is not None and stop.is_set():
            return
        if time.monotonic() - last_full >= interval:
            report = ingester.run(root, progress=False)
            last_full = time.monotonic()
        elif changes:
            paths = {Path(p) for _, p in changes}
            if not root.is_dir():
                paths = {p for p in paths if p == root}
                if not paths:
                    continue
            report = ingester.run(root, only=paths, progress=False)
        else:
            continue
        if on_report is not None:
            on_report(report)
