r"""OGB node-property-prediction graphs (``ogbn-arxiv``, ``ogbn-products``)
through :class:`ogb.nodeproppred.PygNodePropPredDataset`, reading the OGB raw
layout ``<root>/ogbn_arxiv/{raw,split}`` and processing in the cache.

:class:`~ogb.nodeproppred.PygNodePropPredDataset` writes its processed files
next to its raw files and asks on stdin when ``RELEASE_v<k>.txt`` is missing,
so the loaders here build a mirror folder in the cache (symlinks to the raw
and split files plus a ``RELEASE`` file) and let ``ogb`` process there: the
data root is only read, and ``ogb`` never prompts.
"""
import os
import shutil
from dataclasses import dataclass
from typing import Dict, List, Optional

import torch
from torch_geometric.data import Data
from torch_geometric.utils import to_undirected as _to_undirected

from pyg_ext.datasets._cache import (cache_is_stale, cache_lock,
                                     dataset_cache, dataset_doc, link_file,
                                     mark_cache, register_variants,
                                     resolve_root)
from pyg_ext.datasets.paths import PathLike, require_files

__all__ = [
    'OGB_NODE_NAMES',
    'register_ogb_safe_globals',
    'ogbn_dataset',
    'load_ogbn',
    'load_ogbn_arxiv',
    'OGBOptions',
]

OGB_NODE_NAMES = ('ogbn-arxiv', 'ogbn-products')


def register_ogb_safe_globals() -> None:
    r"""Allows ``torch.load(weights_only=True)`` (the default since torch
    2.6, used by ``ogb``'s dataset) to read PyG ``Data`` objects."""
    from torch_geometric.data.data import DataEdgeAttr, DataTensorAttr
    from torch_geometric.data.storage import GlobalStorage
    torch.serialization.add_safe_globals(
        [DataEdgeAttr, DataTensorAttr, GlobalStorage])


def _meta(name: str) -> Dict[str, str]:
    import ogb
    import pandas as pd
    master = pd.read_csv(
        os.path.join(os.path.dirname(ogb.__file__), 'nodeproppred',
                     'master.csv'), index_col=0, keep_default_na=False)
    return {k: str(v) for k, v in master[name].items()}


def _required_files(name: str, meta: Dict[str, str]) -> List[str]:
    r"""Files (relative to the data root) that ``ogb`` reads for
    :obj:`name` (csv format)."""
    d = name.replace('-', '_')
    raw = ['edge', 'num-node-list', 'num-edge-list', 'node-label']
    if meta['has_node_attr'] == 'True':
        raw.append('node-feat')
    if meta['has_edge_attr'] == 'True':
        raw.append('edge-feat')
    for key in ('additional node files', 'additional edge files'):
        if meta[key] != 'None':
            raw += meta[key].split(',')
    out = [f'{d}/raw/{f}.csv.gz' for f in raw]
    out += [f'{d}/split/{meta["split"]}/{s}.csv.gz'
            for s in ('train', 'valid', 'test')]
    return out


@dataset_doc('ogbn-arxiv 169343 1166243 128 40; '
             'ogbn-products 2449029 123718280 100 47',
             note='(#edges as returned by ``ogb``)', pyg_args=False)
def ogbn_dataset(root: Optional[PathLike], name: str,
                 cache_dir: Optional[PathLike] = None,
                 force_reload: bool = False):
    r"""Returns ``ogb``'s own
    :class:`~ogb.nodeproppred.PygNodePropPredDataset` for :obj:`name`, built
    from the raw files in ``<root>/<name with _>/{raw,split}`` (e.g.
    ``<root>/ogbn_arxiv``) and processed in the cache.

    Args:
        root (str, optional): The data root.
        name (str): :obj:`"ogbn-arxiv"` or :obj:`"ogbn-products"`.
        cache_dir (str, optional): Cache root.
        force_reload (bool, optional): Re-process. (default: :obj:`False`)
    """
    if name not in OGB_NODE_NAMES:
        raise ValueError(f"'name' must be one of {list(OGB_NODE_NAMES)}, got "
                         f"{name!r}")
    meta = _meta(name)
    data_root = resolve_root(root)
    dir_name = name.replace('-', '_')
    src = data_root / dir_name
    files = _required_files(name, meta)
    require_files(data_root, files, name, meta['url'])

    cache = dataset_cache(src, name, cache_dir)
    mirror = cache / dir_name
    srcs = [data_root / f for f in files]
    register_ogb_safe_globals()
    from ogb.nodeproppred import PygNodePropPredDataset
    with cache_lock(cache):
        if force_reload or cache_is_stale(cache, srcs):
            if (mirror / 'processed').exists():
                shutil.rmtree(mirror / 'processed')
        # Only the files ogb reads are linked; everything ogb writes
        # (processed/) lands in the cache.
        for f in files:
            link_file(data_root / f, cache / f)
        release = mirror / f'RELEASE_v{meta["version"]}.txt'
        if not release.exists():
            release.write_text(f'{name} raw files mirrored from {src}\n')
        dataset = PygNodePropPredDataset(name=name, root=str(cache))
        mark_cache(cache, srcs)
    return dataset


def load_ogbn(root: Optional[PathLike], name: str,
              to_undirected: bool = False) -> Data:
    r"""Loads an OGB node graph as a :class:`~torch_geometric.data.Data` for
    node classification: ``y`` [N] (long), 1-D ``train_mask`` /
    ``val_mask`` / ``test_mask`` from :meth:`get_idx_split`, ``ogb_name``
    (so the task evaluates with ``ogb``'s own
    :class:`~ogb.nodeproppred.Evaluator`) and, for arxiv, ``node_year`` [N].

    Args:
        root (str, optional): The data root.
        name (str): :obj:`"ogbn-arxiv"` or :obj:`"ogbn-products"`.
        to_undirected (bool, optional): Symmetrise the edges (arxiv
            citations are directed as ``ogb`` stores them; products already
            contains both directions). (default: :obj:`False`)
    """
    if not isinstance(to_undirected, bool):
        raise TypeError(f"'to_undirected' must be a bool, got "
                        f"{to_undirected!r}")
    dataset = ogbn_dataset(root, name)
    data = dataset[0]
    split = dataset.get_idx_split()
    N = data.num_nodes
    data.y = data.y.view(-1).to(torch.long)
    for key, ogb_key in (('train_mask', 'train'), ('val_mask', 'valid'),
                         ('test_mask', 'test')):
        mask = torch.zeros(N, dtype=torch.bool)
        mask[split[ogb_key]] = True
        data[key] = mask
    if 'node_year' in data:
        data.node_year = data.node_year.view(-1)
    if to_undirected:
        data.edge_index = _to_undirected(data.edge_index, num_nodes=N)
    data.ogb_name = name
    return data


def load_ogbn_arxiv(root: Optional[PathLike],
                    to_undirected: bool = False) -> Data:
    r"""``ogbn-arxiv`` as a :class:`~torch_geometric.data.Data` with
    ``node_year`` [N] (publication year) kept, see :func:`load_ogbn`."""
    return load_ogbn(root, 'ogbn-arxiv', to_undirected=to_undirected)


@dataclass
class OGBOptions:
    r"""Options of the OGB loaders.

    Args:
        to_undirected (bool): Symmetrise the edges. (default: :obj:`False`)
    """
    to_undirected: bool = False


register_variants(load_ogbn, {
    n: (n, f'{n} through ogb PygNodePropPredDataset, official split, ogb '
           f'Evaluator (<root>/{n.replace("-", "_")})')
    for n in OGB_NODE_NAMES}, OGBOptions)
