r"""SNAP-style edge lists for influence maximisation: NetHEPT, email-Eu-core,
ego-Facebook, scinet (+ its active-participant sets), any ``u v [p]`` edge
list, and an offline synthetic graph.

Files are read from ``<root>/im/...`` (see the data README); nothing is
written to the data root. Every loader returns a
:class:`~torch_geometric.data.Data` with ``edge_index`` (row 0 influences
row 1), ``num_nodes``, ``name`` and, where the data has them, ``edge_prob``
(a third column) and ``ap_sets`` (a list of LongTensors of active
participants).
"""
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional

import numpy as np
import torch
from torch_geometric.data import Data

from pyg_ext.datasets.paths import get_data_root, require_files
from pyg_ext.registry import register_dataset
from pyg_ext.utils.validation import check_int

__all__ = [
    'read_edge_list', 'read_ap_sets', 'load_nethept', 'load_email_eu',
    'load_ego_facebook', 'load_scinet', 'load_snap_edgelist',
    'load_im_synthetic', 'SnapOptions', 'SnapEdgeListOptions',
    'IMSyntheticOptions'
]

URLS = {
    'nethept': 'https://github.com/snowgy/Influence_Maximization '
    '(test_data/NetHEPT.txt)',
    'email_eu': 'https://snap.stanford.edu/data/email-Eu-core.html',
    'ego_facebook': 'https://snap.stanford.edu/data/ego-Facebook.html '
    '(facebook_combined.txt.gz)',
    'scinet': 'https://github.com/socialalgo/Capacity_Constrained_IM '
    '(exp/data/scinet.txt, scinet.ap)',
}


def read_edge_list(path, header: bool = False, undirected: bool = False,
                   relabel: bool = False, comments: str = '#%',
                   num_nodes: Optional[int] = None) -> Data:
    r"""Reads a whitespace-separated ``u v [p ...]`` edge list.

    Args:
        path (str): The file.
        header (bool): The first data line is a header (``n m ...``);
            its first value is taken as the number of nodes.
        undirected (bool): Add both arc directions.
        relabel (bool): Map the ids to ``0..n-1`` in ascending order
            (otherwise ids are used as given and ``n = max id + 1``).
        comments (str): Characters that start a comment line.
    """
    path = Path(path)
    header_n = None
    rows = []
    with open(path) as f:
        first = True
        for line in f:
            s = line.strip()
            if not s or s[0] in comments:
                continue
            parts = s.split()
            if first and header:
                header_n = int(float(parts[0]))
                first = False
                continue
            first = False
            rows.append(parts)
    if not rows:
        raise ValueError(f"'{path}': no edges found")
    width = min(len(r) for r in rows)
    if width < 2:
        raise ValueError(f"'{path}': every line needs at least 'u v'")
    arr = np.array([r[:3] if width >= 3 else r[:2] for r in rows],
                   dtype=np.float64)
    uv = arr[:, :2]
    if not np.all(uv == np.floor(uv)) or uv.min() < 0:
        raise ValueError(f"'{path}': node ids must be non-negative integers")
    uv = uv.astype(np.int64)
    if relabel:
        ids, inv = np.unique(uv, return_inverse=True)
        uv = inv.reshape(uv.shape)
        n = ids.shape[0]
    else:
        n = int(uv.max()) + 1
        if header_n is not None:
            n = max(n, header_n)
    if num_nodes is not None:
        n = max(n, num_nodes)
    ei = torch.from_numpy(uv.T.copy())
    prob = torch.from_numpy(arr[:, 2].copy()) if width >= 3 else None
    if undirected:
        ei = torch.cat([ei, ei.flip(0)], dim=1)
        if prob is not None:
            prob = torch.cat([prob, prob])
    data = Data(edge_index=ei, num_nodes=n)
    if prob is not None:
        data.edge_prob = prob
    return data


def read_ap_sets(path) -> List[torch.Tensor]:
    r"""Reads one comma-separated active-participant set per line."""
    out = []
    with open(path) as f:
        for line in f:
            s = line.strip()
            if s:
                out.append(torch.tensor([int(x) for x in s.split(',') if
                                         x.strip()], dtype=torch.long))
    return out


@dataclass
class SnapOptions:
    r"""Options of the fixed IM datasets.

    Args:
        undirected (bool, optional): Add both arc directions (default: the
            dataset's own convention — only ego-Facebook is undirected).
    """
    undirected: Optional[bool] = None


def _load(root, name, rel, header, undirected_default, undirected):
    root = get_data_root(root)
    require_files(root, [rel], name, URLS[name])
    und = undirected_default if undirected is None else undirected
    data = read_edge_list(root / rel, header=header, undirected=und)
    data.name = name
    return data


@register_dataset('nethept', options=SnapOptions)
def load_nethept(root: Optional[str] = None,
                 undirected: Optional[bool] = None) -> Data:
    r"""NetHEPT (snowgy version): 15,233 nodes, 32,235 directed arcs (22
    self-loops); ``edge_prob`` holds the file's ≈1/indeg column."""
    return _load(root, 'nethept', 'im/snowgy/NetHEPT.txt', True, False,
                 undirected)


@register_dataset('email_eu', options=SnapOptions)
def load_email_eu(root: Optional[str] = None,
                  undirected: Optional[bool] = None) -> Data:
    r"""SNAP email-Eu-core: 1,005 nodes, 25,571 directed arcs."""
    return _load(root, 'email_eu', 'im/email-eu/email-Eu-core.txt', True,
                 False, undirected)


