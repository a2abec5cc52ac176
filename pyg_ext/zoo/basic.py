r"""Registered baseline models: MLP, GCN, GraphSAGE, GAT and GIN, built from
PyG's own layers. Every builder takes ``(in_channels, out_channels, options)``
and returns a model whose ``forward(x, edge_index)`` gives logits; ``gcn``,
``sage`` and ``gin`` also take a ``torch.sparse_csr`` ``adj_t``
(``supports_adj_t``), which the loop passes with ``dataset.adjacency``."""
import weakref
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
from torch import Tensor
from torch_geometric.nn.conv import GCNConv, SAGEConv
from torch_geometric.nn.models import GAT, GCN, GIN, MLP, GraphSAGE
from torch_geometric.typing import Adj, OptTensor
from torch_geometric.utils import is_torch_sparse_tensor

from pyg_ext.registry import register_model
from pyg_ext.train.config import ModelOptions
from pyg_ext.utils.adjacency import csr_rows, csr_tensor, gcn_norm_csr
from pyg_ext.utils.validation import check_choice, check_int

__all__ = ['NodeMLP', 'MLPOptions', 'GCNOptions', 'SAGEOptions', 'GATOptions',
           'GINOptions', 'register_model_class', 'SparseGCN', 'SparseSAGE',
           'SparseGIN', 'CSRGCNConv', 'CSRSAGEConv']

# id(adj_t) -> (weak ref to adj_t, {(add_self_loops, improved, dtype):
# normalised CSR}): computed once per adjacency tensor, freed with it. (A
# WeakKeyDictionary would compare tensors with ==.)
_NORMALISED: Dict[int, Tuple[weakref.ref, Dict]] = {}


def _memo(adj_t: Tensor) -> Dict:
    key = id(adj_t)
    entry = _NORMALISED.get(key)
    if entry is None or entry[0]() is not adj_t:
        entry = _NORMALISED[key] = (weakref.ref(
            adj_t, lambda _, k=key: _NORMALISED.pop(k, None)), {})
    return entry[1]


class _SpMM(torch.autograd.Function):
    r""":math:`A X` whose backward is :math:`A^\top G` with a transpose
    built once (``torch.sparse.mm``'s own backward transposes the CSR on
    every call, which costs more than the product itself on a CPU)."""
    @staticmethod
    def forward(ctx, A: Tensor, A_T: Tensor, x: Tensor) -> Tensor:
        ctx.A_T = A_T
        return torch.sparse.mm(A, x)

    @staticmethod
    def backward(ctx, grad: Tensor):
        return None, None, torch.sparse.mm(ctx.A_T, grad)


def _csr_spmm(A: Tensor, x: Tensor) -> Tensor:
    r""":math:`A X` for a CSR :math:`A` (no gradient to its values), the
    transpose kept with :math:`A` for the backward."""
    memo = _memo(A)
    A_T = memo.get('T')
    if A_T is None:
        A_T = A.t().to_sparse_csr()
        if torch.equal(A_T.crow_indices(), A.crow_indices()) and \
                torch.equal(A_T.col_indices(), A.col_indices()) and \
                torch.equal(A_T.values(), A.values()):
            A_T = 'symmetric'  # an undirected graph: no second copy (and
            # no strong reference to A from its own memo)
        memo['T'] = A_T
    return _SpMM.apply(A, A if isinstance(A_T, str) else A_T, x)


class CSRGCNConv(GCNConv):
    r"""PyG's :class:`~torch_geometric.nn.conv.GCNConv`; a CSR input is
    aggregated by :func:`_csr_spmm` (same result, faster backward)."""
    def message_and_aggregate(self, adj_t: Adj, x: Tensor) -> Tensor:
        if isinstance(adj_t, Tensor) and adj_t.layout == torch.sparse_csr \
                and not adj_t.requires_grad:
            return _csr_spmm(adj_t, x)
        return super().message_and_aggregate(adj_t, x)


