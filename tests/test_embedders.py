"""One conformance suite for every embedder (the real bundled model under ONNX Runtime, traced and eager), and the
compiled engines."""

from __future__ import annotations

import logging
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest

from memkit.config import EmbedderConfig
from memkit.embedders import HashEmbedder, SentenceTransformerEmbedder

TEXTS = [
    "Maya moved to Porto in May.",
    "  leading and trailing spaces  ",
    "ünïcödé ✓ and emoji 🙂",
    "short",
    "Maya moved to Porto in May.",  # a duplicate
    "a long text " * 200,  # past the model's 256 tokens: truncated
] + [f"turn {i}: we talked about hiking, cooking and the weather on day {i}" for i in range(150)]

_EMBEDDERS = {
    "hash": lambda: HashEmbedder(),
    "sentence-transformers-onnx": lambda: SentenceTransformerEmbedder(EmbedderConfig(batch_size=16)),
    "sentence-transformers-traced": lambda: SentenceTransformerEmbedder(EmbedderConfig(batch_size=16, onnx=False)),
    "sentence-transformers-eager": lambda: SentenceTransformerEmbedder(EmbedderConfig(batch_size=16, traced=False)),
}


@pytest.fixture(scope="module", params=sorted(_EMBEDDERS))
def embedder(request):
    return _EMBEDDERS[request.param]()


def test_embedder_conformance(embedder):
    vecs = embedder.embed(TEXTS)
    assert vecs.shape == (len(TEXTS), embedder.dim) and vecs.dtype == np.float32
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert np.allclose(vecs[0], vecs[4], atol=1e-6)  # the same text, the same vector
    # each row belongs to its text, whatever the order and batching
    order = np.random.default_rng(0).permutation(len(TEXTS))
    shuffled = embedder.embed([TEXTS[i] for i in order])
    assert np.allclose(shuffled, vecs[order], atol=1e-5)
    assert np.allclose(embedder.embed_query(TEXTS[2]), vecs[2], atol=1e-5)
    assert embedder.embed([]).shape == (0, embedder.dim)
    # related texts are closer than unrelated ones (the hash embedder only sees shared words)
    a, b, c = embedder.embed(["we walked the mountain trail", "the mountain trail was steep", "tax forms are due"])
    assert a @ b > a @ c


@pytest.mark.parametrize("onnx", [True, False])
def test_compiled_engine_is_used_and_matches_sentence_transformers(onnx):
    traced = SentenceTransformerEmbedder(EmbedderConfig(batch_size=8, workers=2, onnx=onnx))
    eager = SentenceTransformerEmbedder(EmbedderConfig(batch_size=8, traced=False))
    got = traced.embed(TEXTS)
    assert traced.engine == ("onnx, 2 workers" if onnx else "traced, 2 workers") and eager._traced is None
    # under ONNX Runtime the bundled (mean-pooled) model runs whole in numpy: no torch, no module calls
    assert (traced._traced.lean is not None) == onnx
    want = eager._load().encode(TEXTS, batch_size=8, normalize_embeddings=True, convert_to_numpy=True)
    assert np.abs(got - want).max() < 1e-5


def test_the_lean_path_is_used_only_when_its_tokens_match_the_model(monkeypatch, caplog):
    import memkit.embedders as embedders
    import memkit.tracing as tracing

    monkeypatch.setattr(embedders, "_TRACED", {})
    cut = SentenceTransformerEmbedder(EmbedderConfig(batch_size=8))
    model = cut._load()
    lean = cut._traced.lean
    assert lean is not None and tracing._same_tokens(lean, model)
    lean.tokenizer.enable_truncation(16)  # a tokenizer that cuts texts elsewhere than the model does
    with caplog.at_level(logging.INFO, logger="memkit.tracing"):
        assert not tracing._same_tokens(lean, model)
    assert "differs from the model's preprocessing" in caplog.text
    monkeypatch.setattr(tracing, "_same_tokens", lambda lean, model: False)
    monkeypatch.setattr(embedders, "_TRACED", {})
    fallback = SentenceTransformerEmbedder(EmbedderConfig(batch_size=8))
    got = fallback.embed(TEXTS[:8])
    assert fallback._traced is not None and fallback._traced.lean is None and fallback.engine.startswith("onnx")
    want = model.encode(TEXTS[:8], normalize_embeddings=True, convert_to_numpy=True)
    assert np.abs(got - want).max() < 1e-5


