from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from memkit.editing import FTConfig  # noqa: E402
from memkit.editing.ft.model import FTL  # noqa: E402

LAYER = "model.layers.2.mlp.down_proj"


def test_ft_l_edits_the_layer_in_place_within_the_bound(tiny_llama, tiny_tokenizer, edits):
    ft = FTL(FTConfig(layer=LAYER, lr=1e-2, norm_bound=0.02), model=tiny_llama, tokenizer=tiny_tokenizer)
    e = edits[0]
    ft.write([e])
    change = (ft.module.weight - ft.original).abs()
    assert 0 < change.max() <= 0.02 + 1e-6
    assert ft.describe()["changed_entries"] > 0
    assert ft.score([e.prompt], [e.target_new])[0].routed is None  # no routing: every input sees the edit
    others = [n for n, p in ft.model.named_parameters() if n != LAYER + ".weight"]
    assert others and not any(p.requires_grad for p in ft.model.parameters())


def test_ft_l_reaches_the_target(tiny_llama, tiny_tokenizer, edits):
    ft = FTL(FTConfig(layer=LAYER, lr=2e-2, n_iter=40), model=tiny_llama, tokenizer=tiny_tokenizer)
    ft.write(edits[:1])
    assert ft.score([edits[0].prompt], [edits[0].target_new])[0].token_accuracy == 1.0
