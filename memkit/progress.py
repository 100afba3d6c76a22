"""Rich progress bars for long work, shown on a terminal (or when asked) and silent otherwise."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["progress_bar", "want_progress"]


def want_progress(progress: bool | None, total: int, threshold: int = 500) -> bool:
    if progress is not None:
        return progress
    return total >= threshold and sys.stderr.isatty()


class _Null:
    def advance(self, n: int = 1) -> None:
        pass

    def update(self, **kwargs: Any) -> None:
        pass


class _Bar:
    def __init__(self, prog: Any, task: Any):
        self._prog, self._task = prog, task

    def advance(self, n: int = 1) -> None:
        self._prog.advance(self._task, n)

    def update(self, **kwargs: Any) -> None:
        self._prog.update(self._task, **kwargs)


@contextmanager
def progress_bar(description: str, total: int | None, enabled: bool = True) -> Iterator[_Bar | _Null]:
    if not enabled:
        yield _Null()
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=False,
    ) as prog:
        yield _Bar(prog, prog.add_task(description, total=total))
