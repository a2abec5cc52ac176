import pytest
import torch

from pyg_ext.nn.models import EdgeBank

# a hand-made stream: 0->1 at 1, 0->2 at 2, 1->2 at 5, 0->1 at 6
SRC, DST = torch.tensor([0, 0, 1, 0]), torch.tensor([1, 2, 2, 1])
T = torch.tensor([1., 2., 5., 6.])


def scores(model, pairs, times):
    model.reset_state(SRC, DST, T)
    s, d = torch.tensor(pairs).t()
    return model.score_pairs(s, d, torch.tensor(times)).tolist()


def test_unlimited_memory_known_answers():
    m = EdgeBank()
    assert m.pair_model and list(m.parameters()) == []
    pairs = [(0, 1), (0, 1), (0, 2), (1, 2), (1, 2), (2, 1), (1, 0), (3, 0)]
    times = [1.0, 1.01, 100., 5.0, 5.5, 100., 100., 100.]
    # seen strictly before the query time; directed pairs
    assert scores(m, pairs, times) == [0, 1, 1, 0, 1, 0, 0, 0]
    assert scores(EdgeBank(undirected=True), [(2, 1), (1, 0)],
                  [5.5, 1.5]) == [1, 1]
    assert repr(m) == 'EdgeBank(time_window=unlimited)'


def test_time_window_expiry():
    m = EdgeBank(time_window=3.0)
    pairs = [(0, 1), (0, 1), (0, 1), (0, 2), (0, 2), (1, 2)]
    times = [4.0, 4.5, 7.0, 5.0, 5.01, 8.0]
    # (0,1) last at 1: in [q-3, q) at 4 (boundary kept), expired at 4.5,
    # back at 7 (event at 6); (0,2) at 2: kept at 5, expired just after
    assert scores(m, pairs, times) == [1, 0, 1, 1, 0, 1]
    assert repr(m) == 'EdgeBank(time_window=3.0)'


def test_streaming_property_against_brute_force():
    g = torch.Generator().manual_seed(0)
    E, N = 200, 8
    src = torch.randint(0, N, (E, ), generator=g)
    dst = torch.randint(0, N, (E, ), generator=g)
    t = torch.randint(0, 50, (E, ), generator=g).sort().values.double()
    for w in (None, 7.0):
        m = EdgeBank(time_window=w)
        m.reset_state(src, dst, t)
        out = m.score_pairs(src, dst, t)  # every event as its own query
        for k in range(E):
            ref = any(src[j] == src[k] and dst[j] == dst[k] and t[j] < t[k]
                      and (w is None or t[j] >= t[k] - w) for j in range(E))
            assert out[k].item() == float(ref), (w, k)


def test_bad_input():
    with pytest.raises(ValueError, match="'time_window'"):
        EdgeBank(time_window=0.0)
    with pytest.raises(ValueError, match="'time_window'"):
        EdgeBank(time_window=-2.0)
    with pytest.raises(TypeError, match="'time_window'"):
        EdgeBank(time_window='week')
    with pytest.raises(RuntimeError, match="reset_state"):
        EdgeBank().score_pairs(SRC, DST, T)
    with pytest.raises(ValueError, match="'t'"):
        EdgeBank().reset_state(SRC, DST, torch.tensor([1., float('nan'),
                                                       2., 3.]))
