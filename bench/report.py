"""Reports of a run: a rich terminal table and a self-contained HTML page with plots.

The HTML embeds every figure as a base64 PNG (matplotlib, Agg backend), shows the
tables, says for each figure which ``items.jsonl`` rows it aggregates, and lists the
scored rows themselves, so every number on the page traces back to items.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from pathlib import Path
from typing import Any

from memkit.bench.runner import MANIFEST, RunManifest, load_run, read_items
from memkit.bench.task import FigureData, Stat, Summary
from memkit.errors import BenchError, MissingDependencyError

__all__ = ["summary_tables", "print_report", "figure_png", "write_html", "report_run"]

_MAX_ROWS_HTML = 2000


def _fmt(stat: Stat | None, percent: bool) -> str:
    if stat is None or stat.mean is None or (isinstance(stat.mean, float) and math.isnan(stat.mean)):
        return "–"
    value = f"{stat.mean * 100:.1f}%" if percent else f"{stat.mean:.3f}"
    return f"{value} (n={stat.n})"


def _metric_specs(manifest: RunManifest) -> list[Any]:
    from memkit.registry import bench_tasks

    return list(bench_tasks.get(manifest.config.task).spec.metrics)


def summary_tables(manifest: RunManifest) -> list[Any]:
    """rich Tables: systems by metrics, then each breakdown."""
    from rich.table import Table

    summary = manifest.summary
    if summary is None:
        raise BenchError("the run has no summary yet (it did not finish); rerun it to resume")
    specs = _metric_specs(manifest)
    cfg = manifest.config
    title = f"{cfg.task} v{cfg.task_version} · seed {cfg.seed} · limit {cfg.limit}"
    main = Table(title=title)
    main.add_column("metric", no_wrap=True)
    systems = list(summary.metrics)
    for system in systems:
        main.add_column(system, justify="right")
    for m in specs:
        label = m.label + (f" (chance {m.chance:.0%})" if m.chance is not None else "")
        main.add_row(label, *[_fmt(summary.metrics[s].get(m.name), m.percent) for s in systems])
    main.add_row("wall seconds", *[f"{manifest.systems[s].wall_s:.0f}" if s in manifest.systems else "" for s in systems])
    tables = [main]
    for t in summary.tables:
        tab = Table(title=t.title)
        for c in t.columns:
            tab.add_column(str(c), justify="left" if c == t.columns[0] else "right")
        for row in t.rows:
            cells = [str(row[0])] + [
                "–" if v is None else (f"{v['mean']:.2f} (n={v['n']})" if isinstance(v, dict) else str(v))
                for v in row[1:]
            ]
            tab.add_row(*cells)
        tables.append(tab)
    return tables


def print_report(manifest: RunManifest, console: Any = None) -> None:
    from rich.console import Console

    console = console or Console()
    for table in summary_tables(manifest):
        console.print(table)
    for note in manifest.summary.notes if manifest.summary else []:
        console.print(f"[dim]{note}[/dim]")


def figure_png(fig: FigureData) -> bytes:
    """One figure as PNG bytes."""
    try:
        import matplotlib
    except ImportError as exc:
        raise MissingDependencyError("matplotlib", "bench", "plots in bench reports") from exc
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    xs = []
    for pts in fig.series.values():
        for p in pts:
            if p.x not in xs:
                xs.append(p.x)
    numeric = all(isinstance(x, (int, float)) for x in xs)
    xs = sorted(xs) if numeric else xs
    f, ax = plt.subplots(figsize=(9.0, 4.2), dpi=100)
    scale = 100.0 if fig.percent else 1.0
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    present = {x: [name for name, pts in fig.series.items() if any(p.x == x for p in pts)] for x in xs}
    width = 0.8 / max(1, max((len(v) for v in present.values()), default=1))
    for s_i, (name, pts) in enumerate(fig.series.items()):
        color = colors[s_i % len(colors)]
        ys = [(p.y or 0.0) * scale for p in pts]
        err = None
        if all(p.lo is not None and p.hi is not None for p in pts):
            err = [[max(0.0, (p.y - p.lo) * scale) for p in pts], [max(0.0, (p.hi - p.y) * scale) for p in pts]]
        if fig.kind == "bar":  # bars of the series present at each x, side by side
            offs = [xs.index(p.x) + (present[p.x].index(name) - (len(present[p.x]) - 1) / 2) * width for p in pts]
            ax.bar(offs, ys, width=width, label=name, yerr=err, capsize=2, color=color)
        else:
            xv = [p.x for p in pts] if numeric else [xs.index(p.x) for p in pts]
            ax.errorbar(xv, ys, yerr=err, marker="o", capsize=2, label=name, color=color)
    if fig.kind == "bar" or not numeric:
        ax.set_xticks(range(len(xs)))
        ax.set_xticklabels([str(x) for x in xs], rotation=20 if not numeric else 0)
    else:
        ax.set_xticks(xs)
    if fig.chance is not None:
        ax.axhline(fig.chance * scale, color="grey", linestyle="--", linewidth=1, label="chance")
    ax.set_xlabel(fig.x_label)
    ax.set_ylabel(fig.y_label + (" (%)" if fig.percent else ""))
    ax.set_title(fig.title)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(alpha=0.3)
    f.tight_layout()
    buf = io.BytesIO()
    f.savefig(buf, format="png")
    plt.close(f)
    return buf.getvalue()


def _table_html(columns: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:13px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
td:first-child,th:first-child{text-align:left}figure{margin:1.5em 0}figcaption{font-size:12px;color:#555}
code{background:#f4f4f4;padding:1px 4px}details{margin:1em 0}"""


