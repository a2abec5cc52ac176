import copy
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


# gcn_norm_fixed_size: PyG's gcn_norm without a host read -------------------
def dense_of(edge_index, edge_weight, n):
    A = torch.zeros(n, n, dtype=edge_weight.dtype)
    A.index_put_((edge_index[0], edge_index[1]), edge_weight,
                 accumulate=True)
    return A


@pytest.mark.parametrize('flow', ['source_to_target', 'target_to_source'])
def test_gcn_norm_fixed_size_matches_pyg(flow):
    from torch_geometric.nn.conv.gcn_conv import gcn_norm

    from pyg_ext.nn.conv import gcn_norm_fixed_size
    torch.manual_seed(0)
    directed = torch.tensor([[0, 1, 2, 3, 0, 4, 4], [1, 2, 3, 4, 4, 0, 2]])
    loops = torch.tensor([[1, 3], [1, 3]])
    ei = torch.cat([EDGE_INDEX, directed, loops, EDGE_INDEX[:, :2]], dim=1)
    w = torch.rand(ei.size(1), dtype=torch.float64) + 0.5
    for ew in (None, w):
        for loops_on in (True, False):
            ref_ei, ref_w = gcn_norm(ei, ew, 6, False, loops_on, flow,
                                     torch.float64)
            out_ei, out_w = gcn_norm_fixed_size(ei, ew, 6, loops_on, flow,
                                                torch.float64)
            # The size is known from the input's shape: E (+ N).
            assert out_ei.size(1) == ei.size(1) + (6 if loops_on else 0)
            assert torch.allclose(dense_of(out_ei, out_w, 6),
                                  dense_of(ref_ei, ref_w, 6))
    # The weight of an existing loop is kept (PyG's add_remaining_self_loops)
    # and its own slot is zeroed.
    ei = torch.tensor([[0, 1, 1], [1, 0, 1]])
    out_ei, out_w = gcn_norm_fixed_size(ei, torch.tensor([1., 1., 3.]), 2)
    A = dense_of(out_ei, out_w, 2)
    deg = torch.tensor([2., 4.])  # node 0: edge + loop 1; node 1: edge + 3
    ref = torch.tensor([[1., 1.], [1., 3.]]) / deg.sqrt().outer(deg.sqrt())
    assert torch.allclose(A, ref)
    assert out_w[2] == 0
    # Gradients reach every input weight, loops included.
    w = torch.tensor([1., 1., 3.], requires_grad=True)
    dense_of(*gcn_norm_fixed_size(ei, w, 2), 2).sum().backward()
    assert torch.isfinite(w.grad).all() and (w.grad != 0).all()
    with pytest.raises(ValueError, match='flow'):
        gcn_norm_fixed_size(ei, None, 2, flow='both')


def test_gcn_norm_fixed_size_sparse_input_is_pyg():
    from torch_geometric.nn.conv.gcn_conv import gcn_norm
    from torch_geometric.utils import to_torch_csr_tensor

    from pyg_ext.nn.conv import gcn_norm_fixed_size
    adj = to_torch_csr_tensor(EDGE_INDEX, size=(5, 5))
    a, w = gcn_norm_fixed_size(adj, num_nodes=5)
    b, _ = gcn_norm(adj, num_nodes=5)
    assert w is None and torch.equal(a.to_dense(), b.to_dense())


