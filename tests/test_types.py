from datetime import datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from memkit.types import Note, new_id


def test_note_defaults_are_aware_and_valid_from_follows_created_at():
    n = Note(content="  hello  ")
    assert n.content == "hello"
    assert n.created_at.tzinfo is not None
    assert n.valid_from == n.created_at
    assert n.valid_to is None and n.is_current
    assert n.version == 1 and n.retrieval_count == 0


@pytest.mark.parametrize("bad", [
    {"content": "   "},
    {"content": "x", "created_at": datetime(2024, 1, 1)},  # naive
    {"content": "x", "metadata": {"f": object()}},
    {"content": "x", "valid_from": datetime(2024, 2, 1, tzinfo=timezone.utc),
     "valid_to": datetime(2024, 1, 1, tzinfo=timezone.utc)},
    {"content": "x", "user_id": " "},
    {"content": "x", "unknown": 1},
])
def test_note_rejects_bad_input(bad):
    with pytest.raises(ValidationError):
        Note(**bad)


def test_keywords_deduplicated_case_insensitively():
    assert Note(content="x", keywords=["Lisbon", "lisbon", " ", "Porto"]).keywords == ["Lisbon", "Porto"]


def test_ids_are_unique_and_time_ordered_prefix():
    ids = [new_id() for _ in range(1000)]
    assert len(set(ids)) == 1000
    assert all(len(i) == 32 for i in ids)
    assert ids[0][:8] <= ids[-1][:8]


def test_experience_time_can_be_in_the_past():
    past = datetime.now(timezone.utc) - timedelta(days=400)
    n = Note(content="x", valid_from=past)
    assert n.valid_from == past and n.created_at > past
