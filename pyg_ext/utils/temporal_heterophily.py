r"""Temporal edge heterophily of an event stream (THeGCN, arXiv 2412.16435)."""
import math
from typing import NamedTuple, Optional, Union

import torch
from torch import Tensor

from pyg_ext.utils.validation import (check_bool, check_inferred_num_nodes,
                                      check_int)

__all__ = [
    'LabelEvents',
    'check_event_stream',
    'label_at',
    'temporal_edge_heterophily',
]


class LabelEvents(NamedTuple):
    r"""A label timeline: node :obj:`node[k]` has label :obj:`y[k]` from time
    :obj:`time[k]` on, until its next entry. The label of node :math:`w` at
    time :math:`s` is the last entry of :math:`w` with time :math:`\le s`
    (undefined before its first entry).

    Args:
        node (torch.Tensor): Node ids :math:`[K]`.
        time (torch.Tensor): Times :math:`[K]` (any order).
        y (torch.Tensor): Integer labels :math:`[K]`.
    """
    node: Tensor
    time: Tensor
    y: Tensor


def _as_1d(name: str, value, dtype_kind: Optional[str] = None) -> Tensor:
    if not isinstance(value, Tensor):
        raise TypeError(f"'{name}' must be a torch.Tensor, got "
                        f"{type(value).__name__}")
    if value.dim() != 1:
        raise ValueError(f"'{name}' must be one-dimensional, got shape "
                         f"{tuple(value.shape)}")
    if dtype_kind == 'int' and (value.is_floating_point()
                                or value.is_complex()
                                or value.dtype == torch.bool):
        raise TypeError(f"'{name}' must be an integer tensor, got "
                        f"{value.dtype}")
    if dtype_kind == 'real' and (value.is_complex()
                                 or value.dtype == torch.bool):
        raise TypeError(f"'{name}' must be a real (int or float) tensor, got"
                        f" {value.dtype}")
    return value


def check_event_stream(src: Tensor, dst: Tensor, t: Tensor,
                       num_nodes: Optional[int] = None,
                       require_sorted: bool = True) -> int:
    r"""Validates an event stream and returns the number of nodes.

    Raises a :class:`ValueError` or :class:`TypeError` naming the argument for
    length mismatches, non-integer ids, negative or out-of-range ids, negative
    or NaN times and (with :obj:`require_sorted`) times that are not sorted
    in non-decreasing order.
    """
    src = _as_1d('src', src, 'int')
    dst = _as_1d('dst', dst, 'int')
    t = _as_1d('t', t, 'real')
    if not (src.numel() == dst.numel() == t.numel()):
        raise ValueError(f"'src', 'dst' and 't' must have the same length, "
                         f"got {src.numel()}, {dst.numel()} and {t.numel()}")
    if t.is_floating_point() and not bool(torch.isfinite(t).all()):
        raise ValueError("'t' contains NaN or infinite times")
    if t.numel() > 0 and bool((t < 0).any()):
        raise ValueError(f"'t' must be non-negative, got a minimum of "
                         f"{t.min().item()}")
    if require_sorted and t.numel() > 1 and bool((t[1:] < t[:-1]).any()):
        pos = int((t[1:] < t[:-1]).nonzero()[0]) + 1
        raise ValueError(f"'t' must be sorted in non-decreasing order (event "
                         f"{pos} has t={t[pos].item()} < "
                         f"t={t[pos - 1].item()} of event {pos - 1}); sort the"
                         f" stream by time first")
    max_id = -1
    if src.numel() > 0:
        lo = min(int(src.min()), int(dst.min()))
        if lo < 0:
            raise ValueError(f"node ids in 'src'/'dst' must be non-negative, "
                             f"got {lo}")
        max_id = max(int(src.max()), int(dst.max()))
    if num_nodes is None:
        return check_inferred_num_nodes("src'/'dst", max_id + 1)
    check_int('num_nodes', num_nodes, 0)
    if max_id >= num_nodes:
        raise ValueError(f"node id {max_id} in 'src'/'dst' is out of range "
                         f"for 'num_nodes' = {num_nodes}")
    return num_nodes


def _check_label_events(label_events) -> LabelEvents:
    if not isinstance(label_events, (tuple, list)) or \
            len(label_events) != 3:
        got = type(label_events).__name__
        if isinstance(label_events, (tuple, list)):
            got += f' of length {len(label_events)}'
        raise TypeError(f"'label_events' must be a LabelEvents (node, time, "
                        f"y) or a 3-tuple of tensors, got {got}")
    ev = LabelEvents(*label_events)
    node = _as_1d('label_events.node', ev.node, 'int')
    time = _as_1d('label_events.time', ev.time, 'real')
    _as_1d('label_events.y', ev.y, 'int')
    if not (node.numel() == time.numel() == ev.y.numel()):
        raise ValueError(f"'label_events' fields must have the same length, "
                         f"got {node.numel()}, {time.numel()} and "
                         f"{ev.y.numel()}")
    if node.numel() and int(node.min()) < 0:
        raise ValueError(f"'label_events.node' must hold node ids >= 0, got "
                         f"{int(node.min())}")
    if time.is_floating_point() and not bool(torch.isfinite(time).all()):
        raise ValueError("'label_events.time' contains NaN or infinite "
                         "times")
    return ev


