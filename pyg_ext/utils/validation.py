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
from typing import Any, Dict, Iterable, Optional, Sequence

import torch
from torch import Tensor

__all__ = ['check_int', 'check_float', 'check_probability', 'check_choice',
           'check_bool', 'check_tensor', 'check_finite', 'check_index',
           'check_edge_index', 'check_node_mask', 'check_same_device',
           'check_str', 'check_callable', 'check_generator', 'check_mask',
           'check_labels', 'check_edge_values', 'check_attrs', 'check_graph',
           'check_optim_args', 'check_engine_args',
           'check_inferred_num_nodes', 'check_model_input']


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
        raise ValueError(f"'{name}' must be a finite float, got {value!r}")
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
    r"""No NaN or infinite entry (one host read; the stored values of a
    sparse tensor)."""
    vals = value
    if value.layout == torch.sparse_coo:
        vals = value._values()
    elif value.layout != torch.strided:
        vals = value.values()
    if vals.is_floating_point() and vals.numel() and \
            not bool(torch.isfinite(vals).all()):
        n = int((~torch.isfinite(vals)).sum())
        raise ValueError(f"'{name}' has {n} NaN or infinite value(s)")
    return value


def check_index(name: str, value: Any, size: int,
                what: str = 'node', hint: str = '') -> Tensor:
    r"""An integer index tensor with every entry in :math:`[0, size)` (one
    host read); :obj:`hint` is appended to the bound in the message."""
    check_tensor(name, value, kind='int')
    if value.numel():
        lo, hi = torch.aminmax(value)
        lo, hi = int(lo), int(hi)
        if lo < 0 or hi >= size:
            raise ValueError(f"'{name}' must hold {what} ids in [0, {size})"
                             f"{hint}, got values in [{lo}, {hi}]")
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


# Entry-point helpers: argument groups and whole graphs ------------------
def check_str(name: str, value: Any, allow_none: bool = False
              ) -> Optional[str]:
    r"""A :class:`str`."""
    if value is None and allow_none:
        return None
    if not isinstance(value, str):
        raise TypeError(f"'{name}' must be a str"
                        f"{' or None' if allow_none else ''}, got "
                        f"{_got(value)}")
    return value


def check_callable(name: str, value: Any, allow_none: bool = False) -> Any:
    r"""A callable (or :obj:`None` with :obj:`allow_none`)."""
    if value is None and allow_none:
        return None
    if not callable(value):
        raise TypeError(f"'{name}' must be callable"
                        f"{' or None' if allow_none else ''}, got "
                        f"{_got(value)}")
    return value


def check_generator(name: str, value: Any, allow_none: bool = True
                    ) -> Optional[torch.Generator]:
    r"""A :class:`torch.Generator` (or :obj:`None`)."""
    if value is None and allow_none:
        return None
    if not isinstance(value, torch.Generator):
        raise TypeError(f"'{name}' must be a torch.Generator"
                        f"{' or None' if allow_none else ''}, got "
                        f"{_got(value)}")
    return value


def check_mask(name: str, value: Any, num_nodes: int,
               nonempty: bool = False) -> Tensor:
    r"""A 1-D boolean node mask of length :obj:`num_nodes` (a mask of
    another length or dtype is an error, never read as node ids); with
    :obj:`nonempty`, it must select a node (one host read)."""
    if not isinstance(value, Tensor) or value.dtype != torch.bool or \
            value.dim() != 1 or value.numel() != num_nodes:
        raise ValueError(f"'{name}' must be a bool tensor of shape "
                         f"[{num_nodes}] (it must be 1-D: select one split "
                         f"first), got {_got(value)}")
    if nonempty and not bool(value.any()):
        raise ValueError(f"'{name}' selects no node")
    return value


def check_labels(name: str, value: Any, num_nodes: int,
                 num_classes: Optional[int] = None,
                 where: Optional[Tensor] = None) -> Tensor:
    r"""Integer class labels of shape :obj:`[num_nodes]` with every label
    on the nodes of the bool mask :obj:`where` (default: all) in
    :math:`[0, num\_classes)` (only :math:`\ge 0` without
    :obj:`num_classes`); one host read."""
    check_tensor(name, value, kind='int')
    if value.dim() != 1 or value.numel() != num_nodes:
        raise ValueError(f"'{name}' must have shape [{num_nodes}] (one "
                         f"class label per node), got {tuple(value.shape)}")
    sel = value if where is None else value[where]
    if sel.numel():
        lo, hi = (int(v) for v in torch.aminmax(sel))
        top = num_classes if num_classes is not None else None
        if lo < 0 or (top is not None and hi >= top):
            rng = f'[0, {top})' if top is not None else '[0, inf)'
            on = '' if where is None else ' on the labelled nodes'
            raise ValueError(f"'{name}' must hold class labels in {rng}"
                             f"{on}, got values in [{lo}, {hi}]")
    return value


def check_edge_values(name: str, value: Any, num_edges: int,
                      nonnegative: bool = False) -> Tensor:
    r"""A per-edge tensor with :obj:`num_edges` rows and finite values (one
    host read); with :obj:`nonnegative`, no negative entry."""
    check_tensor(name, value, kind='number')
    if value.dim() == 0 or value.size(0) != num_edges:
        raise ValueError(f"'{name}' must have one row per edge "
                         f"({num_edges}), got shape {tuple(value.shape)}")
    check_finite(name, value)
    if nonnegative and value.numel() and bool((value < 0).any()):
        raise ValueError(f"'{name}' must be non-negative, got a minimum of "
                         f"{float(value.min())}")
    return value


def _attr(data: Any, name: str, key: str, what: str) -> Any:
    value = getattr(data, key, None)
    if value is None:
        raise ValueError(f"'{name}' has no '{key}' ('{name}.{key}': {what})")
    return value


