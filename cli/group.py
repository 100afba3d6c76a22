"""The click group every memkit command group uses."""

from __future__ import annotations

from typing import Any

import click

from memkit.errors import MemkitError

__all__ = ["MemkitGroup"]


class MemkitGroup(click.Group):
    """Turns a MemkitError into one clean line on stderr and the error's exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MemkitError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)
