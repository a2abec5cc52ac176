r"""Capacity constrained influence maximization (CIM, KDD'23): MG-Greedy,
RR-Greedy and RR-OPIM+ with the tightened upper bound."""
import math
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import numpy as np
import torch

from pyg_ext.influence import _dist as D
from pyg_ext.influence import _kernels as K
from pyg_ext.influence._checks import (check_budget, check_choice,
                                       check_int, check_limit, index_array,
                                       score_array)
from pyg_ext.influence.graph import _log_comb, as_graph, as_seed
from pyg_ext.influence.im import (_Budget, _check_delta, _check_eps,
                                  opim_lower_bound, opim_upper_bound)
from pyg_ext.influence.rr import RRSampler, block_seed, check_threads
from pyg_ext.influence.spread import mc_spreads

__all__ = [
    'CIMResult', 'cim_candidates', 'cim_mg_greedy', 'cim_rr_greedy',
    'cim_rr_opim_plus', 'cim_local_baseline', 'cim_sample_sizes'
]


@dataclass
class CIMResult:
    r"""The result of a CIM algorithm.

    Attributes:
        pairs (LongTensor): ``[2, s]``; column ``j`` says AP ``pairs[0, j]``
            recommends seed ``pairs[1, j]`` (distinct seeds, selection
            order).
        spread_est (float): The oracle's estimate of :math:`\sigma_P(S)`.
        num_rr_sets (int): RR sets generated (0 for the MC oracle).
        alpha, sigma_lower, sigma_upper (float, optional): RR-OPIM+'s
            certificate and bounds.
        chi (int, optional): RR-OPIM+'s lower bound on OPT.
        world_size (int): The number of processes that computed it.
    """
    pairs: torch.Tensor
    spread_est: float
    num_rr_sets: int = 0
    alpha: Optional[float] = None
    sigma_lower: Optional[float] = None
    sigma_upper: Optional[float] = None
    chi: Optional[int] = None
    iterations: int = 0
    seconds: float = 0.0
    info: Dict[str, Any] = field(default_factory=dict)
    world_size: int = 1

    @property
    def seeds(self) -> torch.Tensor:
        return self.pairs[1]


def cim_candidates(graph, aps: Any, k: Any = 1):
    r"""Validates the APs and returns ``(aps int64[d], cand_ptr int64[d+1],
    cand_nodes int64[*], excluded uint8[n])`` where ``cand_nodes`` lists
    :math:`C_u = N_{out}(u) \setminus A` per AP (ascending, no repeats)."""
    g = graph
    n = g.num_nodes
    k = check_int(k, 'k', 1)
    if aps is None:
        raise ValueError("'aps' (active participants) is required")
    a = index_array(aps, 'aps', n, unique=True)
    if a.size == 0:
        raise ValueError("'aps' (active participants) must not be empty")
    ex = np.zeros(n, dtype=np.uint8)
    ex[a] = 1
    ptr = [0]
    nodes = []
    for u in a:
        nb = np.unique(g.out_dst[g.out_ptr[u]:g.out_ptr[u + 1]])
        nb = nb[ex[nb] == 0]
        nodes.append(nb)
        ptr.append(ptr[-1] + nb.shape[0])
    cand = np.concatenate(nodes).astype(np.int64) if nodes else \
        np.zeros(0, np.int64)
    if cand.shape[0] == 0:
        raise ValueError("no active participant has a passive out-neighbour;"
                         " there is nothing to recommend")
    return a, np.asarray(ptr, dtype=np.int64), cand, ex


def _pairs(aps, ap_idx, seeds) -> torch.Tensor:
    return torch.from_numpy(
        np.stack([aps[ap_idx], seeds]).astype(np.int64).reshape(2, -1))


def _passive_pool(ex):
    return np.flatnonzero(ex == 0).astype(np.int32)


