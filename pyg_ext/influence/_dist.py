r"""RR collections spread over the ranks of a :mod:`torch.distributed`
group, and the greedy maximum coverage on them.

Every collection is grown in fixed-size blocks seeded by
``(seed, stream, block)`` (see :mod:`pyg_ext.influence.rr`); a rank samples
its own contiguous range of the blocks of each round, so the union over the
ranks is exactly the one-process collection for the same seed. Greedy
coverage, its prefix upper bound and validation counts only depend on the
multiset of RR sets, so every rank obtains the one-process result.

Two greedies (``dist_greedy``):

* ``'allreduce'`` (as in Ripples, Minutoli et al., IEEE Cluster 2019): the
  marginal-coverage count of every node is summed over the ranks once, then
  after each chosen seed every rank marks its own RR sets that the seed
  covers and the count decrements are summed (one all-reduce of ``n``
  int32 per step). The RR sets stay split across the ranks.
* ``'gather'``: the ranks send their new RR sets to rank 0 (incrementally,
  round after round), rank 0 runs the one-process greedy and broadcasts the
  seeds. Rank 0 then holds the whole selection collection.
* ``'auto'``: the one that moves fewer bytes, from the sizes at the first
  greedy call (cost model below; see ``docs/distributed.md``).

Where the two collections of OPIM / OPIM-C / RR-OPIM+ live (``dist_place``):

* ``'split'``: :math:`R_1` (selection) on ranks :math:`[0, \lceil W/2
  \rceil)`, :math:`R_2` (validation) on the others. The collections are
  independent, so on two ranks rank 0 samples all of :math:`R_1` and runs
  the greedy on it where it was sampled, rank 1 samples :math:`R_2` and
  counts its coverage: no RR set crosses the wire.
* ``'shared'``: both collections split over all the ranks.
* ``'overlap'`` (OPIM-C on two ranks): :math:`R_1` on rank 0, which runs
  the greedy, :math:`R_2` on rank 1, and the rounds overlap: while rank 0
  runs the greedy, rank 1 samples its :math:`R_2` sets, and at the start
  of each round it samples the last blocks of rank 0's :math:`R_1` sets
  and sends them (their number balances the two ranks from both ranks'
  measured sampling speeds and the greedy's time).
  Two point-to-point messages per round (the seeds and rank 1's count)
  instead of collectives; see :mod:`pyg_ext.influence._overlap`.
* ``'auto'``: ``'overlap'`` where it applies (OPIM-C, two ranks, a greedy
  on rank 0), else ``'split'`` for an even number of ranks, else
  ``'shared'`` (an odd split leaves one side with more sets per rank).

:class:`LocalRR` is the one-process collection with the same interface.
"""
import hashlib
import pickle
import time
from typing import Any, Dict, Optional, Tuple

import numpy as np
import torch
import torch.distributed as dist

from pyg_ext.influence import _kernels as K
from pyg_ext.influence._greedy import _cover_node
from pyg_ext.influence._checks import check_bool, check_choice
from pyg_ext.influence.rr import RRSampler, RRSets
from pyg_ext.utils.distributed import (agree, cpu_group, is_distributed,
                                      resolve_group)

DIST_GREEDY = ('auto', 'allreduce', 'gather')
DIST_PLACE = ('auto', 'split', 'shared')
DIST_PLACE_OVERLAP = DIST_PLACE + ('overlap',)
SMALL = 64  # arrays summed by an all-gather (see Ctx.allreduce)
_EMPTY_I32 = np.zeros(0, dtype=np.int32)


def _topk_sum(vals: np.ndarray, k: int) -> int:
    r"""Sum of the :obj:`k` largest of non-negative counts (by a histogram
    when there are many: they are small integers with many ties)."""
    m = vals.shape[0]
    if m <= k:
        return int(vals.sum())
    if m <= 4096:
        return int(np.partition(vals, m - k)[-k:].sum())
    cnt = np.bincount(vals)[::-1]  # cnt[i]: how many equal top - i
    top = cnt.shape[0] - 1
    cum = np.cumsum(cnt)
    i = int(np.searchsorted(cum, k))  # the k-th largest is top - i
    val = top - np.arange(i, dtype=np.int64)
    head = int((cnt[:i] * val).sum())
    return head + (k - int(cum[i - 1] if i else 0)) * (top - i)


