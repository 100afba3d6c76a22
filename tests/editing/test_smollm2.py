"""WISE and FT-L on the real SmolLM2-135M-Instruct (the bundled GGUF, converted once and cached)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from memkit.editing import (  # noqa: E402
    EditRequest,
    WISEConfig,
    evaluate_edits,
    load_memory,
    locality_baseline,
    synthetic_edits,
)
from memkit.editing.ft.model import FTL  # noqa: E402
from memkit.editing.wise.model import WISE, WISEEmbed  # noqa: E402

pytestmark = pytest.mark.slow

MULTI = EditRequest(id="multi", prompt="The Eiffel Tower is located in the city of", target_new="Quenzalor",
                    ground_truth="Paris", rephrase_prompt="You can visit the Eiffel Tower in",
                    locality_prompt="The chemical symbol for gold is", locality_ground_truth="Au",
                    subject="Eiffel Tower")


@pytest.fixture(scope="module")
def edited(_smollm2_master, module_one_thread):
    """WISE with the named SmolLM2 profile after three sequential edits."""
    import copy

    model, tok = _smollm2_master
    edits = [MULTI, *synthetic_edits(2, seed=5)]
    wise = WISE(WISEConfig.profile("smollm2"), model=copy.deepcopy(model), tokenizer=tok)
    baseline = locality_baseline(wise, edits)
    probes = [e.locality_prompt for e in synthetic_edits(40, seed=9)][:20]
    with torch.no_grad():
        base_answers = wise.generate(probes, max_new_tokens=4)
    wise.write(edits)
    return wise, edits, baseline, probes, base_answers


def test_edits_are_reliable_and_local(edited):
    wise, edits, baseline, probes, base_answers = edited
    metrics = evaluate_edits(wise, edits, baseline)
    assert metrics.reliability == 1.0
    assert metrics.locality >= 0.95
    answers = wise.generate(probes, max_new_tokens=4)
    same = sum(a == b for a, b in zip(answers, base_answers, strict=True)) / len(probes)
    assert same >= 0.95  # unrelated prompts answer as before
    assert wise.describe()["writes"] == 3


def test_kv_cache_generation_returns_the_new_target(edited):
    wise, edits, *_ = edited
    answers = wise.generate([e.prompt for e in edits], max_new_tokens=8)
    for edit, answer in zip(edits, answers, strict=True):
        assert answer.strip().startswith(edit.target_new), (edit.prompt, answer)


def test_routing_is_decided_once_per_prompt(edited):
    """Generation decides on the whole prompt, once; decoding steps reuse that decision.

    (The failure mode of routing each one-token step on its own is shown on hand-made
    weights in wise/test_layer.py; on SmolLM2 a decoded token attends to the cached prompt,
    so its own score can pass the threshold too, which the route-once design does not rely on.)
    """
    wise, *_ = edited
    n_target = len(wise.encode_target(wise.make_row(MULTI.prompt).ids, MULTI.target_new))
    assert n_target >= 3
    calls = []
    decide = wise.side.decide
    wise.side.decide = lambda x, mask: calls.append(tuple(x.shape[:2])) or decide(x, mask)
    try:
        answer = wise.generate([MULTI.prompt, "The chemical symbol for gold is"], max_new_tokens=n_target + 2)
    finally:
        del wise.side.decide
    assert len(calls) == 1 and calls[0][1] > 1  # one decision, on the full (padded) prompts
    assert answer[0].strip().startswith(MULTI.target_new)
    assert wise.side.decision.tolist()[1] == -1  # the unrelated prompt kept the main memory throughout


def test_save_reload_query(edited, smollm2, tmp_path):
    wise, edits, *_ = edited
    wise.save(tmp_path / "wise")
    model, tok = smollm2
    again = load_memory(str(tmp_path / "wise"), model=model, tokenizer=tok)
    assert again.generate([MULTI.prompt], max_new_tokens=6) == wise.generate([MULTI.prompt], max_new_tokens=6)


def test_ft_l_one_edit(smollm2):
    model, tok = smollm2
    ft = FTL(model=model, tokenizer=tok)
    assert ft.layer == "model.layers.20.mlp.down_proj"
    ft.write([MULTI])
    assert ft.score([MULTI.prompt], [MULTI.target_new])[0].token_accuracy == 1.0


def test_the_default_is_the_papers_wise_merge_on_layer_20(smollm2):
    model, tok = smollm2
    wise = WISE(model=model, tokenizer=tok)
    assert wise.config == WISEConfig() and wise.layer == "model.layers.20.mlp.down_proj"
    assert wise.describe()["variant"] == "WISE-Merge"


def test_embedding_routing_sends_rephrases_to_their_edit(smollm2):
    """wise-embed@smollm2 on the real model: the bundled MiniLM routes each rephrase to the memory holding its edit."""
    model, tok = smollm2
    edits = [MULTI, *synthetic_edits(3, seed=5)]
    memory = WISEEmbed(WISEEmbed.profile_config("smollm2"), model=model, tokenizer=tok)
    baseline = locality_baseline(memory, edits)
    memory.write(edits)
    metrics = evaluate_edits(memory, edits, baseline)
    assert metrics.routing == {"rephrase": {"own": 1.0, "main": 0.0, "other": 0.0},
                               "locality": {"main": 1.0, "side": 0.0}}
    assert metrics.locality == 1.0 and metrics.reliability >= 0.9
