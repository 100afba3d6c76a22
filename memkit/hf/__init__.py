"""The one Hugging Face runtime: loading a causal LM and its tokenizer (:mod:`memkit.hf.load`) and running
it (:mod:`memkit.hf.runtime`): a key/value cache, scoring, generation, chat templates, torch threads.

Light on import: torch and transformers load only when a model is loaded or run.
"""

from memkit.hf.load import DEFAULT_BASE_MODEL, cache_dir, load_base_model, require_editing_deps, resolve_device
from memkit.hf.runtime import CausalLM, chat_prompt, chat_text, shared_causal_lm, torch_threads

__all__ = ["DEFAULT_BASE_MODEL", "load_base_model", "cache_dir", "require_editing_deps", "resolve_device",
           "CausalLM", "shared_causal_lm", "chat_prompt", "chat_text", "torch_threads"]
