from typing import Optional, Tuple

import torch
from torch import Tensor

from pyg_ext.utils.validation import (check_bool, check_finite, check_float,
                                      check_index)

__all__ = ['pic_loss', 'pic_terms', 'PICLoss']


def _check_inputs(z: Tensor, prob: Tensor, mask: Optional[Tensor],
                  atol: float, validate: bool, eps: float = 0.0
                  ) -> Tuple[Tensor, Tensor, Optional[Tensor]]:
    r"""Checks the metadata (always) and the values (if :obj:`validate`);
    returns ``(z, prob, row_weight)``: an index :obj:`mask` selects rows, a
    boolean one becomes 0/1 row weights (a selection would have a
    value-dependent size, i.e. a host synchronisation)."""
    check_bool('validate', validate)
    check_float('eps', eps, 0.0)
    check_float('atol', atol, 0.0)
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
    if z.device != prob.device:
        raise ValueError(f"'z' and 'prob' must be on one device, got "
                         f"{z.device} and {prob.device}")
    row_weight = None
    if mask is not None:
        if not isinstance(mask, Tensor):
            raise TypeError(f"'mask' must be a tensor, got "
                            f"{type(mask).__name__}")
        if mask.device != z.device:
            raise ValueError(f"'mask' is on {mask.device} but 'z' on "
                             f"{z.device}")
        if mask.dtype == torch.bool:
            if mask.shape != (z.size(0), ):
                raise ValueError(f"a bool 'mask' must have shape [N] = "
                                 f"[{z.size(0)}], got {tuple(mask.shape)}")
            if validate and not bool(mask.any()):
                raise ValueError("'mask' selects no rows of 'z' (empty "
                                 "graph or empty mask)")
            row_weight = mask.to(z.dtype)
        else:
            if mask.is_floating_point() or mask.is_complex() or \
                    mask.dim() != 1:
                raise TypeError(f"'mask' must be a bool [N] mask or a 1-D "
                                f"integer index tensor, got {mask.dtype} "
                                f"of shape {tuple(mask.shape)}")
            if validate:
                check_index('mask', mask, z.size(0))
                if mask.numel() == 0:
                    raise ValueError("'mask' selects no rows of 'z' (empty "
                                     "graph or empty mask)")
            z, prob = z[mask], prob[mask]
    if z.size(0) == 0:
        raise ValueError("'z' has no rows (empty graph or empty mask)")
    if validate:
        with torch.no_grad():
            check_finite('z', z)
            check_finite('prob', prob)
            p = prob if row_weight is None else prob[mask]
            if bool((p < -atol).any()):
                raise ValueError("'prob' must be non-negative (soft "
                                 "pseudo-labels, e.g. a softmax output)")
            err = float((p.sum(dim=1) - 1).abs().max())
            if err > atol:
                raise ValueError(f"the rows of 'prob' must sum to 1 (soft "
                                 f"pseudo-labels); the largest deviation is "
                                 f"{err:.3g}")
    return z, prob, row_weight


def pic_terms(z: Tensor, prob: Tensor, mask: Optional[Tensor] = None,
              eps: float = 1e-8, atol: float = 1e-4,
              validate: bool = True) -> Tuple[Tensor, Tensor]:
    r"""The intra- and inter-class variances of :func:`pic_loss`:
    :math:`(\sigma^2_\mathrm{intra}, \sigma^2_\mathrm{inter})`; the
    arguments are those of :func:`pic_loss`."""
    z, prob, row_weight = _check_inputs(z, prob, mask, atol, validate, eps)
    if row_weight is None:
        z = z - z.mean(dim=0, keepdim=True)  # global centroid mu_* = 0
    else:  # masked-out rows weigh 0 in every sum below
        count = row_weight.sum().clamp_min(1.0)
        mu = (row_weight.view(-1, 1) * z).sum(dim=0, keepdim=True) / count
        z = z - mu
        prob = prob * row_weight.view(-1, 1)
    mass = prob.sum(dim=0)
    # Classes with (almost) no mass add nothing to either term: their
    # columns are zeroed rather than dropped (no value-dependent shapes).
    keep = mass > eps
    prob = prob * keep
    mass = torch.where(keep, mass, torch.ones_like(mass))
    means = (prob.t() @ z) / mass.view(-1, 1)  # [C, D] soft centroids
    mass = mass * keep
    sq_dist = (z.unsqueeze(1) - means.unsqueeze(0)).square().sum(dim=-1) \
        if z.size(0) * means.size(0) * z.size(1) <= 2**24 else \
        torch.cdist(z, means).square()
    intra = (prob * sq_dist).sum()
    inter = (mass * means.square().sum(dim=-1)).sum()
    return intra, inter


def pic_loss(z: Tensor, prob: Tensor, mask: Optional[Tensor] = None,
             eps: float = 1e-8, atol: float = 1e-4,
             validate: bool = True) -> Tensor:
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
    ``var_intra / var_total``, `github.com/baowenxuan/Matcha
    <https://github.com/baowenxuan/Matcha>`_). The loss is invariant to
    scaling and translating :math:`\mathbf{Z}`.

    Guards (the official code has none): classes whose soft mass is at most
    :obj:`eps` are dropped (no NaN from empty classes), and a representation
    whose total variance is at most :obj:`eps` (constant :math:`\mathbf{Z}`)
    gives a loss of 0.

    With :obj:`validate=False` no tensor value is read on the host (no GPU
    synchronisation; it runs on the :obj:`meta` device): only shapes, dtypes
    and devices are checked. Loops that call it with inputs already checked
    (e.g. :meth:`pyg_ext.tta.AdaRC.adapt`, whose pseudo-labels are a
    softmax) turn the value checks off.

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
        validate (bool, optional): Check that :obj:`prob` is non-negative
            with rows summing to 1 and that a boolean :obj:`mask` selects a
            row. (default: :obj:`True`)

    Example:
        >>> z = torch.tensor([[0.], [2.], [10.], [12.]])
        >>> prob = torch.tensor([[1., 0.], [1., 0.], [0., 1.], [0., 1.]])
        >>> pic_loss(z, prob)  # intra = 4, inter = 100
        tensor(0.0385)
    """
    intra, inter = pic_terms(z, prob, mask, eps, atol, validate)
    total = intra + inter
    ok = total > eps
    # A constant representation gives 0 (and a finite zero gradient).
    return torch.where(ok, intra / torch.where(ok, total, 1.0), total * 0.0)


class PICLoss(torch.nn.Module):
    r"""Module form of :func:`pic_loss`.

    Args:
        eps (float, optional): The guard threshold. (default: :obj:`1e-8`)
        atol (float, optional): Tolerance of the row-sum check.
            (default: :obj:`1e-4`)
        validate (bool, optional): Check the values of :obj:`prob` and
            :obj:`mask` on every call (see :func:`pic_loss`).
            (default: :obj:`True`)
    """
    def __init__(self, eps: float = 1e-8, atol: float = 1e-4,
                 validate: bool = True):
        super().__init__()
        check_float('eps', eps, 0.0)
        check_float('atol', atol, 0.0)
        check_bool('validate', validate)
        self.eps = eps
        self.atol = atol
        self.validate = validate

    def forward(self, z: Tensor, prob: Tensor,
                mask: Optional[Tensor] = None) -> Tensor:
        return pic_loss(z, prob, mask, self.eps, self.atol, self.validate)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(eps={self.eps})'