class CSRSAGEConv(SAGEConv):
    r"""PyG's :class:`~torch_geometric.nn.conv.SAGEConv`; a CSR input with
    ``sum``/``mean`` aggregation is aggregated by :func:`_csr_spmm` (the
    mean as a product with the row-normalised adjacency, built once)."""
    def message_and_aggregate(self, adj_t: Adj, x) -> Tensor:
        if isinstance(adj_t, Tensor) and adj_t.layout == torch.sparse_csr \
                and self.aggr in ('sum', 'add', 'mean'):
            A = adj_t
            if self.aggr == 'mean':
                memo = _memo(adj_t)
                A = memo.get('mean')
                if A is None:
                    crow = adj_t.crow_indices()
                    deg = (crow[1:] - crow[:-1]).clamp_(min=1)
                    A = memo['mean'] = csr_tensor(
                        crow, adj_t.col_indices(),
                        adj_t.values() / deg[csr_rows(adj_t)].to(adj_t.dtype),
                        adj_t.size(0))
            return _csr_spmm(A, x[0] if isinstance(x, tuple) else x)
        return super().message_and_aggregate(adj_t, x)


class SparseGCN(GCN):
    r"""PyG's :class:`~torch_geometric.nn.models.GCN` that also takes a
    ``torch.sparse_csr`` ``adj_t`` (``[N, N]``, entry ``[i, j]`` for an edge
    ``j -> i``). Its normalisation :math:`\hat{D}^{-1/2} \hat{A}
    \hat{D}^{-1/2}` is computed once per adjacency tensor
    (:func:`pyg_ext.utils.adjacency.gcn_norm_csr`, which adds the
    *remaining* self-loops as the ``edge_index`` path does, so logits agree
    on graphs that already have self-loops) and shared by every layer and
    every later forward on the same tensor. ``edge_index`` input is PyG's
    path unchanged."""
    supports_adj_t = True

    def forward(self, x: Tensor, edge_index: Adj,
                edge_weight: OptTensor = None, *args, **kwargs) -> Tensor:
        convs: List = list(self.convs)
        if not is_torch_sparse_tensor(edge_index) or not convs[0].normalize:
            return super().forward(x, edge_index, edge_weight, *args,
                                   **kwargs)
        if edge_weight is not None:
            raise ValueError("'edge_weight' must be None with a sparse "
                             "'adj_t' (its values are the edge weights)")
        if edge_index.layout != torch.sparse_csr:
            raise ValueError(f"'adj_t' must be a torch.sparse_csr tensor, "
                             f"got layout {edge_index.layout}")
        n = x.size(0)
        if tuple(edge_index.shape) != (n, n):
            raise ValueError(f"'adj_t' must be a square [N, N] adjacency "
                             f"with N = x.size(0) = {n}, got "
                             f"{tuple(edge_index.shape)}")
        conv = convs[0]
        key = (conv.add_self_loops, conv.improved, x.dtype)
        memo = _memo(edge_index)
        adj = memo.get(key)
        if adj is None:
            adj = memo[key] = gcn_norm_csr(edge_index, conv.add_self_loops,
                                           conv.improved, x.dtype)
        try:  # the layers propagate the normalised matrix as it is
            for c in convs:
                c.normalize = False
            return super().forward(x, adj, None, *args, **kwargs)
        finally:
            for c in convs:
                c.normalize = True

    def init_conv(self, in_channels: int, out_channels: int,
                  **kwargs) -> GCNConv:
        return CSRGCNConv(in_channels, out_channels, **kwargs)


class SparseSAGE(GraphSAGE):
    r"""PyG's :class:`~torch_geometric.nn.models.GraphSAGE` that also takes
    a ``torch.sparse_csr`` ``adj_t``: ``sum``/``mean`` aggregation through
    :class:`CSRSAGEConv`, the others through PyG's ``spmm``; equal to the
    ``edge_index`` path on graphs without duplicate edges."""
    supports_adj_t = True

    def init_conv(self, in_channels, out_channels, **kwargs) -> SAGEConv:
        return CSRSAGEConv(in_channels, out_channels, **kwargs)


class SparseGIN(GIN):
    r"""PyG's :class:`~torch_geometric.nn.models.GIN`; declares that a
    ``torch.sparse_csr`` ``adj_t`` works (sum aggregation by SpMM)."""
    supports_adj_t = True


