r"""Plain supervised training of any node-level model on one graph,
full-batch, through the engine (:class:`~pyg_ext.utils.training.Trainer`):
early stopping and model selection on the validation metric, with the test
score reported at the best validation epoch (PyG ``benchmark/citation`` and
OGB logger semantics)."""
from typing import Any, Callable, Dict, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from pyg_ext.fit.minibatch import MiniBatchConfig, MiniBatchRunner
from pyg_ext.utils.device import place
from pyg_ext.utils.distributed import (agree, get_rank, get_world_size,
                                       resolve_group)
from pyg_ext.utils.training import FitResult, Trainer
from pyg_ext.utils.validation import (check_bool, check_callable,
                                      check_choice, check_engine_args,
                                      check_graph, check_int, check_labels,
                                      check_model_input, check_optim_args,
                                      check_str)

__all__ = ['fit_supervised', 'node_adj', 'node_forward', 'node_loss', 'node_metrics',
           'check_fit_args', 'check_node_model']

SPLITS = ('train', 'val', 'test')


def node_adj(data):
    r"""The graph a full-batch forward passes: ``data.adj_t`` when the data
    holds a sparse ``adj_t`` (PyG's convention; the loop adds it with
    ``dataset.adjacency``), else ``data.edge_index``."""
    adj_t = getattr(data, 'adj_t', None)
    return data.edge_index if adj_t is None else adj_t


def node_forward(model: torch.nn.Module, data) -> Tensor:
    r"""``model(data.x, node_adj(data))``: the ``adj_t`` when the data
    holds one, else ``edge_index``."""
    return model(data.x, node_adj(data))


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


def _int_attr(model: torch.nn.Module, key: str) -> Optional[int]:
    val = getattr(model, key, None)
    return val if isinstance(val, int) and not isinstance(val, bool) and \
        val > 0 else None


def check_node_model(model: torch.nn.Module, data, device: torch.device
                     ) -> int:
    r"""The number of classes :math:`C` a node classifier outputs, read from
    its ``out_channels`` or, without one, from one forward pass in
    evaluation mode (no gradient, the random state left as it was); checks
    ``in_channels`` against ``data.x`` and that the output is ``[N, C]``.
    Part of the entry checks of the ``fit_*`` functions."""
    check_model_input(model, data.x)
    C = _int_attr(model, 'out_channels')
    if C is not None:
        return C
    was = model.training
    devices = [device] if device.type == 'cuda' else []
    with torch.no_grad(), torch.random.fork_rng(devices=devices):
        model.eval()
        try:
            out = node_forward(model, data)
        finally:
            model.train(was)
    if not isinstance(out, Tensor) or out.dim() != 2 or \
            out.size(0) != data.x.size(0):
        raise ValueError(f"'model' must return logits [N={data.x.size(0)}, "
                         f"C], got {getattr(out, 'shape', type(out))}")
    return out.size(1)


def check_fit_args(epochs, lr, weight_decay, optimizer, checkpoint_every,
                   progress, desc, on_epoch, interrupt, generator,
                   optimizers=('adam', 'adamw', 'sgd'),
                   epochs_name: str = 'epochs') -> None:
    r"""The arguments every ``fit_*`` entry point shares (see
    :func:`fit_supervised`), checked once before any work."""
    check_int(epochs_name, epochs, 1)
    check_optim_args(lr, weight_decay, optimizer, optimizers)
    check_engine_args(checkpoint_every=checkpoint_every, progress=progress,
                      desc=desc, on_epoch=on_epoch, interrupt=interrupt,
                      generator=generator)


def check_model(model, cls=torch.nn.Module) -> None:
    if not isinstance(model, cls):
        raise TypeError(f"'model' must be a {cls.__name__}, got "
                        f"{type(model).__name__}")


