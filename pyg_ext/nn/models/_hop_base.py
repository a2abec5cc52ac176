r"""The featurizer/classifier frame shared by the AdaRC hop backbones
(:class:`GPRGNN`, :class:`LearnableAPPNP`, :class:`LearnableGCNII`,
:class:`WeightedJKNet`): an encoder
:math:`\mathbf{H} = \mathrm{ReLU}(\mathrm{BN}(\mathbf{X}\mathbf{W}_1 +
\mathbf{b}_1))`, a propagation with hop parameters (each subclass's
:meth:`featurize`), and a linear classifier :math:`\mathbf{Z}\mathbf{W}_2`,
as in `"AdaRC: Mitigating Graph Structure Shifts during Test-Time"
<https://arxiv.org/abs/2410.06976>`_."""
import math
from typing import Iterator

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import BatchNorm1d, Identity, Linear, Parameter
from torch_geometric.typing import Adj, OptTensor

from pyg_ext.nn._checks import check_channels, check_dropout, check_forward
from pyg_ext.utils.validation import check_int

__all__ = []


def logit(p: float) -> float:
    r""":math:`\log(p / (1 - p))` of a probability in :math:`(0, 1)`."""
    return math.log(p / (1 - p))


class HopBackbone(torch.nn.Module):
    r"""Base class: subclasses call :meth:`_init_frame` in ``__init__``,
    implement :meth:`featurize`, :meth:`hop_parameters` and
    :meth:`reset_parameters` (calling :meth:`_reset_encoder` first and
    ``self.lin2.reset_parameters()`` last), and name the options shown by
    ``repr`` in :attr:`_repr_keys` (``(label, attribute)`` pairs)."""
    #: Node-id value check of :meth:`forward`: ``'once'`` (first call),
    #: ``'always'`` or ``'never'`` (see :doc:`/contract`).
    validate = 'once'

    supports_adj_t = True
    _repr_keys = (('num_layers', 'num_layers'), )

    def _init_frame(self, in_channels: int, hidden_channels: int,
                    out_channels: int, dropout: float, batch_norm: bool,
                    classifier_bias: bool) -> None:
        check_int('in_channels', in_channels, low=1)  # torch Linear: not lazy
        check_channels(hidden_channels=hidden_channels,
                       out_channels=out_channels)
        check_dropout(dropout=dropout)
        self.in_channels = in_channels
        self.hidden_channels = hidden_channels
        self.out_channels = out_channels
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.classifier_bias = classifier_bias
        self.lin1 = Linear(in_channels, hidden_channels)
        self.bn1 = BatchNorm1d(hidden_channels) if batch_norm else Identity()
        self.lin2 = Linear(hidden_channels, out_channels,
                           bias=classifier_bias)

    def _reset_encoder(self) -> None:
        self.lin1.reset_parameters()
        if self.batch_norm:
            self.bn1.reset_parameters()

    def encode(self, x: Tensor) -> Tensor:
        r""":math:`\mathbf{H}` (input dropout, linear, batch norm, ReLU)."""
        x = F.dropout(x, p=self.dropout, training=self.training)
        return F.relu(self.bn1(self.lin1(x)))

    def featurize(self, x: Tensor, edge_index: Adj,
                  edge_weight: OptTensor = None) -> Tensor:
        r"""The representation :math:`\mathbf{Z}` (before the
        classifier)."""
        raise NotImplementedError

    def hop_parameters(self) -> Iterator[Parameter]:
        raise NotImplementedError

    def classify(self, z: Tensor) -> Tensor:
        r"""Logits from the representation :math:`\mathbf{Z}`."""
        return self.lin2(z)

    def forward(self, x: Tensor, edge_index: Adj,
                edge_weight: OptTensor = None) -> Tensor:
        check_forward(x, edge_index, self.in_channels, edge_weight,
                      module=self)
        return self.classify(self.featurize(x, edge_index, edge_weight))

    def __repr__(self) -> str:
        opts = ''.join(f', {k}={getattr(self, a)}' for k, a in self._repr_keys)
        return (f'{self.__class__.__name__}({self.in_channels}, '
                f'{self.out_channels}{opts})')


class LearnableAlpha:
    r"""Mixin of the backbones whose hop parameter is a strength
    :math:`\alpha \in (0, 1)` kept as its logit :obj:`alpha_logit` (so
    gradient steps cannot leave the interval), initialised from
    :obj:`init_alpha`."""

    @property
    def alpha(self) -> Tensor:
        return torch.sigmoid(self.alpha_logit)

    def _reset_alpha(self) -> None:
        with torch.no_grad():
            self.alpha_logit.fill_(logit(self.init_alpha))
