r"""Reverse-reachable (RR) set sampling in fixed-size, independently seeded
blocks (thread-count independent), flat storage and the inverted index."""
import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any, Optional, Sequence, Tuple

import numpy as np
import torch

from pyg_ext.influence import _kernels as K
from pyg_ext.influence.graph import DiffusionGraph, as_graph, as_seed

__all__ = [
    'RRSets', 'SpreadEstimate', 'sample_rr_sets', 'set_num_threads',
    'get_num_threads', 'BLOCK_SIZE'
]

BLOCK_SIZE = 4096
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


def block_seed(root_seed: int, stream: int, block: int) -> int:
    r"""The 63-bit seed of block :obj:`block` of stream :obj:`stream`."""
    ss = np.random.SeedSequence(entropy=root_seed, spawn_key=(stream, block))
    a, b = ss.generate_state(2, dtype=np.uint32).tolist()
    return ((a & 0x7FFFFFFF) << 32) | b


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


def _seed_mask(seeds: Any, n: int) -> np.ndarray:
    if isinstance(seeds, torch.Tensor):
        seeds = seeds.detach().cpu().numpy()
    s = np.asarray(seeds, dtype=np.int64).reshape(-1)
    if s.size and (s.min() < 0 or s.max() >= n):
        raise ValueError(f"'seeds' must be node ids in [0, {n - 1}], got "
                         f"min {s.min()} max {s.max()}")
    mask = np.zeros(n, dtype=np.uint8)
    mask[s] = 1
    return mask


class RRSets:
    r"""A flat collection of RR sets: ``ptr`` (int64, ``[θ+1]``), ``nodes``
    (int32, ``[Σ|R|]``) and ``roots`` (int32, ``[θ]``), plus the node → RR
    inverted index built on demand by counting sort.

    Args:
        scale (int): The estimator multiplier (:math:`n`, or the size of the
            root pool when roots are restricted).
    """
    def __init__(self, ptr: np.ndarray, nodes: np.ndarray, roots: np.ndarray,
                 num_nodes: int, scale: Optional[int] = None):
        self._ptr = np.ascontiguousarray(ptr, dtype=np.int64)
        self._nodes = np.ascontiguousarray(nodes, dtype=np.int32)
        self._roots = np.ascontiguousarray(roots, dtype=np.int32)
        self.num_nodes = int(num_nodes)
        self.scale = int(num_nodes if scale is None else scale)
        self._index = None

    @property
    def ptr(self) -> torch.Tensor:
        return torch.from_numpy(self._ptr)

    @property
    def nodes(self) -> torch.Tensor:
        return torch.from_numpy(self._nodes)

    @property
    def roots(self) -> torch.Tensor:
        return torch.from_numpy(self._roots)

    def __len__(self) -> int:
        return self._ptr.shape[0] - 1

    def __getitem__(self, i: int) -> torch.Tensor:
        return torch.from_numpy(
            self._nodes[self._ptr[i]:self._ptr[i + 1]].astype(np.int64))

    def sizes(self) -> np.ndarray:
        return np.diff(self._ptr)

    def index(self) -> Tuple[np.ndarray, np.ndarray]:
        r"""The inverted index ``(node_ptr, node_rr)``."""
        if self._index is None:
            self._index = K.inverted_index(self._ptr, self._nodes,
                                           self.num_nodes)
        return self._index

    def append(self, sizes: np.ndarray, nodes: np.ndarray,
               roots: np.ndarray) -> None:
        off = self._ptr[-1]
        self._ptr = np.concatenate([self._ptr, off + np.cumsum(sizes)])
        self._nodes = np.concatenate([self._nodes, nodes])
        self._roots = np.concatenate([self._roots, roots])
        self._index = None

    def coverage(self, seeds: Any) -> int:
        r""":math:`\Lambda(S)`: the number of RR sets hit by :obj:`seeds`."""
        return int(K.count_covered(self._ptr, self._nodes,
                                   _seed_mask(seeds, self.num_nodes)))

    def estimate(self, seeds: Any, alpha: float = 0.05) -> SpreadEstimate:
        r"""The unbiased estimate :math:`n\Lambda(S)/\theta` with a normal
        :math:`1-\alpha` interval."""
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
                f'{self._nodes.shape[0]}, num_nodes={self.num_nodes})')


_METHODS = {'vanilla': K.VANILLA, 'subsim': K.SUBSIM, 'auto': K.SUBSIM}