def _minibatch_step(model, data, mb, device, generator, group, trainer,
                    opt) -> Callable[[int], Tensor]:
    r"""One mini-batch epoch: cross-entropy of the seed nodes, summed and
    scaled by :math:`W/|B|` (see :mod:`pyg_ext.fit.minibatch`)."""
    host = data if data.x.device.type == 'cpu' else data.cpu()
    runner = MiniBatchRunner(host, mb, host.train_mask.nonzero().view(-1),
                             device, generator, get_rank(group),
                             get_world_size(group), group)
    net = model
    if group is not None:
        from torch.nn.parallel import DistributedDataParallel
        net = DistributedDataParallel(
            model, device_ids=[device] if device.type == 'cuda' else None,
            process_group=group)

    def batch_step(batch) -> Tensor:
        bs = batch.batch_size
        out = net(batch.x, batch.edge_index)[:bs]
        loss = F.cross_entropy(out, batch.y[:bs], reduction='sum')
        trainer.backward(opt, loss * runner.scale(batch))
        return loss.detach()

    def step(epoch: int) -> Tensor:
        model.train()
        return runner.run_epoch(batch_step)
    return step


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
    batch_size: Optional[int] = None,
    num_neighbors: Optional[Sequence[int]] = None,
    distributed: bool = False,
    group=None,
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
        batch_size (int, optional): Train on mini-batches of this many seed
            nodes (with :obj:`num_neighbors`), sampled by
            :class:`pyg_ext.sampler.NeighborSampler` (PyG's when pyg-lib is
            installed); the loss is the cross-entropy of the seeds and the
            epoch order comes from :obj:`generator`. Evaluation stays
            full-graph (exact). :obj:`None`: full-batch training.
        num_neighbors (list of int, optional): Fan-out per hop of the
            mini-batches (``-1``: all neighbours).
        distributed (bool): Data-parallel mini-batch training over the
            process group torchrun started (see :obj:`group`).
        group (torch.distributed group, optional): Data-parallel mini-batch
            training over :obj:`group`: the seed nodes of every global batch
            of :obj:`batch_size` are split over the ranks, the model is
            wrapped in :class:`~torch.nn.parallel.DistributedDataParallel`,
            rank 0 writes the checkpoints. With full neighbourhoods and no
            dropout the result equals one process with the same seed.
            Full-batch training refuses a group.

    Raises:
        ValueError, TypeError: naming the argument, for any bad argument or
            data value, checked once before any training (see the
            package's bad-input contract, ``docs/contract.md``).

    Returns:
        FitResult: the metrics of the best validation epoch (with
        ``'train_loss'`` and ``'val_loss'``), the history and the best
        epoch; :obj:`model` holds the selected weights.
    """
    check_model(model)
    check_fit_args(epochs, lr, weight_decay, optimizer, checkpoint_every,
                   progress, desc, on_epoch, interrupt, generator)
    check_int('patience', patience, 1, allow_none=True)
    check_int('eval_every', eval_every, 1)
    check_str('metric', metric)
    check_bool('higher_is_better', higher_is_better)
    check_choice('select_on', select_on, ('metric', 'loss', 'last'))
    for name, fn in (('forward', forward), ('loss', loss),
                     ('metrics', metrics)):
        check_callable(name, fn, allow_none=True)
    if data is None:
        raise TypeError("'data' must be a graph, got None")
    check_bool('distributed', distributed)
    mb = None
    if batch_size is not None or num_neighbors is not None:
        if batch_size is None or num_neighbors is None:
            raise ValueError("mini-batch training needs both 'batch_size' "
                             "and 'num_neighbors'")
        mb = MiniBatchConfig(batch_size, num_neighbors)
    if (group is not None or distributed) and mb is None:
        raise ValueError("data-parallel training (group=/distributed=True) "
                         "needs mini-batches: pass 'batch_size' and "
                         "'num_neighbors' (full-batch training cannot be "
                         "split over processes; shard the runs instead)")
    group = resolve_group(group, distributed)
    model, data, device = place(model, data, device)
    if forward is None and loss is None and metrics is None:
        # node classification: every value check once, here
        check_graph(data, labels=True, masks=('train_mask', 'val_mask'),
                    optional_masks=('test_mask', ),
                    nonempty=('train_mask', ) if select_on == 'last' else
                    ('train_mask', 'val_mask'))
        check_labels('data.y', data.y, data.x.size(0),
                     check_node_model(model, data, device),
                     data.train_mask | data.val_mask)
    forward = forward or node_forward
    loss_fn = loss or node_loss
    metrics_fn = metrics or node_metrics
    if mb is not None and generator is None:
        generator = torch.Generator().manual_seed(
            int(torch.randint(2**62, (1, ))))
    gens = {'generator': generator} if generator is not None else None
    if group is not None:
        agree('fit_supervised', dict(
            epochs=epochs, lr=lr, weight_decay=weight_decay,
            optimizer=optimizer, batch_size=batch_size,
            num_neighbors=list(num_neighbors), patience=patience,
            num_nodes=data.x.size(0), generator=generator.get_state()),
            group)
    trainer = Trainer({'model': model}, device=device, checkpoint=checkpoint,
                      checkpoint_every=checkpoint_every, generators=gens,
                      progress=progress, desc=desc, on_epoch=on_epoch,
                      interrupt=interrupt, group=group)
    opt = trainer.optimizer('optimizer', model.parameters(), optimizer, lr,
                            weight_decay)

    if mb is None:
        def step(epoch: int) -> Tensor:
            model.train()
            return trainer.backward(opt, loss_fn(forward(model, data), data,
                                                 'train'))
    else:
        step = _minibatch_step(model, data, mb, device, generator, group,
                               trainer, opt)

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
        best = evaluate(epochs - 1)
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
