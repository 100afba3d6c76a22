"""Progress for slow model calls: a bar per note, or a line per note under a bar already shown.

Rich draws one live display per terminal; ``Memory.add_many(progress=True)`` (the CLI's
``memkit add``) may already show one, so under it the per-note progress is printed as
lines, which rich prints above its bar (it redirects ``sys.stderr`` while the bar is live).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from memkit.progress import progress_bar, want_progress

__all__ = ["note_progress", "live_display_active", "model_label"]

LINE_EVERY_S = 10.0


def live_display_active() -> bool:
    """Is a rich progress bar (or other live display) drawing on this terminal now?"""
    return type(sys.stderr).__module__ == "rich.file_proxy"


def model_label(model: str | None) -> str:
    """A model string short enough for a progress bar: ``local//long/path/to/model`` -> ``local/model``."""
    model = model or "?"
    provider, _, name = model.partition("/")
    if provider == "local" and "/" in name:
        return f"local/{name.rstrip('/').rsplit('/', 1)[-1]}"
    return model


@contextmanager
def note_progress(label: str, total: int, enabled: bool | None = None) -> Iterator[Callable[[], None]]:
    """A callable to call once per note done: advances a bar, or, under another bar, prints a line after the
    first note, the last, and every ``LINE_EVERY_S`` seconds between.

    ``enabled`` None: shown when stderr is a terminal.
    """
    if enabled is None:
        enabled = live_display_active() or want_progress(None, total, threshold=1)
    if not enabled:
        yield lambda: None
        return
    if live_display_active():
        start = last = time.monotonic()
        done = 0

        def tick() -> None:
            nonlocal done, last
            done += 1
            now = time.monotonic()
            if done in (1, total) or now - last >= LINE_EVERY_S:
                print(f"{label}: {done}/{total} notes, {(now - start) / done:.1f} s a note", file=sys.stderr)
                last = now

        yield tick
        return
    with progress_bar(label, total) as bar:
        yield bar.advance
