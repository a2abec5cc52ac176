r"""The one training engine of pyg_ext.

Every method's ``fit_*`` function (:mod:`pyg_ext.fit`) and the loop
(:mod:`pyg_ext.train`) train through :class:`Trainer`: a method writes its
*schedule* (which modules train, on which loss, in which order) as a
sequence of named :meth:`Trainer.phase` calls, and the engine does the rest
the same way for all of them:

* the epoch loop with evaluation every :obj:`eval_every` epochs, model
  selection on a chosen metric and early stopping (:obj:`patience`
  evaluations without a strict improvement),
* best-state snapshots (restored at the end of a phase),
* resumable state: modules, optimizers, every random generator (Python,
  NumPy, torch CPU and CUDA, and the method's own generators), the phase
  and epoch, the best state and the schedule's own values, written
  atomically every :obj:`checkpoint_every` epochs and at the end of every
  phase; a resumed run gives the numbers of an uninterrupted one,
* one optimizer factory (:func:`make_optimizer`),
* a progress bar (tqdm) that can be turned off, and per-epoch hooks
  (``on_epoch`` for logging, ``interrupt`` as a test hook to simulate a kill).

The engine never reads a tensor value inside a training step: a step
returns its loss as a tensor, and losses are brought to the host only when
an evaluation runs.

Example:
    >>> import torch
    >>> model = torch.nn.Linear(2, 1)
    >>> x, y = torch.randn(8, 2), torch.randn(8, 1)
    >>> trainer = Trainer({'model': model}, progress=False)
    >>> opt = trainer.optimizer('opt', model.parameters(), lr=0.1)
    >>> def step(epoch):
    ...     loss = torch.nn.functional.mse_loss(model(x), y)
    ...     return trainer.backward(opt, loss)
    >>> def evaluate(epoch):
    ...     return {'val_loss': float(torch.nn.functional.mse_loss(model(x), y))}
    >>> res = trainer.phase('train', step, evaluate, epochs=5,
    ...                     monitor='val_loss', mode='min')
    >>> res.epochs_run
    5
"""
from dataclasses import dataclass, field
from typing import (Any, Callable, Dict, Iterable, List, Mapping, Optional,
                    Sequence, Union)

import torch
from torch import Tensor

from pyg_ext.utils.checkpoint import (Checkpointer, get_rng_state,
                                      set_rng_state)
from pyg_ext.utils.device import module_device, resolve_device
from pyg_ext.utils.distributed import (get_rank, get_world_size,
                                       is_distributed)
from pyg_ext.utils.validation import check_optim_args

__all__ = ['OPTIMIZERS', 'make_optimizer', 'FitResult', 'PhaseResult',
           'Trainer', 'as_checkpointer', 'state_snapshot', 'mark_checked']

OPTIMIZERS = ('adam', 'adamw', 'sgd')
MODES = ('max', 'min')
TIES = ('first', 'last')


def make_optimizer(params: Iterable, name: str = 'adam', lr: float = 0.01,
                   weight_decay: float = 0.0, **kwargs
                   ) -> torch.optim.Optimizer:
    r"""The optimizer factory of the package: ``'adam'``, ``'adamw'`` or
    ``'sgd'`` (further keyword arguments, e.g. ``momentum``, go to the torch
    optimizer, which rejects unknown ones)."""
    check_optim_args(lr, weight_decay, name, OPTIMIZERS)  # finite values
    cls = {'adam': torch.optim.Adam, 'adamw': torch.optim.AdamW,
           'sgd': torch.optim.SGD}[name]
    return cls(list(params), lr=float(lr), weight_decay=float(weight_decay),
               **kwargs)


@dataclass
class FitResult:
    r"""What every ``fit_*`` function returns.

    Attributes:
        metrics (dict): Flat floats of the selected model (e.g.
            ``'val_accuracy'``, ``'test_accuracy'``).
        history (dict): Per-evaluation lists (e.g. ``'train_loss'``,
            ``'val_accuracy'``, ``'epoch'``).
        best_epoch (int): The selected epoch (or round), ``-1`` if none.
        epochs_run (int): Epochs trained in total (all phases).
        extras (dict): Method-specific results (e.g. TEDDY's per-level
            table, Mowst's best round).
    """
    metrics: Dict[str, float] = field(default_factory=dict)
    history: Dict[str, List[float]] = field(default_factory=dict)
    best_epoch: int = -1
    epochs_run: int = 0
    extras: Dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        r"""``result['metrics']`` etc., and the extras by name."""
        if key in ('metrics', 'history', 'best_epoch', 'epochs_run',
                   'extras'):
            return getattr(self, key)
        return self.extras[key]

    def to_dict(self) -> Dict[str, Any]:
        out = dict(self.extras)
        out.update(metrics=self.metrics, history=self.history,
                   best_epoch=self.best_epoch, epochs_run=self.epochs_run)
        return out


