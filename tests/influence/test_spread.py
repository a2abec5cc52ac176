import math

import numpy as np
import pytest
import torch

from pyg_ext.influence import (estimate_spread, exact_spread, prepare,
                               sample_rr_sets)
from helpers_im import DIAMOND, PATH, STAR, random_graph

CASES = [
    (PATH, 3, 'IC', [0.5, 0.5], [0], 1.75),
    (DIAMOND, 4, 'IC', [0.5] * 4, [0], 2.4375),
    (DIAMOND, 4, 'LT', [0.5] * 4, [0], 2.5),
    (STAR, 11, 'IC', [0.3] * 10, [0], 4.0),
]


@pytest.mark.parametrize('ei,n,model,p,seeds,value', CASES)
def test_exact_small_cases(ei, n, model, p, seeds, value):
    probs = torch.tensor(p)
    assert exact_spread(ei, n, seeds, model=model, probs=probs) == \
        pytest.approx(value)
    mc = estimate_spread(ei, n, seeds, model=model, probs=probs,
                         num_samples=20000, seed=1, alpha=1e-4)
    assert mc.ci_low <= value <= mc.ci_high
    rr = sample_rr_sets(ei, n, model=model, probs=probs, n=40000, seed=2)
    est = rr.estimate(seeds, alpha=1e-4)
    assert est.ci_low <= value <= est.ci_high
    sr = estimate_spread(ei, n, seeds, model=model, probs=probs, method='rr',
                         rel_eps=0.05, seed=3)
    assert value / 1.05 <= sr.mean <= value / 0.95


def test_all_probabilities_one_zero_variance():
    ei = torch.tensor([[0, 1, 1, 3, 4], [1, 2, 3, 0, 5]])
    probs = torch.ones(5)
    for model in ('IC', 'LT'):
        p = probs if model == 'IC' else torch.tensor([1.0, 1, 1, 1, 1])
        est = estimate_spread(ei, 6, [1], model=model, probs=p,
                              num_samples=50, seed=0)
        # reach({1}) = {1, 2, 3, 0}
        assert est.mean == 4.0 and est.std == 0.0
    assert exact_spread(ei, 6, [4], probs=probs) == 2.0


def test_exclude_removes_nodes():
    ei = torch.tensor([[0, 1], [1, 2]])
    est = estimate_spread(ei, 3, [0], probs=torch.ones(2), exclude=[1],
                          num_samples=10, seed=0)
    assert est.mean == 1.0


def test_exact_spread_many_sets_and_properties():
    rng = np.random.default_rng(3)
    for _ in range(4):
        ei, probs = random_graph(rng, 6, 10)
        for model in ('IC', 'LT'):
            p = probs
            if model == 'LT':  # normalise in-weights to sum <= 1
                tot = torch.zeros(6, dtype=p.dtype).index_add_(0, ei[1], p)
                p = p / tot[ei[1]].clamp(min=1.0)
            sets = [[], [0], [1], [0, 1], [0, 1, 2], [2]]
            vals = exact_spread(ei, 6, sets, model=model, probs=p)
            assert isinstance(vals, torch.Tensor)
            assert vals[0] == 0.0
            assert vals[1] >= 1.0 - 1e-12
            # monotone
            assert vals[3] >= vals[1] - 1e-12 and vals[4] >= vals[3] - 1e-12
            # submodular: f(A+2)-f(A) >= f(B+2)-f(B) for A={0,1} in B...
            f_a2 = exact_spread(ei, 6, [0, 2], model=model, probs=p)
            assert f_a2 - vals[1] >= vals[4] - vals[3] - 1e-12
            # union bound
            assert vals[3] <= vals[1] + vals[2] + 1e-12


def test_estimators_reproducible_and_thread_independent():
    rng = np.random.default_rng(0)
    ei, probs = random_graph(rng, 8, 20)
    a = estimate_spread(ei, 8, [0, 1], probs=probs, num_samples=2000,
                        seed=5, num_threads=1)
    b = estimate_spread(ei, 8, [0, 1], probs=probs, num_samples=2000,
                        seed=5, num_threads=2)
    assert a == b
    c = estimate_spread(ei, 8, [0, 1], probs=probs, method='rr', seed=5,
                        rel_eps=0.1, num_threads=1)
    d = estimate_spread(ei, 8, [0, 1], probs=probs, method='rr', seed=5,
                        rel_eps=0.1, num_threads=2)
    assert c.mean == d.mean and c.num_samples == d.num_samples


def test_spread_bad_inputs():
    with pytest.raises(ValueError, match="'seeds' must be node ids"):
        estimate_spread(PATH, 3, [5])
    with pytest.raises(ValueError, match="'method'"):
        estimate_spread(PATH, 3, [0], method='exact')
    with pytest.raises(ValueError, match="'num_samples'"):
        estimate_spread(PATH, 3, [0], num_samples=0)
    with pytest.raises(ValueError, match='2\\*\\*'):
        ei = torch.randint(0, 10, (2, 25))
        exact_spread(ei, 10, [0], self_loops='keep')
