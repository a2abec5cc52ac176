r"""The layout of the graph the loop gives the model: ``dataset.adjacency``.

* ``edge_index``: ``model(x, edge_index)``, message passing over the edge
  list (one ``E x hidden`` message tensor per layer).
* ``csr``: ``model(x, adj_t)`` with ``adj_t`` the transposed adjacency as a
  ``torch.sparse_csr`` tensor (PyG's ``Adj`` convention, as
  ``T.ToSparseTensor(layout=torch.sparse_csr)`` builds it); the layers
  aggregate by sparse-dense matrix products, which on a CPU are several
  times faster and need no message tensor. The model must declare
  ``supports_adj_t = True`` (its class, or the class a registered builder
  names as ``model_class``), the task and the method too (the
  ``node_classification`` task and the ``supervised`` method do); otherwise
  ``csr`` is a :class:`~pyg_ext.train.config.ConfigError` naming what
  cannot take it. A graph with duplicate edges or with edge features
  (``edge_attr``, ``edge_weight``) keeps ``edge_index``: a CSR would merge
  the duplicates and drop the features.
* ``auto`` (default): ``csr`` where all of the above holds for a
  full-batch run, else ``edge_index``. Mini-batch runs
  (``train.batch_size``) keep ``edge_index`` with ``auto``; with ``csr``
  the sampler still draws from ``edge_index`` and only the full-graph
  evaluation uses the CSR.

The CSR is built once, when the data is loaded, and cached in the dataset
cache (``$PYG_EXT_CACHE/adjacency``), keyed by the dataset, its options and
a digest of its ``edge_index``, so a second run reads it back instead of
sorting the edges again. ``data.edge_index`` stays (sampling, checks and
methods that need the edge list read it); ``data.adj_t`` is added.
"""
import copy
import dataclasses
import hashlib
import json
import os
from pathlib import Path
from typing import Any, List, Optional, Tuple

import torch
from torch import Tensor

from pyg_ext.datasets.paths import get_cache_dir
from pyg_ext.registry import MODELS
from pyg_ext.train.config import ConfigError, ExperimentConfig
from pyg_ext.utils.adjacency import csr_adjacency, csr_tensor

__all__ = ['supports_adj_t', 'csr_blockers', 'cached_adj_t',
           'attach_adjacency']

VERSION = 1  # of the cached file's layout


def supports_adj_t(obj: Any) -> bool:
    r"""Whether a model, a model class or a registered model builder
    (through its ``model_class``) declares ``supports_adj_t = True``."""
    if getattr(obj, 'supports_adj_t', False) is True:
        return True
    cls = getattr(obj, 'model_class', None)
    return cls is not None and getattr(cls, 'supports_adj_t', False) is True


def csr_blockers(cfg: ExperimentConfig, task: Any, method: Any,
                 data: Any) -> List[str]:
    r"""Why this run cannot take a CSR ``adj_t`` (empty: it can)."""
    out = []
    if not getattr(task, 'supports_adj_t', False):
        out.append(f"task '{cfg.task.name}' feeds the model an edge list")
    if not getattr(method, 'supports_adj_t', False):
        out.append(f"method '{cfg.method.name}' trains through edge_index")
    names = [cfg.model.name]
    for key in ('backbone', 'weak'):  # the experts of a mixture (Mowst)
        name = getattr(cfg.method.options, key, None)
        if isinstance(name, str) and name not in names:
            names.append(name)
    for name in names:
        if name in MODELS and not supports_adj_t(MODELS.get(name).obj):
            out.append(f"model '{name}' does not take a sparse adj_t "
                       f"(no supports_adj_t)")
    if not out:
        for key in ('edge_attr', 'edge_weight'):
            if getattr(data, key, None) is not None:
                out.append(f"the graph has '{key}', which a CSR adjacency "
                           f"would drop")
    return out


def _digest(edge_index: Tensor, num_nodes: int) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(f'{num_nodes}:{tuple(edge_index.shape)}'.encode())
    h.update(edge_index.detach().cpu().contiguous().numpy().data)
    return h.hexdigest()


def cached_adj_t(edge_index: Tensor, num_nodes: int, key: Any,
                 cache: Optional[os.PathLike] = None,
                 ) -> Tuple[Tensor, bool, bool]:
    r"""The CSR ``adj_t`` of :obj:`edge_index` (see
    :func:`pyg_ext.utils.adjacency.csr_adjacency`), read from the cache
    file for (:obj:`key`, the edges' digest) when it exists, else built and
    written there (atomically).

    Returns ``(adj_t, has_duplicates, cache_hit)``."""
    ident = json.dumps([VERSION, key, _digest(edge_index, num_nodes)],
                       sort_keys=True, default=str)
    name = hashlib.sha1(ident.encode()).hexdigest()[:20]
    folder = Path(get_cache_dir(cache)) / 'adjacency'
    path = folder / f'{name}.pt'
    if path.exists():
        try:
            saved = torch.load(path, weights_only=True)
            if saved.get('ident') == ident:
                col = saved['col']
                adj = csr_tensor(saved['crow'], col, torch.ones(col.numel()),
                                 num_nodes)
                return adj, bool(saved['duplicates']), True
        except Exception:  # noqa: BLE001 (any unreadable file: rebuilt)
            pass
    adj, dup = csr_adjacency(edge_index.cpu(), num_nodes)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f'.{name}.{os.getpid()}.tmp'
    torch.save({'ident': ident, 'crow': adj.crow_indices(),
                'col': adj.col_indices(), 'duplicates': dup}, tmp)
    os.replace(tmp, path)
    return adj, dup, False


def attach_adjacency(cfg: ExperimentConfig, task: Any, method: Any,
                     data: Any) -> Tuple[Any, str]:
    r"""Resolves ``dataset.adjacency`` for this run and returns ``(data,
    layout)``: with ``'csr'``, a shallow copy of :obj:`data` that also
    holds ``adj_t``. ``csr`` where the run cannot take it raises a
    :class:`~pyg_ext.train.config.ConfigError` naming the reason."""
    choice = cfg.dataset.adjacency or 'auto'
    if choice == 'edge_index':
        return data, 'edge_index'
    if choice == 'auto' and cfg.train.batch_size is not None:
        return data, 'edge_index'  # the sampler's edge list, as it is
    blockers = csr_blockers(cfg, task, method, data)
    if blockers:
        if choice == 'csr':
            raise ConfigError(f"dataset.adjacency: csr is not possible: "
                              f"{'; '.join(blockers)}")
        return data, 'edge_index'
    opts = cfg.dataset.options
    key = [cfg.dataset.name, dataclasses.asdict(opts)
           if dataclasses.is_dataclass(opts) else opts]
    n = data.num_nodes
    adj, dup, _ = cached_adj_t(data.edge_index, n, key)
    if dup:
        if choice == 'csr':
            raise ConfigError(f"dataset.adjacency: csr is not possible: "
                              f"dataset '{cfg.dataset.name}' has duplicate "
                              f"edges, which a CSR adjacency would merge")
        return data, 'edge_index'
    out = copy.copy(data)
    out.adj_t = adj
    return out, 'csr'
