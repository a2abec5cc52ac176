r"""Entry-point checks of the temporal tasks: their options (called by the
options dataclasses on construction) and the event stream a task is built
on (called once by ``build``). Every error is a :class:`ValueError` or
:class:`TypeError` whose message names the option (``task.<name>``) or the
argument, what was expected and what was got."""
import math
from typing import Dict, Optional

from torch import Tensor

from pyg_ext.utils.temporal_heterophily import check_event_stream

__all__ = ['check_task_options', 'check_link_options', 'check_task_stream',
           'check_split_sizes', 'NEGATIVES', 'PROTOCOLS']

NEGATIVES = ('random', 'historical', 'inductive')
PROTOCOLS = ('default', 'dyglib')


def _int(name: str, v, lo: int, optional: bool = False) -> None:
    if optional and v is None:
        return
    if isinstance(v, bool) or not isinstance(v, int) or v < lo:
        none = 'None or ' if optional else ''
        raise ValueError(f"task.{name}: expected {none}an int >= {lo}, got "
                         f"{v!r}")


def _ratio(name: str, v, lo: float, hi: float, hi_open: bool = True,
           optional: bool = False) -> None:
    if optional and v is None:
        return
    ok = (not isinstance(v, bool) and isinstance(v, (int, float))
          and math.isfinite(v) and lo <= v and (v < hi if hi_open else
                                                v <= hi))
    if not ok:
        rng = f"[{lo}, {hi}{')' if hi_open else ']'}"
        none = 'None or ' if optional else ''
        raise ValueError(f"task.{name}: expected {none}a number in {rng}, "
                         f"got {v!r}")


def check_task_options(o) -> None:
    r"""The options every temporal task shares: fan-outs, sampler window,
    strategy and batch sizes."""
    nn = o.num_neighbors
    if not isinstance(nn, (list, tuple)) or len(nn) == 0 or any(
            isinstance(k, bool) or not isinstance(k, int) or k < 1
            for k in nn):
        raise ValueError(f"task.num_neighbors: expected a non-empty list of "
                         f"ints >= 1 (one fan-out per hop), got {nn!r}")
    w = o.time_window
    if w is not None and (isinstance(w, bool) or not isinstance(
            w, (int, float)) or not math.isfinite(w) or w <= 0):
        raise ValueError(f"task.time_window: expected None (unbounded) or a "
                         f"window > 0, got {w!r}")
    if o.strategy not in ('recent', 'uniform'):
        raise ValueError(f"task.strategy: expected 'recent' or 'uniform', "
                         f"got {o.strategy!r}")
    _int('max_events', o.max_events, 1, optional=True)
    _int('batch_size', o.batch_size, 1)
    _int('eval_batch_size', o.eval_batch_size, 1)


def check_link_options(o) -> None:
    r"""The options of temporal link prediction (besides the shared ones):
    negative sampling, protocol, held-out new nodes, split ratios, MRR and
    the pair features."""
    if o.negatives not in NEGATIVES:
        raise ValueError(f"task.negatives: expected one of {NEGATIVES}, got "
                         f"{o.negatives!r}")
    if o.protocol not in PROTOCOLS:
        raise ValueError(f"task.protocol: expected one of {PROTOCOLS}, got "
                         f"{o.protocol!r}")
    if o.negatives == 'inductive' and o.protocol != 'dyglib':
        raise ValueError("task.negatives='inductive' (edges first seen after "
                         "training) needs task.protocol='dyglib'")
    _ratio('new_node_ratio', o.new_node_ratio, 0.0, 1.0, optional=True)
    if o.new_node_ratio and o.protocol != 'dyglib':
        raise ValueError(f"task.new_node_ratio={o.new_node_ratio!r} (held-"
                         f"out new nodes) needs task.protocol='dyglib'")
    _ratio('val_ratio', o.val_ratio, 0.0, 1.0)
    _ratio('test_ratio', o.test_ratio, 0.0, 1.0)
    if o.val_ratio + o.test_ratio >= 1:
        raise ValueError(f"task.val_ratio + task.test_ratio: expected < 1 "
                         f"(something left to train on), got "
                         f"{o.val_ratio} + {o.test_ratio}")
    _int('mrr_negatives', o.mrr_negatives, 0)
    _int('mrr_max_queries', o.mrr_max_queries, 0)
    _int('seed', o.seed, 0)
    _int('embedding_dim', o.embedding_dim, 1)
    _int('pair_neighbors', o.pair_neighbors, 1)
    if not isinstance(o.pair_features, bool):
        raise ValueError(f"task.pair_features: expected true or false, got "
                         f"{o.pair_features!r}")


def check_task_stream(graph) -> None:
    r"""The event stream a task is built on: ids in range, times finite,
    non-negative and sorted (a stream edited after it was loaded is checked
    again here, once)."""
    ev = graph.events
    check_event_stream(ev.src, ev.dst, ev.t, graph.num_nodes)
    if ev.src.numel() == 0:
        raise ValueError("the event stream is empty: a temporal task needs "
                         "events")


def check_split_sizes(split: Dict[str, Tensor], o,
                      names: Optional[Dict[str, str]] = None) -> None:
    r"""Refuses a split whose training, validation or test period is empty,
    naming the option that controls it."""
    names = names or {'train': 'val_ratio/test_ratio',
                      'val': 'val_ratio', 'test': 'test_ratio'}
    for s, opt in names.items():
        if s in split and split[s].numel() == 0:
            raise ValueError(f"the {s} period of the stream is empty under "
                             f"task.{opt} (val_ratio={o.val_ratio}, "
                             f"test_ratio={o.test_ratio}"
                             + (f", new_node_ratio={o.new_node_ratio}"
                                if getattr(o, 'new_node_ratio', None)
                                else '') + "): change it or use a longer "
                             "stream")