class RRSampler:
    r"""Draws RR sets of one graph from one (seed, stream) pair; successive
    calls continue the block sequence, so a collection can be grown."""
    def __init__(self, graph: DiffusionGraph, seed: int, stream: int = 0,
                 method: str = 'auto', exclude: Optional[np.ndarray] = None,
                 root_pool: Optional[np.ndarray] = None,
                 num_threads: Optional[int] = None):
        if method not in _METHODS:
            raise ValueError(f"'method' must be 'auto', 'vanilla' or "
                             f"'subsim', got {method!r}")
        self.graph = graph
        self.seed = seed
        self.stream = stream
        self.method = _METHODS[method]
        n = graph.num_nodes
        self.excluded = np.zeros(n, dtype=np.uint8) if exclude is None \
            else exclude
        self.root_pool = _EMPTY_I32 if root_pool is None else root_pool
        self.next_block = 0
        self.num_threads = num_threads

    def _block(self, size, seed, fixed_roots=_EMPTY_I32, stop=_EMPTY_U8):
        g = self.graph
        return K.rr_block(g.in_ptr, g.in_src, g.in_p, g.in_cum, g.equal,
                          g.logq, g.num_nodes, size, seed, g.model == 'LT',
                          self.method, self.excluded, self.root_pool,
                          fixed_roots, stop)

    def draw(self, count: int, stop: np.ndarray = _EMPTY_U8):
        r"""Returns ``(sizes, nodes, roots, hit)`` of :obj:`count` new sets."""
        nb = -(-count // BLOCK_SIZE)
        sizes = [min(BLOCK_SIZE, count - b * BLOCK_SIZE) for b in range(nb)]
        seeds = [block_seed(self.seed, self.stream, self.next_block + b)
                 for b in range(nb)]
        self.next_block += nb
        outs = run_blocks(lambda s, sd: self._block(s, sd, stop=stop), sizes,
                          seeds, self.num_threads)
        if not outs:
            return (np.zeros(0, np.int64), _EMPTY_I32, _EMPTY_I32, _EMPTY_U8)
        return tuple(np.concatenate([o[i] for o in outs]) for i in range(4))

    def new(self, count: int) -> RRSets:
        sizes, nodes, roots, _ = self.draw(count)
        ptr = np.zeros(count + 1, dtype=np.int64)
        np.cumsum(sizes, out=ptr[1:])
        scale = self.root_pool.shape[0] or self.graph.num_nodes
        return RRSets(ptr, nodes, roots, self.graph.num_nodes, scale)

    def grow(self, rr: RRSets, target: int) -> RRSets:
        r"""Appends sets to :obj:`rr` until it holds :obj:`target`."""
        extra = int(target) - len(rr)
        if extra > 0:
            sizes, nodes, roots, _ = self.draw(extra)
            rr.append(sizes, nodes, roots)
        return rr


def _node_mask(nodes: Any, n: int, name: str) -> np.ndarray:
    if nodes is None:
        return np.zeros(n, dtype=np.uint8)
    if isinstance(nodes, torch.Tensor):
        nodes = nodes.detach().cpu().numpy()
    a = np.asarray(nodes).reshape(-1)
    if a.dtype == bool and a.shape[0] == n:
        return a.astype(np.uint8)
    a = a.astype(np.int64)
    if a.size and (a.min() < 0 or a.max() >= n):
        raise ValueError(f"'{name}' must hold node ids in [0, {n - 1}], got "
                         f"min {a.min()} max {a.max()}")
    mask = np.zeros(n, dtype=np.uint8)
    mask[a] = 1
    return mask


def sample_rr_sets(graph: Any, num_nodes: Optional[int] = None,
                   model: Optional[str] = None, probs: Optional[Any] = None,
                   n: int = 10000, seed: Any = None, method: str = 'auto',
                   exclude: Optional[Any] = None, roots: Optional[Any] = None,
                   num_threads: Optional[int] = None,
                   **kwargs) -> RRSets:
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
        n (int): Number of RR sets.
        seed (int or numpy.random.Generator, optional): Results are identical
            for a fixed seed whatever the number of threads.
        method (str): ``'auto'``, ``'vanilla'`` or ``'subsim'``.
        exclude (LongTensor, optional): Nodes removed from the graph (roots
            there give empty sets); used for CIM's passive graph.
        roots (LongTensor, optional): ``[n]`` fixed roots.
        num_threads (int, optional): Threads for the sampling blocks.

    Example:
        >>> ei = torch.tensor([[0, 1], [1, 2]])
        >>> rr = sample_rr_sets(ei, 3, n=100, seed=0)
        >>> len(rr)
        100
    """
    g = as_graph(graph, num_nodes, model=model, probs=probs, **kwargs)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"'n' (number of RR sets) must be an int >= 0, got "
                         f"{n!r}")
    sampler = RRSampler(g, as_seed(seed), 0, method,
                        _node_mask(exclude, g.num_nodes, 'exclude'),
                        None, num_threads)
    if roots is None:
        return sampler.new(int(n))
    if isinstance(roots, torch.Tensor):
        roots = roots.detach().cpu().numpy()
    roots = np.asarray(roots, dtype=np.int64).reshape(-1)
    if roots.shape[0] != n:
        raise ValueError(f"'roots' must hold n={n} node ids, got "
                         f"{roots.shape[0]}")
    if roots.size and (roots.min() < 0 or roots.max() >= g.num_nodes):
        raise ValueError(f"'roots' must be node ids in [0, "
                         f"{g.num_nodes - 1}]")
    roots = roots.astype(np.int32)
    sizes_l, nodes_l, roots_l = [], [], []
    for b in range(0, n, BLOCK_SIZE):
        r = np.ascontiguousarray(roots[b:b + BLOCK_SIZE])
        s, nd, rt, _ = sampler._block(
            r.shape[0], block_seed(sampler.seed, 0, b // BLOCK_SIZE), r)
        sizes_l.append(s)
        nodes_l.append(nd)
        roots_l.append(rt)
    sizes = np.concatenate(sizes_l) if sizes_l else np.zeros(0, np.int64)
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(sizes, out=ptr[1:])
    return RRSets(ptr, np.concatenate(nodes_l) if nodes_l else _EMPTY_I32,
                  roots, g.num_nodes)
