r"""Sparse adjacency products whose edge values may be learnable.

:func:`spmm` computes :math:`\mathbf{A}\mathbf{X}` for a sparse
:math:`\mathbf{A}` given as a :class:`CSRStructure` (the index structure, in
CSR order) and a value vector that may require a gradient. Its backward
pass gives

.. math::
    \frac{\partial L}{\partial a_{ij}} = \sum_f
    \frac{\partial L}{\partial y_{if}} x_{jf}, \qquad
    \frac{\partial L}{\partial \mathbf{X}} = \mathbf{A}^\top
    \frac{\partial L}{\partial \mathbf{Y}},

the first only at the stored entries (``torch.sparse.sampled_addmm``, or
edge by edge in chunks of bounded size where that kernel is missing), the
second through a cached CSR transpose; nothing is densified. (Autograd
through a ``torch.sparse`` CSR product with learnable values builds a dense
:math:`N \times N` gradient on CPU.)

Index structures are derived once per graph and cached by the identity and
in-place version of the tensors they come from (:func:`csr_of`), through
weak references, so a dropped graph frees its structures. Values are never
cached: they are recomputed (and differentiated) on every call.

Conventions follow PyG's ``Adj``: an :obj:`edge_index` ``[2, E]`` holds
(source, target) pairs; a sparse :obj:`adj_t` (``torch.sparse_csr``,
``torch.sparse_coo`` or ``torch_sparse.SparseTensor``) is the *transpose*,
row = target, column = source, as
:class:`torch_geometric.transforms.ToSparseTensor` builds it. Both become a
target-major :class:`CSRStructure`, so :obj:`spmm` aggregates messages
from sources into targets.
"""
import warnings
import weakref
from typing import Any, Dict, Optional, Tuple

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

__all__ = ['CSRStructure', 'spmm', 'csr_of', 'gcn_norm_values',
           'is_sparse_adj']

# Elements of one [chunk, F] product in the edge-value gradient.
CHUNK_ELEMENTS = 1 << 22


def _csr_tensor(crow: Tensor, col: Tensor, values: Tensor,
                size: Tuple[int, int]) -> Tensor:
    with warnings.catch_warnings():  # 'CSR support is in beta'
        warnings.simplefilter('ignore', UserWarning)
        return torch.sparse_csr_tensor(crow, col, values, size,
                                       device=values.device,
                                       check_invariants=False)


class CSRStructure:
    r"""The index structure of a sparse :math:`R \times C` matrix in CSR
    order (entries sorted by row; duplicate entries are allowed and add
    up). Derived structures (expanded row ids, the transpose, the GCN
    self-loop layout) are built on first use and kept on the object.

    Args:
        crow (torch.Tensor): Row pointers :obj:`[R + 1]`.
        col (torch.Tensor): Column ids :obj:`[nnz]`.
        size (tuple): :obj:`(R, C)`.
        perm (torch.Tensor, optional): For a structure built from an
            unsorted entry list, the entry order: CSR entry :obj:`k` is input
            entry :obj:`perm[k]`. (default: :obj:`None`)
    """
    def __init__(self, crow: Tensor, col: Tensor, size: Tuple[int, int],
                 perm: Optional[Tensor] = None):
        self.crow = crow
        self.col = col
        self.size = (int(size[0]), int(size[1]))
        self.perm = perm
        self._row = None
        self._t = None
        self._loops = None

    @property
    def nnz(self) -> int:
        return self.col.numel()

    @property
    def device(self) -> torch.device:
        return self.col.device

    @property
    def row(self) -> Tensor:
        r"""The row id of every entry :obj:`[nnz]`."""
        if self._row is None:
            counts = self.crow[1:] - self.crow[:-1]
            self._row = torch.repeat_interleave(
                torch.arange(self.size[0], device=self.device), counts,
                output_size=self.nnz)
        return self._row

    def transpose(self) -> Tuple['CSRStructure', Tensor]:
        r"""The structure of :math:`\mathbf{A}^\top` and the entry
        permutation :obj:`p` (entry :obj:`k` of the transpose holds value
        :obj:`values[p[k]]`)."""
        if self._t is None:
            col, perm = torch.sort(self.col, stable=True)
            crow_t = torch.searchsorted(
                col, torch.arange(self.size[1] + 1, device=self.device))
            self._t = (CSRStructure(crow_t, self.row[perm],
                                    (self.size[1], self.size[0])), perm)
        return self._t

    def matrix(self, values: Tensor) -> Tensor:
        r"""A ``torch.sparse_csr`` tensor with this structure."""
        return _csr_tensor(self.crow, self.col, values, self.size)

    def with_self_loops(self) -> Tuple['CSRStructure', Tensor, Tensor]:
        r"""The layout of :math:`\mathbf{A} + \mathbf{I}`: the structure
        (the :math:`nnz` entries plus one diagonal entry per row, in CSR
        order), the order :obj:`p` into ``cat([values, loop_values])``, and
        the mask of existing diagonal entries."""
        if self._loops is None:
            if self.size[0] != self.size[1]:
                raise ValueError(f"self-loops need a square adjacency, got "
                                 f"size {self.size}")
            N, dev = self.size[0], self.device
            ar = torch.arange(N, device=dev)
            row = torch.cat([self.row, ar])
            col = torch.cat([self.col, ar])
            perm = torch.sort(row * max(N, 1) + col, stable=True)[1]
            crow = torch.searchsorted(row[perm],
                                      torch.arange(N + 1, device=dev))
            self._loops = (CSRStructure(crow, col[perm], self.size), perm,
                           self.row == self.col)
        return self._loops


