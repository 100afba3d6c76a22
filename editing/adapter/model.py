"""The Generative Adapter (Chen et al. 2024): documents become a low-rank weight update of a frozen causal LM,
generated in one forward pass of the LM over each document (no gradient step at write time).

For each target linear ``W: d_in -> d_out`` (by default ``mlp.down_proj`` of 4 blocks in the top half) the
generator holds ``A, B: d_ctx -> r``, ``P: d_in -> r`` and ``O: r -> d_out`` and keeps, over every token ``t``
of every document held, the running state ``S = Σ_t (A ĥ_t)(B ĥ_{t-s})ᵀ`` (``r x r``) and the pair count ``n``.
``ĥ_t`` is the document's hidden state (the target linear's own input by default, or the hidden state entering
its block; see :class:`AdapterConfig`), RMS-normalised per token (parameter-free) and, by default, less its
document's mean state (``center="document"``: without it the component all tokens share dominates ``S`` and the
trained generator learns only which answers are likely).  ``s = key_shift`` (default 1): a value token is keyed by
the token before it, so a prompt ending where a document's sentence did (``... lives in``) retrieves the word that
came next there; the paper's ``s = 0`` and raw states are ``AdapterConfig(key_shift=0, center="none")``.  In use,

    W x  ->  W x + O · N(S) · P x,      N(S) = (S / n) / (‖S / n‖_F + eps)

i.e. the mean outer product scaled to unit Frobenius norm (the paper normalises the accumulated outer products
so the update's size does not grow with the context).  Read as linear attention, ``P x`` is a query matched
against the keys ``B ĥ_t`` that returns the values ``A ĥ_t``.  ``O`` starts at zero, so an untrained generator
leaves the model exactly unchanged.  ``S`` and ``n`` are sums, so documents written one by one or together give
the same state; each document's own ``(S, n)`` is kept, and forgetting drops it and re-sums the rest.

Training (:mod:`memkit.editing.adapter.train`) builds states with gradients through :meth:`train_state` /
:meth:`state_from` and runs :meth:`DocumentMemory.loss` inside :meth:`using`.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from memkit.editing.adapter.config import AdapterConfig
from memkit.editing.adapter.select import TokenIndex
from memkit.editing.documents import Document, DocumentMemory
from memkit.errors import ConfigError, InvalidInputError
from memkit.hf.hooks import decoder_layers, inputs_of, linear_deltas

__all__ = ["GenerativeAdapter", "AdapterState", "Context", "Generator"]

_PARTS = ("A", "B", "P", "O")


@dataclass
class AdapterState:
    """Accumulated outer products: ``S`` ``(targets, rows, r, r)`` and token counts ``n`` ``(rows,)``; one row
    serves every prompt of a batch, otherwise one row per prompt."""

    S: torch.Tensor
    n: torch.Tensor

    def normalised(self, eps: float) -> torch.Tensor:
        mean = self.S / self.n.clamp(min=1).to(self.S.dtype)[None, :, None, None]
        return mean / (torch.linalg.matrix_norm(mean, ord="fro")[..., None, None] + eps)


@dataclass
class Context:
    """Documents as the generator reads them: per target ``(docs, tokens, d_ctx)`` RMS-normalised states and a
    ``(docs, tokens)`` bool mask of real tokens (the frozen LM's part, computed without gradient)."""

    states: list[torch.Tensor]
    mask: torch.Tensor


class Generator(nn.Module):
    """The trainable part: per target linear, the projections ``A, B`` (context), ``P`` (input) and ``O`` (output)."""

    def __init__(self, d_ctx: list[int], d_in: list[int], d_out: list[int], rank: int) -> None:
        super().__init__()
        self.A = nn.ParameterList(nn.Parameter(torch.randn(d, rank) / d**0.5) for d in d_ctx)
        self.B = nn.ParameterList(nn.Parameter(torch.randn(d, rank) / d**0.5) for d in d_ctx)
        self.P = nn.ParameterList(nn.Parameter(torch.randn(d, rank) / d**0.5) for d in d_in)
        self.O = nn.ParameterList(nn.Parameter(torch.zeros(rank, d)) for d in d_out)

    def tensors(self) -> dict[str, torch.Tensor]:
        return {f"{part}.{i}": p for part in _PARTS for i, p in enumerate(getattr(self, part))}

    def load_tensors(self, tensors: dict[str, torch.Tensor], source: str) -> None:
        mine = self.tensors()
        for key, param in mine.items():
            got = tensors.get(key)
            if got is None or got.shape != param.shape:
                shape = None if got is None else tuple(got.shape)
                raise ConfigError(f"{source}: generator tensor {key} is {shape}, this configuration needs "
                                  f"{tuple(param.shape)} (rank, layers, module and context must match the training)")
        with torch.no_grad():
            for key, param in mine.items():
                param.copy_(tensors[key])


def _rms(x: torch.Tensor) -> torch.Tensor:
    x = x.float()
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6)


