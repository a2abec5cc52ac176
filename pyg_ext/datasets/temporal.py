r"""Event-stream (continuous-time dynamic graph) data for THeGCN and the
temporal tasks: the JODIE CSV format (through PyG's
:class:`~torch_geometric.datasets.JODIEDataset`, offline), the TGN processed
format (``ml_<name>.csv`` / ``.npy`` / ``_node.npy``, e.g. UCI-Msg) and a
synthetic stream whose edge and temporal heterophily can be dialled.

Node features and labels are kept *outside* the
:class:`~torch_geometric.data.TemporalData` event object:
``TemporalData.index_select`` slices every attribute whose first dimension
equals the number of events, so node-level tensors stored inside it are
silently cut whenever ``num_nodes == num_events``.
"""
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import TemporalData
from torch_geometric.datasets import JODIEDataset

from pyg_ext.datasets._cache import CachedRawMixin, mark_cache, \
    cache_is_stale, dataset_cache, resolve_root
from pyg_ext.datasets.paths import PathLike, require_files
from pyg_ext.registry import register_dataset
from pyg_ext.utils.validation import (check_bool, check_float, check_int,
                                      check_probability)
from pyg_ext.utils.temporal_heterophily import LabelEvents, \
    check_event_stream

__all__ = [
    'TemporalGraph',
    'JODIEOfflineDataset',
    'load_jodie',
    'load_tgn_format',
    'synthetic_event_stream',
    'JODIEOptions',
    'TGNFormatOptions',
    'SyntheticStreamOptions',
]

JODIE_URL = 'http://snap.stanford.edu/jodie/{}.csv'
TGN_FORMAT_URL = ('https://github.com/twitter-research/tgn (processed with '
                  'utils/preprocess_data.py); UCI-Msg: '
                  'https://snap.stanford.edu/data/CollegeMsg.html')


@dataclass
class TemporalGraph:
    r"""An event stream plus node-level data kept outside of it.

    Args:
        events (TemporalData): The events ``src``, ``dst``, ``t`` (sorted),
            ``msg`` (edge attributes :math:`[E, D]`), and optionally a
            per-event label ``y`` :math:`[E]` (JODIE: the state of ``src``
            after the event).
        x (torch.Tensor): Node features :math:`[N, F]`.
        num_nodes (int): Number of nodes :math:`N`.
        y (torch.Tensor, optional): Static node labels :math:`[N]`
            (:obj:`-1`: unlabelled).
        label_events (LabelEvents, optional): A node label timeline.
        name (str): A name.
    """
    events: TemporalData
    x: Tensor
    num_nodes: int
    y: Optional[Tensor] = None
    label_events: Optional[LabelEvents] = None
    name: str = 'temporal'
    info: dict = field(default_factory=dict)

    def __post_init__(self):
        ev = self.events
        check_event_stream(ev.src, ev.dst, ev.t, self.num_nodes)
        if self.x.dim() != 2 or self.x.size(0) != self.num_nodes:
            raise ValueError(f"'x' must have shape [num_nodes={self.num_nodes}"
                             f", F], got {tuple(self.x.shape)}")
        if self.y is not None and self.y.numel() != self.num_nodes:
            raise ValueError(f"'y' must have {self.num_nodes} entries, got "
                             f"{self.y.numel()}")
        msg = getattr(ev, 'msg', None)
        if msg is not None and msg.size(0) != ev.num_events:
            raise ValueError(f"'msg' must have {ev.num_events} rows, got "
                             f"{msg.size(0)}")

    @property
    def num_events(self) -> int:
        return int(self.events.src.numel())

    @property
    def msg(self) -> Tensor:
        msg = getattr(self.events, 'msg', None)
        if msg is None:
            return torch.zeros(self.num_events, 0)
        return msg

    @property
    def event_y(self) -> Optional[Tensor]:
        return getattr(self.events, 'y', None)

    def __repr__(self) -> str:
        return (f'TemporalGraph({self.name}, num_nodes={self.num_nodes}, '
                f'num_events={self.num_events}, x={tuple(self.x.shape)}, '
                f'msg_dim={self.msg.size(1)})')


