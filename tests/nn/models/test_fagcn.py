import copy
import pickle

import pytest
import torch

from pyg_ext.nn.models import FAGCN


def graph():
    torch.manual_seed(0)
    x = torch.randn(5, 4)
    und = torch.tensor([[0, 0, 1, 2, 3], [1, 2, 2, 3, 4]])
    edge_index = torch.cat([und, und.flip(0)], 1)
    return x, edge_index


def dense_fagcn(model, x, edge_index):
    r"""FAGCN with dense matrices: self-loops added, symmetric degree
    normalisation, coefficient tanh(a_l h_j + a_r h_i) on every edge j -> i,
    initial residual eps * h0."""
    N = x.size(0)
    A = torch.zeros(N, N)
    A[edge_index[1], edge_index[0]] = 1.0  # A[i, j]: edge j -> i
    A = A + torch.eye(N)
    d = A.sum(1).pow(-0.5)
    norm = d.view(-1, 1) * A * d.view(1, -1)
    h = h0 = torch.relu(model.lin_in(x))
    for conv in model.convs:
        a_l = conv.att_l(h).view(1, -1)  # source j
        a_r = conv.att_r(h).view(-1, 1)  # target i
        h = (torch.tanh(a_r + a_l) * norm) @ h + model.eps * h0
    return model.lin_out(h)


def test_repr_and_bad_args():
    assert repr(FAGCN(4, 8, 3)) == 'FAGCN(4, 3, num_layers=2)'
    assert repr(FAGCN(4, 8, 3, num_layers=5)) == 'FAGCN(4, 3, num_layers=5)'
    with pytest.raises(ValueError, match="'hidden_channels'"):
        FAGCN(4, 0, 3)
    with pytest.raises(ValueError, match="'num_layers'"):
        FAGCN(4, 8, 3, num_layers=-1)
    with pytest.raises(ValueError, match="'dropout'"):
        FAGCN(4, 8, 3, dropout=1.0)


@pytest.mark.parametrize('num_layers,eps', [(1, 0.3), (3, 0.1), (0, 0.3)])
def test_matches_dense_reference(num_layers, eps):
    x, ei = graph()
    torch.manual_seed(1)
    model = FAGCN(4, 8, 3, num_layers=num_layers, eps=eps).eval()
    out = model(x, ei)
    assert out.shape == (5, 3)
    assert torch.allclose(out, dense_fagcn(model, x, ei), atol=1e-5)


def test_signed_coefficients_and_residual_matter():
    x, ei = graph()
    torch.manual_seed(2)
    model = FAGCN(4, 8, 3, num_layers=2, eps=0.3).eval()
    out = model(x, ei)
    # flipping the sign of the attention vectors changes the filter
    flipped = copy.deepcopy(model)
    with torch.no_grad():
        for conv in flipped.convs:
            conv.att_l.weight.neg_()
            conv.att_r.weight.neg_()
    assert not torch.allclose(flipped(x, ei), out, atol=1e-4)
    assert torch.allclose(flipped(x, ei), dense_fagcn(flipped, x, ei),
                          atol=1e-5)
    no_res = copy.deepcopy(model)
    for conv in no_res.convs:
        conv.eps = 0.0
    no_res.eps = 0.0
    assert not torch.allclose(no_res(x, ei), out, atol=1e-4)


def test_gradients_reset_pickle():
    x, ei = graph()
    model = FAGCN(4, 8, 3)
    model(x, ei).sum().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    w = model.convs[0].att_l.weight.detach().clone()
    w_in = model.lin_in.weight.detach().clone()
    model.reset_parameters()
    assert not torch.equal(w, model.convs[0].att_l.weight)
    assert not torch.equal(w_in, model.lin_in.weight)
    model.eval()
    model2 = pickle.loads(pickle.dumps(model))
    assert torch.equal(model2(x, ei), model(x, ei))
    # dropout is active in training mode only
    model.train()
    torch.manual_seed(3)
    a = model(x, ei)
    torch.manual_seed(4)
    assert not torch.equal(a, model(x, ei))


def test_forward_backward_on_device(device):
    x, ei = graph()
    torch.manual_seed(5)
    model = FAGCN(4, 8, 3).eval()
    ref = model(x, ei)
    ref.square().sum().backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad()
    model = model.to(device)
    out = model(x.to(device), ei.to(device))
    assert out.device.type == device.type
    out.square().sum().backward()
    assert torch.allclose(out.cpu(), ref, atol=1e-5)
    for n, p in model.named_parameters():
        assert torch.allclose(p.grad.cpu(), grads[n], atol=1e-4), n
