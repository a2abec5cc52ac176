r"""THeGCN's library-level entry: :func:`fit_thegcn` trains a model on a
temporal task (:mod:`pyg_ext.fit.temporal_tasks`) through the engine
(:class:`~pyg_ext.utils.training.Trainer`), whatever kind the model is:

* *temporal* models (``model.temporal = True``, e.g.
  :class:`~pyg_ext.nn.models.THeGCN`): mini-batches of training queries,
  each embedded on its own sampled temporal subgraph;
* *stream* models (``model.stream_model = True``, e.g. TGN): chronological
  replay of the stream (:func:`~pyg_ext.fit.temporal_replay.
  replay_stream`);
* *static* models ``model(x, edge_index)``: full-batch on the static
  projection of the events before the task's cutoff.
"""
from typing import Any, Callable, Dict, Optional, Union

import torch
from torch import Tensor

from pyg_ext.datasets.temporal import TemporalGraph
from pyg_ext.fit.temporal_data import (TemporalTaskData, move_subgraph,
                                       same_device)
from pyg_ext.fit.temporal_replay import replay_plan, replay_stream
from pyg_ext.fit.temporal_link import make_temporal_task
from pyg_ext.fit.temporal_tasks import TemporalTask, model_kind
from pyg_ext.utils.device import module_device, place
from pyg_ext.utils.training import FitResult, Trainer

__all__ = ['fit_thegcn', 'gate_statistics', 'replay_stream', 'train_epoch',
           'predict_splits']

EVAL_SPLITS = ['val', 'test']


@torch.no_grad()
def gate_statistics(model: torch.nn.Module, task: TemporalTask,
                    data: TemporalTaskData, split: str = 'val'
                    ) -> Dict[str, float]:
    r"""Mean TMP gate :math:`g` of a THeGCN on sampled events whose
    endpoints have the same vs different (static) labels, for the queries
    of :obj:`split` (:math:`g > 0.5`: low-pass, :math:`g < 0.5`:
    high-pass). Empty for data without static labels or a model that is
    not temporal."""
    y = data.graph.y
    if y is None or model_kind(model) != 'temporal':
        return {}
    model.eval()
    host = data.on_host()
    idx = host.split[split]
    same, cross = [], []
    for i in idx.split(task.options.eval_batch_size):
        sub = task.sampler(data).sample(host.q_node[i], host.q_time[i])
        if sub.num_edges == 0:
            continue
        sub = move_subgraph(sub, data.device)
        ea = data.msg[sub.e_id] if model.edge_dim > 0 else None
        _, gates = model(data.graph.x[sub.n_id], sub.edge_index, ea,
                         sub.dt.double(), batch_size=sub.batch_size,
                         n_id=sub.n_id, return_gates=True)
        gt = gates[0].mean(-1)
        yn = y[sub.n_id]
        diff = yn[sub.edge_index[0]] != yn[sub.edge_index[1]]
        same.append(gt[~diff])
        cross.append(gt[diff])
    out = {}
    if same and torch.cat(same).numel():
        out['gate_same_class'] = float(torch.cat(same).mean())
    if cross and torch.cat(cross).numel():
        out['gate_cross_class'] = float(torch.cat(cross).mean())
    return out


def train_epoch(kind: str, model: torch.nn.Module,
                head: Optional[torch.nn.Module], task: TemporalTask,
                data: TemporalTaskData, optimizer: torch.optim.Optimizer,
                generator: torch.Generator,
                max_train_batches: Optional[int] = None,
                ssl_weight: float = 1.0) -> Optional[Tensor]:
    r"""One training epoch of a model of :obj:`kind` (``'temporal'``,
    ``'stream'`` or ``'static'``, see :func:`~pyg_ext.fit.temporal_tasks.
    model_kind`); returns the mean batch loss as a tensor (no host
    sync)."""
    if kind == 'stream':
        return replay_stream(model, head, task, data, ['train'], optimizer,
                             generator, ssl_weight)['loss']
    model.train()
    if head is not None:
        head.train()
    if kind == 'static':
        return Trainer.backward(optimizer, task.batch_loss(
            model, head, data, data.on_host().split['train'], generator))
    losses = []
    for i, idx in enumerate(task.train_batches(data, generator)):
        if max_train_batches is not None and i >= max_train_batches:
            break
        losses.append(Trainer.backward(optimizer, task.batch_loss(
            model, head, data, idx, generator)))
    return torch.stack(losses).double().mean() if losses else None


@torch.no_grad()
def predict_splits(kind: str, model: torch.nn.Module,
                   head: Optional[torch.nn.Module], task: TemporalTask,
                   data: TemporalTaskData, splits=EVAL_SPLITS
                   ) -> Dict[str, Any]:
    r"""The task's outputs for :obj:`splits` (what
    ``task.compute_metrics`` scores), for a model of :obj:`kind`."""
    model.eval()
    if head is not None:
        head.eval()
    if kind == 'stream':
        return replay_stream(model, head, task, data, list(splits))
    if kind == 'static':
        z = task.full_static(model, data)
        return {s: task.predict(model, head, data, s, static_out=z)
                for s in splits}
    return {s: task.predict(model, head, data, s) for s in splits}