class GenerativeAdapter(DocumentMemory):
    """Documents summed into one generated low-rank adapter of a frozen causal LM; see the module docstring."""

    name = "adapter"
    config_class = AdapterConfig
    config: AdapterConfig
    n_slots = 0

    def _build(self) -> None:
        cfg = self.config
        path, blocks = decoder_layers(self.model)
        n = len(blocks)
        self.layers = cfg.layers if cfg.layers is not None else default_layers(n)
        if max(self.layers) >= n:
            raise ConfigError(f"layers {self.layers} are outside the model's blocks 0..{n - 1}")
        self.targets = [f"{path}.{i}.{cfg.module}" for i in self.layers]
        modules = dict(self.model.named_modules())
        linears = []
        for name in self.targets:
            module = modules.get(name)
            if not isinstance(module, nn.Linear):
                raise ConfigError(f"{name!r} is not a linear module of the model (set `module`)")
            linears.append(module)
        if cfg.context == "linear_input":
            self.readers = list(self.targets)
            d_ctx = [m.in_features for m in linears]
        else:
            self.readers = [f"{path}.{i}" for i in self.layers]
            d_ctx = [self.model.config.hidden_size] * len(self.layers)
        self.generator = Generator(d_ctx, [m.in_features for m in linears], [m.out_features for m in linears],
                                   cfg.rank).to(self.device)
        if cfg.weights is not None:
            tensors, meta = read_weights(cfg.weights)
            mine = {"layers": self.layers, "module": cfg.module, "context": cfg.context, "key_shift": cfg.key_shift,
                    "rank": cfg.rank, "center": cfg.center, "keys": cfg.keys}
            differ = {k: meta[k] for k, v in mine.items() if k in meta and meta[k] != v}
            if differ:
                raise ConfigError(f"{cfg.weights} was trained with {differ}; set the same in AdapterConfig "
                                  f"(now {({k: mine[k] for k in differ})})")
            self.generator.load_tensors(tensors, cfg.weights)
        self.doc_states: dict[str, tuple[torch.Tensor, int]] = {}  # id -> ((targets, r, r), tokens)
        self._total: AdapterState | None = None
        self._override: AdapterState | None = None
        # what `select` matches questions on; a question's chat-template tokens are not its words
        self.index = TokenIndex(ignore=self.prompt_ids(""))
        self._selected: tuple[tuple[tuple[int, ...], ...], AdapterState] | None = None  # the last batch's states

    # -- reading documents -------------------------------------------------------------------------
    @torch.no_grad()
    def encode(self, texts: Sequence[str]) -> Context:
        """One forward pass of the frozen LM over the documents (right-padded): the states the generator reads."""
        if isinstance(texts, str) or not texts:
            raise InvalidInputError("encode takes a non-empty list of texts")
        ids, attn, _ = self.collate([(self.doc_ids(t), []) for t in texts])
        got = inputs_of(self.model, self.readers, ids, attn)
        return Context([_rms(got[r]) for r in self.readers], attn.bool())

    def state_from(self, context: Context, groups: Sequence[Sequence[int]] | None = None) -> AdapterState:
        """The state of each group of documents of ``context`` (indices; None: each document alone), with
        gradients to the generator."""
        shift = self.config.key_shift
        full = context.mask.to(self.device)
        mask = full[:, shift:]  # right-padded: a real value token has a real key token
        keep = mask.float()[..., None]
        per_doc = []
        for i, h in enumerate(context.states):
            h = h.to(self.device).float()
            if self.config.center == "document":  # each document's own mean state out (one document at a time)
                real = full.float()[..., None]
                h = (h - (h * real).sum(1, keepdim=True) / real.sum(1, keepdim=True).clamp(min=1)) * real
            a = (h[:, shift:] @ self.generator.A[i]) * keep  # values
            b = h[:, : h.shape[1] - shift] @ self.generator.B[i]  # keys
            if self.config.keys == "prefix":  # every earlier token of the document keys the value (right-padded)
                b = b.cumsum(1)
            per_doc.append(torch.einsum("dsr,dsk->drk", a, b))
        S = torch.stack(per_doc)  # (targets, docs, r, r)
        counts = mask.sum(1).float()
        if groups is None:
            return AdapterState(S, counts)
        if not groups or any(not g for g in groups):
            raise InvalidInputError("every group needs at least one document")
        select = torch.zeros(len(groups), S.shape[1], device=self.device)
        for row, group in enumerate(groups):
            select[row, list(group)] = 1.0
        return AdapterState(torch.einsum("gd,tdrk->tgrk", select, S), select @ counts)

    def train_state(self, groups: Sequence[Sequence[str]]) -> AdapterState:
        """One state row per group of document texts, with gradients to the generator (for training)."""
        if isinstance(groups, str) or not groups or any(isinstance(g, str) or not g for g in groups):
            raise InvalidInputError("train_state takes a list of non-empty lists of document texts")
        texts = list(dict.fromkeys(t for g in groups for t in g))
        index = {t: i for i, t in enumerate(texts)}
        return self.state_from(self.encode(texts), [[index[t] for t in g] for g in groups])

    @contextlib.contextmanager
    def using(self, state: AdapterState) -> Iterator[None]:
        """Within the block, ``state`` (not the held documents) conditions the model (for training)."""
        before, self._override = self._override, state
        try:
            yield
        finally:
            self._override = before

    # -- DocumentMemory hooks ----------------------------------------------------------------------------
    def _add(self, docs: list[Document]) -> None:
        state = self.state_from(self.encode([d.text for d in docs]))
        for j, d in enumerate(docs):
            self.doc_states[d.id] = (state.S[:, j].detach().clone(), int(state.n[j]))
            self.index.add(d.id, self.doc_ids(d.text))
        self._resum()

    def _remove(self, ids: list[str]) -> None:
        for i in ids:
            self.doc_states.pop(i, None)
        self.index.remove(ids)
        self._resum()

    def _resum(self) -> None:
        self._selected = None
        if not self.doc_states:
            self._total = None
            return
        held = list(self.doc_states.values())
        S = torch.stack([s for s, _ in held]).sum(0)[:, None]
        self._total = AdapterState(S, torch.tensor([float(sum(n for _, n in held))], device=self.device))

    def selected(self, query: Sequence[int]) -> list[str]:
        """The ids of the held documents a question (its prompt's token ids) is answered from, best match first:
        the ``select`` best by BM25, or every document when ``select`` is None or not fewer."""
        k = self.config.select
        if k is None or k >= len(self.doc_states):
            return list(self.doc_states)
        return self.index.top(query, k)

    def _state_for(self, queries: list[list[int]]) -> AdapterState | None:
        """The state conditioning a batch: the training override, the sum over every document, or, with
        ``select``, one row per question summing its selected documents (kept for the batch's decoding steps)."""
        if self._override is not None:
            return self._override
        if self._total is None or self.config.select is None or self.config.select >= len(self.doc_states):
            return self._total
        key = tuple(tuple(q) for q in queries)
        if self._selected is None or self._selected[0] != key:
            T, r = self._total.S.shape[0], self.config.rank
            S = torch.zeros(T, len(queries), r, r, device=self.device)
            n = torch.zeros(len(queries), device=self.device)
            for row, query in enumerate(queries):
                for doc_id in self.selected(query):  # none shared a token: the row stays empty (the base model)
                    state, tokens = self.doc_states[doc_id]
                    S[:, row] += state
                    n[row] += tokens
            self._selected = (key, AdapterState(S, n))
        return self._selected[1]

    def _conditioned(self, queries: list[list[int]], mask: torch.Tensor) -> contextlib.AbstractContextManager[Any]:
        state = self._state_for(queries)
        if state is None:
            return contextlib.nullcontext()
        rows = state.S.shape[1]
        if rows != 1 and rows != len(queries):
            raise InvalidInputError(f"a state of {rows} rows for a batch of {len(queries)} prompts")
        M = state.normalised(self.config.eps)  # (targets, rows, r, r)
        gen = self.generator

        def delta_for(i: int) -> Any:
            def delta(x: torch.Tensor) -> torch.Tensor:
                q = x.float() @ gen.P[i]  # (rows, seq, r)
                u = q @ M[i, 0].T if rows == 1 else torch.einsum("bsr,bkr->bsk", q, M[i])
                return u @ gen.O[i]

            return delta

        return linear_deltas(self.model, {name: delta_for(i) for i, name in enumerate(self.targets)})

    def _state_tensors(self) -> dict[str, torch.Tensor]:
        tensors = {f"generator.{k}": v for k, v in self.generator.tensors().items()}
        T, r = len(self.targets), self.config.rank
        held = list(self.doc_states.values())
        tensors["doc_states"] = torch.stack([s for s, _ in held]) if held else torch.zeros(0, T, r, r)
        tensors["doc_tokens"] = torch.tensor([n for _, n in held], dtype=torch.long)
        return tensors

    def _state_meta(self) -> dict[str, Any]:
        return {"doc_ids": list(self.doc_states), "targets": self.targets}

    def _restore(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        if meta.get("targets") != self.targets:
            raise ConfigError(f"the saved adapter targets {meta.get('targets')}, this model gives {self.targets}")
        self.generator.load_tensors({k.removeprefix("generator."): v for k, v in tensors.items()}, "saved memory")
        ids = meta["doc_ids"]
        self.doc_states = {i: (tensors["doc_states"][j].to(self.device), int(tensors["doc_tokens"][j]))
                           for j, i in enumerate(ids)}
        for i in ids:
            self.index.add(i, self.doc_ids(self.docs[i].text))
        self._resum()

    def _describe_state(self) -> dict[str, Any]:
        norms = []
        if self._total is not None:
            norms = [round(float(x), 4) for x in torch.linalg.matrix_norm(self._total.S[:, 0])]
        return {"targets": self.targets, "rank": self.config.rank, "context": self.config.context,
                "normalisation": "mean outer product over tokens, scaled to unit Frobenius norm",
                "forgetting": "each document's outer-product sum is kept; forgetting drops it and re-sums the rest",
                "select": (f"each question reads the {self.config.select} best-matching document(s) (BM25 over token ids)"
                           if self.config.select is not None else "each question reads every document"),
                "trained": self.config.weights is not None, "tokens": sum(n for _, n in self.doc_states.values()),
                "state_norms": norms}

    # -- trained weights ----------------------------------------------------------------------------------
    def save_weights(self, path: str | Path, **info: Any) -> Path:
        """Write the generator (what ``AdapterConfig(weights=path)`` loads) to a safetensors file."""
        from safetensors.torch import save_file

        out = Path(path).expanduser()
        out.parent.mkdir(parents=True, exist_ok=True)
        meta = {"base_model": self.base_model, "layers": self.layers, "module": self.config.module,
                "context": self.config.context, "rank": self.config.rank,
                "key_shift": self.config.key_shift, "center": self.config.center, "keys": self.config.keys, **info}
        tensors = {k: v.detach().to("cpu").contiguous() for k, v in self.generator.tensors().items()}
        save_file(tensors, str(out), metadata={"memkit": json.dumps(meta)})
        return out


def default_layers(n_blocks: int, count: int = 4) -> list[int]:
    """``count`` blocks spread evenly over the top half of ``n_blocks`` (the last block excluded)."""
    half = n_blocks / 2
    picked = sorted({min(n_blocks - 1, int(half + k * half / count)) for k in range(count)})
    return picked


def read_weights(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """A generator file's tensors and what it was trained with (rank, layers, module, context, key_shift, ...)."""
    from safetensors import safe_open

    file = Path(path).expanduser()
    if not file.is_file():
        raise ConfigError(f"no adapter generator weights at {file} (train them with python -m memkit.editing.adapter.train)")
    with safe_open(str(file), framework="pt") as f:
        meta = json.loads((f.metadata() or {}).get("memkit", "{}"))
        return {k: f.get_tensor(k) for k in f.keys()}, meta
