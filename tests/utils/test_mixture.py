import doctest
import itertools
import math

import pytest
import torch
import torch.nn.functional as F

import pyg_ext.utils.mixture as mixture
from pyg_ext.utils import (dispersion_features, expected_accuracy,
                           mixture_log_probs, mowst_loss, mowst_star_loss)


def tensors(device, n=30, c=4, seed=0, scale=3.0):
    g = torch.Generator().manual_seed(seed)
    w = scale * torch.randn(n, c, generator=g)
    s = scale * torch.randn(n, c, generator=g)
    conf = torch.rand(n, generator=g)
    y = torch.randint(0, c, (n, ), generator=g)
    return [t.to(device) for t in (w, s, conf, y)]


def test_doctests():
    res = doctest.testmod(mixture, extraglobs={'torch': torch})
    assert res.attempted >= 5 and res.failed == 0


def test_dispersion_features_match_the_formulas(device):
    z = torch.randn(50, 5, generator=torch.Generator().manual_seed(1))
    z = z.double().to(device)
    p = z.softmax(-1)
    var = (5 * (p**2).sum(-1) - 1) / 4
    ent = 1 + (p * p.log()).sum(-1) / math.log(5)
    d = dispersion_features(z)
    assert d.device == z.device and d.shape == (50, 2)
    assert torch.allclose(d, torch.stack([var, ent], -1), atol=1e-12)
    assert torch.allclose(dispersion_features(z, 'entropy'), ent[:, None],
                          atol=1e-12)
    pp = p.softmax(-1)
    assert torch.allclose(
        dispersion_features(z, ['variance'], double_softmax=True)[:, 0],
        (5 * (pp**2).sum(-1) - 1) / 4, atol=1e-12)
    # Uniform and (numerically) one-hot rows sit at the ends, round-off
    # clamped into [0, 1].
    ends = torch.tensor([[0.1, 0.1, 0.1], [300.0, 0.0, 0.0]], device=device)
    d = dispersion_features(ends)
    assert torch.allclose(d.cpu(), torch.tensor([[0.0, 0.0], [1.0, 1.0]]),
                          atol=1e-6)
    assert d.min().item() >= 0.0 and d.max().item() <= 1.0


def test_dispersion_features_bad_names():
    with pytest.raises(ValueError, match="unknown dispersion 'kurtosis'"):
        dispersion_features(torch.zeros(2, 3), ('variance', 'kurtosis'))
    with pytest.raises(ValueError, match='at least one'):
        dispersion_features(torch.zeros(2, 3), ())


def test_mixture_log_probs_match_the_explicit_formula(device):
    w, s, conf, _ = tensors(device)
    c = conf.double()[:, None]
    p, q = w.double().softmax(-1), s.double().softmax(-1)
    ref = (c * p + (1 - c) * q).log()
    out = mixture_log_probs(w, s, conf)
    assert out.device == w.device
    assert torch.allclose(out.double(), ref, atol=1e-5)
    ref_logit = (c * w.double() + (1 - c) * s.double()).log_softmax(-1)
    assert torch.allclose(
        mixture_log_probs(w, s, conf, 'logit').double(), ref_logit,
        atol=1e-5)
    # C = 1 / C = 0: exactly one expert, finite (no log(0) leaks).
    one = mixture_log_probs(w, s, torch.ones_like(conf))
    zero = mixture_log_probs(w, s, torch.zeros_like(conf))
    assert torch.allclose(one, w.log_softmax(-1), atol=1e-6)
    assert torch.allclose(zero, s.log_softmax(-1), atol=1e-6)
    assert bool(one.isfinite().all()) and bool(zero.isfinite().all())


def test_mixture_log_probs_bad_input():
    w = torch.zeros(3, 2)
    with pytest.raises(ValueError, match="'mix' must be one of"):
        mixture_log_probs(w, w, torch.zeros(3), 'mean')
    with pytest.raises(ValueError, match="'conf' must be \\[N\\]"):
        mixture_log_probs(w, w, torch.zeros(4))
    with pytest.raises(ValueError, match="'strong_logits' must both"):
        mixture_log_probs(w, torch.zeros(3, 3), torch.zeros(3))


