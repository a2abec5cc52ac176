import numpy as np
import pytest
import torch

from pyg_ext.influence import RRSets, hetero_im_rerank, hetero_ir_scores


def test_hetero_ir_closed_form():
    # 0->1 (0.5), 0->2 (0.4), 1->2 (0.3), 1->3 (0.6), 1->4 (0.1), 2->3 (0.2)
    ei = torch.tensor([[0, 0, 1, 1, 1, 2], [1, 2, 2, 3, 4, 3]])
    P = torch.tensor([0.5, 0.4, 0.3, 0.6, 0.1, 0.2])
    s = hetero_ir_scores(ei, P, capacity=2)
    inf = {1: 0.6 + 0.3, 2: 0.2, 3: 1e-5, 4: 1e-5}
    expect = [p * (1 + inf[j]) for p, j in zip(P.tolist(), ei[1].tolist())]
    assert torch.allclose(s, torch.tensor(expect, dtype=torch.float64))
    U = torch.tensor([1.0, 0.5, 1.0, 0.5, 1.0])
    s2 = hetero_ir_scores(ei, P, U=U, capacity=1)
    inf2 = {1: max(0.3 * 1.0, 0.6 * 0.5, 0.1), 2: 0.2 * 0.5, 3: 1e-5,
            4: 1e-5}
    expect2 = [p * U[j] * (1 + inf2[j])
               for p, j in zip(P.tolist(), ei[1].tolist())]
    assert torch.allclose(s2, torch.tensor(expect2, dtype=torch.float64))
    with pytest.raises(ValueError, match="'capacity'"):
        hetero_ir_scores(ei, P, capacity=0)
    with pytest.raises(ValueError, match="'P' must lie"):
        hetero_ir_scores(ei, P + 1)


def make_rr(sets, n):
    ptr = np.r_[0, np.cumsum([len(s) for s in sets])]
    return RRSets(ptr, np.concatenate([np.asarray(s) for s in sets]),
                  np.zeros(len(sets), np.int32), n)


def plain_greedy_order(sets, cands):
    covered = [False] * len(sets)
    order = []
    left = set(cands)
    while left:
        gains = {v: sum(1 for i, s in enumerate(sets)
                        if not covered[i] and v in s) for v in left}
        v = min(left, key=lambda x: (-gains[x], x))
        order.append(v)
        left.remove(v)
        for i, s in enumerate(sets):
            if v in s:
                covered[i] = True
    return order


def test_hetero_im_scores_and_order():
    # inviters 0 and 1; candidates 2, 3, 4 (out-neighbours of the inviters)
    ei = torch.tensor([[0, 0, 1, 1, 1], [2, 3, 2, 3, 4]])
    P = torch.full((5, ), 0.5)
    sets = [[2, 0], [2, 0], [2, 1], [3, 1], [3], [4], [2, 3, 0], [4, 1]]
    rr = make_rr(sets, 5)
    inv, ee, score, rank = hetero_im_rerank(ei, 5, [0, 1], P, k=3, rr=rr)
    order = plain_greedy_order(sets, [2, 3, 4])
    assert order == [2, 3, 4]  # 3 and 4 tie at 2; smaller id first
    got = {(u, v): (s, r) for u, v, s, r in zip(inv.tolist(), ee.tolist(),
                                                score.tolist(), rank.tolist())}
    # v=2 first: uncovered sets containing 2 and 0: {0,1,6} -> 1+3; 2 and
    # 1: {2} -> 1+1
    assert got[(0, 2)] == (4.0, 0) and got[(1, 2)] == (2.0, 0)
    # v=3 next: uncovered sets with 3 are {3, 4}; with 1: {3} -> 2; with 0:
    # none (set 6 already covered) -> fallback -cov(3)/max cov = -2/4
    assert got[(1, 3)] == (2.0, 1)
    assert got[(0, 3)] == (-0.5, 1)
    # v=4 last: sets 5, 7 uncovered; with 1: {7} -> 2
    assert got[(1, 4)] == (2.0, 2)
    assert all(s <= 0 for (u, v), (s, r) in got.items()
               if s < 1)
    # per inviter sorted by score desc
    for u in (0, 1):
        sc = [s for uu, s in zip(inv.tolist(), score.tolist()) if uu == u]
        assert sc == sorted(sc, reverse=True)
    inv1, ee1, _, _ = hetero_im_rerank(ei, 5, [0, 1], P, k=1, rr=rr)
    assert inv1.tolist() == [0, 1] and ee1.tolist() == [2, 2]


def test_hetero_im_samples_when_no_rr_given():
    rng = np.random.default_rng(0)
    ei = torch.from_numpy(rng.integers(0, 60, size=(2, 300)))
    P = torch.from_numpy(rng.uniform(0, 0.3, size=300))
    a = hetero_im_rerank(ei, 60, [0, 1, 2], P, k=3, seed=1)
    b = hetero_im_rerank(ei, 60, [0, 1, 2], P, k=3, seed=1)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert set(a[0].tolist()) <= {0, 1, 2}
    for u, v in zip(a[0].tolist(), a[1].tolist()):
        assert ((ei[0] == u) & (ei[1] == v)).any()
    with pytest.raises(ValueError, match="'inviters'"):
        hetero_im_rerank(ei, 60, [], P)
