r"""Argument checks shared by every entry point of the package.

Each check raises :class:`ValueError` or :class:`TypeError` whose message
names the argument, says what was expected and what was got, and returns
the (converted) value on success. Scalar checks never read a tensor; the
tensor *value* checks (:func:`check_index`, :func:`check_edge_index`,
:func:`check_finite`) read the tensor once on the host and belong at
data-setup time in entry points, never in a training step.

Example:
    >>> check_int('k', 3, low=1)
    3
    >>> check_float('eps', 0.5, low=0.0, high=1.0, low_open=True)
    0.5
    >>> import torch
    >>> check_edge_index('edge_index', torch.tensor([[0, 1], [1, 0]]), 2).shape
    torch.Size([2, 2])
"""
import math
from typing import Any, Iterable, Optional, Sequence

import torch
from torch import Tensor

__all__ = ['check_int', 'check_float', 'check_probability', 'check_choice',
           'check_bool', 'check_tensor', 'check_finite', 'check_index',
           'check_edge_index', 'check_node_mask', 'check_same_device']


def _got(value: Any) -> str:
    if isinstance(value, Tensor):
        return f'a {value.dtype} tensor of shape {tuple(value.shape)}'
    return f'{type(value).__name__} {value!r}'


def check_int(name: str, value: Any, low: Optional[int] = None,
              high: Optional[int] = None, allow_none: bool = False
              ) -> Optional[int]:
    r"""An :class:`int` (not a bool, not a float) in ``[low, high]``."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, Tensor) and value.dim() == 0 and \
                not value.is_floating_point() and value.dtype != torch.bool:
            value = int(value)
        else:
            raise TypeError(f"'{name}' must be an int"
                            f"{' or None' if allow_none else ''}, got "
                            f"{_got(value)}")
    if (low is not None and value < low) or (high is not None and
                                             value > high):
        rng = (f'>= {low}' if high is None else f'<= {high}' if low is None
               else f'in [{low}, {high}]')
        raise ValueError(f"'{name}' must be an int {rng}, got {value!r}")
    return int(value)


def check_float(name: str, value: Any, low: Optional[float] = None,
                high: Optional[float] = None, low_open: bool = False,
                high_open: bool = False, allow_none: bool = False
                ) -> Optional[float]:
    r"""A finite real number (int or float, not a bool) in the interval
    given by :obj:`low`/:obj:`high` (open ends with :obj:`low_open` /
    :obj:`high_open`)."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        if isinstance(value, Tensor) and value.dim() == 0 and \
                value.dtype != torch.bool:
            value = float(value)
        else:
            raise TypeError(f"'{name}' must be a float"
                            f"{' or None' if allow_none else ''}, got "
                            f"{_got(value)}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"'{name}' must be finite, got {value!r}")
    bad = ((low is not None and (value <= low if low_open else value < low))
           or (high is not None and (value >= high if high_open else
                                     value > high)))
    if bad:
        lo = '(' if low_open else '['
        hi = ')' if high_open else ']'
        rng = (f"in {lo}{'-inf' if low is None else low}, "
               f"{'inf' if high is None else high}{hi}")
        raise ValueError(f"'{name}' must be {rng}, got {value!r}")
    return value


def check_probability(name: str, value: Any, allow_none: bool = False
                      ) -> Optional[float]:
    r"""A float in :math:`[0, 1]`."""
    return check_float(name, value, 0.0, 1.0, allow_none=allow_none)


def check_bool(name: str, value: Any) -> bool:
    r"""A :class:`bool` (not 0/1, not a string)."""
    if not isinstance(value, bool):
        raise TypeError(f"'{name}' must be a bool, got {_got(value)}")
    return value


def check_choice(name: str, value: Any, choices: Iterable) -> Any:
    r"""One of :obj:`choices`."""
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"'{name}' must be one of {choices}, got "
                         f"{value!r}")
    return value


