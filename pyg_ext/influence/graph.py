r"""Diffusion graphs: PyG ``edge_index`` (or networkx) -> reverse/forward CSR
with per-edge IC probabilities or LT weights, validated once."""
import math
from dataclasses import dataclass
from typing import Any, Optional, Union

import numpy as np
import torch

__all__ = ['DiffusionGraph', 'prepare', 'as_graph', 'as_seed']


@dataclass(eq=False)
class DiffusionGraph:
    r"""A validated diffusion graph in reverse and forward CSR form.

    Attributes:
        num_nodes (int): :math:`n`.
        model (str): ``'IC'`` or ``'LT'``.
        src, dst (numpy.ndarray): The kept edges (int32), edge ``i`` is
            ``src[i] -> dst[i]``.
        prob (numpy.ndarray): Per-edge probability / LT weight (float64).
        in_ptr, in_src, in_p, in_cum: Reverse CSR sorted by target, then by
            probability (descending), then source
            (``in_cum`` = per-node cumulative in-weights, used by LT).
        equal (numpy.ndarray): uint8 per node, 1 if all in-probabilities
            are equal (enables the geometric skip); ``logq`` = log(1 - p)
            for such nodes (``-inf`` -> ``-1e300`` when p = 1).
        out_ptr, out_dst, out_p: Forward CSR sorted by source.
    """
    num_nodes: int
    model: str
    src: np.ndarray
    dst: np.ndarray
    prob: np.ndarray
    in_ptr: np.ndarray
    in_src: np.ndarray
    in_p: np.ndarray
    in_cum: np.ndarray
    equal: np.ndarray
    logq: np.ndarray
    out_ptr: np.ndarray
    out_dst: np.ndarray
    out_p: np.ndarray

    @property
    def num_edges(self) -> int:
        return int(self.src.shape[0])

    @property
    def edge_index(self) -> torch.Tensor:
        return torch.from_numpy(np.stack([self.src, self.dst]).astype(
            np.int64))

    def in_degree(self) -> np.ndarray:
        return np.diff(self.in_ptr)

    def out_degree(self) -> np.ndarray:
        return np.diff(self.out_ptr)

    def with_model(self, model: str) -> 'DiffusionGraph':
        r"""The same graph and probabilities under another model."""
        return prepare(self.edge_index, self.num_nodes, model=model,
                       probs=torch.from_numpy(self.prob), weighting='given')

    def __repr__(self) -> str:
        return (f'DiffusionGraph(num_nodes={self.num_nodes}, '
                f'num_edges={self.num_edges}, model={self.model!r})')


def _to_numpy_edge_index(edge_index: Any) -> np.ndarray:
    if isinstance(edge_index, torch.Tensor):
        if edge_index.is_floating_point() or edge_index.dtype == torch.bool:
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
        raise ValueError(f"'edge_index' must have shape [2, m], got "
                         f"{tuple(ei.shape)}")
    return ei.astype(np.int64, copy=False)


def _from_networkx(g, probs):
    nodes = list(g.nodes())
    index = {v: i for i, v in enumerate(nodes)}
    edges = list(g.edges(data=True))
    directed = g.is_directed()
    src, dst, p = [], [], []
    for u, v, attr in edges:
        w = attr.get('p', attr.get('weight'))
        src.append(index[u])
        dst.append(index[v])
        p.append(w)
        if not directed:
            src.append(index[v])
            dst.append(index[u])
            p.append(w)
    ei = np.array([src, dst], dtype=np.int64).reshape(2, -1)
    if probs is None and p and all(w is not None for w in p):
        probs = np.asarray(p, dtype=np.float64)
    return ei, len(nodes), probs


