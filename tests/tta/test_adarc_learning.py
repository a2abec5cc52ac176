r"""Learning checks of AdaRC at the CI size of the spec (n=2000, p=500,
mu=0.06 -- the official per-direction SNR -- GPRGNN K=9, hidden 32, 300
epochs; AdaRC with the ERM base, 50 SGD steps at lr 1.0). Slow."""
import pytest
import torch
from helpers_adarc import accuracy, train_full

from pyg_ext.datasets.csbm import csbm_graph
from pyg_ext.nn.models import GPRGNN
from pyg_ext.tta import AdaRC

pytestmark = pytest.mark.slow

N, P, MU = 2000, 500, 0.06
_models = {}


def graph(d, h, seed):
    return csbm_graph(N, P, mu=MU, degree=d, homophily=h, seed=seed)


def pretrained(d, h):
    if (d, h) not in _models:
        torch.manual_seed(0)
        model = GPRGNN(P, 32, 2, K=9)
        _models[(d, h)] = train_full(model, graph(d, h, 0), epochs=300)
    return _models[(d, h)]


def adapt(source, target):
    model = pretrained(*source)
    tgt = graph(*target, seed=1)
    with torch.no_grad():
        before = accuracy(model(tgt.x, tgt.edge_index), tgt.y)
    ada = AdaRC(model, base_tta='erm', lr=1.0, steps=50)
    after = accuracy(ada.adapt(tgt), tgt.y)
    return before, after, ada


@pytest.mark.parametrize('source, target', [((5, 0.8), (5, 0.2)),
                                            ((5, 0.2), (5, 0.8))])
def test_homophily_shift_pic_decreases_and_accuracy_improves(source, target):
    before, after, ada = adapt(source, target)
    loss = ada.history['loss']
    assert min(loss) < loss[0] and loss[-1] < loss[0]
    assert after > before + 0.03, (before, after)
    gamma1 = float(ada.history['final_hop_params'][1])
    if target[1] < source[1]:  # homo -> hetero: the 1-hop weight flips sign
        assert gamma1 < 0
    else:
        assert gamma1 >= 0


def test_no_shift_sanity():
    before, after, _ = adapt((5, 0.8), (5, 0.8))
    assert after >= before - 0.03, (before, after)


def test_degree_shift_does_not_change_accuracy_materially():
    before, after, _ = adapt((10, 0.8), (2, 0.8))
    assert abs(after - before) < 0.05, (before, after)
