r"""Bias-free GCN / GIN / GAT backbones of the official TEDDY code
(`github.com/hyunjin72/TEDDY <https://github.com/hyunjin72/TEDDY>`_) of the
`"TEDDY: Trimming Edges with Degree-based Discrimination strategY"
<https://arxiv.org/abs/2402.01261>`_ paper. All take an optional
:obj:`edge_weight`, so the same model serves TEDDY (a pruned
:obj:`edge_index`) and UGS (trainable edge masks passed as weights). Their
forward passes read no tensor value on the host (no GPU synchronisation)."""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.nn import MessagePassing
from torch_geometric.nn.inits import glorot
from torch_geometric.utils import softmax

from pyg_ext.nn._checks import check_forward, init_sizes
from pyg_ext.nn.conv.gpr_prop import gcn_norm_fixed_size
from pyg_ext.utils.sparse_adj import (csr_of, gcn_norm_values, is_sparse_adj,
                                      spmm)
from pyg_ext.utils.validation import check_int

__all__ = ['TeddyGCN', 'TeddyGIN', 'TeddyGAT', 'WeightedGINConv',
           'SoftPrunedGATConv', 'sparse_linear']


class _SparseLinear(torch.autograd.Function):
    @staticmethod
    def forward(ctx, weight, x, xt):
        ctx.save_for_backward(xt)
        return torch.sparse.mm(x, weight.t())

    @staticmethod
    def backward(ctx, grad):
        xt, = ctx.saved_tensors
        return torch.sparse.mm(xt, grad).t(), None, None


def sparse_linear(x: Tensor, weight: Tensor) -> Tensor:
    r"""``x @ weight.T`` (bias-free :class:`torch.nn.Linear`) that also takes
    a sparse CSR :obj:`x` (e.g. bag-of-words Planetoid features, ~1% dense)
    without densifying it; the gradient w.r.t. :obj:`weight` uses a cached
    CSR transpose of :obj:`x`. Dense :obj:`x` goes to
    :func:`torch.nn.functional.linear`."""
    if x.layout != torch.sparse_csr:
        return F.linear(x, weight)
    xt = getattr(x, '_teddy_csr_t', None)
    if xt is None:
        xt = x.to_sparse_coo().t().coalesce().to_sparse_csr()
        x._teddy_csr_t = xt
    return _SparseLinear.apply(weight, x, xt)


def _propagate(h: Tensor, edge_index: Tensor, weight: Optional[Tensor],
               num_nodes: int) -> Tensor:
    row, col = edge_index
    msg = h[row] if weight is None else h[row] * weight.view(-1, 1)
    return torch.zeros(num_nodes, h.size(1), dtype=h.dtype,
                       device=h.device).index_add_(0, col, msg)


