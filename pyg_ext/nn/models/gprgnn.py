from typing import Iterator, Optional, Sequence, Union

import torch.nn.functional as F
from torch import Tensor
from torch.nn import Parameter
from torch_geometric.typing import Adj, OptTensor

from pyg_ext.nn._checks import check_dropout
from pyg_ext.nn.conv.gpr_prop import GPRProp
from pyg_ext.nn.models._hop_base import HopBackbone

__all__ = ['GPRGNN']


class GPRGNN(HopBackbone):
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
    _repr_keys = (('hidden_channels', 'hidden_channels'), ('K', 'K'))

    def __init__(self, in_channels: int, hidden_channels: int,
                 out_channels: int, K: int = 9, init: str = 'PPR',
                 alpha: float = 1.0,
                 gamma: Optional[Union[Sequence[float], Tensor]] = None,
                 dropout: float = 0.5, dprate: float = 0.5,
                 batch_norm: bool = True, classifier_bias: bool = False,
                 cached: bool = False):
        super().__init__()
        self._init_frame(in_channels, hidden_channels, out_channels, dropout,
                         batch_norm, classifier_bias)
        check_dropout(dprate=dprate)
        self.K = K
        self.dprate = dprate
        self.prop = GPRProp(K, init=init, alpha=alpha, gamma=gamma,
                            cached=cached)
        self.reset_parameters()

    def reset_parameters(self):
        self._reset_encoder()
        self.prop.reset_parameters()
        self.lin2.reset_parameters()

    def featurize(self, x: Tensor, edge_index: Adj,
                  edge_weight: OptTensor = None) -> Tensor:
        h = F.dropout(self.encode(x), p=self.dropout, training=self.training)
        h = F.dropout(h, p=self.dprate, training=self.training)
        return self.prop(h, edge_index, edge_weight)

    def hop_parameters(self) -> Iterator[Parameter]:
        r"""The hop-aggregation parameters :math:`\gamma`."""
        yield self.prop.gamma
