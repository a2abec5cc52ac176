import math

import pytest
import torch

from pyg_ext.utils.dispersion import entropy_dispersion, variance_dispersion


def test_closed_forms_on_hand_vectors():
    p = torch.tensor([[0.7, 0.2, 0.1]], dtype=torch.float64)
    # (n * sum p^2 - 1) / (n - 1) = (3 * 0.54 - 1) / 2
    assert variance_dispersion(p).item() == pytest.approx(0.31, abs=1e-12)
    h = -(0.7 * math.log(0.7) + 0.2 * math.log(0.2) + 0.1 * math.log(0.1))
    assert entropy_dispersion(p).item() == pytest.approx(
        1 - h / math.log(3), abs=1e-12)
    # The population variance over the one-hot variance, computed directly.
    var = p.var(dim=-1, unbiased=False)
    onehot = torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64)
    assert variance_dispersion(p).item() == pytest.approx(
        (var / onehot.var(unbiased=False)).item(), abs=1e-12)


def test_binary_variance_is_square():
    p1 = torch.linspace(0, 1, 11, dtype=torch.float64)
    p = torch.stack([p1, 1 - p1], dim=-1)
    assert torch.allclose(variance_dispersion(p), (2 * p1 - 1)**2)


@pytest.mark.parametrize('fn', [variance_dispersion, entropy_dispersion])
def test_uniform_onehot_range_and_permutation(fn):
    for n in (2, 3, 7):
        assert fn(torch.full((n, ), 1.0 / n)).abs().item() < 1e-6
        assert fn(torch.eye(n)).sub(1).abs().max().item() < 1e-6
    torch.manual_seed(0)
    p = torch.distributions.Dirichlet(torch.full((5, ), 0.3)).sample((200, ))
    d = fn(p)
    assert d.shape == (200, )
    assert bool((d >= -1e-6).all()) and bool((d <= 1 + 1e-6).all())
    perm = torch.randperm(5)
    assert torch.allclose(fn(p[:, perm]), d, atol=1e-6)


@pytest.mark.parametrize('fn', [variance_dispersion, entropy_dispersion])
def test_moving_mass_to_argmax_increases(fn):
    p = torch.tensor([0.4, 0.35, 0.25], dtype=torch.float64)
    prev = fn(p).item()
    for _ in range(10):
        p = p.clone()
        p[1] -= 0.02
        p[0] += 0.02
        cur = fn(p).item()
        assert cur > prev
        prev = cur


@pytest.mark.parametrize('fn', [variance_dispersion, entropy_dispersion])
def test_bad_input(fn):
    with pytest.raises(ValueError, match='at least 2 classes'):
        fn(torch.ones(4, 1))
    with pytest.raises(TypeError, match='floating-point'):
        fn(torch.ones(4, 3, dtype=torch.long))


@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_entropy_matches_xlogy_reference_with_zeros_and_finite_grad(dtype):
    g = torch.Generator().manual_seed(0)
    p = torch.softmax(torch.randn(64, 7, generator=g, dtype=dtype) * 3,
                      dim=-1)
    p[:8, :3] = 0.0  # exact zeros: 0 log 0 = 0
    p = p / p.sum(-1, keepdim=True)
    ref = 1.0 + torch.special.xlogy(p, p).sum(-1) / math.log(7)
    p.requires_grad_(True)
    d = entropy_dispersion(p)
    assert torch.allclose(d, ref, atol=1e-6)
    d.sum().backward()
    assert torch.isfinite(p.grad).all()
    # Away from zero the gradient is -(log p + 1) / log n.
    nz = p.detach() > 0
    expect = (p.detach().log() + 1.0) / math.log(7)
    assert torch.allclose(p.grad[nz], expect[nz], atol=1e-5)