def _check_number(name: str, value, lo: float, integer: bool = False,
                  optional: bool = False) -> None:
    if optional and value is None:
        return
    kinds = (int, ) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or \
            not value >= lo:
        what = 'an int' if integer else 'a number'
        none = 'None or ' if optional else ''
        raise ValueError(f"'{name}' must be {none}{what} >= {lo}, got "
                         f"{value!r}")


def _task_data(task: TemporalTask, data) -> TemporalTaskData:
    if isinstance(data, TemporalTaskData):
        return data
    if isinstance(data, TemporalGraph):
        # queries, split and negatives are computed on the host
        return task.build(data).to(data.x.device)
    raise TypeError(f"'data' must be a TemporalGraph or a TemporalTaskData, "
                    f"got {type(data).__name__}")


def _fit_pair_model(model, head, task: TemporalTask,
                    data: TemporalTaskData) -> FitResult:
    r"""A parameter-free pair model (EdgeBank): bind the stream (without
    the held-out events of the DyGLib protocol, which DyGLib's EdgeBank
    never sees either), evaluate once; nothing is trained."""
    ev = data.graph.events
    keep = task.visible_events(data)
    model.reset_state(ev.src[keep], ev.dst[keep], ev.t[keep],
                      data.graph.num_nodes)
    outputs = predict_splits('pair', model, head, task, data, EVAL_SPLITS)
    metrics = task.compute_metrics(outputs, data)
    history = {k: [v] for k, v in metrics.items()}
    history['epoch'] = [0]
    return FitResult(metrics=metrics, history=history, best_epoch=0,
                     epochs_run=0)


