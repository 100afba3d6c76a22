"""The ``local/...`` litellm provider with a tiny random model saved to disk: notes and link decisions go
through litellm, constrained decoding and pydantic, and never fall back, whatever the weights."""

from __future__ import annotations

import pytest

from memkit import Memory
from memkit.builders.llm import LLMBuilder, NoteFields
from memkit.config import BuilderConfig
from memkit.llm import client, status
from memkit.types import Note
from tests.tiny_models import tiny_llama

pytest.importorskip("torch")
pytest.importorskip("transformers")

TEMPLATE = ("{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
            "{% if add_generation_prompt %}assistant: {% endif %}")


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory, json_tokenizer):
    path = tmp_path_factory.mktemp("tiny-llm")
    json_tokenizer.chat_template = TEMPLATE
    tiny_llama(json_tokenizer, seed=3).save_pretrained(path)
    json_tokenizer.save_pretrained(path)
    return path


def test_notes_and_links_from_a_random_model_never_fall_back(tmp_path, tiny_model_dir):
    cfg = {"builder": {"kind": "llm", "model": f"local/{tiny_model_dir}", "max_tokens": 60, "retries": 0},
           "linker": {"min_similarity": -1.0, "judge": "llm"}, **{"embedder": {"kind": "hash", "model": "hash"}},
           "index": {"kind": "exact"}}
    contents = ["Alice moved to Lisbon in May.", "Alice works at a fintech startup in Lisbon.", "Bob plays the cello."]
    with Memory(tmp_path / "m", cfg) as mem:
        notes = mem.add_many(contents)
        for n in notes:
            info = n.metadata["memkit"]
            assert "fallback" not in info and info["attempts"] == 1, info
            assert 1 <= len(n.keywords) <= mem.config.builder.max_keywords and n.context
        judged = [n.metadata["memkit"]["judge"] for n in notes[1:]]
        assert all("fallback" not in j and "ignored_ids" not in j for j in judged), judged  # ids from the list only


def test_the_schema_goes_as_response_format_only_where_the_model_takes_it(monkeypatch):
    sent = {}

    def fake(model, messages, **params):
        sent[model] = params.get("response_format")
        return client.litellm_module().ModelResponse(
            choices=[{"message": {"role": "assistant", "content": '{"keywords": ["a"], "context": "b"}'}}])

    monkeypatch.setattr(client.litellm_module(), "completion", fake)
    for model in ("local/smollm2", "gpt-4o-mini", "ollama/llama3"):
        res = client.complete_json(model, [{"role": "user", "content": "x"}], NoteFields, response_schema={"type": "object"})
        assert res.value is not None
    assert sent["local/smollm2"] == {"type": "json_schema", "json_schema": {"name": "NoteFields",
                                                                            "schema": {"type": "object"}}}
    assert sent["gpt-4o-mini"]["type"] == "json_schema"  # litellm: supports_response_schema
    assert sent["ollama/llama3"] is None


def test_building_shows_progress_per_note(tiny_model_dir, capsys, monkeypatch):
    builder = LLMBuilder(BuilderConfig(kind="llm", model=f"local/{tiny_model_dir}", max_tokens=40))
    monkeypatch.setattr(status, "live_display_active", lambda: True)  # under add_many's bar: lines
    monkeypatch.setattr(status, "LINE_EVERY_S", 0.0)
    builder.build([Note(content="Alice moved to Lisbon"), Note(content="Bob plays the cello")])
    err = capsys.readouterr().err
    assert "notes by local/tiny-llm0: 1/2 notes" in err and ": 2/2 notes" in err
    monkeypatch.setattr(status, "live_display_active", lambda: False)
    builder.progress = True  # its own bar
    monkeypatch.setenv("COLUMNS", "120")
    builder.build([Note(content="Alice moved to Lisbon")])
    assert "1/1" in capsys.readouterr().err
