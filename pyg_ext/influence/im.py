r"""Seed selection on RR sets: greedy maximum coverage with the prefix upper
bound, IMM (SIGMOD'15), OPIM-C and online OPIM (SIGMOD'18)."""
import math
import time
from dataclasses import dataclass, field
from typing import Any, Dict, Optional

import numpy as np
import torch

from pyg_ext.influence import _dist as D
from pyg_ext.influence._overlap import overlap_rounds
from pyg_ext.influence._checks import (MAX_RR_SETS, check_bool,
                                       check_budget, check_choice,
                                       check_float, check_int, check_limit,
                                       default_max_memory, node_mask)
from pyg_ext.influence.graph import _check_k, _log_comb, as_graph, as_seed
from pyg_ext.influence.rr import (RRSampler, RRSets, check_threads,
                                  rr_bytes)

__all__ = [
    'IMResult', 'max_coverage', 'imm', 'imm_sample_sizes', 'opim_c', 'opim',
    'opim_c_sample_sizes', 'opim_lower_bound', 'opim_upper_bound'
]

E1 = 1.0 - 1.0 / math.e


@dataclass
class IMResult:
    r"""The result of an IM algorithm.

    Attributes:
        seeds (LongTensor): Seeds in greedy order.
        spread_est (float): The algorithm's own estimate of
            :math:`\sigma(S)` (from the RR sets used to select, or from the
            validation collection for OPIM).
        num_rr_sets (int): Total RR sets generated.
        alpha (float, optional): OPIM's a-posteriori certificate
            :math:`\sigma^l(S)/\sigma^u(S^\circ) \le \sigma(S)/OPT`.
        sigma_lower (float, optional): Lower bound on :math:`\sigma(S)`.
        sigma_upper_opt (float, optional): Upper bound on OPT.
        lower_bound_opt (float, optional): IMM's LB on OPT.
        guarantee (float): The a-priori approximation target.
        failure_prob (float): The failure probability of the guarantee.
        iterations (int): Sampling rounds.
        seconds (float): Wall time.
        world_size (int): The number of processes that computed it
            (``info['comm']`` then holds the communication of the greedy).
        info (dict): Extra details (sample sizes, bounds).
    """
    seeds: torch.Tensor
    spread_est: float
    num_rr_sets: int
    alpha: Optional[float] = None
    sigma_lower: Optional[float] = None
    sigma_upper_opt: Optional[float] = None
    lower_bound_opt: Optional[float] = None
    guarantee: float = 0.0
    failure_prob: float = 0.0
    iterations: int = 0
    seconds: float = 0.0
    info: Dict[str, Any] = field(default_factory=dict)
    world_size: int = 1


def _greedy(rr: RRSets, k: int, cand: np.ndarray):
    return rr.max_cover(k, cand)


def max_coverage(rr: RRSets, k: int, candidates: Optional[Any] = None,
                 return_upper_bound: bool = True):
    r"""Greedy maximum coverage of RR sets (:math:`\ge (1-1/e)` of the best
    :math:`k`-set's coverage) with the prefix upper bound of OPIM-C

    .. math::
        \Lambda(S^\circ) \le \min_{0 \le i \le k} \Big[\Lambda(S_i) +
        \sum_{v \in \text{top-}k} \Lambda(v \mid S_i)\Big].

    Ties go to the smallest node id. After an :math:`O(n)` set-up, each
    step costs time proportional to the RR sets it covers: the argmax comes
    from a lazy (CELF-style) heap and the top-:math:`k` sum is kept exact by
    coverage buckets, as in the OPIM reference code
    (``github.com/tangj90/OPIM``, ``max_cover_topk``).

    Args:
        rr (RRSets): The RR collection.
        k (int): Number of seeds (:math:`1 \le k \le` #candidates).
        candidates (LongTensor or BoolTensor, optional): Allowed seeds (node
            ids, or a bool mask with one entry per node).
        return_upper_bound (bool): Also return the bound.

    Returns:
        ``(seeds LongTensor [k], coverage int, upper_bound int)`` (or the
        first two).

    Example:
        >>> from pyg_ext.influence.rr import RRSets
        >>> import numpy as np
        >>> rr = RRSets(np.array([0, 2, 3]), np.array([0, 1, 1]),
        ...             np.array([0, 1]), 2)
        >>> max_coverage(rr, 1)
        (tensor([1]), 2, 2)
    """
    if not isinstance(rr, RRSets):
        raise TypeError(f"'rr' must be an RRSets, got {type(rr).__name__}")
    check_bool(return_upper_bound, 'return_upper_bound')
    n = rr.num_nodes
    cand = np.ones(n, dtype=np.uint8) if candidates is None else \
        node_mask(candidates, 'candidates', n)
    k = _check_k(k, int(np.count_nonzero(cand)))
    seeds, gains, upper = _greedy(rr, k, cand)
    cov = int(gains.sum())
    seeds = torch.from_numpy(seeds)
    if return_upper_bound:
        return seeds, cov, int(upper)
    return seeds, cov