def _mc_greedy(g, aps, ptr, cand, ex, k, round_robin, num_mc, seed,
               num_threads):
    r"""CELF-accelerated CIM greedy on a Monte-Carlo oracle (common random
    numbers: every evaluation uses the same simulation seed)."""
    d = aps.shape[0]
    selected: List[int] = []
    sel = set()
    owner: List[int] = []
    count = np.zeros(d, dtype=np.int64)
    active = np.array([ptr[a + 1] > ptr[a] for a in range(d)])
    ub: Dict[int, float] = {}
    fresh: Dict[int, int] = {}
    base = [0.0]

    def sigma(s):
        if not s:
            return 0.0
        return float(mc_spreads(g, np.asarray(s, dtype=np.int32), num_mc,
                                seed, ex, num_threads).mean())

    def best_of(cands):
        cands = [int(v) for v in cands if int(v) not in sel]
        if not cands:
            return None
        while True:
            v = max(cands, key=lambda x: (ub.get(x, math.inf), -x))
            if fresh.get(v) == len(selected):
                return v
            ub[v] = sigma(selected + [v]) - base[0]
            fresh[v] = len(selected)

    def add(a, v):
        selected.append(v)
        sel.add(v)
        owner.append(a)
        count[a] += 1
        if count[a] >= k:
            active[a] = False
        base[0] = sigma(selected)

    if round_robin:
        while active.any():
            for a in range(d):
                if not active[a]:
                    continue
                v = best_of(cand[ptr[a]:ptr[a + 1]])
                if v is None:
                    active[a] = False
                    continue
                add(a, v)
    else:
        while active.any():
            pool = {}
            for a in range(d):
                if active[a]:
                    for v in cand[ptr[a]:ptr[a + 1]]:
                        pool.setdefault(int(v), a)
            v = best_of(list(pool))
            if v is None:
                break
            add(pool[v], v)
    return (np.asarray(owner, dtype=np.int64),
            np.asarray(selected, dtype=np.int64), base[0])


def _cim_greedy(edge_index, num_nodes, aps, k, oracle, num_rr_sets, num_mc,
                model, probs, seed, round_robin, num_threads, max_memory,
                weighting, p, self_loops, group, distributed, dist_greedy):
    t0 = time.perf_counter()
    check_choice(oracle, 'oracle', ('rr', 'mc'))
    num_rr_sets = check_int(num_rr_sets, 'num_rr_sets', 1)
    num_mc = check_int(num_mc, 'num_mc', 1)
    max_memory = check_limit(max_memory, 'max_memory')
    num_threads = check_threads(num_threads)
    g = as_graph(edge_index, num_nodes, model, probs, weighting, p,
                 self_loops)
    a, ptr, cand, ex = cim_candidates(g, aps, k)
    root = as_seed(seed)
    ctx = D.setup('cim_rr_greedy' if round_robin else 'cim_mg_greedy',
                  group, distributed, dist_greedy, dict(
                      aps=a, k=k, oracle=oracle, num_rr_sets=num_rr_sets,
                      num_mc=num_mc, seed=seed, max_memory=max_memory), g)
    if ctx is not None and oracle != 'rr':
        raise ValueError("several processes need oracle='rr' (the "
                         "Monte-Carlo oracle runs in one process)")
    info = {}
    if oracle == 'rr':
        root = root if ctx is None else ctx.seed(root, seed)
        budget = _Budget('CIM greedy', g.num_nodes, None, max_memory, 1)
        budget.check(num_rr_sets, arg='num_rr_sets')
        pool = _passive_pool(ex)
        rr = D.collection(ctx, RRSampler(g, root, 0, 'auto', ex, pool,
                                         num_threads,
                                         budget.per_collection))
        rr.grow(num_rr_sets)
        ap_idx, seeds, cov, _ = rr.cim_greedy(ptr, cand, int(k),
                                              round_robin)
        est = pool.shape[0] * cov / len(rr)
        used = len(rr)
        if ctx is not None:
            info['comm'] = ctx.tally()
    else:
        check_budget('the Monte-Carlo oracle', num_mc, 8.0 * num_mc, None,
                     max_memory, unit='simulations per evaluation',
                     arg='num_mc')
        ap_idx, seeds, est = _mc_greedy(g, a, ptr, cand, ex, int(k),
                                        round_robin, int(num_mc), root,
                                        num_threads)
        used = 0
    return CIMResult(_pairs(a, ap_idx, seeds), float(est), used,
                     seconds=time.perf_counter() - t0, info=info,
                     world_size=1 if ctx is None else ctx.world)


