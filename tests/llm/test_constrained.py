"""Constrained decoding on tiny random models: whatever the weights, the answer validates against the schema."""

from __future__ import annotations

import json
import random

import pytest

from memkit.builders.llm import NoteFields, note_schema
from memkit.config import BuilderConfig
from memkit.linking import _Answer, answer_schema
from memkit.llm.schema_machine import compile_schema
from tests.tiny_models import tiny_llama

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from memkit.llm.constrained import PrefixCache, allowed_tokens, generate_constrained, token_table  # noqa: E402

IDS = ["1f2e3d4c", "1f2e9999", "a0b1c2d3"]


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _prompt(tok, text: str = "Memory: Alice moved to Lisbon in May.") -> list[int]:
    return tok.encode(text)


def test_allowed_tokens_are_exactly_the_tokens_the_machine_accepts(json_tokenizer):
    """The fast paths (masks inside strings, the walk over sorted token texts) agree with feeding every token."""
    table = token_table(json_tokenizer)
    rng = random.Random(0)
    for schema in (note_schema(BuilderConfig(max_keywords=3)), answer_schema(IDS, max_tags=2)):
        machine = compile_schema(schema, max_string=12)
        for _ in range(40):  # states along random valid paths
            state = machine.initial
            for _ in range(rng.randint(0, 60)):
                ids = allowed_tokens(machine, table, state)
                brute = [i for i, t in enumerate(table.texts) if t and machine.feed(state, t) is not None]
                assert ids.tolist() == brute
                if not len(ids):
                    break
                state = machine.feed(state, table.texts[int(rng.choice(ids.tolist()))])
                if not state:
                    break


@pytest.mark.parametrize("seed", range(6))
def test_random_models_always_answer_valid_notes_and_decisions(json_tokenizer, seed):
    model = tiny_llama(json_tokenizer, seed=seed)
    notes = compile_schema(note_schema(BuilderConfig(max_keywords=4, max_tags=2)))
    out = generate_constrained(model, json_tokenizer, _prompt(json_tokenizer), notes, max_new_tokens=80,
                               temperature=1.0 if seed % 2 else 0.0, generator=torch.Generator().manual_seed(seed))
    fields = NoteFields.model_validate_json(out.text)
    assert 1 <= len(fields.keywords) <= 4 and len(fields.tags) <= 2 and len(fields.context) <= 200
    assert out.completion_tokens <= 80
    judge = compile_schema(answer_schema(IDS, max_tags=3))
    out = generate_constrained(model, json_tokenizer, _prompt(json_tokenizer, "NEW: x"), judge, max_new_tokens=120)
    ans = _Answer.model_validate_json(out.text)
    assert {*ans.links, *ans.supersedes, *(u.id for u in ans.updates)} <= set(IDS)


def test_a_spent_budget_closes_the_json_with_its_shortest_completion(json_tokenizer):
    model = tiny_llama(json_tokenizer, seed=1)
    machine = compile_schema(note_schema())
    for budget in (1, 5, 12, 20):
        out = generate_constrained(model, json_tokenizer, _prompt(json_tokenizer), machine, max_new_tokens=budget)
        NoteFields.model_validate_json(out.text)
    assert out.closed_early


def test_prompt_starts_are_cached_and_give_the_same_answer(json_tokenizer):
    model = tiny_llama(json_tokenizer, seed=2)
    machine = compile_schema(NoteFields.model_json_schema())
    cache = PrefixCache(min_tokens=4)
    shared = "Instructions: answer in JSON. Example: " + json.dumps({"keywords": ["a"], "tags": [], "context": "b"})
    prompts = [_prompt(json_tokenizer, shared + f" Memory: note {w} about Lisbon") for w in ("one", "two", "three")]
    plain = [generate_constrained(model, json_tokenizer, p, machine, max_new_tokens=40).text for p in prompts]
    cached = [generate_constrained(model, json_tokenizer, p, machine, max_new_tokens=40, prefix_cache=cache).text
              for p in prompts]
    assert cached == plain
    assert len(cache.saved) == 1 and len(next(iter(cache.saved))) >= 20  # the shared start, computed once
