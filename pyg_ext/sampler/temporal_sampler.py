r"""A leak-proof temporal neighbour sampler in plain PyTorch (no pyg-lib)."""
import math
from dataclasses import dataclass, fields, replace
from typing import List, Optional, Sequence, Union

import torch
from torch import Tensor

from pyg_ext.sampler._csr import check_num_neighbors, floyd_sample
from pyg_ext.sampler._csr import segment_arange as _segment_arange
from pyg_ext.utils.temporal_heterophily import check_event_stream

__all__ = ['TemporalSubgraph', 'TemporalNeighborSampler']


@dataclass
class TemporalSubgraph:
    r"""The output of :meth:`TemporalNeighborSampler.sample`: one disjoint
    tree per (seed node, query time), with local node copies.

    Attributes:
        n_id (torch.Tensor): Global node id of every local node
            :math:`[N_{sub}]`; the first :obj:`batch_size` are the seeds.
        batch (torch.Tensor): Seed index of every local node :math:`[N_{sub}]`.
        edge_index (torch.Tensor): Local edges :math:`[2, E_{sub}]`, row =
            the sampled neighbour (source side), col = the node it was
            sampled for (target side, towards the root).
        e_id (torch.Tensor): Event id of every sampled edge :math:`[E_{sub}]`.
        t (torch.Tensor): Event time :math:`[E_{sub}]`.
        dt (torch.Tensor): Relative time ``seed_time - t`` :math:`[E_{sub}]`
            (:math:`> 0` unless :obj:`inclusive`).
        hop (torch.Tensor): Hop (1-based) of every edge :math:`[E_{sub}]`.
        seed_time (torch.Tensor): Query time of every seed :math:`[B]`.
        batch_size (int): Number of seeds :math:`B`.

    The sampler builds it on the CPU; :meth:`to` moves every tensor to the
    model's device, and :meth:`pin_memory` puts it in page-locked memory
    first so that :obj:`to(device, non_blocking=True)` overlaps the copy
    with computation (as PyG's loaders do with :obj:`pin_memory=True`):

    .. code-block:: python

        sub = sampler.sample(seeds, times).pin_memory()
        sub = sub.to('cuda', non_blocking=True)
    """
    n_id: Tensor
    batch: Tensor
    edge_index: Tensor
    e_id: Tensor
    t: Tensor
    dt: Tensor
    hop: Tensor
    seed_time: Tensor
    batch_size: int

    @property
    def num_nodes(self) -> int:
        return self.n_id.numel()

    @property
    def num_edges(self) -> int:
        return self.e_id.numel()

    @property
    def device(self) -> torch.device:
        return self.edge_index.device

    def _apply(self, fn) -> 'TemporalSubgraph':
        return replace(self, **{
            f.name: fn(getattr(self, f.name))
            for f in fields(self) if isinstance(getattr(self, f.name), Tensor)
        })

    def to(self, device: Union[torch.device, str, int],
           non_blocking: bool = False) -> 'TemporalSubgraph':
        r"""Returns a copy with every tensor on :obj:`device` (the same
        object's tensors where they already are there). With
        :obj:`non_blocking=True` the copy is asynchronous when the source is
        pinned (see :meth:`pin_memory`)."""
        return self._apply(
            lambda v: v.to(device, non_blocking=non_blocking))

    def pin_memory(self) -> 'TemporalSubgraph':
        r"""Returns a copy whose CPU tensors are in page-locked (pinned)
        memory, for asynchronous host-to-GPU copies. Pinning needs CUDA: on
        a machine without CUDA this returns :obj:`self` unchanged (pinned
        memory would have no use there); tensors that are not on the CPU
        are left where they are."""
        if not torch.cuda.is_available():
            return self
        return self._apply(lambda v: v.pin_memory()
                           if v.device.type == 'cpu' else v)

    def is_pinned(self) -> bool:
        r"""Whether every tensor is in pinned CPU memory."""
        return all(
            getattr(self, f.name).is_pinned() for f in fields(self)
            if isinstance(getattr(self, f.name), Tensor))


