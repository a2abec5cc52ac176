r"""Constructor and build-time checks shared by the layers and models of
:mod:`pyg_ext.nn`.

Hyper-parameters are checked once, in ``__init__``; a layer's ``forward``
checks metadata only (dtype, dim, sizes), as PyG's
:class:`~torch_geometric.nn.conv.MessagePassing` does. Where a layer builds
its own index structure (a CSR pair), :func:`check_ids_once` reads the ids
once when it builds it, so an id :math:`\geq N` raises a
:class:`ValueError` instead of reading out of bounds.
"""
from typing import Any, Optional

import torch
from torch import Tensor
from torch_geometric.utils import is_sparse

from pyg_ext.utils.sparse_adj import is_sparse_adj
from pyg_ext.utils.validation import check_float, check_int

__all__ = ['check_channels', 'check_dropout', 'init_sizes', 'check_ids_once',
           'check_ids_first_call', 'value_check_due', 'value_check_done',
           'check_forward', 'check_adj_t', 'VALIDATE']

VALIDATE = ('once', 'always', 'never')


def check_channels(**channels: Any) -> None:
    r"""Every keyword (e.g. ``in_channels=16``) is an int :math:`\geq 1`;
    ``-1`` is allowed for :obj:`in_channels` (PyG's lazy initialisation)."""
    for name, value in channels.items():
        if name == 'in_channels' and isinstance(value, int) and \
                not isinstance(value, bool) and value == -1:
            continue
        check_int(name, value, low=1)


def check_dropout(**rates: Any) -> None:
    r"""Every keyword is a finite dropout rate in :math:`[0, 1)`."""
    for name, value in rates.items():
        check_float(name, value, low=0.0, high=1.0, high_open=True)


def init_sizes(module: Any, in_channels: Any, hidden_channels: Any,
               out_channels: Any, *, num_layers: Any, dropout: Any,
               min_layers: int = 1) -> None:
    r"""Checks and stores the sizes of a model built on torch
    :class:`~torch.nn.Linear` layers: :obj:`in_channels` an int >= 1 (no
    lazy ``-1``), the other channels >= 1, :obj:`num_layers` >=
    :obj:`min_layers`, :obj:`dropout` in :math:`[0, 1)`."""
    check_int('in_channels', in_channels, low=1)
    check_channels(hidden_channels=hidden_channels,
                   out_channels=out_channels)
    check_int('num_layers', num_layers, low=min_layers)
    check_dropout(dropout=dropout)
    module.in_channels = in_channels
    module.hidden_channels = hidden_channels
    module.out_channels = out_channels
    module.num_layers = num_layers
    module.dropout = dropout


def check_ids_once(edge_index: Tensor, num_nodes: int) -> None:
    r"""Node ids of an :obj:`edge_index` a layer turns into its own sparse
    structure are integers in :math:`[0, N)`. Reads the ids once (a host
    synchronisation): call it where the structure is built, not per step."""
    if edge_index.dtype not in (torch.int64, torch.int32):
        raise TypeError(f"'edge_index' must hold int64 or int32 node ids, got "
                        f"{edge_index.dtype}")
    if edge_index.dim() != 2 or edge_index.size(0) != 2:
        raise ValueError(f"'edge_index' must have shape [2, E], got "
                         f"{tuple(edge_index.shape)}")
    if edge_index.numel() == 0:
        return
    lo, hi = int(edge_index.min()), int(edge_index.max())
    if lo < 0 or hi >= num_nodes:
        raise ValueError(f"'edge_index' holds node ids in [{lo}, {hi}], "
                         f"expected ids in [0, {num_nodes}) for the "
                         f"{num_nodes} nodes of 'x'")


def check_ids_first_call(module: Any, edge_index: Any,
                         num_nodes: int) -> None:
    r"""The value check of a model's ``forward`` ids, governed by the
    model's :attr:`validate` attribute: ``'once'`` (the default) reads the
    ids of the first call only (one host synchronisation, then never
    again), ``'always'`` on every call, ``'never'`` not at all. The training
    engine (:class:`pyg_ext.utils.training.Trainer`) marks the modules it
    trains as checked, because every ``fit_*`` entry point checks the
    values of its data up front. Sparse adjacencies (checked by their
    size) and meta tensors (no values) are skipped."""
    if not isinstance(edge_index, Tensor) or is_sparse_adj(edge_index) or \
            edge_index.is_meta or not value_check_due(module):
        return
    check_ids_once(edge_index, num_nodes)
    value_check_done(module)


def value_check_due(module: Any) -> bool:
    r"""Whether a value check of :obj:`module`'s inputs is due under its
    :attr:`validate` attribute (see :func:`check_ids_first_call`)."""
    mode = getattr(module, 'validate', 'once')
    if not isinstance(mode, str) or mode not in VALIDATE:
        raise ValueError(f"'validate' of {type(module).__name__} must be one "
                         f"of {VALIDATE}, got {mode!r}")
    return mode == 'always' or (mode == 'once' and not module.__dict__.get(
        '_ids_checked', False))