@register_dataset('ego_facebook', options=SnapOptions)
def load_ego_facebook(root: Optional[str] = None,
                      undirected: Optional[bool] = None) -> Data:
    r"""SNAP ego-Facebook (combined): 4,039 nodes, 88,234 undirected edges
    (176,468 arcs)."""
    return _load(root, 'ego_facebook', 'im/facebook/facebook_combined.txt',
                 False, True, undirected)


@register_dataset('scinet', options=SnapOptions)
def load_scinet(root: Optional[str] = None,
                undirected: Optional[bool] = None) -> Data:
    r"""scinet from the CIM benchmark: 1,461 nodes, 2,742 directed arcs and
    four active-participant sets (``ap_sets``, sizes 7, 14, 28, 70)."""
    data = _load(root, 'scinet', 'im/cim/scinet.txt', False, False,
                 undirected)
    root = get_data_root(root)
    require_files(root, ['im/cim/scinet.ap'], 'scinet', URLS['scinet'])
    data.ap_sets = read_ap_sets(root / 'im/cim/scinet.ap')
    return data


@dataclass
class SnapEdgeListOptions:
    r"""Options of ``snap_edgelist``.

    Args:
        path (str): Absolute path of the edge list (or relative to the data
            root); :obj:`file` is an alias.
        header (bool): First data line is an ``n m`` header.
        undirected (bool): Add both directions.
        relabel (bool): Map ids to ``0..n-1``.
        ap_file (str, optional): A comma-separated AP-set file.
    """
    path: Optional[str] = None
    file: Optional[str] = None
    header: bool = False
    undirected: bool = False
    relabel: bool = False
    ap_file: Optional[str] = None


@register_dataset('snap_edgelist', options=SnapEdgeListOptions)
def load_snap_edgelist(root: Optional[str] = None,
                       path: Optional[str] = None,
                       file: Optional[str] = None, header: bool = False,
                       undirected: bool = False, relabel: bool = False,
                       ap_file: Optional[str] = None) -> Data:
    r"""Any SNAP-style ``u v [p]`` edge list (``#`` comments)."""
    path = path or file
    if not path:
        raise ValueError("snap_edgelist: set 'path' (or 'file') to the edge "
                         "list")
    base = get_data_root(root)
    p = Path(path)
    if not p.is_absolute():
        require_files(base, [path], 'snap_edgelist')
        p = base / p
    elif not p.exists():
        require_files(p.parent, [p.name], 'snap_edgelist')
    data = read_edge_list(p, header=header, undirected=undirected,
                          relabel=relabel)
    data.name = p.stem
    if ap_file:
        a = Path(ap_file)
        a = a if a.is_absolute() else base / a
        require_files(a.parent, [a.name], 'snap_edgelist')
        data.ap_sets = read_ap_sets(a)
    return data


@dataclass
class IMSyntheticOptions:
    r"""Options of ``im_synthetic``.

    Args:
        num_nodes (int): Nodes.
        m (int): Edges per new node of the Barabási–Albert graph (both arc
            directions are added).
        seed (int): Generator seed.
        ap_sizes (list of int): Sizes of random active-participant sets.
    """
    num_nodes: int = 2000
    m: int = 3
    seed: int = 0
    ap_sizes: List[int] = field(default_factory=lambda: [5, 10, 20])


@register_dataset('im_synthetic', options=IMSyntheticOptions)
def load_im_synthetic(root: Optional[str] = None, num_nodes: int = 2000,
                      m: int = 3, seed: int = 0,
                      ap_sizes: Optional[List[int]] = None) -> Data:
    r"""An offline Barabási–Albert graph (both arc directions) with random
    nested active-participant sets, for quick IM/CIM runs."""
    check_int('num_nodes', num_nodes, 2)
    check_int('m', m, 1)
    if m >= num_nodes:
        raise ValueError(f"'m' must be < 'num_nodes' ({num_nodes}), got {m}")
    check_int('seed', seed, 0)
    if ap_sizes is not None:
        if not isinstance(ap_sizes, (list, tuple)):
            raise TypeError(f"'ap_sizes' must be a list of ints, got "
                            f"{type(ap_sizes).__name__}")
        for i, s in enumerate(ap_sizes):
            check_int(f'ap_sizes[{i}]', s, 1, num_nodes)
    rng = np.random.default_rng(seed)
    # preferential attachment by repeated-node sampling
    targets = list(range(m))
    repeated: List[int] = []
    src, dst = [], []
    for v in range(m, num_nodes):
        for t in targets:
            src.append(v)
            dst.append(t)
        repeated.extend(targets)
        repeated.extend([v] * m)
        chosen = set()
        while len(chosen) < m:
            chosen.add(repeated[rng.integers(len(repeated))])
        targets = sorted(chosen)
    ei = torch.tensor([src, dst], dtype=torch.long)
    ei = torch.cat([ei, ei.flip(0)], dim=1)
    sizes = [5, 10, 20] if ap_sizes is None else list(ap_sizes)
    perm = rng.permutation(num_nodes)
    data = Data(edge_index=ei, num_nodes=num_nodes)
    data.ap_sets = [torch.from_numpy(np.sort(perm[:s]).astype(np.int64))
                    for s in sizes if s <= num_nodes]
    data.name = 'im_synthetic'
    return data