@dataclass
class PhaseResult:
    r"""The outcome of one :meth:`Trainer.phase`.

    Attributes:
        best (float, optional): The best monitored value (:obj:`None` if no
            evaluation ran or nothing is monitored).
        best_epoch (int): Its epoch within the phase (the last epoch when
            nothing is monitored; ``-1`` if none).
        best_metrics (dict): The evaluation at :obj:`best_epoch`.
        improved (bool): Whether any evaluation set a best value (a phase
            whose every value is NaN never improves).
        epochs_run (int): Epochs trained in this phase.
        stopped_early (bool): Whether patience ran out.
        history (dict): Per-evaluation lists, with ``'epoch'`` and
            ``'train_loss'``.
    """
    best: Optional[float] = None
    best_epoch: int = -1
    best_metrics: Dict[str, float] = field(default_factory=dict)
    improved: bool = False
    epochs_run: int = 0
    stopped_early: bool = False
    history: Dict[str, List[float]] = field(default_factory=dict)


def state_snapshot(module: torch.nn.Module) -> Dict[str, Tensor]:
    r"""A detached copy of :obj:`module`'s state dict on its own device."""
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def as_checkpointer(checkpoint: Any, every: int = 10) -> Checkpointer:
    r"""A :class:`Checkpointer` from :obj:`None`, a path or a
    :class:`Checkpointer`."""
    if checkpoint is None:
        return Checkpointer(None, every)
    if isinstance(checkpoint, Checkpointer):
        return checkpoint
    if isinstance(checkpoint, (str, bytes)) or hasattr(checkpoint,
                                                       '__fspath__'):
        return Checkpointer(checkpoint, every)
    raise TypeError(f"'checkpoint' must be None, a path or a Checkpointer, "
                    f"got {type(checkpoint).__name__}")


def _is_better(value: float, best: Optional[float], mode: str,
               ties: str) -> bool:
    if value != value:  # NaN never improves
        return False
    if best is None:
        return True
    if ties == 'last':
        return value >= best if mode == 'max' else value <= best
    return value > best if mode == 'max' else value < best


def mark_checked(*modules: torch.nn.Module) -> None:
    r"""Marks every submodule with a ``validate = 'once'`` id check (see
    :func:`pyg_ext.nn._checks.check_ids_first_call`) as already checked:
    the ``fit_*`` entry points check the values of their data before they
    train, so the training steps need not read them again (no host
    synchronisation in a step)."""
    for m in modules:
        for sub in m.modules():
            if getattr(type(sub), 'validate', None) == 'once':
                sub._ids_checked = True


