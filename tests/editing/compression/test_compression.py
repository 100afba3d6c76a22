"""The compression memory bank on a tiny random Llama: shapes, the empty bank is the base model, deleting an entry
removes its effect, training lowers the loss, weights files; and on the real SmolLM2-135M."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from memkit.editing import create_memory, load_memory  # noqa: E402
from memkit.editing.compression import CompressionConfig  # noqa: E402
from memkit.editing.compression.model import CompressionBank  # noqa: E402
from memkit.editing.compression.train import save_weights, train  # noqa: E402
from memkit.editing.docfacts import doc_facts  # noqa: E402
from memkit.editing.documents import Document  # noqa: E402
from memkit.errors import EditingError, InvalidInputError  # noqa: E402

TINY = CompressionConfig(n_memory=2, key_dim=16, top_k=2)
FACTS = doc_facts(6, split="train")


@pytest.fixture
def bank(tiny_llama, tiny_tokenizer):
    return CompressionBank(TINY, model=tiny_llama, tokenizer=tiny_tokenizer)


def _probe(bank):
    return bank.score([f.prompt for f in FACTS], [" " + f.answer for f in FACTS])


def _docs(facts):
    return [Document(id=f.id, text=f.document) for f in facts]


def test_registered_and_shapes(bank):
    assert create_memory("compression", config=TINY, model=bank.model, tokenizer=bank.tokenizer).name == "compression"
    vectors, keys = bank.compress([bank.doc_ids(f.document) for f in FACTS[:3]])
    assert vectors.shape == (3, 2, 64) and keys.shape == (3, 16)
    assert torch.allclose(keys.norm(dim=-1), torch.ones(3))
    assert bank.layer_index == 2  # 0.6 of the tiny model's 4 blocks, rounded


def test_an_untrained_compressor_pools_the_documents_own_states(bank):
    """The learned correction starts at zero: each memory vector is a convex combination of the states it read."""
    rows = [bank.doc_ids(FACTS[0].document)]
    states, _ = bank.states(rows)
    vectors, _ = bank.compress(rows)
    lo, hi = states[0].min(0).values, states[0].max(0).values
    assert bool(((vectors[0] >= lo - 1e-5) & (vectors[0] <= hi + 1e-5)).all())


def test_an_empty_bank_is_the_base_model_and_writing_changes_answers(bank):
    with bank.disabled():
        base = _probe(bank)
    assert [s.log_prob for s in _probe(bank)] == pytest.approx([s.log_prob for s in base], abs=1e-6)
    report = bank.write(_docs(FACTS))
    assert report.written == 6 and bank.describe()["entries"] == 6
    assert [s.log_prob for s in _probe(bank)] != pytest.approx([s.log_prob for s in base], abs=1e-4)
    with bank.disabled():
        assert [s.log_prob for s in _probe(bank)] == pytest.approx([s.log_prob for s in base], abs=1e-6)


def test_forgetting_an_entry_removes_its_effect(bank, make_llama, tiny_tokenizer):
    bank.write(_docs(FACTS))
    assert bank.forget([FACTS[5].id, "never-written"]) == 1
    other = CompressionBank(TINY, model=make_llama(), tokenizer=tiny_tokenizer)
    other.write(_docs(FACTS[:5]))
    assert bank.ids == other.ids
    assert [s.log_prob for s in _probe(bank)] == pytest.approx([s.log_prob for s in _probe(other)], abs=1e-5)
    bank.forget([f.id for f in FACTS])
    with bank.disabled():
        base = _probe(bank)
    assert [s.log_prob for s in _probe(bank)] == pytest.approx([s.log_prob for s in base], abs=1e-6)


def test_rewriting_an_id_replaces_its_entry(bank):
    bank.write([Document(id="a", text=FACTS[0].document)])
    before = bank.vectors.clone()
    bank.write([Document(id="a", text=FACTS[1].document)])
    assert bank.ids == ["a"] and not torch.allclose(before, bank.vectors)


def test_bad_input_is_refused_and_keeps_the_bank(bank):
    bank.write(_docs(FACTS[:2]))
    for junk in (["   "], [{"text": ""}], [3], "a text, not a list"):
        with pytest.raises(InvalidInputError):
            bank.write(junk)
    assert bank.ids == [f.id for f in FACTS[:2]]


def test_training_lowers_the_loss_and_the_weights_file_round_trips(bank, tmp_path, make_llama, tiny_tokenizer):
    log = train(bank, steps=30, batches=4, bank_size=6, questions=4, lr=3e-3, log_every=10)
    assert log[-1]["answer_loss"] < log[0]["answer_loss"]
    file = save_weights(bank, tmp_path / "w.safetensors")
    again = CompressionBank(TINY.model_copy(update={"weights": str(file)}), model=make_llama(), tokenizer=tiny_tokenizer)
    assert all(torch.equal(v, again.weights()[k]) for k, v in bank.weights().items())
    with pytest.raises(EditingError, match="n_memory=2"):
        CompressionBank(TINY.model_copy(update={"weights": str(file), "n_memory": 3}), model=make_llama(),
                        tokenizer=tiny_tokenizer)
    with pytest.raises(EditingError, match="no trained compression weights"):
        CompressionBank(TINY.model_copy(update={"weights": str(tmp_path / "none")}), model=make_llama(),
                        tokenizer=tiny_tokenizer)


def test_save_load_keeps_documents_and_bank(bank, tmp_path, make_llama, tiny_tokenizer):
    bank.write(_docs(FACTS[:4]))
    bank.forget([FACTS[1].id])
    expected = _probe(bank)
    bank.save(tmp_path / "m")
    again = load_memory(str(tmp_path / "m"), model=make_llama(), tokenizer=tiny_tokenizer)
    assert again.ids == bank.ids and list(again.docs) == list(bank.docs)
    assert [s.log_prob for s in _probe(again)] == pytest.approx([s.log_prob for s in expected], abs=1e-5)
    info = again.describe()
    assert info["entries"] == 3 and info["bank_bytes"] == 3 * info["bytes_per_entry"] == 3 * (2 * 64 + 16) * 4


@pytest.mark.slow
def test_on_smollm2_the_bank_changes_answers_and_forgetting_restores_them(smollm2):
    model, tokenizer = smollm2
    bank = CompressionBank(model=model, tokenizer=tokenizer)
    facts = doc_facts(8, split="test")
    prompts, targets = [f.prompt for f in facts], [" " + f.answer for f in facts]
    base = bank.score(prompts, targets)
    base_text = bank.generate(prompts[:3], max_new_tokens=4)
    bank.write(_docs(facts))
    assert bank.describe()["entries"] == 8
    assert [s.log_prob for s in bank.score(prompts, targets)] != pytest.approx([s.log_prob for s in base], abs=1e-3)
    with bank.disabled():
        assert bank.generate(prompts[:3], max_new_tokens=4) == base_text
    # a few training steps on one batch lower its loss (the networks reach the frozen model's answer)
    log = train(bank, steps=4, batches=1, bank_size=8, questions=4, lr=3e-3, log_every=1)
    assert log[-1]["answer_loss"] < log[0]["answer_loss"]
    bank.forget([f.id for f in facts])
    assert [s.log_prob for s in bank.score(prompts, targets)] == pytest.approx([s.log_prob for s in base], abs=1e-4)


def test_the_scale_script_reports_memory_growing_with_the_bank(tmp_path, tiny_llama, tiny_tokenizer):
    import json

    from memkit.editing.compression.scale import main

    folder = tmp_path / "tiny"
    tiny_llama.save_pretrained(folder)
    tiny_tokenizer.save_pretrained(folder)
    assert main(["--sizes", "3", "6", "--questions", "2", "--base-model", str(folder), "--out", str(tmp_path / "o")]) == 0
    rows = json.loads((tmp_path / "o" / "scale.json").read_text())["rows"]
    assert [r["documents"] for r in rows] == [3, 6]
    assert rows[1]["bank_mb"] == pytest.approx(2 * rows[0]["bank_mb"]) and rows[0]["score_ms_p50"] > 0
