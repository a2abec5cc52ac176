r"""HeteroIR and HeteroIM recommendation re-ranking, as released with
`"Heterogeneous Influence Maximization in User Recommendation"
<https://arxiv.org/abs/2508.13517>`_ (authors' code: ``github.com/socialalgo/HIM``)."""
import math
from typing import Any, Dict, Optional, Tuple

import numpy as np
import torch

from pyg_ext.influence import _kernels as K
from pyg_ext.influence import _prep as PR
from pyg_ext.influence._checks import (check_budget, check_int, check_limit,
                                       node_mask, prob_array)
from pyg_ext.influence.graph import (DiffusionGraph, _edge_rows, _log_comb,
                                     as_graph)
from pyg_ext.influence.im import _check_delta, _check_eps
from pyg_ext.influence.rr import RRSets, rr_bytes, sample_rr_sets

__all__ = ['hetero_ir_scores', 'hetero_im_rerank', 'hetero_im_sample_size']


def _edges(edge_index: Any, num_nodes: Optional[int]):
    if isinstance(edge_index, DiffusionGraph):
        raise TypeError("'edge_index' must be a [2, m] LongTensor (the "
                        "probabilities come from 'P'), got a DiffusionGraph")
    src, dst = _edge_rows(edge_index)
    lo = min(PR.int_range(src)[0], PR.int_range(dst)[0])
    hi = max(PR.int_range(src)[1], PR.int_range(dst)[1])
    if num_nodes is not None:
        n = check_int(num_nodes, 'num_nodes', 1)
    else:
        n = int(hi) + 1
    if src.shape[0] and (lo < 0 or hi >= n):
        raise ValueError(f"'edge_index' holds node ids outside [0, {n - 1}] "
                         f"(min {lo}, max {hi})")
    return src.astype(np.int64), dst.astype(np.int64), n


def hetero_ir_scores(edge_index: torch.Tensor, P: Any, U: Optional[Any] = None,
                     capacity: int = 20,
                     num_nodes: Optional[int] = None) -> torch.Tensor:
    r"""HeteroIR scores :math:`\beta_{ij} = P_{ij} U_j (1 +
    \mathrm{HeteroInf}(j))` for every edge :math:`(i, j)`, where
    :math:`\mathrm{HeteroInf}(j)` is the sum of the :obj:`capacity` largest
    :math:`P_{jl} U_l` over :math:`j`'s out-edges (:math:`10^{-5}` if
    :math:`j` has none, as in the released code).

    Args:
        edge_index (LongTensor): ``[2, m]`` (inviter -> invitee).
        P (Tensor): ``[m]`` invitation probabilities.
        U (Tensor, optional): ``[N]`` acceptance probabilities (default 1).
        capacity (int): The interaction capacity :math:`c`.

    Example:
        >>> ei = torch.tensor([[0, 1], [1, 2]])
        >>> s = hetero_ir_scores(ei, torch.tensor([0.5, 0.5]))
        >>> [round(x, 4) for x in s.tolist()]  # 0.5 * 1.5, 0.5 * (1 + 1e-5)
        [0.75, 0.5]
    """
    capacity = check_int(capacity, 'capacity', 1)
    if num_nodes is None and U is not None and hasattr(U, 'shape') and \
            len(U.shape) == 1:
        num_nodes = int(U.shape[0])
    src, dst, n = _edges(edge_index, num_nodes)
    m = src.shape[0]
    P = torch.from_numpy(prob_array(P, 'P', m))
    U = torch.ones(n, dtype=torch.float64) if U is None else \
        torch.from_numpy(prob_array(U, 'U', n, what='node'))
    src, dst = torch.from_numpy(src), torch.from_numpy(dst)
    val = P * U[dst]
    # rank of each out-edge among its source's out-edges by value, desc
    order = torch.from_numpy(np.lexsort((-val.numpy(), src.numpy())))
    s_sorted = src[order]
    deg = torch.bincount(src, minlength=n)
    start = torch.cumsum(deg, 0) - deg
    rank = torch.arange(m) - start[s_sorted]
    keep = order[rank < capacity]
    inf = torch.zeros(n, dtype=torch.float64).index_add_(0, src[keep],
                                                         val[keep])
    inf[deg == 0] = 1e-5
    return P * U[dst] * (1 + inf[dst])


def hetero_im_sample_size(n: int, out_deg_inviters: np.ndarray, k: int,
                          eps: float, delta: float) -> Dict[str, float]:
    r"""HeteroIM's RR count: :math:`\theta = \theta_0 2^{i_{max}}` with
    :math:`\theta_0 = 2(\frac12\sqrt{\ln(6/\delta)} +
    \sqrt{\frac12(\sum_u \ln\binom{d_u}{k} + \ln(6/\delta))})^2` and
    :math:`i_{max} = \lfloor\log_2(n/(\varepsilon^2 k |A|))\rfloor`."""
    l6 = math.log(6 / delta)
    lc = sum(_log_comb(int(d), min(k, int(d))) for d in out_deg_inviters)
    theta0 = 2 * (0.5 * math.sqrt(l6) + math.sqrt(0.5 * (lc + l6)))**2
    i_max = max(0, int(math.floor(math.log2(
        n / (eps**2 * k * len(out_deg_inviters))))))
    theta = theta0 * 2**i_max
    return dict(theta0=theta0, i_max=i_max, theta=theta,
                per_node=int(math.ceil(theta / n)))


