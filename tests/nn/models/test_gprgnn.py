import pickle

import pytest
import torch
from helpers_adarc import (EDGE_INDEX, dense_gcn_adj, dense_hop_sum,
                           eval_hidden)

from pyg_ext.nn.models import GPRGNN


def test_gprgnn_dense_reference_and_decomposition():
    torch.manual_seed(0)
    x = torch.randn(6, 4)
    model = GPRGNN(4, 8, 3, K=3, init='PPR', alpha=0.3).eval()
    with torch.no_grad():  # non-trivial BN statistics
        model.bn1.running_mean.uniform_(-1, 1)
        model.bn1.running_var.uniform_(0.5, 2)
    A_hat = dense_gcn_adj(EDGE_INDEX, 6)
    z_ref = dense_hop_sum(eval_hidden(model, x), A_hat, model.prop.gamma)
    z = model.featurize(x, EDGE_INDEX)
    assert torch.allclose(z, z_ref, atol=1e-5)
    assert torch.allclose(model.classify(z), z_ref @ model.lin2.weight.t(),
                          atol=1e-5)
    assert torch.allclose(model(x, EDGE_INDEX), model.classify(z))
    assert model.lin2.bias is None  # official: classifier without bias


def test_gprgnn_alpha_one_is_an_mlp():
    torch.manual_seed(0)
    x = torch.randn(6, 4)
    model = GPRGNN(4, 8, 2, K=5).eval()  # PPR, alpha=1 -> gamma=(1,0,...)
    expected = torch.tensor([1.] + [0.] * 5)
    assert torch.equal(model.prop.gamma.detach(), expected)
    out_graph = model(x, EDGE_INDEX)
    out_empty = model(x, torch.empty(2, 0, dtype=torch.long))
    assert torch.allclose(out_graph, out_empty, atol=1e-6)


def test_gprgnn_hop_parameters_gradients_and_reset():
    torch.manual_seed(0)
    model = GPRGNN(4, 8, 2, K=3, alpha=0.5)
    hop = list(model.hop_parameters())
    assert len(hop) == 1 and hop[0] is model.prop.gamma
    x = torch.randn(6, 4)
    model.train()
    model(x, EDGE_INDEX).sum().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        model.prop.gamma.add_(1.0)
    model.reset_parameters()
    assert torch.equal(model.prop.gamma, before['prop.gamma'])
    assert not torch.equal(model.lin1.weight, before['lin1.weight'])


def test_gprgnn_dropout_only_in_training():
    torch.manual_seed(0)
    model = GPRGNN(4, 8, 2, K=2, dropout=0.5, dprate=0.5)
    x = torch.randn(6, 4)
    model.eval()
    assert torch.equal(model(x, EDGE_INDEX), model(x, EDGE_INDEX))
    model.train()
    assert not torch.equal(model(x, EDGE_INDEX), model(x, EDGE_INDEX))


def test_gprgnn_repr_pickle_options():
    model = GPRGNN(4, 8, 2, K=3)
    assert repr(model) == 'GPRGNN(4, 2, hidden_channels=8, K=3)'
    clone = pickle.loads(pickle.dumps(model))
    x = torch.randn(6, 4)
    model.eval(), clone.eval()
    assert torch.equal(model(x, EDGE_INDEX), clone(x, EDGE_INDEX))
    nobn = GPRGNN(4, 8, 2, batch_norm=False, classifier_bias=True)
    assert not any('bn' in k for k in nobn.state_dict())
    assert nobn.lin2.bias is not None
    with pytest.raises(ValueError, match='dropout'):
        GPRGNN(4, 8, 2, dropout=1.0)
    with pytest.raises(ValueError, match='init'):
        GPRGNN(4, 8, 2, init='bad')
