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
    # The id range is a value check: done once at data-setup time by
    # `validate_inputs`, never by `forward` (which only checks metadata).
    with pytest.raises(ValueError, match="'edge_index' ids"):
        THeGCNConv.validate_inputs(ei + 3, x.size(0))
    with pytest.raises(ValueError, match="'edge_index' ids"):
        THeGCNConv.validate_inputs(ei - 1, x.size(0))
    THeGCNConv.validate_inputs(ei, x.size(0))  # valid: no error
    THeGCNConv.validate_inputs(ei[:, :0], 0)  # empty: no error
    with pytest.raises(TypeError, match="'edge_index' must be an integer"):
        THeGCNConv.validate_inputs(ei.float(), x.size(0))
    with pytest.raises(TypeError, match="'edge_index' must be an integer"):
        conv(x, ei.float(), time_enc=torch.randn(ei.size(1), 2))
    # without the check, a bad id still fails on the CPU (never silently)
    with pytest.raises(IndexError):
        conv(x, ei + 3, time_enc=torch.randn(ei.size(1), 2))
    with pytest.raises(ValueError, match="'gate' must have shape"):
        conv(x, ei, gate=torch.rand(2))
    with pytest.raises(TypeError, match="'gate'"):
        conv(x, ei, gate='low')


def test_forward_backward_on_device(device):
    x, ei = graph()
    ea, te = torch.randn(ei.size(1), 3), torch.randn(ei.size(1), 5)
    for kw in (dict(edge_dim=3, time_dim=5),
               dict(edge_dim=3, time_dim=5, gate='channel', gate_hidden=8,
                    out_channels=2, aggr='sum')):
        torch.manual_seed(1)
        conv = THeGCNConv(4, **kw)
        ref, g_ref = conv(x, ei, ea, te, return_gate=True)
        ref.square().sum().backward()
        grads = {n: p.grad.clone() for n, p in conv.named_parameters()}
        conv = conv.to(device)
        conv.zero_grad()
        xd = x.to(device)
        out, g = conv(xd, ei.to(device), ea.to(device), te.to(device),
                      return_gate=True)
        assert out.device.type == device.type
        assert g.device.type == device.type
        out.square().sum().backward()
        assert torch.allclose(out.cpu(), ref, atol=1e-5)
        assert torch.allclose(g.cpu(), g_ref, atol=1e-5)
        for n, p in conv.named_parameters():
            assert torch.allclose(p.grad.cpu(), grads[n], atol=1e-4), n
        # a fixed gate is created on the inputs' device
        assert conv(xd, ei.to(device), ea.to(device), te.to(device),
                    gate=0.5).device.type == device.type


@pytest.mark.parametrize('kw', [
    dict(edge_dim=3, time_dim=5),
    dict(time_dim=5, gate='channel', gate_hidden=8, out_channels=2,
         dropout=0.3),
    dict(aggr='sum', gate_act='tanh'),
])
def test_no_host_sync_on_meta(kw):
    # Any value read (.item(), bool(), int(), .tolist(), data-dependent
    # shapes) raises on the meta device: forward and backward must not read
    # values, so they never force a host sync on an accelerator.
    conv = THeGCNConv(4, **kw).to('meta')
    x = torch.empty(6, 4, device='meta', requires_grad=True)
    ei = torch.empty(2, 7, dtype=torch.long, device='meta')
    ea = torch.empty(7, 3, device='meta') if kw.get('edge_dim') else None
    te = torch.empty(7, 5, device='meta') if kw.get('time_dim') else None
    out, g = conv(x, ei, ea, te, return_gate=True)
    assert out.is_meta and out.shape == (6, kw.get('out_channels', 4))
    assert g.shape == (7, 4 if kw.get('gate') == 'channel' else 1)
    out.sum().backward()
    assert x.grad.is_meta and x.grad.shape == x.shape
    assert all(p.grad is not None and p.grad.is_meta
               for p in conv.parameters())
    # the value check itself does read values: it refuses meta tensors
    with pytest.raises((RuntimeError, NotImplementedError)):
        THeGCNConv.validate_inputs(ei, 6)
