"""Routing of the side-memory layer, on hand-made weights."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from memkit.editing.wise.layer import SideMemoryLinear, masked_mean  # noqa: E402


def _layer():
    base = torch.nn.Linear(4, 2, bias=False)
    with torch.no_grad():
        base.weight.zero_()
    layer = SideMemoryLinear(base)
    side_a = torch.zeros(2, 4)
    side_a[0, 0] = 1.0  # answers inputs along x0
    side_b = torch.zeros(2, 4)
    side_b[1, 1] = 1.0  # answers inputs along x1
    layer.memories, layer.thresholds = [side_a, side_b], [0.5, 0.5]
    return layer


def test_scores_and_decision_per_row():
    layer = _layer()
    x = torch.zeros(3, 2, 4)
    x[0, :, 0] = 1.0  # memory 0
    x[1, :, 1] = 2.0  # memory 1
    x[2, :, 2] = 5.0  # neither: main memory
    out = layer(x)
    assert layer.decision.tolist() == [0, 1, -1]
    assert torch.allclose(layer.last_scores, torch.tensor([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]]))
    assert torch.allclose(out[0, :, 0], torch.ones(2)) and torch.allclose(out[2], torch.zeros(2, 2))


def test_threshold_is_inclusive_and_masked_mean():
    layer = _layer()
    x = torch.zeros(1, 2, 4)
    x[0, 0, 0] = 1.0  # mean over both tokens: 0.5 = threshold
    layer(x)
    assert layer.decision.tolist() == [0]
    with layer.session(torch.tensor([[False, True]])):  # only the second token counts: 0
        layer(x)
        assert layer.decision.tolist() == [-1]
    assert masked_mean(torch.tensor([[1.0, 3.0]]), torch.tensor([[True, False]])).item() == 1.0


def test_session_routes_once_on_the_prompt_and_keeps_it_while_decoding():
    layer = _layer()
    prompt = torch.zeros(1, 3, 4)
    prompt[0, :, 0] = 1.0
    step = torch.zeros(1, 1, 4)  # a decoded token that alone would route nowhere
    with layer.session(None):
        layer(prompt)
        assert layer.decision.tolist() == [0]
        out = layer(step + torch.tensor([0.0, 0.0, 0.0, 0.0]))
        assert layer.decision.tolist() == [0]
    naive = _layer()
    naive.route_each_call = True
    naive(prompt)
    naive(step)
    assert naive.decision.tolist() == [-1]  # per-step routing drops the memory
    assert out.shape == (1, 1, 2)


def test_outside_a_session_one_token_calls_reuse_the_last_decision():
    layer = _layer()
    prompt = torch.zeros(2, 3, 4)
    prompt[0, :, 1] = 1.0
    layer(prompt)
    assert layer.decision.tolist() == [1, -1]
    layer(torch.zeros(2, 1, 4))
    assert layer.decision.tolist() == [1, -1]
    layer(torch.zeros(1, 1, 4))  # another batch: decided afresh
    assert layer.decision.tolist() == [-1]


def test_disabled_and_empty_layers_answer_with_the_base():
    layer = _layer()
    x = torch.ones(1, 2, 4)
    layer.enabled = False
    assert torch.equal(layer(x), layer.base(x))
    empty = SideMemoryLinear(torch.nn.Linear(4, 2))
    assert torch.equal(empty(x), empty.base(x))


def test_conv1d_layout():
    from transformers.pytorch_utils import Conv1D

    conv = Conv1D(2, 4)  # weight (in=4, out=2)
    side = conv.weight.detach().clone()
    side[0, 1] += 1.0
    layer = SideMemoryLinear(conv, transposed=True)
    x = torch.zeros(1, 1, 4)
    x[..., 0] = 1.0
    assert torch.allclose(layer.delta(x, side), torch.tensor([[[0.0, 1.0]]]))
