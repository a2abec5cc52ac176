import math

import numpy as np
import pytest
import torch
from scipy import stats

from pyg_ext.influence import (exact_spread, prepare, sample_rr_sets,
                               set_num_threads)
from pyg_ext.influence.rr import (BLOCK_SIZE, MIN_BLOCK_SIZE, MIN_BLOCKS,
                                  RRSampler, num_blocks)
from helpers_im import ancestors, random_graph


def test_all_probabilities_one_rr_set_is_ancestor_set():
    ei = torch.tensor([[0, 1, 1, 3, 4, 2], [1, 2, 3, 0, 5, 5]])
    for method in ('vanilla', 'subsim'):
        rr = sample_rr_sets(ei, 6, probs=torch.ones(6), n=200, seed=0,
                            method=method)
        for i in range(len(rr)):
            root = int(rr.roots[i])
            assert set(rr[i].tolist()) == ancestors(ei, 6, root)
            assert int(rr[i][0]) == root


@pytest.mark.parametrize('method', ['vanilla', 'subsim'])
@pytest.mark.parametrize('p', [0.05, 0.3])
def test_selected_in_edges_are_binomial(method, p):
    d = 40
    ei = torch.stack([torch.arange(1, d + 1),
                      torch.zeros(d, dtype=torch.long)])
    rr = sample_rr_sets(ei, d + 1, probs=torch.full((d, ), p), n=20000,
                        roots=torch.zeros(20000, dtype=torch.long), seed=1,
                        method=method)
    counts = rr.sizes() - 1
    observed = np.bincount(counts, minlength=d + 1)
    expected = stats.binom.pmf(np.arange(d + 1), d, p) * len(rr)
    # merge sparse tail cells for the chi-square test
    keep = expected >= 5
    obs = np.r_[observed[keep], observed[~keep].sum()]
    exp = np.r_[expected[keep], expected[~keep].sum()]
    pval = stats.chisquare(obs, exp * obs.sum() / exp.sum()).pvalue
    assert pval > 1e-4


def test_heterogeneous_inclusion_frequencies():
    p = torch.tensor([0.9, 0.5, 0.2, 0.05, 0.01, 0.7])
    d = p.shape[0]
    ei = torch.stack([torch.arange(1, d + 1),
                      torch.zeros(d, dtype=torch.long)])
    theta = 40000
    rr = sample_rr_sets(ei, d + 1, probs=p, n=theta, seed=2,
                        roots=torch.zeros(theta, dtype=torch.long))
    freq = np.bincount(rr.nodes.numpy(), minlength=d + 1)[1:] / theta
    sd = np.sqrt(p.numpy() * (1 - p.numpy()) / theta)
    assert np.all(np.abs(freq - p.numpy()) <= 5 * sd + 1e-12)


@pytest.mark.parametrize('method', ['vanilla', 'subsim'])
def test_heterogeneous_subset_sampler_law(method):
    # 24 in-edges (> SKEW_MIN_DEG) with mixed probabilities, incl. 0 and 1
    p = torch.tensor([1.0, 0.6, 0.3, 0.12, 0.1, 0.09, 0.05, 0.05, 0.04, 0.02,
                      0.02, 0.01, 0.01, 0.008, 0.005, 0.003, 0.002, 0.001,
                      0.0, 0.0, 0.07, 0.2, 0.03, 0.015])
    d = p.shape[0]
    perm = torch.randperm(d, generator=torch.Generator().manual_seed(0))
    ei = torch.stack([perm + 1, torch.zeros(d, dtype=torch.long)])
    theta = 60000
    rr = sample_rr_sets(ei, d + 1, probs=p, n=theta, seed=4, method=method,
                        roots=torch.zeros(theta, dtype=torch.long))
    member = np.zeros((theta, d + 1), dtype=bool)
    sizes = rr.sizes()
    member[np.repeat(np.arange(theta), sizes), rr.nodes.numpy()] = True
    pn = np.empty(d)
    pn[perm.numpy()] = p.numpy()  # probability of leaf i + 1
    freq = member[:, 1:].mean(axis=0)
    sd = np.sqrt(pn * (1 - pn) / theta)
    assert np.all(np.abs(freq - pn) <= 5 * sd + 1e-12)
    # pairwise independence of the two largest non-trivial edges
    a, b = int(perm[1]) + 1, int(perm[2]) + 1
    joint = (member[:, a] & member[:, b]).mean()
    assert abs(joint - 0.6 * 0.3) <= 5 * math.sqrt(0.18 * 0.82 / theta)


