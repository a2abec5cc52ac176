r"""Global :math:`\ell_0`-ball projection of model parameters (magnitude
pruning) and an optimizer wrapper that projects after every step, as used for
the parameter sparsity of the `"TEDDY: Trimming Edges with Degree-based
Discrimination strategY" <https://arxiv.org/abs/2402.01261>`_ paper."""
import math
from typing import Callable, Dict, Iterable, List, Optional, Union

import torch
from torch import Tensor

from pyg_ext.utils.sparsify import check_sparsity
from pyg_ext.utils.validation import check_callable, check_float

__all__ = [
    'l0_keep_count',
    'project_l0_',
    'weight_sparsity',
    'L0ProjectedOptimizer',
]

ParamsOrModule = Union[torch.nn.Module, Iterable[Tensor]]
Include = Callable[[str, torch.nn.Parameter], bool]


def l0_keep_count(numel: int, sparsity: float, eps: float = 1e-9) -> int:
    r"""The number of entries kept by an :math:`\ell_0` projection to
    :obj:`sparsity`: :math:`n - \lceil p n - \epsilon \rceil`.

    The small :math:`\epsilon` guards against float round-off such as
    :math:`1 - (1 - 0.05) = 0.050000000000000044`, for which the official
    :math:`\lceil p n \rceil` zeroes one entry too many at :math:`n = 20`;
    :obj:`eps=0` gives the official count.

    Args:
        numel (int): The number of entries :math:`n`.
        sparsity (float): The fraction :math:`p \in [0, 1)` to zero.
        eps (float, optional): The round-off guard. (default: :obj:`1e-9`)

    Example:
        >>> l0_keep_count(20, 1 - (1 - 0.05))
        19
        >>> l0_keep_count(20, 1 - (1 - 0.05), eps=0.0)
        18
    """
    if isinstance(numel, bool) or not isinstance(numel, int) or numel < 0:
        raise ValueError(f"'numel' must be a non-negative int, got {numel!r}")
    sparsity = check_sparsity(sparsity)
    eps = check_float('eps', eps, 0.0)
    n_zero = max(0, math.ceil(sparsity * numel - eps))
    return numel - min(n_zero, numel)


def _collect(params_or_module: ParamsOrModule,
             include: Optional[Include] = None,
             name: str = 'params_or_module') -> List[Tensor]:
    check_callable('include', include, allow_none=True)
    if isinstance(params_or_module, torch.nn.Module):
        return [
            p for name, p in params_or_module.named_parameters()
            if p.requires_grad and (include is None or include(name, p))
        ]
    if include is not None:
        raise TypeError("'include' needs a torch.nn.Module (it is called with "
                        "parameter names), got an iterable of tensors")
    if isinstance(params_or_module, Tensor):
        return [params_or_module]
    if not hasattr(params_or_module, '__iter__') or \
            isinstance(params_or_module, (str, bytes)):
        raise TypeError(f"'{name}' must be a torch.nn.Module or an iterable "
                        f"of tensors, got "
                        f"{type(params_or_module).__name__}")
    params = list(params_or_module)
    for p in params:
        if not isinstance(p, Tensor):
            raise TypeError(f"'{name}' must be a torch.nn.Module or an "
                            f"iterable of tensors, got an item of type "
                            f"{type(p).__name__}")
    return params


@torch.no_grad()
def _project(params: List[Tensor], n_zero: int) -> List[Tensor]:
    r"""Zeroes the :obj:`n_zero` smallest-magnitude entries of
    :obj:`params` jointly (ties: first in (tensor, flat index) order), with
    no host synchronisation, on the parameters' device."""
    device = params[0].device
    flat = torch.cat([p.detach().abs().reshape(-1).float().to(device)
                      for p in params])
    if n_zero > 0:
        # Rank by (|theta|, flat index) with one int64 key per entry: the
        # bits of a non-negative float32 order like its value, and the low
        # 32 bits break ties by position. A selection, not a sort: O(n).
        key = (flat.view(torch.int32).to(torch.int64) << 32) | torch.arange(
            flat.numel(), device=device)
        keep = key > torch.kthvalue(key, n_zero).values
    else:
        keep = torch.ones_like(flat, dtype=torch.bool)
    masks, offset = [], 0
    for p in params:
        m = keep[offset:offset + p.numel()].view_as(p).to(p.device)
        offset += p.numel()
        p.masked_fill_(~m, 0.0)
        masks.append(m)
    return masks


