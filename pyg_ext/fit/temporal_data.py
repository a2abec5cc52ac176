r"""The data of a temporal task (:class:`TemporalTaskData`: an event stream
with its queries, split and evaluation negatives), the two split rules of
the temporal tasks, and device placement.

A temporal task's data lives on the training device, except what the
temporal neighbour sampler reads (:class:`~pyg_ext.sampler.
TemporalNeighborSampler` runs on the CPU by design): a moved
:class:`TemporalTaskData` keeps its CPU original in :attr:`host`, the
sampler samples there, and its subgraphs go to the device with
:func:`move_subgraph` (pinned memory, ``non_blocking=True``).
"""
import copy
import math
from dataclasses import dataclass, field, fields, replace
from typing import Any, Dict, Optional

import torch
from torch import Tensor

from pyg_ext.datasets.temporal import TemporalGraph
from pyg_ext.utils.temporal_heterophily import LabelEvents

__all__ = ['SPLITS', 'TemporalTaskData', 'chronological_split',
           'random_node_split', 'graph_to', 'move_subgraph', 'same_device']

SPLITS = ('train', 'val', 'test')


def chronological_split(t: Tensor, val_ratio: float = 0.15,
                        test_ratio: float = 0.15) -> Dict[str, Tensor]:
    r"""Indices of a chronological split at time quantiles, as PyG's
    :meth:`TemporalData.train_val_test_split`: train is
    :math:`t \le q_{1 - v - s}`, val :math:`q_{1 - v - s} < t \le q_{1 - s}`,
    test the rest (ties at a boundary go to the earlier split).

    Example:
        >>> s = chronological_split(torch.tensor([0, 1, 1, 1, 2]), 0.2, 0.2)
        >>> s['train'].tolist(), s['test'].tolist()
        ([0, 1, 2, 3], [4])
    """
    if not (0 <= val_ratio < 1 and 0 <= test_ratio < 1
            and val_ratio + test_ratio < 1):
        raise ValueError(f"'val_ratio' and 'test_ratio' must be in [0, 1) "
                         f"with a sum < 1, got {val_ratio}, {test_ratio}")
    q = torch.quantile(t.double(), torch.tensor(
        [1.0 - val_ratio - test_ratio, 1.0 - test_ratio],
        dtype=torch.float64, device=t.device))
    td = t.double()
    return {
        'train': (td <= q[0]).nonzero().view(-1),
        'val': ((td > q[0]) & (td <= q[1])).nonzero().view(-1),
        'test': (td > q[1]).nonzero().view(-1),
    }


def random_node_split(nodes: Tensor, train_ratio: float = 0.6,
                      val_ratio: float = 0.2,
                      seed: int = 0) -> Dict[str, Tensor]:
    r"""Splits the distinct values of :obj:`nodes` at random into
    train/val/test node sets and returns, per split, the positions of
    :obj:`nodes` whose node falls into it (all queries of a node land in one
    split). The permutation is drawn on the CPU from :obj:`seed`, so a split
    is the same on every device.

    Example:
        >>> s = random_node_split(torch.tensor([3, 3, 1, 2]), 0.5, 0.5)
        >>> sorted(torch.cat(list(s.values())).tolist())
        [0, 1, 2, 3]
    """
    if not (0 < train_ratio < 1 and 0 <= val_ratio < 1
            and train_ratio + val_ratio <= 1):
        raise ValueError(f"'train_ratio'/'val_ratio' must be fractions with a"
                         f" sum <= 1, got {train_ratio}, {val_ratio}")
    device = nodes.device
    nodes = nodes.cpu()
    uniq = torch.unique(nodes)
    g = torch.Generator().manual_seed(seed)
    perm = uniq[torch.randperm(uniq.numel(), generator=g)]
    n_tr = int(round(train_ratio * uniq.numel()))
    n_va = int(round(val_ratio * uniq.numel()))
    part = torch.full((int(uniq.max()) + 1, ), -1, dtype=torch.long)
    part[perm[:n_tr]] = 0
    part[perm[n_tr:n_tr + n_va]] = 1
    part[perm[n_tr + n_va:]] = 2
    p = part[nodes]
    return {s: (p == i).nonzero().view(-1).to(device)
            for i, s in enumerate(SPLITS)}


def same_device(a: torch.device, b: torch.device) -> bool:
    r"""Whether :obj:`a` and :obj:`b` are the same device (``'cuda'`` is
    the current CUDA device)."""
    if a.type != b.type:
        return False
    if a.type != 'cuda':
        return True
    cur = torch.cuda.current_device
    return (a.index if a.index is not None else cur()) == \
        (b.index if b.index is not None else cur())


def graph_to(graph: TemporalGraph, device, non_blocking: bool = False
             ) -> TemporalGraph:
    r"""A shallow copy of :obj:`graph` with every tensor on :obj:`device`
    (validated once when the graph was made, not again). An event stream
    without edge attributes gets an explicit ``[E, 0]`` ``msg`` on
    :obj:`device`."""
    device = torch.device(device)

    def mv(t):
        return None if t is None else t.to(device, non_blocking=non_blocking)

    out = copy.copy(graph)
    events = copy.copy(graph.events)  # PyG's Data.to works in place
    if getattr(events, 'msg', None) is None:
        events.msg = graph.x.new_zeros(events.src.numel(), 0)
    out.events = events.to(device, non_blocking=non_blocking)
    out.x, out.y = mv(graph.x), mv(graph.y)
    if graph.label_events is not None:
        out.label_events = LabelEvents(*(mv(t) for t in graph.label_events))
    return out


