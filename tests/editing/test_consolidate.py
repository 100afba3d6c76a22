from __future__ import annotations

import pytest

from memkit.consolidate import note_to_edit
from memkit.errors import InvalidInputError
from memkit.types import Note


@pytest.mark.parametrize(
    ("content", "prompt", "target"),
    [
        ("The capital of Atlantis is Poseidonia.", "The capital of Atlantis is", "Poseidonia"),
        ("Alice moved to Lisbon.", "Alice moved to", "Lisbon"),
        ("Bob works at Initech", "Bob works at", "Initech"),
        ("Dana was born in Oslo.", "Dana was born in", "Oslo"),
        ("My favourite tea is jasmine.", "My favourite tea is", "jasmine"),
    ],
)
def test_facts_become_edits(content, prompt, target):
    note = Note(content=content)
    request, reason = note_to_edit(note)
    assert reason is None and (request.prompt, request.target_new) == (prompt, target)
    assert request.source == note.id and request.id == f"note-{note.id}"


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ("Where did Alice move?", "question"),
        ("Alice moved to Lisbon. She likes it there.", "single sentence"),
        ("Please remind me to call Bob tomorrow.", "request"),
        ("Had a lovely walk", "no prompt/target"),
        (" ".join(["word"] * 40) + " is long.", "longer than"),
    ],
)
def test_non_facts_are_skipped_with_a_reason(content, why):
    request, reason = note_to_edit(Note(content=content))
    assert request is None and why in reason


def test_metadata_prompt_and_target_win():
    note = Note(content="Some long free text about Carol.", metadata={"prompt": "Carol's employer is", "target": "Acme",
                                                                       "subject": "Carol"})
    request, _ = note_to_edit(note)
    assert (request.prompt, request.target_new, request.subject) == ("Carol's employer is", "Acme", "Carol")


class Recorder:
    name = "recorder"

    def __init__(self):
        self.written = []

    def write(self, requests, *, progress=False):
        self.written.extend(requests)


def test_consolidate_a_real_store(fast_mem):
    notes = [fast_mem.add(t) for t in ["Alice moved to Lisbon.", "What a day?", "The capital of Atlantis is Poseidonia."]]
    rec = Recorder()
    report = fast_mem.consolidate(rec, progress=False)
    assert report.notes_seen == 3 and report.written == 2
    assert [r.source for r in rec.written] == [notes[0].id, notes[2].id]
    assert [s.note_id for s in report.skipped] == [notes[1].id]
    limited = fast_mem.consolidate(Recorder(), limit=1, progress=False)
    assert limited.written == 1
    with pytest.raises(InvalidInputError):
        fast_mem.consolidate(object())
    with pytest.raises(InvalidInputError):
        fast_mem.consolidate(rec, limit=0)


def test_consolidate_reads_as_the_memory_does_while_another_thread_writes(fast_mem):
    """Each note is read as one step of the memory's reads (no write interleaves inside one), so notes added while
    it runs never make it see a note twice or lose one it started with."""
    import threading

    first = fast_mem.add_many([f"Person {i} moved to City {i}." for i in range(1200)], progress=False)
    done = threading.Event()

    def write() -> None:
        for i in range(300):
            if done.is_set():
                return
            fast_mem.add(f"Latecomer {i} moved to Town {i}.")

    writer = threading.Thread(target=write)
    writer.start()
    try:
        rec = Recorder()
        report = fast_mem.consolidate(rec, progress=False)
    finally:
        done.set()
        writer.join()
    seen = [r.source for r in rec.written]
    assert len(seen) == len(set(seen)) == report.written == report.notes_seen
    assert {n.id for n in first} <= set(seen)


def test_consolidate_into_wise(fast_mem, tiny_llama, tiny_tokenizer):
    pytest.importorskip("torch")
    from memkit.editing import WISEConfig, create_memory

    fast_mem.add("Alice moved to Lisbon.")
    wise = create_memory("wise", config=WISEConfig(layer="model.layers.2.mlp.down_proj", alpha=0.1, beta=1.0,
                                                   gamma=0.5, edit_lr=2.0, n_iter=40, mask_ratio=0.5, augment=False),
                         model=tiny_llama, tokenizer=tiny_tokenizer)
    report = fast_mem.consolidate(wise, progress=False)
    assert report.written == 1 and wise.n_writes == 1
    assert wise.score(["Alice moved to"], ["Lisbon"])[0].token_accuracy == 1.0


def test_consolidate_whole_notes_into_a_document_memory(fast_mem, tiny_llama, tiny_tokenizer):
    pytest.importorskip("torch")
    from memkit.editing import create_memory
    from memkit.editing.compression import CompressionConfig

    kept = fast_mem.add("Alice moved to Lisbon. She likes the trams there.")
    old = fast_mem.add("Bob works at Initech.")
    new = fast_mem.add("Bob works at Hooli.", supersedes=old.id)
    bank = create_memory("compression", config=CompressionConfig(n_memory=2, key_dim=16), model=tiny_llama,
                         tokenizer=tiny_tokenizer)
    report = fast_mem.consolidate(bank, progress=False)
    current = {kept.id: kept.content, new.id: new.content}
    assert {d.id: d.text for d in bank.docs.values()} == current and bank.ids == list(bank.docs)
    assert report.written == 2 and [e["note_id"] for e in report.edits] == list(bank.docs)
    assert [(s.note_id, s.reason) for s in report.skipped] == [(old.id, "superseded (no longer valid)")]
