import math
from typing import Iterator

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import BatchNorm1d, Identity, Linear, Parameter
from torch_geometric.typing import Adj, OptTensor

from pyg_ext.nn._checks import (check_channels, check_dropout,
                                 check_forward)
from pyg_ext.utils.validation import check_float
from pyg_ext.nn.conv.gpr_prop import HopAggregation

__all__ = ['LearnableAPPNP', 'appnp_hop_weights']


def appnp_hop_weights(alpha: Tensor, K: int) -> Tensor:
    r"""The hop weights of :math:`K` APPNP steps with teleport :math:`\alpha`:
    :math:`\gamma_k = \alpha(1-\alpha)^k` for :math:`k < K` and
    :math:`\gamma_K = (1-\alpha)^K` (differentiable in :math:`\alpha`).

    Example:
        >>> appnp_hop_weights(torch.tensor(0.5), 2)
        tensor([0.5000, 0.2500, 0.2500])
    """
    k = torch.arange(K + 1, dtype=alpha.dtype, device=alpha.device)
    w = (1 - alpha).pow(k)
    coef = torch.where(k < K, alpha, torch.ones_like(alpha))
    return coef * w


class LearnableAPPNP(torch.nn.Module):
    r"""APPNP from the `"Predict then Propagate: Graph Neural Networks meet
    Personalized PageRank" <https://arxiv.org/abs/1810.05997>`_ paper with a
    *learnable* teleport probability :math:`\alpha`, in the
    featurizer/classifier form of `"AdaRC: Mitigating Graph Structure Shifts
    during Test-Time" <https://arxiv.org/abs/2410.06976>`_:

    .. math::
        \mathbf{H} &= \mathrm{ReLU}(\mathrm{BN}(\mathbf{X}\mathbf{W}_1 +
        \mathbf{b}_1)) \\
        \mathbf{Z} &= \sum_{k=0}^{K-1} \alpha(1-\alpha)^k
        \mathbf{\hat{A}}^k \mathbf{H} + (1-\alpha)^K \mathbf{\hat{A}}^K
        \mathbf{H} \\
        \mathbf{\hat{Y}} &= \mathbf{Z}\mathbf{W}_2

    which equals :math:`K` steps of
    :math:`\mathbf{Z} \leftarrow (1-\alpha)\mathbf{\hat{A}}\mathbf{Z} +
    \alpha\mathbf{H}` from :math:`\mathbf{Z} = \mathbf{H}`. The hop parameter
    is the logit of :math:`\alpha` (:math:`\alpha = \sigma(a)`, so gradient
    steps cannot leave :math:`(0, 1)`).

    Args:
        in_channels (int): Size of each input sample.
        hidden_channels (int): Size of the representation.
        out_channels (int): Number of classes.
        K (int, optional): Number of propagation steps. (default: :obj:`10`)
        alpha (float, optional): Initial teleport probability in
            :math:`(0, 1)`. (default: :obj:`0.1`)
        dropout (float, optional): Dropout on the input and hidden layer.
            (default: :obj:`0.5`)
        batch_norm (bool, optional): Batch normalisation after the first
            linear layer. (default: :obj:`True`)
        classifier_bias (bool, optional): Bias in the classifier.
            (default: :obj:`False`)
        cached (bool, optional): Cache the normalised graph.
            (default: :obj:`False`)

    :obj:`edge_index` may be a sparse :obj:`adj_t` (``torch.sparse_csr`` /
    ``sparse_coo``, ``SparseTensor``; row = target), with the same results
    (see ``docs/scale.md``).
    """
    supports_adj_t = True

    def __init__(self, in_channels: int, hidden_channels: int,
                 out_channels: int, K: int = 10, alpha: float = 0.1,
                 dropout: float = 0.5, batch_norm: bool = True,
                 classifier_bias: bool = False, cached: bool = False):
        super().__init__()
        check_channels(in_channels=in_channels,
                       hidden_channels=hidden_channels,
                       out_channels=out_channels)
        check_dropout(dropout=dropout)
        check_float('alpha', alpha, low=0.0, high=1.0, low_open=True,
                    high_open=True)
        if not 0.0 < alpha < 1.0:
            raise ValueError(f"'alpha' must be in (0, 1), got {alpha}")
        if isinstance(K, bool) or not isinstance(K, int) or K < 1:
            raise ValueError(f"'K' must be an int >= 1, got {K!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"'dropout' must be in [0, 1), got {dropout}")
        self.in_channels = in_channels
        self.hidden_channels = hidden_channels
        self.out_channels = out_channels
        self.K = K
        self.init_alpha = alpha
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.lin1 = Linear(in_channels, hidden_channels)
        self.bn1 = BatchNorm1d(hidden_channels) if batch_norm else Identity()
        self.alpha_logit = Parameter(torch.empty(()))
        self.prop = HopAggregation(cached=cached)
        self.lin2 = Linear(hidden_channels, out_channels,
                           bias=classifier_bias)
        self.reset_parameters()

    @property
    def alpha(self) -> Tensor:
        return torch.sigmoid(self.alpha_logit)

    def reset_parameters(self):
        self.lin1.reset_parameters()
        if self.batch_norm:
            self.bn1.reset_parameters()
        with torch.no_grad():
            a = self.init_alpha
            self.alpha_logit.fill_(math.log(a / (1 - a)))
        self.prop.reset_parameters()
        self.lin2.reset_parameters()

    def featurize(self, x: Tensor, edge_index: Adj,
                  edge_weight: OptTensor = None) -> Tensor:
        x = F.dropout(x, p=self.dropout, training=self.training)
        h = F.relu(self.bn1(self.lin1(x)))
        h = F.dropout(h, p=self.dropout, training=self.training)
        gamma = appnp_hop_weights(self.alpha, self.K)
        return self.prop(h, edge_index, gamma, edge_weight)

    def classify(self, z: Tensor) -> Tensor:
        return self.lin2(z)

    def forward(self, x: Tensor, edge_index: Adj,
                edge_weight: OptTensor = None) -> Tensor:
        check_forward(x, edge_index, self.in_channels, edge_weight)
        return self.classify(self.featurize(x, edge_index, edge_weight))

    def hop_parameters(self) -> Iterator[Parameter]:
        r"""The logit of the teleport probability :math:`\alpha`."""
        yield self.alpha_logit

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.in_channels}, '
                f'{self.out_channels}, K={self.K}, '
                f'alpha={self.init_alpha})')
