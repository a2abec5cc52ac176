r"""The maths of a mixture of a weak and a strong expert, as pure tensor
functions: dispersion features of the weak expert's prediction, the mixed
prediction, the two training losses and the exact expected accuracy of the
random routing.

From the `"Mixture of Weak & Strong Experts on Graphs"
<https://arxiv.org/abs/2311.05185>`_ paper (Zeng et al., ICLR 2024; official
code: `facebookresearch/mowst-gnn
<https://github.com/facebookresearch/mowst-gnn>`_), where a weak expert
(an MLP) predicts :math:`\mathbf{p}_v`, a strong expert (a GNN) predicts
:math:`\mathbf{p}'_v`, and the confidence :math:`C_v = G(D(\mathbf{p}_v))
\in [0, 1]` decides between them. :class:`pyg_ext.nn.models.Mowst` is the
model built on these functions.

Every function checks metadata only (dtype, dim, sizes) and reads no value
back to the host, except :func:`expected_accuracy`, which returns a 0-dim
tensor so that the caller decides when to read it.
"""
from typing import Sequence, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from pyg_ext.utils.dispersion import DISPERSIONS
from pyg_ext.utils.validation import check_tensor

__all__ = [
    'dispersion_features',
    'mixture_log_probs',
    'mowst_loss',
    'mowst_star_loss',
    'expected_accuracy',
]

MIXES = ('prob', 'logit')
REDUCTIONS = ('mean', 'sum', 'none')


def _reduce(per_node: Tensor, reduction: str) -> Tensor:
    if reduction == 'none':
        return per_node
    return per_node.sum() if reduction == 'sum' else per_node.mean()


def _check_reduction(reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"'reduction' must be one of {REDUCTIONS}, got "
                         f"{reduction!r}")


def _check_pair(weak_logits: Tensor, strong_logits: Tensor,
                conf: Tensor) -> None:
    check_tensor('weak_logits', weak_logits, kind='float')
    check_tensor('strong_logits', strong_logits, kind='float')
    check_tensor('conf', conf, kind='float')
    if weak_logits.dim() != 2 or weak_logits.shape != strong_logits.shape:
        raise ValueError(f"'weak_logits' and 'strong_logits' must both be "
                         f"[N, C], got {tuple(weak_logits.shape)} and "
                         f"{tuple(strong_logits.shape)}")
    if conf.dim() != 1 or conf.size(0) != weak_logits.size(0):
        raise ValueError(f"'conf' must be [N] with N={weak_logits.size(0)}, "
                         f"got {tuple(conf.shape)}")


def _check_target(target: Tensor, n: int) -> None:
    check_tensor('target', target, kind='int')
    if target.dim() != 1 or target.size(0) != n:
        raise ValueError(f"'target' must hold {n} class labels [N], got "
                         f"shape {tuple(target.shape)}")


def dispersion_features(logits: Tensor,
                        dispersion: Union[str, Sequence[str]] = (
                            'variance', 'entropy'),
                        double_softmax: bool = False) -> Tensor:
    r"""The dispersions :math:`D(\mathbf{p})` of
    :math:`\mathbf{p} = \mathrm{softmax}(\mathbf{z})`, one column per name,
    each in :math:`[0, 1]` (0 for uniform, 1 for one-hot): the input of
    Mowst's confidence gate :math:`C = G(D(\mathbf{p}))`.

    Args:
        logits (torch.Tensor): Weak expert logits :math:`\mathbf{z}`
            :obj:`[N, C]`.
        dispersion (str or tuple of str, optional): Names from
            :obj:`'variance'` (:func:`~pyg_ext.utils.variance_dispersion`) and
            :obj:`'entropy'` (:func:`~pyg_ext.utils.entropy_dispersion`).
            (default: :obj:`('variance', 'entropy')`)
        double_softmax (bool, optional): Use
            :math:`\mathrm{softmax}(\mathrm{softmax}(\mathbf{z}))`, as the
            official Mowst* test code does (only for exact reproduction).
            (default: :obj:`False`)

    :rtype: :class:`torch.Tensor` of shape :obj:`[N, k]`.

    Example:
        >>> z = torch.tensor([[0.0, 0.0], [100.0, 0.0]])
        >>> dispersion_features(z).tolist()
        [[0.0, 0.0], [1.0, 1.0]]
    """
    check_tensor('logits', logits, kind='float')
    names = (dispersion, ) if isinstance(dispersion, str) else \
        tuple(dispersion)
    if len(names) == 0:
        raise ValueError("'dispersion' must name at least one dispersion")
    for name in names:
        if name not in DISPERSIONS:
            raise ValueError(f"unknown dispersion {name!r}; expected one of "
                             f"{tuple(DISPERSIONS)}")
    p = logits.softmax(dim=-1)
    if double_softmax:
        p = p.softmax(dim=-1)
    d = torch.stack([DISPERSIONS[name](p) for name in names], dim=-1)
    # Round-off can leave tiny negatives for near-uniform p.
    return d.clamp(0.0, 1.0)


