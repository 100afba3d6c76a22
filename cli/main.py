"""The ``memkit`` command: thin over the SDK; each command parses, makes one call and prints."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from memkit.cli.group import MemkitGroup
from memkit.errors import InvalidInputError

__all__ = ["cli", "main"]


def _console() -> Any:
    from rich.console import Console

    return Console()


def _open(ctx: click.Context) -> Any:
    from memkit.memory import Memory

    store = ctx.obj["store"]
    mem = Memory(store, config=_config(ctx))
    ctx.call_on_close(mem.close)
    return mem


def _config(ctx: click.Context) -> Any:
    path = ctx.obj.get("config")
    if path is None:
        return None
    from memkit.config import MemkitConfig

    return MemkitConfig.from_toml(path)


def _meta(pairs: tuple[str, ...], option: str = "--meta") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for p in pairs:
        if "=" not in p:
            raise click.BadParameter(f"{p!r}: expected KEY=VALUE", param_hint=option)
        k, v = p.split("=", 1)
        try:
            out[k] = json.loads(v)
        except json.JSONDecodeError:
            out[k] = v
    return out


def _note_dict(note: Any) -> dict[str, Any]:
    return note.model_dump(mode="json")


@click.group(cls=MemkitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--store", type=click.Path(file_okay=False, path_type=Path), envvar="MEMKIT_HOME",
              default=None, help="memory folder (default: $MEMKIT_HOME or ~/.memkit/default)")
@click.option("--config", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="a TOML config file (default: the store's config.toml)")
@click.version_option(package_name="memkit")
@click.pass_context
def cli(ctx: click.Context, store: Path | None, config: Path | None) -> None:
    """memkit: long-term memory for LLM agents and people, local by default."""
    from memkit.config import default_home

    ctx.ensure_object(dict)
    ctx.obj["store"] = store or default_home()
    ctx.obj["config"] = config


@cli.command()
@click.argument("content", required=False)
@click.option("--user", "user_id", default=None, help="user scope")
@click.option("--agent", "agent_id", default=None, help="agent scope")
@click.option("--session", "session_id", default=None, help="session scope")
@click.option("--meta", multiple=True, help="metadata KEY=VALUE (VALUE parsed as JSON when it can be)")
@click.option("--supersedes", default=None, help="id of a note this one replaces")
@click.option("--file", "file", type=click.File("r"), default=None,
              help="add one note per line of this file ('-' for stdin); JSON lines are read as add() dicts")
@click.option("--json", "as_json", is_flag=True, help="print the notes as JSON")
@click.pass_context
def add(ctx: click.Context, content: str | None, user_id: str | None, agent_id: str | None, session_id: str | None,
        meta: tuple[str, ...], supersedes: str | None, file: Any, as_json: bool) -> None:
    """Add a note (or many, with --file)."""
    mem = _open(ctx)
    if file is not None:
        items: list[Any] = []
        for lineno, line in enumerate(file, start=1):
            line = line.strip()
            if not line:
                continue
            try:
                items.append(json.loads(line) if line.startswith("{") else line)
            except json.JSONDecodeError as exc:
                raise InvalidInputError(f"{file.name}:{lineno}: a line starting with '{{' must be a JSON object "
                                        f"({exc.msg}, column {exc.colno}); nothing was added") from None
        notes = mem.add_many(items, user_id=user_id, agent_id=agent_id, session_id=session_id,
                             metadata=_meta(meta) or None, progress=True)
    else:
        if not content:
            raise click.UsageError("give CONTENT or --file")
        notes = [mem.add(content, user_id=user_id, agent_id=agent_id, session_id=session_id,
                         metadata=_meta(meta) or None, supersedes=supersedes)]
    if as_json:
        click.echo(json.dumps([_note_dict(n) for n in notes], indent=2))
    else:
        for n in notes:
            click.echo(f"{n.id}  {n.content[:80]}")


@cli.command()
@click.argument("query")
@click.option("-k", default=5, show_default=True, help="how many hits")
@click.option("--user", "user_id", default=None)
@click.option("--agent", "agent_id", default=None)
@click.option("--session", "session_id", default=None)
@click.option("--filter", "filters", multiple=True, help="metadata KEY=VALUE (or KEY='{\"$gte\": 3}')")
@click.option("--history", "include_superseded", is_flag=True, help="include superseded notes")
@click.option("--json", "as_json", is_flag=True, help="print hits as JSON")
@click.pass_context
def search(ctx: click.Context, query: str, k: int, user_id: str | None, agent_id: str | None,
           session_id: str | None, filters: tuple[str, ...], include_superseded: bool, as_json: bool) -> None:
    """Hybrid search (dense + BM25 + graph + recency)."""
    mem = _open(ctx)
    hits = mem.search(query, k=k, user_id=user_id, agent_id=agent_id, session_id=session_id,
                      filters=_meta(filters, "--filter") or None, include_superseded=include_superseded)
    if as_json:
        click.echo(json.dumps([h.model_dump(mode="json") for h in hits], indent=2))
        return
    from rich.table import Table

    table = Table(title=f"{len(hits)} hits for {query!r}", title_justify="left")
    for col, just in (("#", "right"), ("score", "right"), ("id", "left"), ("note", "left"),
                      ("dense", "right"), ("lexical", "right"), ("graph", "right")):
        table.add_column(col, justify=just)  # type: ignore[arg-type]
    for i, h in enumerate(hits, start=1):
        s = h.scores
        table.add_row(str(i), f"{h.score:.4f}", h.note.id[-12:], h.note.content[:90],
                      _fmt(s.dense), _fmt(s.lexical), _fmt(s.graph))
    _console().print(table)


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def _print_note(note: Any) -> None:
    from rich.table import Table

    t = Table(show_header=False, box=None)
    for key, value in _note_dict(note).items():
        t.add_row(f"[bold]{key}[/]", json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value)
    _console().print(t)


@cli.command()
@click.argument("note_id")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def show(ctx: click.Context, note_id: str, as_json: bool) -> None:
    """Show one note."""
    note = _open(ctx).get(note_id)
    if as_json:
        click.echo(json.dumps(_note_dict(note), indent=2))
    else:
        _print_note(note)


@cli.command()
@click.argument("note_id")
@click.option("--depth", default=1, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def related(ctx: click.Context, note_id: str, depth: int, as_json: bool) -> None:
    """Notes linked to NOTE_ID, through the graph."""
    notes = _open(ctx).related(note_id, depth=depth)
    if as_json:
        click.echo(json.dumps([_note_dict(n) for n in notes], indent=2))
        return
    for n in notes:
        click.echo(f"{n.id}  {n.content[:90]}")


@cli.command()
@click.argument("note_id")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def history(ctx: click.Context, note_id: str, as_json: bool) -> None:
    """Every change to a note, oldest first."""
    events = _open(ctx).history(note_id)
    if as_json:
        click.echo(json.dumps([e.model_dump(mode="json") for e in events], indent=2))
        return
    from rich.table import Table

    t = Table(title=f"history of {note_id}", title_justify="left")
    for col in ("event", "at", "actor", "change", "undone"):
        t.add_column(col)
    for e in events:
        change = json.dumps(e.after if e.before is None or e.event == "add" else {"before": e.before, "after": e.after},
                            ensure_ascii=False)
        t.add_row(f"{e.id} {e.event}", e.at.isoformat(timespec="seconds"), e.actor, change[:120],
                  "yes" if e.undone else "")
    _console().print(t)


@cli.command()
@click.argument("event_id", type=int)
@click.pass_context
def undo(ctx: click.Context, event_id: int) -> None:
    """Revert one history event (by its number, see `memkit history`)."""
    ev = _open(ctx).undo(event_id)
    click.echo(f"undid event {ev.id} ({ev.event}) of note {ev.note_id}")


@cli.command()
@click.argument("note_id")
@click.pass_context
def delete(ctx: click.Context, note_id: str) -> None:
    """Delete a note (its history stays; `memkit undo` restores it)."""
    _open(ctx).delete(note_id)
    click.echo(f"deleted {note_id}")


@cli.command("export")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def export_cmd(ctx: click.Context, path: Path) -> None:
    """Export every note and link as JSON lines."""
    n = _open(ctx).export(path)
    click.echo(f"exported {n} notes to {path}")


@cli.command("import")
@click.argument("path", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.pass_context
def import_cmd(ctx: click.Context, path: Path) -> None:
    """Import an export (notes already present are skipped)."""
    n = _open(ctx).import_(path, progress=True)
    click.echo(f"imported {n} notes from {path}")


@cli.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def stats(ctx: click.Context, as_json: bool) -> None:
    """Counts and sizes of the store."""
    s = _open(ctx).stats()
    if as_json:
        click.echo(s.model_dump_json(indent=2))
        return
    from rich.table import Table

    t = Table(show_header=False, box=None)
    for k, v in s.model_dump().items():
        t.add_row(f"[bold]{k}[/]", str(v))
    _console().print(t)


@cli.command()
@click.pass_context
def reindex(ctx: click.Context) -> None:
    """Rebuild the vector index from SQLite."""
    n = _open(ctx).reindex(progress=True)
    click.echo(f"reindexed {n} vectors")


@cli.command()
@click.option("--store", "demo_store", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="folder for the demo's own store, wiped first: its default, one it made, or an empty one "
              "(default: ~/.memkit/demo)")
def demo(demo_store: Path | None) -> None:
    """Write a few dozen notes, show links and evolution, reopen from disk and search."""
    from memkit.demo import default_demo_store, run_demo

    run_demo(demo_store or default_demo_store(), _console())


def _add_optional(name: str, target: str) -> None:
    """Sub-command groups that live in their own modules (edit, bench)."""
    from memkit.registry import load_target

    try:
        command: Callable[..., Any] = load_target(target)
    except (ImportError, AttributeError):
        return
    cli.add_command(command, name)  # type: ignore[arg-type]


_add_optional("edit", "memkit.cli.edit:edit")
_add_optional("bench", "memkit.cli.bench:bench")


def main() -> None:
    cli(obj={}, prog_name="memkit")


if __name__ == "__main__":
    sys.exit(main())
