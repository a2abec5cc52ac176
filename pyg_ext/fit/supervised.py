r"""Plain supervised training of any node-level model on one graph,
full-batch, through the engine (:class:`~pyg_ext.utils.training.Trainer`):
early stopping and model selection on the validation metric, with the test
score reported at the best validation epoch (PyG ``benchmark/citation`` and
OGB logger semantics)."""
from typing import Any, Callable, Dict, Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from pyg_ext.utils.device import place
from pyg_ext.utils.training import FitResult, Trainer

__all__ = ['fit_supervised', 'node_forward', 'node_loss', 'node_metrics']

SPLITS = ('train', 'val', 'test')


def node_forward(model: torch.nn.Module, data) -> Tensor:
    r"""``model(data.x, data.edge_index)``."""
    return model(data.x, data.edge_index)


def node_loss(out: Tensor, data, split: str = 'train') -> Tensor:
    r"""Cross-entropy on ``data.<split>_mask``."""
    mask = data[f'{split}_mask']
    return F.cross_entropy(out[mask], data.y[mask])


@torch.no_grad()
def node_metrics(out: Tensor, data) -> Dict[str, float]:
    r"""Accuracy on every non-empty ``data.<split>_mask``."""
    pred = out.argmax(dim=-1)
    res = {}
    for split in SPLITS:
        mask = getattr(data, f'{split}_mask', None)
        if mask is None:
            continue
        n = int(mask.sum())
        if n:
            res[f'{split}_accuracy'] = float(
                (pred[mask] == data.y[mask]).sum()) / n
    return res


def _check_data(data) -> None:
    for key in ('x', 'y', 'train_mask', 'val_mask'):
        if getattr(data, key, None) is None:
            raise ValueError(f"'data' has no '{key}'")
    n = data.x.size(0)
    for key in ('train_mask', 'val_mask', 'test_mask'):
        m = getattr(data, key, None)
        if m is None:
            continue
        if not isinstance(m, Tensor) or m.dtype != torch.bool or \
                m.dim() != 1 or m.numel() != n:
            raise ValueError(
                f"'data.{key}' must be a bool tensor of shape [{n}] (select "
                f"one split first), got "
                f"{getattr(m, 'dtype', type(m).__name__)} "
                f"{tuple(getattr(m, 'shape', ()))}")