def prepare(edge_index: Any, num_nodes: Optional[int] = None,
            model: str = 'IC', probs: Optional[Any] = None,
            weighting: Optional[str] = None, p: float = 0.1,
            self_loops: str = 'keep') -> DiffusionGraph:
    r"""Converts a graph into a :class:`DiffusionGraph` (reverse CSR for RR
    sampling, forward CSR for Monte Carlo), validating probabilities once.

    Edge ``(u, v)`` (``edge_index[0] = u``, ``edge_index[1] = v``) means
    ``u`` can influence ``v``. Multi-edges are kept as independent chances.

    Args:
        edge_index (torch.Tensor or networkx.Graph): ``[2, m]`` edges, or a
            networkx graph (undirected edges are used in both directions;
            edge attribute ``'p'`` or ``'weight'`` is taken as the
            probability when every edge has one).
        num_nodes (int, optional): :math:`n` (default: ``max id + 1``).
        model (str): ``'IC'`` or ``'LT'``. (default: :obj:`'IC'`)
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

    Example:
        >>> ei = torch.tensor([[0, 1], [1, 2]])
        >>> g = prepare(ei, 3)
        >>> g.in_p.tolist()
        [1.0, 1.0]
    """
    if isinstance(edge_index, DiffusionGraph):
        return edge_index
    if not isinstance(model, str) or model.upper() not in ('IC', 'LT'):
        raise ValueError(f"'model' must be 'IC' or 'LT', got {model!r}")
    model = model.upper()
    if self_loops not in ('keep', 'remove', 'error'):
        raise ValueError(f"'self_loops' must be 'keep', 'remove' or 'error', "
                         f"got {self_loops!r}")
    try:
        import networkx as nx
        is_nx = isinstance(edge_index, nx.Graph)
    except ImportError:  # pragma: no cover
        is_nx = False
    if is_nx:
        ei, n_nx, probs = _from_networkx(edge_index, probs)
        num_nodes = n_nx if num_nodes is None else num_nodes
    else:
        ei = _to_numpy_edge_index(edge_index)
    m = ei.shape[1]
    if num_nodes is None:
        num_nodes = int(ei.max()) + 1 if m > 0 else 0
    if isinstance(num_nodes, bool) or not isinstance(
            num_nodes, (int, np.integer)):
        raise TypeError(f"'num_nodes' must be an int, got "
                        f"{type(num_nodes).__name__}")
    num_nodes = int(num_nodes)
    if num_nodes < 1:
        raise ValueError(f"'num_nodes' must be >= 1 (the graph is empty), "
                         f"got {num_nodes}")
    if num_nodes >= 2**31 - 1:
        raise ValueError(f"'num_nodes' must be < 2**31, got {num_nodes}")
    if m > 0 and (ei.min() < 0 or ei.max() >= num_nodes):
        raise ValueError(f"'edge_index' holds node ids outside [0, "
                         f"{num_nodes - 1}] (min {ei.min()}, max {ei.max()})")

    if weighting is None:
        weighting = 'given' if probs is not None else 'wc'
    if weighting not in ('wc', 'uniform', 'given'):
        raise ValueError(f"'weighting' must be 'wc', 'uniform' or 'given', "
                         f"got {weighting!r}")
    if probs is not None and weighting != 'given':
        raise ValueError(f"'probs' was given, so 'weighting' must be 'given' "
                         f"(got {weighting!r})")
    if weighting == 'given':
        if probs is None:
            raise ValueError("weighting='given' needs 'probs' ([m] tensor)")
        if isinstance(probs, torch.Tensor):
            probs = probs.detach().cpu().double().numpy()
        probs = np.asarray(probs, dtype=np.float64).reshape(-1)
        if probs.shape[0] != m:
            raise ValueError(f"'probs' must have one value per edge ({m}), "
                             f"got {probs.shape[0]}")
        if not np.all(np.isfinite(probs)) or (m > 0 and (
                probs.min() < 0 or probs.max() > 1)):
            bad = probs[~((probs >= 0) & (probs <= 1))]
            raise ValueError(f"'probs' must lie in [0, 1], got values such "
                             f"as {bad[:3].tolist()}")
    elif weighting == 'uniform':
        if not (0.0 <= float(p) <= 1.0):
            raise ValueError(f"'p' must lie in [0, 1], got {p}")
        probs = np.full(m, float(p))

    loops = ei[0] == ei[1]
    if loops.any():
        if self_loops == 'error':
            raise ValueError(f"the graph has {int(loops.sum())} self-loops "
                             f"(e.g. node {int(ei[0, loops][0])}); pass "
                             f"self_loops='keep' or 'remove'")
        if self_loops == 'remove':
            ei = ei[:, ~loops]
            if probs is not None:
                probs = probs[~loops]
            m = ei.shape[1]

    src = ei[0].astype(np.int32)
    dst = ei[1].astype(np.int32)
    indeg = np.bincount(dst, minlength=num_nodes)
    if weighting == 'wc':
        probs = 1.0 / indeg[dst].astype(np.float64) if m else np.zeros(0)

    # by target, then probability descending (the heterogeneous subset
    # sampler needs it), then source
    order = np.lexsort((src, -probs, dst))
    in_src = np.ascontiguousarray(src[order])
    in_p = np.ascontiguousarray(probs[order])
    in_ptr = np.zeros(num_nodes + 1, dtype=np.int64)
    np.cumsum(indeg, out=in_ptr[1:])
    # per-node cumulative in-weights (segmented cumsum)
    csum = np.cumsum(in_p)
    base = np.zeros(num_nodes, dtype=np.float64)
    starts = in_ptr[:-1]
    has = indeg > 0
    base[has] = csum[starts[has]] - in_p[starts[has]]
    seg = np.repeat(np.arange(num_nodes), indeg)
    in_cum = csum - base[seg] if m else np.zeros(0)
    totals = np.zeros(num_nodes)
    totals[has] = in_cum[in_ptr[1:][has] - 1]
    if model == 'LT' and m and totals.max() > 1 + 1e-9:
        v = int(np.argmax(totals))
        raise ValueError(f"LT in-weights must sum to <= 1 per node; node {v} "
                         f"has {totals[v]:.6g}")
    # nodes whose in-probabilities are all equal -> geometric skip
    if m:
        pmax = np.full(num_nodes, -np.inf)
        pmin = np.full(num_nodes, np.inf)
        np.maximum.at(pmax, dst, probs)
        np.minimum.at(pmin, dst, probs)
        equal = ((pmax == pmin) & has).astype(np.uint8)
        first = np.where(has, in_p[np.minimum(starts, m - 1)], 0.0)
    else:
        equal = np.zeros(num_nodes, dtype=np.uint8)
        first = np.zeros(num_nodes)
    with np.errstate(divide='ignore'):
        logq = np.log1p(-first)
    logq[np.isneginf(logq)] = -1e300

    order_f = np.lexsort((dst, src))
    out_dst = np.ascontiguousarray(dst[order_f])
    out_p = np.ascontiguousarray(probs[order_f])
    out_ptr = np.zeros(num_nodes + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=num_nodes), out=out_ptr[1:])
    return DiffusionGraph(num_nodes, model, src, dst,
                          np.ascontiguousarray(probs, dtype=np.float64),
                          in_ptr, in_src, in_p, np.ascontiguousarray(in_cum),
                          equal, logq, out_ptr, out_dst, out_p)


def as_graph(graph: Any, num_nodes: Optional[int] = None,
             model: Optional[str] = None, probs: Optional[Any] = None,
             weighting: Optional[str] = None, **kwargs) -> DiffusionGraph:
    r"""Returns :obj:`graph` if it is a :class:`DiffusionGraph` (checking
    that :obj:`model`, if given, matches), else :func:`prepare` s it
    (default model ``'IC'``)."""
    if isinstance(graph, DiffusionGraph):
        if model is not None and str(model).upper() != graph.model:
            raise ValueError(f"the DiffusionGraph was prepared for model "
                             f"{graph.model!r}, got model={model!r}")
        return graph
    return prepare(graph, num_nodes, model=model or 'IC', probs=probs,
                   weighting=weighting, **kwargs)


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
