"""The Chroma index: its failures are StoreErrors, and a damaged index is repaired from SQLite."""

from __future__ import annotations

import pytest

from memkit import Memory
from memkit.errors import StoreError


def test_an_index_failure_keeps_the_note_and_the_index_is_repaired_on_open(tmp_path):
    with Memory(tmp_path / "m") as mem:
        first = mem.add("the heron stood in the reeds", user_id="u")
        mem.index._client.delete_collection("notes")  # the index is damaged behind memkit's back
        with pytest.raises(StoreError, match="notes themselves are safe in SQLite"):
            mem.add("the otter swam under the bridge", user_id="u")
        assert mem.store.count() == 2  # committed before the index failed
        assert mem.search("otter", k=1)[0].note.content.startswith("the otter")  # a small store: searched exactly
        mem.config.index.exact_below = 0
        with pytest.raises(StoreError, match="failed while searching"):
            mem.search("otter", k=2)  # through the vector index
        assert mem.reindex() == 2  # `memkit reindex` rebuilds even a missing collection
        assert mem.search("heron", k=1)[0].note.id == first.id
        mem.index._client.delete_collection("notes")  # damaged again; this time the next open repairs it
    with Memory(tmp_path / "m") as mem:
        hits = mem.search("otter under the bridge", k=2)
        assert [h.note.content for h in hits][0] == "the otter swam under the bridge"
        assert {h.note.id for h in hits} >= {first.id}
        assert mem.stats().vector_count == 2