def test_lt_path_geometric_length():
    # path 0 -> 1 -> ... -> 9, weight w on every edge; from root 9 the walk
    # goes back j steps with prob w^j (1 - w) (j < 9)
    n, w = 10, 0.6
    ei = torch.stack([torch.arange(n - 1), torch.arange(1, n)])
    theta = 30000
    rr = sample_rr_sets(ei, n, model='LT', probs=torch.full((n - 1, ), w),
                        n=theta, roots=torch.full((theta, ), n - 1), seed=3)
    lengths = rr.sizes() - 1
    observed = np.bincount(lengths, minlength=n)
    expected = np.array([w**j * (1 - w) for j in range(n - 1)] + [w**(n - 1)])
    for j in range(n):
        sd = math.sqrt(expected[j] * (1 - expected[j]) / theta)
        assert abs(observed[j] / theta - expected[j]) <= 5 * sd + 1e-12


@pytest.mark.parametrize('model', ['IC', 'LT'])
def test_unbiased_against_exact_enumeration(model):
    rng = np.random.default_rng(11)
    for trial in range(5):
        n = int(rng.integers(4, 9))
        m = int(rng.integers(n, min(14, n * (n - 1)) + 1))
        ei, probs = random_graph(rng, n, m)
        if model == 'LT':
            tot = torch.zeros(n, dtype=probs.dtype).index_add_(0, ei[1], probs)
            probs = probs / tot[ei[1]].clamp(min=1.0)
        seeds = [int(rng.integers(n))]
        exact = exact_spread(ei, n, seeds, model=model, probs=probs)
        theta = 20000
        rr = sample_rr_sets(ei, n, model=model, probs=probs, n=theta,
                            seed=trial)
        est = rr.estimate(seeds)
        sd = est.std / math.sqrt(theta)
        assert abs(est.mean - exact) <= 4 * sd + 1e-9


def test_wc_subsim_matches_vanilla_distribution():
    rng = np.random.default_rng(5)
    ei = torch.from_numpy(rng.integers(0, 50, size=(2, 400)))
    g = prepare(ei, 50, self_loops='remove')
    a = sample_rr_sets(g, n=30000, seed=0, method='vanilla')
    b = sample_rr_sets(g, n=30000, seed=0, method='subsim')
    assert abs(a.sizes().mean() - b.sizes().mean()) < 5 * math.sqrt(
        a.sizes().var() / 30000 + b.sizes().var() / 30000)


def test_inverted_index_matches_brute_force():
    rng = np.random.default_rng(1)
    ei, probs = random_graph(rng, 8, 20)
    rr = sample_rr_sets(ei, 8, probs=probs, n=300, seed=0)
    node_ptr, node_rr = rr.index()
    for v in range(8):
        expect = [i for i in range(len(rr)) if v in rr[i].tolist()]
        assert node_rr[node_ptr[v]:node_ptr[v + 1]].tolist() == expect
    assert rr.coverage([0, 3]) == sum(
        1 for i in range(len(rr)) if {0, 3} & set(rr[i].tolist()))


def test_exclude_and_empty_roots():
    ei = torch.tensor([[0, 1], [1, 2]])
    rr = sample_rr_sets(ei, 3, probs=torch.ones(2), n=500, seed=0,
                        exclude=[1])
    for i in range(len(rr)):
        root = int(rr.roots[i])
        got = rr[i].tolist()
        assert got == ([] if root == 1 else [root])


def test_reproducible_with_one_and_two_threads():
    rng = np.random.default_rng(2)
    ei = torch.from_numpy(rng.integers(0, 200, size=(2, 2000)))
    a = sample_rr_sets(ei, 200, n=3 * BLOCK_SIZE + 17, seed=7, num_threads=1)
    set_num_threads(2)
    try:
        b = sample_rr_sets(ei, 200, n=3 * BLOCK_SIZE + 17, seed=7)
    finally:
        set_num_threads(1)
    assert torch.equal(a.ptr, b.ptr) and torch.equal(a.nodes, b.nodes)
    assert torch.equal(a.roots, b.roots)
    c = sample_rr_sets(ei, 200, n=3 * BLOCK_SIZE + 17, seed=8)
    assert not torch.equal(a.nodes[:1000], c.nodes[:1000])


