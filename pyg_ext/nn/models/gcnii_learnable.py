import math
from typing import Iterator

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import Parameter
from torch_geometric.typing import Adj, OptTensor

from pyg_ext.nn.conv.gpr_prop import HopAggregation
from pyg_ext.nn.models._hop_base import HopBackbone, LearnableAlpha
from pyg_ext.utils.validation import check_float, check_int

__all__ = ['LearnableGCNII']


class LearnableGCNII(LearnableAlpha, HopBackbone):
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
    def __init__(self, in_channels: int, hidden_channels: int,
                 out_channels: int, num_layers: int = 4, alpha: float = 0.1,
                 theta: float = 0.5, dropout: float = 0.5,
                 batch_norm: bool = True, classifier_bias: bool = False,
                 cached: bool = False):
        super().__init__()
        self._init_frame(in_channels, hidden_channels, out_channels, dropout,
                         batch_norm, classifier_bias)
        check_float('alpha', alpha, low=0.0, high=1.0, low_open=True,
                    high_open=True)
        check_float('theta', theta, low=0.0, low_open=True)
        self.num_layers = check_int('num_layers', num_layers, low=1)
        self.init_alpha = alpha
        self.theta = theta
        self.weights = torch.nn.ParameterList([
            Parameter(torch.empty(hidden_channels, hidden_channels))
            for _ in range(num_layers)
        ])
        self.alpha_logit = Parameter(torch.empty(num_layers))
        self.prop = HopAggregation(cached=cached)
        self.reset_parameters()

    def reset_parameters(self):
        self._reset_encoder()
        for w in self.weights:
            torch.nn.init.xavier_uniform_(w)
        self._reset_alpha()
        self.prop.reset_parameters()
        self.lin2.reset_parameters()

    def featurize(self, x: Tensor, edge_index: Adj,
                  edge_weight: OptTensor = None) -> Tensor:
        h0 = self.encode(x)
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

    def hop_parameters(self) -> Iterator[Parameter]:
        r"""The logits of the initial-residual strengths
        :math:`\alpha_\ell`."""
        yield self.alpha_logit
