r"""Argument and input checks of :class:`~pyg_ext.nn.models.Mowst`.

Two kinds, kept apart so that training steps never wait on the device:

* metadata checks (types, dtypes, dims, sizes, devices), done on every call;
* value checks (node indices in range, labels in range, a custom gate's
  confidences in :math:`[0, 1]`), which read tensor values back to the host
  and run once, at data-setup time (:meth:`Mowst.validate_inputs`, called by
  :meth:`Mowst.predict`), or once per graph in :meth:`Mowst.forward`
  (:class:`CheckedGraphs`).
"""
import weakref
from typing import TYPE_CHECKING, Any, Dict, Optional, Tuple

import torch
from torch import Tensor

from pyg_ext.nn._checks import check_adj_t
from pyg_ext.nn.models.mowst_inference import (EDGE_KWARGS, GCN_SUBGRAPH,
                                               num_edges)
from pyg_ext.utils.dispersion import DISPERSIONS
from pyg_ext.utils.sparse_adj import is_sparse_adj
from pyg_ext.utils.validation import check_float, check_int

if TYPE_CHECKING:  # pragma: no cover
    from pyg_ext.nn.models.mowst import Mowst

VARIANTS = ('mowst', 'mowst_star')
GATES = ('mlp', 'identity', 'power')
STAR_MIXES = ('prob', 'logit')


def _out_channels(module: torch.nn.Module) -> Optional[int]:
    for attr in ('out_channels', 'num_classes'):
        val = getattr(module, attr, None)
        if isinstance(val, int):
            return val
    return None


def check_init_args(weak, strong, num_classes, variant, dispersion,
                    star_mix, gcn_subgraph, trim_layers, strong_num_hops,
                    gate_in_features) -> Tuple[str, ...]:
    r"""Checks :class:`Mowst`'s constructor arguments (except the gate's);
    returns :obj:`dispersion` as a tuple."""
    for name, mod in (('weak', weak), ('strong', strong)):
        if not isinstance(mod, torch.nn.Module):
            raise TypeError(f"'{name}' must be a torch.nn.Module, got "
                            f"{type(mod).__name__}")
    if (not isinstance(num_classes, int) or isinstance(num_classes, bool)
            or num_classes < 2):
        raise ValueError(f"'num_classes' must be an int >= 2, got "
                         f"{num_classes!r}")
    for name, mod in (('weak', weak), ('strong', strong)):
        out = _out_channels(mod)
        if out is not None and out != num_classes:
            raise ValueError(
                f"the {name} expert outputs {out} classes but "
                f"'num_classes' is {num_classes}; both experts must "
                f"predict the same {num_classes} classes")
    if variant not in VARIANTS:
        raise ValueError(f"'variant' must be one of {VARIANTS}, got "
                         f"{variant!r}")
    if isinstance(dispersion, str):
        dispersion = (dispersion, )
    if not isinstance(dispersion, (list, tuple)):
        raise TypeError(f"'dispersion' must be a name or a list of names, "
                        f"got {type(dispersion).__name__}")
    dispersion = tuple(dispersion)
    if len(dispersion) == 0 or len(set(dispersion)) != len(dispersion):
        raise ValueError(f"'dispersion' must be a non-empty list of "
                         f"distinct names from {tuple(DISPERSIONS)}, got "
                         f"{dispersion!r}")
    for d in dispersion:
        if d not in DISPERSIONS:
            raise ValueError(f"unknown dispersion {d!r} in 'dispersion'; "
                             f"expected one of {tuple(DISPERSIONS)}")
    if star_mix not in STAR_MIXES:
        raise ValueError(f"'star_mix' must be one of {STAR_MIXES}, got "
                         f"{star_mix!r}")
    if gcn_subgraph not in GCN_SUBGRAPH:
        raise ValueError(f"'gcn_subgraph' must be one of {GCN_SUBGRAPH},"
                         f" got {gcn_subgraph!r}")
    if not (isinstance(trim_layers, bool) or trim_layers == 'auto'):
        raise ValueError(f"'trim_layers' must be True, False or 'auto', "
                         f"got {trim_layers!r}")
    if strong_num_hops is not None and (not isinstance(
            strong_num_hops, int) or strong_num_hops < 0):
        raise ValueError(f"'strong_num_hops' must be None or an int >= 0,"
                         f" got {strong_num_hops!r}")
    if gate_in_features is not None and (not isinstance(
            gate_in_features, int) or gate_in_features < 1):
        raise ValueError(f"'gate_in_features' must be None or an int >= "
                         f"1, got {gate_in_features!r}")
    return dispersion


