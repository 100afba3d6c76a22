"""WISE: lifelong model editing with a routed side memory (Wang et al., NeurIPS 2024).

The FFN value matrix W of one layer stays frozen; edits are written into a side copy W'
by SGD on the target tokens' cross-entropy plus a margin loss that makes the activation
score ``||A(x)(W' - W)||`` large on the edit prompt and small on irrelevant text.  Only a
random ``mask_ratio`` share of W' (one mask per shard) may change, and W' stays within
``W +- norm_bound``.  Every ``save_freq`` edits the side memory becomes a shard and a new
one starts; every ``merge_freq`` edits shards are TIES-merged (WISE-Merge: into one side
memory; WISE-Retrieve: groups of shards into one retrievable shard).  At inference the
side memory whose score passes the threshold (min in-scope score x act_ratio) answers.

``wise-embed`` (:class:`WISEEmbed`) is memkit's addition, not the paper's: the same side
memories, one per edit, chosen instead by the bundled sentence embedder, which sends a
prompt to the memory of the edit whose prompt is nearest (cosine >= ``embed_threshold``,
and the edit's subject named in the prompt).  Routing then costs one embedding per prompt
instead of one product with every memory's delta per forward pass.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from memkit.editing._modules import replay_layers_below, set_module
from memkit.editing.backend import Batch, Row, WeightEditor
from memkit.editing.synthetic import irrelevant_texts
from memkit.editing.types import EditRequest
from memkit.editing.wise.config import WISEConfig
from memkit.editing.wise.layer import SideMemoryLinear, masked_mean, masked_pool
from memkit.editing.wise.merge import ties_merge
from memkit.errors import EditingError

__all__ = ["WISE", "WISERetrieve", "WISEEmbed"]

_PREVIOUS_MERGE_WEIGHT = 0.6  # as in the authors' code: an earlier merged memory vs. the new shards (0.4)


class WISE(WeightEditor):
    """WISE-Merge (``retrieve=False``) or WISE-Retrieve (``retrieve=True``)."""

    name = "wise"
    config_class = WISEConfig
    config: WISEConfig

    def __init__(self, config: WISEConfig | None = None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        if isinstance(self.module, SideMemoryLinear):
            raise EditingError(
                f"{self.layer} already carries a WISE side memory; give each memory its own model "
                "(or call .detach() on the other one first)"
            )
        self.side = SideMemoryLinear(self.module, self.transposed)
        self.side.route_each_call = self.config.route_each_call
        self.side.normalized = self.config.normalized_routing
        self.side.pool = self.config.routing_pool
        set_module(self.model, self.layer, self.side)
        w = self.module.weight.detach()
        self.current = w.clone()  # W' being written
        self.current_acts: list[float] = []
        self.current_ids: list[str] = []  # the edits each memory holds, by request id
        self.shards: list[torch.Tensor] = []  # saved, not yet merged (merge) / all shards (retrieve)
        self.shard_acts: list[float] = []  # retrieve: min in-scope score per shard
        self.shard_ids: list[list[str]] = []
        self.merged: torch.Tensor | None = None  # WISE-Merge: the merged side memory
        self.merged_ids: list[str] = []
        # router='embedding': each edit prompt's sentence embedding (rows), and its subject
        self._prompt_vecs = np.zeros((0, 0), dtype=np.float32)
        self._subjects: list[str | None] = []
        self._embedder: Any = None
        self.min_act = float("inf")
        self.prefixes: list[str] | None = None
        self._mask: torch.Tensor | None = None
        self._irrelevant = irrelevant_texts()
        self._replay: list[torch.Tensor] = []  # A(x) of earlier edit prompts, (T, d) each

    @classmethod
    def default_config(cls, base_model: str) -> WISEConfig:
        """The paper's settings on every model (a tuned profile only when asked for: :meth:`profile_config`)."""
        return cls.profile_config("paper")

    @classmethod
    def profile_config(cls, name: str) -> WISEConfig:
        """The named :meth:`WISEConfig.profile`, as this back end runs it (benchmark back end ``NAME@PROFILE``)."""
        config = WISEConfig.profile(name)
        return config.model_copy(update={"retrieve": True}) if cls is WISERetrieve else config

    # -- routing ----------------------------------------------------------------
    def candidates(self) -> list[tuple[str, torch.Tensor, float, list[str]]]:
        """The side memories routed among: (label, weight, threshold, ids of the edits it holds)."""
        ratio = self.config.act_ratio
        out: list[tuple[str, torch.Tensor, float, list[str]]] = []
        if self.config.retrieve:
            out += [(f"shard{i}", w, a * ratio, ids)
                    for i, (w, a, ids) in enumerate(zip(self.shards, self.shard_acts, self.shard_ids, strict=True))]
            if self.current_acts:
                out.append(("current", self.current, min(self.current_acts) * ratio, self.current_ids))
        else:
            thr = self.min_act * ratio
            if self.merged is not None:
                out.append(("merged", self.merged, thr, self.merged_ids))
            out += [(f"shard{i}", w, thr, ids) for i, (w, ids) in enumerate(zip(self.shards, self.shard_ids, strict=True))]
            if self.current_acts:
                out.append(("current", self.current, thr, self.current_ids))
        return out

    def memory_edit_ids(self) -> list[list[str]]:
        """Per side memory (the index ``TargetScore.routed`` gives), the ids of the edits it holds."""
        return [list(ids) for *_, ids in self.candidates()]

    def _sync(self) -> None:
        cands = self.candidates()
        self.side.memories = [w for _, w, _, _ in cands]
        self.side.thresholds = [t for _, _, t, _ in cands]

    def _routing(self, route_mask: torch.Tensor, prompts: Sequence[str]) -> contextlib.AbstractContextManager[Any]:
        if self.config.router == "embedding":
            return self.side.session(route_mask, self._nearest_edit_routes(prompts))
        return self.side.session(route_mask)

    # -- router='embedding' ------------------------------------------------------------
    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        if self._embedder is None:
            from memkit.config import EmbedderConfig
            from memkit.embedders import create_embedder

            self._embedder = create_embedder(EmbedderConfig())  # the bundled MiniLM, as memkit's notes use
        vecs = np.asarray(self._embedder.embed(list(texts)), dtype=np.float32)
        return vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)

    def _nearest_edit_routes(self, prompts: Sequence[str]) -> torch.Tensor:
        """Per prompt, the memory holding the edit whose prompt is nearest (cosine >= embed_threshold and, with
        embed_subject, the edit's subject named in the prompt), else -1 (the main memory)."""
        out = torch.full((len(prompts),), -1, dtype=torch.long, device=self.device)
        if not len(self._prompt_vecs) or not prompts:
            return out
        holder = {edit_id: k for k, ids in enumerate(self.memory_edit_ids()) for edit_id in ids}
        edit_ids = [r["id"] for r in self.requests]
        sims = self._embed(prompts) @ self._prompt_vecs.T
        for i, prompt in enumerate(prompts):
            for j in np.argsort(-sims[i]):
                if sims[i, j] < self.config.embed_threshold:
                    break
                subject = self._subjects[j]
                if self.config.embed_subject and subject and subject.lower() not in prompt.lower():
                    continue  # the nearest edit is about something else: try the next one
                out[i] = holder.get(edit_ids[j], -1)
                break
        return out

    def _remember_prompt(self, request: EditRequest) -> None:
        if self.config.router != "embedding":
            return
        vec = self._embed([request.prompt])
        self._prompt_vecs = vec if not len(self._prompt_vecs) else np.vstack([self._prompt_vecs, vec])
        self._subjects.append(request.subject)

    def _routes(self, n: int) -> list[int | None]:
        d = self.side.decision
        if d is None or not self.side.memories or not self.side.enabled:
            return [None] * n
        return [None if int(k) < 0 else int(k) for k in d.tolist()]

    def _set_enabled(self, enabled: bool) -> None:
        self.side.enabled = enabled

    # -- editing -----------------------------------------------------------------
    def _new_mask(self) -> torch.Tensor:
        shard = self.n_writes // self.config.save_freq
        gen = torch.Generator().manual_seed(self.config.seed * 100_003 + shard)
        mask = torch.rand(self.current.shape, generator=gen) < self.config.mask_ratio
        return mask.to(self.device, self.current.dtype)

    def _make_prefixes(self) -> list[str]:
        if not self.config.augment:
            return []
        from transformers import GenerationConfig

        out: list[str] = []
        tok = self.tokenizer
        with self.disabled(), torch.no_grad():
            for length in self.config.prefix_lengths:
                for seed_text in self.config.prefix_seeds:
                    ids = tok(seed_text, return_tensors="pt")["input_ids"].to(self.device)
                    gen = GenerationConfig(max_new_tokens=length, do_sample=False, pad_token_id=tok.pad_token_id)
                    row = self.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), generation_config=gen)
                    text = tok.decode(row[0], skip_special_tokens=True).replace("{", "(").replace("}", ")")
                    out.append(text.strip())
        return out

    def collate(self, rows: list[Row]) -> Batch:  # type: ignore[override]
        batch = super().collate(rows)
        if self.config.route_over == "sequence":  # EasyEdit's protocol: the target tokens count too
            for i, r in enumerate(rows):
                batch.route_mask[i, r.route_start : r.route_end + r.n_target] = True
        return batch

    def edit_batch(self, request: EditRequest) -> tuple[Batch, Batch]:
        """The rows of one edit: the prompt (bare and after each prefix) with its target; and the
        irrelevant texts the margin loss keeps the side memory quiet on."""
        if self.prefixes is None:
            self.prefixes = self._make_prefixes()
        rows = [self.make_row(request.prompt, request.target_new)]
        rows += [self.make_row(request.prompt, request.target_new, prefix=p) for p in self.prefixes if p]
        spans = [self._subject_span(row, request.subject) for row in rows]
        batch = self.collate(rows)
        subject = torch.zeros_like(batch.route_mask)
        if self.config.subject_routing and all(span is not None for span in spans):
            for i, span in enumerate(spans):
                subject[i, span[0] : span[1]] = True
        batch.subject_mask = subject
        rng = random.Random(f"{self.config.seed}:{self.n_writes}")
        irrelevant = []
        for text in rng.sample(self._irrelevant, min(self.config.n_irrelevant, len(self._irrelevant))):
            ids = list(self.tokenizer(text)["input_ids"])[: self.config.max_length]
            irrelevant.append(Row(ids, 0, len(ids), 0))
        return batch, self.collate(irrelevant)

    @torch.no_grad()
    def _layer_inputs(self, batch: Batch) -> torch.Tensor:
        """A(x): what the edited layer receives for ``batch`` (constant while W' is trained)."""
        self.side.train_weight = torch.nn.Parameter(self.current.clone(), requires_grad=False)
        try:
            self.model(input_ids=batch.input_ids, attention_mask=batch.attention_mask, logits_to_keep=1, use_cache=False)
            assert self.side.last_input is not None
            return self.side.last_input
        finally:
            self.side.train_weight = None

    def _subject_span(self, row: Row, subject: str | None) -> tuple[int, int] | None:
        """Where the subject's tokens sit among the row's prompt tokens (None if not found)."""
        if not subject:
            return None
        prompt = row.ids[row.route_start : row.route_end]
        for text in (" " + subject, subject):
            sub = list(self.tokenizer(text, add_special_tokens=False)["input_ids"])
            for j in range(len(prompt) - len(sub) + 1):
                if sub and prompt[j : j + len(sub)] == sub:
                    return row.route_start + j, row.route_start + j + len(sub)
        return None

    def _margin_loss(self, d_in: torch.Tensor, d_out: torch.Tensor) -> torch.Tensor:
        cfg = self.config
        zero = d_in.new_zeros(())

        def mean_positive(v: torch.Tensor) -> torch.Tensor:
            pos = v[v > 0]
            return pos.mean() if pos.numel() else zero

        gap = d_out.view(-1, 1) - d_in.view(1, -1) + cfg.gamma
        return mean_positive(gap) + mean_positive(d_out - cfg.alpha) + mean_positive(cfg.beta - d_in)

    def _write_one(self, request: EditRequest) -> tuple[int, float]:
        cfg = self.config
        if self.n_writes % cfg.save_freq == 0 or self._mask is None:
            self._mask = self._new_mask()
        batch, irrelevant = self.edit_batch(request)
        x_out, out_mask = self._layer_inputs(irrelevant), irrelevant.route_mask
        if cfg.replay and self._replay:
            x_out, out_mask = _pad_cat([x_out, *self._replay[-cfg.replay:]], [out_mask])
        in_mask = batch.route_mask
        subj_mask = batch.subject_mask
        assert subj_mask is not None
        subject_mode = bool(subj_mask.any())
        deact_mask = in_mask & ~subj_mask
        w = self.module.weight.detach()
        lo, hi = (w - cfg.norm_bound, w + cfg.norm_bound) if cfg.norm_bound else (None, None)
        param = torch.nn.Parameter(self.current.clone())
        self.side.train_weight = param
        steps, loss_value, previous = 0, float("nan"), float("inf")
        try:
            with replay_layers_below(self.model, self.layer, cfg.cache_lower_layers) as replay:
                for step in range(cfg.n_iter):
                    logits = self.target_logits(batch)
                    if step == 0 and replay is not None:
                        replay.arm()
                    norms = self.side.last_norms
                    assert norms is not None
                    # irrelevant inputs only need A(x) (fixed) and W': no forward pass through the model
                    d_out = masked_mean(self.side.delta(x_out, param).norm(dim=-1), out_mask)
                    if subject_mode:  # in-scope: the subject's tokens; out: the rest of the prompt too
                        d_in = masked_mean(norms, subj_mask)
                        d_out = torch.cat([masked_mean(norms, deact_mask), d_out])
                    else:
                        d_in = masked_mean(norms, in_mask)
                    loss = self.target_loss(batch, logits)
                    if cfg.margin:
                        loss = loss + self._margin_loss(d_in, d_out)
                    loss_value = loss.item()
                    if abs(loss_value - previous) <= cfg.early_stop_delta and loss_value <= cfg.early_stop_loss:
                        break
                    previous = loss_value
                    loss.backward()
                    with torch.no_grad():
                        grad = param.grad
                        if cfg.weight_decay:
                            grad = grad + cfg.weight_decay * param
                        param -= cfg.edit_lr * grad * self._mask
                        if lo is not None:
                            param.copy_(torch.clamp(param, lo, hi))
                    param.grad = None
                    steps = step + 1
            with torch.no_grad():
                x = self.side.last_input
                assert x is not None
                # the threshold comes from the score routing computes (pooled over the prompt's tokens)
                act = float(masked_pool(self.side.delta(x, param).norm(dim=-1), in_mask, cfg.routing_pool).mean())
                if cfg.replay:  # the bare prompt's layer input, for later edits' replay
                    self._replay = [*self._replay[-(cfg.replay - 1):], x[0][in_mask[0]].detach().clone()]
        finally:
            self.side.train_weight = None
        if not act > 0:
            raise EditingError(f"the edit {request.id} left no trace in the side memory (activation score {act})")
        self.current = param.detach().clone()
        self.current_acts.append(act)
        self.current_ids.append(request.id)
        self.min_act = min(self.min_act, act)
        self._remember_prompt(request)
        self._after_edit()
        self._sync()
        return steps, loss_value

    def _after_edit(self) -> None:
        cfg = self.config
        done = self.n_writes + 1  # the base class counts this write after we return
        if done % cfg.save_freq == 0:
            self.shards.append(self.current)
            self.shard_acts.append(min(self.current_acts))
            self.shard_ids.append(self.current_ids)
            self.current = self.module.weight.detach().clone()
            self.current_acts, self.current_ids = [], []
        if cfg.merge_freq is not None and done % cfg.merge_freq == 0:
            self.merge()

    def merge(self) -> None:
        """TIES-merge the saved shards (done automatically every ``merge_freq`` edits)."""
        cfg = self.config
        base = self.module.weight.detach()
        if cfg.retrieve:
            group = max(1, cfg.merge_freq // cfg.save_freq) if cfg.merge_freq else len(self.shards)
            if len(self.shards) < 2:
                return
            take = min(group, len(self.shards))
            merged = ties_merge(base, self.shards[-take:], cfg.density)
            acts, ids = min(self.shard_acts[-take:]), [i for group in self.shard_ids[-take:] for i in group]
            del self.shards[-take:], self.shard_acts[-take:], self.shard_ids[-take:]
            self.shards.append(merged)
            self.shard_acts.append(acts)
            self.shard_ids.append(ids)
        else:
            if not self.shards:
                return
            n = len(self.shards)
            if self.merged is None:
                self.merged = ties_merge(base, self.shards, cfg.density)
            else:
                weights = [(1 - _PREVIOUS_MERGE_WEIGHT) / n] * n + [_PREVIOUS_MERGE_WEIGHT]
                self.merged = ties_merge(base, [*self.shards, self.merged], cfg.density, weights)
            self.merged_ids += [i for group in self.shard_ids for i in group]
            self.shards, self.shard_acts, self.shard_ids = [], [], []
        self._sync()

    def detach(self) -> None:
        """Put the original module back into the model (the memory stops answering)."""
        set_module(self.model, self.layer, self.module)

    # -- persistence and description ---------------------------------------------------
    def _state_tensors(self) -> dict[str, torch.Tensor]:
        out = {"current": self.current}
        out.update({f"shard.{i}": w for i, w in enumerate(self.shards)})
        out.update({f"replay.{i}": x for i, x in enumerate(self._replay)})
        if self.merged is not None:
            out["merged"] = self.merged
        if len(self._prompt_vecs):
            out["prompt_vecs"] = torch.from_numpy(self._prompt_vecs)
        return out

    def _state_meta(self) -> dict[str, Any]:
        return {
            "current_acts": self.current_acts,
            "current_ids": self.current_ids,
            "shard_acts": self.shard_acts,
            "shard_ids": self.shard_ids,
            "merged_ids": self.merged_ids,
            "subjects": self._subjects,
            "min_act": self.min_act if self.min_act != float("inf") else None,
            "prefixes": self.prefixes,
            "replay": len(self._replay),
        }

    def _restore(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        if "shard_ids" not in meta:  # saved before memories named their edits: the written order gives them back
            meta = _ids_from_counts(meta, [r["id"] for r in self.requests])
        self.current = tensors["current"].to(self.current.dtype)
        n = len(meta["shard_acts"])
        self.shards = [tensors[f"shard.{i}"] for i in range(n)]
        self.shard_acts = [float(a) for a in meta["shard_acts"]]
        self.shard_ids = [list(ids) for ids in meta["shard_ids"]]
        self.merged = tensors.get("merged")
        self.merged_ids = list(meta["merged_ids"])
        self.current_acts = [float(a) for a in meta["current_acts"]]
        self.current_ids = list(meta["current_ids"])
        self._subjects = list(meta["subjects"])
        vecs = tensors.get("prompt_vecs")
        self._prompt_vecs = vecs.cpu().numpy() if vecs is not None else np.zeros((0, 0), dtype=np.float32)
        self.min_act = float(meta["min_act"]) if meta["min_act"] is not None else float("inf")
        self.prefixes = meta["prefixes"]
        self._replay = [tensors[f"replay.{i}"] for i in range(int(meta.get("replay", 0)))]
        self._mask = None
        self._sync()

    def _describe_state(self) -> dict[str, Any]:
        cands = self.candidates()
        side_mb = sum(t.numel() * t.element_size() for t in self._state_tensors().values()) / 2**20
        variant = "WISE-Retrieve" if self.config.retrieve else "WISE-Merge"
        return {
            "variant": variant + (" routed by sentence embedding" if self.config.router == "embedding" else ""),
            "memories": [
                {"name": label, "threshold": round(thr, 4), "edits": len(ids)} for label, _, thr, ids in cands
            ],
            "edits_in_current": len(self.current_acts),
            "shards": len(self.shards),
            "merged_edits": len(self.merged_ids),
            "min_activation": None if self.min_act == float("inf") else round(self.min_act, 4),
            # what the memory costs as T grows: the side weights kept, and the per-token activation scores
            # (one product with each memory's delta) every forward pass computes to route
            "side_memory_mb": round(side_mb, 4),
            "mb_per_edit": round(side_mb / self.n_writes, 4) if self.n_writes else None,
            "memories_scored_per_forward": 0 if self.config.router == "embedding" else len(cands),
        }


def _ids_from_counts(meta: dict[str, Any], written: list[str]) -> dict[str, Any]:
    """An older save's state (edit counts per memory) with the edits' ids: merged first, then the shards, then
    the memory being written, in the order the edits were written."""
    counts = [int(meta["merged_edits"]), *(int(n) for n in meta["shard_edits"]), len(meta["current_acts"])]
    if sum(counts) != len(written):
        raise EditingError(f"this memory's state counts {sum(counts)} edits but it wrote {len(written)}")
    cuts = [sum(counts[:i]) for i in range(len(counts) + 1)]
    groups = [written[a:b] for a, b in zip(cuts, cuts[1:], strict=False)]
    return {**meta, "merged_ids": groups[0], "shard_ids": groups[1:-1], "current_ids": groups[-1], "subjects": []}


def _pad_cat(xs: list[torch.Tensor], masks: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack (B, T, d) batches and (T, d) single rows into one right-padded batch with its mask."""
    rows = [x[i][m[i]] for x, m in zip(xs[:1], masks, strict=True) for i in range(x.shape[0])]
    rows += list(xs[1:])
    width = max(r.shape[0] for r in rows)
    out = rows[0].new_zeros((len(rows), width, rows[0].shape[-1]))
    mask = torch.zeros((len(rows), width), dtype=torch.bool, device=rows[0].device)
    for i, r in enumerate(rows):
        out[i, : r.shape[0]] = r
        mask[i, : r.shape[0]] = True
    return out, mask


class WISERetrieve(WISE):
    """WISE-Retrieve: shards stay separate and the best-scoring one answers."""

    name = "wise-retrieve"

    def __init__(self, config: WISEConfig | None = None, **kwargs: Any) -> None:
        if config is not None and not config.retrieve:
            config = config.model_copy(update={"retrieve": True})
        super().__init__(config, **kwargs)


_EMBEDDING_ROUTED = {"router": "embedding", "margin": False, "retrieve": True, "save_freq": 1, "merge_freq": None}


class WISEEmbed(WISE):
    """memkit's addition to WISE: side memories, one per edit, routed by the sentence embedding of the edit
    prompts (a rephrase lands near its edit's prompt) instead of the activation score; trained as the profile
    says, less the margin loss, which only serves activation routing."""

    name = "wise-embed"

    def __init__(self, config: WISEConfig | None = None, **kwargs: Any) -> None:
        if config is not None and config.router != "embedding":
            config = config.model_copy(update={"router": "embedding"})
        super().__init__(config, **kwargs)

    @classmethod
    def profile_config(cls, name: str) -> WISEConfig:
        """The profile's training, with what embedding routing changes: one side memory per edit (the router picks
        among any number, so none is ever merged) and no margin loss (the embeddings route, and the margin, which
        only serves activation routing, keeps an edit from its rephrases: BENCHMARKS.md section 3)."""
        return WISEConfig.profile(name).model_copy(update=_EMBEDDING_ROUTED)
