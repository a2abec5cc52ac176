r"""Sparse adjacency (PyG's ``adj_t``, row = target) against ``edge_index``:
every static model gives the same outputs and gradients for both inputs,
on a random graph and on a graph with (weighted) self-loops; the custom
SpMM of :mod:`pyg_ext.utils.sparse_adj` against dense references, gradcheck, a
graph far too large to densify, and its weak structure cache."""
import copy
import gc
import weakref

import pytest
import torch
from helpers_device import DeviceAudit
import torch_geometric.transforms as T
from torch_geometric.data import Data
from torch_geometric.nn.conv.gcn_conv import gcn_norm
from torch_geometric.nn.models import GCN, MLP
from torch_geometric.typing import WITH_TORCH_SPARSE
from torch_geometric.utils import coalesce, remove_self_loops, to_undirected

from pyg_ext.nn.models import (FAGCN, GPRGNN, LearnableAPPNP, LearnableGCNII,
                               Mowst, TeddyGAT, TeddyGCN, TeddyGIN,
                               THeGCN, TGNModel, WeightedJKNet)
from pyg_ext.utils.sparse_adj import (CSRStructure, csr_of, gcn_norm_values,
                                      spmm)

N, F_IN = 24, 6


def _graph(self_loops: bool, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    ei = to_undirected(torch.randint(0, N, (2, 40), generator=g),
                       num_nodes=N)
    ei = remove_self_loops(ei)[0]
    if self_loops:  # loops on a few nodes only: the rest get fill value 1
        loops = torch.tensor([0, 3, 7, 11])
        ei = torch.cat([ei, loops.repeat(2, 1)], dim=1)
    return coalesce(ei, num_nodes=N)


def _adj(ei, layout, weight=None):
    data = Data(edge_index=ei, num_nodes=N)
    if weight is not None:
        data.edge_weight = weight
    if layout == 'sparse_tensor':
        return T.ToSparseTensor()(data).adj_t
    adj = T.ToSparseTensor(layout=torch.sparse_csr)(data).adj_t
    return adj.to_sparse_coo() if layout == 'coo' else adj


def _csr_order(ei):
    r"""Edge order -> CSR (target-major) order of the stored entries."""
    return csr_of(ei, num_nodes=N)[0].perm


LAYOUTS = ['csr', 'coo', pytest.param(
    'sparse_tensor', marks=pytest.mark.skipif(
        not WITH_TORCH_SPARSE, reason='torch_sparse is not installed'))]

# (class, kwargs, train mode, takes edge_weight)
MODELS = [
    (GPRGNN, dict(K=3, alpha=0.1), False, True),
    (LearnableAPPNP, dict(K=3), False, True),
    (LearnableGCNII, dict(num_layers=2), False, True),
    (WeightedJKNet, dict(num_layers=2), False, True),
    (FAGCN, dict(num_layers=2), False, False),
    (TeddyGCN, dict(), False, True),
    (TeddyGIN, dict(), False, True),
    # training mode: soft pruning (attention logits times the edge weight)
    (TeddyGAT, dict(heads=2, dropout=0.0), True, True),
]


def _run(model, x, adj, w=None):
    args = (x, adj) if w is None else (x, adj, w)
    out = model(*args)
    out.square().sum().backward()
    return out


@pytest.mark.parametrize('self_loops', [False, True])
@pytest.mark.parametrize('layout', LAYOUTS)
@pytest.mark.parametrize('cls, kwargs, train, weighted', MODELS)
def test_model_adj_t_equals_edge_index(cls, kwargs, train, weighted,
                                       layout, self_loops):
    ei = _graph(self_loops)
    torch.manual_seed(0)
    model = cls(F_IN, 8, 3, **kwargs).train(train)
    assert cls.supports_adj_t is True
    x = torch.randn(N, F_IN)
    outs, grads = [], []
    for adj in (ei, _adj(ei, layout)):
        xr = x.clone().requires_grad_()
        model.zero_grad()
        outs.append(_run(model, xr, adj))
        grads.append([xr.grad] + [p.grad.clone() for p in
                                  model.parameters()])
    assert torch.allclose(outs[0], outs[1], atol=1e-5)
    for a, b in zip(*grads):
        assert torch.allclose(a, b, atol=1e-5)
    if not weighted:
        return
    # A learnable edge weight: one per edge with edge_index, one per stored
    # entry (in CSR order) with adj_t; the same gradient per edge.
    w = torch.rand(ei.size(1), generator=torch.Generator().manual_seed(1))
    perm = _csr_order(ei)
    w_ei = w.clone().requires_grad_()
    w_csr = w[perm].clone().requires_grad_()
    a = _run(model, x, ei, w_ei)
    b = _run(model, x, _adj(ei, layout), w_csr)
    assert torch.allclose(a, b, atol=1e-5)
    assert torch.allclose(w_ei.grad[perm], w_csr.grad, atol=1e-5)
    assert w_csr.grad.abs().sum() > 0


def test_weighted_adj_values_equal_edge_weight():
    # ToSparseTensor(attr='edge_weight') puts the weights in adj_t's values.
    ei = _graph(True)
    w = torch.rand(ei.size(1), generator=torch.Generator().manual_seed(2))
    torch.manual_seed(0)
    for model in (GPRGNN(F_IN, 8, 3, K=2, alpha=0.2), TeddyGCN(F_IN, 8, 3),
                  TeddyGIN(F_IN, 8, 3)):
        model.eval()
        x = torch.randn(N, F_IN)
        assert torch.allclose(model(x, ei, w), model(x, _adj(ei, 'csr', w)),
                              atol=1e-5)


def test_cached_sparse_graph_is_never_stale():
    # GPRGNN caches the normalised CSR pair of a fixed adj_t; an in-place
    # change of its values is a new graph.
    ei = _graph(False)
    w = torch.rand(ei.size(1), generator=torch.Generator().manual_seed(4))
    adj = _adj(ei, 'csr', w.clone())
    torch.manual_seed(0)
    model = GPRGNN(F_IN, 8, 3, K=2, alpha=0.2).eval()
    x = torch.randn(N, F_IN)
    first = model(x, adj)
    assert torch.equal(model(x, adj), first)  # served from the cache
    with torch.no_grad():
        adj.values().mul_(3.0).add_(1.0)
    w2 = w * 3.0 + 1.0
    out = model(x, adj)
    assert not torch.allclose(out, first)
    assert torch.allclose(out, model(x, ei, w2), atol=1e-5)


@pytest.mark.parametrize('cls, kwargs, train, weighted', MODELS)
def test_sparse_step_on_device_reads_nothing(device, cls, kwargs, train,
                                             weighted):
    # A training step through adj_t on $PYG_EXT_TEST_DEVICE equals the CPU
    # edge_index step, creates every tensor on the device and reads no
    # value back to the host (the structure of a sparse adj_t needs none).
    ei = _graph(True)
    torch.manual_seed(0)
    cpu = cls(F_IN, 8, 3, **kwargs).train(train)
    dev = copy.deepcopy(cpu).to(device)
    x = torch.randn(N, F_IN)
    w = torch.rand(ei.size(1), generator=torch.Generator().manual_seed(5))
    perm = _csr_order(ei)
    args = (x, ei, w.clone().requires_grad_()) if weighted else (x, ei)
    ref = _run(cpu, *args)
    adj = _adj(ei, 'csr').to(device)
    w_dev = w[perm].to(device).requires_grad_() if weighted else None
    with DeviceAudit(device) as audit:
        out = _run(dev, x.to(device), adj, w_dev)
    assert audit.violations == []
    assert torch.allclose(out.cpu(), ref, atol=1e-5)
    for (name, a), b in zip(cpu.named_parameters(), dev.parameters()):
        assert torch.allclose(b.grad.cpu(), a.grad, atol=1e-5), name
    if weighted:
        assert torch.allclose(w_dev.grad.cpu(), args[2].grad[perm],
                              atol=1e-5)


# GCN normalisation and self-loops --------------------------------------------
def _dense_gcn(ei, w):
    r"""Dense D^-1/2 (A + I') D^-1/2, I' keeping an existing loop's weight
    (add_remaining_self_loops), row = target."""
    A = torch.zeros(N, N, dtype=w.dtype).index_put_((ei[1], ei[0]), w,
                                                     accumulate=True)
    has_loop = A.diagonal() != 0
    A = A + torch.diag(torch.where(has_loop, 0.0, 1.0).to(w.dtype))
    d = A.sum(1).pow(-0.5)
    return d.view(-1, 1) * A * d.view(1, -1)


@pytest.mark.parametrize('layout', ['edge_index', 'csr', 'coo'])
def test_gcn_norm_keeps_existing_loop_weight_for_every_layout(layout):
    ei = _graph(True)
    w = torch.rand(ei.size(1), dtype=torch.float64,
                   generator=torch.Generator().manual_seed(3)) + 0.5
    ref = _dense_gcn(ei, w)
    if layout == 'edge_index':
        s, v = csr_of(ei, w, N)
    else:
        s, v = csr_of(_adj(ei, layout, w))
    s, v = gcn_norm_values(s, v)
    x = torch.eye(N, dtype=torch.float64)
    assert torch.allclose(spmm(s, v, x), ref)
    # Ours equals PyG's edge_index normalisation; PyG's torch.sparse path
    # adds a second loop (w_ii + 1) and differs on this graph.
    pe, pw = gcn_norm(ei, w, N)
    pyg_ei = torch.zeros(N, N, dtype=w.dtype).index_put_(
        (pe[1], pe[0]), pw, accumulate=True)
    assert torch.allclose(pyg_ei, ref)
    pyg_sp = gcn_norm(_adj(ei, 'csr', w), None, N)[0].to_dense()
    assert not torch.allclose(pyg_sp, ref)


# The custom SpMM -------------------------------------------------------------
def test_spmm_dense_reference_with_duplicates():
    ei = torch.tensor([[0, 1, 1, 2, 2, 0], [1, 0, 2, 1, 1, 0]])
    w = torch.tensor([1., 2., 3., 4., 5., 6.])
    s, v = csr_of(ei, w, 3)
    x = torch.tensor([[1., 0.], [0., 1.], [2., 3.]])
    dense = torch.zeros(3, 3).index_put_((ei[1], ei[0]), w, accumulate=True)
    assert torch.equal(spmm(s, v, x), dense @ x)
    # (target 1 gets 1 * x0 + (4 + 5) * x2)
    assert spmm(s, v, x)[1].tolist() == [19., 27.]


def test_spmm_gradcheck_values_and_features():
    g = torch.Generator().manual_seed(0)
    ei = torch.randint(0, 5, (2, 12), generator=g)  # duplicates and loops
    w = torch.rand(12, dtype=torch.float64, generator=g).requires_grad_()
    x = torch.randn(5, 3, dtype=torch.float64, generator=g).requires_grad_()

    def f(w, x):
        return spmm(*csr_of(ei, w, 5), x)

    # one entry per (source, target) pair, so each loop weight is unique
    ei_c = coalesce(ei, num_nodes=5)
    w_c = w[:ei_c.size(1)].detach().clone().requires_grad_()

    def f_norm(w, x):
        return spmm(*gcn_norm_values(*csr_of(ei_c, w, 5)), x)

    assert torch.autograd.gradcheck(f, (w, x))
    assert torch.autograd.gradcheck(f_norm, (w_c, x))
    # The edge-value gradient is grad_out[target] . x[source].
    go = torch.randn(5, 3, dtype=torch.float64, generator=g)
    gw, = torch.autograd.grad(f(w, x), w, go)
    assert torch.allclose(gw, (go[ei[1]] * x[ei[0]]).sum(-1))


def test_spmm_edge_gradient_fallback_in_chunks(monkeypatch):
    import pyg_ext.utils.sparse_adj as mod
    ei = _graph(True)
    w = torch.rand(ei.size(1), requires_grad=True)
    x = torch.randn(N, 4)
    go = torch.randn(N, 4)
    ref, = torch.autograd.grad(spmm(*csr_of(ei, w, N), x), w, go)
    assert torch.allclose(ref, (go[ei[1]] * x[ei[0]]).sum(-1), atol=1e-6)

    def missing(*args, **kwargs):
        raise NotImplementedError
    monkeypatch.setattr(torch.sparse, 'sampled_addmm', missing)
    monkeypatch.setattr(mod, 'CHUNK_ELEMENTS', 8)  # 2 edges per chunk
    out, = torch.autograd.grad(spmm(*csr_of(ei, w, N), x), w, go)
    assert torch.allclose(out, ref, atol=1e-6)


def test_spmm_backward_never_densifies_a_200k_node_graph():
    # A dense N x N gradient would need 160 GB; the edge-wise backward needs
    # O(E F) memory and finishes in well under a second.
    n, e = 200_000, 600_000
    g = torch.Generator().manual_seed(0)
    ei = torch.randint(0, n, (2, e), generator=g)
    w = torch.rand(e, generator=g).requires_grad_()
    x = torch.randn(n, 4, generator=g).requires_grad_()
    s, v = csr_of(ei, w, n)
    out = spmm(s, v, x)
    out.sum().backward()
    assert w.grad.shape == (e, ) and x.grad.shape == (n, 4)
    # spot-check a few edges against the closed form (grad_out = 1)
    k = torch.arange(0, e, 99_991)
    assert torch.allclose(w.grad[k], x.detach()[ei[0, k]].sum(-1), atol=1e-5)
    deg_out = torch.zeros(n).index_add_(0, ei[0], w.detach())
    assert torch.allclose(x.grad[:, 0], deg_out, atol=1e-4)


def test_structure_cache_is_per_graph_and_weak():
    ei = _graph(False)
    s1, _ = csr_of(ei, num_nodes=N)
    assert csr_of(ei, num_nodes=N)[0] is s1  # cached
    assert csr_of(ei.clone(), num_nodes=N)[0] is not s1  # another object
    ei2 = ei.clone()
    ref = weakref.ref(csr_of(ei2, num_nodes=N)[0])
    gc.collect()
    assert ref() is not None  # held by the cache while ei2 lives
    del ei2
    gc.collect()
    assert ref() is None  # freed with the graph
    # An in-place change is a new graph: the structure is rebuilt.
    ei3 = ei.clone()
    s3, _ = csr_of(ei3, num_nodes=N)
    ei3[1, 0] = (ei3[1, 0] + 1) % N
    s4, _ = csr_of(ei3, num_nodes=N)
    assert s4 is not s3
    adj = _adj(ei, 'csr')
    assert csr_of(adj)[0] is csr_of(adj)[0]


def test_transpose_structure():
    s = CSRStructure(torch.tensor([0, 2, 3, 3]), torch.tensor([0, 2, 0]),
                     (3, 3))
    t, perm = s.transpose()
    dense = s.matrix(torch.tensor([1., 2., 3.])).to_dense()
    assert torch.equal(t.matrix(torch.tensor([1., 2., 3.])[perm]).to_dense(),
                       dense.t())


# Mowst -----------------------------------------------------------------------
@pytest.mark.parametrize('layout', LAYOUTS)
@pytest.mark.parametrize('strong_kind', ['pyg_gcn', 'gprgnn'])
def test_mowst_forward_and_predict_adj_t_equals_edge_index(strong_kind,
                                                           layout):
    ei = _graph(False)  # PyG's GCN normalises sparse loops its own way
    adj = _adj(ei, layout)
    torch.manual_seed(0)
    if strong_kind == 'pyg_gcn':
        strong, kw = GCN(F_IN, 8, 2, 3), {}
    else:
        strong, kw = GPRGNN(F_IN, 8, 3, K=2, alpha=0.2), dict(
            strong_num_hops=2)
    model = Mowst(MLP([F_IN, 8, 3]), strong, 3, **kw).eval()
    assert Mowst.supports_adj_t is True
    x = torch.randn(N, F_IN)
    a, b = model(x, ei), model(x, adj)
    assert torch.allclose(a.log_probs, b.log_probs, atol=1e-5)
    for mode in ('sample', 'threshold', 'mixture'):
        for index in (None, torch.tensor([0, 5, 9])):
            preds = []
            for graph in (ei, adj):
                gen = torch.Generator().manual_seed(0)
                preds.append(model.predict(x, graph, mode=mode,
                                           threshold=0.8, generator=gen,
                                           index=index))
            p, q = preds
            assert torch.equal(p.pred, q.pred)
            assert torch.equal(p.used_strong, q.used_strong)
            assert torch.allclose(p.strong_logits.nan_to_num(),
                                  q.strong_logits.nan_to_num(), atol=1e-5)
    # A routed subset runs on its k-hop sub-adjacency, not the whole graph.
    q = model.predict(x, adj, mode='threshold', threshold=0.0,
                      index=torch.tensor([0]))
    assert q.num_strong_nodes_computed == 0
    q = model.predict(x, adj, mode='threshold', threshold=1.0,
                      index=torch.tensor([0]))
    assert 0 < q.num_strong_nodes_computed < N


# Bad input -------------------------------------------------------------------
def test_adj_t_bad_input_names_the_argument():
    ei = _graph(False)
    adj = _adj(ei, 'csr')
    model = GPRGNN(F_IN, 8, 3, K=2)
    with pytest.raises(ValueError, match="does not match the 23 nodes"):
        model(torch.randn(N - 1, F_IN), adj)
    rect = torch.sparse_coo_tensor(torch.tensor([[0], [1]]),
                                   torch.ones(1), (N, N + 1))
    with pytest.raises(ValueError, match='square'):
        model(torch.randn(N, F_IN), rect)
    with pytest.raises(TypeError, match='sparse_csc'):
        model(torch.randn(N, F_IN), adj.to_sparse_csc())
    with pytest.raises(ValueError, match="'edge_weight' given with a sparse"):
        TeddyGCN(F_IN, 8, 3)(torch.randn(N, F_IN), adj, torch.ones(3))
    mowst = Mowst(MLP([F_IN, 8, 3]), GCN(F_IN, 8, 2, 3), 3)
    with pytest.raises(ValueError, match="does not match"):
        mowst(torch.randn(N + 2, F_IN), adj)


def test_temporal_models_do_not_claim_adj_t():
    assert THeGCN.supports_adj_t is False
    assert TGNModel.supports_adj_t is False