def check_tensor(name: str, value: Any, *, kind: Optional[str] = None,
                 dim: Optional[int] = None,
                 shape: Optional[Sequence[Optional[int]]] = None,
                 allow_none: bool = False) -> Optional[Tensor]:
    r"""Metadata only (no host read): a tensor of dtype :obj:`kind`
    (``'int'``, ``'float'``, ``'bool'``, or ``'number'`` for int or
    float), with :obj:`dim` dimensions or :obj:`shape` (``None`` entries are
    free)."""
    if value is None and allow_none:
        return None
    if not isinstance(value, Tensor):
        raise TypeError(f"'{name}' must be a tensor, got {_got(value)}")
    dt = value.dtype
    ok = {'int': not dt.is_floating_point and not dt.is_complex
          and dt != torch.bool,
          'float': dt.is_floating_point,
          'bool': dt == torch.bool,
          'number': dt != torch.bool and not dt.is_complex,
          None: True}
    if kind not in ok:
        raise ValueError(f"unknown kind {kind!r}")
    if not ok[kind]:
        want = {'int': 'an integer', 'float': 'a floating-point',
                'bool': 'a bool', 'number': 'an integer or float'}[kind]
        raise TypeError(f"'{name}' must be {want} tensor, got "
                        f"{_got(value)}")
    if shape is not None:
        dim = len(shape)
    if dim is not None and value.dim() != dim:
        raise ValueError(f"'{name}' must have {dim} dimension(s), got "
                         f"shape {tuple(value.shape)}")
    if shape is not None:
        for want, got in zip(shape, value.shape):
            if want is not None and want != got:
                exp = ', '.join('*' if s is None else str(s) for s in shape)
                raise ValueError(f"'{name}' must have shape ({exp}), got "
                                 f"{tuple(value.shape)}")
    return value


def check_finite(name: str, value: Tensor) -> Tensor:
    r"""No NaN or infinite entry (one host read)."""
    if value.is_floating_point() and value.numel() and \
            not bool(torch.isfinite(value).all()):
        n = int((~torch.isfinite(value)).sum())
        raise ValueError(f"'{name}' has {n} NaN or infinite value(s)")
    return value


def check_index(name: str, value: Any, size: int,
                what: str = 'node') -> Tensor:
    r"""An integer index tensor with every entry in :math:`[0, size)` (one
    host read)."""
    check_tensor(name, value, kind='int')
    if value.numel():
        lo, hi = torch.aminmax(value)
        lo, hi = int(lo), int(hi)
        if lo < 0 or hi >= size:
            raise ValueError(f"'{name}' must hold {what} ids in [0, {size}),"
                             f" got values in [{lo}, {hi}]")
    return value


def check_edge_index(name: str, value: Any, num_nodes: int) -> Tensor:
    r"""A :obj:`[2, E]` integer tensor of node ids in
    :math:`[0, num\_nodes)`; an :obj:`[E, 2]` tensor gets a hint."""
    check_tensor(name, value, kind='int')
    if value.dim() != 2 or value.size(0) != 2:
        hint = (' (it looks like [E, 2]: pass edge_index.t())'
                if value.dim() == 2 and value.size(1) == 2 else '')
        raise ValueError(f"'{name}' must have shape [2, E], got "
                         f"{tuple(value.shape)}{hint}")
    return check_index(name, value, num_nodes)


def check_node_mask(name: str, value: Any, num_nodes: int) -> Tensor:
    r"""A boolean mask of length :obj:`num_nodes`, or an integer index of
    nodes (returned as given). A bool mask of another length is an error,
    never read as node ids."""
    if isinstance(value, Tensor) and value.dtype == torch.bool:
        if value.dim() != 1 or value.numel() != num_nodes:
            raise ValueError(f"'{name}' is a bool mask of shape "
                             f"{tuple(value.shape)}; expected [{num_nodes}]")
        return value
    check_tensor(name, value, kind='int', dim=1)
    return check_index(name, value, num_nodes)


def check_same_device(**tensors: Optional[Tensor]) -> None:
    r"""Every given tensor on one device (the message names them)."""
    items = [(k, t) for k, t in tensors.items() if isinstance(t, Tensor)]
    if not items:
        return
    k0, t0 = items[0]
    for k, t in items[1:]:
        if t.device != t0.device:
            raise ValueError(f"'{k}' is on {t.device} but '{k0}' is on "
                             f"{t0.device}")
