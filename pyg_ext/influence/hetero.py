r"""HeteroIR and HeteroIM recommendation re-ranking, as released with
`"Heterogeneous Influence Maximization in User Recommendation"
<https://arxiv.org/abs/2508.13517>`_ (spec §1.8)."""
import math
from typing import Any, Dict, Optional, Tuple

import numpy as np
import torch

from pyg_ext.influence import _kernels as K
from pyg_ext.influence.graph import _log_comb, as_graph
from pyg_ext.influence.rr import RRSets, _node_mask, sample_rr_sets

__all__ = ['hetero_ir_scores', 'hetero_im_rerank', 'hetero_im_sample_size']


def _edge_values(x: Any, m: int, name: str) -> torch.Tensor:
    t = torch.as_tensor(x, dtype=torch.float64).reshape(-1)
    if t.shape[0] != m:
        raise ValueError(f"'{name}' must have one value per edge ({m}), got "
                         f"{t.shape[0]}")
    if not torch.isfinite(t).all() or (m and (t.min() < 0 or t.max() > 1)):
        raise ValueError(f"'{name}' must lie in [0, 1]")
    return t


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
    if not isinstance(edge_index, torch.Tensor) or edge_index.dim() != 2 \
            or edge_index.shape[0] != 2:
        raise ValueError("'edge_index' must be a [2, m] LongTensor")
    if isinstance(capacity, bool) or not isinstance(capacity, int) or \
            capacity < 1:
        raise ValueError(f"'capacity' must be an int >= 1, got {capacity!r}")
    m = edge_index.shape[1]
    n = int(edge_index.max()) + 1 if num_nodes is None and m else (
        num_nodes or 0)
    P = _edge_values(P, m, 'P')
    U = torch.ones(n, dtype=torch.float64) if U is None else torch.as_tensor(
        U, dtype=torch.float64).reshape(-1)
    if U.shape[0] < n:
        raise ValueError(f"'U' must have one value per node ({n}), got "
                         f"{U.shape[0]}")
    src, dst = edge_index[0].long(), edge_index[1].long()
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
                     ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor,
                                torch.Tensor]:
    r"""HeteroIM re-ranking as released (``HeteroIM.py``, spec §1.8).

    RR sets are sampled *stratified* (:math:`\lceil\theta/n\rceil` rooted at
    every node, IC with probabilities :obj:`P` on the full graph) unless
    :obj:`rr` is given. A CELF greedy over all out-neighbours of the
    inviters pops candidates :math:`v` in order of marginal coverage; each
    inviter :math:`u \to v` gets :math:`c(u,v) = 1 + \#\{` uncovered RR sets
    containing :math:`u` and :math:`v\}` if :math:`c > 1`, else the
    non-positive tie-breaker :math:`-\Lambda(v \mid S)/\max_w \Lambda(w)`.

    Returns:
        ``(inviter, invitee, score, global_rank)``: for each inviter (in
        ascending id) its top-:obj:`k` invitees by score (ties: earlier
        global pick first); ``global_rank`` is the invitee's position in the
        greedy order.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"'k' must be an int >= 1, got {k!r}")
    m = edge_index.shape[1]
    P = _edge_values(P, m, 'P')
    g = as_graph(edge_index, num_nodes, model='IC', probs=P)
    n = g.num_nodes
    inv_mask = _node_mask(inviters, n, 'inviters')
    if np.count_nonzero(inv_mask) == 0:
        raise ValueError("'inviters' must not be empty")
    inv = np.flatnonzero(inv_mask)
    delta = 1.0 / n if delta is None else delta
    if rr is None:
        sz = hetero_im_sample_size(n, np.diff(g.out_ptr)[inv], k, eps, delta)
        roots = torch.arange(n).repeat(sz['per_node'])
        rr = sample_rr_sets(g, n=int(roots.shape[0]), roots=roots, seed=seed)
    elif not isinstance(rr, RRSets) or rr.num_nodes != n:
        raise ValueError("'rr' must be an RRSets over the same num_nodes")
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