def check_gate_args(gate, dispersion, gate_hidden, gate_layers, gate_dropout,
                    gate_alpha, gate_in_features) -> str:
    r"""Checks the gate's constructor arguments; returns the gate type
    (:obj:`'custom'` for a module)."""
    # Checked whatever the gate, so a bad value never waits unnoticed.
    check_int('gate_layers', gate_layers, low=1)
    check_int('gate_hidden', gate_hidden, low=1)
    check_float('gate_dropout', gate_dropout, low=0.0, high=1.0,
                high_open=True)
    check_float('gate_alpha', gate_alpha, low=0.0, low_open=True)
    if isinstance(gate, torch.nn.Module):
        return 'custom'
    if gate == 'mlp':
        return 'mlp'
    if gate in ('identity', 'power'):
        if len(dispersion) != 1:
            raise ValueError(f"gate={gate!r} needs exactly one "
                             f"dispersion, got {dispersion!r}")
        if gate_in_features is not None:
            raise ValueError(f"gate={gate!r} cannot use node features; "
                             f"set 'gate_in_features' to None")
        if gate == 'power' and not gate_alpha > 0:
            raise ValueError(f"'gate_alpha' must be > 0, got "
                             f"{gate_alpha!r}")
        return gate
    raise ValueError(f"unknown gate {gate!r} ('gate'); expected one of "
                     f"{GATES} or a torch.nn.Module")


def check_graph(x: Tensor, edge_index: Tensor,
                gate_in_features: Optional[int]) -> None:
    r"""Metadata checks of a graph (no tensor value is read):
    :obj:`edge_index` is a :obj:`[2, E]` tensor or a sparse :obj:`adj_t`."""
    if not isinstance(x, Tensor) or x.dim() != 2:
        raise ValueError(f"'x' must be a 2-D node feature tensor [N, F],"
                         f" got {getattr(x, 'shape', type(x).__name__)}")
    if is_sparse_adj(edge_index):
        check_adj_t(x, edge_index)
        if gate_in_features is not None and x.size(1) != gate_in_features:
            raise ValueError(f"'x' has {x.size(1)} features but the gate was "
                             f"built with gate_in_features="
                             f"{gate_in_features}")
        return
    if (not isinstance(edge_index, Tensor) or edge_index.dim() != 2
            or edge_index.size(0) != 2):
        raise ValueError(
            f"'edge_index' must be a [2, E] tensor, got "
            f"{getattr(edge_index, 'shape', type(edge_index).__name__)}")
    if edge_index.dtype != torch.long:
        raise TypeError(f"'edge_index' must have dtype torch.long, got "
                        f"{edge_index.dtype}")
    if edge_index.device != x.device:
        raise ValueError(f"'edge_index' is on {edge_index.device} but 'x' "
                         f"is on {x.device}; move both to one device")
    if gate_in_features is not None and x.size(1) != gate_in_features:
        raise ValueError(f"'x' has {x.size(1)} features but the gate was "
                         f"built with gate_in_features={gate_in_features}")


def _version(t: Tensor) -> Optional[int]:
    try:
        return t._version
    except RuntimeError:  # inference-mode tensors have no version counter
        return None