def value_check_done(module: Any) -> None:
    r"""Records a passed value check (``'once'``: no further checks)."""
    module._ids_checked = True


def check_forward(x: Any, edge_index: Any, in_channels: Optional[int] = None,
                  edge_weight: Any = None, module: Any = None) -> None:
    r"""Metadata checks of a ``forward(x, edge_index, edge_weight)`` call:
    dtype, dim and sizes only (no host synchronisation, no value reads), as
    PyG's :class:`~torch_geometric.nn.conv.MessagePassing` does.
    :obj:`x` may be a sparse tensor; :obj:`edge_index` may be a sparse
    adjacency :obj:`adj_t` (see :func:`check_adj_t`). With :obj:`module`,
    the ids are also checked on the module's first call (see
    :func:`check_ids_first_call`)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"'x' must be a tensor of node features, got "
                        f"{type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"'x' must be a floating-point tensor, got "
                        f"{x.dtype}")
    if x.dim() != 2:
        raise ValueError(f"'x' must have shape [num_nodes, num_features], "
                         f"got shape {tuple(x.shape)}")
    if in_channels is not None and in_channels > 0 and \
            x.size(1) != in_channels:
        raise ValueError(f"'x' must have {in_channels} features "
                         f"(in_channels), got shape {tuple(x.shape)}")
    if is_sparse_adj(edge_index):
        check_adj_t(x, edge_index, edge_weight)
        return
    if not isinstance(edge_index, Tensor) or is_sparse(edge_index):
        what = getattr(edge_index, 'layout', None) or \
            type(edge_index).__name__
        raise TypeError(f"'edge_index' must be a [2, num_edges] tensor or a "
                        f"sparse adjacency (torch.sparse_csr / sparse_coo, "
                        f"SparseTensor), got {what}")
    if edge_index.dtype not in (torch.int64, torch.int32):
        raise TypeError(f"'edge_index' must hold int64 or int32 node ids, got "
                        f"{edge_index.dtype}")
    if edge_index.dim() != 2 or edge_index.size(0) != 2:
        raise ValueError(f"'edge_index' must have shape [2, num_edges], got "
                         f"shape {tuple(edge_index.shape)}")
    if edge_weight is not None:
        _check_edge_weight(edge_weight, edge_index.size(1),
                           "'edge_weight' must have shape [{n}] (one per "
                           "edge)")
    if module is not None:
        check_ids_first_call(module, edge_index, x.size(0))


def _check_edge_weight(edge_weight: Any, n: int, what: str) -> None:
    r"""An :obj:`edge_weight` is a floating-point ``[n]`` tensor."""
    if not isinstance(edge_weight, Tensor) or \
            not edge_weight.is_floating_point():
        raise TypeError(f"'edge_weight' must be a floating-point tensor, "
                        f"got {type(edge_weight).__name__}")
    if edge_weight.dim() != 1 or edge_weight.size(0) != n:
        raise ValueError(f"{what.format(n=n)}, got shape "
                         f"{tuple(edge_weight.shape)}")


def _nnz(adj: Any) -> int:
    if isinstance(adj, Tensor):
        return adj._nnz()
    return adj.nnz()


def check_adj_t(x: Tensor, adj_t: Any, edge_weight: Any = None) -> None:
    r"""Metadata checks of a sparse adjacency :obj:`adj_t` (PyG's ``Adj``:
    row = target, column = source): a square :math:`N \times N` matrix for
    the :math:`N` nodes of :obj:`x`, in the CSR or COO layout (or a
    ``torch_sparse.SparseTensor``), with floating-point values, on
    :obj:`x`'s device. An :obj:`edge_weight` given with it holds one weight
    per stored entry (in the adjacency's CSR order)."""
    if isinstance(adj_t, Tensor) and adj_t.layout not in (torch.sparse_csr,
                                                          torch.sparse_coo):
        raise TypeError(f"a sparse 'adj_t' must be in the sparse_csr or "
                        f"sparse_coo layout, got {adj_t.layout}")
    shape = tuple(adj_t.size()) if isinstance(adj_t, Tensor) else \
        (adj_t.size(0), adj_t.size(1))
    if len(shape) != 2 or shape[0] != shape[1]:
        raise ValueError(f"a sparse 'adj_t' must be a square [N, N] "
                         f"adjacency, got size {shape}")
    if shape[0] != x.size(0):
        raise ValueError(f"a sparse 'adj_t' of size {shape} does not match "
                         f"the {x.size(0)} nodes of 'x'")
    if isinstance(adj_t, Tensor):
        if adj_t.device != x.device:
            raise ValueError(f"'adj_t' is on {adj_t.device} but 'x' is on "
                             f"{x.device}; move both to one device")
        if not adj_t.dtype.is_floating_point:
            raise TypeError(f"a sparse 'adj_t' must hold floating-point "
                            f"values, got {adj_t.dtype}")
    if edge_weight is not None:
        _check_edge_weight(edge_weight, _nnz(adj_t),
                           "'edge_weight' given with a sparse 'adj_t' must "
                           "have shape [{n}] (one per stored entry)")