def cim_mg_greedy(edge_index: Any, num_nodes: Optional[int] = None,
                  aps: Any = None, k: int = 1, oracle: str = 'rr',
                  num_rr_sets: int = 20000, num_mc: int = 1000,
                  model: Optional[str] = None, probs: Optional[Any] = None,
                  seed: Any = None, num_threads: Optional[int] = None,
                  max_memory: Optional[int] = None,
                  *, weighting: Optional[str] = None,
                  p: Optional[float] = None,
                  self_loops: Optional[str] = None, group: Any = None,
                  distributed: bool = False,
                  dist_greedy: str = 'auto') -> CIMResult:
    r"""MG-Greedy (Alg. 1) from the `"Capacity Constrained Influence
    Maximization in Social Networks" <https://arxiv.org/abs/2306.00297>`_
    paper: repeatedly add the candidate edge :math:`e_{u,v}` with the largest
    marginal gain :math:`\sigma_P(v \mid S)` over all APs with remaining
    capacity (:math:`\sigma(S) \ge \frac12 OPT` for an exact oracle).

    Args:
        aps (LongTensor): The active participants :math:`A`.
        k (int): Capacity per AP.
        oracle (str): ``'rr'`` (coverage of :obj:`num_rr_sets` RR sets on the
            passive graph) or ``'mc'`` (:obj:`num_mc` simulations per
            evaluation, CELF).
        num_rr_sets (int): RR sets of the ``'rr'`` oracle.
        num_mc (int): Simulations per evaluation of the ``'mc'`` oracle.
        max_memory (int, optional): Refuse an oracle whose RR sets or
            simulation buffer would exceed this many bytes (default: half
            the physical memory).
        group, distributed, dist_greedy: Several processes (``'rr'``
            oracle), as in :func:`~pyg_ext.influence.imm`.
    """
    return _cim_greedy(edge_index, num_nodes, aps, k, oracle, num_rr_sets,
                       num_mc, model, probs, seed, False, num_threads,
                       max_memory, weighting, p, self_loops, group,
                       distributed, dist_greedy)


def cim_rr_greedy(edge_index: Any, num_nodes: Optional[int] = None,
                  aps: Any = None, k: int = 1, oracle: str = 'rr',
                  num_rr_sets: int = 20000, num_mc: int = 1000,
                  model: Optional[str] = None, probs: Optional[Any] = None,
                  seed: Any = None, num_threads: Optional[int] = None,
                  max_memory: Optional[int] = None,
                  *, weighting: Optional[str] = None,
                  p: Optional[float] = None,
                  self_loops: Optional[str] = None, group: Any = None,
                  distributed: bool = False,
                  dist_greedy: str = 'auto') -> CIMResult:
    r"""RR-Greedy (Alg. 2) from the `"Capacity Constrained Influence
    Maximization in Social Networks" <https://arxiv.org/abs/2306.00297>`_
    paper: round-robin over the APs (input order), each taking its candidate
    with the largest marginal gain (first maximum wins, even at gain 0);
    :math:`\sigma(S) \ge OPT/(1+\gamma)`. Arguments as
    :func:`cim_mg_greedy`."""
    return _cim_greedy(edge_index, num_nodes, aps, k, oracle, num_rr_sets,
                       num_mc, model, probs, seed, True, num_threads,
                       max_memory, weighting, p, self_loops, group,
                       distributed, dist_greedy)