def label_at(label_events: LabelEvents, node: Tensor, time: Tensor,
             num_nodes: Optional[int] = None) -> Tensor:
    r"""Reads the label of every :obj:`node[k]` at :obj:`time[k]` from a
    label timeline (the last entry with time :math:`\le` the query time);
    ``-1`` where the node has no entry yet."""
    ln, lt, ly = (label_events.node.long(), label_events.time,
                  label_events.y.long())
    if not (ln.numel() == lt.numel() == ly.numel()):
        raise ValueError(f"'label_events' fields must have the same length, "
                         f"got {ln.numel()}, {lt.numel()} and {ly.numel()}")
    # Sort the timeline by (node, time) through dense time ranks so a single
    # searchsorted over combined integer keys answers every query.
    times = torch.cat([lt.double(), time.double()])
    uniq, inv = torch.unique(times, sorted=True, return_inverse=True)
    lrank, qrank = inv[:ln.numel()], inv[ln.numel():]
    base = uniq.numel() + 1
    key = ln * base + lrank
    key, perm = torch.sort(key, stable=True)
    ly = ly[perm]
    qkey = node.long() * base + qrank
    pos = torch.searchsorted(key, qkey, right=True) - 1
    out = torch.full((node.numel(), ), -1, dtype=torch.long)
    ok = pos >= 0
    same = torch.zeros_like(ok)
    same[ok] = (key[pos[ok]] // base) == node.long()[ok]
    out[same] = ly[pos[same]]
    return out


def temporal_edge_heterophily(
    src: Tensor,
    dst: Tensor,
    t: Tensor,
    y: Optional[Tensor] = None,
    *,
    label_events: Optional[Union[LabelEvents, tuple]] = None,
    t_start: float = -math.inf,
    t_end: float = math.inf,
    node: Optional[Tensor] = None,
    reduction: str = 'node',
    neighbor_label_at: str = 'event',
    undirected: bool = True,
    num_nodes: Optional[int] = None,
) -> Tensor:
    r"""The temporal edge heterophily of an event stream, following the
    `"THeGCN: Temporal Heterophilic Graph Convolutional Network"
    <https://arxiv.org/abs/2412.16435>`_ paper (equations reconstructed, see
    ``docs/thegcn.md``):

    .. math::
        H(t_1, t_2, v) = \frac{1}{|\mathcal{E}_v|}
        \sum_{(u, v, t) \in \mathcal{E}_v}
        \mathbb{1}\left[ y_u(\tau) \neq y_v(t_2) \right],

    where :math:`\mathcal{E}_v` is the multi-set of events in the window
    :math:`[t_1, t_2)` that touch :math:`v` (with :obj:`undirected`; else only
    events with :math:`v` as destination), :math:`\tau = t` (the event time,
    :obj:`neighbor_label_at="event"`) or :math:`\tau = t_2`
    (:obj:`"query"`), and :math:`y_w(s)` is the last label of :math:`w` at or
    before :math:`s`. Repeated events count with multiplicity.

    With static labels and the full window, :obj:`reduction="edge"` equals
    :math:`1 -` :func:`torch_geometric.utils.homophily` (:obj:`method="edge"`)
    on the event list.

    Args:
        src (torch.Tensor): Source node of each event :math:`[E]`.
        dst (torch.Tensor): Destination node of each event :math:`[E]`.
        t (torch.Tensor): Event times :math:`[E]` (non-negative, any order).
        y (torch.Tensor, optional): Static node labels :math:`[N]`; negative
            entries mean "unlabelled". (default: :obj:`None`)
        label_events (LabelEvents, optional): A label timeline instead of
            :obj:`y`. (default: :obj:`None`)
        t_start (float, optional): Window start (inclusive).
            (default: :obj:`-inf`)
        t_end (float, optional): Window end (exclusive); the target's label
            is read here. With a timeline and an infinite :obj:`t_end`, the
            latest label is used. (default: :obj:`inf`)
        node (torch.Tensor, optional): Restrict the output/mean to these
            nodes. (default: :obj:`None`)
        reduction (str, optional): :obj:`"none"` (a value per node, NaN
            where undefined), :obj:`"node"` (nan-mean over nodes) or
            :obj:`"edge"` (fraction of in-window (target, neighbour) event
            pairs whose labels differ, pooled over targets).
            (default: :obj:`"node"`)
        neighbor_label_at (str, optional): :obj:`"event"` or
            :obj:`"query"`. (default: :obj:`"event"`)
        undirected (bool, optional): Count an event for both endpoints.
            (default: :obj:`True`)
        num_nodes (int, optional): The number of nodes. (default:
            :obj:`None`)

    Example:
        >>> src = torch.tensor([0, 0, 1])
        >>> dst = torch.tensor([1, 2, 2])
        >>> t = torch.tensor([1., 2., 3.])
        >>> y = torch.tensor([0, 1, 1])
        >>> temporal_edge_heterophily(src, dst, t, y, reduction='edge')
        tensor(0.6667)
        >>> temporal_edge_heterophily(src, dst, t, y, reduction='none')
        tensor([1.0000, 0.5000, 0.5000])
    """
    if reduction not in ('none', 'node', 'edge'):
        raise ValueError(f"'reduction' must be 'none', 'node' or 'edge', got "
                         f"{reduction!r}")
    if neighbor_label_at not in ('event', 'query'):
        raise ValueError(f"'neighbor_label_at' must be 'event' or 'query', "
                         f"got {neighbor_label_at!r}")
    if (y is None) == (label_events is None):
        raise ValueError("pass exactly one of 'y' (static labels) and "
                         "'label_events' (a label timeline)")
    for name, v in (('t_start', t_start), ('t_end', t_end)):
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            raise TypeError(f"'{name}' must be a number, got "
                            f"{type(v).__name__}")
        if math.isnan(v):
            raise ValueError(f"'{name}' must be a number or +-inf, got nan")
    check_bool('undirected', undirected)
    if t_start > t_end:
        raise ValueError(f"'t_start' ({t_start}) must be <= 't_end' "
                         f"({t_end})")
    given = num_nodes is not None
    num_nodes = check_event_stream(src, dst, t, num_nodes,
                                   require_sorted=False)
    if y is not None:
        y = _as_1d('y', y, 'int')
        if y.numel() < num_nodes:
            raise ValueError(f"'y' has {y.numel()} entries but the stream has"
                             f" node ids up to {num_nodes - 1}")
        num_nodes = max(num_nodes, y.numel())
    else:
        label_events = _check_label_events(label_events)
        if label_events.node.numel():
            top = int(label_events.node.max()) + 1
            if given and top > num_nodes:
                raise ValueError(f"'label_events.node' holds node id "
                                 f"{top - 1}, out of range for "
                                 f"num_nodes={num_nodes}")
            num_nodes = max(num_nodes, check_inferred_num_nodes(
                'label_events.node', top))

    src, dst = src.long(), dst.long()
    mask = (t >= t_start) & (t < t_end)
    src, dst, tw = src[mask], dst[mask], t[mask]

    def lab(nodes: Tensor, times: Optional[Tensor]) -> Tensor:
        if y is not None:
            return y.long()[nodes]
        if times is None:  # at the query time t_end
            q = torch.full((nodes.numel(), ), float(t_end),
                           dtype=torch.float64)
            if math.isinf(t_end):
                q.fill_(float(label_events.time.max()) if
                        label_events.time.numel() else 0.0)
            times = q
        return label_at(label_events, nodes, times, num_nodes)

    if undirected:
        tgt = torch.cat([dst, src])
        nbr = torch.cat([src, dst])
        te = torch.cat([tw, tw])
    else:
        tgt, nbr, te = dst, src, tw
    y_tgt = lab(tgt, None)  # the target's label is read at t_end
    y_nbr = lab(nbr, te if neighbor_label_at == 'event' else None)

    ok = (y_tgt >= 0) & (y_nbr >= 0)
    diff = (y_tgt != y_nbr) & ok
    cnt = torch.zeros(num_nodes).index_add_(0, tgt[ok], torch.ones(
        int(ok.sum())))
    num = torch.zeros(num_nodes).index_add_(0, tgt, diff.float())
    out = num / cnt  # NaN where there is no in-window labelled event
    if node is not None:
        node = _as_1d('node', node, 'int')
        if node.numel() and (int(node.min()) < 0
                             or int(node.max()) >= num_nodes):
            raise ValueError(f"'node' ids must lie in [0, {num_nodes})")
        out, num, cnt = out[node.long()], num[node.long()], cnt[node.long()]
    if reduction == 'edge':
        # Pooled over (target, neighbour) pairs: with undirected=True an
        # event counts once per endpoint, which leaves the static value equal
        # to 1 - edge homophily.
        total = cnt.sum()
        return num.sum() / total if total > 0 else torch.tensor(float('nan'))
    if reduction == 'none':
        return out
    valid = ~torch.isnan(out)
    if int(valid.sum()) == 0:
        return torch.tensor(float('nan'))
    return out[valid].mean()