# JODIE ---------------------------------------------------------------------
class JODIEOfflineDataset(CachedRawMixin, JODIEDataset):
    r"""PyG's :class:`~torch_geometric.datasets.JODIEDataset` (Wikipedia,
    Reddit, MOOC, LastFM: ``user, item, timestamp, state_label, features``)
    reading the raw CSV ``<root>/temporal/jodie/<name>.csv`` from the data
    root and writing the processed file to the cache dir; PyG's own
    ``process()`` runs unchanged (item ids are offset by
    :math:`\max(\text{user}) + 1`, the label is per event).

    **STATS:** (TGN paper Table 4; PyG's docstring table is wrong for Reddit)

    .. list-table::
        :widths: 10 10 10 10
        :header-rows: 1

        * - Name
          - #nodes
          - #events
          - #edge features
        * - Wikipedia
          - 9,227
          - 157,474
          - 172
        * - Reddit
          - 10,984
          - 672,447
          - 172
        * - MOOC
          - 7,144
          - 411,749
          - 4
        * - LastFM
          - 1,980
          - 1,293,103
          - 2

    Args:
        root (str, optional): The data root.
        name (str): :obj:`"wikipedia"`, :obj:`"reddit"`, :obj:`"mooc"` or
            :obj:`"lastfm"`.
        cache_dir (str, optional): Cache root.
        download (bool, optional): Allow PyG to download a missing file into
            the data root. (default: :obj:`False`)
        force_reload (bool, optional): Re-process. (default: :obj:`False`)
    """
    def __init__(self, root: Optional[PathLike] = None,
                 name: str = 'wikipedia',
                 cache_dir: Optional[PathLike] = None, download: bool = False,
                 force_reload: bool = False):
        name = name.lower()
        if name not in JODIEDataset.names:
            raise ValueError(f"'name' must be one of {JODIEDataset.names}, "
                             f"got {name!r}")
        force_reload = self._prepare(root, Path('temporal') / 'jodie',
                                     f'jodie-{name}', [f'{name}.csv'],
                                     f'jodie_{name}', JODIE_URL.format(name),
                                     download, force_reload, cache_dir)
        super().__init__(str(self._processed_dir.parent), name,
                         force_reload=force_reload)
        self._mark_done()


@dataclass
class JODIEOptions:
    r"""Options of the ``jodie`` dataset: ``subset`` is ``'wikipedia'``,
    ``'reddit'``, ``'mooc'`` or ``'lastfm'``."""
    subset: str = 'wikipedia'


def _jodie_to_graph(data: TemporalData, name: str) -> TemporalGraph:
    num_nodes = int(max(int(data.src.max()), int(data.dst.max()))) + 1
    events = TemporalData(src=data.src, dst=data.dst, t=data.t, msg=data.msg,
                          y=data.y)
    # JODIE has no node features: a constant feature (use the model's node-id
    # embedding for identity information).
    return TemporalGraph(events, torch.ones(num_nodes, 1), num_nodes,
                         name=f'jodie_{name}')


@register_dataset('jodie', options=JODIEOptions,
                  description='JODIE event stream (Wikipedia/Reddit/MOOC/'
                  'LastFM CSV under <root>/temporal/jodie) with per-event '
                  'labels')
def load_jodie(root: Optional[str] = None, subset: str = 'wikipedia',
               cache_dir: Optional[str] = None) -> TemporalGraph:
    r"""Loads the JODIE dataset :obj:`subset` as a :class:`TemporalGraph`
    (per-event labels in ``events.y``)."""
    ds = JODIEOfflineDataset(root, subset, cache_dir=cache_dir)
    return _jodie_to_graph(ds[0], subset.lower())


# TGN processed format ------------------------------------------------------
@dataclass
class TGNFormatOptions:
    r"""Options of the ``tgn_format`` dataset: the files
    ``<root>/<folder>/ml_<prefix>.csv``, ``ml_<prefix>.npy`` and
    ``ml_<prefix>_node.npy``."""
    prefix: str = 'UCI-Msg'
    folder: str = 'temporal/uci'


@register_dataset('tgn_format', options=TGNFormatOptions,
                  description='Event stream in the TGN processed format '
                  '(ml_<name>.csv/.npy/_node.npy; default UCI-Msg)')