def _ell_prime(n: int, ell: float) -> float:
    return ell * (1 + math.log(2) / math.log(n)) if n > 1 else ell


def imm_sample_sizes(n: int, k: int, eps: float = 0.1,
                     ell: float = 1.0) -> Dict[str, Any]:
    r"""IMM's sample-size constants (Eqs. 5, 6, 9 of the paper) after
    :math:`\ell \leftarrow \ell(1 + \ln 2/\ln n)`: ``alpha``, ``beta``,
    ``lambda_star`` (:math:`\lambda^*`), ``eps_prime``, ``lambda_prime``
    (:math:`\lambda'`), ``theta_i`` (list of :math:`\lambda'/(n/2^i)` for
    :math:`1 \le i \le \log_2 n - 1`) and ``ell``."""
    n = check_int(n, 'n', 2)
    k = check_int(k, 'k', 1, n)
    eps = _check_eps(eps)
    ell = check_float(ell, 'ell', 0.0, 1e6, low_open=True)
    ell = _ell_prime(n, ell)
    lc = _log_comb(n, k)
    ln = math.log(n)
    alpha = math.sqrt(ell * ln + math.log(2))
    beta = math.sqrt(E1 * (lc + ell * ln + math.log(2)))
    lam_star = 2 * n * (E1 * alpha + beta)**2 / eps**2
    eps_p = math.sqrt(2) * eps
    lam_p = (2 + 2 * eps_p / 3) * (lc + ell * ln + math.log(math.log2(n))) \
        * n / eps_p**2
    rounds = max(int(math.floor(math.log2(n))) - 1, 0)
    theta_i = [lam_p / (n / 2**i) for i in range(1, rounds + 1)]
    return dict(alpha=alpha, beta=beta, lambda_star=lam_star,
                eps_prime=eps_p, lambda_prime=lam_p, theta_i=theta_i,
                ell=ell)


def _check_eps(eps, name='eps', high=1.0):
    return check_float(eps, name, 0.0, high, low_open=True, high_open=True)


class _Budget:
    r"""Bounds the RR sets of an algorithm: refuses a round before it is
    sampled when its sets (estimated from the average size so far) would
    exceed ``max_rr_sets`` or ``max_memory``."""
    def __init__(self, what, n, max_rr_sets, max_memory, collections):
        self.what = what
        self.n = n
        self.max_rr_sets = check_limit(max_rr_sets, 'max_rr_sets')
        mm = check_limit(max_memory, 'max_memory')
        self.max_memory = default_max_memory() if mm is None else mm
        self.collections = collections
        # per collection: the graph-size workspace of the greedy aside
        self.per_collection = self.max_memory // collections

    def check(self, theta, avg_size=1.0, arg='eps'):
        cap = MAX_RR_SETS if self.max_rr_sets is None else self.max_rr_sets
        nbytes = self.collections * rr_bytes(theta, avg_size) + 40 * self.n
        check_budget(self.what, theta, nbytes, cap, self.max_memory,
                     unit='RR sets per collection', arg=arg)


def _common(edge_index, num_nodes, k, model, probs, seed, method,
            candidates, num_threads, weighting, p, self_loops):
    g = as_graph(edge_index, num_nodes, model, probs, weighting, p,
                 self_loops)
    n = g.num_nodes
    check_choice(method, 'method', ('auto', 'vanilla', 'subsim'))
    cand = np.ones(n, dtype=np.uint8) if candidates is None else \
        node_mask(candidates, 'candidates', n)
    k = _check_k(k, int(np.count_nonzero(cand)))
    return g, n, cand, k, as_seed(seed), check_threads(num_threads)