def fit_supervised(
    model: torch.nn.Module,
    data,
    *,
    epochs: int = 200,
    lr: float = 0.01,
    weight_decay: float = 5e-4,
    optimizer: str = 'adam',
    patience: Optional[int] = 100,
    eval_every: int = 1,
    metric: str = 'accuracy',
    higher_is_better: bool = True,
    select_on: str = 'metric',
    forward: Optional[Callable[[torch.nn.Module, Any], Any]] = None,
    loss: Optional[Callable[[Any, Any, str], Tensor]] = None,
    metrics: Optional[Callable[[Any, Any], Dict[str, float]]] = None,
    device=None,
    generator: Optional[torch.Generator] = None,
    checkpoint=None,
    checkpoint_every: int = 10,
    progress: bool = True,
    desc: str = '',
    on_epoch: Optional[Callable] = None,
    interrupt: Optional[Callable[[int], None]] = None,
) -> FitResult:
    r"""Trains :obj:`model` on :obj:`data` with one optimizer, evaluates
    every :obj:`eval_every` epochs, keeps the weights of the best
    validation epoch and stops after :obj:`patience` evaluations without a
    strict improvement.

    By default this is node classification: ``model(x, edge_index)``,
    cross-entropy on ``train_mask``, accuracy on ``train/val/test_mask``.
    :obj:`forward`, :obj:`loss` and :obj:`metrics` replace those pieces
    (the loop passes its task's).

    Args:
        model (torch.nn.Module): The model.
        data (torch_geometric.data.Data): The graph with ``x``, ``y`` and
            1-D bool ``train_mask``/``val_mask`` (and ``test_mask``).
        epochs (int): Maximum epochs. (default: :obj:`200`)
        lr (float): Learning rate. (default: :obj:`0.01`)
        weight_decay (float): Weight decay. (default: :obj:`5e-4`)
        optimizer (str): ``'adam'``, ``'adamw'`` or ``'sgd'``.
        patience (int, optional): Early-stopping patience in evaluations
            (:obj:`None`: run every epoch).
        eval_every (int): Epochs between evaluations.
        metric (str): The selection metric (``'val_' + metric`` is
            monitored). (default: :obj:`'accuracy'`)
        higher_is_better (bool): Direction of :obj:`metric`.
        select_on (str): ``'metric'``, ``'loss'`` (validation loss) or
            ``'last'`` (no selection and no early stopping: train every
            epoch and evaluate once at the end; the history then holds the
            per-epoch training loss).
        forward (callable, optional): ``forward(model, data) -> out``.
        loss (callable, optional): ``loss(out, data, split) -> Tensor``.
        metrics (callable, optional): ``metrics(out, data) -> dict`` with
            ``'<split>_<metric>'`` keys.
        device (str or torch.device, optional): Move the model and the data
            there (default: the model's device; the data must be on it).
        generator (torch.Generator, optional): The method's own random
            draws (none in full-batch training; dropout and initialisation
            use torch's global generator: call
            :func:`pyg_ext.utils.seed_everything` for reproducible runs).
        checkpoint (str or Checkpointer, optional): Resumable state; a
            resumed run gives the numbers of an uninterrupted one.
        checkpoint_every (int): Epochs between checkpoints.
        progress (bool): Show a progress bar.
        desc (str): Progress-bar label.
        on_epoch (callable, optional): ``on_epoch(phase, epoch, metrics)``.
        interrupt (callable, optional): Called after every epoch (test
            hook).

    Returns:
        FitResult: the metrics of the best validation epoch (with
        ``'train_loss'`` and ``'val_loss'``), the history and the best
        epoch; :obj:`model` holds the selected weights.
    """
    if select_on not in ('metric', 'loss', 'last'):
        raise ValueError(f"'select_on' must be 'metric', 'loss' or 'last', "
                         f"got {select_on!r}")
    model, data, device = place(model, data, device)
    if forward is None and loss is None and metrics is None:
        _check_data(data)
    forward = forward or node_forward
    loss_fn = loss or node_loss
    metrics_fn = metrics or node_metrics
    gens = {'generator': generator} if generator is not None else None
    trainer = Trainer({'model': model}, device=device, checkpoint=checkpoint,
                      checkpoint_every=checkpoint_every, generators=gens,
                      progress=progress, desc=desc, on_epoch=on_epoch,
                      interrupt=interrupt)
    opt = trainer.optimizer('optimizer', model.parameters(), optimizer, lr,
                            weight_decay)

    def step(epoch: int) -> Tensor:
        model.train()
        return trainer.backward(opt, loss_fn(forward(model, data), data,
                                             'train'))

    @torch.no_grad()
    def evaluate(epoch: int) -> Dict[str, float]:
        model.eval()
        out = forward(model, data)
        res = dict(metrics_fn(out, data))
        if getattr(data, 'val_mask', None) is not None:
            res['val_loss'] = float(loss_fn(out, data, 'val'))
        return res

    if select_on == 'last':
        ph = trainer.phase('train', step, None, epochs=epochs)
        best = evaluate(epochs - 1) if epochs > 0 else {}
        return trainer.result(best, ph.history, ph.best_epoch)
    if select_on == 'metric':
        monitor, mode = f'val_{metric}', 'max' if higher_is_better else 'min'
    else:
        monitor, mode = 'val_loss', 'min'
    ph = trainer.phase('train', step, evaluate, epochs=epochs,
                       monitor=monitor, mode=mode, patience=patience,
                       eval_every=eval_every)
    best = {k: v for k, v in ph.best_metrics.items() if k != 'epoch'}
    return trainer.result(best, ph.history, ph.best_epoch)
