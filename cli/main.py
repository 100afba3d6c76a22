"""The ``memkit`` command: thin over the SDK; each command parses, makes one call and prints."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click

from memkit.cli.backend import LOCATION
from memkit.cli.group import MemkitGroup
from memkit.cli.render import console as _console
from memkit.cli.render import plural, shorten, text, visible
from memkit.errors import InvalidInputError, StoreNotFoundError

__all__ = ["cli", "main"]

INTERRUPTED = 130  # the shell's code for a command ended by Ctrl-C


def _open(ctx: click.Context, create: bool = False) -> Any:
    """The memory of ``--store``: its daemon when one runs (``memkit serve``), else the store itself.  Only
    commands that write new notes (``add``, ``import``) create one, and say so on stderr; the others report a
    missing memory instead of leaving an empty one behind."""
    from memkit.cli.backend import open_memory

    store = ctx.obj["store"]
    try:
        mem = open_memory(store, config=_config(ctx), create=create)
    except StoreNotFoundError as exc:
        raise StoreNotFoundError(f"{exc}; `memkit add` creates one") from None
    ctx.call_on_close(mem.close)
    if mem.created:
        click.echo(f"created a new memory at {visible(getattr(mem, 'location', mem.path))}", err=True)
    return mem


def _config(ctx: click.Context) -> Any:
    path = ctx.obj.get("config")
    if path is None:
        return None
    from memkit.config import MemkitConfig

    return MemkitConfig.from_toml(path)


def _meta(pairs: tuple[str, ...], option: str = "--meta") -> dict[str, Any]:
    from memkit.config import parse_assignment

    out: dict[str, Any] = {}
    for p in pairs:
        try:
            k, v = parse_assignment(p)
        except ValueError:
            raise click.BadParameter(f"{p!r}: expected KEY=VALUE", param_hint=option) from None
        out[k] = v
    return out


def _note_dict(note: Any) -> dict[str, Any]:
    return note.model_dump(mode="json")


@click.group(cls=MemkitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--store", type=LOCATION, envvar="MEMKIT_HOME", default=None,
              help="memory folder, or a PostgreSQL URL (default: $MEMKIT_HOME or ~/.memkit/default)")
@click.option("--config", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="a TOML config file (default: the store's config.toml)")
@click.version_option(package_name="memkit")
@click.pass_context
def cli(ctx: click.Context, store: Path | str | None, config: Path | None) -> None:
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
@click.option("--supersedes", default=None, help="id (or unique id prefix) of a note this one replaces")
@click.option("--file", "file", type=click.File("rb"), default=None,
              help="add one note per line of this UTF-8 file ('-' for stdin); JSON lines are read as add() dicts. "
              "Lines already added by an earlier run are skipped, so rerunning an interrupted add finishes it")
@click.option("--json", "as_json", is_flag=True, help="print the notes as JSON")
@click.pass_context
def add(ctx: click.Context, content: str | None, user_id: str | None, agent_id: str | None, session_id: str | None,
        meta: tuple[str, ...], supersedes: str | None, file: Any, as_json: bool) -> None:
    """Add a note (or many, with --file)."""
    if (file is None) == (not content):
        raise click.UsageError("give CONTENT or --file (not both)")
    if file is not None and supersedes is not None:
        raise click.UsageError("--supersedes is for one note; in --file, give a JSON line a \"supersedes\" field")
    metadata = _meta(meta) or None
    if file is not None:
        notes = _add_file(ctx, file, {"user_id": user_id, "agent_id": agent_id, "session_id": session_id,
                                      "metadata": metadata})
    else:
        notes = [_open(ctx, create=True).add(content, user_id=user_id, agent_id=agent_id, session_id=session_id,
                                             metadata=metadata, supersedes=supersedes)]
    if as_json:
        click.echo(json.dumps([_note_dict(n) for n in notes], indent=2))
    else:
        for n in notes:
            click.echo(f"{visible(n.id)}  {shorten(n.content, 80)}")


def _add_file(ctx: click.Context, file: Any, defaults: dict[str, Any]) -> list[Any]:
    from memkit.cli.adding import locate, read_lines

    name = getattr(file, "name", None)
    name = name if isinstance(name, str) else "<stdin>"
    lines = read_lines(file, name, defaults)
    if not lines:
        click.echo(f"no notes in {visible(name)}: it has no non-blank lines", err=True)
        return []
    mem = _open(ctx, create=True)
    present = mem.existing([ln.id for ln in lines])
    todo = [ln for ln in lines if ln.id not in present]
    try:
        notes = mem.add_many([ln.item for ln in todo], **defaults, progress=True)
    except InvalidInputError as exc:
        raise InvalidInputError(locate(str(exc), todo, name)) from None
    except KeyboardInterrupt:
        done = len(mem.existing([ln.id for ln in todo]))
        click.echo(f"interrupted: {done} of {len(todo)} notes were added and are kept"
                   f"{f' ({len(present)} were already present)' if present else ''}; run the same command again "
                   "to add the rest", err=True)
        ctx.exit(INTERRUPTED)
    click.echo(f"{len(notes)} added, {len(present)} already present", err=True)
    return notes


def _as_of(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r}: expected an ISO 8601 date or time, e.g. 2024-05-01, "
                                 "2024-05-01T12:00 or 2024-05-01T12:00+02:00") from None
    return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)


@cli.command()
@click.argument("query")
@click.option("-k", default=5, show_default=True, help="how many hits")
@click.option("--user", "user_id", default=None)
@click.option("--agent", "agent_id", default=None)
@click.option("--session", "session_id", default=None)
@click.option("--filter", "filters", multiple=True, help="metadata KEY=VALUE (or KEY='{\"$gte\": 3}')")
@click.option("--history", "include_superseded", is_flag=True, help="include superseded notes")
@click.option("--as-of", "as_of", callback=_as_of, metavar="DATETIME",
              help="the notes that were valid at this time (ISO 8601; a time without a zone is read as UTC)")
@click.option("--json", "as_json", is_flag=True, help="print hits as JSON")
@click.pass_context
def search(ctx: click.Context, query: str, k: int, user_id: str | None, agent_id: str | None,
           session_id: str | None, filters: tuple[str, ...], include_superseded: bool, as_of: datetime | None,
           as_json: bool) -> None:
    """Hybrid search (meaning and words, fused; see README "Retrieval").  The ids shown are short: any unique prefix of an id
    works wherever an id is taken."""
    mem = _open(ctx)
    hits = mem.search(query, k=k, user_id=user_id, agent_id=agent_id, session_id=session_id,
                      filters=_meta(filters, "--filter") or None, include_superseded=include_superseded, as_of=as_of)
    if as_json:
        click.echo(json.dumps([h.model_dump(mode="json") for h in hits], indent=2))
        return
    title = f"{plural(len(hits), 'hit')} for '{visible(query)}'" + (f" as of {as_of.isoformat()}" if as_of else "")
    if not hits:
        click.echo(title)
        return
    from rich.table import Table

    short = mem.short_ids([h.note.id for h in hits])
    table = Table(title=text(title), title_justify="left")
    for col, just in (("#", "right"), ("score", "right"), ("id", "left"), ("note", "left"),
                      ("dense", "right"), ("lexical", "right"), ("graph", "right")):
        table.add_column(col, justify=just, no_wrap=col == "id")  # type: ignore[arg-type]
    for i, h in enumerate(hits, start=1):
        s = h.scores
        table.add_row(str(i), f"{h.score:.4f}", text(short[h.note.id]), text(shorten(h.note.content, 90)),
                      _fmt(s.dense), _fmt(s.lexical), _fmt(s.graph))
    _console().print(table)


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def _print_note(note: Any) -> None:
    from rich.table import Table

    t = Table(show_header=False, box=None)
    for key, value in _note_dict(note).items():
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        t.add_row(text(key, "bold"), text(shown, newlines=isinstance(value, str)))
    _console().print(t)


@cli.command()
@click.argument("note_id")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def show(ctx: click.Context, note_id: str, as_json: bool) -> None:
    """Show one note (NOTE_ID: an id, or any unique prefix of one)."""
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
    mem = _open(ctx)
    note_id = mem.resolve_id(note_id)
    notes = mem.related(note_id, depth=depth)
    if as_json:
        click.echo(json.dumps([_note_dict(n) for n in notes], indent=2))
        return
    if not notes:
        click.echo(f"no notes linked to {visible(note_id)}" + (f" within {depth} hops" if depth > 1 else ""))
    for n in notes:
        click.echo(f"{visible(n.id)}  {shorten(n.content, 90)}")


@cli.command()
@click.argument("note_id")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def history(ctx: click.Context, note_id: str, as_json: bool) -> None:
    """Every change to a note, oldest first (also of a deleted note)."""
    mem = _open(ctx)
    note_id = mem.resolve_id(note_id, deleted=True)
    events = mem.history(note_id)
    if as_json:
        click.echo(json.dumps([e.model_dump(mode="json") for e in events], indent=2))
        return
    from rich.table import Table

    t = Table(title=text(f"history of {note_id}"), title_justify="left")
    for col in ("event", "at", "actor", "change", "undone"):
        t.add_column(col)
    for e in events:
        change = json.dumps(e.after if e.before is None or e.event == "add" else {"before": e.before, "after": e.after},
                            ensure_ascii=False)
        t.add_row(text(f"{e.id} {e.event}"), e.at.isoformat(timespec="seconds"), text(e.actor),
                  text(shorten(change, 120)), "yes" if e.undone else "")
    _console().print(t)


@cli.command()
@click.argument("event_id", type=int)
@click.pass_context
def undo(ctx: click.Context, event_id: int) -> None:
    """Revert one history event (by its number, see `memkit history`)."""
    ev = _open(ctx).undo(event_id)
    click.echo(f"undid event {ev.id} ({ev.event}) of note {visible(ev.note_id)}")


@cli.command()
@click.argument("note_id")
@click.pass_context
def delete(ctx: click.Context, note_id: str) -> None:
    """Delete a note (its history stays; `memkit undo` restores it)."""
    mem = _open(ctx)
    note_id = mem.resolve_id(note_id)
    mem.delete(note_id)
    click.echo(f"deleted {visible(note_id)}")


@cli.command()
@click.argument("note_id")
@click.option("--content", default=None,
              help="new content (keywords, context and, without --tag, tags are derived from it again)")
@click.option("--tag", "tags", multiple=True,
              help="set the tags: repeat for several; they replace the note's tags (--tag '' clears them)")
@click.option("--meta", multiple=True,
              help="set metadata KEY=VALUE, merged into the note's metadata (VALUE parsed as JSON when it can be)")
@click.option("--json", "as_json", is_flag=True, help="print the updated note as JSON")
@click.pass_context
def update(ctx: click.Context, note_id: str, content: str | None, tags: tuple[str, ...], meta: tuple[str, ...],
           as_json: bool) -> None:
    """Change a note's content, tags or metadata (a history event keeps the old values; `memkit undo` reverts)."""
    if content is None and not tags and not meta:
        raise click.UsageError("give --content, --tag or --meta")
    mem = _open(ctx)
    changes: dict[str, Any] = {}
    if content is not None:
        changes["content"] = content
    if tags:
        changes["tags"] = list(tags)
    if meta:
        note = mem.get(note_id)
        note_id, changes["metadata"] = note.id, {**note.metadata, **_meta(meta)}
    note = mem.update(note_id, **changes)
    if as_json:
        click.echo(json.dumps(_note_dict(note), indent=2))
    else:
        click.echo(f"updated {visible(note.id)} (version {note.version})  {shorten(note.content, 80)}")


