"""BM25 over token ids: which held documents a question is answered from (the adapter's ``select``)."""

from __future__ import annotations

from memkit.editing.adapter.select import TokenIndex


def test_ranks_by_shared_rare_tokens_and_ignores_the_template():
    index = TokenIndex(ignore=[1, 2])
    index.add("a", [1, 2, 10, 11, 12])
    index.add("b", [1, 2, 10, 20, 21])
    index.add("c", [1, 2, 10, 30, 31, 30])
    assert index.top([1, 2, 10, 20], 1) == ["b"]  # 10 is in every document; 20 only in b
    assert index.top([30, 11], 3) == ["c", "a"]  # c holds 30 twice; b shares nothing: left out
    assert index.top([1, 2], 2) == []  # only ignored tokens: no match at all
    assert index.top([10], 3) == ["a", "b", "c"]  # a tie keeps the order the documents came in
    assert index.top([10], 0) == [] and len(index) == 3


def test_remove_and_replace():
    index = TokenIndex()
    index.add("a", [5, 6])
    index.add("b", [6, 7])
    index.remove(["a", "missing"])
    assert index.top([5], 2) == [] and index.top([6], 2) == ["b"] and 5 not in index.postings
    index.add("b", [8])  # the same id again replaces its tokens
    assert index.top([7], 1) == [] and index.top([8], 1) == ["b"] and len(index) == 1
    assert TokenIndex().top([1], 3) == []