def load_tgn_format(root: Optional[str] = None, prefix: str = 'UCI-Msg',
                    folder: str = 'temporal/uci',
                    cache_dir: Optional[str] = None) -> TemporalGraph:
    r"""Loads the TGN processed format (columns ``u, i, ts, label, idx``;
    row 0 of both ``.npy`` files is padding; node ids start at 1). Node ids
    are shifted to start at 0; ``msg = edge_feat[idx]``, ``x =
    node_feat[1:]``, the ``label`` column becomes ``events.y``. The
    processed tensors are cached under the cache dir."""
    import pandas as pd
    name = prefix
    root_p = resolve_root(root)
    files = [f'ml_{name}.csv', f'ml_{name}.npy', f'ml_{name}_node.npy']
    require_files(root_p / folder, files, f'tgn_format:{name}',
                  TGN_FORMAT_URL)
    raw = [root_p / folder / f for f in files]
    cache = dataset_cache(root_p / folder, f'tgn-{name}', cache_dir)
    out = cache / 'processed.pt'
    if out.exists() and not cache_is_stale(cache, raw):
        d = torch.load(out, weights_only=False)
    else:
        df = pd.read_csv(raw[0])
        for col in ('u', 'i', 'ts', 'label', 'idx'):
            if col not in df.columns:
                raise ValueError(f"{raw[0]}: expected a column '{col}' (TGN "
                                 f"processed format), got {list(df.columns)}")
        efeat = np.load(raw[1])
        nfeat = np.load(raw[2])
        src = torch.from_numpy(df.u.to_numpy(copy=True)).long() - 1
        dst = torch.from_numpy(df.i.to_numpy(copy=True)).long() - 1
        ts = df.ts.to_numpy(copy=True)
        t = torch.from_numpy(ts).long() if np.all(
            ts == np.round(ts)) else torch.from_numpy(ts).double()
        idx = torch.from_numpy(df.idx.to_numpy(copy=True)).long()
        if int(idx.max()) >= efeat.shape[0]:
            raise ValueError(f"{raw[1]}: has {efeat.shape[0]} rows but the "
                             f"CSV refers to row {int(idx.max())}")
        d = {
            'src': src, 'dst': dst, 't': t,
            'msg': torch.from_numpy(efeat[idx.numpy()]).float(),
            'y': torch.from_numpy(df.label.to_numpy(copy=True)).long(),
            'x': torch.from_numpy(nfeat[1:]).float(),
        }
        order = torch.argsort(d['t'], stable=True)
        for k in ('src', 'dst', 't', 'msg', 'y'):
            d[k] = d[k][order]
        cache.mkdir(parents=True, exist_ok=True)
        torch.save(d, out)
        mark_cache(cache, raw)
    num_nodes = max(d['x'].size(0),
                    int(max(d['src'].max(), d['dst'].max())) + 1)
    x = d['x']
    if x.size(0) < num_nodes:
        x = torch.cat([x, x.new_zeros(num_nodes - x.size(0), x.size(1))])
    events = TemporalData(src=d['src'], dst=d['dst'], t=d['t'], msg=d['msg'],
                          y=d['y'])
    return TemporalGraph(events, x, num_nodes, name=name)


