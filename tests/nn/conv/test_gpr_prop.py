import pickle

import pytest
import torch

from pyg_ext.nn.conv import GPRProp, HopAggregation, gpr_init


def dense_gcn_adj(edge_index, num_nodes, edge_weight=None):
    A = torch.zeros(num_nodes, num_nodes)
    w = torch.ones(edge_index.size(1)) if edge_weight is None else edge_weight
    A.index_put_((edge_index[1], edge_index[0]), w, accumulate=True)
    A = A + torch.eye(num_nodes)
    d = A.sum(1).pow(-0.5)
    return d.view(-1, 1) * A * d.view(1, -1)


def dense_gpr(x, A_hat, gamma):
    out, h = gamma[0] * x, x
    for k in range(1, gamma.numel()):
        h = A_hat @ h
        out = out + gamma[k] * h
    return out


EDGE_INDEX = torch.tensor([[0, 1, 1, 2, 2, 3, 0, 4],
                           [1, 0, 2, 1, 3, 2, 4, 0]])


def test_gpr_init_closed_forms():
    assert torch.allclose(gpr_init(3, 'PPR', 0.5),
                          torch.tensor([0.5, 0.25, 0.125, 0.125]))
    # alpha = 1: an MLP, gamma = (1, 0, ..., 0)
    assert torch.equal(gpr_init(4, 'PPR', 1.0), torch.tensor([1., 0, 0, 0, 0]))
    assert torch.equal(gpr_init(3, 'SGC', 2), torch.tensor([0., 0, 1, 0]))
    nppr = gpr_init(2, 'NPPR', -0.5)
    assert torch.allclose(nppr, torch.tensor([1., -0.5, 0.25]) / 1.75)
    rnd = gpr_init(5, 'Random', generator=torch.Generator().manual_seed(0))
    assert torch.isclose(rnd.abs().sum(), torch.tensor(1.0))
    ws = gpr_init(2, 'WS', gamma=[0.1, 0.2, 0.3])
    assert torch.allclose(ws, torch.tensor([0.1, 0.2, 0.3]))
    # PPR weights sum to 1 for any alpha
    assert torch.isclose(gpr_init(9, 'PPR', 0.3).sum(), torch.tensor(1.0))


@pytest.mark.parametrize('kwargs, match', [
    (dict(K=-1), 'K'),
    (dict(K=3, init='foo'), 'init'),
    (dict(K=3, init='PPR', alpha=1.5), 'alpha'),
    (dict(K=3, init='SGC', alpha=5), 'alpha'),
    (dict(K=3, init='WS'), 'gamma'),
    (dict(K=3, init='WS', gamma=[1.0, 2.0]), 'gamma'),
    (dict(K=3, init='PPR', gamma=[1.0, 2.0, 3.0, 4.0]), 'gamma'),
])
def test_gpr_init_bad_inputs(kwargs, match):
    with pytest.raises(ValueError, match=match):
        gpr_init(**kwargs)


def test_gpr_prop_matches_dense_reference():
    torch.manual_seed(0)
    x = torch.randn(5, 3)
    conv = GPRProp(K=4, init='WS', gamma=[0.3, -0.2, 0.5, 0.1, -0.4])
    A_hat = dense_gcn_adj(EDGE_INDEX, 5)
    assert torch.allclose(conv(x, EDGE_INDEX), dense_gpr(x, A_hat, conv.gamma),
                          atol=1e-6)
    w = torch.rand(EDGE_INDEX.size(1))
    A_hat = dense_gcn_adj(EDGE_INDEX, 5, w)
    assert torch.allclose(conv(x, EDGE_INDEX, w),
                          dense_gpr(x, A_hat, conv.gamma), atol=1e-6)


def test_gpr_prop_known_answer_single_edge():
    # Two nodes joined by one edge: A_hat = [[1/2, 1/2], [1/2, 1/2]].
    conv = GPRProp(K=1, init='WS', gamma=[0.0, 1.0])
    x = torch.tensor([[2.0], [0.0]])
    out = conv(x, torch.tensor([[0, 1], [1, 0]]))
    assert torch.allclose(out, torch.tensor([[1.0], [1.0]]))


