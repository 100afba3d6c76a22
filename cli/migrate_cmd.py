"""``memkit migrate --from A --to B``: copy a whole memory between back ends (see :mod:`memkit.migrate`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from memkit.cli.backend import LOCATION
from memkit.cli.render import console, text

__all__ = ["migrate"]


def _target(location: Path | str, config: Any, source: Any) -> Any:
    """The memory to copy into; a new one without ``--to-config`` is made like the source (its embedder, builder,
    retrieval settings), on its own back end's store and index."""
    from memkit.config import MemkitConfig
    from memkit.errors import StoreNotFoundError
    from memkit.memory import Memory

    if config is not None:
        return Memory(location, config)
    try:
        return Memory(location, create=False)
    except StoreNotFoundError:
        like = source.config.model_dump(exclude={"store", "index"}, exclude_none=True)
        return Memory(location, MemkitConfig.parse(like))


@click.command()
@click.option("--from", "source", type=LOCATION, required=True, help="the memory to copy: a folder or a PostgreSQL URL")
@click.option("--to", "target", type=LOCATION, required=True,
              help="where to copy it: a folder or a PostgreSQL URL (created when missing)")
@click.option("--from-config", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="the source's TOML config (default: its folder's config.toml)")
@click.option("--to-config", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="the target's TOML config, e.g. an [index] on a Chroma server (default: its config.toml, or the "
              "defaults for a new one)")
@click.option("--json", "as_json", is_flag=True, help="print the report as JSON")
def migrate(source: Path | str, target: Path | str, from_config: Path | None, to_config: Path | None,
            as_json: bool) -> None:
    """Copy every note, link and history event from one back end to another, and verify each note.

    Stored embeddings are copied (nothing is embedded again); running it again copies only what is missing
    or changed."""
    from memkit.config import MemkitConfig
    from memkit.memory import Memory
    from memkit.migrate import migrate as run

    def config(path: Path | None) -> MemkitConfig | None:
        return MemkitConfig.from_toml(path) if path is not None else None

    if str(source) == str(target):
        raise click.BadParameter("--from and --to name the same memory", param_hint="--to")
    with Memory(source, config(from_config), create=False) as src, _target(target, config(to_config), src) as dst:
        report = run(src, dst, progress=not as_json)
    if as_json:
        click.echo(report.model_dump_json(indent=2))
        return
    out = console()
    out.print(text(f"copied {report.notes_copied} notes, overwrote {report.notes_overwritten}, "
                   f"left {report.notes_unchanged} unchanged; {report.links_added} links and "
                   f"{report.events_copied} history events added; {report.checksums_verified} notes verified"))
    from rich.table import Table

    t = Table("", "source", "target", box=None)
    for key, value in report.source_counts.items():
        t.add_row(text(key, "bold"), text(value), text(report.target_counts.get(key, 0)))
    out.print(t)