def graph_fingerprint(g) -> str:
    r"""A hash of the graph that ranks compare: sizes, model, the in-degree
    pointers, sums and a strided sample of the arcs (it guards against
    ranks given different graphs, at a cost far below sampling), computed
    once per graph object (a prepared graph is not modified in place)."""
    cached = getattr(g, '_fingerprint', None)
    if cached is not None:
        return cached
    h = hashlib.sha256()
    m = g.in_src.shape[0]
    step = max(1, m >> 20)
    h.update(repr((g.num_nodes, g.model, m, int(g.in_src.sum(dtype=np.int64)),
                   float(g.in_p.sum(dtype=np.float64)))).encode())
    for a in (g.in_ptr, g.in_src[::step], g.in_p[::step]):
        h.update(np.ascontiguousarray(a).tobytes())
    g._fingerprint = h.hexdigest()
    return g._fingerprint


def auto_greedy(world: int, n: int, steps: int, sets: int,
                entries: int, holders: Optional[int] = None) -> str:
    r"""The greedy that puts fewer bytes on the wire (summed over the
    ranks): ``'allreduce'`` moves :math:`2(W-1) \cdot 4n` bytes per step
    (plus the initial counts), ``'gather'`` the new RR sets held by ranks
    other than 0 (:math:`(H-1)/H` of them, :math:`H` = the ranks holding
    the collection, :math:`W` by default) at 4 bytes per set and per entry.

    Example:
        >>> auto_greedy(2, 100000, 50, 20000, 60000)
        'gather'
        >>> auto_greedy(2, 1000, 5, 10**7, 10**9)
        'allreduce'
        >>> auto_greedy(2, 1000, 5, 10**7, 10**9, holders=1)
        'gather'
    """
    holders = world if holders is None else holders
    red = 2 * (world - 1) * 4 * n * (steps + 1)
    gat = (holders - 1) * 4 * (sets + entries) // holders
    return 'gather' if gat <= red else 'allreduce'


class Ctx:
    r"""A process group, its size and rank, the greedy mode and the
    communication tally of one call."""
    def __init__(self, group, dist_greedy: str, dist_place: str = 'auto',
                 overlap: bool = False):
        self.group = group
        self.rank = dist.get_rank(group)
        self.world = dist.get_world_size(group)
        self.requested = dist_greedy
        if dist_place == 'auto':
            dist_place = 'overlap' if overlap and self.world == 2 and \
                dist_greedy != 'allreduce' else \
                'split' if self.world % 2 == 0 else 'shared'
        self.place = dist_place
        self.mode: Optional[str] = None if dist_greedy == 'auto' \
            else dist_greedy
        self.bytes = 0  # bytes this rank put on the wire in greedy steps
        self.steps = 0
        self.seconds = 0.0
        # overlap: both ranks' (bytes, microseconds) as last exchanged, so
        # that both report the same sums
        self.stamps: Optional[np.ndarray] = None
        self.held: Optional[RRSets] = None  # overlap: this rank's R_1 / R_2

    def _src(self, r):
        return dist.get_global_rank(self.group, r)

    def allreduce(self, a: np.ndarray, greedy: bool = True) -> np.ndarray:
        r"""In-place sum over the ranks of a numpy array (a few numbers: an
        all-gather and a local sum, several times faster than gloo's
        all-reduce for them: 0.4 ms against 1.0 ms on two local ranks)."""
        t0 = time.perf_counter()
        if a.size <= SMALL:
            t = torch.from_numpy(a)
            got = [torch.empty_like(t) for _ in range(self.world)]
            dist.all_gather(got, t, group=self.group)
            a[...] = torch.stack(got).sum(0).numpy()
        else:
            dist.all_reduce(torch.from_numpy(a), group=self.group)
        if greedy:
            self.seconds += time.perf_counter() - t0
            # a ring all-reduce sends 2(W-1)/W of the buffer from each rank
            self.bytes += 2 * (self.world - 1) * a.nbytes // self.world
        return a

    def broadcast(self, obj: Any) -> Any:
        r"""Rank 0's :obj:`obj` on every rank."""
        t0 = time.perf_counter()
        box = [obj]
        dist.broadcast_object_list(box, src=self._src(0), group=self.group)
        self.seconds += time.perf_counter() - t0
        if self.rank == 0:
            self.bytes += (self.world - 1) * len(pickle.dumps(obj))
        return box[0]

    def broadcast_cover(self, out, k: int):
        r"""Rank 0's greedy result ``(seeds[k], gains[k], upper)`` on every
        rank, as one int64 tensor of known size."""
        t0 = time.perf_counter()
        buf = np.zeros(2 * k + 1, dtype=np.int64)
        if self.rank == 0:
            seeds, gains, upper = out
            buf[:k], buf[k:2 * k], buf[2 * k] = seeds, gains, upper
        dist.broadcast(torch.from_numpy(buf), src=self._src(0),
                       group=self.group)
        self.seconds += time.perf_counter() - t0
        if self.rank == 0:
            self.bytes += (self.world - 1) * buf.nbytes
        return buf[:k].copy(), buf[k:2 * k].copy(), int(buf[2 * k])

    def seed(self, root: int, seed: Any = None) -> int:
        r"""Rank 0's root seed (a fresh seed for ``seed=None`` is drawn
        once); an int :obj:`seed`, already compared across the ranks,
        gives the same root everywhere without a message."""
        if isinstance(seed, (int, np.integer)) and not isinstance(
                seed, (bool, np.bool_)):
            return root
        a = np.array([root], dtype=np.int64)
        dist.broadcast(torch.from_numpy(a), src=self._src(0),
                       group=self.group)
        return int(a[0])

    def choose(self, n: int, steps: int, pending_sets: int,
               pending_entries: int, holders: Optional[int] = None) -> str:
        r"""Fixes the greedy mode at the first greedy call (see
        :func:`auto_greedy`)."""
        if self.mode is None:
            self.mode = auto_greedy(self.world, n, steps, pending_sets,
                                    pending_entries, holders)
        return self.mode

    def tally(self) -> Dict[str, Any]:
        r"""The communication of the greedy steps, summed over ranks
        (with ``'overlap'``, from the numbers the two ranks exchanged)."""
        a = np.array([self.bytes, self.seconds * 1e6], dtype=np.int64)
        if self.stamps is not None:
            a = self.stamps.sum(0)
        else:
            self.allreduce(a, greedy=False)
        return dict(dist_greedy=self.mode or self.requested,
                    dist_place=self.place, greedy_bytes=int(a[0]),
                    greedy_steps=self.steps,
                    bytes_per_greedy_step=int(a[0]) // max(self.steps, 1),
                    comm_seconds_per_rank=float(a[1]) / 1e6 / self.world)


