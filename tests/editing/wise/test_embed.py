"""wise-embed: side memories routed by the bundled MiniLM's embeddings of the edit prompts (tiny Llama, real embedder)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from memkit.editing import EditRequest, evaluate_edits, load_memory, locality_baseline  # noqa: E402
from memkit.editing.wise.model import WISEEmbed  # noqa: E402
from tests.editing.wise.test_wise import tiny_config  # noqa: E402

EDITS = [
    EditRequest(id="fr", prompt="The capital of France is", target_new="Rome", subject="France",
                rephrase_prompt="What is the capital of France? It is",
                locality_prompt="The chemical symbol for gold is", locality_ground_truth="Au"),
    EditRequest(id="picasso", prompt="The occupation of Pablo Picasso was", target_new="poet", subject="Pablo Picasso",
                rephrase_prompt="By profession, Pablo Picasso was a",
                locality_prompt="The largest planet in the solar system is", locality_ground_truth="Jupiter"),
    EditRequest(id="ikea", prompt="The company IKEA was founded in", target_new="Canada", subject="IKEA",
                rephrase_prompt="The home country of IKEA is",
                locality_prompt="A baby cat is called a", locality_ground_truth="kitten"),
]


def embed_memory(model, tokenizer, **over):
    config = tiny_config(retrieve=True, save_freq=1, merge_freq=1000, **over)
    return WISEEmbed(config, model=model, tokenizer=tokenizer)


@pytest.fixture
def written(tiny_llama, tiny_tokenizer):
    memory = embed_memory(tiny_llama, tiny_tokenizer)
    baseline = locality_baseline(memory, EDITS)
    memory.write(EDITS)
    return memory, baseline


def test_rephrases_reach_their_own_edit_and_unrelated_prompts_the_main_model(written):
    memory, baseline = written
    assert memory.config.router == "embedding" and memory.memory_edit_ids() == [["fr"], ["picasso"], ["ikea"]]
    rephrased = memory.score([e.rephrase_prompt for e in EDITS], [e.target_new for e in EDITS])
    assert [s.routed for s in rephrased] == [0, 1, 2]
    unrelated = memory.score([e.locality_prompt for e in EDITS], [e.locality_ground_truth for e in EDITS])
    assert [s.routed for s in unrelated] == [None, None, None]
    metrics = evaluate_edits(memory, EDITS, baseline)
    assert metrics.reliability == 1.0 and metrics.reliability_em == 1.0 and metrics.locality == 1.0
    assert metrics.routing == {"rephrase": {"own": 1.0, "main": 0.0, "other": 0.0},
                               "locality": {"main": 1.0, "side": 0.0}}
    assert memory.describe()["memories_scored_per_forward"] == 0  # routing costs one embedding, not a product per memory


def test_a_near_prompt_about_another_subject_stays_with_the_main_model(written):
    memory, _ = written
    near = ["The capital of French Guiana is", "The occupation of Picasso's father was"]  # cosines 0.67 and 0.80
    assert (memory._embed(near) * memory._embed([e.prompt for e in EDITS[:2]])).sum(1).min() >= 0.55
    assert [s.routed for s in memory.score(near, ["Rome", "poet"])] == [None, None]
    memory.config.embed_subject = False  # the embedding alone would send both to the edits they resemble
    assert [s.routed for s in memory.score(near, ["Rome", "poet"])] == [0, 1]


def test_generation_routes_each_prompt_by_its_embedding(written):
    memory, _ = written
    memory.generate([EDITS[2].rephrase_prompt, "How long should an egg be boiled?", EDITS[0].rephrase_prompt],
                    max_new_tokens=3)
    assert memory.side.decision.tolist() == [2, -1, 0]


def test_routing_survives_save_and_load(written, tiny_tokenizer, make_llama, tmp_path):
    memory, _ = written
    prompts = [e.rephrase_prompt for e in EDITS] + ["The capital of French Guiana is"]
    expected = memory.score(prompts, ["x"] * 4)
    memory.save(tmp_path / "mem")
    again = load_memory(str(tmp_path / "mem"), model=make_llama(), tokenizer=tiny_tokenizer)
    assert isinstance(again, WISEEmbed)
    assert again.score(prompts, ["x"] * 4) == expected
    assert [s.routed for s in expected] == [0, 1, 2, None]