class TemporalNeighborSampler:
    r"""Samples, for every (seed node, query time :math:`t'`), the events
    before :math:`t'` around the seed, hop by hop, as in the sampler of the
    `"THeGCN: Temporal Heterophilic Graph Convolutional Network"
    <https://arxiv.org/abs/2412.16435>`_ paper (a TGL-style sampler; see
    ``docs/thegcn.md`` for the reconstructed defaults).

    Events are stored per node in a CSR sorted by time; the window
    :math:`[t' - t_0, t')` of every query is found with one
    :func:`torch.searchsorted` over integer (node, time-rank) keys, so no
    Python loop runs over seeds or events (only over hops and, for
    :obj:`"uniform"`, over the fan-out).

    Args:
        src (torch.Tensor): Source node of every event :math:`[E]`.
        dst (torch.Tensor): Destination node of every event :math:`[E]`.
        t (torch.Tensor): Event times :math:`[E]`, non-negative and sorted in
            non-decreasing order.
        num_nodes (int, optional): Number of nodes (default: the largest id
            + 1; pass it when high ids are isolated).
        num_neighbors (list of int, optional): Fan-out per hop; its length is
            the number of hops :math:`h_{max}`; ``-1`` takes all in-window
            events. (default: :obj:`[10]`)
        time_window (float, optional): :math:`t_0`; only events with
            :math:`t \ge t' - t_0` are sampled (:obj:`None`: unbounded).
            (default: :obj:`None`)
        strategy (str, optional): :obj:`"recent"` (the :math:`k` latest
            in-window events) or :obj:`"uniform"` (:math:`k` distinct
            in-window events drawn uniformly). (default: :obj:`"recent"`)
        anchor (str, optional): :obj:`"root"` (every hop uses the seed's
            :math:`t'`) or :obj:`"edge"` (deeper hops use the time of the
            event that reached the node, like TGL's ``prop_time=False``).
            (default: :obj:`"root"`)
        inclusive (bool, optional): Use :math:`t \le t'` instead of the strict
            :math:`t < t'`. (default: :obj:`False`)
        undirected (bool, optional): An event is a neighbour of both its
            endpoints; else only of its destination (the source is sampled
            for the destination). (default: :obj:`True`)
        max_events (int, optional): Cap :math:`N_{max}` on the sampled events
            per seed; earlier hops and more recent events are kept first.
            (default: :obj:`None`)
        seed (int, optional): Seed of the generator used by
            :obj:`"uniform"`. (default: :obj:`0`)

    Example:
        >>> src, dst = torch.tensor([0, 1, 0]), torch.tensor([1, 2, 2])
        >>> t = torch.tensor([1., 2., 3.])
        >>> sampler = TemporalNeighborSampler(src, dst, t, num_neighbors=[5])
        >>> out = sampler.sample(torch.tensor([2]), torch.tensor([3.]))
        >>> out.n_id.tolist(), out.t.tolist()
        ([2, 1], [2.0])
    """
    def __init__(
        self,
        src: Tensor,
        dst: Tensor,
        t: Tensor,
        num_nodes: Optional[int] = None,
        num_neighbors: Sequence[int] = (10, ),
        time_window: Optional[float] = None,
        strategy: str = 'recent',
        anchor: str = 'root',
        inclusive: bool = False,
        undirected: bool = True,
        max_events: Optional[int] = None,
        seed: int = 0,
    ):
        # The index lives on the CPU (one copy of the stream, once); the ids
        # and times are validated here, once, so `sample` never has to.
        if all(isinstance(v, Tensor) for v in (src, dst, t)):
            src, dst, t = src.cpu(), dst.cpu(), t.cpu()
        self.num_nodes = check_event_stream(src, dst, t, num_nodes)
        num_neighbors = check_num_neighbors(num_neighbors)
        if strategy not in ('recent', 'uniform'):
            raise ValueError(f"'strategy' must be 'recent' or 'uniform', got "
                             f"{strategy!r}")
        if anchor not in ('root', 'edge'):
            raise ValueError(f"'anchor' must be 'root' or 'edge', got "
                             f"{anchor!r}")
        if time_window is not None and (not isinstance(
                time_window, (int, float)) or isinstance(time_window, bool)
                                        or not 0 < time_window < math.inf):
            raise ValueError(f"'time_window' must be None or a finite number "
                             f"> 0, got {time_window!r}")
        if max_events is not None and (not isinstance(max_events, int)
                                       or max_events < 1):
            raise ValueError(f"'max_events' must be None or an int >= 1, got"
                             f" {max_events!r}")
        self.num_neighbors = num_neighbors
        self.time_window = time_window
        self.strategy = strategy
        self.anchor = anchor
        self.inclusive = inclusive
        self.undirected = undirected
        self.max_events = max_events
        self.seed = seed
        self.device = torch.device('cpu')
        self.generator = torch.Generator(self.device).manual_seed(seed)
        self.time_dtype = t.dtype

        src, dst = src.long(), dst.long()
        eid = torch.arange(src.numel(), device=self.device)
        if undirected:
            loop = src == dst  # a self-loop event is one neighbour, not two
            owner = torch.cat([dst, src[~loop]])
            nbr = torch.cat([src, dst[~loop]])
            eid = torch.cat([eid, eid[~loop]])
        else:
            owner, nbr = dst, src
        # Ties in time are ordered by event id (a later event is "more
        # recent"), whichever endpoint list the event came from.
        perm0 = torch.argsort(eid, stable=True)
        owner, nbr, eid = owner[perm0], nbr[perm0], eid[perm0]
        te = t[eid]
        # Dense time ranks make (owner, time) an exact int64 key.
        self._times = torch.unique(t.double(), sorted=True)
        self._base = self._times.numel() + 1
        rank = torch.searchsorted(self._times, te.double())
        key = owner * self._base + rank
        key, perm = torch.sort(key, stable=True)  # stable keeps event order
        self._key = key
        self.col = nbr[perm]
        self.e_id = eid[perm]
        self.t = te[perm]
        self.rowptr = torch.zeros(self.num_nodes + 1, dtype=torch.long,
                                  device=self.device)
        self.rowptr[1:] = torch.cumsum(
            torch.bincount(owner, minlength=self.num_nodes), 0)

    def reset_generator(self, seed: Optional[int] = None) -> None:
        r"""Re-seeds the generator of the :obj:`"uniform"` strategy."""
        self.generator.manual_seed(self.seed if seed is None else seed)

    def _window(self, node: Tensor, qtime: Tensor):
        q = qtime.double()
        r_hi = torch.searchsorted(self._times, q, right=self.inclusive)
        hi = torch.searchsorted(self._key, node * self._base + r_hi)
        if self.time_window is None:
            lo = self.rowptr[node]
        else:
            r_lo = torch.searchsorted(self._times, q - self.time_window)
            lo = torch.searchsorted(self._key, node * self._base + r_lo)
        return lo, hi

    def _select(self, lo: Tensor, hi: Tensor, k: int,
                generator: torch.Generator):
        r"""Returns (query index, CSR position) of the selected events,
        ordered per query from the most recent to the oldest."""
        count = hi - lo
        take = count if k < 0 else count.clamp(max=k)
        dev = lo.device
        qidx = torch.repeat_interleave(torch.arange(lo.numel(), device=dev),
                                       take)
        off = _segment_arange(take)
        if self.strategy == 'recent' or k < 0:
            return qidx, hi[qidx] - 1 - off
        # Uniform: all events where count <= k; else k distinct positions by
        # Floyd's algorithm, vectorised over queries (loop over k only).
        big = (count > k).nonzero().view(-1)
        pos = hi[qidx] - 1 - off
        if big.numel() > 0:
            n = count[big]
            chosen = floyd_sample(n, k, generator)
            chosen = chosen.sort(dim=1, descending=True).values
            row_of_big = torch.full((lo.numel(), ), -1, dtype=torch.long,
                                    device=dev)
            row_of_big[big] = torch.arange(big.numel(), device=dev)
            sel = row_of_big[qidx] >= 0
            rb = row_of_big[qidx[sel]]
            pos[sel] = lo[qidx[sel]] + chosen[rb, off[sel]]
        return qidx, pos

    def sample(self, seed_nodes: Tensor, seed_times: Tensor,
               generator: Optional[torch.Generator] = None
               ) -> TemporalSubgraph:
        r"""Samples one disjoint temporal tree per (seed node, query time).

        Args:
            seed_nodes (torch.Tensor): Seed node ids :math:`[B]` (int).
            seed_times (torch.Tensor): Query times :math:`[B]`, of the same
                kind (integer or floating) as the event times.
            generator (torch.Generator, optional): A CPU generator for
                :obj:`"uniform"` (default: the sampler's own, seeded one).

        Seeds on another device are copied to the CPU, where the sampler's
        index lives (their ids are checked there, without an accelerator
        sync). The returned subgraph is on the CPU: move it with
        :meth:`TemporalSubgraph.to` (after :meth:`TemporalSubgraph.pin_memory`
        for an asynchronous copy).
        """
        if not isinstance(seed_nodes, Tensor) or seed_nodes.dim() != 1 or \
                seed_nodes.is_floating_point() or \
                seed_nodes.dtype == torch.bool:
            raise TypeError(f"'seed_nodes' must be a 1-D integer tensor, got "
                            f"{getattr(seed_nodes, 'dtype', type(seed_nodes))}")
        if not isinstance(seed_times, Tensor) or seed_times.dim() != 1:
            raise TypeError(f"'seed_times' must be a 1-D tensor, got "
                            f"{type(seed_times).__name__}")
        if seed_times.is_floating_point() != self.time_dtype.is_floating_point \
                or seed_times.dtype == torch.bool:
            raise TypeError(f"'seed_times' must have the same kind of dtype "
                            f"as the event times ({self.time_dtype}), got "
                            f"{seed_times.dtype}")
        if seed_nodes.numel() != seed_times.numel():
            raise ValueError(f"'seed_nodes' and 'seed_times' must have the "
                             f"same length, got {seed_nodes.numel()} and "
                             f"{seed_times.numel()}")
        seed_nodes = seed_nodes.to(self.device)
        seed_times = seed_times.to(self.device)
        if seed_nodes.numel() and (int(seed_nodes.min()) < 0 or int(
                seed_nodes.max()) >= self.num_nodes):
            raise ValueError(f"'seed_nodes' must lie in [0, {self.num_nodes})"
                             f", got ids in [{int(seed_nodes.min())}, "
                             f"{int(seed_nodes.max())}]")
        if seed_times.is_floating_point() and bool(
                torch.isnan(seed_times).any()):
            raise ValueError("'seed_times' contains NaN")
        gen = self.generator if generator is None else generator

        dev = self.device
        B = seed_nodes.numel()
        seed_nodes = seed_nodes.long()
        n_ids: List[Tensor] = [seed_nodes]
        batches: List[Tensor] = [torch.arange(B, device=dev)]
        rows, cols, eids, ts, hops = [], [], [], [], []
        f_node, f_time = seed_nodes, seed_times
        f_local = torch.arange(B, device=dev)
        f_batch = torch.arange(B, device=dev)
        used = torch.zeros(B, dtype=torch.long, device=dev)
        num_local = B
        for h, k in enumerate(self.num_neighbors):
            if f_node.numel() == 0:
                break
            lo, hi = self._window(f_node, f_time)
            qidx, pos = self._select(lo, hi, k, gen)
            if self.max_events is not None and qidx.numel() > 0:
                # Keep, per seed, earlier hops first, then recent events.
                b = f_batch[qidx]
                et = self.t[pos]
                order = torch.argsort(et, descending=True, stable=True)
                order = order[torch.argsort(b[order], stable=True)]
                cnt = torch.bincount(b, minlength=B)
                rank = torch.empty_like(order)
                rank[order] = torch.arange(order.numel(), device=dev) - \
                    torch.repeat_interleave(torch.cumsum(cnt, 0) - cnt, cnt)
                keep = used[b] + rank < self.max_events
                qidx, pos = qidx[keep], pos[keep]
                used += torch.bincount(f_batch[qidx], minlength=B)
            new_local = num_local + torch.arange(qidx.numel(), device=dev)
            num_local += qidx.numel()
            nbr = self.col[pos]
            et = self.t[pos]
            rows.append(new_local)
            cols.append(f_local[qidx])
            eids.append(self.e_id[pos])
            ts.append(et)
            hops.append(torch.full((qidx.numel(), ), h + 1, dtype=torch.long,
                                   device=dev))
            n_ids.append(nbr)
            batches.append(f_batch[qidx])
            f_node, f_local, f_batch = nbr, new_local, f_batch[qidx]
            f_time = et if self.anchor == 'edge' else f_time[qidx]

        t_all = torch.cat(ts) if ts else seed_times.new_zeros(0)
        empty = torch.zeros(0, dtype=torch.long, device=dev)
        edge_index = torch.stack([torch.cat(rows), torch.cat(cols)]) if rows \
            else torch.zeros(2, 0, dtype=torch.long, device=dev)
        e_id = torch.cat(eids) if eids else empty
        hop = torch.cat(hops) if hops else empty
        batch = torch.cat(batches)
        eb = batch[edge_index[1]] if rows else empty
        dt = seed_times[eb] - t_all
        return TemporalSubgraph(n_id=torch.cat(n_ids), batch=batch,
                                edge_index=edge_index, e_id=e_id, t=t_all,
                                dt=dt, hop=hop, seed_time=seed_times,
                                batch_size=B)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_nodes={self.num_nodes}, '
                f'num_neighbors={self.num_neighbors}, '
                f'strategy={self.strategy!r}, '
                f'time_window={self.time_window})')
