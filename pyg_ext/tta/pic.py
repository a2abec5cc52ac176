from typing import Optional, Tuple

import torch
from torch import Tensor

__all__ = ['pic_loss', 'pic_terms', 'PICLoss']


def _check_inputs(z: Tensor, prob: Tensor, mask: Optional[Tensor],
                  atol: float) -> Tuple[Tensor, Tensor]:
    if not isinstance(z, Tensor) or not isinstance(prob, Tensor):
        raise TypeError(f"'z' and 'prob' must be tensors, got "
                        f"{type(z).__name__} and {type(prob).__name__}")
    if z.dim() != 2:
        raise ValueError(f"'z' must be 2-D [N, D], got shape "
                         f"{tuple(z.shape)}")
    if prob.dim() != 2:
        raise ValueError(f"'prob' must be 2-D [N, C], got shape "
                         f"{tuple(prob.shape)}")
    if z.size(0) != prob.size(0):
        raise ValueError(f"'z' and 'prob' must have the same number of rows "
                         f"N, got z {tuple(z.shape)} and prob "
                         f"{tuple(prob.shape)}")
    if not z.is_floating_point() or not prob.is_floating_point():
        raise TypeError(f"'z' and 'prob' must be floating point, got "
                        f"{z.dtype} and {prob.dtype}")
    if mask is not None:
        if not isinstance(mask, Tensor):
            raise TypeError(f"'mask' must be a tensor, got "
                            f"{type(mask).__name__}")
        if mask.dtype == torch.bool and mask.shape != (z.size(0), ):
            raise ValueError(f"a bool 'mask' must have shape [N] = "
                             f"[{z.size(0)}], got {tuple(mask.shape)}")
        z, prob = z[mask], prob[mask]
    if z.size(0) == 0:
        raise ValueError("'z' has no rows (empty graph or empty mask)")
    with torch.no_grad():
        if (prob < -atol).any():
            raise ValueError("'prob' must be non-negative (soft pseudo-labels,"
                             " e.g. a softmax output)")
        err = (prob.sum(dim=1) - 1).abs().max()
        if err > atol:
            raise ValueError(f"the rows of 'prob' must sum to 1 (soft "
                             f"pseudo-labels); the largest deviation is "
                             f"{float(err):.3g}")
    return z, prob


def pic_terms(z: Tensor, prob: Tensor, mask: Optional[Tensor] = None,
              eps: float = 1e-8, atol: float = 1e-4) -> Tuple[Tensor, Tensor]:
    r"""The intra- and inter-class variances of :func:`pic_loss`:
    :math:`(\sigma^2_\mathrm{intra}, \sigma^2_\mathrm{inter})`."""
    z, prob = _check_inputs(z, prob, mask, atol)
    z = z - z.mean(dim=0, keepdim=True)  # global centroid mu_* = 0
    mass = prob.sum(dim=0)
    keep = mass > eps  # empty classes add nothing to either term
    prob, mass = prob[:, keep], mass[keep]
    means = (prob.t() @ z) / mass.view(-1, 1)  # [C, D] soft centroids
    sq_dist = (z.unsqueeze(1) - means.unsqueeze(0)).square().sum(dim=-1) \
        if z.size(0) * means.size(0) * z.size(1) <= 2**24 else \
        torch.cdist(z, means).square()
    intra = (prob * sq_dist).sum()
    inter = (mass * means.square().sum(dim=-1)).sum()
    return intra, inter


def pic_loss(z: Tensor, prob: Tensor, mask: Optional[Tensor] = None,
             eps: float = 1e-8, atol: float = 1e-4) -> Tensor:
    r"""The prediction-informed clustering (PIC) loss from the `"AdaRC:
    Mitigating Graph Structure Shifts during Test-Time"
    <https://arxiv.org/abs/2410.06976>`_ paper:

    .. math::
        \boldsymbol{\mu}_c = \frac{\sum_i \hat{Y}_{ic}\mathbf{z}_i}
        {\sum_i \hat{Y}_{ic}}, \quad
        \boldsymbol{\mu}_* = \frac{1}{N}\sum_i \mathbf{z}_i, \quad
        \sigma^2_\mathrm{intra} = \sum_{i,c} \hat{Y}_{ic}
        \|\mathbf{z}_i - \boldsymbol{\mu}_c\|^2, \quad
        \sigma^2_\mathrm{inter} = \sum_c \Big(\sum_i \hat{Y}_{ic}\Big)
        \|\boldsymbol{\mu}_c - \boldsymbol{\mu}_*\|^2,

    .. math::
        \mathcal{L}_\mathrm{PIC} = \frac{\sigma^2_\mathrm{intra}}
        {\sigma^2_\mathrm{intra} + \sigma^2_\mathrm{inter}} \in [0, 1].

    Since the rows of :math:`\hat{\mathbf{Y}}` sum to 1,
    :math:`\sigma^2_\mathrm{intra} + \sigma^2_\mathrm{inter} =
    \sum_i\|\mathbf{z}_i - \boldsymbol{\mu}_*\|^2` (the official code's
    ``var_intra / var_total``). The loss is invariant to scaling and
    translating :math:`\mathbf{Z}`.

    Guards (the official code has none): classes whose soft mass is at most
    :obj:`eps` are dropped (no NaN from empty classes), and a representation
    whose total variance is at most :obj:`eps` (constant :math:`\mathbf{Z}`)
    gives a loss of 0.

    Args:
        z (Tensor): Node representations :math:`[N, D]`.
        prob (Tensor): Soft pseudo-labels :math:`[N, C]` (rows sum to 1).
            Usually detached.
        mask (Tensor, optional): Restrict both sums to these rows (bool
            :math:`[N]` or an index). (default: :obj:`None`: all nodes, as
            the official code)
        eps (float, optional): The guard threshold. (default: :obj:`1e-8`)
        atol (float, optional): Tolerance of the row-sum check.
            (default: :obj:`1e-4`)

    Example:
        >>> z = torch.tensor([[0.], [2.], [10.], [12.]])
        >>> prob = torch.tensor([[1., 0.], [1., 0.], [0., 1.], [0., 1.]])
        >>> pic_loss(z, prob)  # intra = 4, inter = 100
        tensor(0.0385)
    """
    intra, inter = pic_terms(z, prob, mask, eps, atol)
    total = intra + inter
    if float(total.detach()) <= eps:
        return total * 0.0
    return intra / total


class PICLoss(torch.nn.Module):
    r"""Module form of :func:`pic_loss`.

    Args:
        eps (float, optional): The guard threshold. (default: :obj:`1e-8`)
        atol (float, optional): Tolerance of the row-sum check.
            (default: :obj:`1e-4`)
    """
    def __init__(self, eps: float = 1e-8, atol: float = 1e-4):
        super().__init__()
        if eps < 0:
            raise ValueError(f"'eps' must be >= 0, got {eps}")
        self.eps = eps
        self.atol = atol

    def forward(self, z: Tensor, prob: Tensor,
                mask: Optional[Tensor] = None) -> Tensor:
        return pic_loss(z, prob, mask, self.eps, self.atol)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(eps={self.eps})'
