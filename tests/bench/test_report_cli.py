"""Reports (terminal tables, self-contained HTML with plots) and the ``memkit bench`` commands."""

from __future__ import annotations

import base64
import json
import re

import pytest
from click.testing import CliRunner

from memkit.bench.report import figure_png, report_run
from memkit.bench.runner import run_task
from memkit.bench.task import FigureData, Point
from memkit.bench.tasks.rrr import RecognitionRecallRetentionTask
from memkit.cli.bench import bench

from .conftest import ScriptedSystem, choice_answer, factory, random_answer, text_answer


@pytest.fixture
def finished_run(tmp_path):
    systems = {
        "oracle": ScriptedSystem("oracle", lambda q: choice_answer(q, 0) if q.mode == "choose" else text_answer(q, "x")),
        "base": ScriptedSystem("base", lambda q: random_answer(q)),
    }
    path, _ = run_task(RecognitionRecallRetentionTask({"rounds": 2}), ["oracle", "base"], limit=4, seed=0,
                       out=tmp_path / "run", progress=False, system_factory=factory(systems))
    return path


def test_html_report_is_self_contained_with_every_figure(finished_run):
    from io import StringIO

    from rich.console import Console

    buf = StringIO()
    manifest, html_path = report_run(finished_run, console=Console(file=buf, width=200))
    html = html_path.read_text()
    images = re.findall(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", html)
    assert len(images) == len(manifest.summary.figures) == 3
    assert all(base64.b64decode(img)[:8] == b"\x89PNG\r\n\x1a\n" for img in images)
    assert "Recognition retention" in html and "items.jsonl" in html and "rrr/r2/3/recall" in html
    assert "http" not in html.replace("http-equiv", "")  # nothing fetched from elsewhere
    assert "recognition" in buf.getvalue() and "oracle" in buf.getvalue()


def test_figures_render_bars_and_lines():
    fig = FigureData(id="f", title="t", kind="bar", x_label="x", y_label="y", source="s", chance=0.5,
                     series={"a": [Point(x="p", y=0.4, n=3, lo=0.1, hi=0.8), Point(x="q", y=0.9, n=3)],
                             "b": [Point(x="q", y=0.2, n=2)]})
    assert figure_png(fig)[:4] == b"\x89PNG"
    line = fig.model_copy(update={"kind": "line", "series": {"a": [Point(x=0, y=0.5, n=1), Point(x=2, y=0.7, n=1)]}})
    assert figure_png(line)[:4] == b"\x89PNG"


def test_cli_list_shows_every_task():
    result = CliRunner().invoke(bench, ["list"])
    assert result.exit_code == 0, result.output
    for name in ("sort", "dynamicqa", "conflictqa", "rrr", "locality"):
        assert name in result.output


def test_cli_report_prints_tables_and_json(finished_run, tmp_path):
    runner = CliRunner()
    result = runner.invoke(bench, ["report", str(finished_run), "--html", str(tmp_path / "r.html")])
    assert result.exit_code == 0, result.output
    assert "recognition" in result.output and (tmp_path / "r.html").is_file()
    result = runner.invoke(bench, ["report", str(finished_run), "--json"])
    assert result.exit_code == 0, result.output
    assert set(json.loads(result.output)["metrics"]) == {"oracle", "base"}


def test_cli_errors_are_one_line_with_exit_codes(tmp_path):
    runner = CliRunner()
    result = runner.invoke(bench, ["run", "sortt", "--out", str(tmp_path / "x")])
    assert result.exit_code == 4 and "did you mean 'sort'" in result.output
    result = runner.invoke(bench, ["run", "rrr", "-s", "magic", "--out", str(tmp_path / "y")])
    assert result.exit_code == 4 and "kinds: base" in result.output
    result = runner.invoke(bench, ["run", "rrr", "-p", "rounds", "--out", str(tmp_path / "z")])
    assert result.exit_code == 2 and "KEY=VALUE" in result.output
    result = runner.invoke(bench, ["run", "rrr", "-p", "rounds=-1", "--out", str(tmp_path / "w")])
    assert result.exit_code == 4 and "bad parameters for task 'rrr'" in result.output


def test_every_command_has_help():
    runner = CliRunner()
    for cmd in (["--help"], ["list", "--help"], ["run", "--help"], ["report", "--help"]):
        result = runner.invoke(bench, cmd)
        assert result.exit_code == 0 and "Usage" in result.output


def test_cli_run_resumes_on_the_real_llm_free_memory(tmp_path, monkeypatch):
    """``bench run`` end to end with a real retrieval memory (no language model needed)."""
    cfg = tmp_path / "fast.toml"
    cfg.write_text('[embedder]\nkind = "hash"\nmodel = "hash"\n\n[index]\nkind = "exact"\n')
    out = tmp_path / "run"
    args = ["run", "rrr", "-s", f"retrieval:reader=none,config={cfg}", "-n", "3", "-p", "rounds=1", "--out", str(out),
            "--no-progress"]
    result = CliRunner().invoke(bench, args)
    assert result.exit_code == 0, result.output
    assert (out / "report.html").is_file() and (out / "items.jsonl").is_file()
    lines = (out / "items.jsonl").read_text().splitlines()
    assert len(lines) == 2
    again = CliRunner().invoke(bench, args)
    assert again.exit_code == 0 and len((out / "items.jsonl").read_text().splitlines()) == 2
