r"""Seed selection on RR sets: greedy maximum coverage with the prefix upper
bound, IMM (SIGMOD'15), OPIM-C and online OPIM (SIGMOD'18)."""
import math
import time
from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Tuple

import numpy as np
import torch

from pyg_ext.influence import _kernels as K
from pyg_ext.influence.graph import _check_k, _log_comb, as_graph, as_seed
from pyg_ext.influence.rr import RRSampler, RRSets, _node_mask

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


def max_coverage(rr: RRSets, k: int, candidates: Optional[Any] = None,
                 return_upper_bound: bool = True):
    r"""Greedy maximum coverage of RR sets (:math:`\ge (1-1/e)` of the best
    :math:`k`-set's coverage) with the prefix upper bound

    .. math::
        \Lambda(S^\circ) \le \min_{0 \le i \le k} \Big[\Lambda(S_i) +
        \sum_{v \in \text{top-}k} \Lambda(v \mid S_i)\Big].

    Ties go to the smallest node id.

    Args:
        rr (RRSets): The RR collection.
        k (int): Number of seeds (:math:`1 \le k \le` #candidates).
        candidates (LongTensor or BoolTensor, optional): Allowed seeds.
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
    n = rr.num_nodes
    cand = np.ones(n, dtype=np.uint8) if candidates is None else \
        _node_mask(candidates, n, 'candidates')
    k = _check_k(k, int(np.count_nonzero(cand)))
    node_ptr, node_rr = rr.index()
    seeds, gains, upper = K.greedy_max_cover(rr._ptr, rr._nodes, node_ptr,
                                             node_rr, n, k, cand)
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
    if n < 2:
        raise ValueError(f"IMM needs n >= 2 nodes, got {n}")
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


def _check_eps(eps, name='eps'):
    if not isinstance(eps, (int, float)) or isinstance(eps, bool) or \
            not (0 < eps < 1):
        raise ValueError(f"'{name}' must be a float in (0, 1), got {eps!r}")
    return float(eps)


def _check_max(count, max_rr_sets, what):
    if max_rr_sets is not None and count > max_rr_sets:
        raise ValueError(f"{what} needs {int(count)} RR sets, more than "
                         f"max_rr_sets={max_rr_sets}; raise the guard or "
                         f"relax eps")


def imm(edge_index: Any, num_nodes: Optional[int] = None, k: int = 50,
        eps: float = 0.1, ell: float = 1.0, model: Optional[str] = None,
        probs: Optional[Any] = None, seed: Any = None,
        reuse_samples: bool = False, max_rr_sets: Optional[int] = None,
        method: str = 'auto', candidates: Optional[Any] = None,
        num_threads: Optional[int] = None, **kwargs) -> IMResult:
    r"""IMM from the `"Influence Maximization in Near-Linear Time: A
    Martingale Approach" <https://doi.org/10.1145/2723372.2723734>`_ paper:
    a :math:`(1-1/e-\varepsilon)`-approximation w.p. :math:`\ge 1-n^{-\ell}`.

    The sampling phase finds :math:`LB \le OPT` with
    :math:`\theta_i = \lambda'/(n/2^i)` RR sets; the final selection uses
    :math:`\theta = \lambda^*/LB`.

    Args:
        k (int): Number of seeds.
        eps (float): :math:`\varepsilon`. (default: :obj:`0.1`)
        ell (float): :math:`\ell` (failure probability :math:`n^{-\ell}`).
        reuse_samples (bool): Re-use the sampling-phase RR sets in the final
            selection, as printed in the paper and in the reference codes.
            The default (:obj:`False`) draws the final :math:`\theta` sets
            afresh, which repairs the martingale issue pointed out by
            W. Chen (arXiv:1808.09363).
        max_rr_sets (int, optional): Raise a :class:`ValueError` instead of
            generating more RR sets than this (per collection).
        method (str): RR sampler (``'auto'``, ``'vanilla'``, ``'subsim'``).

    .. note:: See ``examples/influence.py``.
    """
    t0 = time.perf_counter()
    g = as_graph(edge_index, num_nodes, model=model, probs=probs, **kwargs)
    n = g.num_nodes
    eps = _check_eps(eps)
    cand = np.ones(n, dtype=np.uint8) if candidates is None else \
        _node_mask(candidates, n, 'candidates')
    k = _check_k(k, int(np.count_nonzero(cand)))
    root = as_seed(seed)
    if n < 2:
        return IMResult(torch.tensor([0]), 1.0, 0, guarantee=1.0)
    sz = imm_sample_sizes(n, k, eps, ell)
    sampler = RRSampler(g, root, 0, method, num_threads=num_threads)
    rr = sampler.new(0)
    lb = 1.0
    it = 0
    for i, theta_i in enumerate(sz['theta_i'], start=1):
        it = i
        _check_max(math.ceil(theta_i), max_rr_sets, 'IMM sampling phase')
        sampler.grow(rr, math.ceil(theta_i))
        s, cov = max_coverage(rr, k, cand.astype(bool),
                              return_upper_bound=False)
        x = n / 2**i
        if n * cov / len(rr) >= (1 + sz['eps_prime']) * x:
            lb = n * cov / len(rr) / (1 + sz['eps_prime'])
            break
    theta = int(math.ceil(sz['lambda_star'] / lb))
    _check_max(theta, max_rr_sets, 'IMM final selection')
    total = len(rr)
    if reuse_samples:
        sampler.grow(rr, theta)
        total = len(rr)
        final = rr
    else:
        final = RRSampler(g, root, 1, method, num_threads=num_threads) \
            .new(theta)
        total += theta
    seeds, cov = max_coverage(final, k, cand.astype(bool),
                              return_upper_bound=False)
    return IMResult(seeds, n * cov / len(final), total,
                    lower_bound_opt=lb, guarantee=E1 - eps,
                    failure_prob=n**(-ell), iterations=it,
                    seconds=time.perf_counter() - t0,
                    info=dict(theta=theta, sizes=sz,
                              final_rr_sets=len(final)))


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
    and :math:`a = \ln(3 i_{max}/\delta)` (spec §1.5)."""
    delta = 1.0 / n if delta is None else delta
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
    if not isinstance(delta, (int, float)) or not (0 < delta < 1):
        raise ValueError(f"'delta' must be a float in (0, 1), got {delta!r}")
    return float(delta)


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
           num_threads: Optional[int] = None, **kwargs) -> IMResult:
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
        eps (float): Target :math:`1-1/e-\varepsilon`.
        delta (float, optional): Failure probability (default :math:`1/n`).
        bound (str): ``'tight'``: :math:`\Lambda^u = ` the min-over-prefixes
            bound of :func:`max_coverage` (also capped by the vanilla bound;
            the reference code's mode 2); ``'vanilla'``:
            :math:`\Lambda^u = \Lambda_1(S_k)/(1-1/e)`.

    At :math:`i_{max}` the seeds are returned with the :math:`\theta_{max}`
    guarantee even if the certificate test fails (the reference code returns
    nothing there). ``info`` holds both upper bounds of the last round
    (``sigma_upper_tight``, ``sigma_upper_vanilla``).
    """
    t0 = time.perf_counter()
    if bound not in ('tight', 'vanilla'):
        raise ValueError(f"'bound' must be 'tight' or 'vanilla', got "
                         f"{bound!r}")
    g = as_graph(edge_index, num_nodes, model=model, probs=probs, **kwargs)
    n = g.num_nodes
    eps = _check_eps(eps)
    delta = _check_delta(delta, n)
    cand = np.ones(n, dtype=np.uint8) if candidates is None else \
        _node_mask(candidates, n, 'candidates')
    k = _check_k(k, int(np.count_nonzero(cand)))
    root = as_seed(seed)
    sz = opim_c_sample_sizes(n, k, eps, delta)
    a = sz['a']
    s1 = RRSampler(g, root, 0, method, num_threads=num_threads)
    s2 = RRSampler(g, root, 1, method, num_threads=num_threads)
    r1, r2 = s1.new(0), s2.new(0)
    for i in range(1, sz['i_max'] + 1):
        theta = int(math.ceil(sz['theta0'] * 2**(i - 1)))
        _check_max(theta, max_rr_sets, 'OPIM-C')
        s1.grow(r1, theta)
        s2.grow(r2, theta)
        seeds, cov1, upper = max_coverage(r1, k, cand.astype(bool))
        cov2 = r2.coverage(seeds)
        lo = opim_lower_bound(cov2, theta, n, a)
        up = opim_upper_bound(_upper_cov(cov1, upper, bound), theta, n, a)
        alpha = lo / up if up > 0 else 1.0
        if alpha >= E1 - eps:
            break
    return IMResult(seeds, n * cov2 / theta, 2 * theta, alpha=alpha,
                    sigma_lower=lo, sigma_upper_opt=up, guarantee=E1 - eps,
                    failure_prob=delta, iterations=i,
                    seconds=time.perf_counter() - t0,
                    info=dict(sizes=sz, theta=theta,
                              **_both_upper(cov1, upper, theta, n, a)))


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
         num_threads: Optional[int] = None, **kwargs) -> IMResult:
    r"""Online OPIM with a fixed budget: :obj:`num_rr_sets` RR sets in each
    of :math:`R_1`, :math:`R_2`; returns the seeds and the certificate
    :math:`\alpha` with :math:`a = \ln(2/\delta)`."""
    t0 = time.perf_counter()
    if bound not in ('tight', 'vanilla'):
        raise ValueError(f"'bound' must be 'tight' or 'vanilla', got "
                         f"{bound!r}")
    if isinstance(num_rr_sets, bool) or not isinstance(
            num_rr_sets, (int, np.integer)) or num_rr_sets < 1:
        raise ValueError(f"'num_rr_sets' must be an int >= 1, got "
                         f"{num_rr_sets!r}")
    g = as_graph(edge_index, num_nodes, model=model, probs=probs, **kwargs)
    n = g.num_nodes
    delta = _check_delta(delta, n)
    cand = np.ones(n, dtype=np.uint8) if candidates is None else \
        _node_mask(candidates, n, 'candidates')
    k = _check_k(k, int(np.count_nonzero(cand)))
    root = as_seed(seed)
    a = math.log(2 / delta)
    r1 = RRSampler(g, root, 0, method, num_threads=num_threads).new(
        int(num_rr_sets))
    r2 = RRSampler(g, root, 1, method, num_threads=num_threads).new(
        int(num_rr_sets))
    seeds, cov1, upper = max_coverage(r1, k, cand.astype(bool))
    cov2 = r2.coverage(seeds)
    lo = opim_lower_bound(cov2, num_rr_sets, n, a)
    up = opim_upper_bound(_upper_cov(cov1, upper, bound), num_rr_sets, n, a)
    return IMResult(seeds, n * cov2 / num_rr_sets, 2 * int(num_rr_sets),
                    alpha=lo / up if up > 0 else 1.0, sigma_lower=lo,
                    sigma_upper_opt=up, failure_prob=delta, iterations=1,
                    seconds=time.perf_counter() - t0,
                    info=_both_upper(cov1, upper, num_rr_sets, n, a))