class TeddyGCN(torch.nn.Module):
    r"""A GCN without biases (official TEDDY backbone): ``num_layers``
    graph convolutions :math:`\hat{\mathbf{A}} \mathbf{X} \mathbf{W}` with
    :math:`\hat{\mathbf{A}}` the symmetric normalisation with self-loops
    (:func:`~pyg_ext.nn.conv.gpr_prop.gcn_norm_fixed_size`, PyG's
    :func:`~torch_geometric.nn.conv.gcn_conv.gcn_norm` without host
    synchronisation, recomputed on every call, so a pruned graph is
    re-normalised and learnable edge weights get gradients), ReLU and dropout
    in between.
    :obj:`x` may be a sparse CSR tensor (see :func:`sparse_linear`).

    Args:
        in_channels (int): Input size.
        hidden_channels (int): Hidden size. (TEDDY default: :obj:`512`)
        out_channels (int): Number of classes.
        num_layers (int, optional): Layers. (default: :obj:`2`)
        dropout (float, optional): Dropout. (default: :obj:`0.5`)
    """
    #: Node-id value check of :meth:`forward`: ``'once'`` (first call),
    #: ``'always'`` or ``'never'`` (see :doc:`/contract`).
    validate = 'once'

    supports_adj_t = True

    def __init__(self, in_channels: int, hidden_channels: int,
                 out_channels: int, num_layers: int = 2,
                 dropout: float = 0.5):
        super().__init__()
        init_sizes(self, in_channels, hidden_channels, out_channels,
                   num_layers=num_layers, dropout=dropout)
        dims = [in_channels] + [hidden_channels] * (num_layers - 1) + \
            [out_channels]
        self.lins = torch.nn.ModuleList(
            torch.nn.Linear(a, b, bias=False)
            for a, b in zip(dims[:-1], dims[1:]))
        self.reset_parameters()

    def reset_parameters(self):
        for lin in self.lins:
            glorot(lin.weight)  # as PyG's GCNConv

    def forward(self, x: Tensor, edge_index: Tensor,
                edge_weight: Optional[Tensor] = None) -> Tensor:
        check_forward(x, edge_index, self.in_channels, edge_weight,
                      module=self)
        N = x.size(0)
        if is_sparse_adj(edge_index):
            struct, w = gcn_norm_values(*csr_of(edge_index, edge_weight,
                                             dtype=x.dtype))
        else:
            ei, w = gcn_norm_fixed_size(edge_index, edge_weight, N,
                                        dtype=x.dtype)
        for i, lin in enumerate(self.lins):
            h = sparse_linear(x, lin.weight)
            x = spmm(struct, w, h) if is_sparse_adj(edge_index) else \
                _propagate(h, ei, w, N)
            if i < self.num_layers - 1:
                x = F.relu(x)
                x = F.dropout(x, p=self.dropout, training=self.training)
        return x

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.in_channels}, '
                f'{self.out_channels}, hidden_channels='
                f'{self.hidden_channels}, num_layers={self.num_layers})')


class WeightedGINConv(MessagePassing):
    r"""GIN convolution with a learnable :math:`\epsilon`, a bias-free linear
    map and optional edge weights:
    :math:`\mathbf{x}'_i = \mathbf{W}\big((1 + \epsilon)\mathbf{x}_i +
    \sum_{j} w_{ji} \mathbf{x}_j\big)`."""
    def __init__(self, in_channels: int, out_channels: int):
        super().__init__(aggr='add')
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.lin = torch.nn.Linear(in_channels, out_channels, bias=False)
        self.eps = torch.nn.Parameter(torch.zeros(1))
        self.reset_parameters()

    def reset_parameters(self):
        self.lin.reset_parameters()
        self.eps.data.fill_(0.0)

    def forward(self, x: Tensor, edge_index: Tensor,
                edge_weight: Optional[Tensor] = None) -> Tensor:
        # The map is linear and bias-free, so it is applied first
        # (W(sum_j w x_j + (1+eps) x_i) = sum_j w W x_j + (1+eps) W x_i):
        # cheaper, and sparse CSR features work.
        h = sparse_linear(x, self.lin.weight)
        if is_sparse_adj(edge_index):
            out = spmm(*csr_of(edge_index, edge_weight, dtype=h.dtype), h)
        else:
            out = self.propagate(edge_index, x=h, edge_weight=edge_weight)
        return out + (1 + self.eps) * h

    def message(self, x_j: Tensor, edge_weight: Optional[Tensor]) -> Tensor:
        return x_j if edge_weight is None else edge_weight.view(-1, 1) * x_j

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.in_channels}, '
                f'{self.out_channels})')