def test_workers_run_one_torch_thread_each_and_leave_the_callers_setting():
    import torch

    before = torch.get_num_threads()
    emb = SentenceTransformerEmbedder(EmbedderConfig(batch_size=4, workers=3))
    emb.embed(TEXTS[:40])  # 10 batches over 3 workers
    assert emb._traced is not None and emb._traced.workers == 3
    seen: list[int] = []
    lock = threading.Lock()

    def record(_: int) -> int:
        with lock:
            seen.append(torch.get_num_threads())
        return 0

    emb._traced._batch_workers.map(record, list(range(12)))
    assert seen and set(seen) == {1}
    assert torch.get_num_threads() == before
    # a thread started afterwards still gets the process default
    other: list[int] = []
    t = threading.Thread(target=lambda: other.append(torch.get_num_threads()))
    t.start()
    t.join()
    assert other == [before]


@contextmanager
def _threads_seen_in_forward(emb: SentenceTransformerEmbedder) -> Iterator[list[tuple[str, int]]]:
    """(thread name, torch threads) for each forward: of the compiled encoder's batch forward (under ONNX Runtime
    it runs no torch module at all), or of the eager model's pooling module."""
    import torch

    seen: list[tuple[str, int]] = []
    lock = threading.Lock()

    def record(*_):
        with lock:
            seen.append((threading.current_thread().name, torch.get_num_threads()))

    model, traced = emb._load(), emb._traced
    if traced is None:
        handle = model[1].register_forward_pre_hook(record)
        try:
            yield seen
        finally:
            handle.remove()
        return
    forward = traced._forward
    traced._forward = lambda texts: (record(), forward(texts))[1]
    try:
        yield seen
    finally:
        del traced._forward


