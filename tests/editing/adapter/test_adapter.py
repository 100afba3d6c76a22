"""The Generative Adapter back end, on a tiny random Llama and (one test) the real SmolLM2."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from pydantic import ValidationError  # noqa: E402

from memkit.editing.adapter.config import AdapterConfig  # noqa: E402
from memkit.editing.adapter.model import GenerativeAdapter, default_layers  # noqa: E402
from memkit.errors import ConfigError, InvalidInputError  # noqa: E402

LAYERS = [1, 3]
DOCS = ["Mara Vance lives in Lisbon.", "Tobin Okafor works as a baker.", "Quill Moreau plays the cello and the harp."]
PROBE = (["Where does Mara Vance live? She lives in", "Tobin Okafor works as a", "The capital of France is"],
         ["Lisbon", "baker", "Paris"])


def tiny(model, tokenizer, **overrides) -> GenerativeAdapter:
    cfg = AdapterConfig(**{"rank": 8, "layers": LAYERS, **overrides})
    return GenerativeAdapter(cfg, model=model, tokenizer=tokenizer)


def nonzero(memory: GenerativeAdapter, scale: float = 0.5, seed: int = 1) -> GenerativeAdapter:
    """Give the output projections random values, so the generated update is not zero."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for o in memory.generator.O:
            o.copy_(torch.randn(o.shape, generator=gen) * scale)
    return memory


def pairs(memory: GenerativeAdapter, docs: list[str]) -> int:
    """(value, key) pairs of these documents: a token each, less ``key_shift`` per document."""
    return sum(len(memory.doc_ids(d)) - memory.config.key_shift for d in docs)


def held(memory: GenerativeAdapter) -> torch.Tensor:
    assert memory._total is not None
    return memory._total.S


def logps(memory: GenerativeAdapter) -> list[float]:
    return [s.log_prob for s in memory.score(*PROBE)]


def test_shapes_and_describe(tiny_llama, tiny_tokenizer):
    memory = tiny(tiny_llama, tiny_tokenizer)
    assert memory.targets == [f"model.layers.{i}.mlp.down_proj" for i in LAYERS]
    t = memory.generator.tensors()
    assert t["A.0"].shape == (128, 8) and t["B.1"].shape == (128, 8)  # the down_proj input: intermediate 128
    assert t["P.0"].shape == (128, 8) and t["O.1"].shape == (8, 64)
    assert all(float(o.detach().abs().sum()) == 0.0 for o in memory.generator.O)
    memory.write(DOCS)
    assert held(memory).shape == (2, 1, 8, 8)
    tokens = sum(len(memory.doc_ids(d)) for d in DOCS)
    info = memory.describe()
    assert info["backend"] == "adapter" and info["documents"] == 3 and info["tokens"] == pairs(memory, DOCS)
    assert len(info["state_norms"]) == 2 and all(n > 0 for n in info["state_norms"])
    state = memory.train_state([[DOCS[0]], [DOCS[1], DOCS[2]]])
    assert state.S.shape == (2, 2, 8, 8) and state.n.tolist() == [pairs(memory, DOCS[:1]), pairs(memory, DOCS[1:])]
    norms = torch.linalg.matrix_norm(state.normalised(1e-6), ord="fro")
    assert torch.allclose(norms, torch.ones_like(norms), atol=1e-5)  # N scales each state to unit Frobenius norm
    paper = tiny(tiny_llama, tiny_tokenizer, key_shift=0, center="none")
    paper.write(DOCS)  # the paper's raw states, key and value of one token: a pair per token
    assert float(paper._total.n) == tokens and not torch.allclose(held(paper), held(memory))
    shifted = tiny(tiny_llama, tiny_tokenizer, key_shift=1, center="none")
    shifted.write(DOCS)  # a key reads the token before its value: one pair fewer per document
    assert float(shifted._total.n) == tokens - len(DOCS) and not torch.allclose(held(shifted), held(paper))
    centred = tiny(tiny_llama, tiny_tokenizer, key_shift=0, center="document")
    centred.write(DOCS)  # each document's mean state taken out before the outer products: a different state
    assert float(centred._total.n) == tokens and not torch.allclose(held(centred), held(paper))
    for options in ({"center": "document"}, {"keys": "prefix", "key_shift": 1}):
        together, alone = tiny(tiny_llama, tiny_tokenizer, **options), tiny(tiny_llama, tiny_tokenizer, **options)
        together.write(DOCS)
        for doc in DOCS:  # centring and prefix keys are per document: streaming still equals one shot
            alone.write([doc])
        assert torch.allclose(held(alone), held(together), rtol=1e-5, atol=1e-5)
    prefix = tiny(tiny_llama, tiny_tokenizer, keys="prefix", key_shift=1, center="none")
    prefix.write(DOCS)  # a value is keyed by every earlier token of its document
    assert not torch.allclose(held(prefix), held(shifted))
    block = tiny(tiny_llama, tiny_tokenizer, context="block_input")
    assert block.generator.tensors()["A.0"].shape == (64, 8)  # the residual stream
    assert default_layers(30) == [15, 18, 22, 26] and default_layers(4) == [2, 3]