class TeddyGIN(torch.nn.Module):
    r"""The official TEDDY GIN: two :class:`WeightedGINConv` layers
    (:math:`\mathbf{h}_1 = \mathrm{ReLU}(\mathrm{conv}_1(\mathbf{x}))`,
    :math:`\mathbf{h}_2 = \mathrm{ReLU}(\mathrm{conv}_2(\mathbf{h}_1))`) plus a
    bias-free skip linear map, output
    :math:`(\mathbf{W}_s \mathbf{h}_1 + \mathbf{h}_2) / 2`; no dropout. The
    ReLU on :math:`\mathbf{h}_2` is the official code's (it also acts on the
    logits)."""
    #: Node-id value check of :meth:`forward`: ``'once'`` (first call),
    #: ``'always'`` or ``'never'`` (see :doc:`/contract`).
    validate = 'once'

    supports_adj_t = True

    def __init__(self, in_channels: int, hidden_channels: int,
                 out_channels: int, num_layers: int = 2,
                 dropout: float = 0.0):
        super().__init__()
        init_sizes(self, in_channels, hidden_channels, out_channels,
                   num_layers=num_layers, dropout=dropout)
        if num_layers != 2:
            raise ValueError(f"'num_layers' must be 2 (TeddyGIN has exactly "
                             f"2 layers, the official architecture), got "
                             f"{num_layers}")
        self.conv1 = WeightedGINConv(in_channels, hidden_channels)
        self.conv2 = WeightedGINConv(hidden_channels, out_channels)
        self.skip = torch.nn.Linear(hidden_channels, out_channels, bias=False)
        self.reset_parameters()

    def reset_parameters(self):
        self.conv1.reset_parameters()
        self.conv2.reset_parameters()
        self.skip.reset_parameters()

    def forward(self, x: Tensor, edge_index: Tensor,
                edge_weight: Optional[Tensor] = None) -> Tensor:
        check_forward(x, edge_index, self.in_channels, edge_weight,
                      module=self)
        h1 = F.relu(self.conv1(x, edge_index, edge_weight))
        h1 = F.dropout(h1, p=self.dropout, training=self.training)
        h2 = F.relu(self.conv2(h1, edge_index, edge_weight))
        return (self.skip(h1) + h2) / 2

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.in_channels}, '
                f'{self.out_channels}, hidden_channels='
                f'{self.hidden_channels})')


class SoftPrunedGATConv(MessagePassing):
    r"""A bias-free GAT layer (no self-loops added, as in the official code)
    whose attention logits are multiplied by the edge weight during training
    ("soft pruning", official TEDDY/UGS trick) so that edge masks receive
    gradients; edges of weight 0 should be removed from :obj:`edge_index`."""
    def __init__(self, in_channels: int, out_channels: int, heads: int = 1,
                 concat: bool = True, dropout: float = 0.0,
                 negative_slope: float = 0.2):
        super().__init__(aggr='add', node_dim=0)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.heads = heads
        self.concat = concat
        self.dropout = dropout
        self.negative_slope = negative_slope
        self.lin = torch.nn.Linear(in_channels, heads * out_channels,
                                   bias=False)
        self.att_src = torch.nn.Parameter(torch.empty(1, heads, out_channels))
        self.att_dst = torch.nn.Parameter(torch.empty(1, heads, out_channels))
        self.reset_parameters()

    def reset_parameters(self):
        glorot(self.lin.weight)
        glorot(self.att_src)
        glorot(self.att_dst)

    def forward(self, x: Tensor, edge_index: Tensor,
                edge_weight: Optional[Tensor] = None) -> Tensor:
        H, C = self.heads, self.out_channels
        h = self.lin(x).view(-1, H, C)
        a_src = (h * self.att_src).sum(-1)
        a_dst = (h * self.att_dst).sum(-1)
        if is_sparse_adj(edge_index):
            out = self._sparse_forward(h, a_src, a_dst, edge_index,
                                       edge_weight)
        else:
            out = self.propagate(edge_index, x=h, a_src=a_src, a_dst=a_dst,
                                 edge_weight=edge_weight)
        return out.view(-1, H * C) if self.concat else out.mean(dim=1)

    def _sparse_forward(self, h: Tensor, a_src: Tensor, a_dst: Tensor,
                        adj_t, edge_weight: Optional[Tensor]) -> Tensor:
        # Attention per stored entry (row = target), then one custom SpMM per
        # head: no [E, heads, C] message tensor. The values of adj_t (times
        # edge_weight) play the edge weights' part in soft pruning.
        struct, w = csr_of(adj_t, edge_weight, dtype=h.dtype)
        row, col = struct.row, struct.col
        alpha = a_src[col] + a_dst[row]
        if self.training:  # all-ones values for an unweighted adj_t
            alpha = alpha * w.view(-1, 1)
        alpha = F.leaky_relu(alpha, self.negative_slope)
        alpha = softmax(alpha, row, struct.crow, h.size(0))
        alpha = F.dropout(alpha, p=self.dropout, training=self.training)
        return torch.stack([spmm(struct, alpha[:, k], h[:, k].contiguous())
                            for k in range(self.heads)], dim=1)

    def message(self, x_j: Tensor, a_src_j: Tensor, a_dst_i: Tensor,
                edge_weight: Optional[Tensor], index: Tensor,
                ptr: Optional[Tensor], size_i: Optional[int]) -> Tensor:
        alpha = a_src_j + a_dst_i
        if edge_weight is not None and self.training:
            alpha = alpha * edge_weight.view(-1, 1)
        alpha = F.leaky_relu(alpha, self.negative_slope)
        alpha = softmax(alpha, index, ptr, size_i)
        alpha = F.dropout(alpha, p=self.dropout, training=self.training)
        return x_j * alpha.unsqueeze(-1)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.in_channels}, '
                f'{self.out_channels}, heads={self.heads})')


