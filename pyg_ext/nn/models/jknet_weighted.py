from typing import Iterator

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import BatchNorm1d, Identity, Linear, ModuleList, Parameter
from torch_geometric.nn import GCNConv
from torch_geometric.typing import Adj, OptTensor

from pyg_ext.nn._checks import (check_channels, check_dropout,
                                 check_forward)
from pyg_ext.nn.conv.gpr_prop import gcn_norm_fixed_size
from pyg_ext.utils.sparse_adj import (csr_of, gcn_norm_values, is_sparse_adj,
                                      spmm)

__all__ = ['WeightedJKNet']


class WeightedJKNet(torch.nn.Module):
    r"""A jumping-knowledge network (`"Representation Learning on Graphs with
    Jumping Knowledge Networks" <https://arxiv.org/abs/1806.03536>`_) whose
    layer outputs are combined by an explicit learnable weighted sum, the
    hop-aggregation parameters of `"AdaRC: Mitigating Graph Structure Shifts
    during Test-Time" <https://arxiv.org/abs/2410.06976>`_:

    .. math::
        \mathbf{H}^{(0)} &= \mathrm{ReLU}(\mathrm{BN}(\mathbf{X}\mathbf{W}_0
        + \mathbf{b}_0)), \qquad \mathbf{H}^{(\ell)} = \mathrm{ReLU}(
        \mathrm{GCNConv}_\ell(\mathbf{H}^{(\ell-1)})) \\
        \mathbf{Z} &= \sum_{\ell=0}^{L} w_\ell \mathbf{H}^{(\ell)}, \qquad
        \mathbf{\hat{Y}} = \mathbf{Z}\mathbf{W}_\mathrm{out}

    PyG's :class:`~torch_geometric.nn.models.JumpingKnowledge` offers only
    ``"cat"``, ``"max"`` and ``"lstm"``; the scalar weights :math:`w` here
    are what AdaRC adapts (:meth:`hop_parameters`).

    Args:
        in_channels (int): Size of each input sample.
        hidden_channels (int): Size of every layer and of the representation.
        out_channels (int): Number of classes.
        num_layers (int, optional): Number of GCN layers :math:`L`.
            (default: :obj:`2`)
        dropout (float, optional): Dropout on the input and between layers.
            (default: :obj:`0.5`)
        batch_norm (bool, optional): Batch normalisation after the input
            layer. (default: :obj:`True`)
        jk_init (str, optional): ``"uniform"`` (:math:`w_\ell = 1/(L+1)`) or
            ``"last"`` (:math:`w = (0, \ldots, 0, 1)`). (default:
            :obj:`"uniform"`)
        classifier_bias (bool, optional): Bias in the classifier.
            (default: :obj:`False`)

    :obj:`edge_index` may be a sparse :obj:`adj_t` (row = target; see
    ``docs/scale.md``), with the same results.
    """
    supports_adj_t = True

    def __init__(self, in_channels: int, hidden_channels: int,
                 out_channels: int, num_layers: int = 2, dropout: float = 0.5,
                 batch_norm: bool = True, jk_init: str = 'uniform',
                 classifier_bias: bool = False):
        super().__init__()
        check_channels(in_channels=in_channels,
                       hidden_channels=hidden_channels,
                       out_channels=out_channels)
        check_dropout(dropout=dropout)
        if isinstance(num_layers, bool) or not isinstance(
                num_layers, int) or num_layers < 1:
            raise ValueError(f"'num_layers' must be an int >= 1, got "
                             f"{num_layers!r}")
        if jk_init not in ('uniform', 'last'):
            raise ValueError(f"'jk_init' must be 'uniform' or 'last', got "
                             f"{jk_init!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"'dropout' must be in [0, 1), got {dropout}")
        self.in_channels = in_channels
        self.hidden_channels = hidden_channels
        self.out_channels = out_channels
        self.num_layers = num_layers
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.jk_init = jk_init
        self.lin1 = Linear(in_channels, hidden_channels)
        self.bn1 = BatchNorm1d(hidden_channels) if batch_norm else Identity()
        # The graph is normalised once per forward pass and shared by the
        # layers (gcn_norm_fixed_size: no host synchronisation).
        self.convs = ModuleList(
            [GCNConv(hidden_channels, hidden_channels, normalize=False)
             for _ in range(num_layers)])
        self.jk_weight = Parameter(torch.empty(num_layers + 1))
        self.lin2 = Linear(hidden_channels, out_channels,
                           bias=classifier_bias)
        self.reset_parameters()

    def reset_parameters(self):
        self.lin1.reset_parameters()
        if self.batch_norm:
            self.bn1.reset_parameters()
        for conv in self.convs:
            conv.reset_parameters()
        with torch.no_grad():
            if self.jk_init == 'uniform':
                self.jk_weight.fill_(1.0 / (self.num_layers + 1))
            else:
                self.jk_weight.zero_()
                self.jk_weight[-1] = 1.0
        self.lin2.reset_parameters()

    def featurize(self, x: Tensor, edge_index: Adj,
                  edge_weight: OptTensor = None) -> Tensor:
        x = F.dropout(x, p=self.dropout, training=self.training)
        h = F.relu(self.bn1(self.lin1(x)))
        sparse = is_sparse_adj(edge_index)
        if sparse:  # GCNConv's math through the custom SpMM
            struct, values = gcn_norm_values(
                *csr_of(edge_index, edge_weight, dtype=h.dtype))
        else:
            edge_index, edge_weight = gcn_norm_fixed_size(
                edge_index, edge_weight, h.size(0), dtype=h.dtype)
        z = self.jk_weight[0] * h
        for i, conv in enumerate(self.convs):
            h = F.dropout(h, p=self.dropout, training=self.training)
            if sparse:
                h = spmm(struct, values, conv.lin(h))
                h = h if conv.bias is None else h + conv.bias
            else:
                h = conv(h, edge_index, edge_weight)
            h = F.relu(h)
            z = z + self.jk_weight[i + 1] * h
        return z

    def classify(self, z: Tensor) -> Tensor:
        return self.lin2(z)

    def forward(self, x: Tensor, edge_index: Adj,
                edge_weight: OptTensor = None) -> Tensor:
        check_forward(x, edge_index, self.in_channels, edge_weight)
        return self.classify(self.featurize(x, edge_index, edge_weight))

    def hop_parameters(self) -> Iterator[Parameter]:
        r"""The layer-combination weights :math:`w`."""
        yield self.jk_weight

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.in_channels}, '
                f'{self.out_channels}, num_layers={self.num_layers})')
