"""The example scripts run, and the agent remembers across runs (separate processes)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO


def _run(script: str, *args: str) -> str:
    out = subprocess.run([sys.executable, str(REPO / "examples" / script), *args], capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_agent_loop_remembers_across_runs(tmp_path):
    store = str(tmp_path / "agent")
    first = _run("agent_loop.py", "--store", store, "I adopted a cat named Miso")
    assert "don't remember anything related yet" in first
    second = _run("agent_loop.py", "--store", store, "what is my cat called?")
    assert "I adopted a cat named Miso" in second


@pytest.mark.slow
def test_agent_llm_recalls_across_runs_and_replies_with_the_local_model(tmp_path):
    store = str(tmp_path / "agent")
    first = _run("agent_llm.py", "--store", store, "My sister Ines lives in Porto.")
    assert "(recalled)" not in first
    out = _run("agent_llm.py", "--store", store, "In which city does my sister Ines live?")
    lines = out.strip().splitlines()
    assert lines[1] == "  (recalled) My sister Ines lives in Porto."
    assert lines[2].strip(), "the model's reply follows the recalled facts"


@pytest.mark.slow
def test_agent_llm_builds_its_notes_with_the_local_model(tmp_path):
    """Issue 11: ``--llm-notes`` with local/smollm2 used to fall back on every note after three tries."""
    out = _run("agent_llm.py", "--store", str(tmp_path / "agent"), "--llm-notes", "My sister Ines lives in Porto.",
               "Ines just started a new job at a bakery in Porto.")
    noted = [line for line in out.splitlines() if line.startswith("  (noted by")]
    assert len(noted) == 2 and all(line.startswith("  (noted by local/smollm2) keywords: ") for line in noted), out
    assert "Porto" in noted[0]
