"""Errors read as one line, whatever pydantic found wrong."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, Field, ValidationError, field_validator

from memkit.errors import BenchError, InvalidInputError, validation_message


class _Thing(BaseModel):
    name: str
    size: int = Field(ge=0)


def test_validation_message_lists_every_field_on_one_line():
    with pytest.raises(ValidationError) as info:
        _Thing.model_validate({"size": -1})
    assert validation_message(info.value, "thing") == (
        "name: Field required; size: Input should be greater than or equal to 0")
    with pytest.raises(ValidationError) as info:
        _Thing.model_validate_json("not json")
    assert validation_message(info.value, "thing").startswith("thing: Invalid JSON")


def test_user_facing_validation_errors_are_one_line(tmp_path):
    from memkit.bench.runner import load_run
    from memkit.editing.data import parse_edit_record

    bad = tmp_path / "run.json"
    bad.write_text('{"task": 3}', encoding="utf-8")
    with pytest.raises(BenchError) as run_err:
        load_run(bad)
    with pytest.raises(InvalidInputError) as edit_err:
        parse_edit_record({"prompt": "", "target_new": "x"}, 7, fmt="easyedit")
    for err in (run_err.value, edit_err.value):
        assert "\n" not in str(err) and "errors.pydantic.dev" not in str(err), str(err)
    assert str(edit_err.value).startswith("record 7 is not a valid edit: ")


class _Checked(BaseModel):
    name: str

    @field_validator("name")
    @classmethod
    def _check(cls, v: str) -> str:
        if v == "value":
            raise ValueError("name must not be 'value'")
        assert v != "assert", "name must not be 'assert'"
        return v


@pytest.mark.parametrize("name, message", [("value", "name: name must not be 'value'"),
                                           ("assert", "name: name must not be 'assert'")])
def test_validation_message_drops_pydantic_wording(name, message):
    with pytest.raises(ValidationError) as info:
        _Checked(name=name)
    assert validation_message(info.value) == message


@pytest.mark.parametrize("field", ["user_id", "agent_id", "session_id"])
def test_a_notes_scope_cannot_be_updated_and_the_note_is_left_as_it_was(fast_mem, field):
    note = fast_mem.add("trip to Rome", user_id="u1", agent_id="a1", session_id="chat-1")
    with pytest.raises(InvalidInputError, match=f"cannot update field\\(s\\) \\['{field}'\\]"):
        fast_mem.update(note.id, **{field: "other"})
    after = fast_mem.get(note.id)
    assert (after.user_id, after.agent_id, after.session_id, after.version) == ("u1", "a1", "chat-1", note.version)
    assert [e.event for e in fast_mem.history(note.id)] == ["add"]