class TeddyGAT(torch.nn.Module):
    r"""The official TEDDY GAT: :class:`SoftPrunedGATConv` layers with
    :obj:`heads` heads of :obj:`hidden_channels` each (concatenated), ELU,
    feature and attention dropout :obj:`dropout`, and a 1-head output layer.
    Self-loops are expected in :obj:`edge_index` (the official script adds
    them before scoring; use :obj:`score_self_loops=True`)."""
    #: Node-id value check of :meth:`forward`: ``'once'`` (first call),
    #: ``'always'`` or ``'never'`` (see :doc:`/contract`).
    validate = 'once'

    supports_adj_t = True

    def __init__(self, in_channels: int, hidden_channels: int,
                 out_channels: int, num_layers: int = 2, dropout: float = 0.6,
                 heads: int = 8):
        super().__init__()
        init_sizes(self, in_channels, hidden_channels, out_channels,
                   num_layers=num_layers, dropout=dropout)
        self.heads = check_int('heads', heads, low=1)
        self.convs = torch.nn.ModuleList()
        dim = in_channels
        for _ in range(num_layers - 1):
            self.convs.append(SoftPrunedGATConv(dim, hidden_channels, heads,
                                                dropout=dropout))
            dim = heads * hidden_channels
        self.convs.append(SoftPrunedGATConv(dim, out_channels, 1,
                                            concat=False))
        self.reset_parameters()

    def reset_parameters(self):
        for conv in self.convs:
            conv.reset_parameters()

    def forward(self, x: Tensor, edge_index: Tensor,
                edge_weight: Optional[Tensor] = None) -> Tensor:
        check_forward(x, edge_index, self.in_channels, edge_weight,
                      module=self)
        if x.layout != torch.strided:  # input dropout needs dense features
            x = x.to_dense()
        x = F.dropout(x, p=self.dropout, training=self.training)
        for i, conv in enumerate(self.convs):
            x = conv(x, edge_index, edge_weight)
            if i < self.num_layers - 1:
                x = F.elu(x)
                x = F.dropout(x, p=self.dropout, training=self.training)
        return x

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.in_channels}, '
                f'{self.out_channels}, hidden_channels='
                f'{self.hidden_channels}, heads={self.heads})')