class CheckedGraphs:
    r"""Remembers the node-index range of value-checked :obj:`edge_index`
    tensors, by identity and version (an in-place change is checked again),
    so that :meth:`Mowst.forward` checks a graph once, not every step.
    Holds weak references only; pickles (and deep-copies) as empty."""
    def __init__(self, size: int = 8):
        self.size = size
        self._seen: Dict[int, Tuple[Any, Optional[int], Tuple[int, int]]] = {}

    def __reduce__(self):
        return (CheckedGraphs, (self.size, ))

    def edge_range(self, edge_index: Tensor,
                   use_cache: bool = True) -> Tuple[int, int]:
        r"""(min, max) of :obj:`edge_index`: one host read unless cached."""
        key, version = id(edge_index), _version(edge_index)
        hit = self._seen.get(key)
        if (use_cache and hit is not None and hit[0]() is edge_index
                and version is not None and hit[1] == version):
            return hit[2]
        lo, hi = torch.stack([edge_index.min(), edge_index.max()]).tolist()
        for k in [k for k, v in self._seen.items() if v[0]() is None]:
            del self._seen[k]
        while len(self._seen) >= self.size:
            del self._seen[next(iter(self._seen))]
        self._seen[key] = (weakref.ref(edge_index), version, (lo, hi))
        return lo, hi


def check_edge_values(x: Tensor, edge_index: Tensor, graphs: CheckedGraphs,
                      use_cache: bool = True) -> None:
    r"""Node indices of :obj:`edge_index` in :math:`[0, N)` (a sparse
    :obj:`adj_t` holds them by construction: its size is checked)."""
    if is_sparse_adj(edge_index):
        return
    if edge_index.numel() == 0 or edge_index.is_meta:
        return  # nothing to read
    lo, hi = graphs.edge_range(edge_index, use_cache)
    if lo < 0 or hi >= x.size(0):
        raise ValueError(
            f"'edge_index' refers to node {hi if hi >= x.size(0) else lo}"
            f" but 'x' has {x.size(0)} nodes; 'x' and 'edge_index' "
            f"must describe the same graph")


def check_confidence(gate_type: str, conf: Tensor) -> None:
    r"""A custom gate's confidences in :math:`[0, 1]` (one host read)."""
    if gate_type == 'custom' and conf.numel() > 0:
        lo, hi = torch.stack([conf.min(), conf.max()]).tolist()
        if lo < 0 or hi > 1:
            raise ValueError("a custom gate must return confidences in "
                             "[0, 1] (apply a sigmoid)")


def _check_on(name: str, t: Tensor, x: Tensor) -> None:
    if t.device != x.device:
        raise ValueError(f"'{name}' is on {t.device} but 'x' is on "
                         f"{x.device}; move both to one device")


def validate_inputs(model: 'Mowst', x: Tensor, edge_index: Tensor,
                    y: Optional[Tensor],
                    masks: Optional[Dict[str, Optional[Tensor]]],
                    kwargs: Dict[str, Any]) -> None:
    r"""The body of :meth:`Mowst.validate_inputs` (see there)."""
    check_graph(x, edge_index, model.gate_in_features)
    if x.is_floating_point() and not bool(torch.isfinite(x).all()):
        raise ValueError("'x' holds NaN or inf values")
    N = x.size(0)
    E = num_edges(edge_index)
    for p in model.parameters():
        if p.device != x.device:
            raise ValueError(f"the model's parameters are on {p.device} but "
                             f"'x' is on {x.device}; move the model or the "
                             f"data")
        break
    for key, val in kwargs.items():
        if isinstance(val, Tensor):
            _check_on(key, val, x)
            rows = val.size(0) if val.dim() > 0 else 0
            if key in EDGE_KWARGS and rows != E:
                raise ValueError(f"'{key}' has {rows} rows but 'edge_index' "
                                 f"has {E} edges")
    labelled = None
    stats, checks = [], []  # 0-dim tensors, read back together
    for name, m in (masks or {}).items():
        if m is None:
            continue
        if not isinstance(m, Tensor) or m.is_floating_point() or \
                m.dim() != 1:
            raise TypeError(f"'{name}' must be a 1-D boolean mask or index "
                            f"tensor, got "
                            f"{getattr(m, 'shape', type(m).__name__)}")
        _check_on(name, m, x)
        if m.dtype == torch.bool:
            if m.numel() != N:
                raise ValueError(f"boolean '{name}' must have {N} entries, "
                                 f"got {m.numel()}")
            sel = m
        else:
            if m.numel() == 0:
                continue
            stats += [m.min(), m.max()]
            checks.append((name, N))
            sel = torch.zeros(N, dtype=torch.bool, device=x.device)
            if N > 0:
                sel[m.clamp(0, N - 1)] = True
        labelled = sel if labelled is None else labelled | sel
    if y is not None:
        if not isinstance(y, Tensor) or y.is_floating_point() or \
                y.dtype == torch.bool:
            raise TypeError(f"'y' must be an integer tensor of class labels, "
                            f"got {getattr(y, 'dtype', type(y).__name__)}")
        if y.dim() != 1 or y.size(0) != N:
            raise ValueError(f"'y' must have shape [{N}], got "
                             f"{tuple(y.shape)}")
        _check_on('y', y, x)
        if N > 0:
            yy = y if labelled is None else torch.where(labelled, y, 0)
            stats += [yy.min(), yy.max()]
            checks.append(('y', model.num_classes))
    vals = torch.stack(stats).tolist() if stats else []  # one host read
    for i, (name, bound) in enumerate(checks):
        lo, hi = vals[2 * i], vals[2 * i + 1]
        if lo < 0 or hi >= bound:
            what = ('class labels', ' on the labelled nodes') \
                if name == 'y' else ('node indices', '')
            raise ValueError(f"'{name}' must hold {what[0]} in [0, {bound})"
                             f"{what[1]}, got {lo if lo < 0 else hi}")
    check_edge_values(x, edge_index, model._checked_graphs, use_cache=False)


