import math
import pickle

import pytest
import torch
import torch.nn.functional as F
from helpers_adarc import EDGE_INDEX, dense_gcn_adj, eval_hidden

from pyg_ext.nn.models import LearnableGCNII


def test_gcnii_dense_reference():
    torch.manual_seed(0)
    x = torch.randn(6, 4)
    model = LearnableGCNII(4, 8, 3, num_layers=3, alpha=0.2, theta=0.5).eval()
    with torch.no_grad():
        model.alpha_logit.copy_(torch.tensor([-1.0, 0.0, 2.0]))
    A_hat = dense_gcn_adj(EDGE_INDEX, 6)
    h0 = eval_hidden(model, x)
    h = h0
    for i, w in enumerate(model.weights):
        a = torch.sigmoid(model.alpha_logit[i])
        s = (1 - a) * A_hat @ h + a * h0
        beta = math.log(0.5 / (i + 1) + 1)
        h = F.relu(s @ ((1 - beta) * torch.eye(8) + beta * w))
    assert torch.allclose(model.featurize(x, EDGE_INDEX), h, atol=1e-5)
    assert torch.allclose(model(x, EDGE_INDEX), h @ model.lin2.weight.t(),
                          atol=1e-5)


def test_gcnii_matches_pyg_gcn2conv():
    from torch_geometric.nn import GCN2Conv
    torch.manual_seed(0)
    x = torch.randn(6, 4)
    model = LearnableGCNII(4, 8, 2, num_layers=1, alpha=0.1, theta=0.5,
                           batch_norm=False).eval()
    conv = GCN2Conv(8, alpha=0.1, theta=0.5, layer=1, shared_weights=True)
    with torch.no_grad():
        conv.weight1.copy_(model.weights[0])
    h0 = F.relu(model.lin1(x))
    ref = F.relu(conv(h0, h0, EDGE_INDEX))
    assert torch.allclose(model.featurize(x, EDGE_INDEX), ref, atol=1e-5)


def test_gcnii_hop_parameters_gradients_reset_repr():
    torch.manual_seed(0)
    model = LearnableGCNII(4, 8, 2, num_layers=2, alpha=0.1)
    (p, ) = list(model.hop_parameters())
    assert p is model.alpha_logit
    assert torch.allclose(model.alpha, torch.full((2, ), 0.1))
    model.eval()
    model(torch.randn(6, 4), EDGE_INDEX).sum().backward()
    assert p.grad is not None and torch.isfinite(p.grad).all()
    assert p.grad.abs().sum() > 0
    with torch.no_grad():
        p.add_(1.0)
    model.reset_parameters()
    assert torch.allclose(model.alpha, torch.full((2, ), 0.1))
    assert repr(model) == 'LearnableGCNII(4, 2, num_layers=2)'
    clone = pickle.loads(pickle.dumps(model))
    assert torch.equal(clone.alpha_logit, model.alpha_logit)
    with pytest.raises(ValueError, match='alpha'):
        LearnableGCNII(4, 8, 2, alpha=0.0)
    with pytest.raises(ValueError, match='theta'):
        LearnableGCNII(4, 8, 2, theta=-1.0)