class _EdgeSpMM(torch.autograd.Function):
    @staticmethod
    def forward(ctx, values: Tensor, x: Tensor, struct: CSRStructure):
        ctx.struct = struct
        # Keep only what the backward needs: x for the value gradient, the
        # values for the feature gradient.
        need_v, need_x = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        ctx.save_for_backward(values if need_x else None,
                              x if need_v else None)
        return struct.matrix(values.detach()) @ x.detach()

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: Tensor):
        values, x = ctx.saved_tensors
        struct = ctx.struct
        grad_values = grad_x = None
        if ctx.needs_input_grad[1]:
            struct_t, perm = struct.transpose()
            grad_x = struct_t.matrix(values[perm]) @ grad
        if ctx.needs_input_grad[0]:
            grad_values = _value_grad(struct, grad, x)
        return grad_values, grad_x, None


def _value_grad(struct: CSRStructure, grad: Tensor, x: Tensor) -> Tensor:
    r"""``grad[row_e] . x[col_e]`` for every entry :math:`e`: the product
    :math:`\partial L/\partial \mathbf{Y} \, \mathbf{X}^\top` sampled at
    the entries (``torch.sparse.sampled_addmm``, :math:`O(nnz \cdot F)`),
    or edge-wise in chunks where that kernel is missing."""
    try:
        pattern = struct.matrix(grad.new_zeros(struct.nnz))
        return torch.sparse.sampled_addmm(pattern, grad, x.t(),
                                          beta=0.0).values()
    except (RuntimeError, NotImplementedError):
        return _edge_dot(grad, x, struct.row, struct.col)


