import pickle

import pytest
import torch
import torch.nn.functional as F
from helpers_adarc import EDGE_INDEX, dense_gcn_adj, eval_hidden

from pyg_ext.nn.models import WeightedJKNet


def test_jknet_dense_reference():
    torch.manual_seed(0)
    x = torch.randn(6, 4)
    model = WeightedJKNet(4, 8, 3, num_layers=2).eval()
    with torch.no_grad():
        model.jk_weight.copy_(torch.tensor([0.5, -1.0, 2.0]))
    A_hat = dense_gcn_adj(EDGE_INDEX, 6)
    hs = [eval_hidden(model, x)]
    for conv in model.convs:
        hs.append(F.relu(A_hat @ hs[-1] @ conv.lin.weight.t() + conv.bias))
    z = 0.5 * hs[0] - 1.0 * hs[1] + 2.0 * hs[2]
    assert torch.allclose(model.featurize(x, EDGE_INDEX), z, atol=1e-5)
    assert torch.allclose(model(x, EDGE_INDEX), z @ model.lin2.weight.t(),
                          atol=1e-5)


def test_jknet_hop_parameters_gradients_reset():
    torch.manual_seed(0)
    model = WeightedJKNet(4, 8, 2, num_layers=3)
    (p, ) = list(model.hop_parameters())
    assert p is model.jk_weight
    assert torch.allclose(p, torch.full((4, ), 0.25))
    model.eval()
    model(torch.randn(6, 4), EDGE_INDEX).sum().backward()
    assert p.grad is not None and p.grad.abs().sum() > 0
    with torch.no_grad():
        p.mul_(3)
    model.reset_parameters()
    assert torch.allclose(p, torch.full((4, ), 0.25))
    last = WeightedJKNet(4, 8, 2, num_layers=2, jk_init='last')
    assert torch.equal(last.jk_weight.detach(), torch.tensor([0., 0., 1.]))


def test_jknet_repr_pickle_bad_inputs():
    model = WeightedJKNet(4, 8, 2, num_layers=2)
    assert repr(model) == 'WeightedJKNet(4, 2, num_layers=2)'
    clone = pickle.loads(pickle.dumps(model))
    assert torch.equal(clone.jk_weight, model.jk_weight)
    with pytest.raises(ValueError, match='num_layers'):
        WeightedJKNet(4, 8, 2, num_layers=0)
    with pytest.raises(ValueError, match='jk_init'):
        WeightedJKNet(4, 8, 2, jk_init='max')
