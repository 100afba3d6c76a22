"""``memkit bench``: list tasks, run one on systems under test, report a run.

Each command parses, makes one call into :mod:`memkit.bench` and prints.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from memkit.cli.group import MemkitGroup

__all__ = ["bench"]


def _console() -> Any:
    import sys

    from rich.console import Console

    return Console() if sys.stdout.isatty() else Console(width=150)  # logs and pipes get whole tables


def _params(pairs: tuple[str, ...]) -> dict[str, Any]:
    from memkit.config import parse_assignment

    out: dict[str, Any] = {}
    for pair in pairs:
        try:
            key, value = parse_assignment(pair)
        except ValueError:
            raise click.BadParameter(f"{pair!r}: expected KEY=VALUE", param_hint="--param") from None
        out[key] = value
    return out


@click.group("bench", cls=MemkitGroup)
def bench() -> None:
    """Benchmark any memory: SORT, DynamicQA, knowledge conflicts, recognition/recall/retention, locality, real chats."""


@bench.command("list")
def list_tasks() -> None:
    """List the registered tasks with their versions and default systems."""
    from rich.table import Table

    from memkit.registry import bench_tasks

    table = Table(title="memkit bench tasks")
    table.add_column("task", no_wrap=True)
    table.add_column("v", no_wrap=True)
    table.add_column("limit", no_wrap=True, justify="right")
    table.add_column("LLM-free", no_wrap=True)
    table.add_column("data", no_wrap=True)
    table.add_column("what (default systems)")
    for name in bench_tasks.names():
        spec = bench_tasks.get(name).spec
        table.add_row(name, str(spec.version), str(spec.default_limit), "yes" if spec.llm_free else "no",
                      spec.data_subdir or "generated", f"{spec.title} ({', '.join(spec.default_systems)})")
    _console().print(table)


@bench.command("run")
@click.argument("task")
@click.option("--system", "-s", "systems", multiple=True,
              help="KIND[:key=value,...]: base, oracle, retrieval, retrieval:reader=none, "
              "retrieval:reader=litellm:MODEL, parametric:backend=wise (repeatable; default: the task's)")
@click.option("--limit", "-n", type=int, default=None, help="number of items (default: the task's)")
@click.option("--seed", type=int, default=0, show_default=True, help="seed of item choice, orders and sampling")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="run folder (default: runs/TASK-seedS-nN); rerunning the same command resumes it")
@click.option("--data", default=None, help="the data set's folder or URL (default: $MEMKIT_DATA_DIR/..)")
@click.option("--param", "-p", "params", multiple=True, help="task parameter KEY=VALUE (JSON values allowed)")
@click.option("--threads", type=int, default=1, show_default=True,
              help="torch threads for local models (one is fastest for a small model decoding token by token)")
@click.option("--progress/--no-progress", default=True, show_default=True)
def run(task: str, systems: tuple[str, ...], limit: int | None, seed: int, out: Path | None, data: str | None,
        params: tuple[str, ...], threads: int, progress: bool) -> None:
    """Run TASK on the systems; write run.json, items.jsonl and report.html."""
    from memkit.bench.report import print_report, write_html
    from memkit.bench.runner import run_task

    path, manifest = run_task(task, list(systems) or None, limit=limit, seed=seed, out=out, params=_params(params),
                              data=data, progress=progress, threads=threads)
    print_report(manifest, _console())
    html = write_html(manifest, path.parent)
    click.echo(f"run: {path}\nitems: {path.parent / manifest.items_file}\nreport: {html}")


@bench.command("make-data")
@click.argument("task", type=click.Choice(["dynamicqa"]))
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--rows", "-n", type=int, default=8, show_default=True, help="rows per file")
@click.option("--seed", type=int, default=0, show_default=True)
def make_data(task: str, folder: Path, rows: int, seed: int) -> None:
    """Write synthetic files in TASK's released format into FOLDER (for trying the task without its data)."""
    from memkit.bench.tasks.dynamicqa_synth import write_synthetic_dynamicqa

    click.echo(f"wrote {write_synthetic_dynamicqa(folder, n=rows, seed=seed)} (synthetic; invented entities)")


@bench.command("report")
@click.argument("run_json", type=click.Path(exists=True, path_type=Path))
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="where to write the HTML report (default: next to run.json)")
@click.option("--json", "as_json", is_flag=True, help="print the summary as JSON instead of tables")
def report(run_json: Path, html_path: Path | None, as_json: bool) -> None:
    """Print the tables of RUN_JSON and write its self-contained HTML report."""
    from memkit.bench.report import report_run

    if as_json:
        import io

        from rich.console import Console

        manifest, html = report_run(run_json, html_path=html_path, console=Console(file=io.StringIO()))
        click.echo(manifest.summary.model_dump_json(indent=2) if manifest.summary else "null")
        return
    manifest, html = report_run(run_json, html_path=html_path, console=_console())
    click.echo(f"report: {html}")
