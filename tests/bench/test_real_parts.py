"""Every task through the real parts: the default Memory (bundled all-MiniLM-L6-v2, Chroma, SQLite) and the
bundled SmolLM2-135M-Instruct reader, on a few items each."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from memkit.bench.readers import shared_hf_reader
from memkit.bench.records import Passage, Query
from memkit.bench.runner import read_items, run_task
from memkit.bench.tasks.dynamicqa_synth import write_synthetic_dynamicqa
from memkit.cli.bench import bench

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """One torch thread: a 135M model decodes faster that way, and far faster on a busy machine."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _rows(out, system):
    return [r for rec in read_items(out) if rec.system == system for r in rec.results]


def test_hf_reader_is_deterministic_and_shares_prompt_prefixes():
    reader = shared_hf_reader()
    ctx = [Passage(id="p", text="The lighthouse keeper of Velm is called Ada Quist. " * 6)]
    qs = [Query(id=f"q{i}", mode="choose", prompt=f"Who keeps the lighthouse? ({i})", answer_prefix="Answer:",
                options=[" Ada", " Bo"]) for i in range(2)]
    one = reader.read([(q, ctx) for q in qs])
    alone = reader.read([(qs[1], ctx)])  # no shared prefix to reuse: the same numbers
    assert one[1].option_logprobs == pytest.approx(alone[0].option_logprobs, abs=1e-4)
    assert one[0].choice == 0  # the context names Ada
    gen = Query(id="g", mode="generate", prompt="Name a colour.", n_samples=3, temperature=1.0, seed=5,
                max_new_tokens=6, want_distributions=True)
    a, b = reader.read([(gen, [])])[0], reader.read([(gen, [])])[0]
    assert a.texts == b.texts and a.distributions.shape[0] == 3
    assert a.distributions.sum(axis=1) == pytest.approx([1.0, 1.0, 1.0], abs=1e-3)


def test_sort_real(tmp_path, data_dir):
    out = tmp_path / "sort"
    _, man = run_task("sort", ["base", "oracle", "retrieval", "retrieval:reader=none"], limit=2, seed=0, out=out,
                      params={"excerpt_lengths": [250]}, progress=False)
    m = man.summary.metrics
    for system in m:
        assert m[system]["correct"].n == 4
    assert m["retrieval:reader=none"]["correct"].mean == 1.0  # the real memory finds both segments' positions
    assert m["retrieval"]["recall_hit"].mean == 1.0
    oracle_answers = [a for rec in read_items(out) if rec.system == "oracle" for a in rec.answers]
    assert all(len(a.passages) == 1 and len(a.passages[0].text.split()) > 200 for a in oracle_answers)
    retrieved = [a for rec in read_items(out) if rec.system == "retrieval" for a in rec.answers]
    positions = [[p.metadata["position"] for p in a.passages] for a in retrieved]
    assert all(ps == sorted(ps) and ps for ps in positions)  # notes come back in text order


def test_dynamicqa_real(tmp_path):
    files = write_synthetic_dynamicqa(tmp_path / "dqa", n=2, seed=0)
    out = tmp_path / "run"
    _, man = run_task("dynamicqa", ["oracle", "retrieval", "retrieval:reader=none"], limit=2, seed=0, out=out,
                      data=str(files), params={"n_samples": 2, "partitions": ["static", "disputable"]},
                      progress=False)
    m = man.summary.metrics
    assert m["retrieval:reader=none"]["current"].mean == 1.0  # the superseding note is what comes back
    assert m["retrieval:reader=none"]["history_kept"].mean == 1.0  # and the old one is still there
    assert m["retrieval:reader=none"]["history_answer"].mean == 1.0
    for system in ("oracle", "retrieval"):
        assert m[system]["cp_score"].n == 2 and m[system]["cp_score"].mean >= 0.0
        assert m[system]["current"].n == 2


def test_conflictqa_real(tmp_path, data_dir):
    out = tmp_path / "run"
    _, man = run_task("conflictqa", ["base", "retrieval"], limit=2, seed=1, out=out,
                      params={"multi_source": False}, progress=False)
    base = man.summary.metrics["base"]
    assert base["memorization_ratio"].n == 0 or base["memorization_ratio"].mean == 1.0  # no evidence, no change
    for rec in read_items(out):
        if rec.system != "retrieval":
            continue
        for a in rec.answers:
            cond = a.query_id.rsplit("/", 1)[1]
            expect = {"elicit": 0, "only_m": 1, "only_c": 1, "both_mc": 2, "both_cm": 2}[cond]
            assert len(a.passages) == expect  # the evidence came back from the memory's notes
        both = {a.query_id.rsplit("/", 1)[1]: a for a in rec.answers}
        assert [p.text for p in both["both_mc"].passages] == [p.text for p in reversed(both["both_cm"].passages)]


def test_rrr_real(tmp_path):
    out = tmp_path / "run"
    _, man = run_task("rrr", ["retrieval:reader=none", "retrieval"], limit=2, seed=0, out=out,
                      params={"rounds": 1}, progress=False)
    free = man.summary.metrics["retrieval:reader=none"]
    assert free["recognition_first"].mean == 1.0 and free["recall_first"].mean == 1.0
    lm = man.summary.metrics["retrieval"]
    assert lm["recognition"].n == 2 * 3 * 2 and 0.0 <= lm["recall"].mean <= 1.0
    assert {f.id for f in man.summary.figures} >= {"recognition_retention", "recall_retention"}


def test_locality_real(tmp_path):
    out = tmp_path / "run"
    _, man = run_task("locality", ["base", "retrieval"], limit=4, seed=0, out=out,
                      params={"n_writes": 2, "batches": 1}, progress=False)
    m = man.summary.metrics
    assert m["base"]["locality"].mean == 1.0 and m["base"]["locality"].n == 4  # nothing written reaches it
    assert 0.0 <= m["retrieval"]["locality"].mean <= 1.0
    assert m["retrieval"]["reliability"].n == 2


def test_cli_run_and_report_real(tmp_path):
    out = tmp_path / "run"
    runner = CliRunner()
    result = runner.invoke(bench, ["run", "locality", "-s", "base", "-s", "oracle", "-n", "2", "-p", "n_writes=1",
                                   "-p", "batches=1", "--out", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "locality" in result.output and (out / "report.html").is_file()
    result = runner.invoke(bench, ["report", str(out / "run.json")])
    assert result.exit_code == 0 and "report:" in result.output


def test_parametric_wise_real(tmp_path):
    """A parametric back end (helper's WISE on SmolLM2) as a system: writes become edits."""
    out = tmp_path / "run"
    _, man = run_task("locality", ["base", "parametric:backend=wise"], limit=3, seed=0, out=out,
                      params={"n_writes": 2, "batches": 1}, progress=False)
    m = man.summary.metrics
    wise = m["parametric:backend=wise"]
    assert wise["reliability"].n == 2 and wise["locality"].n == 3
    assert wise["reliability"].mean > m["base"]["reliability"].mean  # the edits took
    desc = man.systems["parametric:backend=wise"].description
    assert desc["kind"] == "parametric"