def setup(what: str, group: Any, distributed: Any, dist_greedy: Any,
          args: Dict[str, Any], graph=None,
          dist_place: Any = 'auto', overlap: bool = False) -> Optional[Ctx]:
    r"""Validates the distributed options of an IM call and checks that
    every rank passes the same :obj:`args` (and the same :obj:`graph`,
    compared by a hash of its arrays); returns :obj:`None` for one process
    (no group, or a group of one). :obj:`overlap`: the caller runs
    ``dist_place='overlap'`` (:func:`overlap_rounds`)."""
    distributed = check_bool(distributed, 'distributed')
    check_choice(dist_greedy, 'dist_greedy', DIST_GREEDY)
    check_choice(dist_place, 'dist_place',
                 DIST_PLACE_OVERLAP if overlap else DIST_PLACE)
    if dist_place == 'overlap' and dist_greedy == 'allreduce':
        raise ValueError("dist_place='overlap' runs the greedy on rank 0; "
                         "it does not combine with dist_greedy='allreduce'")
    if group is not None and not isinstance(group, dist.ProcessGroup):
        raise TypeError(f"'group' must be a torch.distributed ProcessGroup "
                        f"or None, got {type(group).__name__}")
    g = resolve_group(group, distributed)
    if g is None or not is_distributed(g):
        return None
    g = cpu_group(g, explicit=group is not None)
    if dist_place == 'overlap' and dist.get_world_size(g) != 2:
        raise ValueError(f"dist_place='overlap' runs on a group of 2 ranks, "
                         f"got {dist.get_world_size(g)}; use 'split' or "
                         f"'shared'")
    args = dict(args, dist_greedy=dist_greedy, dist_place=dist_place)
    if graph is not None:
        args['graph'] = graph_fingerprint(graph)
    agree(what, args, g)
    return Ctx(g, dist_greedy, dist_place, overlap)


def collection(ctx: Optional[Ctx], sampler: RRSampler,
               holders: Optional[Tuple[int, int]] = None):
    r"""An empty RR collection of :obj:`sampler`: local, or split over the
    ranks ``holders = (lo, hi)`` of :obj:`ctx` (all of them by default)."""
    return LocalRR(sampler) if ctx is None else \
        DistRR(ctx, sampler, holders)


