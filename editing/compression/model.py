"""The compression memory bank: documents compressed into a few vectors each, aggregated for a question into
memory slots that a frozen causal LM reads (CMT, Li et al. 2024; MAC, Tack et al. 2024).

- **Compressor.** ``n_memory`` learned query tokens attend over the hidden states entering block ``L`` of the
  frozen model (``L = layer_fraction`` of the depth) for the document's tokens; each memory vector is the
  attention-weighted sum of those states plus a learned correction (zero at start), so even an untrained
  compressor writes vectors the upper blocks can read.  Writing a document is one partial forward pass and no
  training; its vectors go into the bank under the document's id, and forgetting the id deletes them.
- **Self-matching.** A question is compressed by the same compressor; a key (a projection of the mean of its
  vectors, unit length) is compared with each entry's key, and the ``top_k`` best entries are aggregated.
- **Aggregator.** The question's vectors attend over the retrieved entries' vectors, with each entry's match
  score (cosine / ``match_temperature``) added to its logits, so training the match is end to end; the result
  (``n_memory`` vectors) is written into ``n_memory`` slot positions in front of the prompt at block ``L``
  (:func:`memkit.hf.hooks.slots_at`): the blocks from ``L`` up attend to them like to context tokens.
- **Training** (:mod:`memkit.editing.compression.train`): answer likelihood given the aggregated memory, with
  the other documents of the batch as the bank's distractors; the base model stays frozen.

The paper's compressor is a separate (fine-tuned) language model and its memory a prefix of past key-values;
here the frozen model's own lower blocks are the encoder and the memory enters the residual stream at one block,
which keeps training on a CPU to minutes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from memkit.editing.compression.config import CompressionConfig
from memkit.editing.documents import Document, DocumentMemory
from memkit.errors import EditingError
from memkit.hf.hooks import decoder_layers, slots_at, states_before

__all__ = ["CompressionBank", "Compressor", "Aggregator", "SHAPE_FIELDS"]

# the options trained weights depend on: a weights file records them and must agree with the configuration
SHAPE_FIELDS = ("layer_fraction", "n_memory", "key_dim")


class Compressor(nn.Module):
    """Hidden states ``(B, T, d)`` → ``n_memory`` vectors ``(B, m, d)`` and a unit matching key ``(B, a)``."""

    def __init__(self, hidden: int, n_memory: int, key_dim: int) -> None:
        super().__init__()
        self.queries = nn.Parameter(torch.randn(n_memory, key_dim) / key_dim**0.5)
        self.norm = nn.LayerNorm(hidden)
        self.key = nn.Linear(hidden, key_dim, bias=False)
        self.out = nn.Linear(hidden, hidden, bias=False)
        self.match = nn.Linear(hidden, key_dim, bias=False)
        nn.init.zeros_(self.out.weight)

    def forward(self, states: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        keys = self.key(self.norm(states))  # (B, T, a)
        logits = torch.einsum("ma,bta->bmt", self.queries, keys) / keys.shape[-1] ** 0.5
        logits = logits.masked_fill(~mask.bool()[:, None, :], float("-inf"))
        pooled = torch.einsum("bmt,btd->bmd", logits.softmax(-1), states)
        vectors = pooled + self.out(self.norm(pooled))
        return vectors, F.normalize(self.match(self.norm(vectors.mean(1))), dim=-1)


class Aggregator(nn.Module):
    """The question's vectors ``(B, m, d)`` attend over ``k`` entries ``(B, k, m, d)`` with per-entry biases."""

    def __init__(self, hidden: int, key_dim: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(hidden)
        self.q = nn.Linear(hidden, key_dim, bias=False)
        self.k = nn.Linear(hidden, key_dim, bias=False)
        self.out = nn.Linear(hidden, hidden, bias=False)
        nn.init.zeros_(self.out.weight)

    def forward(self, query: torch.Tensor, entries: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        m = entries.shape[2]
        flat = entries.flatten(1, 2)  # (B, k*m, d)
        logits = self.q(self.norm(query)) @ self.k(self.norm(flat)).transpose(1, 2) / self.q.out_features**0.5
        logits = logits + bias.repeat_interleave(m, dim=1)[:, None, :]
        pooled = logits.softmax(-1) @ flat
        return pooled + self.out(self.norm(pooled))


class CompressionBank(DocumentMemory):
    """A bank of compressed documents read by a frozen LM through memory slots (see the module docstring)."""

    name = "compression"
    config_class = CompressionConfig
    config: CompressionConfig

    def _build(self) -> None:
        _, blocks = decoder_layers(self.model)
        self.layer_index = max(1, min(len(blocks) - 1, round(self.config.layer_fraction * len(blocks))))
        self.n_slots = self.config.n_memory
        hidden = int(self.model.get_input_embeddings().weight.shape[1])
        self.compressor = Compressor(hidden, self.config.n_memory, self.config.key_dim).to(self.device)
        self.aggregator = Aggregator(hidden, self.config.key_dim).to(self.device)
        self.compressor.requires_grad_(False)
        self.aggregator.requires_grad_(False)
        self.ids: list[str] = []
        self.vectors = torch.zeros(0, self.config.n_memory, hidden, device=self.device)
        self.keys = torch.zeros(0, self.config.key_dim, device=self.device)
        self._batch_bank: tuple[torch.Tensor, torch.Tensor] | None = None
        if self.config.weights:
            self.load_weights(self.config.weights)

    # -- trained weights ----------------------------------------------------------------------------
    def networks(self) -> dict[str, nn.Module]:
        return {"compressor": self.compressor, "aggregator": self.aggregator}

    def weights(self) -> dict[str, torch.Tensor]:
        return {f"{n}.{k}": v for n, net in self.networks().items() for k, v in net.state_dict().items()}

    def load_weights(self, path: str) -> None:
        import json
        from pathlib import Path

        from safetensors import safe_open
        from safetensors.torch import load_file

        file = Path(path).expanduser()
        if not file.is_file():
            raise EditingError(f"no trained compression weights at {file}; train them with "
                               "`python -m memkit.editing.compression.train --out FILE`")
        with safe_open(str(file), "pt") as f:
            meta = f.metadata() or {}
        trained = json.loads(meta.get("config", "{}"))
        differ = {k: (v, getattr(self.config, k)) for k, v in trained.items() if getattr(self.config, k, v) != v}
        if differ:
            said = ", ".join(f"{k}={a} (configured {b})" for k, (a, b) in differ.items())
            raise EditingError(f"the weights in {file} were trained with {said}; configure the same")
        self._load_weights(load_file(str(file), device=str(self.device)), str(file))

    def _load_weights(self, tensors: dict[str, torch.Tensor], where: str) -> None:
        for name, net in self.networks().items():
            part = {k.removeprefix(name + "."): v for k, v in tensors.items() if k.startswith(name + ".")}
            try:
                net.load_state_dict(part)
            except RuntimeError as exc:
                raise EditingError(f"the weights in {where} do not fit this model and configuration: {exc}") from None

    # -- compressing ------------------------------------------------------------------------------------
    def states(self, rows: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """Hidden states entering block ``L`` for token rows (right-padded), and their mask; no gradients."""
        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), self.tokenizer.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, r in enumerate(rows):
            ids[i, : len(r)] = torch.tensor(list(r))
            mask[i, : len(r)] = 1
        ids, mask = ids.to(self.device), mask.to(self.device)
        with torch.no_grad():
            return states_before(self.model, self.layer_index, ids, mask), mask

    def compress(self, rows: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """(vectors ``(B, m, d)``, keys ``(B, a)``) of token rows; differentiable in the compressor's weights."""
        return self.compressor(*self.states(rows))

    def memory_for(self, queries: Sequence[Sequence[int]], bank: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """The ``(B, m, d)`` memory slots for questions (token rows) from a bank of (vectors, keys)."""
        vectors, keys = bank
        q_vectors, q_keys = self.compress(queries)
        sims = q_keys @ keys.T  # (B, N)
        top = sims.topk(min(self.config.top_k, keys.shape[0]), dim=-1)
        return self.aggregator(q_vectors, vectors[top.indices], top.values / self.config.match_temperature)

    @contextlib.contextmanager
    def batch_bank(self, documents: Sequence[str]) -> Iterator[None]:
        """For training: within the block, the bank is these documents' compressions, with gradients."""
        self._batch_bank = self.compress([self.doc_ids(d) for d in documents])
        try:
            yield
        finally:
            self._batch_bank = None

    # -- DocumentMemory -------------------------------------------------------------------------------
    def _n_slots(self) -> int:
        return super()._n_slots() if (self.ids or self._batch_bank is not None) else 0

    def _add(self, docs: list[Document]) -> None:
        vectors, keys = self.compress([self.doc_ids(d.text) for d in docs])
        self.vectors = torch.cat([self.vectors, vectors.detach()])
        self.keys = torch.cat([self.keys, keys.detach()])
        self.ids += [d.id for d in docs]

    def _remove(self, ids: list[str]) -> None:
        gone = set(ids)
        keep = [i for i, x in enumerate(self.ids) if x not in gone]
        index = torch.tensor(keep, dtype=torch.long, device=self.device)
        self.vectors, self.keys = self.vectors[index], self.keys[index]
        self.ids = [self.ids[i] for i in keep]

    @contextlib.contextmanager
    def _conditioned(self, queries: list[list[int]], mask: torch.Tensor) -> Iterator[None]:
        bank = self._batch_bank if self._batch_bank is not None else (self.vectors, self.keys)
        if int(mask.sum()) == 0 or bank[1].shape[0] == 0:
            yield
            return
        with slots_at(self.model, self.layer_index, mask, self.memory_for(queries, bank)):
            yield

    def _state_tensors(self) -> dict[str, torch.Tensor]:
        return {**self.weights(), "bank.vectors": self.vectors, "bank.keys": self.keys}

    def _state_meta(self) -> dict[str, Any]:
        return {"ids": self.ids, "layer_index": self.layer_index}

    def _restore(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        self._load_weights({k: v for k, v in tensors.items() if not k.startswith("bank.")}, "the saved memory")
        self.vectors, self.keys, self.ids = tensors["bank.vectors"], tensors["bank.keys"], list(meta["ids"])
        if len(self.ids) != self.vectors.shape[0] or set(self.ids) != set(self.docs):
            raise EditingError("the saved bank's entries do not match its documents")

    def _describe_state(self) -> dict[str, Any]:
        _, m, d = self.vectors.shape  # the bank's width is known even while it is empty
        per_entry = m * d * self.vectors.element_size() + self.keys.shape[1] * self.keys.element_size()
        return {"layer": self.layer_index, "entries": len(self.ids), "bytes_per_entry": per_entry,
                "bank_bytes": per_entry * len(self.ids),
                "trained_parameters": sum(p.numel() for net in self.networks().values() for p in net.parameters()),
                "weights": self.config.weights}