def test_untrained_generator_is_a_no_op(tiny_llama, tiny_tokenizer):
    memory = tiny(tiny_llama, tiny_tokenizer)
    base = memory.score(*PROBE)
    base_answers = memory.generate(PROBE[0], max_new_tokens=4)
    memory.write(DOCS)
    assert held(memory).abs().sum() > 0  # the state is there; O = 0 makes the update zero
    assert memory.score(*PROBE) == base
    assert memory.generate(PROBE[0], max_new_tokens=4) == base_answers


def test_streaming_equals_one_shot_and_conditions_the_model(tiny_llama, make_llama, tiny_tokenizer):
    streamed = nonzero(tiny(tiny_llama, tiny_tokenizer))
    with streamed.disabled():
        base = logps(streamed)
    for doc in DOCS:
        streamed.write([doc])
    at_once = nonzero(tiny(make_llama(), tiny_tokenizer))
    at_once.write(DOCS)
    assert torch.allclose(held(streamed), held(at_once), rtol=1e-5, atol=1e-5)
    assert float(streamed._total.n) == float(at_once._total.n) == pairs(streamed, DOCS)
    assert logps(streamed) == pytest.approx(logps(at_once), abs=1e-4)
    assert max(abs(a - b) for a, b in zip(logps(streamed), base, strict=True)) > 1e-3  # the adapter changes scores
    with streamed.disabled():
        assert logps(streamed) == base


def test_forget_removes_a_document(tiny_llama, make_llama, tiny_tokenizer):
    memory = nonzero(tiny(tiny_llama, tiny_tokenizer))
    base = logps(memory)
    ids = [r for r in memory.write(DOCS).request_ids]
    with_all = logps(memory)
    assert memory.forget([ids[1], "no-such-id"]) == 1
    without = nonzero(tiny(make_llama(), tiny_tokenizer))
    without.write([DOCS[0], DOCS[2]])
    assert torch.allclose(held(memory), held(without), rtol=1e-5, atol=1e-5)
    assert memory._total.n.tolist() == without._total.n.tolist()
    assert logps(memory) == pytest.approx(logps(without), abs=1e-4)
    assert logps(memory) != pytest.approx(with_all, abs=1e-4)
    assert memory.forget(ids) == 2 and memory.doc_states == {}
    assert logps(memory) == base  # nothing held: the base model exactly


def test_replacing_a_document_keeps_one_state(tiny_llama, tiny_tokenizer):
    memory = nonzero(tiny(tiny_llama, tiny_tokenizer))
    memory.write([{"id": "a", "text": DOCS[0]}])
    memory.write([{"id": "a", "text": DOCS[1]}])
    assert list(memory.doc_states) == ["a"] and float(memory._total.n) == pairs(memory, DOCS[1:2])


