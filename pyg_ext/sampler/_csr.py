r"""Vectorised pieces shared by the samplers (internal): segment ranges and
uniform draws without replacement, one row per query, no Python loop over
the queries."""
from typing import List, Optional, Sequence, Tuple

import torch
from torch import Tensor
from torch_geometric.sampler.base import NumNeighbors


def segment_arange(count: Tensor) -> Tensor:
    r"""``cat([arange(c) for c in count])`` without a Python loop."""
    total = int(count.sum())
    if total == 0:
        return count.new_zeros(0)
    start = torch.cumsum(count, 0) - count
    return torch.arange(total, device=count.device) - torch.repeat_interleave(
        start, count)


def floyd_sample(n: Tensor, k: int,
                 generator: Optional[torch.Generator] = None) -> Tensor:
    r"""Draws, for every row :math:`i`, :math:`k` distinct integers uniformly
    from :math:`\{0, \dots, n_i - 1\}` (every :math:`k`-subset equally
    likely) by Robert Floyd's algorithm, vectorised over the rows: the loop
    runs over :math:`k` only. Requires :math:`n_i \ge k`.

    Returns a :obj:`[len(n), k]` tensor in the order of the draws (column
    :math:`j` draws from :math:`\{0, \dots, n_i - k + j\}` and takes
    :math:`n_i - k + j` itself if the draw repeats an earlier column).
    :obj:`generator=None` draws from torch's default generator.
    """
    chosen = torch.empty(n.numel(), k, dtype=torch.long, device=n.device)
    for j in range(k):
        m = n - k + j  # draw from [0, m]
        r = (torch.rand(n.numel(), generator=generator, dtype=torch.float64,
                        device=n.device) *
             (m + 1).double()).long().clamp(max=m)
        dup = (chosen[:, :j] == r.view(-1, 1)).any(1) if j else \
            torch.zeros_like(r, dtype=torch.bool)
        chosen[:, j] = torch.where(dup, m, r)
    return chosen


def build_csc(edge_index: Tensor, num_nodes: int, dtype: torch.dtype,
              chunk: int = 1 << 22) -> Tuple[Tensor, Tensor, Tensor]:
    r"""Groups the edges by target: returns :obj:`rowptr` :math:`[N + 1]`
    (int64), and the source :obj:`col` and edge id :obj:`e_id` of every
    slot :math:`[E]` (in :obj:`dtype`), edges of the same target in
    edge-id order (a stable counting sort).

    Works through :obj:`chunk` edges at a time, so that beyond its output it
    needs memory for one chunk only (a full stable sort of the targets
    would need about 24 bytes per edge more: ogbn-products' 124M edges
    would add 2.8 GB).
    """
    src, dst = edge_index[0], edge_index[1]
    num_edges = dst.numel()
    count = torch.bincount(dst, minlength=num_nodes)
    rowptr = torch.zeros(num_nodes + 1, dtype=torch.long)
    torch.cumsum(count, 0, out=rowptr[1:])
    del count
    fill = rowptr[:-1].clone()  # next free slot of every target
    col = torch.empty(num_edges, dtype=dtype)
    e_id = torch.empty(num_edges, dtype=dtype)
    for lo in range(0, num_edges, chunk):
        d, p = torch.sort(dst[lo:lo + chunk], stable=True)
        node, cnt = torch.unique_consecutive(d, return_counts=True)
        # rank of every edge among the chunk's edges of the same target
        rank = torch.arange(d.numel()) - torch.repeat_interleave(
            torch.cumsum(cnt, 0) - cnt, cnt)
        pos = fill.index_select(0, d) + rank
        del d, rank
        col.index_copy_(0, pos, src[lo:lo + chunk].index_select(0, p).to(
            dtype))
        e_id.index_copy_(0, pos, (p + lo).to(dtype))
        fill.index_add_(0, node, cnt)
    return rowptr, col, e_id


def check_num_neighbors(num_neighbors) -> List[int]:
    r"""Validates a homogeneous fan-out list and returns it as a list of
    ints: non-empty, every entry a positive int or :obj:`-1` (all
    neighbours). Raises :class:`TypeError` / :class:`ValueError` naming
    :obj:`num_neighbors`."""
    if isinstance(num_neighbors, NumNeighbors):
        num_neighbors = num_neighbors.values
    if isinstance(num_neighbors, dict):
        raise TypeError("'num_neighbors' must be a list of ints (one fan-out "
                        "per hop); per-edge-type dicts are for heterogeneous "
                        "graphs, which this sampler does not support")
    if isinstance(num_neighbors, (int, str, bytes)) or not isinstance(
            num_neighbors, Sequence) or not all(
                isinstance(k, int) and not isinstance(k, bool)
                for k in num_neighbors):
        raise TypeError(f"'num_neighbors' must be a list of ints (one fan-out "
                        f"per hop), got {num_neighbors!r}")
    num_neighbors = list(num_neighbors)
    if len(num_neighbors) == 0 or any(k == 0 or k < -1
                                      for k in num_neighbors):
        raise ValueError(f"'num_neighbors' must be a non-empty list of "
                         f"positive ints or -1 (all neighbours), got "
                         f"{num_neighbors!r}")
    return num_neighbors