def mixture_log_probs(weak_logits: Tensor, strong_logits: Tensor,
                      conf: Tensor, mix: str = 'prob') -> Tensor:
    r"""Log-probabilities of the mixed prediction :obj:`[N, C]`,

    .. math::
        \log\left(C_v\,\mathbf{p}_v + (1 - C_v)\,\mathbf{p}'_v\right)
        \quad (\text{mix}=\texttt{'prob'}), \qquad
        \log\mathrm{softmax}\left(C_v\,\mathbf{z}_v + (1 - C_v)\,
        \mathbf{z}'_v\right) \quad (\text{mix}=\texttt{'logit'}).

    :obj:`'prob'` is the predictive distribution of Mowst's random routing
    and Mowst*'s output (paper Eq. 3); :obj:`'logit'` is how the official
    code trains Mowst*. The :obj:`'prob'` form is evaluated stably in log
    space (:math:`C_v \in \{0, 1\}` is fine).

    Args:
        weak_logits (torch.Tensor): :math:`\mathbf{z}` :obj:`[N, C]`.
        strong_logits (torch.Tensor): :math:`\mathbf{z}'` :obj:`[N, C]`.
        conf (torch.Tensor): :math:`C` :obj:`[N]` in :math:`[0, 1]`.
        mix (str, optional): :obj:`'prob'` or :obj:`'logit'`.
            (default: :obj:`'prob'`)

    Example:
        >>> w, s = torch.tensor([[2.0, 0.0]]), torch.tensor([[0.0, 2.0]])
        >>> mixture_log_probs(w, s, torch.tensor([0.5])).exp()
        tensor([[0.5000, 0.5000]])
    """
    if mix not in MIXES:
        raise ValueError(f"'mix' must be one of {MIXES}, got {mix!r}")
    _check_pair(weak_logits, strong_logits, conf)
    c = conf.unsqueeze(-1)
    if mix == 'logit':
        return (c * weak_logits + (1 - c) * strong_logits).log_softmax(-1)
    # log(0) = -inf is harmless inside logsumexp.
    a = torch.log(c) + weak_logits.log_softmax(-1)
    b = torch.log1p(-c) + strong_logits.log_softmax(-1)
    return torch.logsumexp(torch.stack([a, b], dim=0), dim=0)


def mowst_loss(weak_logits: Tensor, strong_logits: Tensor, conf: Tensor,
               target: Tensor, reduction: str = 'mean') -> Tensor:
    r"""The Mowst loss (paper Eq. 1): the expected cross-entropy of the
    random routing that uses the weak expert with probability :math:`C_v`,

    .. math::
        \mathcal{L} = \frac{1}{|\mathcal{V}|}\sum_{v \in \mathcal{V}}
        C_v\,\ell(\mathbf{p}_v, y_v) + (1 - C_v)\,\ell(\mathbf{p}'_v, y_v).

    Its gradient in :math:`C_v` is :math:`(\ell(\mathbf{p}_v, y_v) -
    \ell(\mathbf{p}'_v, y_v)) / |\mathcal{V}|`.

    Args:
        weak_logits (torch.Tensor): :obj:`[N, C]`.
        strong_logits (torch.Tensor): :obj:`[N, C]`.
        conf (torch.Tensor): :obj:`[N]`.
        target (torch.Tensor): Class labels :obj:`[N]`.
        reduction (str, optional): :obj:`'mean'`, :obj:`'sum'` or
            :obj:`'none'`. (default: :obj:`'mean'`)

    Example:
        >>> w, s = torch.tensor([[9.0, 0.0]]), torch.tensor([[0.0, 9.0]])
        >>> mowst_loss(w, s, torch.tensor([1.0]), torch.tensor([0])) < 1e-3
        tensor(True)
    """
    _check_reduction(reduction)
    _check_pair(weak_logits, strong_logits, conf)
    _check_target(target, weak_logits.size(0))
    lw = F.cross_entropy(weak_logits, target, reduction='none')
    ls = F.cross_entropy(strong_logits, target, reduction='none')
    return _reduce(conf * lw + (1 - conf) * ls, reduction)