def write_html(manifest: RunManifest, run_dir: Path, path: Path | None = None) -> Path:
    """Write the self-contained HTML report (default: ``<run dir>/report.html``)."""
    summary: Summary | None = manifest.summary
    if summary is None:
        raise BenchError("the run has no summary yet (it did not finish); rerun it to resume")
    specs = _metric_specs(manifest)
    cfg = manifest.config
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>memkit bench · {html.escape(cfg.task)}</title>",
             f"<style>{_CSS}</style></head><body>",
             f"<h1>memkit bench · {html.escape(cfg.task)} v{cfg.task_version}</h1>",
             f"<p>seed {cfg.seed} · limit {cfg.limit} · params <code>{html.escape(json.dumps(cfg.params))}</code>"
             f" · data <code>{html.escape(str(cfg.data))}</code> · memkit {html.escape(manifest.memkit_version)}"
             f" · updated {manifest.updated_at:%Y-%m-%d %H:%M} UTC</p>"]
    cols = ["system", *[m.label for m in specs], "wall s"]
    rows = [[s, *[_fmt(st.get(m.name), m.percent) for m in specs],
             f"{manifest.systems[s].wall_s:.0f}" if s in manifest.systems else ""]
            for s, st in summary.metrics.items()]
    parts.append("<h2>Summary</h2>" + _table_html(cols, rows))
    parts.append("<h2>Systems</h2>" + _table_html(
        ["system", "description"],
        [[n, json.dumps(s.description, default=str)] for n, s in manifest.systems.items()]))
    if summary.figures:
        parts.append("<h2>Figures</h2>")
    for fig in summary.figures:
        b64 = base64.b64encode(figure_png(fig)).decode()
        parts.append(f"<figure id='{html.escape(fig.id)}'><img alt='{html.escape(fig.title)}' "
                     f"src='data:image/png;base64,{b64}'/><figcaption>{html.escape(fig.title)}. "
                     f"Source: {html.escape(fig.source)}.</figcaption></figure>")
    for t in summary.tables:
        cells = [[r[0], *["–" if v is None else f"{v['mean']:.3f} (n={v['n']})" for v in r[1:]]] for r in t.rows]
        parts.append(f"<h3>{html.escape(t.title)}</h3>" + _table_html([str(c) for c in t.columns], cells))
    for note in summary.notes:
        parts.append(f"<p><em>{html.escape(note)}</em></p>")
    records = read_items(run_dir)
    item_rows = []
    for rec in records:
        for r in rec.results:
            item_rows.append([rec.system, r.id, json.dumps(r.tags), json.dumps(r.metrics), ", ".join(r.query_ids)])
    shown = item_rows[:_MAX_ROWS_HTML]
    parts.append(f"<details><summary>Scored rows ({len(item_rows)}; the first {len(shown)} shown; all are in "
                 f"<code>{html.escape(manifest.items_file)}</code> with the answers and passages)</summary>"
                 + _table_html(["system", "row id", "tags", "metrics", "answers"], shown) + "</details>")
    parts.append("</body></html>")
    path = path or run_dir / "report.html"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def report_run(run_path: str | Path, *, html_path: Path | None = None, console: Any = None,
               recompute: bool = True) -> tuple[RunManifest, Path]:
    """Print the tables of ``run.json`` and write its HTML report; the summary is recomputed from items."""
    run_path = Path(run_path)
    run_dir = run_path if run_path.is_dir() else run_path.parent
    manifest = load_run(run_dir / MANIFEST if run_path.is_dir() else run_path)
    if recompute:
        from memkit.bench.runner import make_task, summarize_run

        task = make_task(manifest.config.task, manifest.config.params, manifest.config.data)
        if task.spec.version == manifest.config.task_version:  # else keep the summary the run wrote
            manifest.summary = summarize_run(task, run_dir, manifest)
    print_report(manifest, console)
    return manifest, write_html(manifest, run_dir, html_path)
