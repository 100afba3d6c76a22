"""Tiny models for tests: a byte-level BPE tokenizer trained in memory and a randomly initialised Llama."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

EOS = "<|endoftext|>"


def bpe_tokenizer(corpus: Iterable[str], vocab_size: int, min_frequency: int) -> Any:
    """A byte-level BPE tokenizer trained on ``corpus``, with one end-of-text token (also the padding)."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import PreTrainedTokenizerFast

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(corpus, vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=[EOS])
    return PreTrainedTokenizerFast(tokenizer_object=bpe._tokenizer, eos_token=EOS, pad_token=EOS)


def tiny_llama(tokenizer: Any, seed: int = 0, *, hidden: int = 32, layers: int = 2, max_positions: int = 1024) -> Any:
    """A Llama of ``layers`` layers of width ``hidden`` with random weights from ``seed``, frozen, in eval mode."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    cfg = LlamaConfig(hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=layers,
                      num_attention_heads=4, num_key_value_heads=2, vocab_size=len(tokenizer),
                      max_position_embeddings=max_positions, pad_token_id=tokenizer.pad_token_id,
                      eos_token_id=tokenizer.eos_token_id, bos_token_id=tokenizer.eos_token_id)
    model = LlamaForCausalLM(cfg).eval()
    model.requires_grad_(False)
    return model
