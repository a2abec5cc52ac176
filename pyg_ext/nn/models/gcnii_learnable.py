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

__all__ = ['LearnableGCNII']


class LearnableGCNII(torch.nn.Module):
    r"""GCNII from the `"Simple and Deep Graph Convolutional Networks"
    <https://arxiv.org/abs/2007.02133>`_ paper with *learnable* per-layer
    initial-residual strengths :math:`\alpha_\ell`, the hop-aggregation
    parameters of `"AdaRC: Mitigating Graph Structure Shifts during
    Test-Time" <https://arxiv.org/abs/2410.06976>`_:

    .. math::
        \mathbf{H}^{(0)} &= \mathrm{ReLU}(\mathrm{BN}(\mathbf{X}\mathbf{W}_0
        + \mathbf{b}_0)) \\
        \mathbf{S}^{(\ell)} &= (1-\alpha_\ell)\mathbf{\hat{A}}
        \mathbf{H}^{(\ell-1)} + \alpha_\ell \mathbf{H}^{(0)} \\
        \mathbf{H}^{(\ell)} &= \mathrm{ReLU}\big(\mathbf{S}^{(\ell)}
        ((1-\beta_\ell)\mathbf{I} + \beta_\ell\mathbf{W}_\ell)\big), \qquad
        \beta_\ell = \log(\theta/\ell + 1)

    with :math:`\mathbf{Z} = \mathbf{H}^{(L)}` and
    :math:`\mathbf{\hat{Y}} = \mathbf{Z}\mathbf{W}_\mathrm{out}`.
    :math:`\alpha_\ell = \sigma(a_\ell)`; the logits :math:`a_\ell` are the
    hop parameters (:meth:`hop_parameters`).

    Args:
        in_channels (int): Size of each input sample.
        hidden_channels (int): Size of every layer and of the representation.
        out_channels (int): Number of classes.
        num_layers (int, optional): Number of GCNII layers :math:`L`.
            (default: :obj:`4`)
        alpha (float, optional): Initial :math:`\alpha_\ell` in
            :math:`(0, 1)`. (default: :obj:`0.1`)
        theta (float, optional): :math:`\theta` of the identity mapping.
            (default: :obj:`0.5`)
        dropout (float, optional): Dropout on the input and between layers.
            (default: :obj:`0.5`)
        batch_norm (bool, optional): Batch normalisation after the input
            layer. (default: :obj:`True`)
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
                 out_channels: int, num_layers: int = 4, alpha: float = 0.1,
                 theta: float = 0.5, dropout: float = 0.5,
                 batch_norm: bool = True, classifier_bias: bool = False,
                 cached: bool = False):
        super().__init__()
        check_channels(in_channels=in_channels,
                       hidden_channels=hidden_channels,
                       out_channels=out_channels)
        check_dropout(dropout=dropout)
        check_float('alpha', alpha, low=0.0, high=1.0, low_open=True,
                    high_open=True)
        check_float('theta', theta, low=0.0, low_open=True)
        if not 0.0 < alpha < 1.0:
            raise ValueError(f"'alpha' must be in (0, 1), got {alpha}")
        if isinstance(num_layers, bool) or not isinstance(
                num_layers, int) or num_layers < 1:
            raise ValueError(f"'num_layers' must be an int >= 1, got "
                             f"{num_layers!r}")
        if theta <= 0:
            raise ValueError(f"'theta' must be > 0, got {theta}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"'dropout' must be in [0, 1), got {dropout}")
        self.in_channels = in_channels
        self.hidden_channels = hidden_channels
        self.out_channels = out_channels
        self.num_layers = num_layers
        self.init_alpha = alpha
        self.theta = theta
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.lin1 = Linear(in_channels, hidden_channels)
        self.bn1 = BatchNorm1d(hidden_channels) if batch_norm else Identity()
        self.weights = torch.nn.ParameterList([
            Parameter(torch.empty(hidden_channels, hidden_channels))
            for _ in range(num_layers)
        ])
        self.alpha_logit = Parameter(torch.empty(num_layers))
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
        for w in self.weights:
            torch.nn.init.xavier_uniform_(w)
        with torch.no_grad():
            a = self.init_alpha
            self.alpha_logit.fill_(math.log(a / (1 - a)))
        self.prop.reset_parameters()
        self.lin2.reset_parameters()

    def featurize(self, x: Tensor, edge_index: Adj,
                  edge_weight: OptTensor = None) -> Tensor:
        x = F.dropout(x, p=self.dropout, training=self.training)
        h0 = F.relu(self.bn1(self.lin1(x)))
        adj = self.prop.norm(edge_index, edge_weight, h0.size(0), h0.dtype)
        alpha = self.alpha
        h = h0
        for i, w in enumerate(self.weights):
            h = F.dropout(h, p=self.dropout, training=self.training)
            s = self.prop.step(h, adj)
            s = (1 - alpha[i]) * s + alpha[i] * h0
            beta = math.log(self.theta / (i + 1) + 1)
            h = F.relu((1 - beta) * s + beta * (s @ w))
        return h

    def classify(self, z: Tensor) -> Tensor:
        return self.lin2(z)

    def forward(self, x: Tensor, edge_index: Adj,
                edge_weight: OptTensor = None) -> Tensor:
        check_forward(x, edge_index, self.in_channels, edge_weight)
        return self.classify(self.featurize(x, edge_index, edge_weight))

    def hop_parameters(self) -> Iterator[Parameter]:
        r"""The logits of the initial-residual strengths
        :math:`\alpha_\ell`."""
        yield self.alpha_logit

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.in_channels}, '
                f'{self.out_channels}, num_layers={self.num_layers})')
