import math

import pytest
import torch
from torch_geometric.utils import degree, homophily, is_undirected

from pyg_ext.datasets.csbm import csbm_graph, load_csbm, random_split_masks


def _mean_degree(data):
    return data.edge_index.size(1) / data.num_nodes


@pytest.mark.parametrize('h', [0.1, 0.2, 0.5, 0.8, 0.9])
@pytest.mark.parametrize('convention', ['adarc', 'expected'])
def test_edge_homophily_hits_target(h, convention):
    data = csbm_graph(2000, 8, degree=10, homophily=h,
                      degree_convention=convention, seed=3)
    assert abs(homophily(data.edge_index, data.y, method='edge') - h) <= 0.03


def test_homophily_extremes_are_exact():
    data = csbm_graph(500, 4, degree=10, homophily=1.0, seed=0)
    assert homophily(data.edge_index, data.y, method='edge') == 1.0
    data = csbm_graph(500, 4, degree=10, homophily=0.0, seed=0)
    assert homophily(data.edge_index, data.y, method='edge') == 0.0


@pytest.mark.parametrize('num_classes', [3, 5])
def test_edge_homophily_many_classes(num_classes):
    for h in (0.2, 0.7):
        data = csbm_graph(2000, 16, degree=10, homophily=h,
                          num_classes=num_classes, seed=1)
        assert abs(homophily(data.edge_index, data.y) - h) <= 0.03
        assert abs(_mean_degree(data) - 5.0) < 0.35  # adarc: d / 2


def test_mean_degree_per_convention():
    # Spec test 9: n=5000, d=5, h=0.8, 'adarc' -> mean degree ~ d/2.
    data = csbm_graph(5000, 4, degree=5, homophily=0.8, seed=0)
    assert 2.3 <= _mean_degree(data) <= 2.7
    assert 0.77 <= homophily(data.edge_index, data.y) <= 0.83
    data = csbm_graph(5000, 4, degree=5, homophily=0.2, seed=0)
    assert 0.17 <= homophily(data.edge_index, data.y) <= 0.23
    data = csbm_graph(5000, 4, degree=5, homophily=0.8,
                      degree_convention='expected', seed=0)
    assert 4.7 <= _mean_degree(data) <= 5.3
    # Poisson degrees: fraction of isolated nodes ~ exp(-d'/2) with d' = d/2.
    data = csbm_graph(5000, 4, degree=2, homophily=0.8, seed=0)
    deg = degree(data.edge_index[0], data.num_nodes)
    assert abs((deg == 0).float().mean().item() - math.exp(-1.0)) < 0.03


def test_graph_is_undirected_coalesced_without_self_loops():
    data = csbm_graph(300, 4, degree=20, homophily=0.6, seed=0)
    ei = data.edge_index
    assert is_undirected(ei, num_nodes=300)
    assert not (ei[0] == ei[1]).any()
    key = ei[0] * 300 + ei[1]
    assert torch.equal(key, key.unique())  # sorted, no duplicates


def test_labels_and_class_balance():
    data = csbm_graph(1001, 4, seed=0)
    # Official layout: class +1 (label 1) is the first half.
    assert torch.equal(data.y[:500], torch.ones(500, dtype=torch.long))
    assert torch.equal(data.y[-500:], torch.zeros(500, dtype=torch.long))
    counts = csbm_graph(1000, 8, num_classes=3, seed=0).y.bincount()
    assert counts.tolist() in ([334, 333, 333], [333, 334, 333],
                               [333, 333, 334])


def test_feature_means_two_classes():
    n, p, mu, dmu = 4000, 50, 0.3, 0.1
    data = csbm_graph(n, p, mu=mu, delta_mu=dmu, degree=1, seed=0)
    u = torch.full((p, ), 1 / math.sqrt(p))
    pos = data.x[data.y == 1].mean(0)
    neg = data.x[data.y == 0].mean(0)
    # Projection on u is (+-mu + dmu); the rest is noise of std ~1/sqrt(p*n/2).
    tol = 4 / math.sqrt(p * n / 2)
    assert abs(pos @ u - (mu + dmu)) < tol
    assert abs(neg @ u - (-mu + dmu)) < tol
    assert (pos - (pos @ u) * u).abs().max() < tol
    # Per-coordinate noise variance is 1/p.
    resid = data.x - torch.where(data.y.view(-1, 1) == 1, mu + dmu,
                                 -mu + dmu) * u
    assert abs(resid.var().item() * p - 1.0) < 0.05


def test_feature_means_many_classes_are_orthogonal():
    n, p, mu = 3000, 30, 1.0
    data = csbm_graph(n, p, mu=mu, degree=1, num_classes=3, seed=0)
    means = torch.stack([data.x[data.y == c].mean(0) for c in range(3)])
    assert torch.allclose(means.norm(dim=1), torch.full((3, ), mu), atol=0.1)
    gram = means @ means.t()
    off = gram - torch.diag(torch.diagonal(gram))
    assert off.abs().max() < 0.1


