from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from memkit.editing.wise.merge import ties_merge, trim  # noqa: E402
from memkit.errors import InvalidInputError  # noqa: E402


def test_trim_keeps_the_largest_magnitudes():
    t = torch.tensor([3.0, -1.0, 0.5, 2.0])
    assert torch.equal(trim(t, 0.5), torch.tensor([3.0, 0.0, 0.0, 2.0]))
    assert torch.equal(trim(t, 1.0), t)


def test_ties_trim_then_elect_then_disjoint_mean():
    base = torch.zeros(4)
    t1 = torch.tensor([3.0, -1.0, 0.5, 2.0])  # trimmed to [3, 0, 0, 2]
    t2 = torch.tensor([1.0, -2.0, -4.0, 0.1])  # trimmed to [0, -2, -4, 0]
    assert torch.equal(ties_merge(base, [t1, t2], density=0.5), torch.tensor([3.0, -2.0, -4.0, 2.0]))


def test_ties_sign_conflicts_keep_only_the_majority_mass():
    base = torch.ones(2)
    tensors = [base + torch.tensor([2.0, 1.0]), base + torch.tensor([-1.0, 3.0]), base + torch.tensor([-4.0, 5.0])]
    # entry 0: mass 2-1-4 < 0 -> "-" wins, mean of -1 and -4; entry 1: all agree, mean 3
    assert torch.allclose(ties_merge(base, tensors, density=1.0), torch.tensor([1 - 2.5, 1 + 3.0]))


def test_ties_weights_and_untouched_entries():
    base = torch.zeros(3)
    a, b = torch.tensor([1.0, 0.0, 0.0]), torch.tensor([3.0, 0.0, 2.0])
    merged = ties_merge(base, [a, b], density=1.0, weights=[0.75, 0.25])
    assert torch.allclose(merged, torch.tensor([(0.75 * 1 + 0.25 * 3) / 1.0, 0.0, 2.0]))
    with pytest.raises(InvalidInputError):
        ties_merge(base, [], density=1.0)
    with pytest.raises(InvalidInputError):
        ties_merge(base, [a], density=1.0, weights=[0.5, 0.5])


def test_disjoint_deltas_survive_merging_intact():
    base = torch.randn(8, 8)
    mask = torch.zeros(8, 8, dtype=torch.bool)
    mask[:4] = True
    d1, d2 = torch.randn(8, 8) * mask, torch.randn(8, 8) * ~mask
    merged = ties_merge(base, [base + d1, base + d2], density=1.0)
    assert torch.allclose(merged, base + d1 + d2, atol=1e-6)
