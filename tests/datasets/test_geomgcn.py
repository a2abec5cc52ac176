import os
from pathlib import Path

import numpy as np
import pytest
import torch
from torch_geometric.datasets import Actor, WebKB

from pyg_ext.datasets import DatasetNotFoundError
from pyg_ext.datasets.geomgcn import GeomGCNDataset, load_geomgcn
from pyg_ext.registry import DATASETS

# PyG docs (WebKB / Actor STATS): nodes, edges, features, classes.
KNOWN = {
    'texas': (183, 325, 1703, 5),
    'cornell': (183, 298, 1703, 5),
    'wisconsin': (251, 515, 1703, 5),
    'film': (7600, 30019, 932, 5),
}


@pytest.mark.parametrize('name', list(KNOWN))
def test_geomgcn_real_files(untouched, name):
    n, e, f, c = KNOWN[name]
    data = DATASETS.get(f'geomgcn_{name}').obj(root=untouched)
    assert data.num_nodes == n and data.num_edges == e
    assert data.x.size() == (n, f) and int(data.y.max()) + 1 == c
    root = Path(untouched) / 'geomgcn'
    for i in range(10):
        split = np.load(root / 'splits' / f'{name}_split_0.6_0.2_{i}.npz')
        for key in ('train', 'val', 'test'):
            mask = data[f'{key}_mask']
            assert mask.size() == (n, 10)
            assert np.array_equal(mask[:, i].numpy(),
                                  split[f'{key}_mask'].astype(bool))
    # Edges: the unique (src, dst) pairs of out1_graph_edges.txt.
    pairs = np.loadtxt(root / 'new_data' / name / 'out1_graph_edges.txt',
                       skiprows=1, dtype=np.int64)
    ref = np.unique(pairs[:, 0] * n + pairs[:, 1])
    got = (data.edge_index[0] * n + data.edge_index[1]).numpy()
    assert np.array_equal(np.sort(got), ref)


def _pyg_reference(root, name, tmp_path):
    # PyG's own class on symlinked copies of the same raw files.
    files = [root / 'new_data' / name / 'out1_node_feature_label.txt',
             root / 'new_data' / name / 'out1_graph_edges.txt']
    files += [root / 'splits' / f'{name}_split_0.6_0.2_{i}.npz'
              for i in range(10)]
    if name == 'film':
        raw = tmp_path / 'actor' / 'raw'
    else:
        raw = tmp_path / 'webkb' / name / 'raw'
    raw.mkdir(parents=True)
    for f in files:
        os.symlink(os.path.abspath(f), raw / f.name)
    if name == 'film':
        return Actor(str(tmp_path / 'actor'))[0]
    return WebKB(str(tmp_path / 'webkb'), name)[0]


@pytest.mark.parametrize('name', ['texas', 'film'])
def test_geomgcn_equals_pyg(untouched, tmp_path, name):
    ref = _pyg_reference(Path(untouched) / 'geomgcn', name, tmp_path)
    data = load_geomgcn(untouched, name)
    for key in ('x', 'y', 'edge_index', 'train_mask', 'val_mask',
                'test_mask'):
        assert torch.equal(data[key], ref[key]), key


def test_geomgcn_actor_alias_and_bad_name(data_root):
    assert GeomGCNDataset(data_root, 'actor').name == 'film'
    with pytest.raises(ValueError, match="'name' must be one of"):
        GeomGCNDataset(data_root, 'chameleon')


def test_geomgcn_missing_files(tmp_path):
    (tmp_path / 'geomgcn' / 'new_data' / 'texas').mkdir(parents=True)
    with pytest.raises(DatasetNotFoundError) as exc:
        DATASETS.get('geomgcn_texas').obj(root=str(tmp_path))
    msg = str(exc.value)
    assert os.path.join('new_data', 'texas', 'out1_graph_edges.txt') in msg
    assert 'texas_split_0.6_0.2_9.npz' in msg
    assert ('https://raw.githubusercontent.com/graphdml-uiuc-jlu/geom-gcn/'
            'master') in msg
