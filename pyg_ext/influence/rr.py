r"""Reverse-reachable (RR) set sampling in independently seeded blocks whose
sizes depend on the request only (thread- and rank-count independent),
flat storage and the inverted index."""
import contextlib
import math
import os
import queue
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any, Optional, Sequence, Tuple

import numpy as np
import torch

from pyg_ext.influence import _kernels as K
from pyg_ext.influence import _prep as P
from pyg_ext.influence._rng import spawn_seeds
from pyg_ext.influence._checks import (MAX_RR_SETS, RR_ENTRY_BYTES,
                                       RR_SET_BYTES, check_budget,
                                       check_choice, check_float, check_int,
                                       check_limit, default_max_memory,
                                       fmt_bytes, index_array, node_mask)
from pyg_ext.influence.graph import DiffusionGraph, as_graph, as_seed

__all__ = [
    'RRSets', 'SpreadEstimate', 'sample_rr_sets', 'set_num_threads',
    'get_num_threads', 'BLOCK_SIZE'
]

BLOCK_SIZE = 4096
MIN_BLOCK_SIZE = 256
MIN_BLOCKS = 16
_NUM_THREADS = [max(1, int(os.environ.get('PYG_EXT_IM_THREADS', '1')))]
_EMPTY_I32 = np.zeros(0, dtype=np.int32)
_EMPTY_U8 = np.zeros(0, dtype=np.uint8)


def set_num_threads(num_threads: int) -> None:
    r"""Sets the number of threads that run sampling blocks (results do not
    depend on it). Default: ``$PYG_EXT_IM_THREADS`` or 1."""
    if isinstance(num_threads, bool) or not isinstance(num_threads, int) \
            or num_threads < 1:
        raise ValueError(f"'num_threads' must be an int >= 1, got "
                         f"{num_threads!r}")
    _NUM_THREADS[0] = num_threads


def get_num_threads() -> int:
    return _NUM_THREADS[0]


def check_threads(num_threads: Any) -> Optional[int]:
    if num_threads is None:
        return None
    return check_int(num_threads, 'num_threads', 1, 1024)


