r"""Heuristic seed rankings: out-degree and PageRank on the reversed
diffusion graph."""
from typing import Any, Optional

import numpy as np
import torch

from pyg_ext.influence._checks import (check_bool, check_float, check_int,
                                       index_array, score_array)
from pyg_ext.influence.graph import _check_k, as_graph

__all__ = ['degree_scores', 'pagerank_scores', 'top_k']


def degree_scores(graph: Any, num_nodes: Optional[int] = None,
                  weighted: bool = False, model: Optional[str] = None,
                  probs: Optional[Any] = None,
                  *, weighting: Optional[str] = None,
                  p: Optional[float] = None,
                  self_loops: Optional[str] = None) -> torch.Tensor:
    r"""Out-degree (or, with :obj:`weighted`, the sum of out-edge
    probabilities) per node."""
    check_bool(weighted, 'weighted')
    g = as_graph(graph, num_nodes, model, probs, weighting, p,
                 self_loops)
    if weighted:
        s = np.bincount(g.src, weights=g.prob, minlength=g.num_nodes)
    else:
        s = np.diff(g.out_ptr).astype(np.float64)
    return torch.from_numpy(s)


def pagerank_scores(graph: Any, num_nodes: Optional[int] = None,
                    damping: float = 0.85, tol: float = 1e-10,
                    max_iter: int = 1000, model: Optional[str] = None,
                    probs: Optional[Any] = None,
                    *, weighting: Optional[str] = None,
                    p: Optional[float] = None,
                    self_loops: Optional[str] = None) -> torch.Tensor:
    r"""PageRank on the reversed graph: a walker at :math:`v` moves to an
    in-neighbour :math:`u` with probability :math:`p(u,v)/\sum_{u'}
    p(u',v)` (teleport :math:`1 -` :obj:`damping`; nodes without in-edges
    teleport), so nodes that reach many influential nodes rank high."""
    damping = check_float(damping, 'damping', 0.0, 1.0, high_open=True)
    tol = check_float(tol, 'tol', 0.0, 1.0, low_open=True)
    max_iter = check_int(max_iter, 'max_iter', 1, 10**7)
    g = as_graph(graph, num_nodes, model, probs, weighting, p,
                 self_loops)
    n = g.num_nodes
    tot = np.bincount(g.dst, weights=g.prob, minlength=n)
    w = np.where(tot[g.dst] > 0, g.prob / np.maximum(tot[g.dst], 1e-300), 0)
    dangling = tot <= 0
    r = np.full(n, 1.0 / n)
    for _ in range(max_iter):
        new = np.bincount(g.src, weights=w * r[g.dst], minlength=n)
        new = damping * (new + r[dangling].sum() / n) + (1 - damping) / n
        if np.abs(new - r).sum() < tol:
            r = new
            break
        r = new
    return torch.from_numpy(r)


def top_k(scores: torch.Tensor, k: int,
          candidates: Optional[Any] = None) -> torch.Tensor:
    r"""The :obj:`k` highest-scoring nodes (ties: smallest id)."""
    if not isinstance(scores, (torch.Tensor, np.ndarray)):
        raise TypeError(f"'scores' must be a tensor of one score per node, "
                        f"got {type(scores).__name__}")
    n = scores.shape[0] if scores.ndim == 1 else -1
    s = score_array(scores, 'scores', max(n, 0))
    idx = np.arange(s.shape[0]) if candidates is None else np.unique(
        index_array(candidates, 'candidates', s.shape[0], allow_mask=True))
    k = _check_k(k, idx.shape[0])
    order = np.lexsort((idx, -s[idx]))[:k]
    return torch.from_numpy(idx[order].astype(np.int64))