def _edge_dot(a: Tensor, b: Tensor, row: Tensor, col: Tensor) -> Tensor:
    r"""``(a[row] * b[col]).sum(-1)``, in chunks of at most
    :obj:`CHUNK_ELEMENTS` products."""
    E, F = row.numel(), max(a.size(1), 1)
    step = max(1, CHUNK_ELEMENTS // F)
    if E <= step:
        return (a[row] * b[col]).sum(-1)
    out = a.new_empty(E)
    for s in range(0, E, step):
        r, c = row[s:s + step], col[s:s + step]
        out[s:s + step] = (a[r] * b[c]).sum(-1)
    return out


def spmm(struct: CSRStructure, values: Tensor, x: Tensor) -> Tensor:
    r""":math:`\mathbf{A}\mathbf{X}` for the sparse matrix with structure
    :obj:`struct` and entry values :obj:`values` (in CSR order). Gradients
    flow to :obj:`values` (edge by edge) and to :obj:`x` (through the cached
    transpose); neither is densified.

    Args:
        struct (CSRStructure): The structure of :math:`\mathbf{A}`
            (:math:`R \times C`).
        values (torch.Tensor): Entry values :obj:`[nnz]`.
        x (torch.Tensor): Dense features :obj:`[C, F]`.

    :rtype: :class:`torch.Tensor` :obj:`[R, F]`

    Example:
        >>> s = CSRStructure(torch.tensor([0, 1, 2]), torch.tensor([1, 0]),
        ...                  (2, 2))
        >>> spmm(s, torch.tensor([2., 3.]), torch.tensor([[1.], [10.]]))
        tensor([[20.],
                [ 3.]])
    """
    if values.dim() != 1 or values.numel() != struct.nnz:
        raise ValueError(f"'values' must have shape [{struct.nnz}], got "
                         f"{tuple(values.shape)}")
    if x.dim() != 2 or x.size(0) != struct.size[1]:
        raise ValueError(f"'x' must have shape [{struct.size[1]}, F], got "
                         f"{tuple(x.shape)}")
    if values.dtype != x.dtype:
        values = values.to(x.dtype)
    return _EdgeSpMM.apply(values, x, struct)


class _WeakCache:
    r"""Values keyed by the identity and version of a key object, held
    through a weak reference: an entry goes when its key is collected."""
    def __init__(self):
        self._d: Dict[int, Tuple[Any, Any, Any]] = {}

    def get(self, key: Any, version: Any):
        hit = self._d.get(id(key))
        if hit is None or hit[0]() is not key or hit[1] != version:
            return None
        return hit[2]

    def put(self, key: Any, version: Any, value: Any) -> None:
        k = id(key)
        d = self._d

        def drop(ref, k=k, d=d):
            if k in d and d[k][0] is ref:
                del d[k]
        self._d[k] = (weakref.ref(key, drop), version, value)

    def __len__(self) -> int:
        return len(self._d)


_CACHE = _WeakCache()


def _version(t: Tensor) -> Optional[int]:
    try:
        return t._version
    except RuntimeError:  # inference-mode tensors
        return None


def is_sparse_adj(adj: Any) -> bool:
    r"""Whether :obj:`adj` is a sparse adjacency (``torch.sparse`` COO/CSR
    or ``torch_sparse.SparseTensor``) rather than an :obj:`edge_index`."""
    if isinstance(adj, Tensor):
        return adj.layout in (torch.sparse_coo, torch.sparse_csr)
    return type(adj).__name__ == 'SparseTensor' and hasattr(adj, 'storage')


def _from_edge_index(edge_index: Tensor, num_nodes: int) -> CSRStructure:
    if edge_index.numel() > 0:
        lo, hi = int(edge_index.min()), int(edge_index.max())  # once/graph
        if lo < 0 or hi >= num_nodes:
            raise ValueError(f"'edge_index' holds node ids in [{lo}, {hi}], "
                             f"expected ids in [0, {num_nodes})")
    src, dst = edge_index[0].long(), edge_index[1].long()
    perm = torch.sort(dst * max(num_nodes, 1) + src, stable=True)[1]
    row = dst[perm]
    crow = torch.searchsorted(
        row, torch.arange(num_nodes + 1, device=row.device))
    return CSRStructure(crow, src[perm], (num_nodes, num_nodes), perm)


def _from_sparse(adj: Any) -> CSRStructure:
    if isinstance(adj, Tensor) and adj.layout == torch.sparse_csr:
        return CSRStructure(adj.crow_indices().long(),
                            adj.col_indices().long(), tuple(adj.shape))
    if isinstance(adj, Tensor):  # COO: entries of the coalesced matrix
        idx = (adj if adj.is_coalesced() else adj.coalesce()).indices()
        row, col = idx[0], idx[1]
        crow = torch.searchsorted(
            row, torch.arange(adj.size(0) + 1, device=row.device))
        return CSRStructure(crow, col, tuple(adj.shape))
    rowptr, col, _ = adj.csr()
    return CSRStructure(rowptr, col, (adj.size(0), adj.size(1)))


def _sparse_values(adj: Any) -> Optional[Tensor]:
    if isinstance(adj, Tensor):
        if adj.layout == torch.sparse_coo and not adj.is_coalesced():
            adj = adj.coalesce()
        return adj.values()
    return adj.storage.value()


def csr_of(adj: Any, edge_weight: Optional[Tensor] = None,
           num_nodes: Optional[int] = None,
           dtype: Optional[torch.dtype] = None
           ) -> Tuple[CSRStructure, Tensor]:
    r"""The target-major structure and values of a graph given as an
    :obj:`edge_index` (with optional :obj:`edge_weight`) or as a sparse
    :obj:`adj_t`.

    The structure is built once per graph object (a host read of the ids of
    an :obj:`edge_index`, checked to lie in :math:`[0, N)`) and served from a
    weak cache while the same, unmodified object comes back; the values are
    gathered on every call, differentiably (an :obj:`edge_weight` or sparse
    values requiring a gradient get one).

    Args:
        adj (torch.Tensor or SparseTensor): :obj:`edge_index` ``[2, E]`` or
            a sparse :obj:`adj_t` ``[N, N]`` (row = target).
        edge_weight (torch.Tensor, optional): One weight per edge of an
            :obj:`edge_index`; with a sparse :obj:`adj_t`, one weight per
            stored entry in its CSR (:obj:`values()`) order, multiplied into
            its values (so a learnable mask over a fixed :obj:`adj_t` keeps
            the cached structure). (default: :obj:`None`)
        num_nodes (int, optional): :math:`N` for an :obj:`edge_index`
            (default: one more than its largest id).
        dtype (torch.dtype, optional): The dtype of all-ones values.

    :rtype: (:class:`CSRStructure`, :class:`torch.Tensor`)

    Example:
        >>> s, w = csr_of(torch.tensor([[0, 1, 2], [1, 2, 1]]))
        >>> s.crow, s.col, w
        (tensor([0, 0, 2, 3]), tensor([0, 2, 1]), tensor([1., 1., 1.]))
    """
    if is_sparse_adj(adj):
        key = adj if isinstance(adj, Tensor) else adj.storage.col()
        version = (_version(adj) if isinstance(adj, Tensor) else
                   _version(key))
        struct = _CACHE.get(key, version)
        if struct is None:
            struct = _from_sparse(adj)
            _CACHE.put(key, version, struct)
        values = _sparse_values(adj)
        if values is None:
            values = torch.ones(struct.nnz, dtype=dtype, device=struct.device)
        if edge_weight is not None:
            if edge_weight.shape != (struct.nnz, ):
                raise ValueError(f"'edge_weight' given with a sparse "
                                 f"adjacency must have shape [{struct.nnz}] "
                                 f"(one per stored entry), got "
                                 f"{tuple(edge_weight.shape)}")
            values = values * edge_weight
        return struct, values
    if not isinstance(adj, Tensor) or adj.dim() != 2 or adj.size(0) != 2:
        raise ValueError(f"'edge_index' must be a [2, E] tensor or a sparse "
                         f"adjacency, got "
                         f"{getattr(adj, 'shape', type(adj).__name__)}")
    if num_nodes is None:
        num_nodes = int(adj.max()) + 1 if adj.numel() else 0
    version = (_version(adj), num_nodes)
    struct = _CACHE.get(adj, version)
    if struct is None:
        struct = _from_edge_index(adj, num_nodes)
        _CACHE.put(adj, version, struct)
    if edge_weight is None:
        return struct, torch.ones(struct.nnz, dtype=dtype,
                                  device=struct.device)
    return struct, edge_weight[struct.perm]


def gcn_norm_values(struct: CSRStructure, values: Tensor,
                 add_self_loops: bool = True, fill_value: float = 1.0
                 ) -> Tuple[CSRStructure, Tensor]:
    r"""The symmetric GCN normalisation :math:`\mathbf{\hat{D}}^{-1/2}
    \mathbf{\hat{A}} \mathbf{\hat{D}}^{-1/2}` of a target-major adjacency,
    :math:`\hat{d}_i = \sum_j \hat{a}_{ij}` (in-degree).

    With :obj:`add_self_loops`, :math:`\mathbf{\hat{A}}` has one diagonal
    entry per node: the weight of the node's existing self-loop where it has
    one, else :obj:`fill_value`. This is what PyG's
    :func:`~torch_geometric.nn.conv.gcn_conv.gcn_norm` does for an
    :obj:`edge_index` (:func:`~torch_geometric.utils.add_remaining_self_loops`)
    and is applied here to every input layout. (PyG itself adds a second
    loop to a ``torch.sparse`` input, :math:`w_{ii} + 1`, and replaces the
    weight of a ``SparseTensor`` loop by :math:`1`.) A node with several
    self-loop entries keeps one of their weights, as in PyG.

    Differentiable in :obj:`values`; no host synchronisation after the
    structure is cached.

    :rtype: (:class:`CSRStructure`, :class:`torch.Tensor`)
    """
    N = struct.size[0]
    if add_self_loops:
        loops, perm, is_loop = struct.with_self_loops()
        slot = torch.where(is_loop, struct.row, N)
        loop_w = values.new_full((N + 1, ), fill_value).scatter(
            0, slot, values)[:N]
        values = torch.cat([values.masked_fill(is_loop, 0.0), loop_w])[perm]
        struct = loops
    deg = values.new_zeros(N).index_add(0, struct.row, values)
    dis = deg.pow(-0.5)
    dis = dis.masked_fill(dis == float('inf'), 0.0)
    return struct, dis[struct.row] * values * dis[struct.col]
