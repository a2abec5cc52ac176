from typing import Iterator

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import ModuleList, Parameter
from torch_geometric.nn import GCNConv
from torch_geometric.typing import Adj, OptTensor

from pyg_ext.nn.conv.gpr_prop import gcn_norm_fixed_size
from pyg_ext.nn.models._hop_base import HopBackbone
from pyg_ext.utils.sparse_adj import (csr_of, gcn_norm_values, is_sparse_adj,
                                      spmm)
from pyg_ext.utils.validation import check_choice, check_int

__all__ = ['WeightedJKNet']


class WeightedJKNet(HopBackbone):
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
    def __init__(self, in_channels: int, hidden_channels: int,
                 out_channels: int, num_layers: int = 2, dropout: float = 0.5,
                 batch_norm: bool = True, jk_init: str = 'uniform',
                 classifier_bias: bool = False):
        super().__init__()
        self._init_frame(in_channels, hidden_channels, out_channels, dropout,
                         batch_norm, classifier_bias)
        self.num_layers = check_int('num_layers', num_layers, low=1)
        self.jk_init = check_choice('jk_init', jk_init, ('uniform', 'last'))
        # The graph is normalised once per forward pass and shared by the
        # layers (gcn_norm_fixed_size: no host synchronisation).
        self.convs = ModuleList(
            [GCNConv(hidden_channels, hidden_channels, normalize=False)
             for _ in range(num_layers)])
        self.jk_weight = Parameter(torch.empty(num_layers + 1))
        self.reset_parameters()

    def reset_parameters(self):
        self._reset_encoder()
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
        h = self.encode(x)
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

    def hop_parameters(self) -> Iterator[Parameter]:
        r"""The layer-combination weights :math:`w`."""
        yield self.jk_weight