def mowst_star_loss(weak_logits: Tensor, strong_logits: Tensor,
                    conf: Tensor, target: Tensor, mix: str = 'prob',
                    reduction: str = 'mean') -> Tensor:
    r"""The Mowst* loss (paper Eq. 3): the negative log-likelihood of the
    mixture :func:`mixture_log_probs`. For :obj:`mix='prob'` it is a lower
    bound of :func:`mowst_loss`, node by node (Jensen; paper Prop. 2.5).

    Args:
        weak_logits (torch.Tensor): :obj:`[N, C]`.
        strong_logits (torch.Tensor): :obj:`[N, C]`.
        conf (torch.Tensor): :obj:`[N]`.
        target (torch.Tensor): Class labels :obj:`[N]`.
        mix (str, optional): :obj:`'prob'` or :obj:`'logit'`.
            (default: :obj:`'prob'`)
        reduction (str, optional): :obj:`'mean'`, :obj:`'sum'` or
            :obj:`'none'`. (default: :obj:`'mean'`)

    Example:
        >>> w, s = torch.tensor([[9.0, 0.0]]), torch.tensor([[0.0, 9.0]])
        >>> mowst_star_loss(w, s, torch.tensor([0.5]), torch.tensor([0]))
        tensor(0.6931)
    """
    _check_reduction(reduction)
    log_probs = mixture_log_probs(weak_logits, strong_logits, conf, mix)
    _check_target(target, log_probs.size(0))
    return F.nll_loss(log_probs, target, reduction=reduction)


def expected_accuracy(conf: Tensor, weak_correct: Tensor,
                      strong_correct: Tensor) -> Tensor:
    r"""The exact expected accuracy of the random routing (paper Algorithm 1,
    weak expert with probability :math:`C_v`),

    .. math::
        \frac{1}{N}\sum_v C_v\,\mathbb{1}[\text{weak correct}_v] +
        (1 - C_v)\,\mathbb{1}[\text{strong correct}_v],

    in double precision; :obj:`NaN` for no nodes. The official code estimates
    the same quantity by 50 Monte-Carlo draws.

    Args:
        conf (torch.Tensor): :obj:`[N]`.
        weak_correct (torch.Tensor): Whether the weak expert is right
            :obj:`[N]` (boolean or 0/1).
        strong_correct (torch.Tensor): Same for the strong expert :obj:`[N]`.

    :rtype: 0-dim :class:`torch.Tensor` (:obj:`torch.float64`) on the
        inputs' device.

    Example:
        >>> expected_accuracy(torch.tensor([1.0, 0.25]),
        ...                   torch.tensor([True, True]),
        ...                   torch.tensor([False, False]))
        tensor(0.6250, dtype=torch.float64)
    """
    check_tensor('conf', conf, kind='float')
    check_tensor('weak_correct', weak_correct)
    check_tensor('strong_correct', strong_correct)
    if not (conf.shape == weak_correct.shape == strong_correct.shape) or \
            conf.dim() != 1:
        raise ValueError(f"'conf', 'weak_correct' and 'strong_correct' must "
                         f"all be [N], got {tuple(conf.shape)}, "
                         f"{tuple(weak_correct.shape)} and "
                         f"{tuple(strong_correct.shape)}")
    conf = conf.double()
    val = conf * weak_correct.double() + (1 - conf) * strong_correct.double()
    return val.mean()
