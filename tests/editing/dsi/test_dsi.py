"""The DSI++ index on a tiny random Llama: docids, the trie, constrained decoding, deletion, save/load, replay and
SAM; and on the real SmolLM2-135M with a few dozen notes."""

from __future__ import annotations

import random

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from memkit.editing import create_memory, load_memory  # noqa: E402
from memkit.editing.docfacts import doc_facts  # noqa: E402
from memkit.editing.dsi import DSIConfig  # noqa: E402
from memkit.editing.dsi.docids import DocidScheme, Trie, kmeans  # noqa: E402
from memkit.editing.dsi.model import DSIIndex, pseudo_queries  # noqa: E402
from memkit.editing.types import Document  # noqa: E402
from memkit.embedders import HashEmbedder  # noqa: E402
from memkit.errors import ConfigError, EditingError, InvalidInputError  # noqa: E402

TINY = DSIConfig(docids="naive", lora_rank=4, epochs=2, pseudo_queries=1, batch_size=8, beams=4)
FACTS = doc_facts(12, split="train")


def _docs(facts):
    return [Document(id=f"n{i}", text=f.document) for i, f in enumerate(facts)]


@pytest.fixture
def dsi(tiny_llama, tiny_tokenizer):
    return DSIIndex(TINY, model=tiny_llama, tokenizer=tiny_tokenizer)


def test_trie_adds_walks_and_prunes():
    trie = Trie()
    trie.add([1, 2, 0])
    trie.add([1, 3, 0])
    assert sorted(trie.next([1])) == [2, 3] and trie.next([]) == [1] and trie.next([9]) == []
    assert [1, 2, 0] in trie and [1, 2] not in trie
    trie.remove([1, 2, 0])
    assert trie.next([1]) == [3] and trie.size == 1
    trie.remove([1, 3, 0])
    assert trie.root == {} and trie.size == 0


@pytest.mark.parametrize("kind", ["atomic", "naive", "semantic"])
def test_docids_are_unique_stable_and_end_with_eos(kind, tiny_tokenizer):
    scheme = DocidScheme(kind, tiny_tokenizer, branching=3, leaf_size=2)
    rng = np.random.default_rng(0)
    first = scheme.assign(9, rng.normal(size=(9, 8)))
    more = scheme.assign(4, rng.normal(size=(4, 8)))
    ids = first + more
    assert len(set(ids)) == 13
    tokens = [tuple(scheme.tokens(i)) for i in ids]
    assert len(set(tokens)) == 13 and all(t[-1] == tiny_tokenizer.eos_token_id for t in tokens)
    if kind == "semantic":
        assert all(i.count("-") >= 1 for i in first)  # 9 notes, leaves of 2: at least two levels
        again = DocidScheme(kind, tiny_tokenizer, branching=3, leaf_size=2)
        again.restore(scheme.state())
        assert again.assign(1, rng.normal(size=(1, 8)))[0] not in ids


def test_kmeans_separates_two_blobs():
    x = np.concatenate([np.zeros((5, 2)), np.ones((5, 2)) * 10]) + np.random.default_rng(0).normal(size=(10, 2)) * 0.1
    _, labels = kmeans(x, 2, seed=0)
    assert len(set(labels[:5])) == 1 and len(set(labels[5:])) == 1 and labels[0] != labels[5]


def test_pseudo_queries_are_spans_of_the_note():
    text = "Marla Vance lives in Lisbon near the old harbour"
    for q in pseudo_queries(text, 5, random.Random(0)):
        assert q in text and len(q.split()) >= 3


def test_untrained_adapter_is_a_no_op_and_search_yields_only_held_ids(dsi, monkeypatch):
    monkeypatch.setattr(dsi, "train", lambda new, earlier: [])  # docids and trie only
    dsi.write(_docs(FACTS[:6]))
    probe = (["Marla lives", "Tobin"], ["n0", "n1"])
    with dsi.disabled():
        base = dsi.score(*probe)
    assert [s.log_prob for s in dsi.score(*probe)] == pytest.approx([s.log_prob for s in base], abs=1e-6)
    assert [s.n_tokens for s in base] == [len(dsi.scheme.tokens(dsi.docid[i])) for i in probe[1]]
    assert dsi.describe()["ids_in_trie"] == 6
    hits = dsi.search([f.question for f in FACTS[:6]], k=10)
    held = set(dsi.docid)
    assert all(h and {n for n, _ in h} <= held and len(h) <= 6 for h in hits)
    assert all(a >= b for h in hits for (_, a), (_, b) in zip(h, h[1:], strict=False))  # best first


def test_training_fits_the_notes(tiny_llama, tiny_tokenizer):
    dsi = DSIIndex(TINY.model_copy(update={"epochs": 30, "lr": 1e-2, "sam": False, "lora_from": 0.0}), model=tiny_llama,
                   tokenizer=tiny_tokenizer)
    docs = _docs(FACTS[:4])
    dsi.write(docs)
    hits = dsi.search([d.text for d in docs], k=1)
    assert [h[0][0] for h in hits] == [d.id for d in docs]  # the tiny model memorises its own notes