def test_powerlaw_degrees_are_heavy_tailed_and_keep_homophily():
    kw = dict(num_nodes=3000, num_features=4, degree=10, homophily=0.7,
              degree_convention='expected', seed=0)
    pois = csbm_graph(**kw)
    pl = csbm_graph(degree_distribution='powerlaw', power_law_exponent=2.5,
                    **kw)
    d_pois = degree(pois.edge_index[0], 3000)
    d_pl = degree(pl.edge_index[0], 3000)
    assert d_pl.max() > 3 * d_pois.max()
    assert d_pl.std() > 2 * d_pois.std()
    assert 7.5 < d_pl.mean() <= 10.5
    assert abs(homophily(pl.edge_index, pl.y) - 0.7) < 0.04
    assert is_undirected(pl.edge_index)


def test_determinism_per_seed():
    a = csbm_graph(500, 10, seed=7)
    b = csbm_graph(500, 10, seed=7)
    c = csbm_graph(500, 10, seed=8)
    assert torch.equal(a.x, b.x) and torch.equal(a.edge_index, b.edge_index)
    assert not torch.equal(a.x, c.x)
    # A seeded call does not touch the global RNG.
    torch.manual_seed(0)
    r1 = torch.rand(3)
    torch.manual_seed(0)
    csbm_graph(100, 4, seed=1)
    assert torch.equal(torch.rand(3), r1)


@pytest.mark.parametrize('kwargs, match', [
    (dict(homophily=1.2), 'homophily'),
    (dict(homophily=-0.1), 'homophily'),
    (dict(num_nodes=1, num_classes=2), 'num_nodes'),
    (dict(num_nodes=5, num_classes=6), 'num_nodes'),
    (dict(num_classes=1), 'num_classes'),
    (dict(num_features=0), 'num_features'),
    (dict(num_features=2, num_classes=3), 'num_features'),
    (dict(degree=-1.0), 'degree'),
    (dict(num_nodes=10, degree=50.0), 'degree'),
    (dict(degree_convention='paper'), 'degree_convention'),
    (dict(degree_distribution='zipf'), 'degree_distribution'),
    (dict(degree_distribution='powerlaw', power_law_exponent=1.5),
     'power_law_exponent'),
    (dict(mu=float('nan')), 'mu'),
])
def test_bad_inputs(kwargs, match):
    args = dict(num_nodes=100, num_features=4)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        csbm_graph(**args)


def test_bad_input_types():
    with pytest.raises(TypeError, match='num_nodes'):
        csbm_graph(num_nodes=10.5)
    with pytest.raises(TypeError, match='homophily'):
        csbm_graph(100, 4, homophily='high')


def test_split_masks():
    tr, va, te = random_split_masks(100, num_splits=3, train_ratio=0.5,
                                    val_ratio=0.2, seed=0)
    assert tr.shape == (100, 3)
    assert tr.sum(0).tolist() == [50] * 3 and va.sum(0).tolist() == [20] * 3
    assert ((tr.long() + va.long() + te.long()) == 1).all()  # a partition
    assert not torch.equal(tr[:, 0], tr[:, 1])
    with pytest.raises(ValueError, match='train_ratio'):
        random_split_masks(100, train_ratio=0.8, val_ratio=0.3)


def test_registered_dataset_defaults():
    from pyg_ext.registry import DATASETS
    entry = DATASETS.get('csbm')
    data = entry.obj(root=None)
    assert data.num_nodes == 1000 and data.train_mask.shape == (1000, 1)
    assert 0.82 <= homophily(data.edge_index, data.y) <= 0.88
    d2 = load_csbm(num_splits=2, seed=0)
    assert d2.train_mask.shape == (1000, 2)
    assert torch.equal(d2.x, data.x)


@pytest.mark.slow
def test_default_dataset_gcn_beats_mlp():
    import torch.nn.functional as F
    from torch_geometric.nn import GCN, MLP
    data = load_csbm()
    tm, te = data.train_mask[:, 0], data.test_mask[:, 0]
    accs = {}
    for name in ('mlp', 'gcn'):
        torch.manual_seed(0)
        if name == 'gcn':
            model = GCN(data.num_features, 64, 2, 2, dropout=0.5)
        else:
            model = MLP([data.num_features, 64, 2], dropout=0.5)
        opt = torch.optim.Adam(model.parameters(), lr=0.01,
                               weight_decay=5e-4)
        for _ in range(100):
            model.train()
            opt.zero_grad()
            out = model(data.x, data.edge_index) if name == 'gcn' else model(
                data.x)
            F.cross_entropy(out[tm], data.y[tm]).backward()
            opt.step()
        model.eval()
        out = model(data.x, data.edge_index) if name == 'gcn' else model(
            data.x)
        accs[name] = (out.argmax(1)[te] == data.y[te]).float().mean().item()
    assert accs['gcn'] > accs['mlp'] + 0.15