def hetero_im_rerank(edge_index: torch.Tensor, num_nodes: Optional[int],
                     inviters: Any, P: Any, k: int = 3, eps: float = 0.1,
                     delta: Optional[float] = None,
                     rr: Optional[RRSets] = None, seed: Any = None,
                     max_rr_sets: Optional[int] = None,
                     max_memory: Optional[int] = None,
                     ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor,
                                torch.Tensor]:
    r"""HeteroIM re-ranking as released (``HeteroIM.py`` of
    ``github.com/socialalgo/HIM``).

    RR sets are sampled *stratified* (:math:`\lceil\theta/n\rceil` rooted at
    every node, IC with probabilities :obj:`P` on the full graph) unless
    :obj:`rr` is given. A CELF greedy over all out-neighbours of the
    inviters pops candidates :math:`v` in order of marginal coverage; each
    inviter :math:`u \to v` gets :math:`c(u,v) = 1 + \#\{` uncovered RR sets
    containing :math:`u` and :math:`v\}` if :math:`c > 1`, else the
    non-positive tie-breaker :math:`-\Lambda(v \mid S)/\max_w \Lambda(w)`.

    Args:
        edge_index (LongTensor): ``[2, m]`` (inviter -> invitee).
        num_nodes (int, optional): :math:`n`.
        inviters (LongTensor): The inviters :math:`A` (ids or a bool mask).
        P (Tensor): ``[m]`` invitation probabilities in [0, 1].
        k (int): Recommendations per inviter.
        eps (float): :math:`\varepsilon \in (0, 1)`.
        delta (float, optional): :math:`\delta \in (0, 1)` (default
            :math:`1/n`).
        rr (RRSets, optional): Pre-sampled RR sets over the same nodes.
        max_rr_sets (int, optional): Refuse a sample larger than this.
        max_memory (int, optional): Refuse a sample whose RR sets would take
            more bytes (default: half the physical memory).

    Returns:
        ``(inviter, invitee, score, global_rank)``: for each inviter (in
        ascending id) its top-:obj:`k` invitees by score (ties: earlier
        global pick first); ``global_rank`` is the invitee's position in the
        greedy order.
    """
    k = check_int(k, 'k', 1)
    eps = _check_eps(eps)
    max_rr_sets = check_limit(max_rr_sets, 'max_rr_sets')
    max_memory = check_limit(max_memory, 'max_memory')
    src, dst, n = _edges(edge_index, num_nodes)
    P = prob_array(P, 'P', src.shape[0])
    g = as_graph(torch.from_numpy(np.stack([src, dst])), n, model='IC',
                 probs=torch.from_numpy(P))
    if inviters is None:
        raise ValueError("'inviters' is required")
    inv_mask = node_mask(inviters, 'inviters', n)
    if np.count_nonzero(inv_mask) == 0:
        raise ValueError("'inviters' must not be empty")
    inv = np.flatnonzero(inv_mask)
    delta = _check_delta(delta, n)
    if rr is None:
        sz = hetero_im_sample_size(n, np.diff(g.out_ptr)[inv], k, eps, delta)
        total = sz['per_node'] * n
        check_budget('HeteroIM', total, rr_bytes(total), max_rr_sets,
                     max_memory, arg='eps')
        roots = torch.arange(n).repeat(sz['per_node'])
        rr = sample_rr_sets(g, n=int(roots.shape[0]), roots=roots, seed=seed,
                            max_memory=max_memory)
    elif not isinstance(rr, RRSets):
        raise TypeError(f"'rr' must be an RRSets, got {type(rr).__name__}")
    elif rr.num_nodes != n:
        raise ValueError(f"'rr' must be over the same num_nodes ({n}), got "
                         f"{rr.num_nodes}")
    cand_mask = np.zeros(n, dtype=np.uint8)
    cand_mask[g.dst[inv_mask[g.src] == 1]] = 1
    cand = np.flatnonzero(cand_mask).astype(np.int64)
    node_ptr, node_rr = rr.index()
    order, pu, pv, ps = K.hetero_im_kernel(rr._ptr, rr._nodes, node_ptr,
                                           node_rr, n, cand, inv_mask,
                                           g.in_ptr, g.in_src)
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(order.shape[0])
    gr = rank[pv]
    idx = np.lexsort((gr, -ps, pu))
    pu, pv, ps, gr = pu[idx], pv[idx], ps[idx], gr[idx]
    first = np.r_[0, np.flatnonzero(np.diff(pu)) + 1]
    pos = np.arange(pu.shape[0]) - np.repeat(first, np.diff(
        np.r_[first, pu.shape[0]]))
    keep = pos < k
    return (torch.from_numpy(pu[keep]), torch.from_numpy(pv[keep]),
            torch.from_numpy(ps[keep]), torch.from_numpy(gr[keep]))