def test_save_load_round_trip(tiny_llama, make_llama, tiny_tokenizer, tmp_path):
    from memkit.editing import load_memory

    memory = nonzero(tiny(tiny_llama, tiny_tokenizer))
    memory.save(tmp_path / "empty")
    assert load_memory(str(tmp_path / "empty"), model=make_llama(), tokenizer=tiny_tokenizer).doc_states == {}
    ids = memory.write(DOCS).request_ids
    expected = memory.score(*PROBE)
    memory.save(tmp_path / "m")
    again = load_memory(str(tmp_path / "m"), model=make_llama(), tokenizer=tiny_tokenizer)
    assert type(again) is GenerativeAdapter and again.config == memory.config and again.n_writes == 3
    assert again.score(*PROBE) == expected
    assert torch.equal(held(again), held(memory)) and list(again.doc_states) == ids
    assert again.forget([ids[0]]) == 1 and again.score(*PROBE) != expected  # per-document states came back too


def test_trained_weights_file(tiny_llama, make_llama, tiny_tokenizer, tmp_path):
    memory = nonzero(tiny(tiny_llama, tiny_tokenizer))
    memory.write(DOCS)
    path = memory.save_weights(tmp_path / "gen.safetensors", steps=0)
    loaded = tiny(make_llama(), tiny_tokenizer, weights=str(path))
    loaded.write(DOCS)
    assert loaded.score(*PROBE) == memory.score(*PROBE) and loaded.describe()["trained"] is True
    cfg = memory.config
    for other in ({"rank": 4}, {"key_shift": cfg.key_shift + 1}, {"keys": "token" if cfg.keys == "prefix" else "prefix"}, {"layers": [0, 2]}, {"context": "block_input"},
                  {"center": "document" if memory.config.center == "none" else "none"}):
        with pytest.raises(ConfigError, match="was trained with"):
            tiny(make_llama(), tiny_tokenizer, weights=str(path), **other)
    with pytest.raises(ConfigError, match="no adapter generator weights"):
        tiny(make_llama(), tiny_tokenizer, weights=str(tmp_path / "missing.safetensors"))


def test_training_steps_lower_the_loss(tiny_llama, tiny_tokenizer):
    memory = tiny(tiny_llama, tiny_tokenizer)
    groups = [[DOCS[0]], [DOCS[1]], [DOCS[0], DOCS[2]]]
    prompts, targets = ["She lives in", "He works as a", "She lives in"], ["Lisbon", "baker", "Lisbon"]
    context = memory.encode(DOCS)
    opt = torch.optim.Adam(memory.generator.parameters(), lr=3e-2)
    losses = []
    for _ in range(20):
        state = memory.state_from(context, [[0], [1], [0, 2]])
        with memory.using(state):
            loss = memory.loss(prompts, targets)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert memory.train_state(groups).S.requires_grad
    assert losses[-1] < losses[0] - 0.5, losses
    with memory.disabled():
        assert memory.loss(prompts, targets).item() == pytest.approx(losses[0], abs=1e-5)  # the base model is untouched


def test_bad_input(tiny_llama, tiny_tokenizer):
    memory = tiny(tiny_llama, tiny_tokenizer)
    with pytest.raises(InvalidInputError):
        memory.write("one text")
    with pytest.raises(InvalidInputError):
        memory.write(["   "])
    with pytest.raises(InvalidInputError):
        memory.forget("an-id")
    with pytest.raises(InvalidInputError):
        memory.train_state([[DOCS[0]], []])
    with pytest.raises(InvalidInputError):
        memory.train_state("a text")
    with pytest.raises(InvalidInputError):
        memory.encode([])
    with pytest.raises(InvalidInputError), memory.using(memory.train_state([[DOCS[0]], [DOCS[1]]])):
        memory.score(*PROBE)  # two state rows for three prompts
    with pytest.raises(ConfigError, match="outside"):
        GenerativeAdapter(AdapterConfig(layers=[4]), model=tiny_llama, tokenizer=tiny_tokenizer)
    with pytest.raises(ConfigError, match="not a linear"):
        GenerativeAdapter(AdapterConfig(layers=[1], module="mlp"), model=tiny_llama, tokenizer=tiny_tokenizer)
    for bad in ({"rank": 0}, {"layers": []}, {"layers": [1, 1]}, {"eps": 0}, {"colour": "red"}):
        with pytest.raises(ValidationError):
            AdapterConfig(**bad)
    assert memory.doc_states == {} and memory.docs == {}