class NodeMLP(torch.nn.Module):
    r"""PyG's :class:`~torch_geometric.nn.models.MLP` with a graph-model
    signature: ``forward(x, edge_index=None)`` ignores the edges (any
    layout, hence ``supports_adj_t``)."""
    supports_adj_t = True

    def __init__(self, in_channels: int, hidden_channels: int,
                 out_channels: int, num_layers: int = 2, dropout: float = 0.5,
                 norm: Optional[str] = None):
        super().__init__()
        self.in_channels = in_channels
        self.hidden_channels = hidden_channels
        self.out_channels = out_channels
        self.num_layers = num_layers
        self.dropout = dropout
        self.mlp = MLP(in_channels=in_channels,
                       hidden_channels=hidden_channels,
                       out_channels=out_channels, num_layers=num_layers,
                       dropout=dropout, norm=norm)
        self.reset_parameters()

    def reset_parameters(self):
        self.mlp.reset_parameters()

    def forward(self, x: Tensor, edge_index: Optional[Tensor] = None,
                edge_weight: Optional[Tensor] = None) -> Tensor:
        return self.mlp(x)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.in_channels}, '
                f'{self.out_channels}, num_layers={self.num_layers})')


@dataclass
class MLPOptions(ModelOptions):
    norm: Optional[str] = None


@dataclass
class GCNOptions(ModelOptions):
    r"""``norm``: a normalisation after every hidden layer (e.g.
    ``batch_norm``, as OGB's arxiv GCN/SAGE examples), :obj:`None`: none."""
    cached: bool = False
    add_self_loops: bool = True
    normalize: bool = True
    norm: Optional[str] = None


@dataclass
class SAGEOptions(ModelOptions):
    aggr: str = 'mean'
    norm: Optional[str] = None

    def __post_init__(self):
        super().__post_init__()
        check_choice('aggr', self.aggr, ('mean', 'max', 'min', 'sum',
                                         'add', 'mul'))


@dataclass
class GATOptions(ModelOptions):
    heads: int = 8
    hidden_channels: int = 8
    dropout: float = 0.6

    def __post_init__(self):
        super().__post_init__()
        check_int('heads', self.heads, 1)


@dataclass
class GINOptions(ModelOptions):
    train_eps: bool = False


def register_model_class(name: str, cls: type, options: type,
                         description: str, keys: Sequence[str] = ()
                         ) -> Callable:
    r"""Registers the builder ``cls(in_channels=..., hidden_channels=...,
    out_channels=..., **{k: options.k for k in keys})``: every option a
    model takes is passed by name (an option the class does not take fails
    at once, nothing is dropped)."""
    keys = tuple(keys)

    def build(in_channels: int, out_channels: int, options):
        return cls(in_channels=in_channels,
                   hidden_channels=options.hidden_channels,
                   out_channels=out_channels,
                   **{k: getattr(options, k) for k in keys})

    build.__name__ = build.__qualname__ = f'build_{name}'
    build.__doc__ = f'Builds a {cls.__name__} from :class:`{options.__name__}`.'
    build.model_class = cls  # the loop reads cls.supports_adj_t from here
    register_model(name, build, options=options, description=description)
    return build


build_mlp = register_model_class(
    'mlp', NodeMLP, MLPOptions, 'Multi-layer perceptron on node features '
    'only.', ('num_layers', 'dropout', 'norm'))
build_gcn = register_model_class(
    'gcn', SparseGCN, GCNOptions, 'Graph convolutional network (Kipf & Welling).',
    ('num_layers', 'dropout', 'cached', 'add_self_loops', 'normalize',
     'norm'))
build_sage = register_model_class(
    'sage', SparseSAGE, SAGEOptions, 'GraphSAGE with mean aggregation '
    '(Hamilton et al.).', ('num_layers', 'dropout', 'aggr', 'norm'))
build_gat = register_model_class(
    'gat', GAT, GATOptions, 'Graph attention network (Velickovic et al.).',
    ('num_layers', 'dropout', 'heads'))
build_gin = register_model_class(
    'gin', SparseGIN, GINOptions, 'Graph isomorphism network (Xu et al.).',
    ('num_layers', 'dropout', 'train_eps'))
