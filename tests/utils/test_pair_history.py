import pytest
import torch

from pyg_ext.utils import PairHistory


def naive(src, dst, t, qs, qd, qt, undirected=False):
    cnt, last = [], []
    for u, v, q in zip(qs.tolist(), qd.tolist(), qt.tolist()):
        ts = [float(tk) for s, d, tk in zip(src.tolist(), dst.tolist(),
                                            t.tolist())
              if tk < q and ((s, d) == (u, v) or
                             (undirected and (d, s) == (u, v)))]
        cnt.append(len(ts))
        last.append(max(ts) if ts else float('nan'))
    return torch.tensor(cnt), torch.tensor(last, dtype=torch.float64)


def test_known_answers():
    src, dst = torch.tensor([0, 0, 1, 0]), torch.tensor([1, 2, 2, 1])
    t = torch.tensor([1., 2., 5., 6.])
    h = PairHistory(src, dst, t)
    qs, qd = torch.tensor([0, 0, 0, 1, 2]), torch.tensor([1, 1, 1, 0, 1])
    qt = torch.tensor([1., 1.5, 7., 10., 10.])
    c, last = h.query(qs, qd, qt)
    assert c.tolist() == [0, 1, 2, 0, 0]  # strict: the event at 1 is unseen
    assert last[1].item() == 1.0 and last[2].item() == 6.0
    assert torch.isnan(last[[0, 3, 4]]).all()
    hu = PairHistory(src, dst, t, undirected=True)
    c, last = hu.query(qs, qd, qt)
    assert c.tolist() == [0, 1, 2, 2, 1] and last[4].item() == 5.0
    assert repr(h) == 'PairHistory(num_pairs=3, undirected=False)'


@pytest.mark.parametrize('undirected', [False, True])
def test_matches_brute_force(undirected):
    g = torch.Generator().manual_seed(3)
    E, N = 120, 6
    src = torch.randint(0, N, (E, ), generator=g)
    dst = torch.randint(0, N, (E, ), generator=g)
    t = torch.randint(0, 30, (E, ), generator=g).float()  # ties, unsorted
    qs = torch.randint(0, N, (80, ), generator=g)
    qd = torch.randint(0, N, (80, ), generator=g)
    qt = torch.randint(0, 32, (80, ), generator=g).float() + \
        torch.rand(80, generator=g).round() * 0.5
    c, last = PairHistory(src, dst, t, undirected=undirected).query(
        qs, qd, qt)
    c_ref, last_ref = naive(src, dst, t, qs, qd, qt, undirected)
    assert torch.equal(c, c_ref)
    assert torch.equal(torch.isnan(last), torch.isnan(last_ref))
    ok = ~torch.isnan(last)
    assert torch.equal(last[ok], last_ref[ok])


def test_empty_and_bad_input():
    e = torch.zeros(0, dtype=torch.long)
    c, last = PairHistory(e, e, torch.zeros(0), num_nodes=3).query(
        torch.tensor([0]), torch.tensor([1]), torch.tensor([5.]))
    assert c.tolist() == [0] and torch.isnan(last).all()
    with pytest.raises(ValueError, match="'t'"):
        PairHistory(torch.tensor([0]), torch.tensor([1]),
                    torch.tensor([float('nan')]))
    with pytest.raises(ValueError, match="same length"):
        PairHistory(torch.tensor([0, 1]), torch.tensor([1]),
                    torch.tensor([1.]))
    with pytest.raises(ValueError, match="num_nodes"):
        PairHistory(torch.tensor([0]), torch.tensor([5]), torch.tensor([1.]),
                    num_nodes=3)
    with pytest.raises(TypeError, match="'undirected'"):
        PairHistory(torch.tensor([0]), torch.tensor([1]), torch.tensor([1.]),
                    undirected=1)


def test_doctests():
    import doctest

    import pyg_ext.utils.pair_history as ph
    res = doctest.testmod(ph, extraglobs={'torch': torch})
    assert res.attempted >= 2 and res.failed == 0