def test_registered(tiny_llama, tiny_tokenizer):
    import memkit.editing.adapter  # noqa: F401  registers the back end
    from memkit.editing import create_memory
    from memkit.registry import parametric_memories

    assert parametric_memories.get("adapter") is GenerativeAdapter
    memory = create_memory("adapter", config=AdapterConfig(rank=4, layers=[2]), model=tiny_llama, tokenizer=tiny_tokenizer)
    assert isinstance(memory, GenerativeAdapter) and memory.write(DOCS[:1]).written == 1


def test_smollm2_generation_changes_with_documents(smollm2):
    model, tokenizer = smollm2
    memory = GenerativeAdapter(AdapterConfig(rank=16), model=model, tokenizer=tokenizer)
    prompts = ["Question: Where does Thea Vance live?\nAnswer: Thea Vance lives in",
               "Question: What is Ulric Novak's job?\nAnswer: Ulric Novak works as a"]
    base = memory.generate(prompts, max_new_tokens=6)  # nothing held: no hook, the base model
    nonzero(memory, scale=2.0)
    ids = memory.write(["Thea Vance lives in Lisbon.", "Ulric Novak works as a beekeeper.",
                        "Vesna Tanaka plays the oboe."]).request_ids
    assert memory.targets == [f"model.layers.{i}.mlp.down_proj" for i in (15, 18, 22, 26)]
    # each question reads its own person's document (the chat template's tokens are not matched on)
    assert [memory.selected(memory.prompt_ids(p)) for p in prompts] == [ids[:1], ids[1:2]]
    with memory.disabled():
        assert memory.generate(prompts, max_new_tokens=6) == base
    adapted = memory.generate(prompts, max_new_tokens=6)
    assert adapted != base and all(isinstance(a, str) and a for a in adapted)


def test_select_answers_each_question_from_its_own_document(tiny_llama, make_llama, tiny_tokenizer, tmp_path):
    from memkit.editing import load_memory

    memory = nonzero(tiny(tiny_llama, tiny_tokenizer, select=1))
    ids = memory.write(DOCS).request_ids
    prompts, targets = PROBE[0][:2], PROBE[1][:2]
    assert [memory.selected(memory.prompt_ids(p)) for p in prompts] == [ids[:1], ids[1:2]]
    got = [s.log_prob for s in memory.score(prompts, targets)]
    for i in range(2):  # the same as a memory holding only that question's document
        alone = nonzero(tiny(make_llama(), tiny_tokenizer, select=1))
        alone.write([DOCS[i]])
        assert got[i] == pytest.approx(alone.score([prompts[i]], [targets[i]])[0].log_prob, abs=1e-4)
    every = nonzero(tiny(make_llama(), tiny_tokenizer, select=None))  # the paper's reading: every document
    every_ids = every.write(DOCS).request_ids
    assert every.selected(every.prompt_ids(prompts[0])) == every_ids
    assert [s.log_prob for s in every.score(prompts, targets)] != pytest.approx(got, abs=1e-4)
    assert "1 best-matching" in memory.describe()["select"]
    memory.save(tmp_path / "m")  # the index comes back from the saved documents
    again = load_memory(str(tmp_path / "m"), model=make_llama(), tokenizer=tiny_tokenizer)
    assert [s.log_prob for s in again.score(prompts, targets)] == pytest.approx(got, abs=1e-5)
    unused = [t for t in range(len(tiny_tokenizer)) if t not in memory.index.postings][:4]
    assert memory.selected(unused) == []  # a question sharing no token with any document reads none of them
    assert float(memory._state_for([unused]).S.abs().sum()) == 0.0  # an empty row: the base model
    assert memory.forget([ids[0]]) == 1  # forgotten: no longer selected, even for the question it answered
    assert ids[0] not in memory.selected(memory.prompt_ids(prompts[0]))
    assert got[0] != pytest.approx(memory.score(prompts[:1], targets[:1])[0].log_prob, abs=1e-4)