# Synthetic stream ----------------------------------------------------------
def synthetic_event_stream(num_nodes: int = 200, num_events: int = 4000,
                           num_classes: int = 2, num_features: int = 8,
                           feature_signal: float = 1.0,
                           feature_noise: float = 1.0, p_cross: float = 0.8,
                           p_cross_after: Optional[float] = None,
                           switch_time: float = 0.5, time_span: float = 1000.0,
                           edge_dim: int = 0, integer_time: bool = False,
                           seed: int = 0) -> TemporalGraph:
    r"""A synthetic event stream with static node labels whose edge and
    temporal heterophily are dialled by the probability that an event links
    two nodes of *different* classes:

    .. math::
        P(y_{src} \neq y_{dst} \mid t) = \begin{cases} p_{cross} & t <
        \tau \\ p_{cross,after} & t \ge \tau \end{cases}, \quad \tau =
        \text{switch\_time} \cdot T,

    constant when :obj:`p_cross_after` is :obj:`None`. Event times are
    uniform on :math:`[0, T)`, sources uniform over nodes, destinations
    uniform over the nodes of the chosen class (same or a different one,
    uniformly). Node features are :math:`\mathbf{x}_v =
    s \cdot \boldsymbol{\mu}_{y_v} + \sigma \boldsymbol{\varepsilon}` with
    random unit class means. With :obj:`edge_dim > 0` every event gets
    standard-normal edge attributes that carry no label information.

    Args:
        num_nodes (int): Number of nodes. (default: :obj:`200`)
        num_events (int): Number of events. (default: :obj:`4000`)
        num_classes (int): Number of classes. (default: :obj:`2`)
        num_features (int): Feature size. (default: :obj:`8`)
        feature_signal (float): :math:`s`. (default: :obj:`1.0`)
        feature_noise (float): :math:`\sigma`. (default: :obj:`1.0`)
        p_cross (float): Cross-class probability (before the switch).
            (default: :obj:`0.8`)
        p_cross_after (float, optional): Cross-class probability from the
            switch on. (default: :obj:`None`)
        switch_time (float): Switch point as a fraction of the span.
            (default: :obj:`0.5`)
        time_span (float): :math:`T`. (default: :obj:`1000.0`)
        edge_dim (int): Edge attribute size. (default: :obj:`0`)
        integer_time (bool): Round times down to integers (creates ties).
            (default: :obj:`False`)
        seed (int): Random seed. (default: :obj:`0`)
    """
    for name, v, lo in (('num_nodes', num_nodes, 2),
                        ('num_events', num_events, 1),
                        ('num_classes', num_classes, 2),
                        ('num_features', num_features, 1),
                        ('edge_dim', edge_dim, 0), ('seed', seed, 0)):
        check_int(name, v, lo)
    if num_nodes < num_classes:
        raise ValueError(f"'num_nodes' ({num_nodes}) must be >= "
                         f"'num_classes' ({num_classes})")
    p_cross = check_probability('p_cross', p_cross)
    p_cross_after = check_probability('p_cross_after', p_cross_after,
                                      allow_none=True)
    switch_time = check_probability('switch_time', switch_time)
    check_float('time_span', time_span, 0.0, low_open=True)
    check_float('feature_signal', feature_signal)
    check_float('feature_noise', feature_noise, 0.0)
    check_bool('integer_time', integer_time)
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(num_nodes) % num_classes
    y = y[torch.randperm(num_nodes, generator=g)]
    mu = torch.randn(num_classes, num_features, generator=g)
    mu = mu / mu.norm(dim=1, keepdim=True)
    x = feature_signal * mu[y] + feature_noise * torch.randn(
        num_nodes, num_features, generator=g)

    t = (torch.rand(num_events, generator=g, dtype=torch.float64) *
         time_span).sort().values
    if integer_time:
        t = t.floor().long()
    p_after = p_cross if p_cross_after is None else p_cross_after
    p = torch.where(t.double() < switch_time * time_span,
                    torch.tensor(p_cross, dtype=torch.float64),
                    torch.tensor(p_after, dtype=torch.float64))
    src = torch.randint(0, num_nodes, (num_events, ), generator=g)
    cross = torch.rand(num_events, generator=g, dtype=torch.float64) < p
    shift = torch.randint(1, num_classes, (num_events, ), generator=g)
    cls = torch.where(cross, (y[src] + shift) % num_classes, y[src])
    # Uniform member of the chosen class: class members sorted by class.
    members = torch.argsort(y, stable=True)
    counts = torch.bincount(y, minlength=num_classes)
    start = torch.cumsum(counts, 0) - counts
    r = (torch.rand(num_events, generator=g, dtype=torch.float64) *
         counts[cls].double()).long().clamp(max=counts[cls] - 1)
    dst = members[start[cls] + r]
    # avoid self-loops: a same-class self pick moves to the next member
    same = dst == src
    r2 = (r[same] + 1) % counts[cls[same]]
    dst[same] = members[start[cls[same]] + r2]
    msg = torch.randn(num_events, edge_dim, generator=g)
    events = TemporalData(src=src, dst=dst, t=t, msg=msg, y=y[src])
    return TemporalGraph(events, x, num_nodes, y=y, name='synthetic',
                         info={'p_cross': p_cross, 'p_cross_after': p_after,
                               'switch_time': switch_time * time_span})


@dataclass
class SyntheticStreamOptions:
    r"""Options of the ``temporal_synthetic`` dataset (see
    :func:`synthetic_event_stream`)."""
    num_nodes: int = 200
    num_events: int = 4000
    num_classes: int = 2
    num_features: int = 8
    feature_signal: float = 1.0
    feature_noise: float = 1.0
    p_cross: float = 0.8
    p_cross_after: Optional[float] = None
    switch_time: float = 0.5
    time_span: float = 1000.0
    edge_dim: int = 0
    integer_time: bool = False
    seed: int = 0


@register_dataset('temporal_synthetic', options=SyntheticStreamOptions,
                  description='Synthetic event stream with dialled edge and '
                  'temporal heterophily (no data root needed)')
def load_temporal_synthetic(root: Optional[str] = None,
                            **options) -> TemporalGraph:
    r"""Loads :func:`synthetic_event_stream` (ignores :obj:`root`)."""
    return synthetic_event_stream(**options)
