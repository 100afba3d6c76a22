"""DSI++: a causal LM that maps a note, or a query, to the note's id (Tay et al. 2022, "Transformer Memory as a
Differentiable Search Index"; Mehta et al., EMNLP 2023, "DSI++: Updating Transformer Memory with New Documents").

- **Model.** The base model stays frozen; a LoRA adapter (rank ``lora_rank``, on ``lora_modules`` of the blocks
  from ``lora_from`` of the depth up, applied through :func:`memkit.hf.hooks.linear_deltas`; not the PEFT
  library) is what learns.  Input: ``"{text}\\nnote id:"``; output: the docid's tokens and end-of-text.
- **Indexing and retrieval training.** A write trains on each new note's text → docid (indexing) and on
  ``pseudo_queries`` random spans of it → docid (retrieval), ``epochs`` passes.
- **Continual indexing (DSI++).** ``replay``: every batch also holds fresh pseudo-queries of earlier notes (the
  generative memory: made again from the stored note text each time, never stored); ``sam``: sharpness-aware
  minimisation (Foret et al. 2021: the gradient is taken at ``w + rho * g / |g|``), DSI++'s flatter minima.
- **Search.** Beam search constrained by a prefix trie of the docids held, so only valid ids come out, ranked.
  Forgetting a note takes its id out of the trie: it can never be returned again.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from memkit.editing.documents import Document, DocumentMemory
from memkit.editing.dsi.config import DSIConfig
from memkit.editing.dsi.docids import DocidScheme, Trie
from memkit.errors import ConfigError, InvalidInputError
from memkit.hf.hooks import decoder_layers, linear_deltas

__all__ = ["DSIIndex", "LoRA", "pseudo_queries"]


class LoRA(nn.Module):
    """``x ↦ (alpha / r) · B A x`` with ``B`` zero at start (the adapter begins as a no-op)."""

    def __init__(self, d_in: int, d_out: int, rank: int, alpha: float) -> None:
        super().__init__()
        self.a = nn.Parameter(torch.randn(rank, d_in) / d_in**0.5)
        self.b = nn.Parameter(torch.zeros(d_out, rank))
        self.scale = alpha / rank

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x @ self.a.T @ self.b.T) * self.scale


def pseudo_queries(text: str, n: int, rng: random.Random) -> list[str]:
    """``n`` random spans of ``text`` (3 words up to half of it, at least 3), DSI's cheapest pseudo-queries."""
    words = text.split()
    if len(words) <= 3:
        return [text] * n
    out = []
    for _ in range(n):
        size = rng.randint(3, max(3, (len(words) + 1) // 2))
        start = rng.randint(0, len(words) - size)
        out.append(" ".join(words[start : start + size]))
    return out


class DSIIndex(DocumentMemory):
    """A generative index of note ids (see the module docstring)."""

    name = "dsi"
    config_class = DSIConfig
    config: DSIConfig
    scores_note_ids: ClassVar[bool] = True  # score()'s targets are note ids: how likely each note is to be found

    def _build(self) -> None:
        if self.config.weights:
            raise ConfigError("dsi learns its weights from the notes it indexes: save and load the index instead "
                              "of giving `weights`")
        prefix, blocks = decoder_layers(self.model)
        start = min(len(blocks) - 1, round(self.config.lora_from * len(blocks)))
        self.lora = nn.ModuleDict()
        self.paths: dict[str, str] = {}
        for i in range(start, len(blocks)):
            for name in self.config.lora_modules:
                path = f"{prefix}.{i}.{name}"
                try:
                    module = self.model.get_submodule(path)
                except AttributeError:
                    raise ConfigError(f"the model has no module {path!r}; set lora_modules") from None
                key = path.replace(".", "_")
                self.lora[key] = LoRA(module.in_features, module.out_features, self.config.lora_rank,
                                      self.config.lora_alpha).to(self.device)
                self.paths[key] = path
        self.lora.requires_grad_(False)
        self.scheme = DocidScheme(self.config.docids, self.tokenizer, branching=self.config.branching,
                                  leaf_size=self.config.leaf_size, seed=self.config.seed)
        self.docid: dict[str, str] = {}  # note id -> docid
        self.by_tokens: dict[tuple[int, ...], str] = {}  # docid tokens -> note id
        self.trie = Trie()
        self.embedder: Any = None  # semantic docids: memkit's default embedder unless set
        self.rng = random.Random(self.config.seed)
        self.train_seconds = 0.0
        self.trained_notes = 0
        self.trained_examples = 0

    # -- text formats -----------------------------------------------------------------------------------
    def prompt_ids(self, prompt: str) -> list[int]:
        return super().prompt_ids(f"{prompt}\nnote id:")

    def target_ids(self, prompt_ids: list[int], target: str) -> list[int]:
        """A target is a note id; its tokens are the note's docid's."""
        if target not in self.docid:
            raise InvalidInputError(f"the index holds no note {target!r}")
        return self.scheme.tokens(self.docid[target])

    def _conditioned(self, queries: list[list[int]], mask: torch.Tensor) -> contextlib.AbstractContextManager[Any]:
        return linear_deltas(self.model, {self.paths[k]: m for k, m in self.lora.items()})

    # -- writing: docids, then training -------------------------------------------------------------------
    def _embed(self, texts: list[str]) -> np.ndarray:
        if self.embedder is None:
            from memkit.config import EmbedderConfig
            from memkit.embedders import create_embedder

            self.embedder = create_embedder(EmbedderConfig())
        return np.asarray(self.embedder.embed(texts))

    def _add_all(self, docs: list[Document], batch_size: int, bar: Any) -> None:
        embeddings = self._embed([d.text for d in docs]) if self.config.docids == "semantic" else None
        for doc, docid in zip(docs, self.scheme.assign(len(docs), embeddings), strict=True):
            tokens = self.scheme.tokens(docid)
            self.docid[doc.id] = docid
            self.by_tokens[tuple(tokens)] = doc.id
            self.trie.add(tokens)
        new = {d.id for d in docs}
        self.train(docs, [d for d in self.docs.values() if d.id not in new])
        bar.advance(len(docs))

    def _remove(self, ids: list[str]) -> None:
        for note_id in ids:
            tokens = self.scheme.tokens(self.docid.pop(note_id))
            self.trie.remove(tokens)
            del self.by_tokens[tuple(tokens)]

    def _examples(self, docs: Sequence[Document], with_text: bool) -> list[tuple[str, str]]:
        out = []
        for d in docs:
            if with_text:
                out.append((d.text, d.id))
            out += [(q, d.id) for q in pseudo_queries(d.text, self.config.pseudo_queries, self.rng)]
        return out

    def _loss(self, batch: list[tuple[str, str]]) -> torch.Tensor:
        rows = []
        for text, note_id in batch:
            prompt = self.prompt_ids(text)[-(self.config.max_length - 16):]
            rows.append((prompt, self.scheme.tokens(self.docid[note_id])))
        ids, attn, labels = self.collate(rows)
        keep, r, c, targets = self.target_positions(labels)
        with self._conditioned([], attn):
            logits = self.model(input_ids=ids, attention_mask=attn, logits_to_keep=keep, use_cache=False).logits
        return F.cross_entropy(logits[r, c].float(), targets)

    def train(self, new: Sequence[Document], earlier: Sequence[Document]) -> list[float]:
        """Index ``new`` notes (their docids already given); with ``replay``, pseudo-queries of ``earlier`` notes
        join every epoch.  Returns the mean loss of each epoch."""
        cfg = self.config
        params = list(self.lora.parameters())
        for p in params:
            p.requires_grad_(True)
        opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.0)
        start, losses = time.perf_counter(), []
        try:
            for _ in range(cfg.epochs):
                examples = self._examples(new, with_text=True)
                if cfg.replay and earlier:
                    n = round(cfg.replay_ratio * len(examples))
                    examples += self._examples(self.rng.choices(list(earlier), k=n), with_text=False)[:n]
                self.rng.shuffle(examples)
                total = 0.0
                for lo in range(0, len(examples), cfg.batch_size):
                    total += self._step(examples[lo : lo + cfg.batch_size], params, opt) * len(examples[lo : lo + cfg.batch_size])
                losses.append(total / len(examples))
                self.trained_examples += len(examples)
        finally:
            for p in params:
                p.requires_grad_(False)
        self.train_seconds += time.perf_counter() - start
        self.trained_notes += len(new)
        return losses

    def _step(self, batch: list[tuple[str, str]], params: list[nn.Parameter], opt: torch.optim.Optimizer) -> float:
        opt.zero_grad()
        loss = self._loss(batch)
        loss.backward()
        if self.config.sam:  # the gradient at the worst nearby point of the rho-ball
            grads = [p.grad.detach().clone() if p.grad is not None else torch.zeros_like(p) for p in params]
            norm = torch.sqrt(sum((g**2).sum() for g in grads)) + 1e-12
            steps = [self.config.sam_rho * g / norm for g in grads]
            with torch.no_grad():
                for p, e in zip(params, steps, strict=True):
                    p.add_(e)
            opt.zero_grad()
            self._loss(batch).backward()
            with torch.no_grad():
                for p, e in zip(params, steps, strict=True):
                    p.sub_(e)
        opt.step()
        return float(loss.detach())

    # -- search -----------------------------------------------------------------------------------------
    @torch.no_grad()
    def search(self, queries: Sequence[str], k: int = 10) -> list[list[tuple[str, float]]]:
        """For each query, up to ``k`` (note id, log-probability of its docid) pairs, best first."""
        if isinstance(queries, str):
            raise InvalidInputError("search takes a list of queries")
        if not self.docid:
            return [[] for _ in queries]
        longest = max(len(t) for t in self.by_tokens)
        beams = max(k, self.config.beams)
        out = []
        for q in queries:
            found: dict[str, float] = {}
            for tokens, score in self.lm.beam_search(self.prompt_ids(q), allowed=self.trie.next, beams=beams,
                                                     max_new_tokens=longest,
                                                     around=lambda attn: self._in_use([], attn, 0)):
                note = self.by_tokens.get(tuple(tokens))
                if note is not None and np.isfinite(score) and note not in found:
                    found[note] = score
            out.append(sorted(found.items(), key=lambda kv: -kv[1])[:k])
        return out

    def generate(self, prompts: Sequence[str], *, max_new_tokens: int = 32) -> list[str]:
        """The best note id for each prompt ("" when the index is empty)."""
        return [hits[0][0] if hits else "" for hits in self.search(prompts, k=1)]

    # -- saving -------------------------------------------------------------------------------------------
    def _state_tensors(self) -> dict[str, torch.Tensor]:
        return dict(self.lora.state_dict())

    def _state_meta(self) -> dict[str, Any]:
        return {"scheme": self.scheme.state(), "docids": self.docid, "train_seconds": self.train_seconds,
                "trained_notes": self.trained_notes, "trained_examples": self.trained_examples}

    def _restore(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        self.lora.load_state_dict(tensors)
        self.scheme.restore(meta["scheme"])
        self.docid, self.by_tokens, self.trie = {}, {}, Trie()
        for note_id, docid in meta["docids"].items():
            tokens = self.scheme.tokens(docid)
            self.docid[note_id] = docid
            self.by_tokens[tuple(tokens)] = note_id
            self.trie.add(tokens)
        self.train_seconds = float(meta["train_seconds"])
        self.trained_notes, self.trained_examples = int(meta["trained_notes"]), int(meta["trained_examples"])

    def _describe_state(self) -> dict[str, Any]:
        return {"docids": self.config.docids, "ids_in_trie": self.trie.size,
                "lora_parameters": sum(p.numel() for p in self.lora.parameters()),
                "adapted_modules": len(self.lora), "trained_notes": self.trained_notes,
                "trained_examples": self.trained_examples,
                "train_seconds_per_100_notes": round(100 * self.train_seconds / self.trained_notes, 1)
                if self.trained_notes else None,
                "replay": self.config.replay, "sam": self.config.sam}
