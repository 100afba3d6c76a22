"""WISE mechanics on a tiny random Llama: masking, clamping, thresholds, shards, merging, persistence."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from memkit.editing import WISEConfig, load_memory  # noqa: E402
from memkit.editing.wise.model import WISE, WISEEmbed, WISERetrieve  # noqa: E402
from memkit.errors import ConfigError, EditingError  # noqa: E402

LAYER = "model.layers.2.mlp.down_proj"


def tiny_config(**over) -> WISEConfig:
    values = dict(layer=LAYER, alpha=0.1, beta=1.0, gamma=0.5, edit_lr=2.0, n_iter=80, mask_ratio=0.5,
                  augment=False, save_freq=2, merge_freq=4)
    values.update(over)
    return WISEConfig(**values)


@pytest.fixture
def wise(tiny_llama, tiny_tokenizer):
    return WISE(tiny_config(), model=tiny_llama, tokenizer=tiny_tokenizer)


def test_config_validation():
    with pytest.raises(ValueError, match="multiple of save_freq"):
        WISEConfig(save_freq=3, merge_freq=4)
    assert WISEConfig().n_iter == 70 and WISEConfig.smollm2().layer.startswith("model.layers.20")


def test_the_papers_settings_are_the_default_on_every_model_and_profiles_are_asked_for_by_name():
    for base in ("smollm2-135m-instruct", "/models/llama-7b"):
        assert WISE.default_config(base) == WISEConfig() == WISEConfig.paper()
        assert WISERetrieve.default_config(base) == WISEConfig(retrieve=True)
        assert WISEEmbed.default_config(base).router == "embedding"
    paper = WISEConfig()
    assert (paper.edit_lr, paper.n_iter, paper.mask_ratio, paper.act_ratio, paper.augment) == (1.0, 70, 0.2, 0.88, True)
    assert (paper.save_freq, paper.merge_freq, paper.retrieve, paper.router) == (500, 1000, False, "activation")
    embed = WISEEmbed.default_config("smollm2-135m-instruct")
    assert (embed.save_freq, embed.merge_freq, embed.retrieve, embed.margin) == (1, None, True, False)
    assert embed.model_copy(update={"router": "activation", "margin": True, "retrieve": False, "save_freq": 500,
                                    "merge_freq": 1000}) == paper  # otherwise the paper's training
    assert WISERetrieve.profile_config("smollm2") == WISEConfig.smollm2()
    assert WISEEmbed.profile_config("smollm2").n_iter == WISEConfig.smollm2().n_iter == 50
    assert WISEConfig.profile("smollm2") == WISEConfig.smollm2()
    assert WISEConfig.profile("smollm2", n_iter=3).n_iter == 3
    with pytest.raises(ConfigError, match="no WISE profile 'tiny'; known: \\['paper', 'smollm2'\\]"):
        WISEConfig.profile("tiny")


def test_memories_say_which_edits_they_hold_and_describe_their_cost(wise, edits):
    wise.write(edits[:3])  # save_freq 2: one shard of two edits, the third being written
    assert wise.memory_edit_ids() == [[edits[0].id, edits[1].id], [edits[2].id]]
    described = wise.describe()
    assert [m["edits"] for m in described["memories"]] == [2, 1]
    full = wise.module.weight.numel() * 4 / 2**20  # float32 copies of the layer: the shard and the current one
    assert described["side_memory_mb"] == pytest.approx(2 * full, abs=1e-4)
    assert described["mb_per_edit"] == pytest.approx(2 * full / 3, abs=1e-4)
    assert described["memories_scored_per_forward"] == 2


def test_wraps_the_layer_and_refuses_a_second_wrap(wise, tiny_tokenizer):
    assert type(wise.model.get_submodule(LAYER)).__name__ == "SideMemoryLinear"
    with pytest.raises(EditingError, match="already carries"):
        WISE(tiny_config(), model=wise.model, tokenizer=tiny_tokenizer)
    wise.detach()
    assert wise.model.get_submodule(LAYER) is wise.module


def test_unknown_layer_is_a_config_error(tiny_llama, tiny_tokenizer):
    with pytest.raises(ConfigError):
        WISE(tiny_config(layer="model.layers.9.mlp.down_proj"), model=tiny_llama, tokenizer=tiny_tokenizer)


def test_one_edit_is_reliable_and_routed(wise, edits):
    e = edits[0]
    before = wise.score([e.prompt], [e.target_new])[0]
    assert before.routed is None and before.token_accuracy < 1.0
    report = wise.write([e])
    assert report.written == 1 and report.total_writes == 1 and report.steps[0] >= 1
    after = wise.score([e.prompt], [e.target_new])[0]
    assert after.token_accuracy == 1.0 and after.routed == 0
    assert after.log_prob > before.log_prob
    with wise.disabled():
        assert wise.score([e.prompt], [e.target_new])[0].predicted == before.predicted


def test_only_masked_entries_change_and_stay_within_the_bound(tiny_llama, tiny_tokenizer, edits):
    wise = WISE(tiny_config(norm_bound=0.05, mask_ratio=0.2), model=tiny_llama, tokenizer=tiny_tokenizer)
    wise.write(edits[:1])
    base = wise.module.weight.detach()
    change = (wise.current - base).abs()
    mask = wise._mask.bool()
    assert change[~mask].max() == 0
    assert change[mask].max() <= 0.05 + 1e-6
    assert 0.15 < mask.float().mean() < 0.25 and (change[mask] > 0).float().mean() > 0.5


def test_mask_is_per_shard_and_reproducible(wise, edits):
    wise.write(edits[:1])
    first = wise._mask.clone()
    wise.write(edits[1:2])
    assert torch.equal(wise._mask, first)  # same shard, same mask
    wise.write(edits[2:3])  # third edit opens shard 1
    assert not torch.equal(wise._mask, first)
    assert torch.equal(wise._new_mask(), wise._mask)


def test_threshold_is_min_activation_times_act_ratio(wise, edits):
    wise.write(edits[:2])
    assert len(wise.shard_acts) == 1 and wise.current_acts == []
    [thr] = wise.side.thresholds
    assert thr == pytest.approx(wise.min_act * wise.config.act_ratio)
    assert wise.min_act == pytest.approx(wise.shard_acts[0])


def test_shards_every_save_freq_and_ties_merge_every_merge_freq(wise, edits):
    wise.write(edits[:3])
    assert len(wise.shards) == 1 and wise.merged is None and len(wise.current_acts) == 1
    assert [c[0] for c in wise.candidates()] == ["shard0", "current"]
    wise.write(edits[3:4])
    assert wise.shards == [] and wise.merged is not None and wise.merged_ids == [e.id for e in edits[:4]]
    assert [c[0] for c in wise.candidates()] == ["merged"]
    assert not torch.equal(wise.merged, wise.module.weight)


def test_retrieve_keeps_shards_and_merges_groups(tiny_llama, tiny_tokenizer, edits):
    wise = WISERetrieve(tiny_config(), model=tiny_llama, tokenizer=tiny_tokenizer)
    assert wise.config.retrieve and wise.name == "wise-retrieve"
    wise.write(edits[:2])
    assert len(wise.shards) == 1 and wise.side.thresholds == [pytest.approx(wise.shard_acts[0] * 0.88)]
    wise.write(edits[2:4])  # merge_freq 4 / save_freq 2: two shards merged into one retrievable shard
    assert len(wise.shards) == 1 and wise.shard_ids == [[e.id for e in edits[:4]]]
    wise.write(edits[4:6])
    assert len(wise.shards) == 2 and [c[0] for c in wise.candidates()] == ["shard0", "shard1"]


def test_save_load_round_trip(wise, edits, tiny_llama, tiny_tokenizer, tmp_path):
    import copy

    pristine = copy.deepcopy(wise.model)
    pristine.get_submodule(LAYER.rsplit(".", 1)[0]).down_proj = wise.module  # the unedited layer
    wise.write(edits[:3])
    prompts = [e.prompt for e in edits] + [e.locality_prompt for e in edits]
    targets = [e.target_new for e in edits] * 2
    expected = wise.score(prompts, targets)
    folder = wise.save(tmp_path / "mem")
    assert {p.name for p in folder.iterdir()} == {"memkit-memory.json", "memory.safetensors"}
    again = load_memory(str(folder), model=pristine, tokenizer=tiny_tokenizer)
    assert isinstance(again, WISE) and again.n_writes == 3
    assert again.score(prompts, targets) == expected
    assert again.describe()["memories"] == wise.describe()["memories"]
    assert again.generate([edits[0].prompt], max_new_tokens=4) == wise.generate([edits[0].prompt], max_new_tokens=4)


def test_load_refuses_another_base_model(wise, edits, tiny_tokenizer, tmp_path, make_llama):
    wise.write(edits[:1])
    wise.save(tmp_path / "mem")
    other = make_llama(seed=7)
    with pytest.raises(EditingError, match="differs"):
        WISE.load(tmp_path / "mem", model=other, tokenizer=tiny_tokenizer)
    with pytest.raises(EditingError, match="not a saved"):
        WISE.load(tmp_path / "nothing", model=other, tokenizer=tiny_tokenizer)


def test_kv_cache_generation_keeps_the_routing_decision(wise, edits, tiny_tokenizer):
    e = edits[0]
    wise.write([e])
    target_ids = wise.encode_target(wise.make_row(e.prompt).ids, e.target_new)
    text = wise.generate([e.prompt], max_new_tokens=len(target_ids))[0]
    assert tiny_tokenizer(text, add_special_tokens=False)["input_ids"][: len(target_ids)] == target_ids
    # the same answer without the cache (every step sees the whole sequence)
    ids = torch.tensor([wise.make_row(e.prompt).ids])
    with wise.side.session(None):
        out = wise.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=len(target_ids),
                                  do_sample=False, use_cache=False, pad_token_id=tiny_tokenizer.pad_token_id)
    assert out[0, ids.shape[1]:].tolist() == target_ids


def test_replaying_lower_layers_is_exact(tiny_llama, tiny_tokenizer, edits, make_llama):
    a = WISE(tiny_config(cache_lower_layers=True), model=tiny_llama, tokenizer=tiny_tokenizer)
    b = WISE(tiny_config(cache_lower_layers=False), model=make_llama(), tokenizer=tiny_tokenizer)
    ra, rb = a.write(edits[:2]), b.write(edits[:2])
    assert ra.steps == rb.steps
    assert torch.allclose(a.shards[0], b.shards[0], atol=1e-5)


def test_augmentation_prefixes_are_generated_once(tiny_llama, tiny_tokenizer, edits):
    wise = WISE(tiny_config(augment=True, prefix_lengths=[3], prefix_seeds=["I", "Yes"]), model=tiny_llama,
                tokenizer=tiny_tokenizer)
    batch, irrelevant = wise.edit_batch(edits[0])
    assert len(wise.prefixes) == 2 and batch.input_ids.shape[0] == 3
    assert irrelevant.input_ids.shape[0] == wise.config.n_irrelevant
    assert all(p.startswith(("I", "Yes")) for p in wise.prefixes)


def test_gpt2_conv1d_layer(tiny_gpt2, tiny_tokenizer, edits):
    wise = WISE(tiny_config(layer=None, layer_fraction=0.67), model=tiny_gpt2, tokenizer=tiny_tokenizer)
    assert wise.layer == "transformer.h.2.mlp.c_proj" and wise.transposed
    wise.write(edits[:1])
    assert wise.score([edits[0].prompt], [edits[0].target_new])[0].routed == 0


def test_many_irrelevant_inputs_push_their_scores_down(tiny_llama, tiny_tokenizer, edits, make_llama):
    few = WISE(tiny_config(n_irrelevant=1), model=tiny_llama, tokenizer=tiny_tokenizer)
    many = WISE(tiny_config(n_irrelevant=24), model=make_llama(), tokenizer=tiny_tokenizer)
    _, irrelevant = many.edit_batch(edits[0])
    assert irrelevant.input_ids.shape[0] == 24
    few.write(edits[:1])
    many.write(edits[:1])
    x = many._layer_inputs(irrelevant)
    from memkit.editing.wise.layer import masked_mean

    def mean_score(wise):
        return float(masked_mean(wise.side.delta(x, wise.current).norm(dim=-1), irrelevant.route_mask).mean())

    assert mean_score(many) < mean_score(few)
    assert many.score([edits[0].prompt], [edits[0].target_new])[0].routed == 0


def test_replay_keeps_a_new_shard_quiet_on_older_prompts(tiny_llama, tiny_tokenizer, edits):
    import copy

    from memkit.editing.wise.layer import masked_mean

    def quietness(replay: int) -> float:
        w = WISERetrieve(tiny_config(save_freq=1, merge_freq=4, replay=replay), model=copy.deepcopy(tiny_llama),
                         tokenizer=tiny_tokenizer)
        w.write(edits[:3])
        assert len(w._replay) == min(replay, 3)
        # the last shard's activation score on the first edit's prompt
        batch = w.collate([w.make_row(edits[0].prompt)])
        x = w._layer_inputs(batch)
        return float(masked_mean(w.side.delta(x, w.shards[-1]).norm(dim=-1), batch.route_mask))

    assert quietness(replay=8) < quietness(replay=0)


def test_replay_survives_save_and_load(tiny_llama, tiny_tokenizer, edits, tmp_path):
    w = WISERetrieve(tiny_config(save_freq=1, merge_freq=4, replay=2), model=tiny_llama, tokenizer=tiny_tokenizer)
    w.write(edits[:3])
    assert len(w._replay) == 2  # capped at `replay`
    w.save(tmp_path / "m")
    w.detach()
    again = load_memory(str(tmp_path / "m"), model=tiny_llama, tokenizer=tiny_tokenizer)
    assert [x.shape for x in again._replay] == [x.shape for x in w._replay]
    assert all(torch.equal(a, b) for a, b in zip(again._replay, w._replay, strict=True))


def test_route_over_sequence_counts_the_target_tokens(tiny_llama, tiny_tokenizer, edits):
    e = edits[0]
    prompt_only = WISE(tiny_config(), model=tiny_llama, tokenizer=tiny_tokenizer)
    row = prompt_only.make_row(e.prompt, e.target_new)
    assert int(prompt_only.collate([row]).route_mask.sum()) == row.route_end - row.route_start
    prompt_only.detach()
    seq = WISE(tiny_config(route_over="sequence"), model=tiny_llama, tokenizer=tiny_tokenizer)
    assert int(seq.collate([row]).route_mask.sum()) == row.route_end - row.route_start + row.n_target


def test_max_pooling_scores_the_strongest_prompt_token():
    from memkit.editing.wise.layer import masked_pool

    v = torch.tensor([[1.0, 5.0, 2.0, 9.0]])
    m = torch.tensor([[True, True, True, False]])
    assert masked_pool(v, m, "max").item() == 5.0
    assert masked_pool(v, m, "mean").item() == pytest.approx(8 / 3)


def test_qwen2_family(tiny_tokenizer, edits, tmp_path):
    from transformers import Qwen2Config, Qwen2ForCausalLM

    from memkit.hf.load import load_base_model

    torch.manual_seed(0)
    cfg = Qwen2Config(hidden_size=64, intermediate_size=128, num_hidden_layers=3, num_attention_heads=4,
                      num_key_value_heads=2, vocab_size=len(tiny_tokenizer), max_position_embeddings=256,
                      pad_token_id=tiny_tokenizer.pad_token_id, eos_token_id=tiny_tokenizer.eos_token_id)
    Qwen2ForCausalLM(cfg).save_pretrained(tmp_path / "qwen")
    tiny_tokenizer.save_pretrained(tmp_path / "qwen")
    model, tokenizer = load_base_model(tmp_path / "qwen", device="cpu")  # any HF causal LM from a local folder
    wise = WISE(tiny_config(layer=None, layer_fraction=0.67), model=model, tokenizer=tokenizer)
    assert wise.layer == "model.layers.2.mlp.down_proj" and not wise.transposed
    wise.write(edits[:1])
    after = wise.score([edits[0].prompt], [edits[0].target_new])[0]
    assert after.routed == 0 and after.token_accuracy == 1.0


def test_below_save_freq_wise_retrieve_answers_exactly_as_wise_merge(tiny_llama, tiny_tokenizer, edits, make_llama):
    """With the paper's 500 edits per shard, WISE-Retrieve differs from WISE-Merge only once a shard is saved."""
    merge = WISE(tiny_config(save_freq=500, merge_freq=1000), model=tiny_llama, tokenizer=tiny_tokenizer)
    retrieve = WISERetrieve(tiny_config(save_freq=500, merge_freq=1000), model=make_llama(), tokenizer=tiny_tokenizer)
    merge.write(edits)
    retrieve.write(edits)
    prompts = [p for e in edits for p in (e.prompt, e.rephrase_prompt, e.locality_prompt)]
    targets = [t for e in edits for t in (e.target_new, e.target_new, e.locality_ground_truth)]
    assert merge.score(prompts, targets) == retrieve.score(prompts, targets)
    assert merge.side.thresholds == retrieve.side.thresholds and len(merge.side.thresholds) == 1


def test_a_memory_saved_before_memories_named_their_edits_loads_with_their_ids(wise, edits, tiny_tokenizer,
                                                                                 make_llama, tmp_path):
    import json

    wise.write(edits[:5])  # save_freq 2, merge_freq 4: four edits merged, one being written
    held = wise.memory_edit_ids()
    assert held == [[e.id for e in edits[:4]], [edits[4].id]]
    folder = wise.save(tmp_path / "old")
    manifest = json.loads((folder / "memkit-memory.json").read_text())
    state = manifest["state"]
    for key in ("current_ids", "shard_ids", "merged_ids", "subjects"):
        del state[key]
    state.update(shard_edits=[], merged_edits=4)  # what the earlier format kept: counts
    (folder / "memkit-memory.json").write_text(json.dumps(manifest))
    again = load_memory(str(folder), model=make_llama(), tokenizer=tiny_tokenizer)
    assert again.memory_edit_ids() == held
    state["merged_edits"] = 3
    (folder / "memkit-memory.json").write_text(json.dumps(manifest))
    with pytest.raises(EditingError, match="counts 4 edits but it wrote 5"):
        load_memory(str(folder), model=make_llama(), tokenizer=tiny_tokenizer)
