"""``memkit serve``, ``memkit mcp`` and ``memkit token``: the local daemon, its MCP bridge and its tokens."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from memkit.cli.group import MemkitGroup
from memkit.cli.render import console, text, visible

__all__ = ["serve", "mcp", "token"]


def _store(ctx: click.Context, folder: Path | None = None) -> tuple[Path, str | None]:
    """The daemon's folder and, for a memory in a database, its URL (``--folder``: that database's folder)."""
    from memkit.config import remote_folder, store_url

    given = ctx.find_root().obj["store"]
    url = store_url(given)
    if url is None:
        if folder is not None:
            raise click.UsageError("--folder is for a memory in a database (--store postgresql://...)")
        return Path(given).expanduser().resolve(), None
    return (folder or remote_folder(url)).expanduser().resolve(), url


@click.command()
@click.option("--port", type=click.IntRange(0, 65535), default=None,
              help="port to listen on (default 7319; 0: any free port)")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="address to bind; a non-loopback one needs --allow-remote")
@click.option("--allow-remote", is_flag=True,
              help="allow a non-loopback address and any Host header (tokens are still required; use TLS in front)")
@click.option("--max-body-mb", type=click.FloatRange(0.001), default=32.0, show_default=True,
              help="larger request bodies get 413")
@click.option("--daemon", "background", is_flag=True,
              help="run in the background (log: <store>/daemon.log, pid: <store>/daemon.pid) and return")
@click.option("--install", is_flag=True,
              help="write a systemd user unit (Linux) or a launchd agent (macOS) that runs it, and say how to enable it")
@click.option("--stop", is_flag=True, help="stop the store's running daemon (SIGTERM) and wait for it")
@click.option("--status", is_flag=True, help="say whether a daemon serves the store, and where")
@click.option("--log-level", type=click.Choice(["critical", "error", "warning", "info", "debug"]), default="info",
              show_default=True)
@click.option("--folder", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="for --store postgresql://...: where the daemon keeps its files (default: a folder per URL under "
                   "~/.memkit/remote)")
@click.pass_context
def serve(ctx: click.Context, port: int | None, host: str, allow_remote: bool, max_body_mb: float, background: bool,
          install: bool, stop: bool, status: bool, log_level: str, folder: Path | None) -> None:
    """Serve the store to local agents: REST under /v1 and MCP at /mcp, on 127.0.0.1, with bearer tokens.

    The daemon is the store's only writer; while it runs, the other memkit commands on the same store go
    through it.  The owner's token is made on first start in the config folder (see `memkit token`).  A memory
    in PostgreSQL (--store postgresql://...) is served too; its URL is never written to the daemon's files."""
    from pydantic import ValidationError

    from memkit.config import masked_url
    from memkit.server.settings import DEFAULT_PORT, ServeSettings

    store, url = _store(ctx, folder)
    shown = masked_url(url) if url is not None else visible(store)
    if sum((background, install, stop, status)) > 1:
        raise click.UsageError("give at most one of --daemon, --install, --stop, --status")
    if stop:
        from memkit.server.daemon import stop as stop_daemon

        info = stop_daemon(store)
        click.echo(f"stopped the daemon of {shown} (pid {info.pid})" if info else
                   f"no daemon is running for {shown}")
        return
    if status:
        from memkit.cli.backend import running_daemon

        info = running_daemon(store)
        if info is None:
            click.echo(f"no daemon is running for {shown}")
            ctx.exit(1)
        click.echo(f"serving {shown} at {info.url} (pid {info.pid}, version {info.version})")
        return
    port = DEFAULT_PORT if port is None else port
    try:
        settings = ServeSettings(store=store, url=url, host=host, port=port, allow_remote=allow_remote,
                                 max_body_bytes=int(max_body_mb * 1024 * 1024))
    except ValidationError as exc:
        raise click.BadParameter("; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors()),
                                 param_hint="--host") from None
    extra = [*(["--allow-remote"] if allow_remote else []), "--host", host, "--max-body-mb", str(max_body_mb),
             "--log-level", log_level]
    if install:
        from memkit.server.install import install_unit

        if url is not None:
            raise click.UsageError("--install writes the command line into a file; for a memory in a database, run "
                                   "`memkit serve --daemon` from your session (the URL stays in its environment)")
        path, how = install_unit(store, ["--port", str(port), *extra])
        click.echo(f"wrote {visible(path)}\n{how}")
        return
    if background:
        from memkit.server.runtime import LOG_FILE, start_daemon

        info = start_daemon(store, port=port, extra=extra, url=url)
        click.echo(f"memkit daemon serving {shown} at {info.url} (pid {info.pid}); log: "
                   f"{visible(store / LOG_FILE)}")
        return
    from memkit.server.daemon import serve as run

    run(settings, log_level=log_level)


@click.command("mcp")
@click.option("--no-start", is_flag=True, help="fail when no daemon runs, instead of starting one")
@click.pass_context
def mcp(ctx: click.Context, no_start: bool) -> None:
    """An MCP server on stdio for apps that launch one (Claude Desktop, editors): a thin client of the store's
    daemon (started in the background when needed), never a second writer."""
    from memkit.server.mcp_stdio import run_stdio

    store, url = _store(ctx)
    run_stdio(store, start=not no_start, url=url)


@click.group(cls=MemkitGroup)
def token() -> None:
    """Bearer tokens of the daemon: one per client, optionally limited to one user (and agent)."""


def _tokens() -> Any:
    from memkit.server.settings import config_dir
    from memkit.server.tokens import TokenStore

    return TokenStore(config_dir())


@token.command("create")
@click.argument("name")
@click.option("--user", "user_id", default=None, help="limit the token to this user's notes")
@click.option("--agent", "agent_id", default=None, help="limit the token to this agent's notes (of that user)")
def token_create(name: str, user_id: str | None, agent_id: str | None) -> None:
    """Make a token for client NAME and print it (once: only its hash is kept)."""
    raw = _tokens().create(name, user_id=user_id, agent_id=agent_id)
    scope = ", ".join(f"{k} {v!r}" for k, v in (("user", user_id), ("agent", agent_id)) if v) or "unrestricted"
    click.echo(raw)
    click.echo(f"token {visible(name)} ({visible(scope)}); shown once, keep it somewhere safe", err=True)


@token.command("list")
@click.option("--json", "as_json", is_flag=True)
def token_list(as_json: bool) -> None:
    """The tokens (names and scopes; never the tokens themselves)."""
    records = _tokens().list()
    if as_json:
        import json

        click.echo(json.dumps([r.model_dump(mode="json", exclude={"sha256"}) for r in records], indent=2))
        return
    from rich.table import Table

    t = Table()
    for col in ("name", "user", "agent", "created"):
        t.add_column(col)
    for r in records:
        t.add_row(text(r.name), text(r.user_id or "(any)"), text(r.agent_id or "(any)"),
                  r.created_at.isoformat(timespec="seconds"))
    console().print(t)


@token.command("revoke")
@click.argument("name")
def token_revoke(name: str) -> None:
    """Revoke the token of client NAME (a running daemon refuses it at once)."""
    _tokens().revoke(name)
    click.echo(f"revoked {visible(name)}")


@token.command("show")
def token_show() -> None:
    """Print the owner's unrestricted token (made if missing), e.g. for an MCP client's config."""
    click.echo(_tokens().ensure_default())
