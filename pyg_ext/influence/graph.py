r"""Diffusion graphs: PyG ``edge_index`` (or networkx) -> a validated
reverse CSR (int32 sources, float32 probabilities) built by O(n + m)
counting sorts, a forward CSR built on first use, and a binary cache."""
import json
import math
import os
import zlib
from typing import Any, Optional, Union

import numpy as np
import torch

from pyg_ext.influence import _prep as P
from pyg_ext.influence._checks import (check_choice, check_float, check_int,
                                       prob_array)

__all__ = ['DiffusionGraph', 'prepare', 'as_graph', 'as_seed']

_MAGIC = b'PYGEXTDG'
_VERSION = 1
_ALIGN = 64
_CORE = (('in_ptr', np.int64), ('in_src', np.int32), ('in_p', np.float32))


def _readonly(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


class DiffusionGraph:
    r"""A validated diffusion graph: reverse CSR for RR sampling, forward
    CSR (built on first use) for Monte Carlo.

    Constructing one directly checks the arrays once (ids in range, ``ptr``
    monotone from 0 to ``m``, probabilities finite in [0, 1], LT in-weights
    summing to at most 1 per node) and derives the per-node sampling data;
    :func:`prepare` builds one from an ``edge_index``. The arrays are
    read-only.

    Args:
        num_nodes (int): :math:`n`.
        model (str): ``'IC'`` or ``'LT'``.
        in_ptr (numpy.ndarray): ``int64 [n + 1]`` start of each node's
            in-list.
        in_src (numpy.ndarray): ``int32 [m]`` source of each in-edge.
        in_p (numpy.ndarray): ``float32 [m]`` IC probability / LT weight of
            each in-edge. In-lists whose probabilities differ must be
            sorted by probability, descending (:func:`prepare` does this;
            otherwise they are sorted here).

    Attributes:
        equal (numpy.ndarray): uint8 per node, 1 if all in-probabilities
            are equal (enables the geometric skip of SUBSIM).
        logq (numpy.ndarray): :math:`\log(1 - p)` of each node's first
            in-edge (``-1e300`` when :math:`p = 1`).
        in_cum (numpy.ndarray): float32 per-node cumulative in-weights
            (kept under LT, where the sampler uses them; computed on access
            under IC).
        out_ptr, out_dst, out_p: The forward CSR (targets ascending within a
            source), built and kept on first access.
    """
    def __init__(self, num_nodes: int, model: str, in_ptr: Any, in_src: Any,
                 in_p: Any, _trusted: bool = False):
        n = check_int(num_nodes, 'num_nodes', 1, 2**31 - 2)
        if not isinstance(model, str) or model.upper() not in ('IC', 'LT'):
            raise ValueError(f"'model' must be 'IC' or 'LT', got {model!r}")
        self._n = n
        self._model = model.upper()
        arrays = {}
        for (name, dt), a in zip(_CORE, (in_ptr, in_src, in_p)):
            if isinstance(a, torch.Tensor):
                a = a.detach().cpu().numpy()
            if not isinstance(a, np.ndarray) or a.ndim != 1:
                raise TypeError(f"'{name}' must be a 1-D numpy array, got "
                                f"{type(a).__name__}")
            if not _trusted:
                kind = np.issubdtype(a.dtype, np.floating) if dt is \
                    np.float32 else np.issubdtype(a.dtype, np.integer)
                if not kind:
                    raise TypeError(f"'{name}' must have dtype "
                                    f"{np.dtype(dt).name}, got {a.dtype}")
            arrays[name] = np.ascontiguousarray(a, dtype=dt)
        in_ptr, in_src, in_p = (arrays[k] for k, _ in _CORE)
        if in_ptr.shape[0] != n + 1:
            raise ValueError(f"'in_ptr' must have num_nodes + 1 = {n + 1} "
                             f"entries, got {in_ptr.shape[0]}")
        if in_src.shape[0] != in_p.shape[0]:
            raise ValueError(f"'in_src' and 'in_p' must have the same length,"
                             f" got {in_src.shape[0]} and {in_p.shape[0]}")
        if not _trusted:
            code, where, val = P.check_graph(in_ptr, in_src, in_p, n)
            if code == 6:  # sort unequal in-lists by probability, desc
                in_src, in_p = in_src.copy(), in_p.copy()
                p64 = in_p.astype(np.float64)
                P.sort_unequal(in_ptr, in_src, p64)
                in_p = p64.astype(np.float32)
                code, where, val = P.check_graph(in_ptr, in_src, in_p, n)
            _raise_graph_error(code, where, val, n, in_src.shape[0])
        equal, logq, in_cum, worst = P.node_flags(in_ptr, in_p,
                                                  self._model == 'LT')
        if self._model == 'LT' and worst > 1 + 1e-6:
            raise ValueError(f"LT in-weights must sum to <= 1 per node; the "
                             f"largest sum is {worst:.6g}")
        self._arr = dict(in_ptr=_readonly(in_ptr), in_src=_readonly(in_src),
                         in_p=_readonly(in_p), equal=_readonly(equal),
                         logq=_readonly(logq))
        self._cum = _readonly(in_cum)
        self._fwd = None

    # read-only attributes: the kernels trust them once validated
    num_nodes = property(lambda self: self._n)
    model = property(lambda self: self._model)
    in_ptr = property(lambda self: self._arr['in_ptr'])
    in_src = property(lambda self: self._arr['in_src'])
    in_p = property(lambda self: self._arr['in_p'])
    equal = property(lambda self: self._arr['equal'])
    logq = property(lambda self: self._arr['logq'])

    @property
    def in_cum(self) -> np.ndarray:
        if self.model == 'LT':
            return self._cum
        return P.node_flags(self.in_ptr, self.in_p, True)[2]

    # -- derived views ---------------------------------------------------
    @property
    def num_edges(self) -> int:
        return int(self.in_src.shape[0])

    def in_degree(self) -> np.ndarray:
        return np.diff(self.in_ptr)

    def out_degree(self) -> np.ndarray:
        return np.diff(self.out_ptr)

    @property
    def src(self) -> np.ndarray:
        r"""Sources of the edges in reverse-CSR order (int32)."""
        return self.in_src

    @property
    def dst(self) -> np.ndarray:
        r"""Targets of the edges in reverse-CSR order (int32, a new
        array)."""
        return np.repeat(np.arange(self.num_nodes, dtype=np.int32),
                         self.in_degree())

    @property
    def prob(self) -> np.ndarray:
        r"""Edge probabilities / LT weights in reverse-CSR order
        (float64, a new array)."""
        return self.in_p.astype(np.float64)

    @property
    def edge_index(self) -> torch.Tensor:
        return torch.from_numpy(np.stack([self.src, self.dst]).astype(
            np.int64))

    def _forward(self):
        if self._fwd is None:
            self._fwd = tuple(_readonly(a) for a in P.forward_csr(
                self.in_ptr, self.in_src, self.in_p, self.num_nodes))
        return self._fwd

    @property
    def out_ptr(self) -> np.ndarray:
        return self._forward()[0]

    @property
    def out_dst(self) -> np.ndarray:
        return self._forward()[1]

    @property
    def out_p(self) -> np.ndarray:
        return self._forward()[2]

    @property
    def nbytes(self) -> int:
        r"""Bytes held by the arrays (the forward CSR only once built)."""
        arrs = [self.in_ptr, self.in_src, self.in_p, self.equal, self.logq,
                self._cum] + list(self._fwd or ())
        return int(sum(a.nbytes for a in arrs))

    def with_model(self, model: str) -> 'DiffusionGraph':
        r"""The same graph and probabilities under another model (shares
        the arrays)."""
        return DiffusionGraph(self.num_nodes, model, self.in_ptr, self.in_src,
                              self.in_p, _trusted=True)

    # -- binary cache ----------------------------------------------------
    def save(self, path: Union[str, os.PathLike],
             fingerprint: Optional[str] = None) -> None:
        r"""Writes the reverse CSR to :obj:`path` (a small JSON header, then
        the raw arrays, 64-byte aligned); :meth:`load` reads it back."""
        specs, off = {}, 0
        for name, dt in _CORE:
            a = getattr(self, name)
            specs[name] = [np.dtype(dt).str, int(a.shape[0]), off]
            off += -(-a.nbytes // _ALIGN) * _ALIGN
        head = json.dumps(dict(version=_VERSION, num_nodes=self.num_nodes,
                               model=self.model, num_edges=self.num_edges,
                               fingerprint=fingerprint,
                               arrays=specs)).encode()
        start = -(-(len(_MAGIC) + 8 + len(head)) // _ALIGN) * _ALIGN
        tmp = f'{os.fspath(path)}.tmp{os.getpid()}'
        with open(tmp, 'wb') as f:
            f.write(_MAGIC + np.uint64(len(head)).tobytes() + head)
            f.write(b'\0' * (start - f.tell()))
            for name, _ in _CORE:
                a = getattr(self, name)
                f.seek(start + specs[name][2])
                f.write(memoryview(a).cast('B'))
        os.replace(tmp, path)

    @staticmethod
    def read_header(path: Union[str, os.PathLike]) -> dict:
        with open(path, 'rb') as f:
            magic = f.read(len(_MAGIC))
            if magic != _MAGIC:
                raise ValueError(f"{os.fspath(path)!r} is not a pyg_ext "
                                 f"DiffusionGraph file")
            size = int(np.frombuffer(f.read(8), dtype=np.uint64)[0])
            if size > 2**20:
                raise ValueError(f"{os.fspath(path)!r}: corrupt header")
            head = json.loads(f.read(size).decode())
        if head.get('version') != _VERSION:
            raise ValueError(f"{os.fspath(path)!r}: unsupported version "
                             f"{head.get('version')}")
        head['_start'] = -(-(len(_MAGIC) + 8 + size) // _ALIGN) * _ALIGN
        return head

    @classmethod
    def load(cls, path: Union[str, os.PathLike],
             mmap: bool = False) -> 'DiffusionGraph':
        r"""Reads a graph written by :meth:`save` and validates it (ids,
        ``ptr``, probabilities) before any kernel can use it. With
        :obj:`mmap` the arrays are memory-mapped read-only."""
        head = cls.read_header(path)
        arrays = []
        with open(path, 'rb') as f:
            for name, dt in _CORE:
                code, count, off = head['arrays'][name]
                if np.dtype(code) != np.dtype(dt) or count < 0:
                    raise ValueError(f"{os.fspath(path)!r}: bad array "
                                     f"'{name}'")
                pos = head['_start'] + off
                if mmap:
                    a = np.memmap(path, dtype=dt, mode='r', offset=pos,
                                  shape=(count, )) if count else \
                        np.zeros(0, dt)
                else:
                    a = np.empty(count, dtype=dt)
                    f.seek(pos)
                    if f.readinto(memoryview(a).cast('B')) != a.nbytes:
                        raise ValueError(f"{os.fspath(path)!r} is truncated")
                arrays.append(a)
        return cls(head['num_nodes'], head['model'], *arrays)

    def __repr__(self) -> str:
        return (f'DiffusionGraph(num_nodes={self.num_nodes}, '
                f'num_edges={self.num_edges}, model={self.model!r})')


def _raise_graph_error(code, where, val, n, m):
    msgs = {
        1: f"'in_ptr' must start at 0, got {val:g}",
        2: f"'in_ptr' must be non-decreasing; in_ptr[{where + 1}] = {val:g} "
        f"is smaller than in_ptr[{where}]",
        3: f"'in_ptr' must end at len(in_src) = {m}, got {val:g}",
        4: f"'in_src' must hold node ids in [0, {n - 1}], got {val:g} at "
        f"position {where}",
        5: f"'in_p' must lie in [0, 1] (finite), got {val!r} at position "
        f"{where}",
    }
    if code:
        raise ValueError(msgs[code])


def _edge_rows(edge_index: Any):
    r"""``(src, dst)`` contiguous int32/int64 rows of a ``[2, m]`` integer
    tensor or array (no copy when possible)."""
    if isinstance(edge_index, torch.Tensor):
        if edge_index.is_floating_point() or edge_index.is_complex() or \
                edge_index.dtype == torch.bool:
            raise TypeError(f"'edge_index' must be an integer tensor, got "
                            f"dtype {edge_index.dtype}")
        ei = edge_index.detach().cpu().numpy()
    elif isinstance(edge_index, np.ndarray):
        if not np.issubdtype(edge_index.dtype, np.integer):
            raise TypeError(f"'edge_index' must hold integers, got dtype "
                            f"{edge_index.dtype}")
        ei = edge_index
    else:
        raise TypeError(f"'edge_index' must be a LongTensor of shape [2, m] "
                        f"or a networkx graph, got "
                        f"{type(edge_index).__name__}")
    if ei.ndim != 2 or ei.shape[0] != 2:
        hint = ' (transpose an [m, 2] edge list)' if ei.ndim == 2 and \
            ei.shape[1] == 2 else ''
        raise ValueError(f"'edge_index' must have shape [2, m], got "
                         f"{list(ei.shape)}{hint}")
    if ei.dtype not in (np.int32, np.int64):
        ei = ei.astype(np.int64)
    return np.ascontiguousarray(ei[0]), np.ascontiguousarray(ei[1])


def _from_networkx(g, probs):
    nodes = list(g.nodes())
    index = {v: i for i, v in enumerate(nodes)}
    src, dst, p = [], [], []
    for u, v, attr in g.edges(data=True):
        w = attr.get('p', attr.get('weight'))
        src.append(index[u])
        dst.append(index[v])
        p.append(w)
        if not g.is_directed():
            src.append(index[v])
            dst.append(index[u])
            p.append(w)
    ei = np.array([src, dst], dtype=np.int64).reshape(2, -1)
    if probs is None and p and all(w is not None for w in p):
        probs = np.asarray(p, dtype=np.float64)
    return ei, len(nodes), probs


def _fingerprint(src, dst, n, model, weighting, p, probs, self_loops):
    crc = 0
    for a in (src, dst) + ((probs, ) if probs is not None else ()):
        crc = zlib.crc32(memoryview(np.ascontiguousarray(a)).cast('B'), crc)
    return (f'n={n};m={src.shape[0]};{src.dtype};{model};{weighting};{p!r};'
            f'{self_loops};crc={crc}')


def prepare(edge_index: Any, num_nodes: Optional[int] = None,
            model: Optional[str] = None, probs: Optional[Any] = None,
            weighting: Optional[str] = None, p: float = 0.1,
            self_loops: str = 'keep',
            cache: Optional[Union[str, os.PathLike]] = None
            ) -> DiffusionGraph:
    r"""Converts a graph into a :class:`DiffusionGraph`, validating it once.

    Edge ``(u, v)`` (``edge_index[0] = u``, ``edge_index[1] = v``) means
    ``u`` can influence ``v``. Multi-edges are kept as independent chances.
    The reverse CSR is built by a counting sort by target (:math:`O(n +
    m)`, no ``lexsort``) with every in-list then sorted by source (and by
    probability, descending, where probabilities differ); it costs about
    10 bytes per edge (int32 sources, float32 probabilities, int64
    pointers). The effective probabilities are the float32 values.

    Args:
        edge_index (torch.Tensor or networkx.Graph): ``[2, m]`` integer
            edges, or a networkx graph (undirected edges are used in both
            directions; edge attribute ``'p'`` or ``'weight'`` is taken as
            the probability when every edge has one).
        num_nodes (int, optional): :math:`n` (default: ``max id + 1``).
        model (str, optional): ``'IC'`` or ``'LT'``. (default: :obj:`'IC'`)
        probs (torch.Tensor, optional): ``[m]`` per-edge probabilities
            (IC) or weights (LT); implies ``weighting='given'``.
        weighting (str, optional): ``'wc'`` (:math:`p(u,v) =
            1/\mathrm{indeg}(v)`), ``'uniform'`` (every edge :obj:`p`) or
            ``'given'``. (default: ``'given'`` if :obj:`probs` else
            ``'wc'``)
        p (float): The probability for ``weighting='uniform'``.
        self_loops (str): ``'keep'`` (harmless for IC/LT; they count in the
            in-degree under WC), ``'remove'`` or ``'error'``.
            (default: :obj:`'keep'`)
        cache (str or os.PathLike, optional): A file for the prepared graph:
            loaded if it was written for the same input (a CRC-32 of the
            edges and probabilities plus every option), written otherwise.
            :meth:`DiffusionGraph.save` / :meth:`DiffusionGraph.load` do the
            same explicitly.

    Example:
        >>> ei = torch.tensor([[0, 1], [1, 2]])
        >>> g = prepare(ei, 3)
        >>> g.in_p.tolist()
        [1.0, 1.0]
    """
    if isinstance(edge_index, DiffusionGraph):
        g = edge_index
        if num_nodes is not None and num_nodes != g.num_nodes:
            raise ValueError(f"'num_nodes' ({num_nodes!r}) disagrees with the "
                             f"DiffusionGraph ({g.num_nodes} nodes)")
        if probs is not None or weighting is not None or cache is not None:
            raise ValueError("'probs', 'weighting' and 'cache' apply to an "
                             "edge_index; the DiffusionGraph is already "
                             "prepared")
        if model is not None and str(model).upper() != g.model:
            return g.with_model(check_choice(str(model).upper(), 'model',
                                             ('IC', 'LT')))
        return g
    model = 'IC' if model is None else model
    if not isinstance(model, str) or model.upper() not in ('IC', 'LT'):
        raise ValueError(f"'model' must be 'IC' or 'LT', got {model!r}")
    model = model.upper()
    check_choice(self_loops, 'self_loops', ('keep', 'remove', 'error'))
    try:
        import networkx as nx
        is_nx = isinstance(edge_index, nx.Graph)
    except ImportError:  # pragma: no cover
        is_nx = False
    if is_nx:
        ei, n_nx, probs = _from_networkx(edge_index, probs)
        num_nodes = n_nx if num_nodes is None else num_nodes
        src, dst = ei[0], ei[1]
    else:
        src, dst = _edge_rows(edge_index)
    m = src.shape[0]
    lo_s, hi_s = P.int_range(src)
    lo_d, hi_d = P.int_range(dst)
    if num_nodes is None:
        num_nodes = max(int(hi_s), int(hi_d)) + 1 if m > 0 else 0
    n = check_int(num_nodes, 'num_nodes')
    if n < 1:
        raise ValueError(f"'num_nodes' must be >= 1 (the graph is empty), "
                         f"got {n}")
    if n >= 2**31 - 1:
        raise ValueError(f"'num_nodes' must be < 2**31 - 1, got {n}")
    if m > 0 and (min(lo_s, lo_d) < 0 or max(hi_s, hi_d) >= n):
        raise ValueError(f"'edge_index' holds node ids outside [0, {n - 1}] "
                         f"(min {min(lo_s, lo_d)}, max {max(hi_s, hi_d)})")

    if weighting is None:
        weighting = 'given' if probs is not None else 'wc'
    check_choice(weighting, 'weighting', ('wc', 'uniform', 'given'))
    if probs is not None and weighting != 'given':
        raise ValueError(f"'probs' was given, so 'weighting' must be 'given' "
                         f"(got {weighting!r})")
    const = 0.0
    if weighting == 'given':
        if probs is None:
            raise ValueError("weighting='given' needs 'probs' ([m] tensor)")
        probs = prob_array(probs, 'probs', m)
    elif weighting == 'uniform':
        const = check_float(p, 'p', 0.0, 1.0)
    fp = None
    if cache is not None:
        fp = _fingerprint(src, dst, n, model, weighting, const, probs,
                          self_loops)
        if os.path.exists(cache):
            try:
                same = DiffusionGraph.read_header(cache).get(
                    'fingerprint') == fp
            except (ValueError, OSError, KeyError):
                same = False
            if same:
                return DiffusionGraph.load(cache)

    loops = src == dst
    nloops = int(np.count_nonzero(loops)) if m else 0
    if nloops:
        if self_loops == 'error':
            raise ValueError(f"the graph has {nloops} self-loops (e.g. node "
                             f"{int(src[loops][0])}); pass self_loops='keep' "
                             f"or 'remove'")
        if self_loops == 'remove':
            keep = ~loops
            src, dst = src[keep], dst[keep]
            if probs is not None:
                probs = probs[keep]
            m = src.shape[0]
    del loops
    mode = {'given': P.W_GIVEN, 'wc': P.W_WC, 'uniform': P.W_UNIFORM}[
        weighting]
    in_ptr, in_src, in_p, p64 = P.reverse_csr(
        src, dst, n, mode, probs if probs is not None else np.zeros(0),
        const)
    if mode == P.W_GIVEN:
        if model == 'LT' and m:
            v, tot = P.lt_totals_max(in_ptr, p64)
            if tot > 1 + 1e-9:
                raise ValueError(f"LT in-weights must sum to <= 1 per node; "
                                 f"node {v} has {tot:.6g}")
        P.sort_unequal(in_ptr, in_src, p64)
        in_p = p64.astype(np.float32)
        del p64
    elif mode == P.W_UNIFORM and model == 'LT' and m:
        dmax = int(np.diff(in_ptr).max())
        if dmax * const > 1 + 1e-9:
            raise ValueError(f"LT in-weights must sum to <= 1 per node; a "
                             f"node with {dmax} in-edges of weight p={const} "
                             f"has {dmax * const:.6g}")
    g = DiffusionGraph(n, model, in_ptr, in_src, in_p, _trusted=True)
    if cache is not None:
        g.save(cache, fingerprint=fp)
    return g


def as_graph(graph: Any, num_nodes: Optional[int] = None,
             model: Optional[str] = None, probs: Optional[Any] = None,
             weighting: Optional[str] = None, p: Optional[float] = None,
             self_loops: Optional[str] = None) -> DiffusionGraph:
    r"""Returns :obj:`graph` if it is a :class:`DiffusionGraph` (checking
    that :obj:`num_nodes` and :obj:`model`, if given, match and that none of
    the preparation options is given), else :func:`prepare` s it (default
    model ``'IC'``, WC unless :obj:`probs`)."""
    if isinstance(graph, DiffusionGraph):
        if num_nodes is not None and num_nodes != graph.num_nodes:
            raise ValueError(f"'num_nodes' ({num_nodes!r}) disagrees with the "
                             f"DiffusionGraph ({graph.num_nodes} nodes)")
        if model is not None and str(model).upper() != graph.model:
            raise ValueError(f"the DiffusionGraph was prepared for model "
                             f"{graph.model!r}, got model={model!r}")
        for name, val in (('probs', probs), ('weighting', weighting),
                          ('p', p), ('self_loops', self_loops)):
            if val is not None:
                raise ValueError(f"'{name}' applies to an edge_index; the "
                                 f"DiffusionGraph is already prepared")
        return graph
    if graph is None:
        raise TypeError("'edge_index' is required (a [2, m] LongTensor, a "
                        "DiffusionGraph or a networkx graph)")
    return prepare(graph, num_nodes, model=model or 'IC', probs=probs,
                   weighting=weighting, p=0.1 if p is None else p,
                   self_loops='keep' if self_loops is None else self_loops)


def as_seed(seed: Union[None, int, np.random.Generator]) -> int:
    r"""A 63-bit root seed from an int, a generator or :obj:`None` (fresh
    entropy)."""
    if seed is None:
        return int(np.random.SeedSequence().entropy % (2**63))
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 2**63 - 1))
    if isinstance(seed, (bool, np.bool_)) or not isinstance(
            seed, (int, np.integer)):
        raise TypeError(f"'seed' must be an int, a numpy Generator or None, "
                        f"got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"'seed' must be >= 0, got {seed}")
    return int(seed)


def _check_k(k: Any, num_candidates: int, name: str = 'k') -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"'{name}' must be an int, got {type(k).__name__}")
    if k < 1:
        raise ValueError(f"'{name}' must be >= 1, got {k}")
    if k > num_candidates:
        raise ValueError(f"'{name}' = {k} exceeds the number of candidate "
                         f"nodes ({num_candidates})")
    return int(k)


def _log_comb(n: float, k: float) -> float:
    if k < 0 or k > n:
        return 0.0
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
