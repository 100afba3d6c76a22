"""The base class of document memories: back ends that turn documents into something a frozen causal LM uses
without the documents in its prompt (the compression memory bank, the generative adapter, the DSI index).

A subclass sets ``name``, ``config_class`` and ``n_slots`` and overrides:

- ``_build()``: make its trainable parts (and load ``config.weights`` when set);
- ``_add(docs)`` / ``_remove(ids)``: take documents in, drop them (``_add_all(docs, ...)`` instead of ``_add``
  when a write trains on all of its documents at once, as DSI does);
- ``_conditioned(queries, mask)``: a context manager active around the forward pass of a batch; ``queries`` are
  the rows' prompt token ids (no memory slots), ``mask`` (``(rows, width)`` bool) marks each row's ``n_slots``
  memory-slot positions (placeholders the memory writes into, see :func:`memkit.hf.hooks.slots_at`);
- ``_state_tensors()`` / ``_state_meta()`` / ``_restore(tensors, meta)``, ``_describe_state()``.

Writing, forgetting, teacher-forced scoring, greedy generation, save/load and describe live here, on the one
Hugging Face runtime (:mod:`memkit.hf`).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from memkit.editing.config import DocumentMemoryConfig
from memkit.editing.persist import TENSORS, read_manifest, write_memory
from memkit.editing.types import Document, EditRequest, TargetScore, WriteReport, as_document
from memkit.errors import EditingError, InvalidInputError
from memkit.hf.hooks import slot_mask
from memkit.hf.load import frozen_base, require_editing_deps
from memkit.hf.runtime import CausalLM, chat_prompt
from memkit.progress import progress_bar

__all__ = ["Document", "DocumentMemoryConfig", "DocumentMemory", "as_document"]


class DocumentMemory:
    """Shared machinery of document memories; see the module docstring for what to override."""

    name: ClassVar[str] = "documents"
    config_class: ClassVar[type[DocumentMemoryConfig]] = DocumentMemoryConfig
    takes_documents: ClassVar[bool] = True  # Memory.consolidate writes whole notes, not facts split into edits
    n_slots: int = 0

    def __init__(self, config: DocumentMemoryConfig | None = None, *, model: Any = None, tokenizer: Any = None,
                 base_model: str | None = None, device: str | None = None, dtype: Any = None) -> None:
        require_editing_deps()
        model, tokenizer, self.base_model = frozen_base(model, tokenizer, base_model, device, dtype)
        if config is None:
            config = self.config_class()
        elif not isinstance(config, self.config_class):
            raise InvalidInputError(f"{type(self).__name__} needs a {self.config_class.__name__}, got {type(config).__name__}")
        self.config = config
        self.model = model
        self.tokenizer = tokenizer
        self.lm = CausalLM(model, tokenizer, self.base_model)
        self.device = next(model.parameters()).device
        self.docs: dict[str, Document] = {}
        self.n_writes = 0
        self.enabled = True
        torch.manual_seed(config.seed)
        self._build()

    # -- what subclasses provide ----------------------------------------------------------
    def _build(self) -> None:
        raise NotImplementedError

    def _add(self, docs: list[Document]) -> None:
        raise NotImplementedError

    def _remove(self, ids: list[str]) -> None:
        raise NotImplementedError

    def _add_all(self, docs: list[Document], batch_size: int, bar: Any) -> None:
        """Take in one write's documents (``bar.advance(n)`` as they go): by default ``_add`` in batches, with no
        gradients (no training)."""
        for lo in range(0, len(docs), batch_size):
            with torch.no_grad():
                self._add(docs[lo : lo + batch_size])
            bar.advance(len(docs[lo : lo + batch_size]))

    def _conditioned(self, queries: list[list[int]], mask: torch.Tensor) -> contextlib.AbstractContextManager[Any]:
        raise NotImplementedError

    def _state_tensors(self) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def _state_meta(self) -> dict[str, Any]:
        return {}

    def _restore(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        raise NotImplementedError

    def _describe_state(self) -> dict[str, Any]:
        return {}

    def _n_slots(self) -> int:
        """Memory slots in front of each prompt now: ``n_slots`` while the memory is in use (subclasses may say 0
        when there is nothing to put in them, so an empty memory runs the base model's exact prompts)."""
        return self.n_slots if self.enabled else 0

    # -- tokens ---------------------------------------------------------------------------------
    def doc_ids(self, text: str) -> list[int]:
        """A document's token ids (cut to ``max_doc_tokens``)."""
        ids = list(self.tokenizer(text, add_special_tokens=False)["input_ids"])[: self.config.max_doc_tokens]
        if not ids:
            raise InvalidInputError(f"the document {text[:40]!r} encodes to no tokens")
        return ids

    def prompt_ids(self, prompt: str) -> list[int]:
        text = chat_prompt(self.tokenizer, prompt) if self.config.chat_template else prompt
        return list(self.tokenizer(text)["input_ids"])

    def target_ids(self, prompt_ids: list[int], target: str) -> list[int]:
        last = self.tokenizer.decode(prompt_ids[-1:]) if prompt_ids else ""
        sep = "" if (not last or last[-1:].isspace() or target[:1].isspace()) else " "
        ids = list(self.tokenizer(sep + target, add_special_tokens=False)["input_ids"])
        if not ids:
            raise InvalidInputError(f"the target {target!r} encodes to no tokens")
        return ids

    def _row(self, prompt: str, target: str | None, n_slots: int) -> tuple[list[int], list[int], list[int]]:
        """(slots + prompt ids, the prompt ids alone, target ids), the prompt cut on the left to fit."""
        prompt_ids = self.prompt_ids(prompt)
        target_ids = self.target_ids(prompt_ids, target) if target is not None else []
        room = self.config.max_length - len(target_ids) - n_slots
        if room < 1:
            raise InvalidInputError(f"the target {target!r} is longer than max_length={self.config.max_length}")
        prompt_ids = prompt_ids[-room:]
        slot = self.tokenizer.pad_token_id
        return [slot] * n_slots + prompt_ids, prompt_ids, target_ids

    @contextlib.contextmanager
    def _in_use(self, queries: list[list[int]], attention_mask: torch.Tensor, n_slots: int) -> Iterator[None]:
        if not self.enabled:
            yield
            return
        with self._conditioned(queries, slot_mask(attention_mask, n_slots)):
            yield

    # -- the protocol ----------------------------------------------------------------------------
    def write(self, items: Sequence[Document | EditRequest | dict[str, Any] | str], *, progress: bool = False,
              batch_size: int = 16) -> WriteReport:
        """Take documents in (a document with an id already held, or repeated, replaces the earlier one).  Every
        document is checked before anything held changes."""
        if isinstance(items, str | Document | dict):
            raise InvalidInputError("write takes a list of documents")
        docs = list({d.id: d for d in (as_document(i) for i in items)}.values())
        for d in docs:
            self.doc_ids(d.text)
        report = WriteReport(backend=self.name)
        start = time.perf_counter()
        replaced = [d.id for d in docs if d.id in self.docs]
        if replaced:
            self._remove(replaced)
        with progress_bar(f"{self.name}: reading documents", len(docs), progress) as bar:
            self._add_all(docs, batch_size, bar)
        for d in docs:
            self.docs[d.id] = d
            report.request_ids.append(d.id)
            report.steps.append(0)
            report.final_loss.append(0.0)
        self.n_writes += len(docs)
        report.written = len(docs)
        report.seconds = time.perf_counter() - start
        report.total_writes = self.n_writes
        return report

    def forget(self, ids: Sequence[str]) -> int:
        """Drop the documents with these ids; returns how many were held."""
        if isinstance(ids, str):
            raise InvalidInputError("forget takes a list of ids")
        held = [i for i in dict.fromkeys(ids) if i in self.docs]
        if held:
            self._remove(held)
            for i in held:
                del self.docs[i]
        return len(held)

    @torch.no_grad()
    def score(self, prompts: Sequence[str], targets: Sequence[str], *, batch_size: int = 8) -> list[TargetScore]:
        """Teacher-forced accuracy and log-probability of each target after its prompt, the memory in use."""
        if isinstance(prompts, str) or isinstance(targets, str) or len(prompts) != len(targets):
            raise InvalidInputError("score needs two lists of the same length: prompts and targets")
        out: list[TargetScore] = []
        n_slots = self._n_slots()
        for lo in range(0, len(prompts), batch_size):
            rows = [self._row(p, t, n_slots)
                    for p, t in zip(prompts[lo : lo + batch_size], targets[lo : lo + batch_size], strict=True)]
            ids, attn, labels = self.collate([(head, target) for head, _, target in rows])
            with self._in_use([q for _, q, _ in rows], attn, n_slots):
                logits = self.model(input_ids=ids, attention_mask=attn, use_cache=False).logits.float()
            logp = logits[:, :-1].log_softmax(-1)
            gold = labels[:, 1:]
            for i, (_, _, target) in enumerate(rows):
                at = gold[i] >= 0
                lp = logp[i][at].gather(1, gold[i][at][:, None]).squeeze(1)
                pred = logp[i][at].argmax(-1)
                out.append(TargetScore(token_accuracy=float((pred == gold[i][at]).float().mean()),
                                       log_prob=min(0.0, float(lp.sum())), n_tokens=len(target),
                                       predicted=[int(x) for x in pred]))
        return out

    def collate(self, rows: Sequence[tuple[list[int], list[int]]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Right-padded ids, attention mask and labels (-100 except on the target tokens) of (head, target) rows."""
        pad = self.tokenizer.pad_token_id
        width = max(len(h) + len(t) for h, t in rows)
        ids = torch.full((len(rows), width), pad, dtype=torch.long)
        attn = torch.zeros((len(rows), width), dtype=torch.long)
        labels = torch.full((len(rows), width), -100, dtype=torch.long)
        for i, (head, target) in enumerate(rows):
            n = len(head) + len(target)
            ids[i, :n] = torch.tensor(head + target)
            attn[i, :n] = 1
            if target:
                labels[i, len(head) : n] = torch.tensor(target)
        return ids.to(self.device), attn.to(self.device), labels.to(self.device)

    def target_positions(self, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """For training on a collated batch: the positions whose logits are needed (``logits_to_keep``), and the
        (row, index into those positions, target id) of every target token."""
        gold = labels[:, 1:]
        rows, cols = (gold >= 0).nonzero(as_tuple=True)
        keep = sorted(set(cols.tolist()))
        index = {p: k for k, p in enumerate(keep)}
        return (torch.tensor(keep, device=labels.device), rows,
                torch.tensor([index[int(p)] for p in cols], device=labels.device), gold[rows, cols])

    def loss(self, prompts: Sequence[str], targets: Sequence[str]) -> torch.Tensor:
        """Mean cross-entropy of the targets after their prompts, the memory in use, with gradients (for training)."""
        n_slots = self._n_slots()
        rows = [self._row(p, t, n_slots) for p, t in zip(prompts, targets, strict=True)]
        ids, attn, labels = self.collate([(head, target) for head, _, target in rows])
        with self._in_use([q for _, q, _ in rows], attn, n_slots):
            logits = self.model(input_ids=ids, attention_mask=attn, use_cache=False).logits
        return F.cross_entropy(logits[:, :-1].flatten(0, 1).float(), labels[:, 1:].flatten(), ignore_index=-100)

    @torch.no_grad()
    def generate(self, prompts: Sequence[str], *, max_new_tokens: int = 32) -> list[str]:
        """Greedy answers with the memory in use (chosen once per prompt)."""
        if isinstance(prompts, str):
            raise InvalidInputError("generate takes a list of prompts")
        if not prompts:
            return []
        n_slots = self._n_slots()
        rows = [self._row(p, None, n_slots) for p in prompts]
        queries = [q for _, q, _ in rows]
        new = self.lm.generate([head for head, _, _ in rows], max_new_tokens=max_new_tokens,
                               eos_token_id=self.tokenizer.eos_token_id,
                               around=lambda attn: self._in_use(queries, attn, n_slots))
        return [self.tokenizer.decode(row, skip_special_tokens=True) for row in new]

    @contextlib.contextmanager
    def disabled(self) -> Iterator[None]:
        """Within the block, the base model answers alone."""
        before, self.enabled = self.enabled, False
        try:
            yield
        finally:
            self.enabled = before

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "base_model": self.base_model, "writes": self.n_writes,
                "documents": len(self.docs), "device": str(self.device),
                "config": self.config.model_dump(mode="json"), **self._describe_state()}

    def save(self, path: str | Path) -> Path:
        """Write the memory to folder ``path``: a JSON manifest (with the documents) and its tensors (no model copy)."""
        return write_memory(path, self.name, self._state_tensors(), {
            "base_model": self.base_model, "config": self.config.model_dump(mode="json"), "writes": self.n_writes,
            "documents": [d.model_dump(mode="json") for d in self.docs.values()], "state": self._state_meta()})

    @classmethod
    def load(cls, path: str | Path, *, model: Any = None, tokenizer: Any = None, device: str | None = None,
             dtype: Any = None) -> DocumentMemory:
        """Rebuild a memory saved by :meth:`save` on its base model (loaded again unless given)."""
        from safetensors.torch import load_file

        manifest = read_manifest(path)
        if manifest["backend"] != cls.name:
            raise EditingError(f"{path} holds a {manifest['backend']!r} memory, not {cls.name!r}")
        config = cls.config_class.model_validate({**manifest["config"], "weights": None})
        memory = cls(config, model=model, tokenizer=tokenizer, base_model=manifest["base_model"], device=device,
                     dtype=dtype)
        memory.config = cls.config_class.model_validate(manifest["config"])
        tensors = load_file(str(Path(path).expanduser() / TENSORS), device=str(memory.device))
        memory.docs = {d["id"]: Document.model_validate(d) for d in manifest["documents"]}
        memory._restore(tensors, manifest["state"])
        memory.n_writes = int(manifest["writes"])
        return memory
