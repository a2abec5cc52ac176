r"""The :class:`Method` interface: how one run (one split, one seed) trains
and evaluates. Concrete methods register themselves with
:func:`pyg_ext.registry.register_method`."""
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Optional

import torch

from pyg_ext.train.checkpoint import Checkpointer
from pyg_ext.train.config import ExperimentConfig, TrainConfig

__all__ = ['Method', 'MethodOptions', 'RunContext', 'make_optimizer']


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

    @property
    def train(self) -> TrainConfig:
        return self.config.train


def make_optimizer(params, train: TrainConfig) -> torch.optim.Optimizer:
    r"""The optimizer named by ``train.optimizer``."""
    params = list(params)
    if train.optimizer == 'adam':
        return torch.optim.Adam(params, lr=train.lr,
                                weight_decay=train.weight_decay)
    if train.optimizer == 'adamw':
        return torch.optim.AdamW(params, lr=train.lr,
                                 weight_decay=train.weight_decay)
    if train.optimizer == 'sgd':
        return torch.optim.SGD(params, lr=train.lr,
                               weight_decay=train.weight_decay)
    raise ValueError(f"train.optimizer: expected 'adam', 'adamw' or 'sgd', "
                     f"got {train.optimizer!r}")


class Method:
    r"""Base class of a training/evaluation procedure for one run.

    :meth:`run` returns a dict with at least ``'metrics'`` (flat floats, with
    ``'val_<metric>'`` and ``'test_<metric>'`` of the task's main metric) and
    optionally ``'history'`` (lists of per-epoch values) and ``'best_epoch'``.
    A method must be resumable from ``ctx.checkpoint`` or cheap enough to
    redo: the runner never repeats a run whose result file exists.
    """
    Options = MethodOptions

    def __init__(self, options: Any = None):
        self.options = options if options is not None else self.Options()

    def run(self, ctx: RunContext) -> Dict[str, Any]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}({self.options})'