def check_attrs(data: Any, keys: Dict[str, str], name: str = 'data') -> Any:
    r""":obj:`data` is a graph object (not :obj:`None`) holding every
    attribute of :obj:`keys` (a map attribute -> what it is, for the
    message); returns :obj:`data`."""
    if data is None or isinstance(data, (Tensor, str, int, float)):
        raise TypeError(f"'{name}' must be a graph (e.g. a torch_geometric "
                        f"Data), got {_got(data)}")
    for key, what in keys.items():
        _attr(data, name, key, what)
    return data


def check_graph(data: Any, name: str = 'data', *, edges: bool = True,
                labels: bool = False, masks: Sequence[str] = (),
                optional_masks: Sequence[str] = (),
                nonempty: Sequence[str] = (),
                num_classes: Optional[int] = None, min_nodes: int = 1,
                edge_attrs: Sequence[str] = ('edge_weight', 'edge_attr')
                ) -> int:
    r"""Checks a node-level graph once, at an entry point, and returns its
    number of nodes :math:`N`: :obj:`data` is not :obj:`None`; ``x`` is a
    2-D floating-point tensor with at least :obj:`min_nodes` rows and no
    NaN/inf; ``edge_index`` (with :obj:`edges`) is ``[2, E]`` with integer
    ids in :math:`[0, N)`; the present :obj:`edge_attrs` have :math:`E`
    finite rows; ``y`` (with :obj:`labels`) holds :math:`N` integer labels
    in :math:`[0, num\_classes)` on the nodes of the masks; every name of
    :obj:`masks` (required) and :obj:`optional_masks` (if present) is a
    bool :math:`[N]` mask, and those in :obj:`nonempty` select a node.
    Messages name the attribute (``'data.x'``)."""
    x = check_attrs(data, {'x': 'node features [N, F]'}, name).x
    check_tensor(f'{name}.x', x, kind='float', dim=2)
    N = x.size(0)
    if N < min_nodes:
        raise ValueError(f"'{name}.x' has {N} nodes; at least {min_nodes} "
                         f"needed (an empty graph)")
    check_finite(f'{name}.x', x)
    if edges:
        ei = _attr(data, name, 'edge_index', 'edges [2, E]')
        check_edge_index(f'{name}.edge_index', ei, N)
        for key in edge_attrs:
            val = getattr(data, key, None)
            if isinstance(val, Tensor):
                check_edge_values(f'{name}.{key}', val, ei.size(1))
    where = None
    for key in tuple(masks) + tuple(optional_masks):
        m = getattr(data, key, None)
        if m is None and key in optional_masks:
            continue
        m = _attr(data, name, key, 'a bool node mask [N]')
        check_mask(f'{name}.{key}', m, N, nonempty=key in nonempty)
        where = m if where is None else where | m
    if labels:
        y = _attr(data, name, 'y', 'class labels [N]')
        check_labels(f'{name}.y', y, N, num_classes, where)
    return N


def check_optim_args(lr: Any, weight_decay: Any, optimizer: Any,
                     choices: Iterable = ('adam', 'adamw', 'sgd'),
                     prefix: str = '') -> None:
    r"""The optimizer arguments of a ``fit_*`` entry point: a finite
    :obj:`lr` > 0, a finite :obj:`weight_decay` >= 0 and a known
    :obj:`optimizer` name."""
    check_float(f'{prefix}lr', lr, 0.0, low_open=True)
    check_float(f'{prefix}weight_decay', weight_decay, 0.0)
    check_choice(f'{prefix}optimizer', optimizer, choices)


def check_engine_args(*, checkpoint_every: Any = 10, progress: Any = True,
                      desc: Any = '', on_epoch: Any = None,
                      interrupt: Any = None, generator: Any = None) -> None:
    r"""The engine arguments every ``fit_*`` entry point shares."""
    check_int('checkpoint_every', checkpoint_every, 0)
    check_bool('progress', progress)
    check_str('desc', desc)
    check_callable('on_epoch', on_epoch, allow_none=True)
    check_callable('interrupt', interrupt, allow_none=True)
    check_generator('generator', generator)


def check_inferred_num_nodes(name: str, num_nodes: int,
                             bytes_per_node: int = 32,
                             limit: int = 2 * 1024**3) -> int:
    r"""A node count read off the largest id in :obj:`name` (no
    ``num_nodes`` given) whose per-node buffers stay under :obj:`limit`
    bytes: one stray huge id must not allocate gigabytes. Returns it."""
    need = num_nodes * bytes_per_node
    if need > limit:
        raise ValueError(f"'{name}' holds node id {num_nodes - 1} and no "
                         f"'num_nodes' was given: {num_nodes} nodes would "
                         f"need about {need / 1024**3:.1f} GiB; pass "
                         f"'num_nodes' if the graph has that many nodes")
    return num_nodes


def check_model_input(model: Any, x: Tensor, name: str = 'data.x') -> None:
    r"""Metadata: the features :obj:`x` have the floating-point dtype of the
    model's parameters and, where the model says (``in_channels > 0``), its
    number of input channels."""
    param = next((p for p in model.parameters() if p.is_floating_point()),
                 None)
    if param is not None and x.is_floating_point() and \
            x.dtype != param.dtype:
        raise TypeError(f"'{name}' is {x.dtype} but the model's parameters "
                        f"are {param.dtype}; cast one of them")
    f_in = getattr(model, 'in_channels', None)
    if isinstance(f_in, int) and not isinstance(f_in, bool) and f_in > 0 \
            and x.dim() == 2 and f_in != x.size(1):
        raise ValueError(f"'{name}' has {x.size(1)} features but the model "
                         f"has in_channels={f_in}")