def num_blocks(count: int) -> int:
    r"""The number of sampling blocks of one request for :obj:`count` sets:
    blocks of at most :data:`BLOCK_SIZE` sets, and at least
    :data:`MIN_BLOCKS` blocks (of :data:`MIN_BLOCK_SIZE` sets or more) so
    that the small requests of the first OPIM-C/IMM rounds still spread
    over threads and ranks. The sizes depend on :obj:`count` only, never on
    the number of threads or ranks, so every split of the blocks draws the
    same sets."""
    if count <= 0:
        return 0
    return max(-(-count // BLOCK_SIZE),
               min(MIN_BLOCKS, -(-count // MIN_BLOCK_SIZE)))


def block_seed(root_seed: int, stream: int, block: int) -> int:
    r"""The 63-bit seed of block :obj:`block` of stream :obj:`stream`:
    the first two words of ``SeedSequence(root_seed, spawn_key=(stream,
    block))``."""
    return int(block_seeds(root_seed, stream, block, 1)[0])


def _words(x: int) -> np.ndarray:
    w = []
    while x > 0:
        w.append(x & 0xFFFFFFFF)
        x >>= 32
    w = w or [0]
    return np.asarray(w + [0] * (4 - len(w)), dtype=np.uint64)


def block_seeds(root_seed: int, stream: int, first: int,
                count: int) -> np.ndarray:
    r"""Seeds of blocks ``first .. first + count - 1`` (see
    :func:`block_seed`), computed in one compiled call."""
    if not (0 <= stream < 2**32 and 0 <= first and first + count <= 2**32):
        raise ValueError('stream and block numbers must fit in 32 bits')
    return spawn_seeds(_words(int(root_seed)), stream, first, count)


def run_blocks(fn, sizes: Sequence[int], seeds: Sequence[int],
               num_threads: Optional[int] = None) -> list:
    r"""Runs ``fn(size, seed)`` for every block, in parallel threads (the
    kernels release the GIL), and returns the outputs in block order."""
    num_threads = num_threads or get_num_threads()
    if num_threads <= 1 or len(sizes) <= 1:
        return [fn(s, sd) for s, sd in zip(sizes, seeds)]
    with ThreadPoolExecutor(max_workers=num_threads) as ex:
        return list(ex.map(fn, sizes, seeds))


@dataclass
class SpreadEstimate:
    r"""A spread estimate: ``mean``, per-sample ``std``, a confidence
    interval ``[ci_low, ci_high]`` and the number of samples used."""
    mean: float
    std: float
    ci_low: float
    ci_high: float
    num_samples: int

    def __float__(self) -> float:
        return float(self.mean)


def _seed_mask(seeds: Any, n: int, name: str = 'seeds') -> np.ndarray:
    mask = np.zeros(n, dtype=np.uint8)
    mask[index_array(seeds, name, n)] = 1
    return mask


class RRSets:
    r"""A flat collection of RR sets: ``ptr`` (int64, ``[θ+1]``), ``nodes``
    (int32, ``[Σ|R|]``) and ``roots`` (int32, ``[θ]``), plus the node → RR
    inverted index built on demand by counting sort.

    A collection built by hand is validated once here (``ptr`` starts at 0,
    never decreases and ends at ``len(nodes)``; node ids and roots lie in
    ``[0, num_nodes)``; no set repeats a node), before any kernel reads it.
    The ``ptr``/``nodes``/``roots`` tensors are copies.

    Args:
        ptr, nodes, roots (Tensor or numpy.ndarray): The flat collection.
        num_nodes (int): :math:`n`.
        scale (int, optional): The estimator multiplier (:math:`n`, or the
            size of the root pool when roots are restricted).
    """
    def __init__(self, ptr: Any, nodes: Any, roots: Any, num_nodes: int,
                 scale: Optional[int] = None, _trusted: bool = False):
        n = check_int(num_nodes, 'num_nodes', 1, 2**31 - 2)
        arrs = []
        for name, a, dt in (('ptr', ptr, np.int64), ('nodes', nodes,
                                                     np.int32),
                            ('roots', roots, np.int32)):
            if not _trusted:
                if isinstance(a, torch.Tensor):
                    a = a.detach().cpu().numpy()
                a = np.asarray(a)
                if a.size == 0 and a.ndim == 1:
                    a = a.astype(np.int64)
                if a.dtype == np.bool_ or not np.issubdtype(a.dtype,
                                                            np.integer):
                    raise TypeError(f"'{name}' must hold integers, got dtype "
                                    f"{a.dtype}")
                if a.ndim != 1:
                    raise ValueError(f"'{name}' must be 1-D, got shape "
                                     f"{list(a.shape)}")
                if name != 'ptr' and a.size and (a.min() < 0 or
                                                 a.max() >= n):
                    raise ValueError(f"'{name}' must hold node ids in [0, "
                                     f"{n - 1}], got min {a.min()} max "
                                     f"{a.max()}")
            arrs.append(np.ascontiguousarray(a, dtype=dt))
        p, nd, rt = arrs
        if not _trusted:
            if p.shape[0] < 1:
                raise ValueError("'ptr' must have at least one entry (0)")
            if rt.shape[0] != p.shape[0] - 1:
                raise ValueError(f"'roots' must have one entry per set "
                                 f"({p.shape[0] - 1}), got {rt.shape[0]}")
            if p.shape[0] - 1 > MAX_RR_SETS:
                raise ValueError(f"at most {MAX_RR_SETS} RR sets per "
                                 f"collection, got {p.shape[0] - 1}")
            code, where, val = P.check_rr(p, nd, rt, n)
            if code:
                raise ValueError({
                    1: f"'ptr' must start at 0, got {val}",
                    2: f"'ptr' must be non-decreasing; ptr[{where + 1}] = "
                    f"{val} < ptr[{where}]",
                    3: f"'ptr' must end at len(nodes) = {nd.shape[0]}, got "
                    f"{val}",
                    4: f"'nodes' must hold node ids in [0, {n - 1}], got "
                    f"{val} at position {where}",
                    5: f"'roots' must hold node ids in [0, {n - 1}], got "
                    f"{val} at position {where}",
                    6: f"RR set {where} (in 'nodes') repeats node {val}",
                }[code])
        self._n = n
        self._scale = n if scale is None else check_int(scale, 'scale', 1)
        self._pbuf, self._nbuf, self._rbuf = p, nd, rt
        self._len = p.shape[0] - 1
        self._size = nd.shape[0]
        self._index = None
        self._compact = None

    num_nodes = property(lambda self: self._n)
    scale = property(lambda self: self._scale)

    @property
    def _ptr(self) -> np.ndarray:
        return self._pbuf[:self._len + 1]

    @property
    def _nodes(self) -> np.ndarray:
        return self._nbuf[:self._size]

    @property
    def _roots(self) -> np.ndarray:
        return self._rbuf[:self._len]

    @property
    def ptr(self) -> torch.Tensor:
        return torch.from_numpy(self._ptr.copy())

    @property
    def nodes(self) -> torch.Tensor:
        return torch.from_numpy(self._nodes.copy())

    @property
    def roots(self) -> torch.Tensor:
        return torch.from_numpy(self._roots.copy())

    def __len__(self) -> int:
        return self._len

    def __getitem__(self, i: int) -> torch.Tensor:
        i = check_int(i, 'i', -self._len, self._len - 1) % max(self._len, 1)
        p = self._pbuf
        return torch.from_numpy(self._nbuf[p[i]:p[i + 1]].astype(np.int64))

    def sizes(self) -> np.ndarray:
        return np.diff(self._ptr)

    @property
    def nbytes(self) -> int:
        r"""Bytes held by the sets (``ptr``, ``nodes``, ``roots``, with
        their spare capacity) and, once built, by the inverted index."""
        b = self._pbuf.nbytes + self._nbuf.nbytes + self._rbuf.nbytes
        for cached in (self._index, self._compact):
            if cached is not None:
                b += sum(a.nbytes for a in cached)
        return b

    def index(self) -> Tuple[np.ndarray, np.ndarray]:
        r"""The inverted index ``(node_ptr int64, node_rr int32)``."""
        if self._index is None:
            self._index = K.inverted_index(self._ptr, self._nodes,
                                           self.num_nodes)
        return self._index

    def max_cover(self, k: int, cand: np.ndarray):
        r"""Greedy maximum coverage of :obj:`k` nodes of the candidate mask
        :obj:`cand` (uint8 ``[n]``) with the prefix upper bound:
        ``(seeds int64[k], gains int64[k], upper int64)``, as
        :func:`~pyg_ext.influence._greedy.greedy_max_cover`. A collection
        with fewer entries than nodes runs on its distinct nodes only
        (same seeds, gains and bound: once no candidate covers a new set,
        the remaining seeds are the smallest unselected candidate ids)."""
        n = self.num_nodes
        if self._size >= n:
            node_ptr, node_rr = self.index()
            return K.greedy_max_cover(self._ptr, self._nodes, node_ptr,
                                      node_rr, n, k, cand)
        if self._compact is None:
            touched, nodes = K.compact_ids(self._nodes, n)
            self._compact = (touched, nodes) + K.inverted_index(
                self._ptr, nodes, touched.shape[0])
        touched, nodes, node_ptr, node_rr = self._compact
        cand_c = cand[touched]
        kk = min(k, int(np.count_nonzero(cand_c)))
        seeds = np.empty(k, dtype=np.int64)
        gains = np.zeros(k, dtype=np.int64)
        upper = 0
        if kk:
            s_c, g_c, upper = K.greedy_max_cover(
                self._ptr, nodes, node_ptr, node_rr, touched.shape[0], kk,
                cand_c)
            p = int(np.count_nonzero(g_c))  # positive gains come first
            seeds[:p], gains[:p] = touched[s_c[:p]], g_c[:p]
        else:
            p = 0
        if p < k:  # zero gains: the smallest unselected candidates
            free = np.flatnonzero(cand)
            free = free[~np.isin(free, seeds[:p])][:k - p]
            seeds[p:] = free
        return seeds, gains, upper

    def _reserve(self, extra_sets: int, extra_nodes: int) -> None:
        need_p = self._len + 1 + extra_sets
        if need_p > self._pbuf.shape[0]:
            cap = max(need_p, 2 * self._pbuf.shape[0])
            for name in ('_pbuf', '_rbuf'):
                old = getattr(self, name)
                new = np.empty(cap - (name == '_rbuf'), dtype=old.dtype)
                new[:old.shape[0]] = old
                setattr(self, name, new)
        need_n = self._size + extra_nodes
        if need_n > self._nbuf.shape[0]:
            new = np.empty(max(need_n, self._nbuf.shape[0] * 5 // 4),
                           dtype=np.int32)
            new[:self._size] = self._nodes
            self._nbuf = new

    def _append(self, sizes: np.ndarray, nodes: np.ndarray,
                roots: np.ndarray) -> None:
        k, t = sizes.shape[0], nodes.shape[0]
        self._reserve(k, t)
        np.cumsum(sizes, out=self._pbuf[self._len + 1:self._len + 1 + k])
        self._pbuf[self._len + 1:self._len + 1 + k] += self._size
        self._nbuf[self._size:self._size + t] = nodes
        self._rbuf[self._len:self._len + k] = roots
        self._len += k
        self._size += t
        self._index = None
        self._compact = None

    def append(self, sizes: Any, nodes: Any, roots: Any) -> None:
        r"""Appends sets given by their sizes, concatenated nodes and roots
        (validated like the constructor)."""
        sizes = np.asarray(sizes)
        if sizes.dtype == np.bool_ or not np.issubdtype(sizes.dtype,
                                                        np.integer) or \
                sizes.ndim != 1 or (sizes.size and sizes.min() < 0):
            raise ValueError("'sizes' must be a 1-D array of non-negative "
                             "integers")
        ptr = np.zeros(sizes.shape[0] + 1, dtype=np.int64)
        np.cumsum(sizes, out=ptr[1:])
        other = RRSets(ptr, nodes, roots, self.num_nodes)
        if self._len + len(other) > MAX_RR_SETS:
            raise ValueError(f"at most {MAX_RR_SETS} RR sets per collection")
        self._append(other.sizes(), other._nodes, other._roots)

    def coverage(self, seeds: Any) -> int:
        r""":math:`\Lambda(S)`: the number of RR sets hit by :obj:`seeds`."""
        return int(K.count_covered(self._ptr, self._nodes,
                                   _seed_mask(seeds, self.num_nodes)))

    def estimate(self, seeds: Any, alpha: float = 0.05) -> SpreadEstimate:
        r"""The unbiased estimate :math:`n\Lambda(S)/\theta` with a normal
        :math:`1-\alpha` interval."""
        alpha = check_float(alpha, 'alpha', 0.0, 1.0, True, True)
        theta = len(self)
        if theta == 0:
            raise ValueError('the RR collection is empty')
        q = self.coverage(seeds) / theta
        std = self.scale * math.sqrt(q * (1 - q))
        z = NormalDist().inv_cdf(1 - alpha / 2)
        half = z * std / math.sqrt(theta)
        mean = self.scale * q
        return SpreadEstimate(mean, std, mean - half, mean + half, theta)

    def __repr__(self) -> str:
        return (f'RRSets(num_sets={len(self)}, num_entries='
                f'{self._size}, num_nodes={self.num_nodes})')


_METHODS = {'vanilla': K.VANILLA, 'subsim': K.SUBSIM, 'auto': K.SUBSIM}


class RRSampler:
    r"""Draws RR sets of one graph from one (seed, stream) pair; successive
    calls continue the block sequence, so a collection can be grown.

    :obj:`max_bytes` bounds the memory of each collection it fills; the
    check runs after every group of blocks, so a collection never grows
    past it by more than one group."""
    def __init__(self, graph: DiffusionGraph, seed: int, stream: int = 0,
                 method: str = 'auto', exclude: Optional[np.ndarray] = None,
                 root_pool: Optional[np.ndarray] = None,
                 num_threads: Optional[int] = None,
                 max_bytes: Optional[int] = None):
        check_choice(method, 'method', tuple(_METHODS))
        self.graph = graph
        self.seed = seed
        self.stream = stream
        self.method = _METHODS[method]
        self.excluded = _EMPTY_U8 if exclude is None or not exclude.any() \
            else exclude
        self.root_pool = _EMPTY_I32 if root_pool is None else root_pool
        self.next_block = 0
        self.num_threads = num_threads
        self.max_bytes = max_bytes
        self._work = queue.SimpleQueue()

    @contextlib.contextmanager
    def _stamp(self):
        r"""A visited-flags workspace of this sampler (one per thread,
        reused across calls; the kernels leave it all-zero)."""
        try:
            stamp = self._work.get_nowait()
        except queue.Empty:
            stamp = np.zeros(self.graph.num_nodes, dtype=np.uint8)
        try:
            yield stamp
        finally:
            self._work.put(stamp)

    def _block(self, size, seed, fixed_roots=_EMPTY_I32, stop=_EMPTY_U8):
        g = self.graph
        with self._stamp() as stamp:
            return K.rr_block(g.in_ptr, g.in_src, g.in_p, g._cum, g.equal,
                              g.logq, g.num_nodes, size, seed,
                              g.model == 'LT', self.method, self.excluded,
                              self.root_pool, fixed_roots, stop, stamp)

    def _run(self, sizes, seeds, stop=_EMPTY_U8) -> list:
        r"""Samples consecutive blocks: one compiled call per thread, on
        contiguous chunks of the blocks; outputs in block order."""
        g = self.graph
        sizes = np.asarray(sizes, dtype=np.int64)
        seeds = np.asarray(seeds, dtype=np.int64)

        def chunk(lo_hi):
            lo, hi = lo_hi
            with self._stamp() as stamp:
                return K.rr_blocks(g.in_ptr, g.in_src, g.in_p, g._cum,
                                   g.equal, g.logq, g.num_nodes,
                                   sizes[lo:hi], seeds[lo:hi],
                                   g.model == 'LT', self.method,
                                   self.excluded, self.root_pool, stop,
                                   stamp)
        nb = sizes.shape[0]
        t = min(self.num_threads or get_num_threads(), nb)
        if t <= 1:
            return [chunk((0, nb))] if nb else []
        bounds = [(nb * i // t, nb * (i + 1) // t) for i in range(t)]
        with ThreadPoolExecutor(max_workers=t) as ex:
            return list(ex.map(chunk, bounds))

    def plan(self, count: int) -> Tuple[np.ndarray, np.ndarray]:
        r"""The sizes and seeds (int64 arrays) of the next blocks for
        :obj:`count` sets; advances the block sequence past them. Any split
        of these blocks, each sampled by :meth:`sample`, gives the sets of
        one :meth:`fill` of :obj:`count` in block order."""
        nb = num_blocks(count)
        base, rest = divmod(count, nb) if nb else (0, 0)
        sizes = np.full(nb, base, dtype=np.int64)
        sizes[:rest] += 1
        seeds = np.asarray(block_seeds(self.seed, self.stream,
                                       self.next_block, nb), dtype=np.int64)
        self.next_block += nb
        return sizes, seeds

    def _groups(self, count: int, part: Optional[Tuple[int, int]] = None):
        r"""The (sizes, seeds) of the next blocks for :obj:`count` sets, in
        groups; with ``part=(rank, world)`` only that rank's contiguous
        share of the blocks (the block numbers still advance by all of
        them, so the ranks' shares together are the one-process sample)."""
        sizes, seeds = self.plan(count)
        if part is not None:
            nb = sizes.shape[0]
            lo, hi = nb * part[0] // part[1], nb * (part[0] + 1) // part[1]
            sizes, seeds = sizes[lo:hi], seeds[lo:hi]
        g = max(MIN_BLOCKS, 4 * (self.num_threads or get_num_threads()))
        for i in range(0, len(sizes), g):
            yield sizes[i:i + g], seeds[i:i + g]

    def hits(self, count: int, stop: np.ndarray) -> np.ndarray:
        r"""Draws :obj:`count` sets that stop at :obj:`stop`; returns only
        their ``hit`` flags (nothing is stored)."""
        out = []
        for sizes, seeds in self._groups(count):
            out.extend(o[3] for o in self._run(sizes, seeds, stop))
        return np.concatenate(out) if out else _EMPTY_U8

    def fill(self, rr: 'RRSets', count: int,
             part: Optional[Tuple[int, int]] = None) -> None:
        own = count if part is None else -(-count // part[1])
        if len(rr):  # reserve for sets of the current average size
            rr._reserve(own, int(own * rr._size / len(rr) * 1.05))
        for sizes, seeds in self._groups(count, part):
            self._take(rr, sizes, seeds)

    def sample(self, rr: 'RRSets', sizes: np.ndarray,
               seeds: np.ndarray) -> None:
        r"""Appends the sets of the blocks :obj:`sizes`, :obj:`seeds` (a
        slice of :meth:`plan`) to :obj:`rr`, under the memory bound."""
        g = max(MIN_BLOCKS, 4 * (self.num_threads or get_num_threads()))
        for i in range(0, len(sizes), g):
            self._take(rr, sizes[i:i + g], seeds[i:i + g])

    def _take(self, rr: 'RRSets', sizes, seeds) -> None:
        for o in self._run(sizes, seeds):
            rr._append(o[0], o[1], o[2])
        self.check_bytes(rr)

    def check_bytes(self, rr: 'RRSets') -> None:
        r"""Raises the memory-bound error when :obj:`rr` holds more than
        :attr:`max_bytes`."""
        if self.max_bytes is not None and rr.nbytes > self.max_bytes:
            raise ValueError(
                f"the RR collection grew past the memory bound "
                f"({fmt_bytes(rr.nbytes)} after {len(rr)} sets, "
                f"average size {rr._size / max(len(rr), 1):.1f}); pass "
                f"a larger 'max_memory' or relax the accuracy")

    def new(self, count: int) -> RRSets:
        scale = self.root_pool.shape[0] or self.graph.num_nodes
        rr = RRSets(np.zeros(1, np.int64), _EMPTY_I32, _EMPTY_I32,
                    self.graph.num_nodes, scale, _trusted=True)
        self.fill(rr, count)
        return rr

    def grow(self, rr: RRSets, target: int) -> RRSets:
        r"""Appends sets to :obj:`rr` until it holds :obj:`target`."""
        extra = int(target) - len(rr)
        if extra > 0:
            self.fill(rr, extra)
        return rr


def rr_bytes(count: float, avg_size: float = 1.0, index: bool = True) -> \
        float:
    r"""Estimated bytes of :obj:`count` RR sets of :obj:`avg_size` entries
    (with the inverted index)."""
    per = RR_SET_BYTES + avg_size * (RR_ENTRY_BYTES if index else 4)
    return count * per


def sample_rr_sets(graph: Any, num_nodes: Optional[int] = None,
                   model: Optional[str] = None, probs: Optional[Any] = None,
                   n: int = 10000, seed: Any = None, method: str = 'auto',
                   exclude: Optional[Any] = None, roots: Optional[Any] = None,
                   num_threads: Optional[int] = None,
                   max_memory: Optional[int] = None,
                   *, weighting: Optional[str] = None,
                   p: Optional[float] = None,
                   self_loops: Optional[str] = None) -> RRSets:
    r"""Samples :obj:`n` random RR sets (Borgs et al.) so that
    :math:`\hat\sigma(S) = n_V \Lambda(S) / \theta` is unbiased.

    IC uses a reverse BFS with per-edge coins (``'vanilla'``) or, on nodes
    whose in-edges share one probability (WC, uniform), the SUBSIM geometric
    skip :math:`i \leftarrow i + 1 + \lfloor \ln U / \ln(1-p) \rfloor`
    (``'subsim'``/``'auto'``). LT uses the reverse random walk with a binary
    search over cumulative in-weights.

    Args:
        graph (torch.Tensor or DiffusionGraph or networkx.Graph): The graph
            (``edge_index`` is converted by :func:`prepare`).
        n (int): Number of RR sets (at most :math:`2^{31} - 1`).
        seed (int or numpy.random.Generator, optional): Results are identical
            for a fixed seed whatever the number of threads.
        method (str): ``'auto'``, ``'vanilla'`` or ``'subsim'``.
        exclude (LongTensor, optional): Nodes removed from the graph (roots
            there give empty sets); used for CIM's passive graph.
        roots (LongTensor, optional): ``[n]`` fixed roots.
        num_threads (int, optional): Threads for the sampling blocks.
        max_memory (int, optional): Bytes the collection may take; a
            request that cannot fit is refused up front, and sampling stops
            with an error if the sets turn out larger (default: half the
            physical memory).

    Example:
        >>> ei = torch.tensor([[0, 1], [1, 2]])
        >>> rr = sample_rr_sets(ei, 3, n=100, seed=0)
        >>> len(rr)
        100
    """
    g = as_graph(graph, num_nodes, model, probs, weighting, p,
                 self_loops)
    n = check_int(n, 'n', 0)
    check_choice(method, 'method', tuple(_METHODS))
    max_memory = check_limit(max_memory, 'max_memory')
    num_threads = check_threads(num_threads)
    ex = node_mask(exclude, 'exclude', g.num_nodes)
    root = as_seed(seed)
    if roots is not None:
        roots = index_array(roots, 'roots', g.num_nodes)
        if roots.shape[0] != n:
            raise ValueError(f"'roots' must hold n={n} node ids, got "
                             f"{roots.shape[0]}")
    check_budget('sample_rr_sets', n, rr_bytes(n, index=False), MAX_RR_SETS,
                 max_memory, count_name='max_rr_sets (the int32 limit)',
                 arg='n')
    limit = default_max_memory() if max_memory is None else max_memory
    sampler = RRSampler(g, root, 0, method, ex, None, num_threads, limit)
    if roots is None:
        return sampler.new(n)
    roots = roots.astype(np.int32)
    rr = sampler.new(0)
    for b in range(0, n, BLOCK_SIZE):
        r = np.ascontiguousarray(roots[b:b + BLOCK_SIZE])
        s, nd, rt, _ = sampler._block(
            r.shape[0], block_seed(sampler.seed, 0, b // BLOCK_SIZE), r)
        rr._append(s, nd, rt)
        if rr.nbytes > limit:
            raise ValueError(f"the RR collection grew past max_memory="
                             f"{fmt_bytes(limit)} after {len(rr)} sets")
    return rr