def move_subgraph(sub: Any, device) -> Any:
    r"""Moves a sampled subgraph (:class:`~pyg_ext.sampler.TemporalSubgraph`)
    from the sampler (CPU) to :obj:`device`, through pinned memory with
    ``non_blocking=True`` on CUDA. Uses the subgraph's own ``pin_memory()``
    / ``to()`` when it has them."""
    device = torch.device(device)
    if same_device(sub.n_id.device, device):
        return sub
    pin = device.type == 'cuda'
    if callable(getattr(sub, 'to', None)):
        if pin and callable(getattr(sub, 'pin_memory', None)):
            sub = sub.pin_memory()
        return sub.to(device, non_blocking=True)
    moved = {}
    for f in fields(sub):
        v = getattr(sub, f.name)
        if isinstance(v, Tensor):
            moved[f.name] = (v.pin_memory() if pin else v).to(
                device, non_blocking=True)
    return replace(sub, **moved)


@dataclass
class TemporalTaskData:
    r"""A temporal task's data: the stream, the queries and the split.

    Attributes:
        graph (TemporalGraph): Events plus node data.
        q_node (Tensor): Query node :math:`[Q]`.
        q_time (Tensor): Query time :math:`[Q]` (same dtype as the events).
        split (dict): ``{'train'|'val'|'test': query indices}``.
        q_y (Tensor, optional): Query label :math:`[Q]` (node tasks).
        q_dst (Tensor, optional): Positive destination :math:`[Q]` (links).
        num_classes (int): Number of classes (node tasks).
        static_cutoff (float): Static baselines see the events with
            ``t < static_cutoff``.
        negatives (dict): Fixed evaluation negatives per split (links).
        split_seed (int): The seed of a random node split.
        held_out_events (Tensor, optional): Events that no model sees while
            it trains (DyGLib protocol: training-period events touching a
            held-out new node); :obj:`None`: none.
        cache (dict): Values derived once per data object (the sampler on
            the host copy, the static projection, the replay plan).
        host (TemporalTaskData, optional): The CPU original of data moved
            to another device by :meth:`to` (what the sampler reads).
    """
    graph: TemporalGraph
    q_node: Tensor
    q_time: Tensor
    split: Dict[str, Tensor]
    q_y: Optional[Tensor] = None
    q_dst: Optional[Tensor] = None
    num_classes: int = 0
    static_cutoff: float = math.inf
    negatives: Dict[str, Dict[str, Tensor]] = field(default_factory=dict)
    split_seed: int = 0
    held_out_events: Optional[Tensor] = None
    cache: Dict[str, Any] = field(default_factory=dict, repr=False)
    host: Optional['TemporalTaskData'] = field(default=None, repr=False,
                                               compare=False)

    @property
    def num_queries(self) -> int:
        return self.q_node.numel()

    @property
    def device(self) -> torch.device:
        return self.q_node.device

    @property
    def msg(self) -> Tensor:
        r"""The edge attributes :math:`[E, D]` on the data's device
        (:math:`D = 0` without attributes)."""
        m = getattr(self.graph.events, 'msg', None)
        if m is not None:
            return m
        if 'msg' not in self.cache:
            self.cache['msg'] = self.graph.x.new_zeros(
                self.graph.events.src.numel(), 0)
        return self.cache['msg']

    def on_host(self) -> 'TemporalTaskData':
        r"""The CPU copy of this data (itself when on the CPU)."""
        if self.host is not None:
            return self.host
        if self.device.type == 'cpu':
            return self
        self.host = self._moved(torch.device('cpu'), False)
        return self.host

    def dev(self, t: Tensor) -> Tensor:
        r"""A host-side index tensor on this data's device (asynchronous
        copy)."""
        return t.to(self.device, non_blocking=True)

    def to(self, device, non_blocking: bool = False) -> 'TemporalTaskData':
        r"""This data on :obj:`device`; the CPU original stays reachable as
        :attr:`host` (with its caches, e.g. the sampler)."""
        device = torch.device(device)
        if same_device(self.device, device):
            return self
        host = self.on_host()
        if device.type == 'cpu':
            return host
        out = host._moved(device, non_blocking)
        out.host = host
        return out

    def _moved(self, device: torch.device,
               non_blocking: bool) -> 'TemporalTaskData':
        def mv(t):
            return None if t is None else t.to(device,
                                                non_blocking=non_blocking)

        out = copy.copy(self)
        out.graph = graph_to(self.graph, device, non_blocking)
        out.q_node, out.q_time = mv(self.q_node), mv(self.q_time)
        out.q_y, out.q_dst = mv(self.q_y), mv(self.q_dst)
        out.held_out_events = mv(self.held_out_events)
        out.split = {k: mv(v) for k, v in self.split.items()}
        out.negatives = {s: {k: mv(v) for k, v in d.items()}
                         for s, d in self.negatives.items()}
        out.cache, out.host = {}, None
        return out

    def __repr__(self) -> str:
        sizes = {k: int(v.numel()) for k, v in self.split.items()}
        return (f'TemporalTaskData({self.graph!r}, queries={self.num_queries}'
                f', split={sizes})')