@torch.no_grad()
def project_l0_(params_or_module: ParamsOrModule, sparsity: float, *,
                include: Optional[Include] = None,
                eps: float = 1e-9) -> List[Tensor]:
    r"""Projects parameters in place onto the :math:`\ell_0` ball
    :math:`\{\Theta : \|\Theta\|_0 \le K\}` with :math:`K =`
    :func:`l0_keep_count` :math:`(n_\Theta, p)`: the :math:`K` entries of
    largest magnitude over **all** tensors together (global, not per-tensor)
    are kept and the rest set to zero. Ties in magnitude are kept in order
    of (tensor, flat index). The projection is idempotent, runs on the
    parameters' device and reads no tensor value on the host.

    Args:
        params_or_module (torch.nn.Module or iterable of torch.Tensor): The
            parameters; for a module, every parameter with
            :obj:`requires_grad=True` (official TEDDY: biases, GIN's
            :math:`\epsilon` and GAT's attention vectors included).
        sparsity (float): The fraction :math:`p \in [0, 1)` to zero.
        include (callable, optional): ``include(name, param) -> bool`` to
            restrict the projected set (module input only), e.g.
            ``lambda n, p: p.dim() == 2`` for weight matrices as in UGS.
            (default: :obj:`None`)
        eps (float, optional): The count round-off guard of
            :func:`l0_keep_count`. (default: :obj:`1e-9`)

    Returns:
        The list of boolean keep-masks, one per projected tensor, each on its
        tensor's device.

    Example:
        >>> w = [torch.tensor([0.1, -3.0, 0.2]), torch.tensor([2.0, -0.05])]
        >>> masks = project_l0_(w, 0.6)
        >>> w
        [tensor([ 0., -3.,  0.]), tensor([2., 0.])]
    """
    params = _collect(params_or_module, include)
    sparsity = check_sparsity(sparsity)
    check_float('eps', eps, 0.0)
    if len(params) == 0:
        return []
    numel = sum(p.numel() for p in params)
    return _project(params, numel - l0_keep_count(numel, sparsity, eps))


@torch.no_grad()
def weight_sparsity(params_or_module: ParamsOrModule, *,
                    include: Optional[Include] = None) -> float:
    r"""The fraction of exactly-zero entries over all (selected) parameters.

    Example:
        >>> weight_sparsity([torch.tensor([0.0, 1.0, 0.0, 2.0])])
        0.5
    """
    params = _collect(params_or_module, include)
    numel = sum(p.numel() for p in params)
    if numel == 0:
        return 0.0
    device = params[0].device
    zeros = sum((p == 0).sum().to(device) for p in params)
    return int(zeros) / numel  # one host read


class L0ProjectedOptimizer:
    r"""Wraps any :class:`torch.optim.Optimizer` into projected gradient
    descent on the :math:`\ell_0` ball: after every inner :meth:`step`, the
    parameters are projected with :func:`project_l0_` (TEDDY's parameter
    sparsification, Sec. 5 of the `"TEDDY" <https://arxiv.org/abs/2402.01261>`_
    paper). The inner optimizer's state (e.g. Adam's moments) is neither
    masked nor reset, so a zeroed coordinate may regrow, as in the official
    code. :meth:`zero_grad`, :meth:`state_dict`, :meth:`load_state_dict` and
    :attr:`param_groups` delegate to the inner optimizer.

    Args:
        optimizer (torch.optim.Optimizer): The inner optimizer.
        params (torch.nn.Module or iterable of torch.Tensor): The parameters
            to project (a module selects its trainable parameters).
        sparsity (float): The target sparsity :math:`p \in [0, 1)`.
        include (callable, optional): See :func:`project_l0_`.
            (default: :obj:`None`)
        eps (float, optional): See :func:`l0_keep_count`.
            (default: :obj:`1e-9`)

    .. note::
        See `examples/teddy.py` for the whole TEDDY recipe.
    """
    def __init__(self, optimizer: torch.optim.Optimizer,
                 params: ParamsOrModule, sparsity: float, *,
                 include: Optional[Include] = None, eps: float = 1e-9):
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(f"'optimizer' must be a torch.optim.Optimizer, "
                            f"got {type(optimizer).__name__}")
        self.optimizer = optimizer
        self.params = _collect(params, include, 'params')
        self.sparsity = check_sparsity(sparsity)
        self.eps = check_float('eps', eps, 0.0)
        # Checked and counted once here: a step reads nothing on the host.
        numel = sum(p.numel() for p in self.params)
        self.num_zero = numel - l0_keep_count(numel, self.sparsity, eps)
        self.masks: Optional[List[Tensor]] = None

    def step(self, closure=None):
        loss = self.optimizer.step(closure)
        if self.sparsity > 0:
            self.project()
        return loss

    def project(self) -> List[Tensor]:
        r"""Projects the parameters now (e.g. before the first step)."""
        self.masks = _project(self.params, self.num_zero) \
            if self.params else []
        return self.masks

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.optimizer.zero_grad(set_to_none=set_to_none)

    @property
    def param_groups(self) -> List[Dict]:
        return self.optimizer.param_groups

    @property
    def state(self):
        return self.optimizer.state

    def state_dict(self) -> Dict:
        return self.optimizer.state_dict()

    def load_state_dict(self, state_dict: Dict) -> None:
        self.optimizer.load_state_dict(state_dict)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}('
                f'{self.optimizer.__class__.__name__}, '
                f'sparsity={self.sparsity})')