def test_mowst_loss_formula_and_confidence_gradient(device):
    w, s, conf, y = tensors(device)
    lw = -w.log_softmax(-1)[torch.arange(30, device=device), y]
    ls = -s.log_softmax(-1)[torch.arange(30, device=device), y]
    per_node = conf * lw + (1 - conf) * ls
    assert torch.allclose(mowst_loss(w, s, conf, y, 'none'), per_node,
                          atol=1e-6)
    assert torch.allclose(mowst_loss(w, s, conf, y, 'sum'), per_node.sum(),
                          rtol=1e-6)
    conf = conf.clone().requires_grad_()
    mowst_loss(w, s, conf, y).backward()
    # dL/dC_v = (l_weak - l_strong) / N (paper Eq. 1).
    assert torch.allclose(conf.grad, (lw - ls) / 30, atol=1e-6)
    with pytest.raises(ValueError, match="'reduction' must be one of"):
        mowst_loss(w, s, conf, y, 'max')


def test_mowst_star_loss_is_the_mixture_nll_and_a_lower_bound(device):
    for seed in range(10):
        w, s, conf, y = tensors(device, seed=seed)
        c = conf[:, None]
        mix = c * w.softmax(-1) + (1 - c) * s.softmax(-1)
        ref = -mix[torch.arange(30, device=device), y].log()
        star = mowst_star_loss(w, s, conf, y, reduction='none')
        assert torch.allclose(star, ref, atol=1e-5)
        # Jensen (paper Prop. 2.5): node by node.
        assert bool((mowst_loss(w, s, conf, y, 'none') >= star - 1e-6).all())
    logit = mowst_star_loss(w, s, conf, y, mix='logit')
    assert torch.allclose(logit, F.cross_entropy(c * w + (1 - c) * s, y))


def test_expected_accuracy_closed_form_and_brute_force(device):
    conf = torch.tensor([1.0, 0.0, 0.25], device=device)
    wc = torch.tensor([True, False, True], device=device)
    sc = torch.tensor([False, True, False], device=device)
    ea = expected_accuracy(conf, wc, sc)
    assert ea.device == conf.device and ea.dtype == torch.float64
    assert ea.item() == pytest.approx((1 + 1 + 0.25) / 3)
    # Enumerate all 2^N routings of Algorithm 1 with their probabilities.
    g = torch.Generator().manual_seed(3)
    n = 8
    conf = torch.rand(n, generator=g, dtype=torch.float64)
    wc = torch.rand(n, generator=g) < 0.6
    sc = torch.rand(n, generator=g) < 0.6
    total = 0.0
    for route in itertools.product([True, False], repeat=n):  # True: weak
        prob, acc = 1.0, 0.0
        for v, weak in enumerate(route):
            prob *= conf[v].item() if weak else 1 - conf[v].item()
            acc += (wc if weak else sc)[v].item()
        total += prob * acc / n
    got = expected_accuracy(conf.to(device), wc.to(device), sc.to(device))
    assert got.item() == pytest.approx(total, abs=1e-12)
    assert math.isnan(expected_accuracy(torch.zeros(0), wc[:0],
                                        sc[:0]).item())
    with pytest.raises(ValueError, match="must all be \\[N\\]"):
        expected_accuracy(conf, wc[:3], sc)


def test_expected_accuracy_matches_monte_carlo_on_device(device):
    g = torch.Generator().manual_seed(0)
    n, draws = 500, 400
    conf = torch.rand(n, generator=g).to(device)
    wc = (torch.rand(n, generator=g) < 0.7).to(device)
    sc = (torch.rand(n, generator=g) < 0.5).to(device)
    gen = torch.Generator(device=device).manual_seed(0)
    q = torch.rand(draws, n, generator=gen, device=device)
    acc = torch.where(q < conf, wc, sc).double().mean(-1)  # weak iff q < C
    c = conf.double()
    sigma = math.sqrt((c * (1 - c) * (wc.double() - sc.double())**2).sum()
                      .item()) / n / math.sqrt(draws)
    assert abs(acc.mean().item() - expected_accuracy(conf, wc, sc).item()) \
        < 4 * sigma


def test_device_results_equal_cpu(device):
    w, s, conf, y = tensors('cpu')
    dev = [t.to(device) for t in (w, s, conf, y)]
    for fn, args in ((mixture_log_probs, ()), (mowst_loss, (y, 'none')),
                     (mowst_star_loss, (y, 'prob', 'none'))):
        ref = fn(w, s, conf, *args)
        got = fn(*dev[:3], *[a.to(device) if torch.is_tensor(a) else a
                             for a in args])
        assert torch.allclose(got.cpu(), ref, atol=1e-5)
    assert torch.allclose(dispersion_features(dev[0]).cpu(),
                          dispersion_features(w), atol=1e-6)
