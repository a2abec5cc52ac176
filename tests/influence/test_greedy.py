import itertools
import math

import numpy as np
import pytest
import torch

from pyg_ext.influence import RRSets, max_coverage, opim_c, prepare
from pyg_ext.influence._greedy import greedy_max_cover

E1 = 1 - 1 / math.e


def random_rr(rng, n, theta, max_size=4, skew=False):
    sizes = rng.integers(0, max_size + 1, size=theta)
    p = None
    if skew:  # a few popular nodes, many ties among the others
        w = 1.0 / np.arange(1, n + 1)**1.2
        p = w / w.sum()
    nodes = [rng.choice(n, size=min(s, n), replace=False, p=p)
             for s in sizes]
    ptr = np.r_[0, np.cumsum([len(x) for x in nodes])].astype(np.int64)
    flat = np.concatenate(nodes) if theta else np.zeros(0, np.int64)
    return RRSets(ptr, flat, np.zeros(theta, np.int64), n)


def sets_of(rr):
    return [set(rr[i].tolist()) for i in range(len(rr))]


def naive_greedy(sets, n, k, cand):
    r"""Textbook greedy: argmax marginal coverage, ties to the smallest id;
    the bound at every prefix is Λ(S_i) + the k largest marginal coverages
    of the unselected candidates, found by sorting."""
    covered = [False] * len(sets)
    chosen, gains, bounds = [], [], []
    total = 0

    def marg(v):
        return sum(1 for r, s in enumerate(sets) if not covered[r] and v in s)
    for it in range(k + 1):
        free = [v for v in range(n) if cand[v] and v not in chosen]
        m = {v: marg(v) for v in free}
        bounds.append(total + sum(sorted(m.values(), reverse=True)[:k]))
        if it == k:
            break
        best = min(free, key=lambda v: (-m[v], v))
        chosen.append(best)
        gains.append(m[best])
        total += m[best]
        for r, s in enumerate(sets):
            if best in s:
                covered[r] = True
    return chosen, gains, min(bounds)


def coverage(sets, seeds):
    s = set(seeds)
    return sum(1 for x in sets if x & s)