def pair(ctx: Optional[Ctx], samplers):
    r"""The selection and validation collections of OPIM-style algorithms,
    placed as :attr:`Ctx.place` says (module docstring)."""
    if ctx is None or ctx.place == 'shared':
        return tuple(collection(ctx, s) for s in samplers)
    h = (ctx.world + 1) // 2
    return (collection(ctx, samplers[0], (0, h)),
            collection(ctx, samplers[1], (h, ctx.world)))


def grow_all(cols, target: int) -> None:
    r"""Grows every collection of :obj:`cols` to :obj:`target` sets; the
    ranks sample their shares of all of them before the one exchange of
    counts (so ranks holding different collections sample at once)."""
    if not isinstance(cols[0], DistRR):
        for c in cols:
            c.grow(target)
        return
    ctx = cols[0].ctx
    err = None
    added = []
    for c in cols:
        before = c.rr._size
        if err is None:
            try:
                c._fill(int(target) - c.total)
            except ValueError as e:  # the memory bound: tell every rank
                err = e
        added.append(c.rr._size - before)
    stats = np.array([err is not None] + added, dtype=np.int64)
    ctx.allreduce(stats, greedy=False)
    if stats[0]:
        raise err if err is not None else ValueError(
            'another rank of the process group stopped sampling RR '
            'sets at its memory bound; pass a larger max_memory or '
            'relax the accuracy')
    for c, d in zip(cols, stats[1:]):
        c.total = max(c.total, int(target))
        c.entries += int(d)


class LocalRR:
    r"""One process's RR collection with the greedy interface."""
    def __init__(self, sampler: RRSampler):
        self.sampler = sampler
        self.rr = sampler.new(0)

    def __len__(self) -> int:
        return len(self.rr)

    def avg(self) -> float:
        return self.rr._size / len(self.rr) if len(self.rr) else 1.0

    def grow(self, target: int) -> None:
        self.sampler.grow(self.rr, target)

    def greedy(self, k: int, cand: np.ndarray):
        return self.rr.max_cover(k, cand)

    def covered(self, seeds: np.ndarray) -> int:
        mask = np.zeros(self.rr.num_nodes, dtype=np.uint8)
        mask[seeds] = 1
        return int(K.count_covered(self.rr._ptr, self.rr._nodes, mask))

    def cim_greedy(self, cand_ptr, cand, k, round_robin):
        rr = self.rr
        node_ptr, node_rr = rr.index()
        return K.cim_greedy_rr(rr._ptr, rr._nodes, node_ptr, node_rr,
                               rr.num_nodes, cand_ptr, cand, k, round_robin)


