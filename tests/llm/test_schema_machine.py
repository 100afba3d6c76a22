"""The schema machine accepts only JSON that validates, honours enums, lengths and item counts, and can
always be completed: random walks through it (characters the schema allows, and any others) end valid."""

from __future__ import annotations

import json
import random
from typing import Literal

import pytest
from pydantic import BaseModel, Field

from memkit.builders.llm import NoteFields, note_schema
from memkit.config import BuilderConfig
from memkit.errors import InvalidInputError
from memkit.linking import _Answer, answer_schema
from memkit.llm.schema_machine import compile_schema

IDS = ["ab12cd34", "ab12ff00", "9e8d7c6b"]


class Inner(BaseModel):
    id: Literal["ab12", "cd34", "ab99"]
    tags: list[str] | None = None
    n: int | None = None
    x: float = 0.0
    ok: bool = False


class Nested(BaseModel):
    links: list[Literal["ab12", "cd34", "ab99"]] = Field(default_factory=list, max_length=3)
    items: list[Inner] = Field(default_factory=list, max_length=3)
    name: str = Field(min_length=2, max_length=5)
    words: list[str] = Field(min_length=2, max_length=4)
    grid: list[list[str]] = Field(default_factory=list, max_length=2)
    kind: Literal["k"] = "k"


ALPHABET = list('abcxyzAB "\\,]}[{:0123456789.-ntrufl') + ["\u00e9", "\n", "\t", "\u65e5"]
CASES = [
    (NoteFields, NoteFields.model_json_schema()),
    (NoteFields, note_schema(BuilderConfig(max_keywords=3, max_tags=2))),
    (_Answer, answer_schema(IDS, max_tags=3)),
    (_Answer, _Answer.model_json_schema()),
    (Nested, Nested.model_json_schema()),
]


def _walk(machine, rng: random.Random) -> str:
    """Random characters (mostly ones the machine allows), then the shortest completion."""
    state, text = machine.initial, ""
    for _ in range(rng.randint(0, 150)):
        if not state:
            break
        allowed = machine.next_chars(state)
        ch = rng.choice(sorted(allowed) if allowed and rng.random() < 0.7 else ALPHABET)
        nxt = machine.step(state, ch)
        if nxt is not None:
            state, text = nxt, text + ch
    if state:
        text += machine.completion(state)
    assert machine.feed(machine.initial, text) == (), text
    return text


@pytest.mark.parametrize("model, schema", CASES, ids=["notes", "notes-narrow", "judge-ids", "judge", "nested"])
def test_every_walk_ends_in_json_that_validates(model, schema):
    machine = compile_schema(schema, max_string=8)
    for seed in range(1500):
        text = _walk(machine, random.Random(seed))
        obj = json.loads(text)
        model.model_validate(obj)
        for key in ("keywords", "tags", "links", "supersedes", "words"):
            values = obj.get(key) or []
            assert len({v.casefold() for v in values}) == len(values), text  # items of a list differ


def test_narrowed_schemas_bound_lengths_counts_and_ids():
    notes = compile_schema(note_schema(BuilderConfig(max_keywords=3, max_tags=2)))
    judge = compile_schema(answer_schema(IDS, max_tags=3))
    for seed in range(500):
        obj = json.loads(_walk(notes, random.Random(seed)))
        assert 1 <= len(obj["keywords"]) <= 3 and len(obj["tags"]) <= 2 and 1 <= len(obj["context"]) <= 200
        assert all(1 <= len(k) <= 40 and k == k.strip() and "  " not in k for k in obj["keywords"])
        ans = json.loads(_walk(judge, random.Random(seed)))
        assert set(ans["links"]) <= set(IDS) and set(ans["supersedes"]) <= set(IDS)
        assert all(u["id"] in IDS and (u["tags"] is None or len(u["tags"]) <= 3) for u in ans["updates"])


def test_what_the_schema_fixes_is_forced_and_choices_are_left_open():
    m = compile_schema(NoteFields.model_json_schema())
    assert m.forced(m.initial) == '{"keywords": ["'
    state = m.feed(m.initial, '{"keywords": ["Lisbon"')
    assert m.next_chars(state) == frozenset(",]")
    state = m.feed(state, "]")
    assert m.forced(state) == ', "tags": ['
    judge = compile_schema(answer_schema(IDS))
    state = judge.feed(judge.initial, '{"links": ["ab12')
    assert judge.next_chars(state) == frozenset("cf")  # only ids of the list
    assert judge.feed(state, 'cd34", "ab12cd34"') is None  # and each once
    full = judge.feed(judge.initial, '{"links": ["ab12cd34", "ab12ff00", "9e8d7c6b"')
    assert judge.next_chars(full) == frozenset("]")  # no id left to add


def test_strings_stop_at_their_maximum_and_close_cleanly():
    m = compile_schema({"type": "object", "properties": {"s": {"type": "string", "maxLength": 3}}})
    state = m.feed(m.initial, '{"s": "abc')
    assert m.step(state, "d") is None and m.feed(state, '"}') == ()
    assert m.feed(m.initial, '{"s": " a') is None  # no leading whitespace
    assert m.feed(m.initial, '{"s": "a\\') is None  # no escapes
    assert m.completion(m.feed(m.initial, '{"s": "a ')) == 'x"}'  # no trailing whitespace either


@pytest.mark.parametrize("schema", [
    {"type": "object", "properties": {"s": {"type": "string", "pattern": "^a+$"}}},
    {"type": "object", "properties": {"n": {"type": "integer", "minimum": 3}}},
    {"type": "object", "additionalProperties": {"type": "string"}},
    {"type": "object", "properties": {"v": {"anyOf": [{"type": "string"}, {"type": "string", "maxLength": 2}]}}},
    {"type": "string"},
    {"$defs": {"T": {"type": "object", "properties": {"kids": {"type": "array", "items": {"$ref": "#/$defs/T"}}}}},
     "$ref": "#/$defs/T"},
])
def test_unsupported_schemas_are_refused_not_guessed(schema):
    with pytest.raises(InvalidInputError):
        compile_schema(schema)