def imm(edge_index: Any, num_nodes: Optional[int] = None, k: int = 50,
        eps: float = 0.1, ell: float = 1.0, model: Optional[str] = None,
        probs: Optional[Any] = None, seed: Any = None,
        reuse_samples: bool = False, max_rr_sets: Optional[int] = None,
        method: str = 'auto', candidates: Optional[Any] = None,
        num_threads: Optional[int] = None,
        max_memory: Optional[int] = None,
        *, weighting: Optional[str] = None,
        p: Optional[float] = None,
        self_loops: Optional[str] = None, group: Any = None,
        distributed: bool = False,
        dist_greedy: str = 'auto') -> IMResult:
    r"""IMM from the `"Influence Maximization in Near-Linear Time: A
    Martingale Approach" <https://doi.org/10.1145/2723372.2723734>`_ paper:
    a :math:`(1-1/e-\varepsilon)`-approximation w.p. :math:`\ge 1-n^{-\ell}`.

    The sampling phase finds :math:`LB \le OPT` with
    :math:`\theta_i = \lambda'/(n/2^i)` RR sets; the final selection uses
    :math:`\theta = \lambda^*/LB`.

    Args:
        k (int): Number of seeds.
        eps (float): :math:`\varepsilon \in (0, 1)`. (default: :obj:`0.1`)
        ell (float): :math:`\ell > 0` (failure probability
            :math:`n^{-\ell}`).
        reuse_samples (bool): Re-use the sampling-phase RR sets in the final
            selection, as printed in the paper and in the reference codes.
            The default (:obj:`False`) draws the final :math:`\theta` sets
            afresh, which repairs the martingale issue pointed out by
            W. Chen (arXiv:1808.09363).
        max_rr_sets (int, optional): Raise a :class:`ValueError` instead of
            generating more RR sets than this (per collection).
        max_memory (int, optional): Bytes the RR sets may take; a round
            that would not fit (estimated from the average RR-set size so
            far) is refused before it is sampled. (default: half the
            physical memory)
        method (str): RR sampler (``'auto'``, ``'vanilla'``, ``'subsim'``).
        candidates (LongTensor or BoolTensor, optional): Allowed seeds.
        group (ProcessGroup, optional): Run on the ranks of this
            :mod:`torch.distributed` group: each rank samples its share of
            the RR-set blocks, the greedy runs over the group (see
            ``docs/distributed.md``) and every rank returns the
            one-process result for the same :obj:`seed`, with
            ``world_size`` set. Every rank must pass the same arguments
            (checked).
        distributed (bool): Use the default group (joined from torchrun's
            environment variables if needed). (default: :obj:`False`)
        dist_greedy (str): ``'allreduce'`` (per seed, sum the marginal
            coverage counts; the RR sets stay split), ``'gather'`` (send
            the RR sets to rank 0, which runs the greedy) or ``'auto'``
            (fewer bytes). (default: :obj:`'auto'`)

    .. note:: See ``examples/influence.py``.
    """
    t0 = time.perf_counter()
    g, n, cand, k, root, num_threads = _common(
        edge_index, num_nodes, k, model, probs, seed, method, candidates,
        num_threads, weighting, p, self_loops)
    eps = _check_eps(eps)
    ell = check_float(ell, 'ell', 0.0, 1e6, low_open=True)
    reuse_samples = check_bool(reuse_samples, 'reuse_samples')
    budget = _Budget('IMM', n, max_rr_sets, max_memory, 1 if reuse_samples
                     else 2)
    ctx = D.setup('imm', group, distributed, dist_greedy, dict(
        n=n, k=k, eps=eps, ell=ell, seed=seed, method=method,
        candidates=cand, reuse_samples=reuse_samples,
        max_rr_sets=max_rr_sets, max_memory=max_memory), g)
    world = 1 if ctx is None else ctx.world
    if n < 2:
        return IMResult(torch.tensor([0]), 1.0, 0, guarantee=1.0,
                        seconds=time.perf_counter() - t0, world_size=world)
    root = root if ctx is None else ctx.seed(root, seed)
    sz = imm_sample_sizes(n, k, eps, ell)
    rr = D.collection(ctx, RRSampler(g, root, 0, method,
                                     num_threads=num_threads,
                                     max_bytes=budget.per_collection))
    lb = 1.0
    it = 0
    for i, theta_i in enumerate(sz['theta_i'], start=1):
        it = i
        budget.check(math.ceil(theta_i), rr.avg())
        rr.grow(math.ceil(theta_i))
        _, gains, _ = rr.greedy(k, cand)
        cov = int(gains.sum())
        x = n / 2**i
        if n * cov / len(rr) >= (1 + sz['eps_prime']) * x:
            lb = n * cov / len(rr) / (1 + sz['eps_prime'])
            break
    theta = int(math.ceil(sz['lambda_star'] / lb))
    budget.check(theta, rr.avg())
    total = len(rr)
    if reuse_samples:
        rr.grow(theta)
        total = len(rr)
        final = rr
    else:
        del rr
        final = D.collection(ctx, RRSampler(
            g, root, 1, method, num_threads=num_threads,
            max_bytes=budget.per_collection))
        final.grow(theta)
        total += theta
    seeds, gains, _ = final.greedy(k, cand)
    cov = int(gains.sum())
    info = dict(theta=theta, sizes=sz, final_rr_sets=len(final))
    if ctx is not None:
        info['comm'] = ctx.tally()
    return IMResult(torch.from_numpy(np.asarray(seeds)),
                    n * cov / len(final), total,
                    lower_bound_opt=lb, guarantee=E1 - eps,
                    failure_prob=n**(-ell), iterations=it,
                    seconds=time.perf_counter() - t0, info=info,
                    world_size=world)


