"""WISE hyper-parameters: the paper's as defaults, and a named profile tuned for SmolLM2-135M."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from memkit.editing.config import EditorConfig
from memkit.errors import ConfigError

__all__ = ["WISEConfig"]


class WISEConfig(EditorConfig):
    """Options of WISE (Wang et al., NeurIPS 2024).

    The defaults are the authors' released values for 7B Llama models (margins 5/20/10,
    mask ratio 0.2, SGD lr 1.0, 70 steps, norm bound 1.0, act ratio 0.88, a shard every
    500 edits merged with TIES at density 0.53 every 1000); they are the default on every model,
    the bundled SmolLM2-135M-Instruct included.  :meth:`smollm2` is a named profile tuned for that
    model (``WISEConfig.profile("smollm2")``, benchmark back end ``wise@smollm2``), never chosen silently.
    """

    kind: Literal["wise"] = "wise"
    # routing margins: irrelevant inputs below alpha, edit prompts above beta, a gap of gamma
    alpha: float = Field(default=5.0, ge=0.0)
    beta: float = Field(default=20.0, ge=0.0)
    gamma: float = Field(default=10.0, ge=0.0)
    act_ratio: float = Field(default=0.88, gt=0.0, description="threshold = min in-scope activation x act_ratio")
    # training of the side memory
    edit_lr: float = Field(default=1.0, gt=0.0)
    n_iter: int = Field(default=70, ge=1)
    weight_decay: float = Field(default=1e-5, ge=0.0)
    mask_ratio: float = Field(default=0.2, gt=0.0, le=1.0, description="share of W' entries a shard may change")
    norm_bound: float | None = Field(default=1.0, gt=0.0, description="W' kept within W +- norm_bound elementwise")
    early_stop_loss: float = Field(default=0.02, ge=0.0)
    early_stop_delta: float = Field(default=1e-4, ge=0.0)
    # augmentation: the edit prompt is also trained after prefixes the model generates itself
    augment: bool = True
    prefix_seeds: list[str] = Field(default_factory=lambda: ["I", "You", "Because", "Yes", "Q: "])
    prefix_lengths: list[int] = Field(default_factory=lambda: [5, 10])
    subject_routing: bool = Field(
        default=False,
        description="when the request names a subject found in the prompt, train the activation score "
        "to be high on the subject's tokens and low on the prompt's other tokens (the authors' code's "
        "factual-editing mode); otherwise high on the whole prompt",
    )
    route_over: Literal["prompt", "sequence"] = Field(
        default="prompt",
        description="tokens the activation score is taken over when training and when scoring a teacher-forced "
        "prompt+target: 'prompt' (what generation can see: the honest default) or 'sequence' (prompt and "
        "target tokens, EasyEdit's evaluation protocol, under which the paper's numbers were measured). "
        "Generation always routes on the prompt.",
    )
    routing_pool: Literal["mean", "max"] = Field(
        default="mean",
        description="a prompt's activation score: the mean over its tokens (the paper) or the maximum "
        "(with subject_routing: the subject's tokens decide wherever they stand in a rephrase)",
    )
    n_irrelevant: int = Field(
        default=1, ge=1, description="irrelevant inputs per edit for the margin loss (cheap: they need A(x) only)"
    )
    replay: int = Field(
        default=0, ge=0,
        description="WISE-Retrieve replay (paper, appendix B.3): the prompts of up to this many earlier edits "
        "join the irrelevant inputs, so a new side memory stays quiet on what older ones answer (0: off)",
    )
    # knowledge sharding and merging
    save_freq: int = Field(default=500, ge=1, description="a new side-memory shard every save_freq edits")
    merge_freq: int | None = Field(
        default=1000, ge=1, description="TIES-merge the shards every merge_freq edits (None: never; wise-embed, "
        "whose router picks among any number of memories)")
    density: float = Field(default=0.53, gt=0.0, le=1.0, description="TIES: share of each delta kept")
    retrieve: bool = Field(default=False, description="WISE-Retrieve: keep merged shards apart and route among them")
    normalized_routing: bool = Field(
        default=False,
        description="among side memories above their thresholds pick the largest score/threshold "
        "(scale-free) instead of the largest raw score (the authors' rule)",
    )
    router: Literal["activation", "embedding"] = Field(
        default="activation",
        description="how a prompt picks its side memory: 'activation' (the paper: the largest activation score "
        "above its threshold) or 'embedding' (memkit's addition, back end `wise-embed`: the memory holding the "
        "edit whose prompt is nearest by the sentence embedder, if the cosine reaches embed_threshold)",
    )
    embed_threshold: float = Field(
        default=0.55, ge=-1.0, le=1.0,
        description="router='embedding': the least cosine between a prompt and its nearest edit prompt for that "
        "edit's memory to answer (chosen on synthetic seed 0, checked on seed 1: BENCHMARKS.md section 3)",
    )
    embed_subject: bool = Field(
        default=True,
        description="router='embedding': an edit that names a subject answers only prompts that contain it, so "
        "'the capital of Spain' does not reach an edit of 'the capital of France' however near the sentences are",
    )
    margin: bool = Field(
        default=True,
        description="train the margin loss that makes the activation score route (the paper); with "
        "router='embedding' the embeddings route, and the side memory may learn its edit without it",
    )
    route_each_call: bool = Field(
        default=False,
        description="ablation only: route on every forward call, so KV-cache decoding routes on one token",
    )

    @model_validator(mode="after")
    def _freqs(self) -> WISEConfig:
        if self.merge_freq is not None and self.merge_freq % self.save_freq:
            raise ValueError(f"merge_freq ({self.merge_freq}) must be a multiple of save_freq ({self.save_freq})")
        return self

    @classmethod
    def paper(cls, **overrides: object) -> WISEConfig:
        """The authors' released hyper-parameters (for 7B models): the default on every model."""
        return cls(**overrides)

    @classmethod
    def profile(cls, name: str, **overrides: object) -> WISEConfig:
        """A named profile: ``paper`` (the defaults) or ``smollm2`` (see :meth:`smollm2`)."""
        makers = {"paper": cls.paper, "smollm2": cls.smollm2}
        if name not in makers:
            raise ConfigError(f"no WISE profile {name!r}; known: {sorted(makers)}")
        return makers[name](**overrides)

    @classmethod
    def smollm2(cls, **overrides: object) -> WISEConfig:
        """Tuned for SmolLM2-135M-Instruct (30 layers, d_ff 1536) on a CPU (the measurements: BENCHMARKS.md).

        - layer 20 ``down_proj`` (2/3 of the depth, as in the paper's 7B setting);
        - SGD lr 0.2, 50 steps (a larger lr oscillates on this model: the margins never settle);
        - one side-memory shard per edit, WISE-Retrieve, scale-free routing (score / threshold): a shard
          holding many edits overwrites earlier ones of the same relation;
        - mask_ratio 1.0 (with one edit per shard the mask only narrows each edit);
        - 16 irrelevant sentences per edit (cheap: they need A(x) only) and act_ratio 0.7;
        - replay of the 64 previous edit prompts as irrelevant inputs (paper, appendix B.3), so a new
          shard does not steal older edits' prompts;
        - no prefix augmentation (slow on a CPU, not needed for reliability).
        """
        values: dict[str, object] = {
            "layer": "model.layers.20.mlp.down_proj",
            "edit_lr": 0.2,
            "n_iter": 50,
            "augment": False,
            "retrieve": True,
            "save_freq": 1,
            "merge_freq": 1000,
            "mask_ratio": 1.0,
            "normalized_routing": True,
            "n_irrelevant": 16,
            "act_ratio": 0.7,
            "replay": 64,
        }
        values.update(overrides)
        return cls(**values)
