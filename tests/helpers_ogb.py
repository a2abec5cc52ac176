r"""Tiny graphs in OGB's raw file layout (see the data root's
ogb_format.md), written by the real OGB code paths' expectations."""
from pathlib import Path

import numpy as np
import pandas as pd


def _csv(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(array).to_csv(path, header=False, index=False,
                               compression='gzip')


def write_tiny_ogb(root, name='ogbn-arxiv', seed=0, num_nodes=30,
                   num_edges=70, simple=False):
    r"""A tiny graph in the OGB raw layout of :obj:`name` (see
    ogb_format.md); returns the arrays written. :obj:`simple`: each
    undirected pair at most once and no self-loop (as OGB's undirected
    files), else random pairs (repeats possible)."""
    rng = np.random.default_rng(seed)
    d = Path(root) / name.replace('-', '_')
    split = 'time' if name == 'ogbn-arxiv' else 'sales_ranking'
    edge = rng.integers(0, num_nodes, (num_edges, 2))
    if simple:
        pairs = np.sort(rng.integers(0, num_nodes, (8 * num_edges, 2)), 1)
        pairs = pairs[pairs[:, 0] < pairs[:, 1]]
        _, first = np.unique(pairs, axis=0, return_index=True)
        edge = pairs[np.sort(first)][:num_edges]
        assert len(edge) == num_edges
    feat = rng.normal(size=(num_nodes, 6)).round(4)
    label = rng.integers(0, 40, (num_nodes, 1))
    year = rng.integers(1990, 2021, (num_nodes, 1))
    perm = rng.permutation(num_nodes)
    tr, va, te = perm[:15], perm[15:22], perm[22:]
    _csv(d / 'raw' / 'edge.csv.gz', edge)
    _csv(d / 'raw' / 'num-node-list.csv.gz', [[num_nodes]])
    _csv(d / 'raw' / 'num-edge-list.csv.gz', [[num_edges]])
    _csv(d / 'raw' / 'node-feat.csv.gz', feat)
    _csv(d / 'raw' / 'node-label.csv.gz', label)
    if name == 'ogbn-arxiv':
        _csv(d / 'raw' / 'node_year.csv.gz', year)
    for key, idx in (('train', tr), ('valid', va), ('test', te)):
        _csv(d / 'split' / split / f'{key}.csv.gz', idx)
    return dict(edge=edge, feat=feat, label=label, year=year, train=tr,
                valid=va, test=te)