def opim_lower_bound(cov: float, theta: int, n: float, a: float) -> float:
    r"""OPIM's lower bound on :math:`\sigma(S)` from :math:`\Lambda_{R_2}(S)
    = ` :obj:`cov` of :obj:`theta` RR sets, failing w.p.
    :math:`\le e^{-a}`:
    :math:`[(\sqrt{\Lambda + 2a/9} - \sqrt{a/2})^2 - a/18]\,n/\theta`
    (clipped at 0)."""
    t = max(math.sqrt(cov + 2 * a / 9) - math.sqrt(a / 2), 0.0)
    return max(t * t - a / 18, 0.0) * n / theta


def opim_upper_bound(cov_upper: float, theta: int, n: float,
                     a: float) -> float:
    r"""OPIM's upper bound on OPT from an upper bound
    :math:`\Lambda^u` on the optimal coverage of :obj:`theta` RR sets:
    :math:`(\sqrt{\Lambda^u + a/2} + \sqrt{a/2})^2\,n/\theta`."""
    return (math.sqrt(cov_upper + a / 2) + math.sqrt(a / 2))**2 * n / theta


def opim_c_sample_sizes(n: int, k: int, eps: float = 0.1,
                        delta: Optional[float] = None) -> Dict[str, float]:
    r"""OPIM-C's :math:`\theta_{max}`, :math:`\theta_0`, :math:`i_{max}`
    and :math:`a = \ln(3 i_{max}/\delta)`, as in the reference code
    (``github.com/tangj90/OPIM``, ``Alg::opimc``) and the appendix of the
    CIM paper (arXiv:2306.00297)."""
    n = check_int(n, 'n', 1)
    k = check_int(k, 'k', 1, n)
    eps = _check_eps(eps)
    delta = _check_delta(delta, n)
    lc = _log_comb(n, k)
    l6 = math.log(6 / delta)
    core = (E1 * math.sqrt(l6) + math.sqrt(E1 * (lc + l6)))**2
    theta_max = 2 * n * core / (eps**2 * k)
    theta0 = 2 * core
    i_max = int(math.floor(math.log2(theta_max / theta0))) + 1
    return dict(theta_max=theta_max, theta0=theta0, i_max=i_max,
                a=math.log(3 * i_max / delta), delta=delta)


def _check_delta(delta, n):
    if delta is None:
        return 1.0 / n if n > 1 else 0.5
    return check_float(delta, 'delta', 0.0, 1.0, low_open=True,
                       high_open=True)


def _upper_cov(cov, upper, bound):
    vanilla = cov / E1
    if bound == 'vanilla':
        return vanilla
    return min(float(upper), vanilla)