def cim_sample_sizes(n_p: int, cand_sizes, k: int, chi: int, eps: float,
                     delta: float) -> Dict[str, float]:
    r"""RR-OPIM+'s :math:`\theta_{max}` (Eq. 1), :math:`\theta_0 =
    \varepsilon^2\theta_{max}/n_p` (as printed), :math:`i_{max} =
    \lceil\log_2(\theta_{max}/\theta_0)\rceil` and
    :math:`a = \ln(3 i_{max}/\delta)`."""
    l6 = math.log(6 / delta)
    lc = sum(_log_comb(c, min(k, c)) for c in cand_sizes)
    core = (0.5 * math.sqrt(l6) + math.sqrt(0.5 * (lc + l6)))**2
    theta_max = 2 * n_p * core / (eps**2 * chi)
    theta0 = eps**2 * theta_max / n_p
    i_max = max(1, int(math.ceil(math.log2(theta_max / theta0))))
    return dict(theta_max=theta_max, theta0=theta0, i_max=i_max,
                a=math.log(3 * i_max / delta))


def cim_rr_opim_plus(edge_index: Any, num_nodes: Optional[int] = None,
                     aps: Any = None, k: int = 1, eps: float = 0.1,
                     delta: Optional[float] = None, bound: str = 'tight',
                     selector: str = 'rr', model: Optional[str] = None,
                     probs: Optional[Any] = None, seed: Any = None,
                     max_rr_sets: Optional[int] = None,
                     num_threads: Optional[int] = None,
                     max_memory: Optional[int] = None,
                     *, weighting: Optional[str] = None,
                     p: Optional[float] = None,
                     self_loops: Optional[str] = None, group: Any = None,
                     distributed: bool = False,
                     dist_greedy: str = 'auto',
                     dist_place: str = 'auto') -> CIMResult:
    r"""RR-OPIM+ (Alg. 3) from the `"Capacity Constrained Influence
    Maximization in Social Networks" <https://arxiv.org/abs/2306.00297>`_
    paper: OPIM-C doubling on RR sets of the passive graph with RR-Greedy as
    the selector; returns a :math:`(\frac12-\varepsilon)`-approximation
    w.p. :math:`\ge 1-\delta` and the certificate
    :math:`\alpha = \sigma^l(S)/\sigma^u(S^*)`.

    The tightened bound (Eq. 4) is

    .. math::
        \Lambda^u = \min\Big(2\Lambda_{R_1}(S),\ \min_t \Lambda(S_t) +
        \sum_{u \in A} \sum_{e \in \Phi_k(S_t, u)} \Lambda(e \mid S_t)\Big).

    Args:
        aps (LongTensor): Active participants.
        k (int): Capacity per AP.
        eps (float): Target :math:`\frac12 - \varepsilon`, so
            :math:`\varepsilon \in (0, \frac12)`.
        delta (float, optional): Failure probability (default :math:`1/n`).
        bound (str): ``'tight'`` (Eq. 4, default) or ``'vanilla'``
            (Eq. 2, :math:`\Lambda^u = 2\Lambda_{R_1}(S)`: RR-OPIM).
        selector (str): ``'rr'`` (RR-Greedy) or ``'mg'`` (MG-Greedy:
            MG-OPIM).
        max_rr_sets (int, optional): Refuse a round that needs more RR sets
            per collection than this.
        max_memory (int, optional): Bytes the two collections may take
            (default: half the physical memory).
        group, distributed, dist_greedy: Several processes, as in
            :func:`~pyg_ext.influence.imm`.
        dist_place (str): Where :math:`R_1` and :math:`R_2` live on
            several processes, as in :func:`~pyg_ext.influence.opim_c`.

    RR roots are drawn from the passive nodes :math:`V_p` and the estimator
    scales by :math:`n_p` (the paper's form; the released code draws roots
    from :math:`V` and scales by :math:`n`, equal in expectation).
    """
    t0 = time.perf_counter()
    check_choice(bound, 'bound', ('tight', 'vanilla'))
    check_choice(selector, 'selector', ('rr', 'mg'))
    num_threads = check_threads(num_threads)
    eps = _check_eps(eps, high=0.5)
    g = as_graph(edge_index, num_nodes, model, probs, weighting, p,
                 self_loops)
    n = g.num_nodes
    a, ptr, cand, ex = cim_candidates(g, aps, k)
    delta = _check_delta(delta, n)
    budget = _Budget('RR-OPIM+', n, max_rr_sets, max_memory, 2)
    ctx = D.setup('cim_rr_opim_plus', group, distributed, dist_greedy,
                  dict(aps=a, k=k, eps=eps, delta=delta, bound=bound,
                       selector=selector, seed=seed,
                       max_rr_sets=max_rr_sets, max_memory=max_memory), g,
                  dist_place)
    root = as_seed(seed)
    root = root if ctx is None else ctx.seed(root, seed)
    chi = int(K.random_feasible_size(ptr, cand, n, int(k),
                                     block_seed(root, 9, 0)))
    pool = _passive_pool(ex)
    n_p = pool.shape[0]
    sz = cim_sample_sizes(n_p, np.diff(ptr), int(k), chi, eps, delta)
    r1, r2 = D.pair(ctx, [RRSampler(g, root, s, 'auto', ex, pool,
                                    num_threads, budget.per_collection)
                          for s in (0, 1)])
    target = 0.5 - eps
    for i in range(1, sz['i_max'] + 1):
        theta = int(math.ceil(sz['theta0'] * 2**(i - 1)))
        budget.check(theta, r1.avg())
        D.grow_all((r1, r2), theta)
        ap_idx, seeds, cov1, tight = r1.cim_greedy(ptr, cand, int(k),
                                                   selector == 'rr')
        lam_u = 2.0 * cov1
        if bound == 'tight':
            lam_u = min(lam_u, float(tight))
        cov2 = r2.covered(seeds)
        lo = opim_lower_bound(cov2, theta, n_p, sz['a'])
        up = opim_upper_bound(lam_u, theta, n_p, sz['a'])
        alpha = lo / up if up > 0 else 1.0
        if alpha >= target:
            break
    info = dict(sizes=sz, theta=theta)
    if ctx is not None:
        info['comm'] = ctx.tally()
    return CIMResult(_pairs(a, ap_idx, seeds), n_p * cov2 / theta, 2 * theta,
                     alpha=alpha, sigma_lower=lo, sigma_upper=up, chi=chi,
                     iterations=i, seconds=time.perf_counter() - t0,
                     info=info, world_size=1 if ctx is None else ctx.world)