@pytest.mark.parametrize('skew', [False, True])
def test_same_picks_and_bound_as_naive_greedy(skew):
    rng = np.random.default_rng(1 + skew)
    for trial in range(60):
        n = int(rng.integers(1, 12))
        rr = random_rr(rng, n, int(rng.integers(0, 40)), skew=skew)
        sets = sets_of(rr)
        cand = np.ones(n, dtype=np.uint8)
        if trial % 3 == 0 and n > 1:
            cand[rng.choice(n, size=n // 2, replace=False)] = 0
        nc = int(cand.sum())
        k = int(rng.integers(1, nc + 1))
        seeds, cov, upper = max_coverage(rr, k, candidates=cand.astype(bool))
        ref, gains, ref_upper = naive_greedy(sets, n, k, cand)
        assert seeds.tolist() == ref
        assert cov == sum(gains) == coverage(sets, ref)
        # the bucketed top-k bound equals the sort-based reference exactly
        assert upper == ref_upper


def test_exact_optimum_bounds_on_random_collections():
    rng = np.random.default_rng(5)
    for trial in range(40):
        n = int(rng.integers(2, 9))
        rr = random_rr(rng, n, int(rng.integers(1, 30)), skew=trial % 2 == 1)
        sets = sets_of(rr)
        k = int(rng.integers(1, min(4, n) + 1))
        seeds, cov, upper = max_coverage(rr, k)
        opt = max(coverage(sets, c)
                  for c in itertools.combinations(range(n), k))
        assert cov >= E1 * opt - 1e-9
        assert cov <= opt <= upper
        assert upper <= cov / E1 + 1e-9 or upper >= opt


def test_ties_zero_coverage_and_k_equal_n():
    # nodes 0..5: sets {3}, {3}, {1, 4}, {}, node 5 never appears
    rr = RRSets([0, 1, 2, 4, 4], [3, 3, 1, 4], [3, 3, 1, 0], 6)
    seeds, cov, upper = max_coverage(rr, 6)
    # 3 (cov 2), then 1 (cov 1, smaller id than 4), then zero-coverage
    # nodes in id order: 0, 2, 4, 5
    assert seeds.tolist() == [3, 1, 0, 2, 4, 5]
    assert cov == 3 and upper == 3
    s, c = max_coverage(rr, 2, candidates=[5, 0], return_upper_bound=False)
    assert s.tolist() == [0, 5] and c == 0


def test_kernel_touches_only_covered_sets_after_setup():
    # many sets the seeds never touch: the greedy still returns the same
    # answer as the naive one (the bucket structure is exercised by long
    # chains of decrements of the same nodes)
    rng = np.random.default_rng(7)
    n, theta = 30, 400
    rr = random_rr(rng, n, theta, max_size=8, skew=True)
    node_ptr, node_rr = rr.index()
    cand = np.ones(n, np.uint8)
    seeds, gains, upper = greedy_max_cover(rr._ptr, rr._nodes, node_ptr,
                                           node_rr, n, 10, cand)
    ref, ref_gains, ref_upper = naive_greedy(sets_of(rr), n, 10, cand)
    assert seeds.tolist() == ref and gains.tolist() == ref_gains
    assert upper == ref_upper


def test_opim_c_seeds_unchanged_by_the_new_greedy_on_a_fixed_stream():
    # OPIM-C's seeds equal a naive greedy run on the very RR sets it drew
    rng = np.random.default_rng(3)
    ei = torch.from_numpy(rng.integers(0, 60, size=(2, 300)))
    g = prepare(ei, 60)
    res = opim_c(g, k=5, seed=11)
    from pyg_ext.influence.rr import RRSampler
    s1 = RRSampler(g, 11, 0)
    r1 = s1.new(0)
    for i in range(1, res.iterations + 1):  # the same doubling steps
        s1.grow(r1, math.ceil(res.info['sizes']['theta0'] * 2**(i - 1)))
    assert len(r1) == res.info['theta']
    ref, _, _ = naive_greedy(sets_of(r1), 60, 5, np.ones(60, np.uint8))
    assert res.seeds.tolist() == ref


def test_sparse_collections_run_on_their_distinct_nodes():
    # fewer entries than nodes: RRSets.max_cover runs the greedy on the
    # distinct nodes only; picks, gains and bound equal the full kernel's
    # and the naive greedy's, also once coverage runs out (the smallest
    # unselected candidates, untouched ones included) and for k = |cand|
    rng = np.random.default_rng(11)
    hit = 0
    for trial in range(80):
        n = int(rng.integers(25, 40))
        rr = random_rr(rng, n, int(rng.integers(0, 8)), max_size=3,
                       skew=trial % 2 == 1)
        assert rr._size < n
        cand = np.ones(n, dtype=np.uint8)
        if trial % 3:
            cand[rng.choice(n, size=n // 2, replace=False)] = 0
        nc = int(cand.sum())
        k = nc if trial % 5 == 0 else int(rng.integers(1, nc + 1))
        seeds, gains, upper = rr.max_cover(k, cand)
        assert rr._compact is not None and rr._index is None
        node_ptr, node_rr = rr.index()
        full = greedy_max_cover(rr._ptr, rr._nodes, node_ptr, node_rr, n, k,
                                cand)
        assert seeds.tolist() == full[0].tolist()
        assert gains.tolist() == full[1].tolist() and upper == full[2]
        ref, ref_gains, ref_upper = naive_greedy(sets_of(rr), n, k, cand)
        assert seeds.tolist() == ref and gains.tolist() == ref_gains
        assert upper == ref_upper
        hit += int((gains == 0).any())
    assert hit > 10  # the zero-coverage fill was exercised
    # appending sets drops the cached compact index
    rr = RRSets([0, 1], [5], [5], 20)
    assert rr.max_cover(1, np.ones(20, np.uint8))[0].tolist() == [5]
    rr.append([2], [3, 4], [3])
    s, g, u = rr.max_cover(2, np.ones(20, np.uint8))
    assert s.tolist() == [3, 5] and g.tolist() == [1, 1] and u == 2
