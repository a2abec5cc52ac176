r"""Spread estimation: Monte Carlo (IC/LT), the RR stopping-rule estimator
with relative error, and exact enumeration of live-edge worlds."""
import math
from statistics import NormalDist
from typing import Any, Optional

import numpy as np
import torch

from pyg_ext.influence import _kernels as K
from pyg_ext.influence._checks import (check_budget, check_choice,
                                       check_float, check_int, check_limit,
                                       index_array, node_mask)
from pyg_ext.influence.graph import as_graph, as_seed
from pyg_ext.influence.rr import (BLOCK_SIZE, RRSampler, SpreadEstimate,
                                  block_seeds, check_threads,
                                  run_blocks)

__all__ = ['estimate_spread', 'exact_spread', 'mc_spreads',
           'stopping_rule_threshold']

MC_BLOCK = 256


def _require_seeds(g, seeds) -> int:
    # the number of nodes of the prepared graph, once seeds are given
    if seeds is None:
        raise ValueError("'seeds' is required")
    return g.num_nodes


def _seed_array(seeds: Any, n: int) -> np.ndarray:
    return np.ascontiguousarray(index_array(seeds, 'seeds', n).astype(
        np.int32))


def mc_spreads(graph, seeds: np.ndarray, num_samples: int, seed: int,
               excluded: Optional[np.ndarray] = None,
               num_threads: Optional[int] = None) -> np.ndarray:
    r"""Per-simulation numbers of active nodes (float64[num_samples]), in
    independently seeded blocks of 256 simulations."""
    g = graph
    ex = np.zeros(g.num_nodes, np.uint8) if excluded is None else excluded
    nb = -(-num_samples // MC_BLOCK)
    sizes = [min(MC_BLOCK, num_samples - b * MC_BLOCK) for b in range(nb)]
    seeds_b = block_seeds(seed, 7, 0, nb).tolist()

    def fn(size, sd):
        return K.mc_block(g.out_ptr, g.out_dst, g.out_p, g.num_nodes, seeds,
                          size, sd, g.model == 'LT', ex)

    outs = run_blocks(fn, sizes, seeds_b, num_threads)
    return np.concatenate(outs) if outs else np.zeros(0)


def stopping_rule_threshold(rel_eps: float, delta: float) -> float:
    r""":math:`\Lambda_L = 1 + 2c(1+\varepsilon)\ln(2/\delta)/\varepsilon^2`
    with :math:`c = 2(e-2)` (Dagum et al.)."""
    c = 2 * (math.e - 2)
    return 1 + 2 * c * (1 + rel_eps) * math.log(2 / delta) / rel_eps**2


def estimate_spread(edge_index: Any, num_nodes: Optional[int] = None,
                    seeds: Any = None, model: Optional[str] = None,
                    probs: Optional[Any] = None, method: str = 'mc',
                    num_samples: int = 10000, rel_eps: Optional[float] = None,
                    alpha: float = 0.05, delta: Optional[float] = None,
                    seed: Any = None,
                    exclude: Optional[Any] = None,
                    max_samples: int = 10**8,
                    num_threads: Optional[int] = None,
                    *, weighting: Optional[str] = None,
                    p: Optional[float] = None,
                    self_loops: Optional[str] = None) -> SpreadEstimate:
    r"""Estimates :math:`\sigma(S)`.

    * ``method='mc'``: :obj:`num_samples` forward simulations; mean and a
      normal :math:`1-\alpha` interval
      :math:`\bar x \pm z\,s/\sqrt{r}`.
    * ``method='rr'``: the stopping-rule estimator (OPIM
      ``effic_inf_valid_algo``): RR sets are drawn until
      :math:`\Lambda_L` of them hit :math:`S` (each set stops at its first
      seed); the estimate :math:`n\Lambda_L/\#\text{sets}` lies within a
      factor :math:`1 \pm` :obj:`rel_eps` (default 0.01) of
      :math:`\sigma(S)` w.p. :math:`1-` :obj:`delta` (default
      :math:`10^{-3}`); the interval is :math:`[\hat\sigma/(1+\varepsilon),
      \hat\sigma/(1-\varepsilon)]`.

    Args:
        seeds (LongTensor): The seed set (node ids).
        exclude (LongTensor, optional): Removed nodes (e.g. CIM's APs): never
            activated and never counted.
        seed (int, optional): Reproducible for a fixed seed, whatever the
            number of threads.
        max_samples (int): Bound on the simulations (``'mc'``) or RR sets
            (``'rr'``): a request that needs more (``num_samples``, or
            :math:`\Lambda_L` for a tiny :obj:`rel_eps`) is refused up
            front, and the stopping rule gives up past it.
            (default: :math:`10^8`)

    Example:
        >>> ei = torch.tensor([[0, 1], [1, 2]])
        >>> estimate_spread(ei, 3, [0], num_samples=10, seed=0).mean
        3.0
    """
    g = as_graph(edge_index, num_nodes, model, probs, weighting, p,
                 self_loops)
    n = _require_seeds(g, seeds)
    s = _seed_array(seeds, n)
    check_choice(method, 'method', ('mc', 'rr'))
    max_samples = check_limit(max_samples, 'max_samples')
    alpha = check_float(alpha, 'alpha', 0.0, 1.0, True, True)
    num_threads = check_threads(num_threads)
    root = as_seed(seed)
    ex = node_mask(exclude, 'exclude', n)
    if method == 'mc':
        num_samples = check_int(num_samples, 'num_samples', 1)
        check_budget('estimate_spread', num_samples, 8.0 * num_samples,
                     max_samples, None, count_name='max_samples',
                     unit='simulations', arg='num_samples')
        x = mc_spreads(g, s, num_samples, root, ex, num_threads)
        mean = float(x.mean())
        std = float(x.std(ddof=1)) if x.shape[0] > 1 else 0.0
        z = NormalDist().inv_cdf(1 - alpha / 2)
        half = z * std / math.sqrt(x.shape[0])
        return SpreadEstimate(mean, std, mean - half, mean + half,
                              int(x.shape[0]))
    rel_eps = 0.01 if rel_eps is None else check_float(
        rel_eps, 'rel_eps', 0.0, 1.0, True, True)
    delta = 1e-3 if delta is None else check_float(delta, 'delta', 0.0, 1.0,
                                                   True, True)
    mask = np.zeros(n, np.uint8)
    mask[s] = 1
    mask[ex.astype(bool)] = 0
    pool = np.flatnonzero(ex == 0).astype(np.int32)
    lam = stopping_rule_threshold(rel_eps, delta)
    check_budget('the stopping-rule estimator', lam, 0.0, max_samples,
                 None, count_name='max_samples', unit='RR sets (at least)',
                 arg='rel_eps')
    if np.count_nonzero(mask) == 0:
        return SpreadEstimate(0.0, 0.0, 0.0, 0.0, 0)
    sampler = RRSampler(g, root, 11, 'auto', ex,
                        pool if ex.any() else None, num_threads)
    hits = 0
    drawn = 0
    # a fixed request size: the block partition depends on it, never on
    # the number of threads (results are thread-independent)
    count = 4 * BLOCK_SIZE
    while True:
        hit = sampler.hits(count, mask)
        cum = np.cumsum(hit, dtype=np.int64) + hits
        idx = np.searchsorted(cum, lam)  # first index with cum >= lam
        if idx < count:
            drawn += idx + 1
            hits = int(cum[idx])  # = ceil(lam), as in the reference codes
            break
        hits = int(cum[-1])
        drawn += count
        if drawn >= max_samples:
            raise ValueError(f"the stopping rule did not stop within "
                             f"max_samples={max_samples} RR sets ({hits} of "
                             f"the {lam:.0f} hits needed); pass a larger "
                             f"'max_samples' or a larger 'rel_eps'")
    scale = pool.shape[0] if ex.any() else n
    mean = scale * hits / drawn
    mean = float(mean)
    return SpreadEstimate(mean, float("nan"), mean / (1 + rel_eps),
                          min(mean / (1 - rel_eps), float(scale)), int(drawn))


def _num_worlds(g) -> float:
    if g.model == 'IC':
        return 2.0**g.num_edges
    return float(np.prod(g.in_degree().astype(np.float64) + 1))


def _worlds(g, max_worlds: int):
    r"""All live-edge worlds: ``(live bool[W, m], prob float[W])``."""
    m = g.num_edges
    src, dst, pr = g.src, g.dst, g.prob
    if g.model == 'IC':
        codes = np.arange(2**m, dtype=np.int64)
        live = ((codes[:, None] >> np.arange(m)) & 1).astype(bool)
        p = pr[None, :]
        prob = np.where(live, p, 1 - p).prod(axis=1)
        return live, prob, src, dst
    # LT: every node keeps at most one in-edge (weight w) or none (1 - sum)
    groups = [np.flatnonzero(dst == v) for v in range(g.num_nodes)]
    radix = [len(e) + 1 for e in groups]
    total = int(np.prod(radix, dtype=np.float64))
    codes = np.arange(total, dtype=np.int64)
    live = np.zeros((total, m), dtype=bool)
    prob = np.ones(total)
    for v, edges in enumerate(groups):
        choice = codes % radix[v]
        codes = codes // radix[v]
        if len(edges) == 0:
            continue
        w = pr[edges]
        pv = np.concatenate([[max(1 - w.sum(), 0.0)], w])
        prob *= pv[choice]
        for j, e in enumerate(edges):
            live[:, e] = choice == j + 1
    return live, prob, src, dst


def exact_spread(edge_index: Any, num_nodes: Optional[int] = None,
                 seeds: Any = None, model: Optional[str] = None,
                 probs: Optional[Any] = None, max_worlds: int = 2**20,
                 max_memory: Optional[int] = None,
                 *, weighting: Optional[str] = None,
                 p: Optional[float] = None,
                 self_loops: Optional[str] = None):
    r"""Exact :math:`\sigma(S)` by enumerating every live-edge world (IC:
    :math:`2^m` worlds; LT: each node keeps at most one in-edge) — for tiny
    graphs only.

    Args:
        seeds (list or LongTensor): One seed set ``[k]``, or several as a
            2-D ``[num_sets, k]`` tensor/list of lists (returns a tensor).
        max_worlds (int): Refuse graphs with more worlds than this.
        max_memory (int, optional): Refuse an enumeration whose arrays
            (worlds x (edges + nodes) bytes) would exceed this (default:
            half the physical memory).

    Example:
        >>> ei = torch.tensor([[0, 1], [1, 2]])
        >>> exact_spread(ei, 3, [0], probs=torch.tensor([0.5, 0.5]))
        1.75
    """
    g = as_graph(edge_index, num_nodes, model, probs, weighting, p,
                 self_loops)
    n = _require_seeds(g, seeds)
    max_worlds = check_int(max_worlds, 'max_worlds', 1)
    max_memory = check_limit(max_memory, 'max_memory')
    if isinstance(seeds, torch.Tensor):
        if seeds.dim() > 2:
            raise ValueError(f"'seeds' must be [k] or [num_sets, k], got "
                             f"shape {list(seeds.shape)}")
        seeds = seeds.tolist() if seeds.dim() else [seeds.tolist()]
    if isinstance(seeds, np.ndarray):
        seeds = seeds.tolist()
    if not isinstance(seeds, (list, tuple)):
        raise TypeError(f"'seeds' must be a list or LongTensor of node ids, "
                        f"got {type(seeds).__name__}")
    many = len(seeds) > 0 and isinstance(seeds[0], (list, tuple))
    sets = [_seed_array(sset, n) for sset in (seeds if many else [seeds])]
    worlds = _num_worlds(g)
    what = f'2**{g.num_edges}' if g.model == 'IC' else f'{worlds:.4g}'
    if worlds > max_worlds:
        raise ValueError(f"exact enumeration needs {what} live-edge worlds, "
                         f"more than max_worlds={max_worlds}; use a graph "
                         f"with at most 20 edges or a larger 'max_worlds'")
    check_budget('exact_spread', worlds, worlds * (g.num_edges + n + 8),
                 None, max_memory, unit='live-edge worlds',
                 arg='max_worlds')
    live, prob, src, dst = _worlds(g, max_worlds)
    out = []
    for s in sets:
        act = np.zeros((live.shape[0], n), dtype=bool)
        act[:, s] = True
        for _ in range(n):
            before = act.sum()
            for e in range(g.num_edges):
                act[:, dst[e]] |= act[:, src[e]] & live[:, e]
            if act.sum() == before:
                break
        out.append(float((act.sum(axis=1) * prob).sum()))
    return torch.tensor(out, dtype=torch.float64) if many else out[0]
