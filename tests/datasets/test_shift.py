import builtins
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch_geometric.data import Data
from torch_geometric.utils import homophily, is_undirected

from pyg_ext.datasets import (CSBMStructureShift, GraphShift,
                              arxiv_time_shift, feature_hash_split,
                              preferential_attachment_graph, syn_cora_shift,
                              twitch_shift)
from pyg_ext.datasets.csbm_shift import CSBM_SHIFT_SETTINGS
from pyg_ext.registry import DATASETS


@pytest.mark.parametrize('setting', ['homo2hetero', 'hetero2homo',
                                     'high2low', 'low2high'])
def test_csbm_shift_settings_statistics(setting):
    ds = CSBMStructureShift(setting, num_nodes=3000, num_features=4)
    (ds_, hs), (dt, ht) = CSBM_SHIFT_SETTINGS[setting]
    src, tgt = ds.pair()
    for g, d, h in ((src, ds_, hs), (tgt, dt, ht)):
        assert abs(homophily(g.edge_index, g.y) - h) < 0.04
        # 'adarc' convention: realised mean degree ~ d / 2
        assert abs(g.edge_index.size(1) / g.num_nodes - d / 2) < 0.25
        assert g.train_mask.all() and g.test_mask.all()
    assert not torch.equal(src.x, tgt.x)  # different seeds


def test_csbm_attribute_shift_moves_target_means_only():
    p, n = 50, 4000
    ds = CSBMStructureShift('homo2hetero', attribute_shift=0.02,
                            num_nodes=n, num_features=p, mu=0.03)
    src, tgt = ds[0], ds[1]
    u = torch.full((p, ), p**-0.5)
    tol = 4 / (p * n / 2)**0.5
    assert abs(src.x[src.y == 1].mean(0) @ u - 0.03) < tol
    assert abs(src.x[src.y == 0].mean(0) @ u + 0.03) < tol
    assert abs(tgt.x[tgt.y == 1].mean(0) @ u - 0.05) < tol
    assert abs(tgt.x[tgt.y == 0].mean(0) @ u + 0.01) < tol
    assert ds.name == 'csbm-homo2hetero+attr0.02'


def test_csbm_shift_registered_and_bad_inputs():
    pair = DATASETS.get('csbm_shift').obj(root=None, num_nodes=200,
                                          num_features=8, setting='none')
    assert isinstance(pair, GraphShift) and pair.num_classes == 2
    with pytest.raises(ValueError, match='setting'):
        CSBMStructureShift('sideways')
    with pytest.raises(ValueError, match='source'):
        CSBMStructureShift(source=(5, 0.8, 1), num_nodes=100, num_features=4)
    with pytest.raises(ValueError, match='homophily'):
        CSBMStructureShift(target=(5, 1.5), num_nodes=100, num_features=4)


def test_graph_shift_validation():
    a = Data(x=torch.randn(4, 3), edge_index=torch.zeros(2, 0).long(),
             y=torch.tensor([0, 1, 0, 2]))
    b = Data(x=torch.randn(5, 3), edge_index=torch.zeros(2, 0).long(),
             y=torch.tensor([0, 1, 0, 1, 1]))
    pair = GraphShift(a, b, 'toy')
    assert pair.num_classes == 3 and pair.num_features == 3
    assert pair.source.train_mask.all() and pair.target.test_mask.all()
    src, tgt = pair
    assert src is a and tgt is b
    with pytest.raises(ValueError, match='feature space'):
        GraphShift(a, Data(x=torch.randn(5, 2), edge_index=b.edge_index,
                           y=b.y))
    with pytest.raises(TypeError, match='source'):
        GraphShift('a', b)
    with pytest.raises(ValueError, match="'y'"):
        GraphShift(a, Data(x=b.x, edge_index=b.edge_index))


def test_feature_hash_split_known_answer():
    # hash = x0 + 1.001 x1: orders the rows by their value here.
    x = torch.tensor([[5., 0], [1, 0], [3, 0], [0, 0], [4, 0], [2, 0],
                      [7, 0], [6, 0]])
    y = torch.tensor([0, 0, 0, 0, 0, 1, 1, 1])
    train, test = feature_hash_split(x, y, every=2)
    # class 0 sorted by hash: nodes 3,1,2,4,0 -> train 3,2,0; class 1: 5,7,6
    assert train.nonzero().view(-1).tolist() == [0, 2, 3, 5, 6]
    assert torch.equal(test, ~train)


@pytest.mark.parametrize('h', [0.2, 0.5, 0.8])
def test_preferential_attachment_homophily(h):
    y = torch.arange(1490) % 5
    ei = preferential_attachment_graph(y, h, edges_per_node=2, seed=0)
    assert is_undirected(ei)
    assert abs(homophily(ei, y) - h) < 0.03
    assert abs(ei.size(1) / 1490 - 4) < 0.05  # ~2 undirected edges per node
    assert not (ei[0] == ei[1]).any()
    assert torch.equal(ei, preferential_attachment_graph(y, h, 2, seed=0))
    deg = torch.bincount(ei[0], minlength=1490)
    assert deg.max() > 4 * deg.float().mean()  # preferential: hubs


