import pickle

import pytest
import torch
from helpers_adarc import (EDGE_INDEX, dense_gcn_adj, dense_hop_sum,
                           eval_hidden)

from pyg_ext.nn.models import LearnableAPPNP, appnp_hop_weights


def test_appnp_hop_weights_closed_form():
    w = appnp_hop_weights(torch.tensor(0.5), 3)
    assert torch.allclose(w, torch.tensor([0.5, 0.25, 0.125, 0.125]))
    w = appnp_hop_weights(torch.tensor(0.1), 10)
    assert torch.isclose(w.sum(), torch.tensor(1.0))


def test_appnp_matches_iterative_definition_and_pyg():
    torch.manual_seed(0)
    x = torch.randn(6, 4)
    model = LearnableAPPNP(4, 8, 3, K=5, alpha=0.2).eval()
    A_hat = dense_gcn_adj(EDGE_INDEX, 6)
    h = eval_hidden(model, x)
    z = h  # Z <- (1 - a) A_hat Z + a H, K times
    for _ in range(5):
        z = 0.8 * A_hat @ z + 0.2 * h
    assert torch.allclose(model.featurize(x, EDGE_INDEX), z, atol=1e-5)
    gamma = appnp_hop_weights(torch.tensor(0.2), 5)
    assert torch.allclose(z, dense_hop_sum(h, A_hat, gamma), atol=1e-5)
    from torch_geometric.nn import APPNP
    assert torch.allclose(APPNP(5, 0.2)(h, EDGE_INDEX), z, atol=1e-5)
    assert torch.allclose(model(x, EDGE_INDEX), z @ model.lin2.weight.t(),
                          atol=1e-5)


def test_appnp_alpha_gradient_matches_finite_difference():
    torch.manual_seed(0)
    x = torch.randn(6, 4)
    model = LearnableAPPNP(4, 8, 2, K=4, alpha=0.3).eval()
    (p, ) = list(model.hop_parameters())
    assert p is model.alpha_logit
    loss = model.featurize(x, EDGE_INDEX).square().sum()
    loss.backward()
    eps = 1e-3
    with torch.no_grad():
        p.add_(eps)
        up = model.featurize(x, EDGE_INDEX).square().sum()
        p.sub_(2 * eps)
        down = model.featurize(x, EDGE_INDEX).square().sum()
    fd = (up - down) / (2 * eps)
    assert torch.isclose(p.grad, fd, rtol=1e-2, atol=1e-3)


def test_appnp_reset_repr_pickle_bad_inputs():
    model = LearnableAPPNP(4, 8, 2, K=3, alpha=0.1)
    assert torch.isclose(model.alpha, torch.tensor(0.1))
    with torch.no_grad():
        model.alpha_logit.add_(3.0)
    w = model.lin1.weight.clone()
    model.reset_parameters()
    assert torch.isclose(model.alpha, torch.tensor(0.1))
    assert not torch.equal(model.lin1.weight, w)
    assert repr(model) == 'LearnableAPPNP(4, 2, K=3, alpha=0.1)'
    clone = pickle.loads(pickle.dumps(model))
    assert torch.equal(clone.alpha_logit, model.alpha_logit)
    with pytest.raises(ValueError, match='alpha'):
        LearnableAPPNP(4, 8, 2, alpha=1.0)
    with pytest.raises(ValueError, match='K'):
        LearnableAPPNP(4, 8, 2, K=0)
