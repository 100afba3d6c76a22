"""A CLI runner on a store in a temporary folder (real SQLite, Chroma and the bundled embedder)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from memkit.cli.main import cli


@pytest.fixture
def memkit(tmp_path):
    """``memkit(*args, input=, code=, store=)``: run a command in process; check its exit code."""
    runner = CliRunner(env={"COLUMNS": "200"})  # wide tables: a cell is not wrapped in the middle of a word

    def invoke(*args: str, input: str | bytes | None = None, code: int = 0, store=None):
        res = runner.invoke(cli, ["--store", str(store or tmp_path / "store"), *args], input=input,
                            catch_exceptions=False)
        assert res.exit_code == code, (res.stdout, res.stderr)
        return res

    return invoke
