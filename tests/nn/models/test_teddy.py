import copy
import math
import pickle

import pytest
import torch
import torch.nn.functional as F
from torch_geometric.data import Data
from torch_geometric.nn import GCNConv
from torch_geometric.utils import erdos_renyi_graph, to_dense_adj

from pyg_ext.nn.models.teddy import (TeddyGAT, TeddyGCN, TeddyGIN,
                                     sparse_linear)
from pyg_ext.nn.models.teddy_train import (fit_random_prune, fit_teddy,
                                           fit_ugs, graph_sparsity_of)
from pyg_ext.transforms import TEDDY
from pyg_ext.utils import (L0ProjectedOptimizer, l0_keep_count,
                           teddy_distillation_loss, teddy_keep_mask,
                           teddy_schedule)

pytestmark = pytest.mark.filterwarnings(
    'ignore:Sparse CSR tensor support is in beta')


def tiny_data(n=60, seed=0, classes=3):
    torch.manual_seed(seed)
    y = torch.arange(n) % classes
    ei = erdos_renyi_graph(n, 0.12)
    x = torch.randn(n, 12) * 0.5 + F.one_hot(y, 12).float()
    perm = torch.randperm(n)
    masks = [torch.zeros(n, dtype=torch.bool) for _ in range(3)]
    masks[0][perm[:n // 2]] = True
    masks[1][perm[n // 2:3 * n // 4]] = True
    masks[2][perm[3 * n // 4:]] = True
    return Data(x=x, y=y, edge_index=ei, train_mask=masks[0],
                val_mask=masks[1], test_mask=masks[2])


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


def test_fit_teddy_levels_counts_and_same_init():
    data = tiny_data()
    torch.manual_seed(0)
    model = TeddyGCN(12, 16, 3)
    init = copy.deepcopy(model.state_dict())
    levels = [(0.0, 0.0)] + teddy_schedule(2, 0.2, 0.3)
    res = fit_teddy(model, data, levels, epochs=15, distill=False)
    # Level (0, 0) without distillation repeats the teacher's training
    # exactly (same initial weights and seed, same graph).
    assert res['levels'][0]['test_accuracy'] == res['dense']['test_accuracy']
    assert res['levels'][0]['val_accuracy'] == res['dense']['val_accuracy']
    assert res['levels'][0]['best_epoch'] == res['dense']['best_epoch']
    e_und = int((data.edge_index[0] < data.edge_index[1]).sum())
    for r, (pg, pw) in zip(res['levels'][1:], levels[1:]):
        assert r['graph_sparsity'] == pytest.approx(
            math.floor(pg * e_und + 1e-9) / e_und)
        n = sum(p.numel() for p in model.parameters())
        assert round(r['weight_sparsity'] * n) >= n - l0_keep_count(n, pw)
    # The initial weights are untouched for the next caller.
    model.load_state_dict(init)
    with pytest.raises(ValueError, match='levels'):
        fit_teddy(model, data, [(1.0, 0.0)], epochs=1)
    bad = data.clone()
    bad.train_mask = bad.train_mask.view(-1, 1)
    with pytest.raises(ValueError, match='train_mask'):
        fit_teddy(model, bad, levels, epochs=1)


class Interrupted(Exception):
    pass


@pytest.mark.parametrize('fit', [fit_teddy, fit_random_prune, fit_ugs])
def test_resume_after_interrupt_is_identical(fit):
    data = tiny_data(seed=1)
    levels = teddy_schedule(3, 0.1, 0.2)
    torch.manual_seed(0)
    full = fit(TeddyGCN(12, 16, 3), data, levels, epochs=8)

    saved = {}

    def stop_after_two(state):
        saved['state'] = copy.deepcopy(state)
        if len(state['levels']) == 2:
            raise Interrupted

    torch.manual_seed(0)
    with pytest.raises(Interrupted):
        fit(TeddyGCN(12, 16, 3), data, levels, epochs=8,
            on_level=stop_after_two)
    state = saved['state']
    done_seconds = [r['seconds'] for r in state['levels']]
    torch.manual_seed(123)  # a different fresh init must not matter
    res = fit(TeddyGCN(12, 16, 3), data, levels, epochs=8, state=state)
    assert [r['seconds'] for r in res['levels'][:2]] == done_seconds
    for a, b in zip(full['levels'], res['levels']):
        for key in ('val_accuracy', 'test_accuracy', 'graph_sparsity',
                    'weight_sparsity', 'best_epoch'):
            assert a[key] == b[key]


def test_random_and_ugs_sparsities_and_nesting():
    data = tiny_data(seed=2)
    levels = teddy_schedule(3, 0.2, 0.3)
    torch.manual_seed(0)
    res = fit_random_prune(TeddyGCN(12, 16, 3), data, levels, epochs=5)
    n = 12 * 16 + 16 * 3
    e_und = int((data.edge_index[0] < data.edge_index[1]).sum())
    for r, (pg, pw) in zip(res['levels'], levels):
        assert r['weight_sparsity'] == pytest.approx(
            1 - l0_keep_count(n, pw) / n)
        assert r['graph_sparsity'] == pytest.approx(
            math.floor(pg * e_und + 1e-9) / e_und)
    state = {}
    torch.manual_seed(0)
    res = fit_ugs(TeddyGCN(12, 16, 3), data, levels, epochs=5, state=state)
    E = data.num_edges
    for r, (pg, pw) in zip(res['levels'], levels):
        assert r['graph_sparsity'] == pytest.approx(
            math.floor(pg * E + 1e-9) / E)
        assert r['weight_sparsity'] == pytest.approx(
            1 - l0_keep_count(n, pw) / n)
    assert state['edge_keep'].sum() == E - math.floor(levels[-1][0] * E +
                                                      1e-9)
    assert graph_sparsity_of(data.edge_index, state['edge_keep']) == \
        pytest.approx(res['levels'][-1]['graph_sparsity'])


@pytest.mark.slow
def test_teddy_learns_on_planetoid_like_graph():
    # A learning check: the sparse tickets stay close to the dense model.
    from pyg_ext.datasets.csbm import load_csbm
    data = load_csbm(num_nodes=600, num_classes=3, seed=0)
    for key in ('train_mask', 'val_mask', 'test_mask'):
        data[key] = data[key].view(-1)
    torch.manual_seed(0)
    res = fit_teddy(TeddyGCN(data.num_features, 32, 3), data,
                    teddy_schedule(5), epochs=100)
    dense = res['dense']['test_accuracy']
    assert dense > 0.6
    assert min(r['test_accuracy'] for r in res['levels']) > dense - 0.1


def test_ugs_rejects_model_that_ignores_edge_weight():
    class NoWeight(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(12, 3, bias=False)

        def forward(self, x, edge_index, edge_weight=None):
            return self.lin(x)

    with pytest.raises(ValueError, match='edge_weight'):
        fit_ugs(NoWeight(), tiny_data(), [(0.1, 0.1)], epochs=2)


def test_fit_teddy_custom_edge_score_changes_the_cut():
    data = tiny_data(seed=4)
    E = data.num_edges
    torch.manual_seed(0)
    # A score that prefers cutting the edges the TEDDY score would keep.
    from pyg_ext.utils import teddy_edge_score
    inv = -teddy_edge_score(data.edge_index)
    st1, st2 = {}, {}
    fit_teddy(TeddyGCN(12, 8, 3), data, [(0.5, 0.0)], epochs=1, state=st1)
    fit_teddy(TeddyGCN(12, 8, 3), data, [(0.5, 0.0)], epochs=1, state=st2,
              edge_score=inv)
    k1 = teddy_keep_mask(data.edge_index, 0.5, score=st1['score'])
    k2 = teddy_keep_mask(data.edge_index, 0.5, score=st2['score'])
    assert torch.equal(st2['score'], inv) and E > 0
    assert int((k1 & k2).sum()) < int(k1.sum())