def opim_c(edge_index: Any, num_nodes: Optional[int] = None, k: int = 50,
           eps: float = 0.1, delta: Optional[float] = None,
           bound: str = 'tight', model: Optional[str] = None,
           probs: Optional[Any] = None, seed: Any = None,
           method: str = 'auto', candidates: Optional[Any] = None,
           max_rr_sets: Optional[int] = None,
           num_threads: Optional[int] = None,
           max_memory: Optional[int] = None,
           *, weighting: Optional[str] = None,
           p: Optional[float] = None,
           self_loops: Optional[str] = None, group: Any = None,
           distributed: bool = False,
           dist_greedy: str = 'auto',
           dist_place: str = 'auto') -> IMResult:
    r"""OPIM-C from the `"Online Processing Algorithms for Influence
    Maximization" <https://doi.org/10.1145/3183713.3183749>`_ paper: two RR
    collections (select on :math:`R_1`, validate on :math:`R_2`) doubled
    until the certificate :math:`\alpha = \sigma^l(S)/\sigma^u(S^\circ)`
    reaches :math:`1-1/e-\varepsilon`.

    .. math::
        \sigma^l = \Big[\big(\sqrt{\Lambda_2(S) + 2a/9} - \sqrt{a/2}\big)^2
        - \frac{a}{18}\Big]\frac{n}{\theta_2},\qquad
        \sigma^u = \big(\sqrt{\Lambda^u_1 + a/2} + \sqrt{a/2}\big)^2
        \frac{n}{\theta_1}

    Args:
        k (int): Number of seeds.
        eps (float): Target :math:`1-1/e-\varepsilon`,
            :math:`\varepsilon \in (0, 1)`.
        delta (float, optional): Failure probability in :math:`(0, 1)`
            (default :math:`1/n`).
        bound (str): ``'tight'``: :math:`\Lambda^u = ` the min-over-prefixes
            bound of :func:`max_coverage` (also capped by the vanilla bound;
            the reference code's mode 2); ``'vanilla'``:
            :math:`\Lambda^u = \Lambda_1(S_k)/(1-1/e)`.
        max_rr_sets (int, optional): Refuse a round that needs more RR sets
            per collection than this.
        max_memory (int, optional): Bytes the two collections may take; a
            round that would not fit (estimated from the average RR-set
            size so far) is refused before it is sampled. (default: half
            the physical memory)
        group, distributed, dist_greedy: Several processes, as in
            :func:`imm`.
        dist_place (str): Where the two collections live on several
            processes: ``'split'`` (:math:`R_1` on the first half of the
            ranks, :math:`R_2` on the second: on two ranks no RR set is
            sent), ``'shared'`` (both split over all the ranks),
            ``'overlap'`` (two ranks: :math:`R_1` and the greedy on rank
            0, :math:`R_2` on rank 1, which samples while rank 0 runs the
            greedy and sends rank 0 the last blocks of its :math:`R_1` sets
            to balance the two; point-to-point messages only) or
            ``'auto'`` (``'overlap'`` on two ranks unless
            ``dist_greedy='allreduce'``, else ``'split'`` for an even
            number of ranks, else ``'shared'``).

    At :math:`i_{max}` the seeds are returned with the :math:`\theta_{max}`
    guarantee even if the certificate test fails (the reference code returns
    nothing there). ``info`` holds both upper bounds of the last round
    (``sigma_upper_tight``, ``sigma_upper_vanilla``).
    """
    t0 = time.perf_counter()
    check_choice(bound, 'bound', ('tight', 'vanilla'))
    g, n, cand, k, root, num_threads = _common(
        edge_index, num_nodes, k, model, probs, seed, method, candidates,
        num_threads, weighting, p, self_loops)
    eps = _check_eps(eps)
    delta = _check_delta(delta, n)
    budget = _Budget('OPIM-C', n, max_rr_sets, max_memory, 2)
    ctx = D.setup('opim_c', group, distributed, dist_greedy, dict(
        n=n, k=k, eps=eps, delta=delta, bound=bound, seed=seed,
        method=method, candidates=cand, max_rr_sets=max_rr_sets,
        max_memory=max_memory), g, dist_place, overlap=True)
    root = root if ctx is None else ctx.seed(root, seed)
    sz = opim_c_sample_sizes(n, k, eps, delta)
    a = sz['a']
    thetas = [int(math.ceil(sz['theta0'] * 2**(i - 1)))
              for i in range(1, sz['i_max'] + 1)]

    def bounds(theta, cov1, upper, cov2):
        lo = opim_lower_bound(cov2, theta, n, a)
        up = opim_upper_bound(_upper_cov(cov1, upper, bound), theta, n, a)
        return lo, up, lo / up if up > 0 else 1.0

    def enough(theta, cov1, upper, cov2):
        return bounds(theta, cov1, upper, cov2)[2] >= E1 - eps

    samplers = [RRSampler(g, root, s, method, num_threads=num_threads,
                          max_bytes=budget.per_collection) for s in (0, 1)]
    if ctx is not None and ctx.place == 'overlap':
        i, theta, seeds, cov1, upper, cov2 = overlap_rounds(
            ctx, samplers, thetas, k, cand, budget.check, enough)
    else:
        r1, r2 = D.pair(ctx, samplers)
        for i, theta in enumerate(thetas, 1):
            budget.check(theta, r1.avg())
            D.grow_all((r1, r2), theta)
            seeds, gains, upper = r1.greedy(k, cand)
            cov1 = int(gains.sum())
            cov2 = r2.covered(seeds)
            if enough(theta, cov1, upper, cov2):
                break
    lo, up, alpha = bounds(theta, cov1, upper, cov2)
    info = dict(sizes=sz, theta=theta,
                **_both_upper(cov1, upper, theta, n, a))
    if ctx is not None:
        info['comm'] = ctx.tally()
    return IMResult(torch.from_numpy(np.asarray(seeds)), n * cov2 / theta,
                    2 * theta, alpha=alpha, sigma_lower=lo,
                    sigma_upper_opt=up, guarantee=E1 - eps,
                    failure_prob=delta, iterations=i,
                    seconds=time.perf_counter() - t0, info=info,
                    world_size=1 if ctx is None else ctx.world)


