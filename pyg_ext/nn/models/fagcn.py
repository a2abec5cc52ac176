r"""FAGCN: frequency-adaptive message passing built on PyG's
:class:`~torch_geometric.nn.conv.FAConv`."""
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import Linear, Module, ModuleList
from torch_geometric.nn.conv import FAConv

from pyg_ext.nn._checks import check_forward, init_sizes
from pyg_ext.utils.sparse_adj import (csr_of, gcn_norm_values, is_sparse_adj,
                                      spmm)
from pyg_ext.utils.validation import check_float

__all__ = ['FAGCN']


class FAGCN(Module):
    r"""The FAGCN model from the `"Beyond Low-frequency Information in Graph
    Convolutional Networks" <https://arxiv.org/abs/2101.00797>`_ paper, built
    on PyG's :class:`~torch_geometric.nn.conv.FAConv` layer:

    .. math::
        \mathbf{h}^{(0)}_i &= \mathrm{ReLU}\left(\mathbf{W}_{in}
        \mathbf{x}_i\right)

        \mathbf{h}^{(\ell)}_i &= \epsilon \, \mathbf{h}^{(0)}_i +
        \sum_{j \in \mathcal{N}(i) \cup \{ i \}}
        \frac{\alpha_{i,j}}{\sqrt{d_i d_j}} \mathbf{h}^{(\ell - 1)}_j,
        \quad \alpha_{i,j} = \tanh\left(\mathbf{a}_l^{\top}
        \mathbf{h}^{(\ell - 1)}_j + \mathbf{a}_r^{\top}
        \mathbf{h}^{(\ell - 1)}_i\right)

        \mathbf{y}_i &= \mathbf{W}_{out} \mathbf{h}^{(L)}_i

    The signed coefficient :math:`\alpha_{i,j} \in (-1, 1)` lets every edge
    act as a low-pass (:math:`\alpha > 0`) or a high-pass
    (:math:`\alpha < 0`) filter; :math:`\epsilon` is the initial residual.
    Dropout (rate :obj:`dropout`) is applied to the input, to
    :math:`\mathbf{h}^{(0)}` before the first layer, to the coefficients
    :math:`\alpha_{i,j}` (inside :class:`~torch_geometric.nn.conv.FAConv`)
    and to :math:`\mathbf{h}^{(L)}` before the output layer.

    Differences from the official code (`bdy9527/FAGCN
    <https://github.com/bdy9527/FAGCN>`_, DGL): the initial residual is
    :math:`\mathbf{h}^{(0)}` before its dropout (the official code uses it
    after), there is an extra dropout before :math:`\mathbf{W}_{out}`,
    :class:`~torch_geometric.nn.conv.FAConv` adds self-loops before the
    symmetric normalisation (the paper and the official code sum over
    :math:`\mathcal{N}(i)` only, with self-loops removed from the graph),
    and all weights use PyG's default initialisation (the official code uses
    Xavier-normal with gain 1.414). The model returns logits, not
    log-probabilities.

    Args:
        in_channels (int): Size of each input sample.
        hidden_channels (int): Size of each hidden sample.
        out_channels (int): Size of each output sample.
        num_layers (int, optional): Number :math:`L` of
            :class:`~torch_geometric.nn.conv.FAConv` layers.
            (default: :obj:`2`)
        dropout (float, optional): Dropout probability. (default: :obj:`0.5`)
        eps (float, optional): Initial residual coefficient
            :math:`\epsilon`. (default: :obj:`0.3`)

    Shapes:
        - **input:**
          node features :math:`(|\mathcal{V}|, F_{in})`,
          edge indices :math:`(2, |\mathcal{E}|)`
        - **output:** node features :math:`(|\mathcal{V}|, F_{out})`

    :obj:`edge_index` may be a sparse :obj:`adj_t` (row = target; its
    values are ignored, as :class:`~torch_geometric.nn.conv.FAConv` ignores
    edge weights): the coefficients are then computed per stored entry and
    aggregated with the custom SpMM of :func:`pyg_ext.utils.sparse_adj.spmm`,
    with the same results.

    .. note::
        In this package FAGCN is a static baseline of the temporal
        benchmarks (run on the static projection of an event stream); see
        ``docs/thegcn.md``.
    """
    #: Node-id value check of :meth:`forward`: ``'once'`` (first call),
    #: ``'always'`` or ``'never'`` (see :doc:`/contract`).
    validate = 'once'

    supports_adj_t = True

    def __init__(self, in_channels: int, hidden_channels: int,
                 out_channels: int, num_layers: int = 2, dropout: float = 0.5,
                 eps: float = 0.3):
        super().__init__()
        init_sizes(self, in_channels, hidden_channels, out_channels,
                   num_layers=num_layers, dropout=dropout, min_layers=0)
        check_float('eps', eps)
        self.eps = eps

        self.lin_in = Linear(in_channels, hidden_channels)
        self.convs = ModuleList([
            FAConv(hidden_channels, eps=eps, dropout=dropout)
            for _ in range(num_layers)
        ])
        self.lin_out = Linear(hidden_channels, out_channels)
        self.reset_parameters()

    def reset_parameters(self):
        self.lin_in.reset_parameters()
        self.lin_out.reset_parameters()
        for conv in self.convs:
            conv.reset_parameters()

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        check_forward(x, edge_index, self.in_channels, module=self)
        x = F.dropout(x, p=self.dropout, training=self.training)
        h = x0 = F.relu(self.lin_in(x))
        h = F.dropout(h, p=self.dropout, training=self.training)
        if is_sparse_adj(edge_index):
            struct, _ = csr_of(edge_index)
            struct, norm = gcn_norm_values(
                struct, torch.ones(struct.nnz, dtype=h.dtype,
                                   device=h.device))
        for conv in self.convs:
            if is_sparse_adj(edge_index):
                h = self._sparse_conv(conv, h, x0, struct, norm)
            else:
                h = conv(h, x0, edge_index)
        h = F.dropout(h, p=self.dropout, training=self.training)
        return self.lin_out(h)

    @staticmethod
    def _sparse_conv(conv: FAConv, h: Tensor, x0: Tensor, struct,
                     norm: Tensor) -> Tensor:
        # FAConv's message (tanh(a_l^T h_j + a_r^T h_i), dropout, times the
        # GCN weight) per stored entry (row = target i, column = source j).
        alpha = (conv.att_l(h)[struct.col] + conv.att_r(h)[struct.row])
        alpha = alpha.tanh().view(-1)
        alpha = F.dropout(alpha, p=conv.dropout, training=conv.training)
        out = spmm(struct, alpha * norm, h)
        return out + conv.eps * x0 if conv.eps != 0.0 else out

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.in_channels}, '
                f'{self.out_channels}, num_layers={self.num_layers})')
