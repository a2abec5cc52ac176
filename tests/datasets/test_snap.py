import numpy as np
import pytest
import torch

from pyg_ext.datasets import DatasetNotFoundError
from pyg_ext.datasets.snap import (load_ego_facebook, load_email_eu,
                                   load_im_synthetic, load_nethept,
                                   load_scinet, load_snap_edgelist,
                                   read_ap_sets, read_edge_list)
from pyg_ext.registry import DATASETS


def test_registered():
    for name in ('nethept', 'email_eu', 'ego_facebook', 'scinet',
                 'snap_edgelist', 'im_synthetic'):
        assert name in DATASETS


def test_read_edge_list_formats(tmp_path):
    f = tmp_path / 'g.txt'
    f.write_text('# comment\n5 3\n0 1 0.5\n1 2 0.25\n\n2 0 1.0\n')
    d = read_edge_list(f, header=True)
    assert d.num_nodes == 5  # header n wins over max id + 1
    assert d.edge_index.tolist() == [[0, 1, 2], [1, 2, 0]]
    assert d.edge_prob.tolist() == [0.5, 0.25, 1.0]
    u = read_edge_list(f, header=True, undirected=True)
    assert u.edge_index.shape == (2, 6)
    assert u.edge_index[:, 3:].tolist() == [[1, 2, 0], [0, 1, 2]]
    g = tmp_path / 'h.txt'
    g.write_text('10 30\n30 20\n')
    r = read_edge_list(g, relabel=True)
    assert r.num_nodes == 3 and r.edge_index.tolist() == [[0, 2], [2, 1]]
    bad = tmp_path / 'bad.txt'
    bad.write_text('0 -1\n')
    with pytest.raises(ValueError, match='non-negative integers'):
        read_edge_list(bad)
    (tmp_path / 'empty.txt').write_text('# nothing\n')
    with pytest.raises(ValueError, match='no edges'):
        read_edge_list(tmp_path / 'empty.txt')


def test_snap_edgelist_loader(tmp_path):
    (tmp_path / 'x.txt').write_text('0 1\n1 2\n')
    (tmp_path / 'x.ap').write_text('0,2\n0,1,2\n')
    d = load_snap_edgelist(root=str(tmp_path), path='x.txt', ap_file='x.ap')
    assert d.num_nodes == 3 and d.edge_index.shape == (2, 2)
    assert [a.tolist() for a in d.ap_sets] == [[0, 2], [0, 1, 2]]
    d2 = load_snap_edgelist(file=str(tmp_path / 'x.txt'))
    assert torch.equal(d2.edge_index, d.edge_index)
    with pytest.raises(DatasetNotFoundError, match='missing.txt'):
        load_snap_edgelist(root=str(tmp_path), path='missing.txt')
    with pytest.raises(ValueError, match="'path'"):
        load_snap_edgelist(root=str(tmp_path))


def test_missing_files_name_the_url(tmp_path):
    with pytest.raises(DatasetNotFoundError, match='snowgy'):
        load_nethept(root=str(tmp_path))
    with pytest.raises(DatasetNotFoundError, match='scinet'):
        load_scinet(root=str(tmp_path))


def test_real_files(untouched):
    root = untouched
    d = load_nethept(root)
    assert d.num_nodes == 15233 and d.edge_index.shape[1] == 32235
    assert int((d.edge_index[0] == d.edge_index[1]).sum()) == 22
    # the file's third column is ~1/indeg (in-degree counted in the file)
    indeg = torch.bincount(d.edge_index[1], minlength=d.num_nodes)
    assert torch.allclose(d.edge_prob, 1.0 / indeg[d.edge_index[1]].double(),
                          atol=1e-5)
    e = load_email_eu(root)
    assert e.num_nodes == 1005 and e.edge_index.shape[1] == 25571
    f = load_ego_facebook(root)
    assert f.num_nodes == 4039 and f.edge_index.shape[1] == 2 * 88234
    s = load_scinet(root)
    assert s.num_nodes == 1461 and s.edge_index.shape[1] == 2742
    assert [len(a) for a in s.ap_sets] == [7, 14, 28, 70]
    assert s.ap_sets[0].tolist() == [588, 30, 952, 644, 612, 593, 364]
    # AP sets are nested (growing sizes)
    for a, b in zip(s.ap_sets, s.ap_sets[1:]):
        assert set(a.tolist()) <= set(b.tolist())


def test_im_synthetic():
    d = load_im_synthetic(num_nodes=200, m=2, seed=0)
    ei = d.edge_index
    assert d.num_nodes == 200
    m = ei.shape[1] // 2
    assert m == 2 * (200 - 2)  # m edges per node after the first m
    assert torch.equal(ei[:, m:], ei[:, :m].flip(0))  # both directions
    assert (ei[0] != ei[1]).all()
    assert [len(a) for a in d.ap_sets] == [5, 10, 20]
    d2 = load_im_synthetic(num_nodes=200, m=2, seed=0)
    assert torch.equal(d.edge_index, d2.edge_index)
    with pytest.raises(ValueError, match='num_nodes'):
        load_im_synthetic(num_nodes=3, m=5)
