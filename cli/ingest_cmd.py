"""``memkit ingest`` (files, folders, Obsidian vaults, chat exports) and the vault export of ``memkit export``."""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import click

from memkit.cli.render import plural, visible

__all__ = ["ingest", "export_vault", "print_report"]


def print_report(report: Any, as_json: bool = False) -> None:
    if as_json:
        click.echo(report.model_dump_json(indent=2))
        return
    click.echo(f"{plural(report.ingested, 'file')} ingested ({plural(report.notes_added, 'note')} added, "
               f"{report.notes_closed} old superseded), {report.unchanged} unchanged, {report.removed} removed, "
               f"{plural(report.links, 'link')}; {len(report.skipped)} skipped, {len(report.failed)} failed")
    for issue in report.failed:
        click.echo(f"failed: {visible(issue.path)}: {visible(issue.reason)}", err=True)
    for issue in report.warnings:
        click.echo(f"warning: {visible(issue.path)}: {visible(issue.reason)}", err=True)
    by_reason = Counter(i.reason for i in report.skipped)
    for reason, n in by_reason.most_common():
        examples = [i.path for i in report.skipped if i.reason == reason][:3]
        more = f" and {n - len(examples)} more" if n > len(examples) else ""
        click.echo(f"skipped {plural(n, 'file')} ({visible(reason)}): "
                   f"{', '.join(visible(e) for e in examples)}{more}", err=True)


def _through_daemon(client: Any, path: Path, user_id: str | None, agent_id: str | None, watch: bool,
                    interval: float, as_json: bool) -> None:
    from memkit.progress import progress_bar

    job = client.add_source(path, user_id=user_id, agent_id=agent_id, watch=watch, interval=interval)
    if watch:
        click.echo(f"the daemon now watches {visible(job.path)} (source {job.id}); `memkit serve --stop` ends it")
        return
    with progress_bar("ingesting files (daemon)", None, not as_json) as bar:
        while job.status == "running":
            time.sleep(0.25)
            job = client.source(job.id)
            bar.update(total=job.total or None, completed=job.done)
    if job.status == "failed":
        raise click.ClickException(job.error or "the daemon's ingest failed")
    print_report(job.report, as_json)


@click.command()
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--user", "user_id", default=None, help="the user the notes belong to")
@click.option("--agent", "agent_id", default=None, help="the agent the notes belong to")
@click.option("--watch", is_flag=True, help="keep ingesting new and changed files (with a running daemon, the "
              "daemon watches; else until Ctrl-C)")
@click.option("--interval", type=click.FloatRange(5.0), default=300.0, show_default=True,
              help="seconds between full rescans by hash while watching (watchers miss events)")
@click.option("--json", "as_json", is_flag=True, help="print the report as JSON")
@click.pass_context
def ingest(ctx: click.Context, path: Path, user_id: str | None, agent_id: str | None, watch: bool, interval: float,
           as_json: bool) -> None:
    """Ingest markdown and text files, an Obsidian vault, or chat transcripts (OpenAI-style messages, the
    ChatGPT or Claude export's conversations.json) from PATH.  Files are only read.  Running it again adds
    only what changed (a changed file supersedes its old notes); [[wikilinks]] become links."""
    from memkit.cli.main import _open
    from memkit.memory import Memory

    path = path.expanduser().resolve()
    mem = _open(ctx, create=True)
    if not isinstance(mem, Memory):  # a Client: the daemon owns the store, so the daemon reads the files
        _through_daemon(mem, path, user_id, agent_id, watch, interval, as_json)
        return
    from memkit.sources.ingester import Ingester

    ingester = Ingester(mem, mem.path, user_id=user_id, agent_id=agent_id)
    ctx.call_on_close(ingester.close)
    if watch:
        from memkit.sources.watch import watch as keep_watching

        click.echo(f"watching {visible(path)}; Ctrl-C stops", err=True)
        keep_watching(ingester, path, interval=interval, on_report=lambda r: print_report(r, as_json),
                      progress=not as_json)
        return
    print_report(ingester.run(path, progress=None if not as_json else False), as_json)


def export_vault(mem: Any, folder: Path, user_id: str | None) -> int:
    """``memkit export --obsidian``: the export of ``mem`` (a Memory or a Client) written as a vault."""
    from memkit.sources.obsidian import write_vault

    with tempfile.TemporaryDirectory(prefix="memkit-vault-") as tmp:
        dump = Path(tmp) / "export.jsonl"
        mem.export(dump, user_id=user_id)
        with dump.open(encoding="utf-8") as f:
            return write_vault(f, folder)
