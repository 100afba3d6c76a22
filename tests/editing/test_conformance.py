"""One suite run over every registered parametric memory, on a tiny random Llama.

Weight editors (WISE, FT-L) move the model towards each edit's target and refuse a bare text; document memories
(the compression bank, the generative adapter, DSI) take a bare text as a document.  DSI's targets are note ids
(``scores_note_ids``): it scores the docid of the note a prompt should find.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from memkit.editing import FTConfig, TargetScore, WISEConfig, WriteReport, create_memory, load_memory  # noqa: E402
from memkit.editing.adapter import AdapterConfig  # noqa: E402
from memkit.editing.backend import WeightEditor  # noqa: E402
from memkit.editing.compression import CompressionConfig  # noqa: E402
from memkit.editing.dsi import DSIConfig  # noqa: E402
from memkit.protocols import ParametricMemory  # noqa: E402
from memkit.registry import parametric_memories  # noqa: E402

LAYER = "model.layers.2.mlp.down_proj"
TINY = {
    "wise": WISEConfig(layer=LAYER, alpha=0.1, beta=1.0, gamma=0.5, edit_lr=2.0, n_iter=40, mask_ratio=0.5,
                       augment=False, save_freq=2, merge_freq=4),
    "wise-retrieve": WISEConfig(layer=LAYER, alpha=0.1, beta=1.0, gamma=0.5, edit_lr=2.0, n_iter=40, mask_ratio=0.5,
                                augment=False, save_freq=2, merge_freq=4, retrieve=True),
    "wise-embed": WISEConfig(layer=LAYER, alpha=0.1, beta=1.0, gamma=0.5, edit_lr=2.0, n_iter=40, mask_ratio=0.5,
                             augment=False, save_freq=1, merge_freq=1000, retrieve=True, router="embedding"),
    "ft-l": FTConfig(layer=LAYER, lr=1e-2),
    "compression": CompressionConfig(n_memory=2, key_dim=16, top_k=2),
    "adapter": AdapterConfig(rank=8),
    "dsi": DSIConfig(docids="naive", lora_rank=4, epochs=2, pseudo_queries=1, lora_from=0.0, lr=1e-2),
}
BACKENDS = parametric_memories.names()


def test_every_registered_backend_has_a_tiny_config():
    assert set(BACKENDS) == set(TINY), "add a tiny configuration for the new back end to TINY"


def _untrained_but_not_silent(memory):
    """An untrained generative adapter is exactly the base model (its output projection starts at zero); give it
    random output weights, as training would, so writing changes something."""
    if memory.name == "adapter":
        generator = torch.Generator().manual_seed(1)
        with torch.no_grad():
            for o in memory.generator.O:
                o.copy_(torch.randn(o.shape, generator=generator) * 0.5)
    return memory


@pytest.fixture(params=BACKENDS)
def memory(request, tiny_llama, tiny_tokenizer):
    return _untrained_but_not_silent(
        create_memory(request.param, config=TINY[request.param], model=tiny_llama, tokenizer=tiny_tokenizer))


def test_protocol_and_name(memory):
    assert isinstance(memory, ParametricMemory)
    assert memory.name in BACKENDS and parametric_memories.get(memory.name) is type(memory)


def _targets(memory, edits):
    return [e.id if getattr(memory, "scores_note_ids", False) else e.target_new for e in edits]


def _score_without_memory(memory, edits):
    with memory.disabled():
        return memory.score([e.prompt for e in edits], _targets(memory, edits))


def test_write_score_generate_describe(memory, edits):
    ids_scored = getattr(memory, "scores_note_ids", False)
    before = None if ids_scored else memory.score([edits[1].prompt], [edits[1].target_new])[0]
    report = memory.write(edits[:2])
    assert isinstance(report, WriteReport) and report.written == 2 and report.request_ids == [e.id for e in edits[:2]]
    scores = memory.score([e.prompt for e in edits[:2]], _targets(memory, edits[:2]))
    assert all(isinstance(s, TargetScore) and s.n_tokens == len(s.predicted) for s in scores)
    if isinstance(memory, WeightEditor) or ids_scored:  # trained: moved towards the target (an edit's, a docid)
        before = before or _score_without_memory(memory, edits[1:2])[0]
        assert scores[1].log_prob > before.log_prob
    else:  # an untrained document memory changes the answer, in no particular direction
        assert scores[1].log_prob != pytest.approx(before.log_prob, abs=1e-5)
    answers = memory.generate([e.prompt for e in edits[:2]], max_new_tokens=3)
    assert len(answers) == 2 and all(isinstance(a, str) for a in answers)
    if ids_scored:
        assert set(answers) <= {e.id for e in edits[:2]}
    info = memory.describe()
    assert info["backend"] == memory.name and info["writes"] == 2
    if isinstance(memory, WeightEditor):
        assert info["layer"] == LAYER
    else:
        assert info["documents"] == 2


def test_write_accepts_dicts_and_rejects_junk(memory, edits):
    from memkit.errors import InvalidInputError

    assert memory.write([edits[0].model_dump()]).written == 1
    if isinstance(memory, WeightEditor):
        with pytest.raises(InvalidInputError):
            memory.write(["not a request"])
    else:
        assert memory.write(["a bare text is a document"]).written == 1
    with pytest.raises(InvalidInputError):
        memory.write([42])
    with pytest.raises(InvalidInputError):
        memory.write([{"prompt": "p"}])
    with pytest.raises(InvalidInputError):
        memory.score(["a", "b"], ["x"])


def test_disabled_answers_like_the_base_model(memory, edits, make_llama, tiny_tokenizer):
    if getattr(memory, "scores_note_ids", False):
        # the targets exist once written: compare with another index trained differently (seed) on the same notes
        memory.write(edits[:2])
        other = create_memory(memory.name, config=TINY[memory.name].model_copy(update={"seed": 7}), model=make_llama(),
                              tokenizer=tiny_tokenizer)
        other.write(edits[:2])
        base = _score_without_memory(other, edits[:2])
        assert [s.log_prob for s in _score_without_memory(memory, edits[:2])] == pytest.approx(
            [s.log_prob for s in base], abs=1e-5)
        return
    probe = ([e.prompt for e in edits], [e.target_new for e in edits])
    base = memory.score(*probe)
    memory.write(edits[:2])
    with memory.disabled():
        assert [s.predicted for s in memory.score(*probe)] == [s.predicted for s in base]


def test_save_load_round_trip(memory, edits, tmp_path, make_llama, tiny_tokenizer):
    memory.write(edits[:3])
    asked = edits[:3] if getattr(memory, "scores_note_ids", False) else edits  # DSI knows written notes only
    probe = ([e.prompt for e in asked] + [e.locality_prompt for e in asked], _targets(memory, asked) * 2)
    expected = memory.score(*probe)
    memory.save(tmp_path / "m")
    again = load_memory(str(tmp_path / "m"), model=make_llama(), tokenizer=tiny_tokenizer)
    assert type(again) is type(memory) and again.n_writes == 3
    assert again.config == memory.config
    got = again.score(*probe)
    assert [s.predicted for s in got] == [s.predicted for s in expected]
    assert [s.log_prob for s in got] == pytest.approx([s.log_prob for s in expected], abs=1e-4)
