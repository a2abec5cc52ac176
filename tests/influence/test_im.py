import itertools
import math

import numpy as np
import pytest
import torch

from pyg_ext.influence import (RRSets, exact_spread, imm, imm_sample_sizes,
                               max_coverage, opim, opim_c,
                               opim_c_sample_sizes, prepare)
from pyg_ext.influence.im import opim_lower_bound, opim_upper_bound
from helpers_im import brute_force_opt, random_graph

E1 = 1 - 1 / math.e


def random_hypergraph(rng, n, theta):
    sizes = rng.integers(1, 4, size=theta)
    nodes = np.concatenate(
        [rng.choice(n, size=s, replace=False) for s in sizes])
    ptr = np.r_[0, np.cumsum(sizes)]
    return RRSets(ptr, nodes, np.zeros(theta, np.int32), n)


def test_greedy_vs_brute_force_and_upper_bound():
    rng = np.random.default_rng(0)
    for trial in range(30):
        n = int(rng.integers(4, 9))
        rr = random_hypergraph(rng, n, int(rng.integers(5, 30)))
        k = int(rng.integers(1, 4))
        seeds, cov, upper = max_coverage(rr, k)
        assert len(set(seeds.tolist())) == k
        assert cov == rr.coverage(seeds)
        opt = max(rr.coverage(list(s))
                  for s in itertools.combinations(range(n), k))
        assert cov >= E1 * opt - 1e-9
        assert upper >= opt
        assert upper <= cov / E1 + 1e-9 or upper >= opt  # sound either way


def test_greedy_exact_small_case_and_tie_break():
    # sets {0,1}, {1}, {2}, {2}, {3}: greedy picks 1 then 2 (cov 1+... )
    rr = RRSets(np.array([0, 2, 3, 4, 5, 6]), np.array([0, 1, 1, 2, 2, 3]),
                np.zeros(5, np.int32), 4)
    seeds, cov, upper = max_coverage(rr, 2)
    assert seeds.tolist() == [1, 2] and cov == 4
    # prefix bound at i=0: top-2 of (1, 2, 2, 1) = 4 -> upper = 4
    assert upper == 4
    s, c = max_coverage(rr, 1, candidates=torch.tensor([0, 3]),
                        return_upper_bound=False)
    assert s.tolist() == [0] and c == 1


def test_max_coverage_bad_k():
    rr = RRSets(np.array([0, 1]), np.array([0]), np.zeros(1, np.int32), 3)
    with pytest.raises(ValueError, match="'k' must be >= 1"):
        max_coverage(rr, 0)
    with pytest.raises(ValueError, match='exceeds the number of candidate'):
        max_coverage(rr, 4)
    with pytest.raises(ValueError, match='exceeds the number of candidate'):
        max_coverage(rr, 2, candidates=[1])
    with pytest.raises(TypeError, match="'k' must be an int"):
        max_coverage(rr, 1.5)


def test_imm_sample_size_formulas():
    n, k, eps, ell = 1000, 5, 0.2, 1.0
    sz = imm_sample_sizes(n, k, eps, ell)
    ell2 = ell * (1 + math.log(2) / math.log(n))
    lc = math.log(math.comb(n, k))
    alpha = math.sqrt(ell2 * math.log(n) + math.log(2))
    beta = math.sqrt(E1 * (lc + ell2 * math.log(n) + math.log(2)))
    assert sz['ell'] == pytest.approx(ell2)
    assert sz['lambda_star'] == pytest.approx(
        2 * n * (E1 * alpha + beta)**2 / eps**2)
    ep = math.sqrt(2) * eps
    lp = (2 + 2 * ep / 3) * (lc + ell2 * math.log(n) +
                             math.log(math.log2(n))) * n / ep**2
    assert sz['lambda_prime'] == pytest.approx(lp)
    # i = 1 .. log2(n) - 1 = 8.97 -> 8 rounds
    assert len(sz['theta_i']) == 8
    for i, t in enumerate(sz['theta_i'], start=1):
        assert t == pytest.approx(lp * 2**i / n)


def test_opim_c_sample_size_formulas():
    n, k, eps = 500, 3, 0.1
    sz = opim_c_sample_sizes(n, k, eps)
    delta = 1 / n
    lc = math.log(math.comb(n, k))
    l6 = math.log(6 / delta)
    core = (E1 * math.sqrt(l6) + math.sqrt(E1 * (lc + l6)))**2
    assert sz['theta_max'] == pytest.approx(2 * n * core / (eps**2 * k))
    assert sz['theta0'] == pytest.approx(sz['theta_max'] * eps**2 * k / n)
    assert sz['i_max'] == math.floor(math.log2(n / (eps**2 * k))) + 1
    assert sz['a'] == pytest.approx(math.log(3 * sz['i_max'] / delta))


def test_opim_bounds_closed_form():
    a = math.log(2 / 0.01)
    lo = opim_lower_bound(400, 1000, 50, a)
    assert lo == pytest.approx(((math.sqrt(400 + 2 * a / 9) -
                                 math.sqrt(a / 2))**2 - a / 18) * 50 / 1000)
    up = opim_upper_bound(600, 1000, 50, a)
    assert up == pytest.approx((math.sqrt(600 + a / 2) + math.sqrt(a / 2))**2
                               * 50 / 1000)
    assert lo < 400 * 50 / 1000 < 600 * 50 / 1000 < up
    assert opim_lower_bound(0, 10, 5, a) == 0.0


