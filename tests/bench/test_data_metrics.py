"""Data sources (path, URL with cache, clear failures) and the shared metrics."""

from __future__ import annotations

import math
import zipfile

import numpy as np
import pytest

from memkit.bench.data import data_root, fetch, resolve_dataset
from memkit.bench.metrics import (
    cluster_answers,
    contains_answer,
    kl_divergence,
    normalize_answer,
    persuasion_score,
    summarize_metric,
    wilson_interval,
)
from memkit.errors import BenchError


def test_data_root_comes_from_the_environment(monkeypatch, tmp_path, data_dir):
    assert data_root() == data_dir
    monkeypatch.setenv("MEMKIT_DATA_DIR", str(tmp_path / "missing"))
    with pytest.raises(BenchError, match="MEMKIT_DATA_DIR"):
        data_root()


def test_a_url_is_fetched_once_unpacked_and_cached(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    archive = src / "dataset.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("conflictqa/conflictQA-strategyQA-llama2-7b.json", '{"question": "q"}\n')
    cache = tmp_path / "cache"
    url = archive.as_uri()
    folder = fetch(url, cache=cache)
    assert (folder / "conflictqa" / "conflictQA-strategyQA-llama2-7b.json").is_file()
    archive.unlink()  # a second call must not need the source any more
    assert fetch(url, cache=cache) == folder


def test_resolve_dataset_with_a_url_finds_the_subfolder(tmp_path, monkeypatch):
    monkeypatch.setenv("MEMKIT_CACHE_DIR", str(tmp_path / "cache"))
    archive = tmp_path / "d.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("conflictqa/conflictQA-strategyQA-llama2-7b.json", "{}\n")
    root = resolve_dataset(archive.as_uri(), "conflictqa", ["conflictQA-strategyQA-llama2-7b.json"])
    assert root.name == "conflictqa"


def test_missing_data_fails_with_what_is_missing(tmp_path):
    with pytest.raises(BenchError, match="lacks x.csv"):
        resolve_dataset(tmp_path, "unused", ["x.csv"])
    with pytest.raises(BenchError, match="could not fetch"):
        fetch((tmp_path / "nope.zip").as_uri(), cache=tmp_path / "c")


def test_archives_cannot_write_outside_the_cache(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../../escape.txt", "x")
    with pytest.raises(BenchError, match="outside"):
        fetch(archive.as_uri(), cache=tmp_path / "c")


def test_answer_matching_and_intervals():
    assert normalize_answer("The  Harbour-Master!") == "harbour master"
    assert contains_answer("It was the journalist, I think", ["journalist"])
    assert not contains_answer("journalistic work", ["journalist"])
    lo, hi = wilson_interval(5, 10)
    assert lo < 0.5 < hi and 0 <= lo and hi <= 1
    assert all(math.isnan(v) for v in wilson_interval(0, 0))
    s = summarize_metric([1.0, 0.0, None, 1.0])
    assert s["n"] == 3 and s["mean"] == pytest.approx(2 / 3)


def test_kl_and_persuasion():
    p = np.array([0.5, 0.5, 0.0])
    assert kl_divergence(p, p) == 0.0
    assert kl_divergence(np.array([0.9, 0.1]), np.array([0.5, 0.5])) == pytest.approx(
        0.9 * math.log(1.8) + 0.1 * math.log(0.2))
    d_q = np.array([[0.8, 0.2], [0.8, 0.2]])
    d_c = np.array([[0.2, 0.8], [0.2, 0.8]])
    assert persuasion_score([[0, 1]], d_c, [[0, 1]], d_q) == pytest.approx(kl_divergence(d_c[0], d_q[0]))
    assert persuasion_score([[0, 1]], d_q, [[0, 1]], d_q) == 0.0


def test_clustering_by_normalised_strings_and_by_embeddings():
    assert cluster_answers(["A journalist", "journalist.", "poet", ""], "normalized") == [[0, 1], [2], [3]]

    def embed(texts):
        v = np.array([[1.0, 0.0] if "poet" in t else [0.0, 1.0] for t in texts])
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    assert cluster_answers(["poet", "a poet", "judge"], "embedding", embed=embed) == [[0, 1], [2]]
    with pytest.raises(ValueError, match="unknown clustering"):
        cluster_answers(["x"], "nli")