def cim_local_baseline(edge_index: Any, num_nodes: Optional[int] = None,
                       aps: Any = None, k: int = 1, scores: Any = None,
                       model: Optional[str] = None,
                       probs: Optional[Any] = None,
                       *, weighting: Optional[str] = None,
                       p: Optional[float] = None,
                       self_loops: Optional[str] = None) -> CIMResult:
    r"""The local baselines of the CIM paper: every AP takes its top-:obj:`k`
    candidates by :obj:`scores` (e.g. out-degree or PageRank)
    independently; duplicates are then dropped (first AP keeps a seed)."""
    t0 = time.perf_counter()
    g = as_graph(edge_index, num_nodes, model, probs, weighting, p,
                 self_loops)
    a, ptr, cand, _ = cim_candidates(g, aps, k)
    s = score_array(scores, 'scores', g.num_nodes)
    owners, seeds, seen = [], [], set()
    for i in range(a.shape[0]):
        c = cand[ptr[i]:ptr[i + 1]]
        top = c[np.lexsort((c, -s[c]))[:k]]
        for v in top:
            if int(v) not in seen:
                seen.add(int(v))
                owners.append(i)
                seeds.append(int(v))
    return CIMResult(_pairs(a, np.asarray(owners, np.int64),
                            np.asarray(seeds, np.int64)), float('nan'),
                     seconds=time.perf_counter() - t0)