@pytest.fixture
def two_torch_threads():
    """At least two intra-op threads in the caller (the default on a machine of two cores or more)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(max(2, before))
    yield torch.get_num_threads()
    torch.set_num_threads(before)


@pytest.mark.parametrize("traced", [True, False])
def test_a_one_batch_call_runs_on_one_torch_thread_and_leaves_the_callers_setting(traced, two_torch_threads):
    # two intra-op threads on a tiny batch stall each other on a busy machine (a query took 370 ms instead of 8)
    import torch

    emb = SentenceTransformerEmbedder(EmbedderConfig(batch_size=16, traced=traced, workers=2))
    emb.embed(["load the model"])
    assert (emb._traced is not None) == traced
    with _threads_seen_in_forward(emb) as seen:
        emb.embed_query("where did Maya move?")
        assert [n for _, n in seen] == [1] and seen[0][0].startswith("memkit-embed-small")
        seen.clear()
        emb.embed(TEXTS[:6])  # a small add_many: one batch, shared out over the workers when traced
        assert seen and all(n == 1 for _, n in seen) and len(seen) == (2 if traced else 1)
        seen.clear()
        emb.embed(TEXTS[:40])  # several batches: traced, to the batch workers; eager, the caller's own threads
        assert all(n == (1 if traced else two_torch_threads) for _, n in seen)
    assert torch.get_num_threads() == two_torch_threads
    other: list[int] = []  # a thread started afterwards still gets the process default
    t = threading.Thread(target=lambda: other.append(torch.get_num_threads()))
    t.start()
    t.join()
    assert other == [two_torch_threads]


def test_add_and_search_embed_on_one_torch_thread(real_mem, two_torch_threads):
    import torch

    real_mem.add("Maya moved to Porto in May.", user_id="u")
    with _threads_seen_in_forward(real_mem.embedder) as seen:
        real_mem.add("She works at a bakery there.", user_id="u")
        hits = real_mem.search("where does Maya live?", user_id="u")
    assert hits and hits[0].note.content == "Maya moved to Porto in May."
    assert [n for _, n in seen] == [1, 1] and all(name.startswith("memkit-embed-small") for name, _ in seen)
    assert torch.get_num_threads() == two_torch_threads


@pytest.mark.parametrize("traced", [True, False])
def test_one_text_and_small_calls_give_the_batch_paths_vectors(traced):
    emb = SentenceTransformerEmbedder(EmbedderConfig(batch_size=16, traced=traced, workers=2))
    want = emb.embed(TEXTS[:40])  # three batches
    for i in range(6):
        assert np.abs(emb.embed_query(TEXTS[i]) - want[i]).max() < 1e-5
        assert np.abs(emb.embed([TEXTS[i]])[0] - want[i]).max() < 1e-5
    assert np.abs(emb.embed(TEXTS[:7]) - want[:7]).max() < 1e-5
    assert np.abs(emb.embed(TEXTS[:16]) - want[:16]).max() < 1e-5  # exactly one batch


def test_a_query_does_not_wait_for_batches_another_thread_is_embedding():
    emb = SentenceTransformerEmbedder(EmbedderConfig(batch_size=4, workers=2))
    want = emb.embed(["where did Maya move?", "pad"])[0]
    release = threading.Event()
    busy = threading.Barrier(emb._traced.workers + 1)

    def hold(_: int) -> None:  # every batch worker taken, as by a long add_many
        busy.wait(60)
        release.wait(60)

    pool = emb._traced._batch_workers._executor()
    held = [pool.submit(hold, i) for i in range(emb._traced.workers)]
    busy.wait(60)
    try:
        got: list[np.ndarray] = []
        t = threading.Thread(target=lambda: got.append(emb.embed_query("where did Maya move?")))
        t.start()
        t.join(120)  # a guard against a hang, not a timing
        assert got and np.abs(got[0] - want).max() < 1e-5
    finally:
        release.set()
        for f in held:
            f.result()


def test_a_trace_that_fails_its_check_falls_back_to_the_eager_model(monkeypatch, caplog):
    import memkit.embedders as embedders
    import memkit.tracing as tracing

    monkeypatch.setattr(tracing, "_TOLERANCE", -1.0)  # no trace can pass
    monkeypatch.setattr(embedders, "_TRACED", {})
    emb = SentenceTransformerEmbedder(EmbedderConfig(workers=2))
    with caplog.at_level(logging.WARNING, logger="memkit.tracing"):
        vecs = emb.embed(TEXTS[:5])
    assert emb._traced is None
    assert "running it eagerly" in caplog.text
    eager = SentenceTransformerEmbedder(EmbedderConfig(traced=False)).embed(TEXTS[:5])
    assert np.abs(vecs - eager).max() < 1e-5


def test_only_plain_text_transformers_are_traced():
    from memkit.tracing import _supported

    class NotATransformer:
        pass

    assert not _supported([NotATransformer()])
    model = SentenceTransformerEmbedder()._load()
    assert _supported(model)


@pytest.mark.parametrize("freeze", [True, False])
def test_loading_the_model_freezes_the_heap_unless_told_not_to(python, freeze):
    code = (
        "import gc\n"
        "from memkit.config import EmbedderConfig\n"
        "from memkit.embedders import SentenceTransformerEmbedder\n"
        f"SentenceTransformerEmbedder(EmbedderConfig(freeze_gc={freeze})).embed(['x'])\n"
        "print(gc.get_freeze_count())\n"
    )
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    count = int(out.stdout.strip().splitlines()[-1])
    assert (count > 100_000) if freeze else count == 0


def test_add_many_writes_with_one_blas_thread_and_restores_it(fast_mem, monkeypatch):
    from threadpoolctl import threadpool_info

    import memkit.ingest as ingest

    def blas_threads() -> set[int]:
        return {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}

    before = blas_threads()
    during: list[set[int]] = []
    write = ingest.write_chunk

    def spy(*args, **kwargs):
        during.append(blas_threads())
        return write(*args, **kwargs)

    monkeypatch.setattr(ingest, "write_chunk", spy)
    fast_mem.add_many([f"note {i}" for i in range(200)])  # two windows: embedding overlaps writing
    assert len(during) >= 2 and all(d == {1} for d in during)
    assert blas_threads() == before


def test_a_single_window_is_embedded_in_the_callers_thread(fast_mem, monkeypatch):
    # add() of one note has nothing to overlap: a thread per call would cost more than it saves
    import memkit.ingest as ingest

    def no_thread(*args, **kwargs):
        raise AssertionError("no embedding thread expected for one window")

    monkeypatch.setattr(ingest, "ThreadPoolExecutor", no_thread)
    note = fast_mem.add("one note")
    assert fast_mem.add_many([f"note {i}" for i in range(20)])[0].content == "note 0"
    assert fast_mem.get(note.id).content == "one note"


@pytest.mark.parametrize("traced", [True, False])
def test_threads_embedding_at_once_each_get_their_own_vectors(traced):
    from concurrent.futures import ThreadPoolExecutor

    emb = SentenceTransformerEmbedder(EmbedderConfig(batch_size=4, workers=3, traced=traced))
    texts = TEXTS[:24]
    want = emb.embed(texts)
    with ThreadPoolExecutor(4) as pool:
        many = [pool.submit(emb.embed, texts) for _ in range(6)]
        single = [pool.submit(emb.embed, [t]) for t in texts]
        assert all(np.abs(f.result() - want).max() < 1e-5 for f in many)
        assert all(np.abs(f.result()[0] - want[i]).max() < 1e-5 for i, f in enumerate(single))


def test_a_forked_child_can_still_embed(python):
    # torch's OpenMP threads and memkit's worker threads do not survive a fork; without care the child hangs
    code = (
        "import os\n"
        "from memkit.config import EmbedderConfig\n"
        "from memkit.embedders import SentenceTransformerEmbedder\n"
        "e = SentenceTransformerEmbedder(EmbedderConfig(batch_size=4, workers=2))\n"
        "texts = [f'text number {i}' for i in range(40)]\n"
        "a, q = e.embed(texts), e.embed(['one query'])\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    b, r = e.embed(texts), e.embed(['one query'])\n"
        "    os._exit(0 if abs(a - b).max() < 1e-5 and abs(q - r).max() < 1e-5 else 3)\n"
        "print('child', os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))\n"
    )
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    assert out.stdout.strip().splitlines()[-1] == "child 0"


def test_another_model_on_disk_is_traced_faithfully(tmp_path):
    # CLS pooling and a dense layer after the transformer: the modules after it run as sentence-transformers runs them
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Dense, Pooling, Transformer

    from memkit.embedders import bundled_minilm_path

    modules = [Transformer(str(bundled_minilm_path())), Pooling(384, pooling_mode="cls"), Dense(384, 128)]
    SentenceTransformer(modules=modules).save(str(tmp_path / "model"))
    traced = SentenceTransformerEmbedder(EmbedderConfig(model=str(tmp_path / "model"), batch_size=4, workers=2))
    eager = SentenceTransformerEmbedder(EmbedderConfig(model=str(tmp_path / "model"), batch_size=4, traced=False))
    got, want = traced.embed(TEXTS[:20]), eager.embed(TEXTS[:20])
    assert traced.engine == "onnx, 2 workers" and eager.engine == "eager"
    assert got.shape == (20, 128) and np.abs(got - want).max() < 1e-5


def _fresh_onnx_embedder(monkeypatch, cache) -> SentenceTransformerEmbedder:
    """A bundled-MiniLM embedder whose compiled run is made again (not the process's), with ``cache`` as memkit's
    cache folder."""
    import memkit.embedders as embedders

    monkeypatch.setenv("MEMKIT_CACHE_DIR", str(cache))
    monkeypatch.setattr(embedders, "_TRACED", {})
    return SentenceTransformerEmbedder(EmbedderConfig(batch_size=8, workers=2))


def test_the_onnx_export_is_cached_and_a_damaged_one_is_made_again(monkeypatch, tmp_path, caplog):
    want = SentenceTransformerEmbedder(EmbedderConfig(traced=False)).embed(TEXTS[:8])
    first = _fresh_onnx_embedder(monkeypatch, tmp_path / "cache")
    assert first.engine == "onnx, 2 workers"
    (path,) = (tmp_path / "cache" / "models" / "onnx").glob("*.onnx")
    stamp = path.stat().st_mtime_ns
    again = _fresh_onnx_embedder(monkeypatch, tmp_path / "cache")
    assert again.engine == "onnx, 2 workers" and path.stat().st_mtime_ns == stamp  # read, not exported again
    assert np.abs(again.embed(TEXTS[:8]) - want).max() < 1e-5
    path.write_bytes(path.read_bytes()[:1000])  # cut short, as by a full disk
    with caplog.at_level(logging.INFO, logger="memkit.onnxrt"):
        fixed = _fresh_onnx_embedder(monkeypatch, tmp_path / "cache")
        assert fixed.engine == "onnx, 2 workers"
    assert "exporting it again" in caplog.text and path.stat().st_size > 1_000_000
    assert np.abs(fixed.embed(TEXTS[:8]) - want).max() < 1e-5
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left beside it


def test_without_onnx_the_trace_runs(monkeypatch, tmp_path, caplog):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "onnx" else real(name, *a))
    with caplog.at_level(logging.INFO, logger="memkit.onnxrt"):
        emb = _fresh_onnx_embedder(monkeypatch, tmp_path / "cache")
        assert emb.engine == "traced, 2 workers"
    assert "the onnx package is not installed" in caplog.text
    assert not (tmp_path / "cache" / "models").exists()
    want = SentenceTransformerEmbedder(EmbedderConfig(traced=False)).embed(TEXTS[:8])
    assert np.abs(emb.embed(TEXTS[:8]) - want).max() < 1e-5
