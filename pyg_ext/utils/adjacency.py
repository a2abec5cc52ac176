r"""Sparse adjacency helpers: the transposed CSR adjacency ``adj_t`` of an
``edge_index`` (PyG's ``Adj`` convention, as
``T.ToSparseTensor(layout=torch.sparse_csr)`` builds it) and GCN's
symmetric normalisation computed once on it.

Example:
    >>> import torch
    >>> ei = torch.tensor([[0, 1, 1], [1, 0, 2]])
    >>> adj_t, dup = csr_adjacency(ei, 3)
    >>> adj_t.to_dense().tolist(), dup
    ([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], False)
"""
import warnings
from typing import Optional, Tuple

import torch
from torch import Tensor

__all__ = ['csr_adjacency', 'csr_rows', 'csr_tensor', 'gcn_norm_csr']


def csr_tensor(crow: Tensor, col: Tensor, value: Tensor, n: int) -> Tensor:
    r"""``torch.sparse_csr_tensor(crow, col, value, (n, n))`` without the
    invariant check (the callers build valid indices) or its beta warning."""
    with warnings.catch_warnings():
        warnings.filterwarnings('ignore', '.*Sparse CSR tensor support')
        return torch.sparse_csr_tensor(crow, col, value, (n, n),
                                       check_invariants=False)


def _csr(row: Tensor, col: Tensor, value: Tensor, n: int) -> Tensor:
    r"""A CSR tensor from entries already sorted by ``(row, col)``, with
    int32 indices where they fit (half the memory of int64; the sparse
    kernels take both)."""
    small = max(n, col.numel()) < 2**31 - 1
    dtype = torch.int32 if small else torch.long
    counts = torch.bincount(row, minlength=n)
    crow = torch.zeros(n + 1, dtype=dtype, device=row.device)
    torch.cumsum(counts, 0, out=crow[1:])
    return csr_tensor(crow, col.to(dtype), value, n)


def csr_rows(adj_t: Tensor) -> Tensor:
    r"""The (int64) row index of every entry of a CSR tensor."""
    crow = adj_t.crow_indices().long()
    n = crow.numel() - 1
    return torch.repeat_interleave(torch.arange(n, device=crow.device),
                                   crow[1:] - crow[:-1],
                                   output_size=adj_t.col_indices().numel())


def csr_adjacency(edge_index: Tensor, num_nodes: int,
                  dtype: torch.dtype = torch.float32,
                  ) -> Tuple[Tensor, bool]:
    r"""The transposed adjacency :math:`A^\top` of :obj:`edge_index` as a
    ``torch.sparse_csr`` tensor: entry ``[i, j] = 1`` for every edge
    ``j -> i`` (row ``i`` lists the sources of the messages node ``i``
    receives), columns sorted within each row, every edge kept as one entry.

    Returns ``(adj_t, has_duplicates)``; with duplicate edges the CSR holds
    repeated entries, which sparse kernels treat differently from repeated
    messages (e.g. a ``mean``), so callers should keep :obj:`edge_index`.

    Args:
        edge_index (Tensor): ``[2, E]`` edges (source, target), values in
            :math:`[0, N)` (checked by the caller).
        num_nodes (int): :math:`N`.
        dtype (torch.dtype): Dtype of the values. (default: ``float32``)
    """
    src, dst = edge_index[0], edge_index[1]
    # One sort of a flat key: O(E log E) once, at load time.
    key = dst * num_nodes + src
    key, perm = torch.sort(key)
    del perm
    dup = bool(key.numel() > 1 and (key[1:] == key[:-1]).any())
    row = torch.div(key, num_nodes, rounding_mode='floor')
    col = key - row * num_nodes
    del key
    value = torch.ones(col.numel(), dtype=dtype, device=col.device)
    return _csr(row, col, value, num_nodes), dup


def gcn_norm_csr(adj_t: Tensor, add_self_loops: bool = True,
                 improved: bool = False,
                 dtype: Optional[torch.dtype] = None) -> Tensor:
    r""":math:`\hat{D}^{-1/2} \hat{A} \hat{D}^{-1/2}` of a CSR ``adj_t``
    with the semantics of PyG's ``gcn_norm`` on an ``edge_index``
    (``add_remaining_self_loops``: a node that already has a self-loop
    keeps its weight, the others get weight 1, or 2 with
    :obj:`improved`; degrees are row sums, i.e. in-degrees), so that a
    ``GCNConv`` gives the same output through either layout. (PyG's own
    ``gcn_norm`` on a sparse tensor *adds* a loop even where one exists;
    on an ``edge_index`` without ``edge_weight`` it gives the added loops
    weight 1 even with :obj:`improved`.)

    Args:
        adj_t (Tensor): ``torch.sparse_csr`` :math:`[N, N]` transposed
            adjacency.
        add_self_loops (bool): Add the remaining self-loops.
        improved (bool): Self-loop weight 2 (GCN's ``improved``).
        dtype (torch.dtype, optional): Dtype of the values (default: that of
            :obj:`adj_t`).
    """
    n = adj_t.size(0)
    col = adj_t.col_indices().long()
    val = adj_t.values()
    if dtype is not None:
        val = val.to(dtype)
    row = csr_rows(adj_t)
    if add_self_loops:
        has_loop = torch.zeros(n, dtype=torch.bool, device=col.device)
        has_loop[row[row == col]] = True
        new = (~has_loop).nonzero().view(-1)
        fill = 2.0 if improved else 1.0
        row = torch.cat([row, new])
        col = torch.cat([col, new])
        val = torch.cat([val, val.new_full((new.numel(), ), fill)])
        key, perm = torch.sort(row * n + col)
        row, col, val = row[perm], col[perm], val[perm]
        del key, perm
    deg = torch.zeros(n, dtype=val.dtype, device=val.device)
    deg.index_add_(0, row, val)
    dis = deg.pow_(-0.5)
    dis.masked_fill_(dis == float('inf'), 0.0)
    val = dis[row] * val * dis[col]
    return _csr(row, col, val, n)
