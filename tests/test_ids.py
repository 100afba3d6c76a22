"""Every SDK call that takes a note id takes any unique prefix of one (as git takes a short hash)."""

from __future__ import annotations

import pytest

from memkit import Memory
from memkit.errors import InvalidInputError, NotFoundError, StoreNotFoundError

A = "0198aaaa1111" + "7" + "a" * 19
B = "0198aaaa2222" + "7" + "b" * 19


def test_prefixes_work_wherever_an_id_is_taken(real_mem):
    real_mem.add("Alice moved to Lisbon in May", user_id="u", id=A)
    real_mem.add("Alice works at a fintech startup", user_id="u", id=B)
    assert real_mem.get("0198aaaa1").id == A and real_mem.resolve_id("0198aaaa2") == B
    with pytest.raises(InvalidInputError, match="ambiguous: it matches 2 notes"):
        real_mem.get("0198aaaa")
    with pytest.raises(NotFoundError, match="no note with id '0198ffff'"):
        real_mem.get("0198ffff")
    assert real_mem.update("0198aaaa1", tags=["moves"]).tags == ["moves"]
    real_mem.link("0198aaaa1", "0198aaaa2")
    assert [n.id for n in real_mem.related("0198aaaa2")] == [A]
    assert real_mem.unlink("0198aaaa1", "0198aaaa2") >= 1
    new = real_mem.add("Alice moved to Porto in June", user_id="u", supersedes="0198aaaa1", links=["0198aaaa2"])
    assert real_mem.get(A).valid_to is not None and B in new.links
    real_mem.delete("0198aaaa2")
    assert [e.event for e in real_mem.history("0198aaaa2")][-1] == "delete"  # a deleted note's history too
    with pytest.raises(NotFoundError):
        real_mem.get("0198aaaa2")
    assert real_mem.short_ids([A, new.id]) == {A: A[:9], new.id: new.id[:8]}  # B, deleted, still counts


def test_a_memory_opened_without_create_is_not_made(tmp_path):
    with pytest.raises(StoreNotFoundError, match=f"no memory at {tmp_path / 'none'}"):
        Memory(tmp_path / "none", create=False)
    assert not (tmp_path / "none").exists()
    with Memory(tmp_path / "made") as mem:
        assert mem.created
    with Memory(tmp_path / "made", create=False) as mem:
        assert not mem.created