def check_loss_args(out: Any, y: Any, index: Any) -> None:
    r"""Metadata of :meth:`Mowst.loss`: :obj:`y` is an integer :obj:`[N]`
    label tensor for the :obj:`N` nodes of :obj:`out`, :obj:`index` a 1-D
    integer index or boolean mask. Label *values* are checked at
    data-setup time (:meth:`Mowst.validate_inputs`, the ``fit_*`` entry
    points) and on the first call only (:func:`check_loss_values`), never
    in a training step of the engine."""
    n = out.weak_logits.size(0)
    if not isinstance(y, Tensor) or y.is_floating_point() or \
            y.is_complex() or y.dtype == torch.bool:
        raise TypeError(f"'y' must be an integer label tensor, got "
                        f"{getattr(y, 'dtype', type(y).__name__)}")
    if y.dim() != 1 or y.size(0) != n:
        raise ValueError(f"'y' must have shape [{n}] (one label per node of "
                         f"'out'), got shape {tuple(y.shape)}")
    if index is None:
        return
    if not isinstance(index, Tensor) or index.is_floating_point() or \
            index.is_complex():
        raise TypeError(f"'index' must be an integer index or a boolean "
                        f"mask, got {getattr(index, 'dtype', type(index))}")
    if index.dim() != 1:
        raise ValueError(f"'index' must be 1-D, got shape "
                         f"{tuple(index.shape)}")
    if index.dtype == torch.bool and index.size(0) != n:
        raise ValueError(f"boolean 'index' must have the shape of 'y' "
                         f"({n},), got {tuple(index.shape)}")


def check_loss_values(y: Tensor, index: Any, num_classes: int) -> None:
    r"""Values of :meth:`Mowst.loss` (one host read): labels in
    :math:`[0, C)` on the nodes the loss uses, an integer :obj:`index` in
    :math:`[0, N)`."""
    n = y.size(0)
    if index is not None and index.dtype != torch.bool and index.numel():
        lo, hi = int(index.min()), int(index.max())
        if lo < 0 or hi >= n:
            raise ValueError(f"'index' holds node indices in [{lo}, {hi}], "
                             f"expected indices in [0, {n}) for the {n} "
                             f"nodes of 'y'")
    used = y if index is None else y[index]
    if used.numel():
        lo, hi = int(used.min()), int(used.max())
        if lo < 0 or hi >= num_classes:
            raise ValueError(f"'y' holds labels in [{lo}, {hi}], expected "
                             f"labels in [0, {num_classes}) (num_classes)")