class DistRR(LocalRR):
    r"""An RR collection split over the ranks ``holders = (lo, hi)``:
    :attr:`rr` holds this rank's blocks (in ``'gather'`` mode, only those
    not yet sent to rank 0) and :attr:`merged` (rank 0, ``'gather'`` mode)
    the sets sent so far. When rank 0 is the only holder, its :attr:`rr` is
    the whole collection and nothing is gathered."""
    def __init__(self, ctx: Ctx, sampler: RRSampler,
                 holders: Optional[Tuple[int, int]] = None):
        super().__init__(sampler)
        self.ctx = ctx
        lo, hi = (0, ctx.world) if holders is None else holders
        if not 0 <= lo < hi <= ctx.world:
            raise ValueError(f"'holders' must be a non-empty range of the "
                             f"{ctx.world} ranks, got {holders}")
        self.holders = (lo, hi)
        self.part = (ctx.rank - lo, hi - lo) if lo <= ctx.rank < hi \
            else None
        self.solo = (lo, hi) == (0, 1)  # rank 0 holds it all
        self.total = 0
        self.entries = 0
        self.sent_sets = 0
        self.sent_entries = 0
        self.merged: Optional[RRSets] = None

    def __len__(self) -> int:
        return self.total

    def avg(self) -> float:
        return self.entries / self.total if self.total else 1.0

    def grow(self, target: int) -> None:
        if int(target) > self.total:
            grow_all([self], target)

    def _fill(self, extra: int) -> None:
        r"""Samples this rank's share of :obj:`extra` more sets (nothing
        on a rank that does not hold the collection)."""
        if extra > 0 and self.part is not None:
            self.sampler.fill(self.rr, extra, part=self.part)

    def _mode(self, steps: int) -> str:
        lo, hi = self.holders
        return self.ctx.choose(self.rr.num_nodes, steps,
                               self.total - self.sent_sets,
                               self.entries - self.sent_entries,
                               hi - lo if lo == 0 else None)

    def _selection(self) -> Optional[RRSets]:
        r"""Rank 0: the whole collection (after a gather of the sets it
        has not got yet); other ranks: :obj:`None`."""
        if self.solo:
            return self.rr if self.ctx.rank == 0 else None
        self._gather()
        return self.merged if self.ctx.rank == 0 else None

    def _gather(self) -> None:
        r"""Moves the sets not yet sent to rank 0's :attr:`merged`."""
        ctx, rr = self.ctx, self.rr
        lo, hi = self.holders
        t0 = time.perf_counter()
        if ctx.rank == 0:
            if self.merged is None:
                self.merged = RRSets(np.zeros(1, np.int64), _EMPTY_I32,
                                     _EMPTY_I32, rr.num_nodes, rr.scale,
                                     _trusted=True)
            m = self.merged
            m._append(rr.sizes(), rr._nodes, rr._roots)
            for r in range(max(lo, 1), hi):
                head = torch.zeros(2, dtype=torch.int64)
                dist.recv(head, group=ctx.group, group_src=r)
                s, e = int(head[0]), int(head[1])
                sizes = torch.empty(s, dtype=torch.int32)
                nodes = torch.empty(e, dtype=torch.int32)
                if s:
                    dist.recv(sizes, group=ctx.group, group_src=r)
                if e:
                    dist.recv(nodes, group=ctx.group, group_src=r)
                m._append(sizes.numpy(), nodes.numpy(),
                          np.zeros(s, dtype=np.int32))
        elif self.part is not None:
            sizes = torch.from_numpy(rr.sizes().astype(np.int32))
            nodes = torch.from_numpy(np.ascontiguousarray(rr._nodes))
            dist.send(torch.tensor([len(rr), rr._size]), group=ctx.group,
                      group_dst=0)
            if len(rr):
                dist.send(sizes, group=ctx.group, group_dst=0)
            if rr._size:
                dist.send(nodes, group=ctx.group, group_dst=0)
            ctx.bytes += 16 + sizes.numel() * 4 + nodes.numel() * 4
        ctx.seconds += time.perf_counter() - t0
        self.sent_sets, self.sent_entries = self.total, self.entries
        self.rr = self.sampler.new(0)  # rank 0's merged copy holds them now

    def greedy(self, k: int, cand: np.ndarray):
        ctx = self.ctx
        ctx.steps += k
        if self._mode(k) == 'gather':
            sel = self._selection()
            out = sel.max_cover(k, cand) if ctx.rank == 0 else None
            return ctx.broadcast_cover(out, k)
        return self._greedy_allreduce(k, cand)

    def _oracle(self):
        return _Coverage(self.ctx, self.rr)

    def _greedy_allreduce(self, k: int, cand: np.ndarray):
        r"""The steps of :func:`~pyg_ext.influence._greedy.greedy_max_cover`
        on summed counts: argmax (smallest id on ties, the smallest
        unselected candidate when all are 0) and the prefix bound
        :math:`\min_i \Lambda(S_i) + \text{top-}k` of the unselected
        candidates."""
        orc = self._oracle()
        # unselected candidates >= 0, the rest < 0; the top-k sum of the
        # unselected is that of the positive entries, which only leave
        work = np.where(cand.astype(bool), orc.cov.astype(np.int64), -1)
        pos = np.flatnonzero(work > 0)
        seeds = np.empty(k, dtype=np.int64)
        gains = np.zeros(k, dtype=np.int64)
        total = 0
        upper = _topk_sum(work[pos], k)
        for it in range(k):
            if pos.shape[0]:  # pos ascends: the first max has the least id
                best = int(pos[np.argmax(work[pos])])
            else:  # all 0: the smallest unselected candidate
                best = int(np.argmax(work))
            c = int(work[best])
            seeds[it], gains[it] = best, c
            total += c
            work[best] = -1
            work += orc.take(best)
            pos = pos[work[pos] > 0]
            upper = min(upper, total + _topk_sum(work[pos], k))
        return seeds, gains, upper

    def covered(self, seeds: np.ndarray) -> int:
        lo, hi = self.holders
        if hi - lo == 1:  # one rank holds it: it counts and tells
            a = np.zeros(1, dtype=np.int64)
            if self.part is not None:
                a[0] = LocalRR.covered(self, seeds)
            dist.broadcast(torch.from_numpy(a), src=self.ctx._src(lo),
                           group=self.ctx.group)
            return int(a[0])
        a = np.array([LocalRR.covered(self, seeds)], dtype=np.int64)
        return int(self.ctx.allreduce(a, greedy=False)[0])

    def cim_greedy(self, cand_ptr, cand, k, round_robin):
        ctx = self.ctx
        steps = int(min(len(np.unique(cand)),
                        k * (cand_ptr.shape[0] - 1)))
        if self._mode(steps) == 'gather':
            m = self._selection()
            out = None
            if ctx.rank == 0:
                node_ptr, node_rr = m.index()
                out = K.cim_greedy_rr(m._ptr, m._nodes, node_ptr, node_rr,
                                      m.num_nodes, cand_ptr, cand, k,
                                      round_robin)
            out = ctx.broadcast(out)
            ctx.steps += len(out[1])
            return out
        out = _cim_allreduce(self._oracle(), cand_ptr, cand, k,
                                   round_robin)
        ctx.steps += len(out[1])
        return out


