"""The base class of back ends that edit one weight matrix of a causal LM (WISE, FT-L).

A subclass sets ``name`` and ``config_class`` and overrides:

- ``_write_one(request) -> (steps, final_loss)``: write one :class:`EditRequest`;
- ``_state_tensors()`` / ``_state_meta()`` / ``_restore(tensors, meta)``: what ``save`` keeps;
- optionally ``_routing(route_mask, prompts)`` (a context manager active around every forward
  pass made by ``score`` and ``generate``, given the rows' prompt texts), ``_routes()`` (which
  memory answered each row of the last pass), ``_set_enabled(bool)`` and ``_describe_state()``.

Everything else (prompt encoding, teacher-forced scoring, greedy generation with the KV
cache, the write loop with its progress bar, save/load and describe) lives here.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from memkit.editing._modules import default_layer, get_module, weight_of
from memkit.editing.config import EditorConfig
from memkit.editing.persist import TENSORS, read_manifest, write_memory
from memkit.editing.types import EditRequest, TargetScore, WriteReport
from memkit.errors import EditingError, InvalidInputError, validation_message
from memkit.hf.load import frozen_base, require_editing_deps
from memkit.hf.runtime import CausalLM, chat_prompt
from memkit.progress import progress_bar

__all__ = ["WeightEditor", "Row", "Batch", "read_manifest"]



@dataclass
class Row:
    """One token sequence: prompt (optionally after a prefix), then target tokens."""

    ids: list[int]
    route_start: int  # first token the router looks at
    route_end: int  # one past the last prompt token (= where the target starts)
    n_target: int  # target tokens at the end of ``ids``


@dataclass
class Batch:
    input_ids: torch.Tensor  # (B, T), right-padded
    attention_mask: torch.Tensor  # (B, T)
    route_mask: torch.Tensor  # (B, T) bool: the prompt tokens the router averages over
    keep: torch.Tensor  # (K,) sequence positions whose logits are needed
    rows: torch.Tensor  # (N,) row of each target token
    cols: torch.Tensor  # (N,) index into ``keep`` of the position predicting it
    targets: torch.Tensor  # (N,) target token ids
    n_target: list[int]  # per row
    subject_mask: torch.Tensor | None = None  # (B, T) bool, set by editors that use it


class WeightEditor:
    """Shared machinery of single-matrix editors; see the module docstring for what to override."""

    name: ClassVar[str] = "editor"
    config_class: ClassVar[type[EditorConfig]] = EditorConfig

    def __init__(
        self,
        config: EditorConfig | None = None,
        *,
        model: Any = None,
        tokenizer: Any = None,
        base_model: str | None = None,
        device: str | None = None,
        dtype: Any = None,
    ) -> None:
        require_editing_deps()
        model, tokenizer, self.base_model = frozen_base(model, tokenizer, base_model, device, dtype)
        self.lm = CausalLM(model, tokenizer, self.base_model)  # the runtime that generates with it
        if config is None:
            config = self.default_config(self.base_model)
        elif not isinstance(config, self.config_class):
            raise InvalidInputError(f"{type(self).__name__} needs a {self.config_class.__name__}, got {type(config).__name__}")
        self.config = config
        self.model = model
        self.tokenizer = tokenizer
        self.layer = config.layer or default_layer(model, config.layer_fraction)
        self.module = get_module(model, self.layer)
        weight, self.transposed = weight_of(self.module)
        self.device = weight.device
        self.base_fingerprint = _fingerprint(weight)
        self.n_writes = 0
        self.requests: list[dict[str, str]] = []

    # -- what subclasses provide ----------------------------------------------
    @classmethod
    def default_config(cls, base_model: str) -> EditorConfig:
        """The configuration used when none is given (subclasses return tuned profiles)."""
        return cls.config_class()

    def _write_one(self, request: EditRequest) -> tuple[int, float]:
        raise NotImplementedError

    def _state_tensors(self) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def _state_meta(self) -> dict[str, Any]:
        return {}

    def _restore(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        raise NotImplementedError

    def _routing(self, route_mask: torch.Tensor, prompts: Sequence[str]) -> contextlib.AbstractContextManager[Any]:
        return contextlib.nullcontext()

    def _routes(self, n: int) -> list[int | None]:
        return [None] * n

    def _set_enabled(self, enabled: bool) -> None:
        raise NotImplementedError

    def _describe_state(self) -> dict[str, Any]:
        return {}

    # -- prompts and batches ------------------------------------------------------
    def prompt_text(self, prompt: str) -> str:
        if self.config.chat_template:
            return chat_prompt(self.tokenizer, prompt)
        return prompt

    def encode_prompt(self, prompt: str, prefix: str | None = None) -> tuple[list[int], int]:
        """Token ids of the (formatted) prompt, optionally after ``prefix``; and where the prompt starts."""
        text = self.prompt_text(prompt)
        if not prefix:
            return list(self.tokenizer(text)["input_ids"]), 0
        head = list(self.tokenizer(prefix)["input_ids"])
        sep = "" if prefix[-1:].isspace() else " "
        return head + list(self.tokenizer(sep + text, add_special_tokens=False)["input_ids"]), len(head)

    def encode_target(self, prompt_ids: list[int], target: str) -> list[int]:
        last = self.tokenizer.decode(prompt_ids[-1:]) if prompt_ids else ""
        sep = "" if (not last or last[-1:].isspace() or target[:1].isspace()) else " "
        ids = list(self.tokenizer(sep + target, add_special_tokens=False)["input_ids"])
        if not ids:
            raise InvalidInputError(f"the target {target!r} encodes to no tokens")
        return ids

    def make_row(self, prompt: str, target: str | None = None, prefix: str | None = None) -> Row:
        prompt_ids, start = self.encode_prompt(prompt, prefix)
        target_ids = self.encode_target(prompt_ids, target) if target is not None else []
        room = self.config.max_length - len(target_ids)
        if room < 1:
            raise InvalidInputError(f"the target {target!r} is longer than max_length={self.config.max_length}")
        if len(prompt_ids) > room:  # cut the prompt on the left
            cut = len(prompt_ids) - room
            prompt_ids, start = prompt_ids[cut:], max(0, start - cut)
        return Row(prompt_ids + target_ids, start, len(prompt_ids), len(target_ids))

    def collate(self, rows: Sequence[Row]) -> Batch:
        pad = self.tokenizer.pad_token_id
        width = max(len(r.ids) for r in rows)
        ids = torch.full((len(rows), width), pad, dtype=torch.long)
        attn = torch.zeros((len(rows), width), dtype=torch.long)
        route = torch.zeros((len(rows), width), dtype=torch.bool)
        positions: list[tuple[int, int, int]] = []  # (row, predicting position, target id)
        for i, r in enumerate(rows):
            ids[i, : len(r.ids)] = torch.tensor(r.ids)
            attn[i, : len(r.ids)] = 1
            route[i, r.route_start : r.route_end] = True
            for j in range(r.n_target):
                pos = r.route_end + j
                positions.append((i, pos - 1, r.ids[pos]))
        keep = sorted({p for _, p, _ in positions}) or [width - 1]
        index = {p: k for k, p in enumerate(keep)}
        dev = self.device
        return Batch(
            input_ids=ids.to(dev),
            attention_mask=attn.to(dev),
            route_mask=route.to(dev),
            keep=torch.tensor(keep, dtype=torch.long, device=dev),
            rows=torch.tensor([i for i, _, _ in positions], dtype=torch.long, device=dev),
            cols=torch.tensor([index[p] for _, p, _ in positions], dtype=torch.long, device=dev),
            targets=torch.tensor([t for _, _, t in positions], dtype=torch.long, device=dev),
            n_target=[r.n_target for r in rows],
        )

    def target_logits(self, batch: Batch) -> torch.Tensor:
        """Logits (N, V) at the positions that predict each target token of the batch."""
        out = self.model(
            input_ids=batch.input_ids, attention_mask=batch.attention_mask, logits_to_keep=batch.keep, use_cache=False
        )
        return out.logits[batch.rows, batch.cols].float()

    def target_loss(self, batch: Batch, logits: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of the target tokens: the mean over tokens of each row, then over rows."""
        per_token = F.cross_entropy(logits, batch.targets, reduction="none")
        n_rows = len(batch.n_target)
        sums = torch.zeros(n_rows, device=logits.device).index_add(0, batch.rows, per_token)
        counts = torch.tensor(batch.n_target, device=logits.device, dtype=torch.float32)
        has = counts > 0
        return (sums[has] / counts[has]).mean()

    # -- the protocol ---------------------------------------------------------------
    def write(self, requests: Sequence[EditRequest | dict[str, Any]], *, progress: bool = False) -> WriteReport:
        """Write each request in turn (sequential editing)."""
        items = [_as_request(r) for r in requests]
        report = WriteReport(backend=self.name)
        start = time.perf_counter()
        with progress_bar(f"{self.name}: editing", len(items), progress) as bar:
            for request in items:
                steps, loss = self._write_one(request)
                self.n_writes += 1
                self.requests.append({"id": request.id, "prompt": request.prompt, "target": request.target_new})
                report.request_ids.append(request.id)
                report.steps.append(steps)
                report.final_loss.append(round(loss, 6))
                bar.advance()
        report.written = len(items)
        report.seconds = time.perf_counter() - start
        report.total_writes = self.n_writes
        return report

    @torch.no_grad()
    def score(self, prompts: Sequence[str], targets: Sequence[str], *, batch_size: int = 16) -> list[TargetScore]:
        """Teacher-forced accuracy and log-probability of each target after its prompt."""
        if isinstance(prompts, str) or isinstance(targets, str) or len(prompts) != len(targets):
            raise InvalidInputError("score needs two lists of the same length: prompts and targets")
        scores: list[TargetScore] = []
        for lo in range(0, len(prompts), batch_size):
            chunk = list(prompts[lo : lo + batch_size])
            rows = [self.make_row(p, t) for p, t in zip(chunk, targets[lo : lo + batch_size], strict=True)]
            batch = self.collate(rows)
            with self._routing(batch.route_mask, chunk):
                logits = self.target_logits(batch)
                routes = self._routes(len(rows))
            logp = logits.log_softmax(-1)
            token_logp = logp.gather(1, batch.targets[:, None]).squeeze(1)
            pred = logits.argmax(-1)
            for i, n in enumerate(batch.n_target):
                sel = batch.rows == i
                hits = (pred[sel] == batch.targets[sel]).float()
                scores.append(
                    TargetScore(
                        token_accuracy=float(hits.mean()),
                        log_prob=min(0.0, float(token_logp[sel].sum())),
                        n_tokens=n,
                        predicted=[int(x) for x in pred[sel]],
                        routed=routes[i],
                    )
                )
        return scores

    @torch.no_grad()
    def generate(self, prompts: Sequence[str], *, max_new_tokens: int = 32) -> list[str]:
        """Greedy answers, using the KV cache; the memory is chosen once per prompt."""
        if isinstance(prompts, str):
            raise InvalidInputError("generate takes a list of prompts")
        if not prompts:
            return []
        new = self.lm.generate([self.make_row(p).ids for p in prompts], max_new_tokens=max_new_tokens,
                               eos_token_id=self.tokenizer.eos_token_id,
                               around=lambda mask: self._routing(mask, prompts))
        return [self.tokenizer.decode(row, skip_special_tokens=True) for row in new]

    @contextlib.contextmanager
    def disabled(self) -> Iterator[None]:
        """Within the block, the unedited base model answers."""
        self._set_enabled(False)
        try:
            yield
        finally:
            self._set_enabled(True)

    def describe(self) -> dict[str, Any]:
        return {
            "backend": self.name,
            "base_model": self.base_model,
            "layer": self.layer,
            "writes": self.n_writes,
            "device": str(self.device),
            "config": self.config.model_dump(mode="json"),
            **self._describe_state(),
        }

    def save(self, path: str | Path) -> Path:
        """Write the memory to folder ``path``: a JSON manifest plus the side weights (no model copy)."""
        return write_memory(path, self.name, self._state_tensors(), {
            "base_model": self.base_model,
            "layer": self.layer,
            "base_fingerprint": self.base_fingerprint,
            "config": self.config.model_dump(mode="json"),
            "writes": self.n_writes,
            "requests": self.requests,
            "state": self._state_meta(),
        })

    @classmethod
    def load(
        cls,
        path: str | Path,
        *,
        model: Any = None,
        tokenizer: Any = None,
        device: str | None = None,
        dtype: Any = None,
        strict: bool = True,
    ) -> WeightEditor:
        """Rebuild a memory saved by :meth:`save` on its base model (loaded again unless given)."""
        from safetensors.torch import load_file

        manifest = read_manifest(path)
        if manifest["backend"] != cls.name:
            raise EditingError(f"{path} holds a {manifest['backend']!r} memory, not {cls.name!r}")
        config = cls.config_class.model_validate({**manifest["config"], "layer": manifest["layer"]})
        memory = cls(config, model=model, tokenizer=tokenizer, base_model=manifest["base_model"], device=device, dtype=dtype)
        if strict and memory.base_fingerprint != manifest["base_fingerprint"]:
            raise EditingError(
                f"the base model's {manifest['layer']} differs from the one {path} was edited on "
                f"({manifest['base_model']}); pass the same base model, or strict=False to load anyway"
            )
        tensors = load_file(str(Path(path) / TENSORS), device=str(memory.device))
        memory.n_writes = int(manifest["writes"])
        memory.requests = list(manifest["requests"])
        memory._restore(tensors, manifest["state"])
        return memory


def _fingerprint(weight: torch.Tensor) -> str:
    data = weight.detach().to("cpu", torch.float32).contiguous().numpy().tobytes()
    return f"{tuple(weight.shape)}:{str(weight.dtype).removeprefix('torch.')}:{hashlib.sha256(data).hexdigest()[:24]}"


def _as_request(item: EditRequest | dict[str, Any]) -> EditRequest:
    if isinstance(item, EditRequest):
        return item
    if isinstance(item, dict):
        from pydantic import ValidationError

        try:
            return EditRequest.model_validate(item)
        except ValidationError as exc:
            raise InvalidInputError(f"not a valid edit request: {validation_message(exc, 'request')}") from None
    raise InvalidInputError(f"write takes EditRequest records (or dicts), got {type(item).__name__}")