def test_forgetting_removes_the_id_for_good(dsi):
    dsi.write(_docs(FACTS[:5]))
    assert dsi.forget(["n2"]) == 1
    assert all("n2" not in {n for n, _ in h} for h in dsi.search([f.document for f in FACTS[:5]], k=10))
    assert dsi.describe()["ids_in_trie"] == 4
    with pytest.raises(InvalidInputError, match="no note 'n2'"):
        dsi.score(["x"], ["n2"])


def test_replay_and_sam_switch(tiny_llama, tiny_tokenizer, monkeypatch):
    calls = []
    for replay, sam in [(False, False), (True, True)]:
        dsi = DSIIndex(TINY.model_copy(update={"replay": replay, "sam": sam, "epochs": 1}), model=tiny_llama,
                       tokenizer=tiny_tokenizer)
        dsi.write(_docs(FACTS[:4]))
        before = dsi.trained_examples
        seen = []
        original = dsi._loss
        monkeypatch.setattr(dsi, "_loss", lambda batch, seen=seen, original=original: (seen.append(len(batch)), original(batch))[1])
        dsi.write(_docs(FACTS[4:6]))
        calls.append((dsi.trained_examples - before, len(seen)))
    (plain_examples, plain_calls), (replay_examples, sam_calls) = calls
    assert plain_examples == 2 * 2 and replay_examples == 2 * plain_examples  # text + 1 pseudo-query, then replayed
    assert sam_calls == 2 * 1  # one batch, two gradient passes with SAM


def test_save_load_round_trips(dsi, tmp_path, make_llama, tiny_tokenizer):
    dsi.write(_docs(FACTS[:5]))
    dsi.forget(["n1"])
    queries = [f.question for f in FACTS[:5]]
    expected = dsi.search(queries, k=4)
    dsi.save(tmp_path / "d")
    again = load_memory(str(tmp_path / "d"), model=make_llama(), tokenizer=tiny_tokenizer)
    assert again.docid == dsi.docid and again.trie.root == dsi.trie.root
    got = again.search(queries, k=4)
    assert [[n for n, _ in h] for h in got] == [[n for n, _ in h] for h in expected]


def test_semantic_docids_use_the_embedder_and_bad_config_is_refused(tiny_llama, tiny_tokenizer):
    dsi = DSIIndex(TINY.model_copy(update={"docids": "semantic", "leaf_size": 2, "branching": 2, "epochs": 1}),
                   model=tiny_llama, tokenizer=tiny_tokenizer)
    dsi.embedder = HashEmbedder()
    dsi.write(_docs(FACTS[:6]))
    assert all("-" in d for d in dsi.docid.values())
    assert create_memory("dsi", config=TINY, model=tiny_llama, tokenizer=tiny_tokenizer).name == "dsi"
    with pytest.raises(ConfigError, match="weights"):
        DSIIndex(TINY.model_copy(update={"weights": "x"}), model=tiny_llama, tokenizer=tiny_tokenizer)
    with pytest.raises(EditingError, match="atomic docids"):
        atomic = DocidScheme("atomic", tiny_tokenizer)
        atomic.assign(len(atomic.pool()) + 1)


@pytest.mark.slow
def test_on_smollm2_a_few_dozen_notes_are_indexed_searched_and_forgotten(smollm2):
    model, tokenizer = smollm2
    dsi = DSIIndex(DSIConfig(docids="atomic", epochs=5, pseudo_queries=3, sam=False, replay=True, beams=5),
                   model=model, tokenizer=tokenizer)
    facts = doc_facts(24, split="test")
    docs = [Document(id=f.id, text=f.document) for f in facts]
    dsi.write(docs[:16])
    dsi.write(docs[16:])  # a second batch, with replay of the first
    info = dsi.describe()
    assert info["ids_in_trie"] == 24 and info["trained_notes"] == 24 and info["train_seconds_per_100_notes"] > 0
    found = dsi.search([d.text for d in docs], k=5)
    assert all(h and {n for n, _ in h} <= set(dsi.docid) for h in found)
    own = sum(h[0][0] == d.id for h, d in zip(found, docs, strict=True))
    assert own >= 12  # half (chance: 1 in 24) after five epochs
    dsi.forget([docs[0].id])
    assert all(docs[0].id not in {n for n, _ in h} for h in dsi.search([docs[0].text], k=10))


def test_a_memorys_notes_consolidate_into_the_index_and_come_back_as_notes(fast_mem, tiny_llama, tiny_tokenizer):
    notes = [fast_mem.add(f.document) for f in FACTS[:4]]
    dsi = DSIIndex(TINY.model_copy(update={"epochs": 30, "lr": 1e-2, "sam": False, "lora_from": 0.0}),
                   model=tiny_llama, tokenizer=tiny_tokenizer)
    report = fast_mem.consolidate(dsi, progress=False)
    assert report.written == 4 and set(dsi.docid) == {n.id for n in notes}
    found = [fast_mem.get(h[0][0]) for h in dsi.search([n.content for n in notes], k=1)]
    assert [n.id for n in found] == [n.id for n in notes]