def test_syn_cora_shift_on_real_cora(data_root):
    pair = syn_cora_shift(data_root)
    src, tgt = pair
    from pyg_ext.datasets.planetoid import load_planetoid
    cora = load_planetoid(data_root, 'cora')
    assert src.num_nodes == tgt.num_nodes == 1490
    assert torch.bincount(src.y).tolist() == [298] * 5
    assert torch.equal(src.x, tgt.x) and torch.equal(src.y, tgt.y)
    assert torch.equal(src.x, cora.x[src.cora_index])
    # class c of the pair is one of the five largest Cora classes
    assert sorted(torch.unique(cora.y[src.cora_index]).tolist()) == \
        [0, 2, 3, 4, 5]
    assert abs(homophily(src.edge_index, src.y) - 0.8) < 0.03
    assert abs(homophily(tgt.edge_index, tgt.y) - 0.2) < 0.03
    assert not (src.train_mask & tgt.test_mask).any()
    assert int(src.train_mask.sum()) == 5 * 75  # every 4th of 298 per class


def test_twitch_shift_on_real_files(data_root):
    pair = twitch_shift(data_root, 'DE', 'ENGB', target_homophily=0.2)
    natural = twitch_shift(data_root, 'DE', 'ENGB', target_homophily=None)
    assert pair.num_features == 3170 and pair.num_classes == 2
    assert pair.source.num_nodes == 9498 and pair.target.num_nodes == 7126
    assert pair.source.train_mask.all() and pair.target.test_mask.all()
    assert abs(homophily(pair.target.edge_index, pair.target.y) - 0.2) < 1e-3
    assert natural.target.edge_index.size(1) > pair.target.edge_index.size(1)
    # edges as listed (directed), as the official loader
    assert pair.source.edge_index.size(1) == 153138
    with pytest.raises(ValueError, match='differ'):
        twitch_shift(data_root, 'DE', 'de')


def _csv(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(array).to_csv(path, header=False, index=False,
                               compression='gzip')


def write_tiny_arxiv(root, num_nodes=60, num_edges=300, seed=0):
    rng = np.random.default_rng(seed)
    d = Path(root) / 'ogbn_arxiv'
    edge = rng.integers(0, num_nodes, (num_edges, 2))
    feat = rng.normal(size=(num_nodes, 4)).round(4)
    label = rng.integers(0, 3, (num_nodes, 1))
    year = rng.integers(2005, 2021, (num_nodes, 1))
    perm = rng.permutation(num_nodes)
    _csv(d / 'raw' / 'edge.csv.gz', edge)
    _csv(d / 'raw' / 'num-node-list.csv.gz', [[num_nodes]])
    _csv(d / 'raw' / 'num-edge-list.csv.gz', [[num_edges]])
    _csv(d / 'raw' / 'node-feat.csv.gz', feat)
    _csv(d / 'raw' / 'node-label.csv.gz', label)
    _csv(d / 'raw' / 'node_year.csv.gz', year)
    for key, idx in (('train', perm[:30]), ('valid', perm[30:45]),
                     ('test', perm[45:])):
        _csv(d / 'split' / 'time' / f'{key}.csv.gz', idx)
    (d / 'RELEASE_v1.txt').write_text('tiny\n')
    return edge, feat, label.reshape(-1), year.reshape(-1)


def test_arxiv_time_shift_on_tiny_ogb_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(builtins, 'input', lambda *a: pytest.fail('stdin'))
    edge, feat, label, year = write_tiny_arxiv(tmp_path)
    pair = arxiv_time_shift(str(tmp_path), source_year=2011,
                            target_years=(2014, 2020), target_homophily=None)
    src, tgt = pair
    old = np.nonzero(year <= 2011)[0]
    assert src.num_nodes == len(old)
    assert torch.allclose(src.x, torch.tensor(feat[old], dtype=torch.float),
                          atol=1e-4)
    assert src.y.tolist() == label[old].tolist()
    # brute-force induced subgraph with relabelled ids (directed as stored)
    new_id = {int(v): i for i, v in enumerate(old)}
    ref = sorted((new_id[a], new_id[b]) for a, b in edge
                 if a in new_id and b in new_id)
    assert sorted(map(tuple, src.edge_index.t().tolist())) == ref
    assert src.train_mask.all()
    assert tgt.num_nodes == int((year <= 2020).sum())
    assert tgt.test_mask.tolist() == (year[year <= 2020] > 2014).tolist()
    pushed = arxiv_time_shift(str(tmp_path), target_homophily=0.2)
    h0 = homophily(tgt.edge_index, tgt.y)
    h1 = homophily(pushed.target.edge_index, pushed.target.y)
    assert h1 <= max(h0, 0.2) and abs(h1 - 0.2) < 0.05
    with pytest.raises(ValueError, match='source_year'):
        arxiv_time_shift(str(tmp_path), source_year=2020,
                         target_years=(2014, 2020))


def test_shift_loaders_missing_files(tmp_path):
    from pyg_ext.datasets import DatasetNotFoundError
    with pytest.raises(DatasetNotFoundError):
        twitch_shift(str(tmp_path))
    with pytest.raises(DatasetNotFoundError):
        arxiv_time_shift(str(tmp_path))
    with pytest.raises(DatasetNotFoundError):
        syn_cora_shift(str(tmp_path))
