from typing import Iterator, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import BatchNorm1d, Identity, Linear, Parameter
from torch_geometric.typing import Adj, OptTensor

from pyg_ext.nn._checks import (check_channels, check_dropout,
                                 check_forward)
from pyg_ext.nn.conv.gpr_prop import GPRProp

__all__ = ['GPRGNN']


class GPRGNN(torch.nn.Module):
    r"""The GPR-GNN model from the `"Adaptive Universal Generalized PageRank
    Graph Neural Network" <https://arxiv.org/abs/2006.07988>`_ paper, in the
    featurizer/classifier form used by `"AdaRC: Mitigating Graph Structure
    Shifts during Test-Time" <https://arxiv.org/abs/2410.06976>`_:

    .. math::
        \mathbf{H} &= \mathrm{ReLU}(\mathrm{BN}(\mathbf{X}\mathbf{W}_1 +
        \mathbf{b}_1)) \\
        \mathbf{Z} &= \sum_{k=0}^{K} \gamma_k \mathbf{\hat{A}}^k \mathbf{H}
        \qquad \text{(featurizer)} \\
        \mathbf{\hat{Y}} &= \mathbf{Z}\mathbf{W}_2 \qquad \text{(classifier)}

    The hop weights :math:`\gamma` (:meth:`hop_parameters`) are what AdaRC
    adapts at test time. In training mode, dropout :obj:`dropout` is applied
    to the input and to :math:`\mathbf{H}`, and dropout :obj:`dprate` to
    :math:`\mathbf{H}` before propagation (official order).

    Args:
        in_channels (int): Size of each input sample.
        hidden_channels (int): Size of the representation :math:`\mathbf{Z}`.
        out_channels (int): Number of classes.
        K (int, optional): Number of hops. (default: :obj:`9`)
        init (str, optional): Initialisation of :math:`\gamma` (see
            :func:`~pyg_ext.nn.conv.gpr_init`). (default: :obj:`"PPR"`)
        alpha (float, optional): Initialisation parameter; ``"PPR"`` with
            :math:`\alpha = 1` starts from :math:`\gamma = (1, 0, \ldots, 0)`
            (an MLP), as the official CSBM scripts do. (default: :obj:`1.0`)
        gamma (list or Tensor, optional): Initial weights for ``"WS"``.
        dropout (float, optional): Dropout on the input and hidden layer.
            (default: :obj:`0.5`)
        dprate (float, optional): Dropout before propagation.
            (default: :obj:`0.5`)
        batch_norm (bool, optional): Use batch normalisation after the first
            linear layer. (default: :obj:`True`)
        classifier_bias (bool, optional): Bias in the classifier (official:
            none). (default: :obj:`False`)
        cached (bool, optional): Cache the normalised graph in the
            propagation (transductive use only). (default: :obj:`False`)

    .. note::
        See `examples/adarc.py` for training and test-time adaptation.

    :obj:`edge_index` may be a sparse :obj:`adj_t` (``torch.sparse_csr`` /
    ``sparse_coo``, ``SparseTensor``; row = target), with the same results
    (see ``docs/scale.md``).
    """
    supports_adj_t = True

    def __init__(self, in_channels: int, hidden_channels: int,
                 out_channels: int, K: int = 9, init: str = 'PPR',
                 alpha: float = 1.0,
                 gamma: Optional[Union[Sequence[float], Tensor]] = None,
                 dropout: float = 0.5, dprate: float = 0.5,
                 batch_norm: bool = True, classifier_bias: bool = False,
                 cached: bool = False):
        super().__init__()
        check_channels(in_channels=in_channels,
                       hidden_channels=hidden_channels,
                       out_channels=out_channels)
        check_dropout(dropout=dropout)
        check_dropout(dprate=dprate)
        for name, p in (('dropout', dropout), ('dprate', dprate)):
            if not 0.0 <= p < 1.0:
                raise ValueError(f"'{name}' must be in [0, 1), got {p}")
        self.in_channels = in_channels
        self.hidden_channels = hidden_channels
        self.out_channels = out_channels
        self.K = K
        self.dropout = dropout
        self.dprate = dprate
        self.batch_norm = batch_norm
        self.classifier_bias = classifier_bias
        self.lin1 = Linear(in_channels, hidden_channels)
        self.bn1 = BatchNorm1d(hidden_channels) if batch_norm else Identity()
        self.prop = GPRProp(K, init=init, alpha=alpha, gamma=gamma,
                            cached=cached)
        self.lin2 = Linear(hidden_channels, out_channels,
                           bias=classifier_bias)
        self.reset_parameters()

    def reset_parameters(self):
        self.lin1.reset_parameters()
        if self.batch_norm:
            self.bn1.reset_parameters()
        self.prop.reset_parameters()
        self.lin2.reset_parameters()

    def featurize(self, x: Tensor, edge_index: Adj,
                  edge_weight: OptTensor = None) -> Tensor:
        r"""The representation :math:`\mathbf{Z}` (before the classifier)."""
        x = F.dropout(x, p=self.dropout, training=self.training)
        h = F.relu(self.bn1(self.lin1(x)))
        h = F.dropout(h, p=self.dropout, training=self.training)
        h = F.dropout(h, p=self.dprate, training=self.training)
        return self.prop(h, edge_index, edge_weight)

    def classify(self, z: Tensor) -> Tensor:
        r"""Logits from the representation :math:`\mathbf{Z}`."""
        return self.lin2(z)

    def forward(self, x: Tensor, edge_index: Adj,
                edge_weight: OptTensor = None) -> Tensor:
        check_forward(x, edge_index, self.in_channels, edge_weight)
        return self.classify(self.featurize(x, edge_index, edge_weight))

    def hop_parameters(self) -> Iterator[Parameter]:
        r"""The hop-aggregation parameters :math:`\gamma`."""
        yield self.prop.gamma

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.in_channels}, '
                f'{self.out_channels}, hidden_channels={self.hidden_channels}'
                f', K={self.K})')