class Trainer:
    r"""The training engine: named modules, optimizers and generators, and
    resumable, early-stopped training phases.

    The modules are marked as value-checked (:func:`mark_checked`): their
    first ``forward`` no longer reads the node ids, so the caller checks
    its data before it builds the engine, as every ``fit_*`` entry point
    does.

    Args:
        modules (dict or torch.nn.Module): The modules whose weights are
            trained and checkpointed (a single module is named
            ``'model'``). They should already be on the training device.
        device (str or torch.device, optional): The device (default: the
            first module's).
        checkpoint (str or Checkpointer, optional): Where to keep the
            resumable state. If it holds a state, the modules, optimizers,
            generators and schedule values are restored from it and the
            phases already finished are skipped.
        checkpoint_every (int): Epochs between checkpoints within a phase
            (``0``: only at the end of each phase) when :obj:`checkpoint` is
            a path. (default: :obj:`10`)
        generators (dict, optional): Named :class:`torch.Generator` objects
            the schedule draws from; their states are checkpointed.
        progress (bool): Show a progress bar per phase.
        desc (str): Progress-bar prefix.
        on_epoch (callable, optional): ``on_epoch(phase, epoch, metrics)``
            after every evaluation.
        group (torch.distributed group, optional): Data-parallel training:
            rank 0 writes the checkpoints (with every rank's random state)
            and shows the progress bar; every rank resumes from the same
            file.
        interrupt (callable, optional): Called with the global epoch counter
            after every epoch (after a checkpoint due then; the last epoch of
            a phase is called before the phase's end is saved); a test hook
            that may raise to simulate a kill.
    """
    def __init__(self, modules: Union[torch.nn.Module,
                                      Mapping[str, torch.nn.Module]], *,
                 device=None, checkpoint=None, checkpoint_every: int = 10,
                 generators: Optional[Mapping[str, torch.Generator]] = None,
                 progress: bool = True, desc: str = '',
                 on_epoch: Optional[Callable[[str, int, Dict[str, float]],
                                             None]] = None,
                 interrupt: Optional[Callable[[int], None]] = None,
                 group=None):
        if isinstance(modules, torch.nn.Module):
            modules = {'model': modules}
        if not isinstance(modules, Mapping) or not modules or not all(
                isinstance(m, torch.nn.Module) for m in modules.values()):
            raise TypeError("'modules' must be a torch.nn.Module or a "
                            "non-empty dict of them")
        self.modules: Dict[str, torch.nn.Module] = dict(modules)
        mark_checked(*self.modules.values())
        if device is not None:
            self.device = resolve_device(device)
        else:
            devs = [module_device(m) for m in self.modules.values()]
            self.device = next((d for d in devs if d is not None),
                               torch.device('cpu'))
        self.ckpt = as_checkpointer(checkpoint, checkpoint_every)
        self.generators: Dict[str, torch.Generator] = dict(generators or {})
        self.group = group if group is not None and is_distributed(group) \
            else None
        # without a group this is single-process training (also on one rank
        # of a sharded torchrun job): it writes its own checkpoints
        self.rank = get_rank(self.group) if self.group is not None else 0
        self.progress = bool(progress) and self.rank == 0
        self.desc = desc
        self.on_epoch, self.interrupt = on_epoch, interrupt
        self.optimizers: Dict[str, torch.optim.Optimizer] = {}
        self.state: Dict[str, Any] = {}
        self.counter = 0  # epochs trained, all phases
        self._done: Dict[str, PhaseResult] = {}
        self._current: Optional[Dict[str, Any]] = None
        self._pending_opt: Dict[str, Any] = {}
        loaded = self.ckpt.load()
        self.resumed = loaded is not None
        if loaded is not None:
            self._restore(loaded)

    # state -------------------------------------------------------------
    def _restore(self, st: Dict[str, Any]) -> None:
        missing = set(self.modules) - set(st['modules'])
        if missing:
            raise ValueError(f"checkpoint {self.ckpt.path}: has no state "
                             f"for module(s) {sorted(missing)}; it was "
                             f"written by another schedule")
        for name, m in self.modules.items():
            m.load_state_dict(st['modules'][name])
        self._pending_opt = dict(st['optimizers'])
        ranks = st.get('rng_ranks')
        if self.group is not None and ranks is not None and \
                len(ranks) == get_world_size(self.group):
            set_rng_state(ranks[self.rank])
        else:
            set_rng_state(st['rng'])
        for name, g_state in st['generators'].items():
            if name in self.generators:
                self.generators[name].set_state(g_state)
        self.state = st['state']
        self.counter = st['counter']
        self._done = {k: PhaseResult(**v) for k, v in st['done'].items()}
        self._current = st['current']

    def state_dict(self) -> Dict[str, Any]:
        r"""Everything a resumed run needs (tensors on their devices;
        :meth:`save` writes it)."""
        rng = get_rng_state()
        ranks = None
        if self.group is not None:  # every rank's own random state
            ranks = [None] * get_world_size(self.group)
            torch.distributed.all_gather_object(ranks, rng, group=self.group)
        return {
            'version': 1,
            'modules': {k: m.state_dict() for k, m in self.modules.items()},
            'optimizers': {k: o.state_dict()
                           for k, o in self.optimizers.items()},
            'rng': rng,
            'rng_ranks': ranks,
            'generators': {k: g.get_state()
                           for k, g in self.generators.items()},
            'state': self.state,
            'counter': self.counter,
            'done': {k: vars(v) for k, v in self._done.items()},
            'current': self._current,
        }

    def save(self) -> None:
        r"""Writes a checkpoint now (no-op without a checkpoint path). In a
        process group every rank must call it (the random states are
        gathered); rank 0 writes."""
        if self.ckpt.enabled:
            state = self.state_dict()
            if self.rank == 0:
                self.ckpt.save(state)

    def optimizer(self, name: str, params: Iterable, kind: str = 'adam',
                  lr: float = 0.01, weight_decay: float = 0.0, **kwargs
                  ) -> torch.optim.Optimizer:
        r"""Creates (or re-creates) the named optimizer with
        :func:`make_optimizer`; on resume it gets its saved state."""
        opt = make_optimizer(params, kind, lr, weight_decay, **kwargs)
        saved = self._pending_opt.pop(name, None)
        if saved is not None:
            opt.load_state_dict(saved)
        self.optimizers[name] = opt
        return opt

    def drop_optimizer(self, name: str) -> None:
        r"""Forgets a finished phase's optimizer (not checkpointed any
        more)."""
        self.optimizers.pop(name, None)
        self._pending_opt.pop(name, None)

    def memo(self, key: str, fn: Callable[[], Any]) -> Any:
        r"""``fn()`` computed once and kept in the checkpointed schedule
        state: a resumed run gets the stored value (e.g. the weights before
        a phase that may be rolled back)."""
        store = self.state.setdefault('_memo', {})
        if key not in store:
            store[key] = fn()
        return store[key]

    def forget(self, key: str) -> None:
        self.state.get('_memo', {}).pop(key, None)

    def done(self, name: str) -> bool:
        r"""Whether phase :obj:`name` has finished (in this run or the one
        resumed)."""
        return name in self._done

    @staticmethod
    def backward(optimizer: torch.optim.Optimizer, loss: Tensor) -> Tensor:
        r"""``zero_grad``, ``backward``, ``step``; returns the detached
        loss (no host sync)."""
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.detach()

    # phases ------------------------------------------------------------
    def phase(self, name: str, step: Callable[[int], Optional[Tensor]],
              evaluate: Optional[Callable[[int], Dict[str, float]]] = None,
              *, epochs: int, monitor: Optional[str] = None,
              mode: str = 'max', patience: Optional[int] = None,
              eval_every: int = 1, ties: str = 'first',
              restore_best: bool = True,
              snapshot: Optional[Sequence[str]] = None) -> PhaseResult:
        r"""Runs (or resumes, or skips when finished) one training phase.

        Each epoch calls ``step(epoch)`` (train; returns the epoch's loss as
        a tensor, or :obj:`None`), and every :obj:`eval_every` epochs (and
        after the last) ``evaluate(epoch)`` (a dict of floats, with
        :obj:`monitor` among its keys). The history holds one entry per
        evaluation; without :obj:`evaluate`, the per-epoch losses (read
        from the device once, at the end of the phase). The phase stops after
        :obj:`epochs` epochs or when :obj:`patience` evaluations in a row
        brought no improvement.

        Args:
            name (str): A unique phase name within the schedule.
            step (callable): One training epoch.
            evaluate (callable, optional): The evaluation.
            epochs (int): Maximum epochs.
            monitor (str, optional): The selection metric (:obj:`None`:
                the last epoch is the selected one).
            mode (str): ``'max'`` or ``'min'``.
            patience (int, optional): Evaluations without improvement
                before stopping (:obj:`None`: never stop early).
            eval_every (int): Epochs between evaluations.
            ties (str): ``'first'`` (strict improvement: the earlier epoch
                wins a tie) or ``'last'`` (the later epoch wins).
            restore_best (bool): Load the best snapshot at the end.
            snapshot (list of str, optional): The modules whose weights are
                snapshotted and restored (default: all).
        """
        if name in self._done:
            return self._done[name]
        if isinstance(epochs, bool) or not isinstance(epochs, int) or \
                epochs < 0:
            raise ValueError(f"'epochs' must be an int >= 0, got {epochs!r}")
        if mode not in MODES:
            raise ValueError(f"'mode' must be one of {MODES}, got {mode!r}")
        if ties not in TIES:
            raise ValueError(f"'ties' must be one of {TIES}, got {ties!r}")
        if patience is not None and (isinstance(patience, bool) or
                                     not isinstance(patience, int) or
                                     patience < 1):
            raise ValueError(f"'patience' must be None or an int >= 1, got "
                             f"{patience!r}")
        if isinstance(eval_every, bool) or not isinstance(eval_every, int) \
                or eval_every < 1:
            raise ValueError(f"'eval_every' must be an int >= 1, got "
                             f"{eval_every!r}")
        if monitor is not None and evaluate is None:
            raise ValueError(f"phase '{name}': 'monitor' needs 'evaluate'")
        names = list(self.modules) if snapshot is None else list(snapshot)
        for n in names:
            if n not in self.modules:
                raise ValueError(f"'snapshot': unknown module {n!r}; known: "
                                 f"{sorted(self.modules)}")

        cur = self._current
        if cur is None or cur['name'] != name:
            cur = {'name': name, 'epoch': 0, 'best': None, 'best_epoch': -1,
                   'best_metrics': {}, 'bad': 0, 'history': {},
                   'best_state': None, 'stopped': False, 'pending': []}
            self._current = cur
        bar = None
        if self.progress and epochs > 0:
            from tqdm.auto import tqdm
            label = f'{self.desc} {name}'.strip()
            bar = tqdm(total=epochs, initial=cur['epoch'], desc=label,
                       leave=False)
        loss_acc: Optional[Tensor] = None
        try:
            while cur['epoch'] < epochs and not cur['stopped']:
                epoch = cur['epoch']
                loss = step(epoch)
                if loss is not None:
                    loss_acc = loss.detach()
                last = epoch + 1 == epochs
                if evaluate is not None and ((epoch + 1) % eval_every == 0
                                             or last):
                    metrics = dict(evaluate(epoch))
                    if loss_acc is not None and 'train_loss' not in metrics:
                        metrics['train_loss'] = float(loss_acc)
                    metrics['epoch'] = epoch
                    for k, v in metrics.items():
                        cur['history'].setdefault(k, []).append(float(v))
                    self._select(cur, metrics, monitor, mode, ties, names,
                                 restore_best, patience)
                    if self.on_epoch is not None:
                        self.on_epoch(name, epoch, metrics)
                    if bar is not None and cur['best'] is not None:
                        bar.set_postfix(best=f"{cur['best']:.4f}")
                elif evaluate is None:
                    cur['best_epoch'] = epoch
                    if loss is not None:  # read at the end, in one go
                        cur['pending'].append((epoch, loss.detach()))
                cur['epoch'] = epoch + 1
                self.counter += 1
                if bar is not None:
                    bar.update(1)
                finished = cur['stopped'] or cur['epoch'] >= epochs
                if not finished and self.ckpt.due(epoch):
                    self.save()
                if self.interrupt is not None:
                    self.interrupt(self.counter - 1)
        finally:
            if bar is not None:
                bar.close()
        return self._finish(cur, names, restore_best)

    def _select(self, cur, metrics, monitor, mode, ties, names, restore_best,
                patience) -> None:
        epoch = metrics['epoch']
        if monitor is None:
            cur['best_epoch'], cur['best_metrics'] = epoch, metrics
            return
        if monitor not in metrics:
            raise KeyError(f"phase '{cur['name']}': evaluate() returned no "
                           f"'{monitor}' (got {sorted(metrics)})")
        value = float(metrics[monitor])
        if _is_better(value, cur['best'], mode, ties):
            cur['best'], cur['best_epoch'], cur['bad'] = value, epoch, 0
            cur['best_metrics'] = metrics
            if restore_best:
                cur['best_state'] = {n: state_snapshot(self.modules[n])
                                     for n in names}
        else:
            cur['bad'] += 1
        cur['stopped'] = patience is not None and cur['bad'] >= patience

    def _finish(self, cur, names, restore_best) -> PhaseResult:
        if cur['pending']:
            epochs = [e for e, _ in cur['pending']]
            losses = torch.stack([v.float() for _, v in cur['pending']])
            cur['history'] = {'train_loss': losses.tolist(),
                              'epoch': [float(e) for e in epochs]}
            cur['pending'] = []
        if restore_best and cur['best_state'] is not None:
            for n, sd in cur['best_state'].items():
                self.modules[n].load_state_dict(sd)
        res = PhaseResult(best=cur['best'], best_epoch=cur['best_epoch'],
                          best_metrics=cur['best_metrics'],
                          improved=cur['best'] is not None,
                          epochs_run=cur['epoch'],
                          stopped_early=cur['stopped'],
                          history=cur['history'])
        self._done[cur['name']] = res
        self._current = None
        self.save()
        return res

    def result(self, metrics: Dict[str, float],
               history: Optional[Dict[str, List[float]]] = None,
               best_epoch: int = -1, **extras) -> FitResult:
        r"""A :class:`FitResult` with :obj:`epochs_run` = all epochs."""
        return FitResult(metrics=dict(metrics), history=history or {},
                         best_epoch=best_epoch, epochs_run=self.counter,
                         extras=extras)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(modules={list(self.modules)}, '
                f'device={self.device}, checkpoint={self.ckpt.path})')

