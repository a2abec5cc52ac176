from typing import Iterator

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import Parameter
from torch_geometric.typing import Adj, OptTensor

from pyg_ext.nn.conv.gpr_prop import HopAggregation
from pyg_ext.nn.models._hop_base import HopBackbone, LearnableAlpha
from pyg_ext.utils.validation import check_float, check_int

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


class LearnableAPPNP(LearnableAlpha, HopBackbone):
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
    _repr_keys = (('K', 'K'), ('alpha', 'init_alpha'))

    def __init__(self, in_channels: int, hidden_channels: int,
                 out_channels: int, K: int = 10, alpha: float = 0.1,
                 dropout: float = 0.5, batch_norm: bool = True,
                 classifier_bias: bool = False, cached: bool = False):
        super().__init__()
        self._init_frame(in_channels, hidden_channels, out_channels, dropout,
                         batch_norm, classifier_bias)
        check_float('alpha', alpha, low=0.0, high=1.0, low_open=True,
                    high_open=True)
        self.K = check_int('K', K, low=1)
        self.init_alpha = alpha
        self.alpha_logit = Parameter(torch.empty(()))
        self.prop = HopAggregation(cached=cached)
        self.reset_parameters()

    def reset_parameters(self):
        self._reset_encoder()
        self._reset_alpha()
        self.prop.reset_parameters()
        self.lin2.reset_parameters()

    def featurize(self, x: Tensor, edge_index: Adj,
                  edge_weight: OptTensor = None) -> Tensor:
        h = F.dropout(self.encode(x), p=self.dropout, training=self.training)
        gamma = appnp_hop_weights(self.alpha, self.K)
        return self.prop(h, edge_index, gamma, edge_weight)

    def hop_parameters(self) -> Iterator[Parameter]:
        r"""The logit of the teleport probability :math:`\alpha`."""
        yield self.alpha_logit
