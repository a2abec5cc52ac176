r"""Dispersion of probability vectors: how far a prediction is from uniform.

Used by :class:`pyg_ext.nn.models.Mowst` as the input of its confidence gate.
Both functions are normalised to :math:`[0, 1]`: 0 for the uniform vector and
1 for a one-hot vector; both are convex and permutation invariant.
"""
import math
from typing import Callable, Dict

import torch
from torch import Tensor

__all__ = [
    'variance_dispersion',
    'entropy_dispersion',
    'DISPERSIONS',
]


def _check_probs(p: Tensor, name: str = 'p') -> int:
    if not isinstance(p, Tensor) or not p.is_floating_point():
        raise TypeError(f"'{name}' must be a floating-point tensor of "
                        f"probabilities, got {type(p).__name__}"
                        f"{'' if not isinstance(p, Tensor) else ' ' + str(p.dtype)}")
    if p.dim() < 1:
        raise ValueError(f"'{name}' must have a class dimension (last dim), "
                         f"got a 0-dim tensor")
    n = p.size(-1)
    if n < 2:
        raise ValueError(f"'{name}' must have at least 2 classes in its last "
                         f"dimension, got {n}")
    return n


def variance_dispersion(p: Tensor) -> Tensor:
    r"""The normalised (population) variance of a probability vector,

    .. math::
        D_{\mathrm{var}}(\mathbf{p}) = \frac{\mathrm{Var}(\mathbf{p})}
        {\mathrm{Var}(\mathbf{e}_1)} = \frac{n \sum_i p_i^2 - 1}{n - 1},

    from the `"Mixture of Weak & Strong Experts on Graphs"
    <https://arxiv.org/abs/2311.05185>`_ paper (normalisation as in its
    official code). For :math:`n = 2` this is :math:`(2 p_1 - 1)^2`.

    Args:
        p (torch.Tensor): Probabilities, shape :obj:`[*, n]` (rows sum to 1).

    :rtype: :class:`torch.Tensor` of shape :obj:`[*]`, values in
        :math:`[0, 1]`.

    Example:
        >>> variance_dispersion(torch.tensor([[0.5, 0.5], [1.0, 0.0]]))
        tensor([0., 1.])
    """
    n = _check_probs(p)
    return (n * p.pow(2).sum(dim=-1) - 1.0) / (n - 1.0)


def entropy_dispersion(p: Tensor) -> Tensor:
    r"""The negative entropy of a probability vector, normalised to
    :math:`[0, 1]`,

    .. math::
        D_{\mathrm{ent}}(\mathbf{p}) = 1 - \frac{H(\mathbf{p})}{\log n},
        \qquad H(\mathbf{p}) = -\sum_i p_i \log p_i,

    from the `"Mixture of Weak & Strong Experts on Graphs"
    <https://arxiv.org/abs/2311.05185>`_ paper (with :math:`0 \log 0 = 0`).

    Args:
        p (torch.Tensor): Probabilities, shape :obj:`[*, n]` (rows sum to 1).

    :rtype: :class:`torch.Tensor` of shape :obj:`[*]`, values in
        :math:`[0, 1]`.

    Example:
        >>> entropy_dispersion(torch.tensor([[0.25, 0.25, 0.25, 0.25],
        ...                                  [0.0, 1.0, 0.0, 0.0]]))
        tensor([0., 1.])
    """
    n = _check_probs(p)
    # 0 * log 0 = 0 via the clamp, with a finite gradient everywhere
    # (xlogy's is NaN at p = 0); equal to torch.special.xlogy(p, p) up to
    # rounding, and ~5x faster on CPU.
    tiny = torch.finfo(p.dtype).tiny
    h = -(p * p.clamp_min(tiny).log()).sum(dim=-1)
    return 1.0 - h / math.log(n)


DISPERSIONS: Dict[str, Callable[[Tensor], Tensor]] = {
    'variance': variance_dispersion,
    'entropy': entropy_dispersion,
}