@pytest.mark.parametrize('count', [0, 1, 100, MIN_BLOCK_SIZE,
                                   MIN_BLOCK_SIZE + 1, 905, 3620,
                                   MIN_BLOCKS * BLOCK_SIZE - 1,
                                   MIN_BLOCKS * BLOCK_SIZE + 1, 10 ** 6])
def test_block_partition(count):
    # sizes depend on the request only: at most BLOCK_SIZE, at least
    # MIN_BLOCKS blocks once the request allows MIN_BLOCK_SIZE per block
    nb = num_blocks(count)
    assert nb == (0 if count == 0 else max(
        math.ceil(count / BLOCK_SIZE),
        min(MIN_BLOCKS, math.ceil(count / MIN_BLOCK_SIZE))))
    g = prepare(torch.tensor([[0, 1], [1, 2]]), 3)
    one = [s for sizes, _ in RRSampler(g, 3)._groups(count) for s in sizes]
    assert len(one) == nb and sum(one) == count
    assert all(s <= BLOCK_SIZE for s in one) and max(one, default=0) - \
        min(one, default=0) <= 1
    if count >= 2 * MIN_BLOCK_SIZE:  # a small request still spreads
        assert nb >= 2
    # the ranks' contiguous shares together are the one-process blocks
    for world in (2, 3):
        parts = [RRSampler(g, 3)._groups(count, part=(r, world))
                 for r in range(world)]
        got = [(s, sd) for p in parts for sizes, seeds in p
               for s, sd in zip(sizes, seeds)]
        ref = [(s, sd) for sizes, seeds in RRSampler(g, 3)._groups(count)
               for s, sd in zip(sizes, seeds)]
        assert got == ref


def test_plan_pieces_sampled_apart_equal_one_fill():
    r"""plan() + sample() of any split of a request's blocks, appended in
    block order (here from two samplers, as two ranks do), gives exactly
    the sets of one fill(); check_bytes() raises past max_bytes."""
    rng = np.random.default_rng(4)
    g = prepare(torch.from_numpy(rng.integers(0, 300, size=(2, 2500))), 300)
    ref_s = RRSampler(g, 11, 1)
    ref = ref_s.new(0)
    a, b = RRSampler(g, 11, 1), RRSampler(g, 11, 1)
    got = a.new(0)
    for count, cut in ((3000, 5), (7001, 16), (513, 0)):
        ref_s.fill(ref, count)
        sizes, seeds = a.plan(count)
        sizes_b, seeds_b = b.plan(count)  # the other one stays in step
        assert np.array_equal(sizes, sizes_b) and \
            np.array_equal(seeds, seeds_b)
        assert sizes.sum() == count
        part = b.new(0)  # the last blocks, sampled elsewhere first
        b.sample(part, sizes_b[cut:], seeds_b[cut:])
        a.sample(got, sizes[:cut], seeds[:cut])
        got._append(part.sizes(), part._nodes, part._roots)
    for x, y in ((got._ptr, ref._ptr), (got._nodes, ref._nodes),
                 (got._roots, ref._roots)):
        assert np.array_equal(x, y)
    tight = RRSampler(g, 11, 1, max_bytes=ref.nbytes // 4)
    with pytest.raises(ValueError, match='memory bound'):
        tight.check_bytes(ref)
    RRSampler(g, 11, 1, max_bytes=ref.nbytes).check_bytes(ref)


def test_rr_bad_inputs():
    ei = torch.tensor([[0, 1], [1, 2]])
    with pytest.raises(ValueError, match="'n'"):
        sample_rr_sets(ei, 3, n=-1)
    with pytest.raises(ValueError, match="'method'"):
        sample_rr_sets(ei, 3, n=5, method='hist')
    with pytest.raises(ValueError, match="'roots'"):
        sample_rr_sets(ei, 3, n=2, roots=torch.tensor([0, 7]))
    with pytest.raises(ValueError, match="'exclude'"):
        sample_rr_sets(ei, 3, n=2, exclude=[9])
    with pytest.raises(TypeError, match="'seed'"):
        sample_rr_sets(ei, 3, n=2, seed='x')
    with pytest.raises(ValueError, match='num_threads'):
        set_num_threads(0)
