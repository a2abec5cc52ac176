r"""The ``supervised`` method: the task's model trained full-batch by
:func:`pyg_ext.fit.fit_supervised` with the task's forward, loss and
metrics; the reported test score is the one at the best validation epoch
(PyG ``benchmark/citation`` / OGB logger semantics)."""
from dataclasses import dataclass
from typing import Any, Dict

import torch

from pyg_ext.fit.supervised import fit_supervised
from pyg_ext.registry import register_method
from pyg_ext.train.method import Method, RunContext, minibatch_args

__all__ = ['Supervised', 'SupervisedOptions', 'fit_task']


@dataclass
class SupervisedOptions:
    r"""Args:
        select_on (str): ``'metric'`` (the task's validation metric, ties keep
            the earlier epoch) or ``'loss'`` (validation loss).
    """
    select_on: str = 'metric'

    def __post_init__(self):
        if self.select_on not in ('metric', 'loss'):
            raise ValueError(f"method.select_on: expected 'metric' or "
                             f"'loss', got {self.select_on!r}")


def fit_task(ctx: RunContext, model: torch.nn.Module, data: Any = None,
             select_on: str = 'metric') -> Dict[str, Any]:
    r"""Trains :obj:`model` on :obj:`data` (default ``ctx.data``) with the
    run's task hooks and train options, resuming from ``ctx.checkpoint``.
    Returns the run result dict."""
    task, t = ctx.task, ctx.train
    res = fit_supervised(
        model, ctx.data if data is None else data, epochs=t.epochs, lr=t.lr,
        weight_decay=t.weight_decay, optimizer=t.optimizer,
        patience=t.patience, eval_every=t.eval_every, metric=task.metric,
        higher_is_better=task.higher_is_better, select_on=select_on,
        forward=task.forward, loss=task.loss, metrics=task.evaluate,
        **minibatch_args(ctx, model),
        checkpoint=ctx.checkpoint, progress=ctx.progress, desc=ctx.desc,
        interrupt=ctx.interrupt)
    return res.to_dict()


@register_method('supervised')
class Supervised(Method):
    r"""Full-batch supervised training with early stopping on validation."""
    minibatch = True
    #: The model may get a CSR ``adj_t`` (``dataset.adjacency``).
    supports_adj_t = True
    Options = SupervisedOptions

    def run(self, ctx: RunContext) -> Dict[str, Any]:
        return fit_task(ctx, ctx.build_model(), select_on=self.options.select_on)
