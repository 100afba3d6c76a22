"""The document-memory benchmark (memkit.editing.docbench) on tiny models and a stand-in memory: its metrics,
the question plan, the streams, the in-prompt system's left cut, the Book-SORT cloze builder, and that a missing
weights file skips a memory rather than running it untrained."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import pytest
import torch

from memkit.editing.docbench import (
    ContextSystem,
    Item,
    build_stream,
    exact_match,
    main,
    normalize,
    plot,
    question_plan,
    resolve_memories,
    run_benchmark,
    table_rows,
    token_f1,
)
from memkit.editing.docdata import book_passages, cloze_of
from memkit.editing.documents import DocumentMemory
from memkit.errors import ConfigError, InvalidInputError
from memkit.hf.runtime import CausalLM
from memkit.registry import parametric_memories

FAST = {"embedder": {"kind": "hash", "model": "hash"}, "index": {"kind": "exact"}, "linker": {"enabled": False}}


class StubMemory(DocumentMemory):
    """A document memory that holds documents and does nothing with them (the base model answers)."""

    name = "docbench-stub"
    built = 0

    def _build(self) -> None:
        type(self).built += 1
        self.order: list[str] = []
        self.state = torch.zeros(10)

    def _add(self, docs):
        self.order += [d.id for d in docs]

    def _remove(self, ids):
        self.order = [i for i in self.order if i not in ids]

    def _conditioned(self, queries, mask):
        return contextlib.nullcontext()

    def _state_tensors(self):
        return {"state": self.state}


@pytest.fixture
def stub():
    """StubMemory registered as ``docbench-stub`` for the test only."""
    parametric_memories.register("docbench-stub", StubMemory)
    StubMemory.built = 0
    try:
        yield StubMemory
    finally:
        parametric_memories._entries.pop("docbench-stub", None)  # the registry has no unregister


# -- metrics --------------------------------------------------------------------------------------------------
def test_normalize_and_exact_match():
    assert normalize("  The Lisbon!  ") == "lisbon"
    assert normalize("“Poirot,” said") == "poirot said"
    assert exact_match(" Lisbon.\nQuestion: where", "Lisbon")
    assert exact_match("\n\n a pilot, then", "pilot")  # the first non-empty line; articles do not count
    assert exact_match(" Caspian Vance is", "caspian vance")
    assert not exact_match(" Lisbonia", "Lisbon")  # whole words, not a string prefix
    assert not exact_match(" in Lisbon", "Lisbon")  # must begin with the answer
    assert not exact_match(" Oslo\nLisbon", "Lisbon")  # only the first line
    assert not exact_match("", "Lisbon")


def test_token_f1_is_squads():
    assert token_f1(" Lisbon.", "Lisbon") == 1.0
    assert token_f1(" Lisbon, Portugal", "Lisbon") == pytest.approx(2 / 3)
    assert token_f1(" Poirot, coming forward", "Poirot") == pytest.approx(0.5)
    assert token_f1(" Oslo", "Lisbon") == 0.0
    assert token_f1("", "Lisbon") == 0.0
    assert token_f1("Oslo\nLisbon", "Lisbon") == 0.0


# -- the plan and the streams ------------------------------------------------------------------------------
def test_question_plan_asks_the_first_documents_and_the_new_ones():
    plans = question_plan([10, 100, 1000], 20, seed=3)
    assert [p.documents for p in plans] == [10, 100, 1000]
    assert all(p.retention == list(range(10)) for p in plans)
    assert plans[0].learning == list(range(10))  # only 10 new documents at the first checkpoint
    for plan, lo in zip(plans[1:], (10, 100), strict=True):
        assert len(plan.learning) == 20 == len(set(plan.learning))
        assert plan.learning == sorted(plan.learning) and lo <= plan.learning[0] and plan.learning[-1] < plan.documents
    assert question_plan([10, 100, 1000], 20, seed=3) == plans
    assert question_plan([10, 100, 1000], 20, seed=4) != plans
    assert question_plan([3, 8], 2, retention=10)[1].retention == [0, 1, 2]
    for bad in ([], [10, 10], [100, 10], [0, 5]):
        with pytest.raises(InvalidInputError):
            question_plan(bad, 5)


def test_facts_stream_puts_test_people_where_questions_are_asked():
    plans = question_plan([10, 100, 1000], 20, seed=0)
    asked = {p for plan in plans for p in plan.retention + plan.learning}
    stream = build_stream("facts", 1000, asked)
    assert [i.position for i in stream] == list(range(1000))
    assert len({i.id for i in stream}) == 1000
    assert all(stream[p].id.startswith("test-") for p in asked)
    assert sum(i.id.startswith("train-") for i in stream) == 360  # past the 640 test people: distractors
    assert all(i.answer in i.document for i in stream)
    assert build_stream("facts", 1000, asked) == stream
    with pytest.raises(InvalidInputError):
        build_stream("facts", 1601, set())
    with pytest.raises(InvalidInputError):
        build_stream("nope", 10, set())


# -- Book-SORT passages -------------------------------------------------------------------------------------
BOOK = """*** START OF THE PROJECT GUTENBERG EBOOK A TEST ***