def test_unique_optimum_on_dag_with_probability_one():
    # two disjoint out-trees: 0 reaches 5 nodes, 6 reaches 4; the others less
    ei = torch.tensor([[0, 0, 1, 1, 6, 6, 7], [1, 2, 3, 4, 7, 8, 9]])
    n = 10
    for algo in (imm, opim_c):
        res = algo(ei, n, k=2, eps=0.3, probs=torch.ones(7), seed=0)
        assert sorted(res.seeds.tolist()) == [0, 6]
        assert res.spread_est == pytest.approx(9.0, rel=0.2)  # RR estimate


@pytest.mark.parametrize('model', ['IC', 'LT'])
def test_approximation_and_certificate_on_tiny_graphs(model):
    rng = np.random.default_rng(4)
    eps, k = 0.2, 2
    fails_imm = fails_opim = fails_cert = 0
    runs = 0
    for trial in range(4):
        ei, probs = random_graph(rng, 7, 12)
        if model == 'LT':
            tot = torch.zeros(7, dtype=probs.dtype).index_add_(0, ei[1], probs)
            probs = probs / tot[ei[1]].clamp(min=1.0)
        g = prepare(ei, 7, model=model, probs=probs)
        sets = [list(s) for s in itertools.combinations(range(7), k)]
        vals = exact_spread(g, seeds=sets, model=model)
        opt = float(vals.max())
        lookup = {tuple(s): float(v) for s, v in zip(sets, vals)}
        for r in range(25):
            runs += 1
            a = imm(g, k=k, eps=eps, seed=100 * trial + r, model=model)
            b = opim_c(g, k=k, eps=eps, seed=100 * trial + r, model=model)
            sa = lookup[tuple(sorted(a.seeds.tolist()))]
            sb = lookup[tuple(sorted(b.seeds.tolist()))]
            fails_imm += sa < (E1 - eps) * opt
            fails_opim += sb < (E1 - eps) * opt
            fails_cert += b.alpha > sb / opt + 1e-12
            assert b.sigma_lower <= b.sigma_upper_opt
    # delta = 1/n = 1/7 per run; allow that fraction
    assert fails_imm <= runs / 7
    assert fails_opim <= runs / 7
    assert fails_cert <= runs / 7


def test_imm_reuse_and_guard_and_determinism():
    rng = np.random.default_rng(9)
    ei = torch.from_numpy(rng.integers(0, 300, size=(2, 1500)))
    a = imm(ei, 300, k=5, eps=0.3, seed=1)
    b = imm(ei, 300, k=5, eps=0.3, seed=1, num_threads=2)
    assert torch.equal(a.seeds, b.seeds) and a.num_rr_sets == b.num_rr_sets
    c = imm(ei, 300, k=5, eps=0.3, seed=1, reuse_samples=True)
    # fresh final samples cost the sampling-phase sets on top
    assert a.num_rr_sets > c.num_rr_sets == c.info['theta']
    assert a.info['final_rr_sets'] == a.info['theta']
    assert a.guarantee == pytest.approx(E1 - 0.3)
    with pytest.raises(ValueError, match='max_rr_sets'):
        imm(ei, 300, k=5, eps=0.3, seed=1, max_rr_sets=10)
    o1 = opim_c(ei, 300, k=5, seed=3, num_threads=1)
    o2 = opim_c(ei, 300, k=5, seed=3, num_threads=2)
    assert torch.equal(o1.seeds, o2.seeds) and o1.alpha == o2.alpha
    assert o1.alpha >= E1 - 0.1 or o1.iterations == o1.info['sizes']['i_max']


def test_opim_c_tight_bound_needs_no_more_samples_than_vanilla():
    rng = np.random.default_rng(10)
    ei = torch.from_numpy(rng.integers(0, 400, size=(2, 2000)))
    t = opim_c(ei, 400, k=10, seed=0, bound='tight')
    v = opim_c(ei, 400, k=10, seed=0, bound='vanilla')
    assert t.num_rr_sets <= v.num_rr_sets
    assert t.sigma_upper_opt >= t.sigma_lower
    for r in (t, v):
        assert r.info['sigma_upper_tight'] <= r.info['sigma_upper_vanilla']
    assert t.sigma_upper_opt == t.info['sigma_upper_tight']
    assert v.sigma_upper_opt == v.info['sigma_upper_vanilla']


def test_opim_fixed_budget():
    rng = np.random.default_rng(12)
    ei = torch.from_numpy(rng.integers(0, 100, size=(2, 500)))
    res = opim(ei, 100, k=3, num_rr_sets=2000, seed=0)
    assert res.num_rr_sets == 4000 and 0 < res.alpha <= 1
    more = opim(ei, 100, k=3, num_rr_sets=20000, seed=0)
    assert more.alpha > res.alpha
    with pytest.raises(ValueError, match="'num_rr_sets'"):
        opim(ei, 100, k=3, num_rr_sets=0)


def test_im_bad_inputs():
    ei = torch.tensor([[0, 1], [1, 2]])
    with pytest.raises(ValueError, match="'eps'"):
        imm(ei, 3, k=1, eps=1.5)
    with pytest.raises(ValueError, match="'k' must be >= 1"):
        opim_c(ei, 3, k=0)
    with pytest.raises(ValueError, match='exceeds'):
        opim_c(ei, 3, k=4)
    with pytest.raises(ValueError, match="'bound'"):
        opim_c(ei, 3, k=1, bound='loose')
    with pytest.raises(ValueError, match="'delta'"):
        opim_c(ei, 3, k=1, delta=2.0)
