import itertools

import numpy as np
import pytest
import torch

from pyg_ext.influence import (cim_local_baseline, cim_mg_greedy,
                               cim_rr_greedy, cim_rr_opim_plus, exact_spread,
                               prepare, sample_rr_sets)
from pyg_ext.influence import _kernels as K
from pyg_ext.influence.cim import cim_candidates
from helpers_im import random_graph


def tiny_instance(rng, n=9, m=22, d=2):
    ei, _ = random_graph(rng, n, m)
    g = prepare(ei, n)  # WC from the full graph
    aps = rng.choice(n, size=d, replace=False)
    return g, aps


def check_feasible(g, aps, k, pairs):
    aps = set(int(a) for a in aps)
    out = {}
    edges = set(zip(g.src.tolist(), g.dst.tolist()))
    for u, v in pairs.t().tolist():
        assert u in aps and v not in aps
        assert (u, v) in edges
        out[u] = out.get(u, 0) + 1
    assert all(c <= k for c in out.values())
    assert len(set(pairs[1].tolist())) == pairs.shape[1]


def passive_opt(g, aps, k):
    r"""Brute force over the partition matroid: (OPT, spread function)."""
    n = g.num_nodes
    a_set = set(int(a) for a in aps)
    keep = np.array([s not in a_set and d not in a_set
                     for s, d in zip(g.src, g.dst)], dtype=bool)
    ei = torch.from_numpy(np.stack([g.src[keep], g.dst[keep]]).astype(
        np.int64))
    pg = prepare(ei, n, probs=torch.from_numpy(g.prob[keep]))
    _, ptr, cand, _ = cim_candidates(g, aps, k)
    choices = []
    for i in range(len(aps)):
        c = cand[ptr[i]:ptr[i + 1]].tolist()
        opts = [()]
        for r in range(1, min(k, len(c)) + 1):
            opts += list(itertools.combinations(c, r))
        choices.append(opts)
    seen = {}
    for combo in itertools.product(*choices):
        s = tuple(sorted(set(itertools.chain(*combo))))
        if s not in seen:
            seen[s] = None
    sets = [list(s) for s in seen if s]
    vals = exact_spread(pg, seeds=sets)

    def spread(seeds):
        return exact_spread(pg, seeds=sorted(seeds)) if len(seeds) else 0.0
    return float(vals.max()), spread


@pytest.mark.parametrize('k', [1, 2])
def test_feasibility_and_brute_force_ratio(k):
    rng = np.random.default_rng(k)
    eps = 0.1
    for trial in range(4):
        g, aps = tiny_instance(rng)
        opt, spread = passive_opt(g, aps, k)
        for algo, kw in [(cim_rr_opim_plus, dict(eps=eps)),
                         (cim_rr_opim_plus, dict(eps=eps, bound='vanilla')),
                         (cim_rr_opim_plus, dict(eps=eps, selector='mg')),
                         (cim_rr_greedy, dict(num_rr_sets=20000)),
                         (cim_mg_greedy, dict(num_rr_sets=20000))]:
            res = algo(g, aps=aps, k=k, seed=trial, **kw)
            check_feasible(g, aps, k, res.pairs)
            val = spread(res.seeds.tolist())
            assert val >= (0.5 - eps) * opt - 1e-9
            if res.alpha is not None:
                assert res.sigma_lower <= res.sigma_upper
                assert res.chi >= 1


def test_mc_oracle_greedies():
    rng = np.random.default_rng(7)
    g, aps = tiny_instance(rng)
    opt, spread = passive_opt(g, aps, 1)
    for algo in (cim_rr_greedy, cim_mg_greedy):
        res = algo(g, aps=aps, k=1, oracle='mc', num_mc=3000, seed=0)
        check_feasible(g, aps, 1, res.pairs)
        assert res.num_rr_sets == 0
        assert spread(res.seeds.tolist()) >= 0.45 * opt


