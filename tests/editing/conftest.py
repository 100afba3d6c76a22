"""Fixtures for parametric memories: a tiny tokenizer and tiny random models, and the real SmolLM2."""

from __future__ import annotations

import contextlib
import copy

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from memkit.editing import synthetic_edits  # noqa: E402
from memkit.editing.synthetic import irrelevant_texts  # noqa: E402
from tests.tiny_models import bpe_tokenizer  # noqa: E402
from tests.tiny_models import tiny_llama as build_tiny_llama  # noqa: E402


@contextlib.contextmanager
def one_torch_thread():
    """Tiny models run fastest on one thread, and a shared CPU does not thrash."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def _one_torch_thread():
    with one_torch_thread():
        yield


@pytest.fixture(scope="module")
def module_one_thread():
    """For module-scoped fixtures, which are set up before the function-scoped autouse one."""
    with one_torch_thread():
        yield


def _corpus() -> list[str]:
    lines = []
    for e in synthetic_edits(200, seed=0):
        lines += [f"{e.prompt} {e.target_new}", f"{e.rephrase_prompt} {e.ground_truth}",
                  f"{e.locality_prompt} {e.locality_ground_truth}"]
    return lines + irrelevant_texts() + ["I You Because Yes Q: the a of is in was"]


@pytest.fixture(scope="session")
def tiny_tokenizer():
    """A byte-level BPE tokenizer (about 600 tokens) trained in memory on the synthetic edit texts."""
    return bpe_tokenizer(_corpus(), vocab_size=600, min_frequency=1)


def make_tiny_llama(tokenizer, seed: int = 0, layers: int = 4):
    return build_tiny_llama(tokenizer, seed, hidden=64, layers=layers, max_positions=256)


@pytest.fixture
def tiny_llama(tiny_tokenizer):
    return make_tiny_llama(tiny_tokenizer)


@pytest.fixture
def tiny_gpt2(tiny_tokenizer):
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    cfg = GPT2Config(n_embd=64, n_layer=3, n_head=4, n_positions=256, vocab_size=len(tiny_tokenizer),
                     bos_token_id=tiny_tokenizer.eos_token_id, eos_token_id=tiny_tokenizer.eos_token_id)
    return GPT2LMHeadModel(cfg).eval()


@pytest.fixture
def edits():
    return synthetic_edits(6, seed=1)


@pytest.fixture(scope="session")
def _smollm2_master():
    from memkit.hf.load import load_base_model

    with one_torch_thread():
        return load_base_model(device="cpu")


@pytest.fixture
def smollm2(_smollm2_master):
    """A fresh copy of the real SmolLM2-135M-Instruct (back ends wrap a module in place)."""
    model, tokenizer = _smollm2_master
    return copy.deepcopy(model), tokenizer


@pytest.fixture
def make_llama(tiny_tokenizer):
    """Build another tiny Llama: ``make_llama(seed=...)``."""
    return lambda seed=0: make_tiny_llama(tiny_tokenizer, seed=seed)
