import os
import shutil
from pathlib import Path

import pytest
import torch

from pyg_ext.datasets import DatasetNotFoundError, cache_dir_for
from pyg_ext.datasets.planetoid import PlanetoidDataset, load_planetoid
from pyg_ext.registry import DATASETS

# Known values (PyG docs / dataset README): nodes, directed edges, features,
# classes, and the public split sizes (20 per class train, 500 val, 1000 test).
KNOWN = {
    'cora': (2708, 10556, 1433, 7, 140),
    'citeseer': (3327, 9104, 3703, 6, 120),
}


@pytest.mark.parametrize('name', ['cora', 'citeseer'])
def test_planetoid_real_files(untouched, name):
    n, e, f, c, n_train = KNOWN[name]
    data = DATASETS.get(name).obj(root=untouched)
    assert data.num_nodes == n
    assert data.edge_index.size(1) == e
    assert data.x.size() == (n, f)
    assert int(data.y.max()) + 1 == c and data.y.size() == (n, )
    assert data.train_mask.size() == (n, ) == data.val_mask.size()
    assert int(data.train_mask.sum()) == n_train
    assert int(data.val_mask.sum()) == 500
    assert int(data.test_mask.sum()) == 1000
    # Public split: 20 training nodes per class.
    assert torch.bincount(data.y[data.train_mask], minlength=c).tolist() == \
        [20] * c
    assert not (data.train_mask & data.test_mask).any()
    assert data.is_undirected()


def test_planetoid_full_split(untouched):
    data = load_planetoid(untouched, 'cora', split='full')
    assert int(data.train_mask.sum()) == 2708 - 500 - 1000


def test_planetoid_processed_in_cache_and_reused(untouched, cache_root):
    ds = PlanetoidDataset(untouched, 'Cora')
    raw = Path(untouched) / 'planetoid' / 'Cora' / 'raw'
    assert Path(ds.raw_dir) == Path(os.path.abspath(raw))
    processed = Path(ds.processed_paths[0])
    assert processed.is_file()
    assert str(processed).startswith(str(cache_root))
    assert processed.parent.parent == cache_dir_for(raw.absolute(),
                                                    'planetoid-cora')
    mtime = processed.stat().st_mtime_ns
    ds2 = PlanetoidDataset(untouched, 'cora')
    assert Path(ds2.processed_paths[0]).stat().st_mtime_ns == mtime
    assert torch.equal(ds2[0].x, ds[0].x)


def test_planetoid_other_root_gets_own_cache(data_root, tmp_path):
    # A second data root (a copy of Cora's raw files) must not reuse the
    # cache of the first; changing a raw file there re-processes.
    src = Path(data_root) / 'planetoid' / 'Cora' / 'raw'
    dst = tmp_path / 'root' / 'planetoid' / 'Cora' / 'raw'
    shutil.copytree(src, dst)
    a = PlanetoidDataset(data_root, 'cora')
    b = PlanetoidDataset(tmp_path / 'root', 'cora')
    assert a.processed_dir != b.processed_dir
    assert torch.equal(a[0].edge_index, b[0].edge_index)
    # Drop the first training node from the 'y' file: a different graph.
    import pickle

    import numpy as np
    with open(dst / 'ind.cora.y', 'rb') as fh:
        y = pickle.load(fh, encoding='latin1')
    x_file = dst / 'ind.cora.x'
    with open(x_file, 'rb') as fh:
        x = pickle.load(fh, encoding='latin1')
    with open(dst / 'ind.cora.y', 'wb') as fh:
        pickle.dump(np.asarray(y)[1:], fh)
    with open(x_file, 'wb') as fh:
        pickle.dump(x[1:], fh)
    mtime = Path(b.processed_paths[0]).stat().st_mtime_ns
    c = PlanetoidDataset(tmp_path / 'root', 'cora')
    assert Path(c.processed_paths[0]).stat().st_mtime_ns != mtime
    assert int(c[0].train_mask.sum()) == 139


def test_pubmed_missing_names_files_and_url(untouched):
    with pytest.raises(DatasetNotFoundError) as exc:
        DATASETS.get('pubmed').obj(root=untouched)
    msg = str(exc.value)
    assert os.path.join('planetoid', 'PubMed', 'raw', 'ind.pubmed.x') in msg
    assert os.path.abspath(untouched) in msg
    assert 'https://github.com/kimiyoung/planetoid/raw/master/data' in msg


def test_planetoid_bad_args(data_root):
    with pytest.raises(ValueError, match="'name'"):
        PlanetoidDataset(data_root, 'photo')
    with pytest.raises(ValueError, match="'split'"):
        PlanetoidDataset(data_root, 'cora', split='random')


def test_planetoid_registered_options():
    from pyg_ext.train.config import ConfigError
    from pyg_ext.train import load_config
    for name in ('cora', 'citeseer', 'pubmed'):
        assert name in DATASETS
    cfg = load_config({'dataset': {'name': 'cora', 'split': 'full'}})
    assert cfg.dataset.options.split == 'full'
    with pytest.raises(ConfigError, match='dataset.split'):
        load_config({'dataset': {'name': 'cora', 'split': 'geom-gcn'}})
