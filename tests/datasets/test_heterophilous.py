import os
from pathlib import Path

import numpy as np
import pytest
import torch

from pyg_ext.datasets import DatasetNotFoundError
from pyg_ext.datasets.heterophilous import (HETEROPHILOUS_NAMES,
                                            HeterophilousNPZDataset,
                                            load_heterophilous)
from pyg_ext.registry import DATASETS

YANDEX_URL = ('https://github.com/yandex-research/heterophilous-graphs/raw/'
              'main/data')


def edge_set(edge_index):
    return set(map(tuple, edge_index.t().tolist()))


@pytest.mark.parametrize('name', HETEROPHILOUS_NAMES)
def test_heterophilous_real_files(untouched, name):
    raw = np.load(Path(untouched) / 'heterophilous' / f'{name}.npz')
    n, f = raw['node_features'].shape
    data = DATASETS.get(name).obj(root=untouched)

    assert data.num_nodes == n and data.x.size(1) == f
    assert torch.equal(data.x, torch.from_numpy(raw['node_features']))
    assert torch.equal(data.y, torch.from_numpy(raw['node_labels']))
    assert int(data.y.max()) + 1 == len(np.unique(raw['node_labels']))
    for key in ('train', 'val', 'test'):
        mask = data[f'{key}_mask']
        assert mask.size() == (n, 10) and mask.dtype == torch.bool
        assert np.array_equal(mask.numpy(), raw[f'{key}_masks'].T)

    # Edge sets compared as sorted unique keys u * n + v (numpy reference).
    e = raw['edges'].astype(np.int64)
    got = np.sort((data.edge_index[0] * n + data.edge_index[1]).numpy())
    if 'directed' in name:  # kept as stored
        assert np.array_equal(got, np.unique(e[:, 0] * n + e[:, 1]))
        assert data.num_edges == len(e)
    else:  # PyG's to_undirected: both directions, no duplicates
        both = np.concatenate([e[:, 0] * n + e[:, 1], e[:, 1] * n + e[:, 0]])
        assert np.array_equal(got, np.unique(both))


def test_heterophilous_known_sizes(untouched):
    # Sizes from the paper / PyG docs: chameleon 2277 nodes x 2325 features,
    # squirrel 5201 x 2089, actor 7600 x 932, the filtered versions 890 and
    # 2223 nodes; WebKB 183/183/251 nodes x 1703 features; 5 classes each.
    known = {'chameleon': (2277, 2325), 'squirrel': (5201, 2089),
             'actor': (7600, 932), 'chameleon_filtered': (890, 2325),
             'squirrel_filtered': (2223, 2089), 'texas': (183, 1703),
             'cornell': (183, 1703), 'wisconsin': (251, 1703)}
    for name, (n, f) in known.items():
        data = load_heterophilous(untouched, name)
        assert data.x.size() == (n, f), name
        assert int(data.y.max()) + 1 == 5


def _write_npz(path, edges, directed_name=False):
    x = np.arange(8, dtype=np.float32).reshape(4, 2)
    y = np.array([0, 1, 1, 0])
    tr = np.zeros((10, 4), dtype=bool)
    tr[:, 0] = True
    va = np.zeros((10, 4), dtype=bool)
    va[:, 1] = True
    te = np.zeros((10, 4), dtype=bool)
    te[:, 2:] = True
    te[3, 2] = False  # split 3 differs
    np.savez(path, node_features=x, node_labels=y, edges=np.array(edges),
             train_masks=tr, val_masks=va, test_masks=te)


def test_heterophilous_npz_generic_file(tmp_path):
    _write_npz(tmp_path / 'toy.npz', [[0, 1], [1, 2], [2, 3], [3, 2]])
    entry = DATASETS.get('heterophilous_npz')
    data = entry.obj(root=str(tmp_path), file='toy.npz')
    assert edge_set(data.edge_index) == {(0, 1), (1, 0), (1, 2), (2, 1),
                                         (2, 3), (3, 2)}
    assert data.train_mask.size() == (4, 10)
    assert data.test_mask[:, 3].tolist() == [False, False, False, True]
    assert data.test_mask[:, 0].tolist() == [False, False, True, True]

    # Same file by name under <root>/heterophilous, kept directed on request.
    (tmp_path / 'heterophilous').mkdir()
    _write_npz(tmp_path / 'heterophilous' / 'toy.npz', [[0, 1], [1, 2]])
    data = entry.obj(root=str(tmp_path), name='toy', to_undirected=False)
    assert edge_set(data.edge_index) == {(0, 1), (1, 2)}
    data = load_heterophilous(tmp_path, name='toy')
    assert edge_set(data.edge_index) == {(0, 1), (1, 0), (1, 2), (2, 1)}


