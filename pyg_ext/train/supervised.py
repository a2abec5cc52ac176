r"""The ``supervised`` method: full-batch training with early stopping on the
validation metric; the reported test score is the one at the best validation
epoch (PyG ``benchmark/citation`` / OGB logger semantics)."""
import copy
from dataclasses import dataclass
from typing import Any, Dict, List

import torch
from tqdm.auto import tqdm

from pyg_ext.registry import register_method
from pyg_ext.train.checkpoint import get_rng_state, set_rng_state
from pyg_ext.train.method import Method, RunContext, make_optimizer

__all__ = ['Supervised', 'SupervisedOptions', 'fit_supervised']


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


def fit_supervised(ctx: RunContext, model: torch.nn.Module,
                   select_on: str = 'metric') -> Dict[str, Any]:
    r"""Trains :obj:`model` on ``ctx.data`` with ``ctx.task``'s loss, resuming
    from ``ctx.checkpoint`` when it holds a state. Returns the run result."""
    task, data, cfg = ctx.task, ctx.data, ctx.train
    optimizer = make_optimizer(model.parameters(), cfg)
    key = f'val_{task.metric}'
    higher = task.higher_is_better if select_on == 'metric' else False

    start, best, best_epoch, bad = 0, None, -1, 0
    best_metrics: Dict[str, float] = {}
    history: Dict[str, List[float]] = {}
    stopped = False
    state = ctx.checkpoint.load()
    if state is not None:
        model.load_state_dict(state['model'])
        optimizer.load_state_dict(state['optimizer'])
        set_rng_state(state['rng'])
        start, best, best_epoch = state['epoch'] + 1, state['best'], \
            state['best_epoch']
        bad, best_metrics, history = state['bad'], state['best_metrics'], \
            state['history']
        stopped = state['stopped']

    epochs = range(start, cfg.epochs) if not stopped else range(0)
    bar = tqdm(epochs, desc=ctx.desc or 'epochs', leave=False,
               disable=not ctx.progress, initial=start, total=cfg.epochs)
    for epoch in bar:
        model.train()
        optimizer.zero_grad()
        out = task.forward(model, data)
        loss = task.loss(out, data, 'train')
        loss.backward()
        optimizer.step()
        loss = float(loss.detach())

        if (epoch + 1) % cfg.eval_every == 0 or epoch + 1 == cfg.epochs:
            model.eval()
            with torch.no_grad():
                out = task.forward(model, data)
                metrics = task.evaluate(out, data)
                metrics['train_loss'] = loss
                metrics['val_loss'] = float(task.loss(out, data, 'val'))
            metrics['epoch'] = epoch
            for k, v in metrics.items():
                history.setdefault(k, []).append(float(v))
            score = metrics[key] if select_on == 'metric' else \
                metrics['val_loss']
            if best is None or (score > best if higher else score < best):
                best, best_epoch, bad = score, epoch, 0
                best_metrics = dict(metrics)
            else:
                bad += 1
            stopped = cfg.patience is not None and bad >= cfg.patience
            bar.set_postfix(loss=f'{loss:.3f}', best=f'{best:.4f}')

        if ctx.checkpoint.due(epoch) or stopped:
            ctx.checkpoint.save({
                'model': model.state_dict(),
                'optimizer': optimizer.state_dict(),
                'rng': get_rng_state(),
                'epoch': epoch,
                'best': best,
                'best_epoch': best_epoch,
                'bad': bad,
                'best_metrics': best_metrics,
                'history': history,
                'stopped': stopped,
            })
        if ctx.interrupt is not None:
            ctx.interrupt(epoch)
        if stopped:
            break
    bar.close()
    metrics = {k: v for k, v in best_metrics.items() if k != 'epoch'}
    return {
        'metrics': metrics,
        'best_epoch': best_epoch,
        'epochs_run': len(history.get('epoch', [])) and
        int(history['epoch'][-1]) + 1,
        'history': history,
    }


@register_method('supervised')
class Supervised(Method):
    r"""Full-batch supervised training with early stopping on validation."""
    Options = SupervisedOptions

    def run(self, ctx: RunContext) -> Dict[str, Any]:
        model = ctx.build_model()
        return fit_supervised(ctx, model, self.options.select_on)