@cli.command("export")
@click.argument("path", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path), required=False)
@click.option("--user", "user_id", default=None, help="only this user's notes, and the links among them")
@click.option("--obsidian", "vault", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="write an Obsidian vault to this folder instead: one markdown file per note, [[id]] links")
@click.pass_context
def export_cmd(ctx: click.Context, path: Path | None, user_id: str | None, vault: Path | None) -> None:
    """Export the notes and links as JSON lines to PATH ('-' for stdout), or as an Obsidian vault."""
    if (path is None) == (vault is None):
        raise click.UsageError("give PATH or --obsidian DIR (not both)")
    mem = _open(ctx)
    if vault is not None:
        from memkit.cli.ingest_cmd import export_vault

        n = export_vault(mem, vault, user_id)
        click.echo(f"exported {plural(n, 'note')} as an Obsidian vault in {visible(vault)}")
    elif str(path) == "-":
        n = mem.export(sys.stdout, user_id=user_id)
        click.echo(f"exported {plural(n, 'note')}", err=True)
    else:
        n = mem.export(path, user_id=user_id)
        click.echo(f"exported {plural(n, 'note')} to {visible(path)}")


@cli.command("import")
@click.argument("path", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.pass_context
def import_cmd(ctx: click.Context, path: Path) -> None:
    """Import an export (notes already present are skipped, so rerunning an interrupted import finishes it)."""
    mem = _open(ctx, create=True)
    before = mem.stats().notes
    try:
        n = mem.import_(path, progress=True)
    except KeyboardInterrupt:
        done = mem.stats().notes - before
        click.echo(f"interrupted: {plural(done, 'note')} imported and kept; run the same command again to import "
                   "the rest (notes already present are skipped)", err=True)
        ctx.exit(INTERRUPTED)
    click.echo(f"imported {plural(n, 'note')} from {visible(path)}")


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
        t.add_row(text(k, "bold"), text(v))
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
_add_optional("serve", "memkit.cli.serve:serve")
_add_optional("mcp", "memkit.cli.serve:mcp")
_add_optional("token", "memkit.cli.serve:token")
_add_optional("ingest", "memkit.cli.ingest_cmd:ingest")
_add_optional("migrate", "memkit.cli.migrate_cmd:migrate")


def main() -> None:
    cli(obj={}, prog_name="memkit")


if __name__ == "__main__":
    sys.exit(main())
