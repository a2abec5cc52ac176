r"""The :class:`Method` interface: how one run (one split, one seed) trains
and evaluates. Concrete methods register themselves with
:func:`pyg_ext.registry.register_method`."""
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Optional

import torch

from pyg_ext.train.checkpoint import Checkpointer
from pyg_ext.train.config import ConfigError, ExperimentConfig, TrainConfig
from pyg_ext.utils.training import make_optimizer as _make_optimizer

__all__ = ['Method', 'MethodOptions', 'RunContext', 'make_optimizer',
           'minibatch_args']


@dataclass
class MethodOptions:
    r"""A method without options."""


@dataclass
class RunContext:
    r"""Everything a :class:`Method` needs for one run.

    Attributes:
        config (ExperimentConfig): The resolved experiment config.
        task (Task): The task instance.
        data (Any): The data with the run's split selected.
        split (int): The split index.
        seed (int): The run's seed (already applied with ``torch.manual_seed``).
        build_model (callable): ``build_model(name=None, **overrides)`` builds
            the configured model (or another registered one) sized for
            :obj:`data`, with fresh parameters.
        checkpoint (Checkpointer): Resumable state for this run.
        progress (bool): Whether to show progress bars.
        device (torch.device): The device.
        log (callable): ``log(epoch, metrics_dict)`` records a learning-curve
            point.
        interrupt (callable, optional): Called after each epoch with the epoch
            number (a test hook to simulate a kill).
        desc (str): Progress-bar label.
        channels (tuple, optional): ``task.model_channels(data)``, read
            once on the host before the data moved to :obj:`device`.
        group (optional): The :mod:`torch.distributed` group of data-parallel
            training under torchrun (``train.distributed='ddp'``).
    """
    config: ExperimentConfig
    task: Any
    data: Any
    split: int
    seed: int
    build_model: Callable[..., torch.nn.Module]
    checkpoint: Checkpointer
    progress: bool = True
    device: torch.device = torch.device('cpu')
    log: Callable[[int, Dict[str, float]], None] = lambda e, m: None
    interrupt: Optional[Callable[[int], None]] = None
    desc: str = ''
    channels: Optional[tuple] = None
    group: Any = None

    @property
    def train(self) -> TrainConfig:
        return self.config.train


def make_optimizer(params, train: TrainConfig) -> torch.optim.Optimizer:
    r"""The optimizer named by ``train.optimizer`` (the engine's
    :func:`~pyg_ext.utils.training.make_optimizer`)."""
    return _make_optimizer(params, train.optimizer, train.lr,
                           train.weight_decay)


def minibatch_args(ctx: RunContext, model: Optional[torch.nn.Module] = None
                   ) -> Dict[str, Any]:
    r"""``batch_size`` and ``num_neighbors`` for a ``fit_*`` call from
    ``train.batch_size`` and ``task.num_neighbors`` (both or neither), with
    the hop count checked against the model's layers."""
    bs = ctx.train.batch_size
    nn = getattr(ctx.task.options, 'num_neighbors', None)
    if bs is None and nn is None:
        return {}
    if bs is None:
        raise ConfigError("task.num_neighbors is set but train.batch_size is "
                          "not: set both for mini-batch training")
    if nn is None:
        raise ConfigError(f"train.batch_size={bs} needs task.num_neighbors "
                          f"(the fan-out per hop, e.g. [15, 10])")
    from pyg_ext.sampler import check_num_neighbors
    try:
        nn = check_num_neighbors(nn)
    except (ValueError, TypeError) as e:
        raise ConfigError(f"task.num_neighbors: {e}") from None
    depth = None
    for attr in ('num_layers', 'K'):
        v = getattr(model, attr, None)
        if isinstance(v, int) and not isinstance(v, bool) and v > 0:
            depth = v
            break
    if depth is not None and len(nn) > depth:
        raise ConfigError(f"task.num_neighbors has {len(nn)} hops but the "
                          f"model has {depth} layer(s); sample at most "
                          f"{depth} hops")
    out = {'batch_size': bs, 'num_neighbors': nn}
    if ctx.group is not None:
        out['group'] = ctx.group
    return out


class Method:
    r"""Base class of a training/evaluation procedure for one run.

    :meth:`run` returns a dict with at least ``'metrics'`` (flat floats, with
    ``'val_<metric>'`` and ``'test_<metric>'`` of the task's main metric) and
    optionally ``'history'`` (lists of per-epoch values) and ``'best_epoch'``.
    A method must be resumable from ``ctx.checkpoint`` or cheap enough to
    redo: the runner never repeats a run whose result file exists.
    """
    Options = MethodOptions
    #: Whether the method trains in mini-batches with ``train.batch_size``
    #: and ``task.num_neighbors`` (see :func:`minibatch_args`).
    minibatch = False

    def __init__(self, options: Any = None):
        self.options = options if options is not None else self.Options()

    def run(self, ctx: RunContext) -> Dict[str, Any]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}({self.options})'
