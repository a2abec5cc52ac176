import builtins
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from pyg_ext.datasets import DatasetNotFoundError
from pyg_ext.datasets.ogb import load_ogbn, load_ogbn_arxiv, ogbn_dataset
from pyg_ext.registry import DATASETS

from helpers_ogb import _csv, write_tiny_ogb  # noqa: F401


@pytest.fixture
def no_stdin(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError('ogb asked on stdin')

    monkeypatch.setattr(builtins, 'input', fail)


def test_ogbn_arxiv_tiny_real_loader(tmp_path, no_stdin, take_snapshot):
    root = tmp_path / 'root'
    ref = write_tiny_ogb(root, 'ogbn-arxiv')  # no RELEASE_v1.txt on purpose
    before = take_snapshot(root)
    data = DATASETS.get('ogbn-arxiv').obj(root=str(root))
    assert take_snapshot(root) == before  # nothing written into the data root

    assert data.num_nodes == 30
    assert torch.equal(data.edge_index, torch.from_numpy(ref['edge'].T))
    assert torch.allclose(data.x, torch.from_numpy(ref['feat']).float())
    assert data.y.dtype == torch.long and data.y.dim() == 1
    assert torch.equal(data.y, torch.from_numpy(ref['label'][:, 0]))
    assert torch.equal(data.node_year, torch.from_numpy(ref['year'][:, 0]))
    for key, ogb_key in (('train_mask', 'train'), ('val_mask', 'valid'),
                         ('test_mask', 'test')):
        assert data[key].dtype == torch.bool and data[key].size() == (30, )
        assert sorted(data[key].nonzero().view(-1).tolist()) == \
            sorted(ref[ogb_key].tolist())
    assert data.ogb_name == 'ogbn-arxiv'

    from torch_geometric.data.data import DataEdgeAttr, DataTensorAttr
    from torch_geometric.data.storage import GlobalStorage
    safe = torch.serialization.get_safe_globals()
    assert {DataEdgeAttr, DataTensorAttr, GlobalStorage} <= set(safe)

    und = load_ogbn_arxiv(root, to_undirected=True)
    assert und.is_undirected() and und.num_edges >= 70


def test_ogbn_cache_reused_and_invalidated(tmp_path, no_stdin, cache_root):
    root = tmp_path / 'root'
    write_tiny_ogb(root, 'ogbn-arxiv', seed=1)
    ds = ogbn_dataset(root, 'ogbn-arxiv')
    processed = Path(ds.processed_paths[0])
    assert str(processed).startswith(str(cache_root))
    mtime = processed.stat().st_mtime_ns
    ds = ogbn_dataset(root, 'ogbn-arxiv')  # reuses the cache
    assert Path(ds.processed_paths[0]).stat().st_mtime_ns == mtime

    # Another data root with other files gets its own cache.
    other = tmp_path / 'other'
    ref = write_tiny_ogb(other, 'ogbn-arxiv', seed=2, num_nodes=25)
    data = load_ogbn(other, 'ogbn-arxiv')
    assert data.num_nodes == 25
    assert torch.equal(data.edge_index, torch.from_numpy(ref['edge'].T))
    # Rewriting the raw files of a root re-processes.
    ref = write_tiny_ogb(root, 'ogbn-arxiv', seed=3, num_nodes=27)
    data = load_ogbn(root, 'ogbn-arxiv')
    assert data.num_nodes == 27
    assert torch.equal(data.edge_index, torch.from_numpy(ref['edge'].T))


def test_ogbn_products_tiny_adds_inverse_edges(tmp_path, no_stdin):
    ref = write_tiny_ogb(tmp_path, 'ogbn-products')
    data = DATASETS.get('ogbn-products').obj(root=str(tmp_path))
    # ogb's master.csv says add_inverse_edge=True for products.
    e = torch.from_numpy(ref['edge'].T)
    assert data.num_edges == 2 * 70
    got = set(map(tuple, data.edge_index.t().tolist()))
    assert got == set(map(tuple, torch.cat([e, e.flip(0)], 1).t().tolist()))
    assert 'node_year' not in data
    assert data.ogb_name == 'ogbn-products'
    assert int(data.test_mask.sum()) == len(ref['test'])


def test_ogbn_evaluator_accepts_loaded_data(tmp_path, no_stdin):
    from ogb.nodeproppred import Evaluator
    write_tiny_ogb(tmp_path, 'ogbn-arxiv', seed=4)
    data = load_ogbn(tmp_path, 'ogbn-arxiv')
    pred = data.y.clone()
    pred[data.test_mask.nonzero()[0]] = (pred[data.test_mask.nonzero()[0]] +
                                         1) % 40
    acc = Evaluator(data.ogb_name).eval({
        'y_true': data.y[data.test_mask].view(-1, 1),
        'y_pred': pred[data.test_mask].view(-1, 1)})['acc']
    n_test = int(data.test_mask.sum())
    assert acc == pytest.approx((n_test - 1) / n_test)


def test_ogbn_missing_files(tmp_path, data_root):
    with pytest.raises(DatasetNotFoundError) as exc:
        DATASETS.get('ogbn-arxiv').obj(root=data_root)
    msg = str(exc.value)
    assert os.path.join('ogbn_arxiv', 'raw', 'edge.csv.gz') in msg
    assert os.path.join('ogbn_arxiv', 'raw', 'node_year.csv.gz') in msg
    assert 'http://snap.stanford.edu/ogb/data/nodeproppred/arxiv.zip' in msg
    # A partial directory names only what is missing.
    write_tiny_ogb(tmp_path, 'ogbn-products')
    os.remove(tmp_path / 'ogbn_products' / 'split' / 'sales_ranking' /
              'valid.csv.gz')
    with pytest.raises(DatasetNotFoundError, match='valid.csv.gz') as exc:
        load_ogbn(tmp_path, 'ogbn-products')
    assert 'edge.csv.gz' not in str(exc.value)
    assert 'products.zip' in str(exc.value)


def test_ogbn_bad_input(tmp_path):
    with pytest.raises(ValueError, match="'name'"):
        ogbn_dataset(tmp_path, 'ogbn-mag')
    with pytest.raises(TypeError, match="'to_undirected'"):
        load_ogbn(tmp_path, 'ogbn-arxiv', to_undirected='no')
