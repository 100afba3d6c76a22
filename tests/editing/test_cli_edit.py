from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from memkit.cli.edit import edit

FAST = {"embedder": {"kind": "hash", "model": "hash"}, "index": {"kind": "exact"}}


@pytest.mark.parametrize("args", [[], ["query"], ["describe"]])
def test_every_command_has_help(args):
    result = CliRunner().invoke(edit, [*args, "--help"])
    assert result.exit_code == 0 and "Usage" in result.output


def test_out_is_required():
    result = CliRunner().invoke(edit, [])
    assert result.exit_code == 2 and "--out" in result.output


@pytest.fixture
def tiny_folder(tmp_path, tiny_llama, tiny_tokenizer):
    folder = tmp_path / "tiny-model"
    tiny_llama.save_pretrained(folder)
    tiny_tokenizer.save_pretrained(folder)
    return folder


def test_consolidate_a_store_then_query_and_describe(tmp_path, tiny_folder):
    pytest.importorskip("torch")
    from memkit import Memory

    with Memory(tmp_path / "store", FAST) as mem:
        mem.add("Alice moved to Lisbon.")
        mem.add("How are you?")
    out = tmp_path / "wise"
    runner = CliRunner()
    result = runner.invoke(edit, ["--backend", "wise", "--store", str(tmp_path / "store"), "--out", str(out),
                                  "--base-model", str(tiny_folder), "--device", "cpu", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output[result.output.index("{"):])
    assert report["written"] == 1 and len(report["skipped"]) == 1 and report["saved_to"] == str(out)
    result = runner.invoke(edit, ["query", str(out), "Alice moved to", "--max-new-tokens", "3", "--device", "cpu"])
    assert result.exit_code == 0 and result.output.startswith("Alice moved to -> ")
    result = runner.invoke(edit, ["describe", str(out)])
    assert result.exit_code == 0 and json.loads(result.output)["writes"] == 1


def test_edits_file_and_errors(tmp_path, tiny_folder):
    pytest.importorskip("torch")
    data = [{"prompt": "The capital of Atlantis is", "target_new": "Poseidonia"}]
    (tmp_path / "e.json").write_text(json.dumps(data))
    runner = CliRunner()
    result = runner.invoke(edit, ["--backend", "ft-l", "--edits", str(tmp_path / "e.json"), "--out", str(tmp_path / "ft"),
                                  "--base-model", str(tiny_folder), "--device", "cpu"])
    assert result.exit_code == 0 and "wrote 1 edit(s) into ft-l" in result.output
    result = runner.invoke(edit, ["--backend", "wsie", "--edits", str(tmp_path / "e.json"), "--out", str(tmp_path / "x"),
                                  "--base-model", str(tiny_folder)])
    assert result.exit_code == 4 and "did you mean 'wise'" in result.output
    result = runner.invoke(edit, ["describe", str(tmp_path)])
    assert result.exit_code == 1 and "not a saved memkit parametric memory" in result.output


def test_whole_notes_into_a_compression_bank_with_trained_weights(tmp_path, tiny_folder):
    pytest.importorskip("torch")
    from memkit import Memory
    from memkit.editing.compression.model import CompressionBank
    from memkit.editing.compression.train import save_weights
    from memkit.hf.load import load_base_model

    model, tokenizer = load_base_model(tiny_folder)
    weights = save_weights(CompressionBank(model=model, tokenizer=tokenizer), tmp_path / "w.safetensors")
    with Memory(tmp_path / "store", FAST) as mem:
        notes = [mem.add("Alice moved to Lisbon."), mem.add("How are you?")]
    out, runner = tmp_path / "bank", CliRunner()
    base = ["--store", str(tmp_path / "store"), "--out", str(out), "--base-model", str(tiny_folder), "--device", "cpu"]
    result = runner.invoke(edit, ["--backend", "compression", "--weights", str(weights), *base])
    assert result.exit_code == 0 and "wrote 2 document(s) into compression" in result.output, result.output
    described = json.loads(runner.invoke(edit, ["describe", str(out)]).output)
    assert [d["id"] for d in described["documents"]] == [n.id for n in notes]
    assert described["config"]["weights"] == str(weights)
    result = runner.invoke(edit, ["--backend", "wise", "--weights", str(weights), *base])
    assert result.exit_code == 2 and "--weights is for document memories" in result.output


@pytest.mark.parametrize("backend,profile,message", [
    ("ft-l", "smollm2", "--profile is for the WISE back ends, not 'ft-l'"),
    ("wise", "huge", "no WISE profile 'huge'; known: ['paper', 'smollm2']"),
])
def test_a_bad_profile_is_one_clear_error_before_any_model_loads(tmp_path, backend, profile, message):
    result = CliRunner().invoke(edit, ["--backend", backend, "--profile", profile, "--out", str(tmp_path / "m")])
    assert result.exit_code != 0 and message in result.output
    assert not (tmp_path / "m").exists()