class _Coverage:
    r"""Summed marginal coverage: :attr:`cov[v]` is the number of RR sets,
    over all ranks, that contain :obj:`v` and no chosen seed."""
    def __init__(self, ctx: Ctx, rr: RRSets):
        self.ctx = ctx
        self.rr = rr
        self.node_ptr, self.node_rr = rr.index()
        self.cov = ctx.allreduce(np.diff(self.node_ptr).astype(np.int32))
        self.done = np.zeros(len(rr), dtype=np.uint8)

    def take(self, v: int) -> np.ndarray:
        r"""Chooses :obj:`v`: returns the summed decrements of every
        node's coverage (and applies them to :attr:`cov`)."""
        rr = self.rr
        delta = np.zeros(rr.num_nodes, dtype=np.int32)
        _cover_node(v, rr._ptr, rr._nodes, self.node_ptr, self.node_rr,
                      self.done, delta)
        self.ctx.allreduce(delta)
        self.cov += delta
        return delta


def _cim_allreduce(orc: _Coverage, cand_ptr, cand, k, round_robin):
    r"""The steps of :func:`~pyg_ext.influence._greedy.cim_greedy_rr` on
    summed counts (same picks, ties and :math:`\Lambda^\phi` bound)."""
    d = cand_ptr.shape[0] - 1
    segs = [cand[cand_ptr[a]:cand_ptr[a + 1]] for a in range(d)]
    selected = np.zeros(orc.cov.shape[0], dtype=bool)
    count = np.zeros(d, dtype=np.int64)
    active = np.array([s.shape[0] > 0 for s in segs], dtype=bool)
    out_a, out_v = [], []
    total = 0
    bound = int(np.iinfo(np.int64).max)

    def phi():
        s = total
        for c in segs:
            s += _topk_sum(orc.cov[c][~selected[c]].astype(np.int64), k)
        return s

    def first_max(a):
        c = segs[a]
        vals = np.where(selected[c], -1, orc.cov[c])
        i = int(np.argmax(vals))
        return (int(c[i]), int(vals[i])) if vals[i] >= 0 else (-1, -1)

    def pick(a, v):
        nonlocal total
        selected[v] = True
        total += int(orc.cov[v])  # the sets it covers for the first time
        orc.take(v)
        out_a.append(a)
        out_v.append(v)
        count[a] += 1
        if count[a] >= k:
            active[a] = False

    picks = 0
    while True:
        if round_robin:
            if not active.any():
                break
            bound = min(bound, phi())
            for a in range(d):
                if not active[a]:
                    continue
                v, _ = first_max(a)
                if v < 0:
                    active[a] = False
                else:
                    pick(a, v)
            continue
        if picks % max(d, 1) == 0:
            bound = min(bound, phi())
        best, besta, bestc = -1, -1, -1
        for a in range(d):
            if not active[a]:
                continue
            v, c = first_max(a)
            if v < 0:
                active[a] = False
            elif c > bestc:
                best, besta, bestc = v, a, c
        if best < 0:
            break
        pick(besta, best)
        picks += 1
    return (np.asarray(out_a, dtype=np.int64),
            np.asarray(out_v, dtype=np.int64), total, bound)