def test_gpr_prop_no_normalize_and_cache():
    x = torch.randn(5, 2)
    conv = GPRProp(K=2, init='WS', gamma=[1.0, 1.0, 1.0], normalize=False)
    A = torch.zeros(5, 5)
    A[EDGE_INDEX[1], EDGE_INDEX[0]] = 1
    ref = x + A @ x + A @ A @ x
    assert torch.allclose(conv(x, EDGE_INDEX), ref, atol=1e-6)
    cached = GPRProp(K=2, cached=True)
    a = cached(x, EDGE_INDEX)
    # the cache keeps the first graph: a different graph gives the same output
    b = cached(x, EDGE_INDEX[:, :2])
    assert torch.allclose(a, b)
    cached.reset_parameters()
    assert not torch.allclose(cached(x, EDGE_INDEX[:, :2]), a)


def test_gpr_prop_gradients_and_reset():
    conv = GPRProp(K=3, init='PPR', alpha=0.2)
    init = conv.gamma.detach().clone()
    x = torch.randn(5, 4, requires_grad=True)
    conv(x, EDGE_INDEX).square().sum().backward()
    assert conv.gamma.grad is not None and conv.gamma.grad.abs().sum() > 0
    assert x.grad is not None and torch.isfinite(x.grad).all()
    with torch.no_grad():
        conv.gamma.add_(1.0)
    conv.reset_parameters()
    assert torch.equal(conv.gamma.detach(), init)
    # The output is linear in gamma: d out / d gamma_k = A_hat^k x.
    A_hat = dense_gcn_adj(EDGE_INDEX, 5)
    x = torch.randn(5, 1)
    conv.gamma.grad = None
    conv(x, EDGE_INDEX).sum().backward()
    expected = torch.stack([(torch.matrix_power(A_hat, k) @ x).sum()
                            for k in range(4)])
    assert torch.allclose(conv.gamma.grad, expected, atol=1e-5)


def test_gpr_prop_repr_pickle_and_temp_alias():
    conv = GPRProp(K=3, init='PPR', alpha=0.2)
    assert repr(conv) == "GPRProp(K=3, init='PPR')"
    assert conv.temp is conv.gamma
    conv2 = pickle.loads(pickle.dumps(conv))
    assert torch.equal(conv2.gamma, conv.gamma)
    # The official checkpoint key 'temp' loads into gamma.
    other = GPRProp(K=3, init='PPR', alpha=0.9)
    other.load_state_dict({'temp': torch.tensor([1.0, 2.0, 3.0, 4.0])})
    assert torch.equal(other.gamma.detach(), torch.tensor([1., 2, 3, 4]))


def test_hop_aggregation_external_weights():
    x = torch.randn(5, 3)
    hop = HopAggregation()
    gamma = torch.tensor([0.5, 0.5, -1.0])
    A_hat = dense_gcn_adj(EDGE_INDEX, 5)
    assert torch.allclose(hop(x, EDGE_INDEX, gamma),
                          dense_gpr(x, A_hat, gamma), atol=1e-6)
    with pytest.raises(ValueError, match='gamma'):
        hop(x, EDGE_INDEX, gamma.view(1, -1))


def test_sparse_fast_path_matches_message_passing_with_gradients():
    torch.manual_seed(0)
    x = torch.randn(5, 3, requires_grad=True)
    conv = GPRProp(K=3, init='WS', gamma=[0.2, 0.5, -0.3, 0.4])
    w = torch.rand(EDGE_INDEX.size(1))
    fast = conv(x, EDGE_INDEX, w)  # sparse CSR path
    (g_fast, ) = torch.autograd.grad(fast.square().sum(), x)
    w_req = w.clone().requires_grad_()  # message-passing path
    slow = conv(x, EDGE_INDEX, w_req)
    g_slow, g_w = torch.autograd.grad(slow.square().sum(), (x, w_req))
    assert torch.allclose(fast, slow, atol=1e-6)
    assert torch.allclose(g_fast, g_slow, atol=1e-5)
    assert torch.isfinite(g_w).all() and g_w.abs().sum() > 0
    # directed graph: the backward pass must use the transpose
    directed = torch.tensor([[0, 1, 2, 3], [1, 2, 3, 4]])
    A_hat = dense_gcn_adj(directed, 5)
    xd = x.detach().clone().requires_grad_()
    out = conv(x, directed)
    ref = dense_gpr(xd, A_hat, conv.gamma.detach())
    assert torch.allclose(out, ref, atol=1e-6)
    c = torch.randn(5, 3)
    (ga, ) = torch.autograd.grad((out * c).sum(), x)
    (gb, ) = torch.autograd.grad((ref * c).sum(), xd)
    assert torch.allclose(ga, gb, atol=1e-5)