def test_round_robin_exact_case():
    # APs 0 and 1 both point to 2 and 3; 2 -> 4 -> 5 makes 2 the best seed.
    ei = torch.tensor([[0, 0, 1, 1, 2, 4], [2, 3, 2, 3, 4, 5]])
    res = cim_rr_greedy(ei, 6, aps=[0, 1], k=1, probs=torch.ones(6),
                        num_rr_sets=5000, seed=0)
    # AP 0 takes 2 first; AP 1 can only take 3 (distinct seeds)
    assert res.pairs.tolist() == [[0, 1], [2, 3]]
    mg = cim_mg_greedy(ei, 6, aps=[0, 1], k=2, probs=torch.ones(6),
                       num_rr_sets=5000, seed=0)
    assert mg.pairs.tolist() == [[0, 0], [2, 3]]


def test_tightened_bound_is_an_upper_bound():
    rng = np.random.default_rng(3)
    for trial in range(30):
        g, aps = tiny_instance(rng, n=8, m=18, d=2 + trial % 2)
        k = 1 + trial % 3
        a, ptr, cand, ex = cim_candidates(g, aps, k)
        rr = sample_rr_sets(g, n=60, seed=trial, exclude=aps)
        node_ptr, node_rr = rr.index()
        for rr_mode in (True, False):
            ap_idx, seeds, cov, tight = K.cim_greedy_rr(
                rr._ptr, rr._nodes, node_ptr, node_rr, g.num_nodes, ptr,
                cand, k, rr_mode)
            assert cov == rr.coverage(seeds)
            best = 0
            choices = []
            for i in range(len(a)):
                c = cand[ptr[i]:ptr[i + 1]].tolist()
                opts = [()]
                for r in range(1, min(k, len(c)) + 1):
                    opts += list(itertools.combinations(c, r))
                choices.append(opts)
            for combo in itertools.product(*choices):
                s = sorted(set(itertools.chain(*combo)))
                if s:
                    best = max(best, rr.coverage(s))
            assert tight >= best
            assert 2 * cov >= best  # 1/2-approximation on coverage


def test_local_baseline_dedupes():
    ei = torch.tensor([[0, 0, 1, 1, 2], [2, 3, 2, 3, 4]])
    res = cim_local_baseline(ei, 5, aps=[0, 1], k=1,
                             scores=torch.tensor([0, 0, 5., 1, 0]))
    assert res.pairs.tolist() == [[0], [2]]


def test_cim_bad_inputs():
    ei = torch.tensor([[0, 0, 1], [1, 2, 2]])
    with pytest.raises(ValueError, match="'aps' must be node ids"):
        cim_rr_opim_plus(ei, 3, aps=[5], k=1)
    with pytest.raises(ValueError, match="must not be empty"):
        cim_rr_opim_plus(ei, 3, aps=[], k=1)
    with pytest.raises(ValueError, match="must not repeat"):
        cim_rr_greedy(ei, 3, aps=[0, 0], k=1)
    with pytest.raises(ValueError, match="'k'"):
        cim_mg_greedy(ei, 3, aps=[0], k=0)
    with pytest.raises(ValueError, match='passive out-neighbour'):
        cim_rr_opim_plus(ei, 3, aps=[2], k=1)
    with pytest.raises(ValueError, match="'oracle'"):
        cim_rr_greedy(ei, 3, aps=[0], k=1, oracle='exact')
    with pytest.raises(ValueError, match="'selector'"):
        cim_rr_opim_plus(ei, 3, aps=[0], k=1, selector='celf')


def test_random_feasible_size_chi():
    # disjoint candidate lists: chi = sum_u min(k, |C_u|) exactly
    ptr = np.array([0, 3, 4, 6], dtype=np.int64)
    cand = np.array([3, 4, 5, 6, 7, 8], dtype=np.int64)
    assert K.random_feasible_size(ptr, cand, 9, 2, 0) == 2 + 1 + 2
    # shared candidates: 1 <= chi <= min(#distinct, d * k), and a candidate
    # reachable from one AP only is assigned while capacity remains
    ptr = np.array([0, 3, 6], dtype=np.int64)
    cand = np.array([2, 3, 4, 2, 3, 4], dtype=np.int64)
    for seed in range(20):
        chi = K.random_feasible_size(ptr, cand, 5, 1, seed)
        assert chi == 2
        chi3 = K.random_feasible_size(ptr, cand, 5, 3, seed)
        assert chi3 == 3
