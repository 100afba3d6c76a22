"""The LLM note builder's logic, through litellm's mock_response (no model, no network)."""

import json

from memkit import Memory
from memkit.builders.llm import LLMBuilder
from memkit.config import BuilderConfig
from memkit.types import Note

GOOD = json.dumps({"keywords": ["Lisbon", "move"], "tags": ["relocation"], "context": "Alice relocates to Lisbon."})


def _builder(mock: str, retries: int = 1) -> LLMBuilder:
    return LLMBuilder(BuilderConfig(kind="llm", model="gpt-4o-mini", retries=retries,
                                    extra_params={"mock_response": mock}))


def test_valid_json_becomes_the_note_fields():
    d = _builder(GOOD).derive(Note(content="Alice moved to Lisbon"))
    assert d.keywords == ["Lisbon", "move"] and d.tags == ["relocation"]
    assert d.context == "Alice relocates to Lisbon." and d.builder == "llm:gpt-4o-mini"
    assert d.info == {"builder": "gpt-4o-mini", "attempts": 1}


def test_json_inside_chatter_and_fences_is_accepted():
    d = _builder("Sure! ```json\n" + GOOD + "\n``` hope this helps").derive(Note(content="x"))
    assert d.keywords == ["Lisbon", "move"]


def test_malformed_output_falls_back_to_the_heuristic_note_and_says_so():
    d = _builder('{"keywords": "not a list"', retries=2).derive(Note(content="Alice moved to Lisbon in May"))
    assert d.info["fallback"] == "heuristic" and d.info["attempts"] == 3
    assert d.info["errors"] and "invalid JSON answer" in d.info["errors"][0]
    assert "Lisbon" in d.keywords  # the heuristic note


def test_memory_with_llm_builder_never_drops_a_memory(tmp_path):
    cfg = {"builder": {"kind": "llm", "model": "gpt-4o-mini", "retries": 0, "extra_params": {"mock_response": "nope"}},
           "index": {"kind": "exact"}}
    with Memory(tmp_path / "m", cfg) as mem:
        notes = mem.add_many(["Alice moved to Lisbon", "Alice works in Lisbon at a bank"])
        assert len(notes) == 2 and mem.stats().notes == 2
        assert all(n.metadata["memkit"]["fallback"] == "heuristic" for n in notes)
        # the LLM link judge also fell back, and says so
        assert notes[1].metadata["memkit"]["judge"]["fallback"] == "heuristic"


def test_llm_judge_links_evolves_and_supersedes_by_id(tmp_path):
    cfg = {"builder": {"kind": "llm", "model": "gpt-4o-mini", "retries": 0, "extra_params": {"mock_response": GOOD}},
           "index": {"kind": "exact"}}
    with Memory(tmp_path / "m", cfg) as mem:
        old = mem.add("Alice lives in Lisbon")
        suffix = old.id[-8:]
        decision = json.dumps({"links": [suffix, "deadbeef"], "supersedes": [suffix],
                               "updates": [{"id": suffix, "context": "Alice's former home", "tags": ["home"]}]})
        mem.builder.config.extra_params["mock_response"] = GOOD
        mem.judge.builder = mem.judge.builder.model_copy(update={"extra_params": {"mock_response": decision}})
        new = mem.add("Alice lives in Porto now")
        old_now = mem.get(old.id)
        assert old.id in new.links and old_now.valid_to is not None
        assert old_now.context == "Alice's former home" and old_now.tags == ["home"]
        assert new.metadata["memkit"]["judge"]["ignored_ids"] == ["deadbeef"]
        kinds = {e.event for e in mem.history(old.id)}
        assert {"evolve", "supersede"} <= kinds
        assert all(e.actor == "llm:gpt-4o-mini" for e in mem.history(old.id) if e.event in ("evolve", "supersede"))


def test_a_local_model_picks_keywords_among_the_notes_own_phrases(monkeypatch):
    from memkit.builders import llm as llm_builder
    from memkit.builders.llm import keyword_candidates, note_schema
    from memkit.llm.client import JSONResult

    asked = {}

    def fake(model, messages, schema, *, retries, response_schema, **params):
        asked[model] = response_schema
        return JSONResult(value=schema(keywords=["Lisbon"], tags=[], context="c"), attempts=1)

    monkeypatch.setattr(llm_builder, "complete_json", fake)
    note = Note(content='Alice moved to "Lisbon" in May for a new job at Fintech Ltd')
    for model in ("local/smollm2", "gpt-4o-mini"):
        LLMBuilder(BuilderConfig(kind="llm", model=model, max_keywords=3)).derive(note)
    grounded = asked["local/smollm2"]["properties"]["keywords"]
    assert grounded["items"]["enum"] == keyword_candidates(note) and grounded["maxItems"] == 3
    assert all(p.lower() in note.content.lower() and '"' not in p for p in grounded["items"]["enum"])
    assert asked["gpt-4o-mini"] == note_schema(BuilderConfig(kind="llm", model="gpt-4o-mini", max_keywords=3))
