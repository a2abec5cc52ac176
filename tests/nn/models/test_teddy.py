import copy
import math
import pickle

import pytest
import torch
import torch.nn.functional as F
from helpers_teddy import tiny_data
from torch_geometric.nn import GCNConv
from torch_geometric.utils import to_dense_adj

from pyg_ext.nn.models.teddy import (TeddyGAT, TeddyGCN, TeddyGIN,
                                     sparse_linear)
from pyg_ext.transforms import TEDDY
from pyg_ext.utils import L0ProjectedOptimizer, teddy_distillation_loss

pytestmark = pytest.mark.filterwarnings(
    'ignore:Sparse CSR tensor support is in beta')


def test_gcn_matches_pyg_gcnconv_and_sparse_features():
    data = tiny_data()
    torch.manual_seed(0)
    model = TeddyGCN(12, 16, 3).eval()
    assert repr(model) == 'TeddyGCN(12, 3, hidden_channels=16, num_layers=2)'
    c1, c2 = GCNConv(12, 16, bias=False), GCNConv(16, 3, bias=False)
    c1.lin.weight.data.copy_(model.lins[0].weight)
    c2.lin.weight.data.copy_(model.lins[1].weight)
    w = torch.rand(data.num_edges)
    for ew in (None, w):
        ref = c2(F.relu(c1(data.x, data.edge_index, ew)), data.edge_index,
                 ew)
        assert torch.allclose(model(data.x, data.edge_index, ew), ref,
                              atol=1e-5)
    # Sparse CSR features: same output and same weight gradients.
    out = model(data.x, data.edge_index)
    out.pow(2).sum().backward()
    g_dense = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    out2 = model(data.x.to_sparse_csr(), data.edge_index)
    out2.pow(2).sum().backward()
    assert torch.allclose(out, out2, atol=1e-5)
    for a, b in zip(g_dense, model.parameters()):
        assert torch.allclose(a, b.grad, atol=1e-5)
    # reset_parameters changes the weights; pickling works.
    before = model.lins[0].weight.detach().clone()
    model.reset_parameters()
    assert not torch.equal(before, model.lins[0].weight)
    pickle.loads(pickle.dumps(model))


def test_sparse_linear_dense_reference():
    torch.manual_seed(0)
    x = (torch.rand(20, 30) < 0.1).float() * torch.randn(20, 30)
    w = torch.randn(5, 30, requires_grad=True)
    out = sparse_linear(x.to_sparse_csr(), w)
    out.sum().backward()
    g = w.grad.clone()
    w.grad = None
    ref = x @ w.t()
    ref.sum().backward()
    assert torch.allclose(out, ref, atol=1e-5)
    assert torch.allclose(g, w.grad, atol=1e-5)


def test_gin_dense_reference():
    data = tiny_data()
    torch.manual_seed(0)
    model = TeddyGIN(12, 16, 3)
    with torch.no_grad():
        model.conv1.eps.fill_(0.3)
        model.conv2.eps.fill_(-0.2)
    n = data.num_nodes
    w = torch.rand(data.num_edges)
    # A[target, source] so that row i sums over i's in-neighbours.
    A = to_dense_adj(data.edge_index.flip(0), edge_attr=w, max_num_nodes=n)[0]
    W1, W2 = model.conv1.lin.weight, model.conv2.lin.weight
    h1 = F.relu((A @ data.x + 1.3 * data.x) @ W1.t())
    h2 = F.relu((A @ h1 + 0.8 * h1) @ W2.t())
    ref = (h1 @ model.skip.weight.t() + h2) / 2
    assert torch.allclose(model(data.x, data.edge_index, w), ref, atol=1e-5)
    assert torch.allclose(model(data.x.to_sparse_csr(), data.edge_index, w),
                          ref, atol=1e-5)
    assert sum(p.numel() for p in model.parameters()) == \
        12 * 16 + 16 * 3 + 16 * 3 + 2  # bias-free, learnable eps x 2
    with pytest.raises(ValueError, match='2 layers'):
        TeddyGIN(12, 16, 3, num_layers=3)


def test_gat_soft_pruning_only_in_training():
    data = tiny_data()
    torch.manual_seed(0)
    model = TeddyGAT(12, 4, 3, heads=2, dropout=0.0)
    assert 'heads=2' in repr(model)
    ei = data.edge_index
    w = torch.rand(ei.size(1))
    model.eval()
    assert torch.allclose(model(data.x, ei, w), model(data.x, ei))
    model.train()
    assert torch.allclose(model(data.x, ei, torch.ones(ei.size(1))),
                          model(data.x, ei), atol=1e-6)
    assert not torch.allclose(model(data.x, ei, w), model(data.x, ei))
    # Attention is a softmax over in-neighbours: a constant feature stays.
    conv = model.convs[-1]
    h = torch.ones(data.num_nodes, conv.in_channels)
    out = conv(h, ei)
    deg = torch.bincount(ei[1], minlength=data.num_nodes)
    expect = conv.lin(h[:1]).expand(data.num_nodes, -1)
    assert torch.allclose(out[deg > 0], expect[deg > 0], atol=1e-5)


# Spec test 15: smoke with the transform, the wrapper and the KL term.
def test_smoke_transform_wrapper_kl():
    data = tiny_data()
    torch.manual_seed(0)
    teacher = TeddyGCN(12, 16, 3)
    student = copy.deepcopy(teacher)
    with torch.no_grad():
        z_t = teacher(data.x, data.edge_index)
    sparse = TEDDY(0.3)(data)
    opt = L0ProjectedOptimizer(torch.optim.Adam(student.parameters(),
                                                lr=0.01), student, 0.5)
    losses = []
    for _ in range(20):
        opt.zero_grad()
        out = student(sparse.x, sparse.edge_index)
        loss = F.cross_entropy(out[data.train_mask], data.y[
            data.train_mask]) + 10 * teddy_distillation_loss(out, z_t)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < losses[0]
    n = sum(p.numel() for p in student.parameters())
    zeros = sum(int((p == 0).sum()) for p in student.parameters())
    assert zeros == math.ceil(0.5 * n)