def _both_upper(cov, upper, theta, n, a):
    tight = _upper_cov(cov, upper, 'tight')
    vanilla = _upper_cov(cov, upper, 'vanilla')
    return dict(sigma_upper_tight=opim_upper_bound(tight, theta, n, a),
                sigma_upper_vanilla=opim_upper_bound(vanilla, theta, n, a))


def opim(edge_index: Any, num_nodes: Optional[int] = None, k: int = 50,
         num_rr_sets: int = 10000, delta: Optional[float] = None,
         bound: str = 'tight', model: Optional[str] = None,
         probs: Optional[Any] = None, seed: Any = None, method: str = 'auto',
         candidates: Optional[Any] = None,
         num_threads: Optional[int] = None,
         max_memory: Optional[int] = None,
         *, weighting: Optional[str] = None,
         p: Optional[float] = None,
         self_loops: Optional[str] = None, group: Any = None,
         distributed: bool = False,
         dist_greedy: str = 'auto',
         dist_place: str = 'auto') -> IMResult:
    r"""Online OPIM with a fixed budget: :obj:`num_rr_sets` RR sets in each
    of :math:`R_1`, :math:`R_2`; returns the seeds and the certificate
    :math:`\alpha` with :math:`a = \ln(2/\delta)`. A budget whose sets
    would not fit in :obj:`max_memory` (default: half the physical memory)
    is refused up front. :obj:`group`, :obj:`distributed` and
    :obj:`dist_greedy` run it on several processes, as in :func:`imm`, with
    the collections placed by :obj:`dist_place` as in :func:`opim_c`."""
    t0 = time.perf_counter()
    check_choice(bound, 'bound', ('tight', 'vanilla'))
    num_rr_sets = check_int(num_rr_sets, 'num_rr_sets', 1)
    g, n, cand, k, root, num_threads = _common(
        edge_index, num_nodes, k, model, probs, seed, method, candidates,
        num_threads, weighting, p, self_loops)
    delta = _check_delta(delta, n)
    budget = _Budget('OPIM', n, None, max_memory, 2)
    budget.check(num_rr_sets, arg='num_rr_sets')
    ctx = D.setup('opim', group, distributed, dist_greedy, dict(
        n=n, k=k, num_rr_sets=num_rr_sets, delta=delta, bound=bound,
        seed=seed, method=method, candidates=cand, max_memory=max_memory),
        g, dist_place)
    root = root if ctx is None else ctx.seed(root, seed)
    a = math.log(2 / delta)
    r1, r2 = D.pair(ctx, [RRSampler(
        g, root, s, method, num_threads=num_threads,
        max_bytes=budget.per_collection) for s in (0, 1)])
    D.grow_all((r1, r2), num_rr_sets)
    seeds, gains, upper = r1.greedy(k, cand)
    cov1 = int(gains.sum())
    cov2 = r2.covered(seeds)
    lo = opim_lower_bound(cov2, num_rr_sets, n, a)
    up = opim_upper_bound(_upper_cov(cov1, upper, bound), num_rr_sets, n, a)
    info = _both_upper(cov1, upper, num_rr_sets, n, a)
    if ctx is not None:
        info['comm'] = ctx.tally()
    return IMResult(torch.from_numpy(np.asarray(seeds)),
                    n * cov2 / num_rr_sets, 2 * num_rr_sets,
                    alpha=lo / up if up > 0 else 1.0, sigma_lower=lo,
                    sigma_upper_opt=up, failure_prob=delta, iterations=1,
                    seconds=time.perf_counter() - t0, info=info,
                    world_size=1 if ctx is None else ctx.world)