def test_heterophilous_directed_names_kept_directed(tmp_path):
    (tmp_path / 'heterophilous').mkdir()
    _write_npz(tmp_path / 'heterophilous' / 'toy_directed.npz',
               [[0, 1], [1, 2]])
    data = load_heterophilous(tmp_path, name='toy_directed')
    assert edge_set(data.edge_index) == {(0, 1), (1, 2)}
    data = load_heterophilous(tmp_path, name='toy_directed',
                              to_undirected=True)
    assert data.is_undirected()


def test_heterophilous_missing_file_error(untouched):
    with pytest.raises(DatasetNotFoundError) as exc:
        DATASETS.get('heterophilous_npz').obj(root=untouched,
                                               name='roman_empire')
    msg = str(exc.value)
    assert os.path.join('heterophilous', 'roman_empire.npz') in msg
    assert f'{YANDEX_URL}/roman_empire.npz' in msg
    assert os.path.abspath(untouched) in msg


def test_heterophilous_bad_input(tmp_path):
    with pytest.raises(ValueError, match="exactly one of 'name'"):
        HeterophilousNPZDataset(tmp_path)
    with pytest.raises(ValueError, match="exactly one of 'name'"):
        HeterophilousNPZDataset(tmp_path, name='a', file='b.npz')
    with pytest.raises(ValueError, match="'file' must name a .npz"):
        HeterophilousNPZDataset(tmp_path, file='graph.txt')
    with pytest.raises(TypeError, match="'to_undirected'"):
        HeterophilousNPZDataset(tmp_path, name='a', to_undirected='yes')
    np.savez(tmp_path / 'bad.npz', node_features=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="missing keys"):
        HeterophilousNPZDataset(tmp_path, file='bad.npz')


def test_heterophilous_registered_names():
    for name in HETEROPHILOUS_NAMES + ('heterophilous_npz', ):
        assert name in DATASETS


def test_heterophilous_variants_invalidated_separately(tmp_path):
    # Both variants share one cache folder; after the raw file changes, each
    # variant must be rebuilt when it is next read (not only the first one).
    (tmp_path / 'heterophilous').mkdir()
    path = tmp_path / 'heterophilous' / 'toy.npz'
    _write_npz(path, [[0, 1]])
    assert load_heterophilous(tmp_path, 'toy').num_edges == 2
    assert load_heterophilous(tmp_path, 'toy',
                              to_undirected=False).num_edges == 1
    _write_npz(path, [[0, 1], [1, 2], [2, 3]])
    os.utime(path, ns=(1, 1))  # a different mtime even on coarse clocks
    assert load_heterophilous(tmp_path, 'toy',
                              to_undirected=False).num_edges == 3
    assert load_heterophilous(tmp_path, 'toy').num_edges == 6


def test_heterophilous_equals_pyg_process(untouched, tmp_path):
    # PyG's HeterophilousGraphDataset only accepts its five newer names: run
    # its process() on chameleon.npz stored under one of those names.
    from torch_geometric.datasets import HeterophilousGraphDataset
    raw = tmp_path / 'roman_empire' / 'raw'
    raw.mkdir(parents=True)
    os.symlink(os.path.abspath(Path(untouched) / 'heterophilous' /
                               'chameleon.npz'), raw / 'roman_empire.npz')
    ref = HeterophilousGraphDataset(str(tmp_path), 'Roman-empire')[0]
    data = load_heterophilous(untouched, 'chameleon')
    for key in ('x', 'y', 'edge_index', 'train_mask', 'val_mask',
                'test_mask'):
        assert torch.equal(data[key], ref[key]), key