CHAPTER I

Martha Quill walked down to the old harbour at dawn with her brother and their two
dogs. The boats were in, and the fishermen had already counted them for Martha.

She climbed the steps slowly. The wind was cold on the stairs and the gulls were loud above the roofs of
the town, and at the top the lamp was still burning because nobody had put it out after the night watch had
gone home to sleep.

Bertram Oakes kept the lighthouse on the point for forty years without a single night away. The sailors
trusted him more than the charts, and the harbour master said the town owed its luck to Bertram.

*** END OF THE PROJECT GUTENBERG EBOOK A TEST ***
"""


def test_cloze_cuts_the_last_sentence_before_a_name_seen_earlier():
    sents = ["Bertram Oakes kept the lighthouse.", "The sailors said the town owed its luck to Bertram."]
    assert cloze_of(sents) == ("The sailors said the town owed its luck to", "Bertram")
    assert cloze_of(["Anna sang.", "Then Anna went home to the river."]) is None  # the name is the 2nd word
    assert cloze_of(["Anna sang well.", "The choir later praised the voice of Clara."]) is None  # not earlier
    assert cloze_of(["I said so.", "He told me that I was right about it."]) is None  # not a name


def test_book_passages_are_deterministic_and_answerable_from_the_passage(tmp_path):
    (tmp_path / "1-0.txt").write_text(BOOK, encoding="utf-8")
    (tmp_path / "2-0.txt").write_text(BOOK.replace("Bertram", "Cedric").replace("Martha", "Delia"), encoding="utf-8")
    passages = book_passages(4, folder=tmp_path, min_words=20)
    assert passages == book_passages(4, folder=tmp_path, min_words=20)
    assert {p.book for p in passages} == {"1-0", "2-0"}
    for p in passages:
        assert p.document.endswith(f"{p.prompt} {p.answer}.")  # the cloze sentence is the passage's last
        assert p.answer in p.document[: p.document.rindex(p.prompt)]  # ... and the name occurs before it too
        assert "START OF" not in p.document and "CHAPTER" not in p.document
    assert {p.answer for p in passages} == {"Martha", "Bertram", "Delia", "Cedric"}
    with pytest.raises(InvalidInputError):
        book_passages(5, folder=tmp_path, min_words=20)


def _shared_books() -> Path | None:
    root = Path(os.environ.get("MEMKIT_DATA_DIR", Path(__file__).resolve().parents[3] / "shared" / "data"))
    folder = root / "booksort" / "full_text"
    return folder if folder.is_dir() else None


@pytest.mark.skipif(_shared_books() is None, reason="the shared Book-SORT data is not here")
def test_booksort_stream_on_the_shared_books():
    stream = build_stream("booksort", 200, set(), seed=1, booksort_dir=_shared_books())
    assert stream == build_stream("booksort", 200, set(), seed=1, booksort_dir=_shared_books())
    assert len({i.document for i in stream}) == 200
    for item in stream:
        assert f"{item.prompt} {item.answer}" in item.document
        assert 35 <= len(item.document.split()) <= 70


# -- systems ------------------------------------------------------------------------------------------------
def _items(n: int) -> list[Item]:
    return build_stream("facts", n, set(range(n)))


def test_prompt_system_cuts_the_oldest_documents_to_the_budget(tiny_llama, tiny_tokenizer):
    lm = CausalLM(tiny_llama, tiny_tokenizer)
    system = ContextSystem("prompt", lm, context=200, max_new_tokens=8)
    items = _items(40)
    system.write(items[:3])
    text = tiny_tokenizer.decode(system.prompt_ids(items[0].prompt))
    assert text.index(items[0].document) < text.index(items[1].document) < text.index(items[2].document)
    system.write(items[3:])
    ids = system.prompt_ids(items[0].prompt)
    assert len(ids) <= 200 - 8
    text = tiny_tokenizer.decode(ids)
    assert text.endswith(items[0].prompt)
    assert items[-1].document in text and items[0].document not in text  # newest kept, oldest dropped
    kept = [i for i in items if i.document in text]
    assert kept == items[-len(kept):] and 2 < len(kept) < 40  # a suffix of the stream
    # one more document would not have fitted
    assert len(ids) + len(tiny_tokenizer(items[-len(kept) - 1].document + "\n", add_special_tokens=False)
                          ["input_ids"]) > 200 - 8
    none = ContextSystem("none", lm, context=120)
    none.write(items)
    assert tiny_tokenizer.decode(none.prompt_ids(items[0].prompt)) == items[0].prompt


def test_retrieval_system_puts_the_best_document_last(tiny_llama, tiny_tokenizer, tmp_path):
    system = ContextSystem("retrieval", CausalLM(tiny_llama, tiny_tokenizer), k=2, store=tmp_path / "s",
                           retrieval_config=FAST)
    try:
        items = _items(12)
        system.write(items)
        text = tiny_tokenizer.decode(system.prompt_ids(items[5].prompt))
        lines = text.split("\n")
        assert lines[1] == items[5].document and len(lines) == 4  # 2 documents, then the question's 2 lines
        assert system.held()["notes"] == 12 and system.held()["held_bytes"] > 0
    finally:
        system.close()


def test_run_benchmark_on_a_stand_in_memory(tiny_llama, tiny_tokenizer, tmp_path, stub):
    weights = tmp_path / "stub.safetensors"
    weights.write_bytes(b"x")
    logs: list[str] = []
    data = run_benchmark(["none", "prompt", "retrieval", "docbench-stub"], ["facts"], checkpoints=[4, 12],
                         questions=3, retention=3, context=200, max_new_tokens=3, weights={"docbench-stub": weights},
                         model=tiny_llama, tokenizer=tiny_tokenizer, retrieval_config=FAST, progress=False,
                         log=logs.append)
    assert data["skipped"] == {} and logs == []
    assert data["weights"]["docbench-stub"]["path"] == str(weights) and data["weights"]["docbench-stub"]["bytes"] == 1
    assert StubMemory.built == 1
    rows = data["results"]
    assert [(r["system"], r["documents"]) for r in rows] == [
        (s, c) for s in ("none", "prompt", "retrieval", "docbench-stub") for c in (4, 12)]
    plans = question_plan([4, 12], 3, retention=3)
    stream = build_stream("facts", 12, {p for pl in plans for p in pl.retention + pl.learning})
    for r in rows:
        plan = plans[0] if r["documents"] == 4 else plans[1]
        assert [a["position"] for a in r["retention"]["answers"]] == [0, 1, 2]
        assert [a["position"] for a in r["learning"]["answers"]] == plan.learning
        for a in r["retention"]["answers"] + r["learning"]["answers"]:
            assert a["answer"] == stream[a["position"]].answer and a["prompt_tokens"] > 0
            assert a["em"] == exact_match(a["generation"], a["answer"])
        assert r["retention"]["em"] == sum(a["em"] for a in r["retention"]["answers"]) / 3
        assert r["write_seconds_per_doc"] >= 0
    stub_rows = [r for r in rows if r["system"] == "docbench-stub"]
    assert stub_rows[-1]["held_bytes"] == 40 and stub_rows[-1]["describe"]["documents"] == 12
    by = {(r["system"], r["documents"]): r for r in rows}
    # the prompt system's prompts grow with the documents; the bare question's do not
    assert by["prompt", 12]["retention"]["prompt_tokens"] > by["prompt", 4]["retention"]["prompt_tokens"]
    assert by["none", 12]["retention"]["prompt_tokens"] == by["none", 4]["retention"]["prompt_tokens"]
    assert by["none", 4]["retention"]["prompt_tokens"] == by["docbench-stub", 4]["retention"]["prompt_tokens"]
    json.dumps(data)
    assert len(table_rows(data)) == 8
    plot(data, tmp_path / "r.png")
    assert (tmp_path / "r.png").stat().st_size > 1000


def test_a_missing_weights_file_skips_the_memory(tiny_llama, tiny_tokenizer, tmp_path, stub):
    missing = tmp_path / "nope.safetensors"
    logs: list[str] = []
    data = run_benchmark(["none", "docbench-stub"], ["facts"], checkpoints=[2], questions=1, retention=1,
                         context=200, max_new_tokens=2, weights={"docbench-stub": missing}, model=tiny_llama,
                         tokenizer=tiny_tokenizer, progress=False, log=logs.append)
    assert StubMemory.built == 0  # never built untrained
    assert {r["system"] for r in data["results"]} == {"none"}
    assert str(missing) in data["skipped"]["docbench-stub"] and "not found" in data["skipped"]["docbench-stub"]
    assert len(logs) == 1 and str(missing) in logs[0]


def test_memory_systems_are_checked(tmp_path, stub):
    configs, skipped = resolve_memories(["none", "compression", "adapter"],
                                        {"compression": tmp_path / "a", "adapter": tmp_path / "b"})
    assert configs == {} and set(skipped) == {"compression", "adapter"}  # not installed yet, or no weights
    with pytest.raises(ConfigError, match="unknown system"):
        resolve_memories(["bogus"], {})
    with pytest.raises(ConfigError, match="not a document memory"):
        resolve_memories(["wise"], {})
    (tmp_path / "w").write_bytes(b"x")
    configs, _ = resolve_memories(["docbench-stub"], {"docbench-stub": tmp_path / "w"})
    assert configs["docbench-stub"].weights == str(tmp_path / "w")
    # a name sets options of the back end's config, its weights still those of the back end
    configs, _ = resolve_memories(["docbench-stub:max_doc_tokens=7,seed=3"], {"docbench-stub": tmp_path / "w"})
    config = configs["docbench-stub:max_doc_tokens=7,seed=3"]
    assert (config.max_doc_tokens, config.seed, config.weights) == (7, 3, str(tmp_path / "w"))
    with pytest.raises(ConfigError, match="max_doc_tokens"):
        resolve_memories(["docbench-stub:max_doc_tokens=lots"], {"docbench-stub": tmp_path / "w"})
    with pytest.raises(ConfigError, match="key=value"):
        resolve_memories(["docbench-stub:select"], {"docbench-stub": tmp_path / "w"})


def test_cli_rejects_bad_options(capsys):
    with pytest.raises(SystemExit):
        main(["--data", "nope"])
    with pytest.raises(SystemExit):
        main(["--checkpoints", "100", "10", "--systems", "none", "--no-progress"])
    assert "checkpoints must be increasing" in capsys.readouterr().err