# the CSR pair is built once per graph ---------------------------------------
def test_csr_built_once_per_graph_and_rebuilt_when_it_changes(monkeypatch):
    calls = []
    build = HopAggregation._build_csr

    def spy(self, *args):
        calls.append(1)
        return build(self, *args)

    monkeypatch.setattr(HopAggregation, '_build_csr', spy)
    torch.manual_seed(0)
    x = torch.randn(5, 3)
    conv = GPRProp(K=3, init='WS', gamma=[0.2, 0.5, -0.3, 0.4])
    ei = EDGE_INDEX.clone()
    ref = dense_gpr(x, dense_gcn_adj(ei, 5), conv.gamma.detach())
    for _ in range(4):  # e.g. epochs or AdaRC rounds on one graph
        assert torch.allclose(conv(x, ei).detach(), ref, atol=1e-6)
    assert len(calls) == 1
    # A deep copy (AdaRC's base runs on one) shares the built graph.
    assert torch.allclose(copy.deepcopy(conv)(x, ei).detach(), ref,
                          atol=1e-6)
    assert len(calls) == 1
    # An in-place change of the graph is seen (version counter).
    ei[1, 0] = 3
    ei[0, 1] = 3
    out = conv(x, ei).detach()
    assert len(calls) == 2
    assert torch.allclose(out, dense_gpr(x, dense_gcn_adj(ei, 5),
                                         conv.gamma.detach()), atol=1e-6)
    # A new tensor, new edge weights, another size or dtype: rebuilt.
    conv(x, EDGE_INDEX.clone())
    w = torch.rand(EDGE_INDEX.size(1))
    conv(x, EDGE_INDEX, w)
    conv(x, EDGE_INDEX, w)
    assert len(calls) == 4
    w.mul_(2)
    out = conv(x, EDGE_INDEX, w).detach()
    assert len(calls) == 5
    assert torch.allclose(out, dense_gpr(x, dense_gcn_adj(EDGE_INDEX, 5, w),
                                         conv.gamma.detach()), atol=1e-6)
    conv(torch.randn(6, 3), EDGE_INDEX)
    conv(x.double(), EDGE_INDEX)
    assert len(calls) == 7
    # Learnable edge weights take message passing: nothing is built.
    conv(x, EDGE_INDEX, w.clone().requires_grad_())
    assert len(calls) == 7
    # Pickling drops the built graph; reset_parameters too.
    clone = pickle.loads(pickle.dumps(conv))
    assert clone._last_graph.value is None
    conv.reset_parameters()
    conv(x, EDGE_INDEX)
    assert len(calls) == 8


# devices ---------------------------------------------------------------------
def test_gpr_prop_on_device_matches_cpu(device):
    torch.manual_seed(0)
    x = torch.randn(5, 3, requires_grad=True)
    conv = GPRProp(K=3, init='WS', gamma=[0.2, 0.5, -0.3, 0.4])
    dev = copy.deepcopy(conv).to(device)
    xd = x.detach().to(device).requires_grad_()
    w = torch.rand(EDGE_INDEX.size(1))
    for ew, learn in ((None, False), (w, False), (w, True)):
        ew_c = None if ew is None else ew.clone().requires_grad_(learn)
        ew_d = None if ew is None else \
            ew.to(device, copy=True).requires_grad_(learn)
        out_c = conv(x, EDGE_INDEX, ew_c)
        out_d = dev(xd, EDGE_INDEX.to(device), ew_d)
        assert out_d.device == device
        assert torch.allclose(out_d.detach().cpu(), out_c.detach(),
                              atol=1e-5)
        g_c = torch.autograd.grad(out_c.square().sum(), [x, conv.gamma])
        g_d = torch.autograd.grad(out_d.square().sum(), [xd, dev.gamma])
        for a, b in zip(g_c, g_d):
            assert torch.allclose(b.cpu(), a, atol=1e-4)
    gen = torch.Generator(device=device).manual_seed(0)
    assert gpr_init(4, 'Random', generator=gen).device == device
    assert gpr_init(4, 'PPR', device=device).device == device
    assert dev.gamma.device == device
    dev.reset_parameters()
    assert dev.gamma.device == device


def test_message_passing_path_reads_no_value():
    # The CSR product has no 'meta' kernel in torch (aten::addmm on
    # SparseCsrMeta), and building the CSR pair coalesces, which reads
    # values (once per graph). Message passing, taken with learnable edge
    # weights, reads nothing.
    from pyg_ext.nn.conv import gcn_norm_fixed_size
    ei = torch.empty(2, 30, dtype=torch.long, device='meta')
    ew, w = gcn_norm_fixed_size(ei, None, 10)
    assert ew.shape == (2, 40) and w.shape == (40, )
    conv = GPRProp(K=3).to('meta')
    x = torch.empty(10, 4, device='meta', requires_grad=True)
    ew = torch.empty(30, device='meta', requires_grad=True)
    out = conv(x, ei, ew)
    out.sum().backward()
    assert conv.gamma.grad.shape == (4, ) and ew.grad.shape == (30, )


def test_built_graph_is_freed_with_the_graph():
    import gc
    conv = GPRProp(K=2)
    x = torch.randn(5, 3)
    ei = EDGE_INDEX.clone()
    conv(x, ei)
    assert conv._last_graph.value is not None
    other = EDGE_INDEX.clone()
    del other  # an unrelated tensor dying does not drop the entry
    gc.collect()
    assert conv._last_graph.value is not None
    del ei
    gc.collect()
    assert conv._last_graph.value is None
