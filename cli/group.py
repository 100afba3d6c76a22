"""The click group every memkit command group uses."""

from __future__ import annotations

from typing import Any

import click

from memkit.cli.render import visible
from memkit.errors import MemkitError

__all__ = ["MemkitGroup"]


class MemkitGroup(click.Group):
    """Turns a MemkitError into one clean line on stderr (control characters shown escaped) and the error's
    exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MemkitError as exc:
            click.echo(f"error: {visible(exc)}", err=True)
            ctx.exit(exc.exit_code)