def fit_thegcn(
    model: torch.nn.Module,
    data: Union[TemporalGraph, TemporalTaskData],
    task: Union[str, TemporalTask] = 'temporal_node_classification',
    *,
    head: Optional[torch.nn.Module] = None,
    epochs: int = 60,
    lr: float = 0.01,
    weight_decay: float = 5e-4,
    optimizer: str = 'adam',
    patience: Optional[int] = 15,
    eval_every: int = 1,
    max_train_batches: Optional[int] = None,
    ssl_weight: float = 1.0,
    gate_stats: bool = True,
    device=None,
    generator: Optional[torch.Generator] = None,
    checkpoint=None,
    checkpoint_every: int = 10,
    progress: bool = True,
    desc: str = '',
    on_epoch: Optional[Callable] = None,
    interrupt: Optional[Callable[[int], None]] = None,
) -> FitResult:
    r"""Trains :obj:`model` on a temporal task of an event stream, as in
    the `"THeGCN: Temporal Heterophilic Graph Convolutional Network"
    <https://arxiv.org/abs/2412.16435>`_ paper's experiments: one optimizer
    over the model (and the link decoder), an evaluation every
    :obj:`eval_every` epochs, the weights of the best validation epoch kept,
    and a stop after :obj:`patience` evaluations without a strict
    improvement. Temporal models (THeGCN) train on mini-batches of queries
    with sampled temporal subgraphs, stream models (TGN) by chronological
    replay, static models full-batch on the static projection. Pair models
    (EdgeBank, link prediction) have nothing to train: they are bound to the
    stream and evaluated once (``epochs_run = 0``).

    Args:
        model (torch.nn.Module): The model: node classes as outputs for node
            tasks, node embeddings of ``task.options.embedding_dim`` for
            link prediction.
        data (TemporalGraph or TemporalTaskData): The event stream (its
            queries, split and negatives are built with :obj:`task`), or
            the data a task already built (``task.build(graph)``).
        task (str or TemporalTask): ``'temporal_node_classification'``,
            ``'dynamic_node_classification'``,
            ``'temporal_link_prediction'`` (default options), or a task
            object such as ``TemporalLinkPredictionTask(batch_size=100)``.
        head (torch.nn.Module, optional): The link decoder (link prediction
            only; default: the task's :class:`LinkHead`, returned as
            ``result['head']``).
        epochs (int): Maximum epochs. (default: :obj:`60`)
        lr (float): Learning rate. (default: :obj:`0.01`)
        weight_decay (float): Weight decay. (default: :obj:`5e-4`)
        optimizer (str): ``'adam'``, ``'adamw'`` or ``'sgd'``.
        patience (int, optional): Early-stopping patience in evaluations
            (:obj:`None`: run every epoch). (default: :obj:`15`)
        eval_every (int): Epochs between evaluations.
        max_train_batches (int, optional): Cap on training steps per epoch
            (temporal models).
        ssl_weight (float): Weight of the self-supervised link loss that
            trains a stream model's memory on node tasks.
        gate_stats (bool): Add the mean learned TMP gate on same- vs
            cross-class events (:func:`gate_statistics`; temporal models on
            node tasks with static labels).
        device (str or torch.device, optional): Move the model and the data
            there (default: the model's device; the data must be on it).
        generator (torch.Generator, optional): A CPU generator for the
            batch order and the training negatives (drawn on the host,
            where the temporal sampler runs, so every device sees the same
            batches). Default: seeded with :func:`torch.initial_seed`.
            Dropout and initialisation use torch's global generator: call
            :func:`pyg_ext.utils.checkpoint.seed_everything` for reproducible
            runs.
        checkpoint (str or Checkpointer, optional): Resumable state; a
            resumed run gives the numbers of an uninterrupted one.
        checkpoint_every (int): Epochs between checkpoints.
        progress (bool): Show a progress bar.
        desc (str): Progress-bar label.
        on_epoch (callable, optional): ``on_epoch(phase, epoch, metrics)``.
        interrupt (callable, optional): Called after every epoch (test
            hook).

    Returns:
        FitResult: the metrics of the best validation epoch
        (``'{split}_{metric}'`` for ``val``/``test``, ``'train_loss'``, and
        ``'gate_same_class'``/``'gate_cross_class'`` where they apply), the
        history and the best epoch; :obj:`model` (and the head) hold the
        selected weights.

    .. note::
        For an example, see ``examples/thegcn.py``.
    """
    device_given = device is not None
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"'model' must be a torch.nn.Module, got "
                        f"{type(model).__name__}")
    task = make_temporal_task(task)
    data = _task_data(task, data)
    if head is not None and not isinstance(head, torch.nn.Module):
        raise TypeError(f"'head' must be None or a torch.nn.Module, got "
                        f"{type(head).__name__}")
    if head is not None and task.kind != 'link':
        raise ValueError(f"'head' is only used by temporal link "
                         f"prediction, not by {task.name or task!r}")
    _check_number('max_train_batches', max_train_batches, 1, integer=True,
                  optional=True)
    _check_number('ssl_weight', ssl_weight, 0)
    if generator is None:
        generator = torch.Generator().manual_seed(torch.initial_seed())
    elif not isinstance(generator, torch.Generator) or \
            generator.device.type != 'cpu':
        raise ValueError(f"'generator' must be a CPU torch.Generator (batch "
                         f"order and negatives are drawn on the host, where "
                         f"the temporal sampler runs), got "
                         f"{getattr(generator, 'device', generator)!r}")
    if data.on_host().split.get('train', torch.zeros(0)).numel() == 0:
        raise ValueError("'data' has no training queries (empty 'train' "
                         "split)")
    task.check_model(model, data)
    kind = model_kind(model)
    built = task.kind == 'link' and head is None
    if built:
        out_ch = getattr(model, 'out_channels', None)
        head = task.make_head(data, out_ch if isinstance(out_ch, int) else
                              task.model_channels(data)[1])
    model, data, device = place(model, data, device)
    if head is not None:
        hdev = module_device(head)
        if built or device_given:
            head = head.to(device)
        elif hdev is not None and not same_device(hdev, device):
            raise ValueError(f"'head' is on {hdev} but the model is on "
                             f"{device}; move one of them or pass "
                             f"device=... to move both")
    task.prepare(data, kind)
    if kind == 'pair':
        return _fit_pair_model(model, head, task, data)
    if kind == 'stream':
        replay_plan(task, data, ['train'])
        replay_plan(task, data, EVAL_SPLITS)

    modules = {'model': model}
    if head is not None:
        modules['head'] = head
    gens = {'generator': generator}
    if kind == 'temporal':
        gens['sampler'] = task.sampler(data).generator
    trainer = Trainer(modules, device=device, checkpoint=checkpoint,
                      checkpoint_every=checkpoint_every, generators=gens,
                      progress=progress, desc=desc, on_epoch=on_epoch,
                      interrupt=interrupt)
    params = list(model.parameters()) + (list(head.parameters())
                                         if head is not None else [])
    opt = trainer.optimizer('optimizer', params, optimizer, lr, weight_decay)

    def step(epoch: int) -> Optional[Tensor]:
        return train_epoch(kind, model, head, task, data, opt, generator,
                           max_train_batches, ssl_weight)

    def evaluate(epoch: int) -> Dict[str, float]:
        outputs = predict_splits(kind, model, head, task, data, EVAL_SPLITS)
        return task.compute_metrics(outputs, data)

    ph = trainer.phase('train', step, evaluate, epochs=epochs,
                       monitor=f'val_{task.metric}',
                       mode='max' if task.higher_is_better else 'min',
                       patience=patience, eval_every=eval_every)
    metrics: Dict[str, Any] = {k: v for k, v in ph.best_metrics.items()
                               if k != 'epoch'}
    if gate_stats and kind == 'temporal' and task.kind == 'node' and \
            ph.improved:
        metrics.update(gate_statistics(model, task, data, 'val'))
    extras = {'head': head} if head is not None else {}
    return trainer.result(metrics, ph.history, ph.best_epoch, **extras)
