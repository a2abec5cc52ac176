import copy
import pickle

import pytest
import torch
from torch_geometric.nn import SimpleConv

from pyg_ext.nn.conv import THeGCNConv


def graph():
    torch.manual_seed(0)
    x = torch.randn(6, 4)
    edge_index = torch.tensor([[0, 1, 2, 3, 4, 0, 5], [1, 1, 1, 2, 2, 3, 0]])
    return x, edge_index


def dense_mean(x, edge_index, coef):
    N = x.size(0)
    out = torch.zeros_like(x)
    deg = torch.zeros(N)
    for e in range(edge_index.size(1)):
        j, i = int(edge_index[0, e]), int(edge_index[1, e])
        out[i] += coef[e] * x[j]
        deg[i] += 1
    return out / deg.clamp(min=1).view(-1, 1)


def test_repr_and_bad_args():
    assert repr(THeGCNConv(4)) == "THeGCNConv(4, 4, gate='scalar')"
    assert repr(THeGCNConv(4, out_channels=2, gate='channel')) == \
        "THeGCNConv(4, 2, gate='channel')"
    with pytest.raises(ValueError, match="'gate'"):
        THeGCNConv(4, gate='edge')
    with pytest.raises(ValueError, match="'gate_act'"):
        THeGCNConv(4, gate_act='relu')
    with pytest.raises(ValueError, match="'channels'"):
        THeGCNConv(0)


def test_gate_one_equals_simpleconv_and_zero_half():
    x, ei = graph()
    conv = THeGCNConv(4)
    ref = SimpleConv(aggr='mean', combine_root='sum')(x, ei)
    assert torch.allclose(conv(x, ei, gate=1.0), ref, atol=1e-6)
    # isolated targets (4, 5) keep x_i
    assert torch.equal(conv(x, ei, gate=1.0)[4], x[4])
    mean = dense_mean(x, ei, torch.ones(ei.size(1)))
    assert torch.allclose(conv(x, ei, gate=0.0), x - mean, atol=1e-6)
    assert torch.allclose(conv(x, ei, gate=0.5), x, atol=1e-6)
    # per-edge tensor override
    g = torch.rand(ei.size(1))
    assert torch.allclose(conv(x, ei, gate=g),
                          x + dense_mean(x, ei, 2 * g - 1), atol=1e-6)


def test_learned_gate_matches_formula_sigmoid_tanh_channel():
    x, ei = graph()
    ea = torch.randn(ei.size(1), 3)
    te = torch.randn(ei.size(1), 5)
    for act, fn in (('sigmoid', torch.sigmoid), ('tanh', torch.tanh)):
        conv = THeGCNConv(4, edge_dim=3, time_dim=5, gate_act=act)
        out, g = conv(x, ei, ea, te, return_gate=True)
        z = torch.cat([x[ei[0]], x[ei[1]], ea, te], -1) @ \
            conv.gate_mlp.weight.t() + conv.gate_mlp.bias
        assert torch.allclose(g, fn(z), atol=1e-6)
        assert torch.allclose(out, x + dense_mean(x, ei, 2 * fn(z) - 1),
                              atol=1e-6)
    conv = THeGCNConv(4, gate='channel', gate_hidden=8, aggr='sum',
                      out_channels=2)
    out, g = conv(x, ei, return_gate=True)
    assert g.shape == (ei.size(1), 4) and out.shape == (6, 2)
    deg = torch.bincount(ei[1], minlength=6).clamp(min=1).view(-1, 1)
    ref = conv.lin(x + dense_mean(x, ei, 2 * g - 1) * deg)
    assert torch.allclose(out, ref, atol=1e-5)


def test_permutation_equivariance():
    x, ei = graph()
    ea = torch.randn(ei.size(1), 2)
    conv = THeGCNConv(4, edge_dim=2, gate='channel')
    out = conv(x, ei, ea)
    perm = torch.randperm(6)
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(6)
    eperm = torch.randperm(ei.size(1))
    out_p = conv(x[perm], inv[ei][:, eperm], ea[eperm])
    assert torch.allclose(out_p, out[perm], atol=1e-6)


def test_gradients_reset_pickle():
    x, ei = graph()
    conv = THeGCNConv(4, time_dim=2, out_channels=3)
    te = torch.randn(ei.size(1), 2)
    conv(x, ei, time_enc=te).sum().backward()
    assert conv.gate_mlp.weight.grad.abs().sum() > 0
    assert conv.lin.weight.grad.abs().sum() > 0
    w = conv.gate_mlp.weight.detach().clone()
    conv.reset_parameters()
    assert not torch.equal(w, conv.gate_mlp.weight)
    conv2 = pickle.loads(pickle.dumps(conv))
    assert torch.equal(conv2(x, ei, time_enc=te), conv(x, ei, time_enc=te))
    assert torch.equal(copy.deepcopy(conv)(x, ei, time_enc=te),
                       conv(x, ei, time_enc=te))


def test_bad_inputs():
    x, ei = graph()
    conv = THeGCNConv(4, time_dim=2)
    with pytest.raises(ValueError, match="'time_enc'"):
        conv(x, ei)
    with pytest.raises(ValueError, match=r"'time_enc' must have shape"):
        conv(x, ei, time_enc=torch.randn(3, 2))
    with pytest.raises(ValueError, match="'edge_attr' was given"):
        conv(x, ei, edge_attr=torch.randn(ei.size(1), 2),
             time_enc=torch.randn(ei.size(1), 2))
    with pytest.raises(ValueError, match="'x'"):
        conv(x[:, :3], ei, time_enc=torch.randn(ei.size(1), 2))
    with pytest.raises(ValueError, match="'edge_index' ids"):
        conv(x, ei + 3, time_enc=torch.randn(ei.size(1), 2))
    with pytest.raises(ValueError, match="'gate' must have shape"):
        conv(x, ei, gate=torch.rand(2))
    with pytest.raises(TypeError, match="'gate'"):
        conv(x, ei, gate='low')
