r"""Training schedules of Mowst (alternating turns, paper Algorithm 2) and
Mowst* (joint training), full-batch, resumable at turn/epoch boundaries."""
import copy
import math
from typing import Any, Callable, Dict, List, Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from pyg_ext.nn.models.mowst import Mowst

__all__ = ['fit_mowst', 'fit_mowst_star', 'evaluate_mowst', 'set_expert_dropout']

PRETRAIN = ('none', 'weak', 'strong', 'both')


def _make_opt(params, optimizer: str, lr: float, weight_decay: float):
    params = list(params)
    if optimizer == 'adamw':
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    if optimizer == 'adam':
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    raise ValueError(f"'optimizer' must be 'adam' or 'adamw', got "
                     f"{optimizer!r}")


def set_expert_dropout(model: Mowst, p: float) -> None:
    r"""Sets the dropout probability of both experts and of the gate to
    :obj:`p`, as the official code does after its pre-training prelude
    (it switches every model's dropout to ``--dropout_gate``).

    Changes, outside message-passing layers: :class:`torch.nn.Dropout`
    modules (PyG's :class:`~torch_geometric.nn.models.basic_gnn.BasicGNN`
    models), the per-layer list of PyG's
    :class:`~torch_geometric.nn.models.MLP` (its hidden layers; a plain last
    layer keeps no dropout) and float :obj:`dropout` attributes of modules
    that apply functional dropout (:class:`GateMLP` and the package's own
    backbones). The internals of message-passing layers are left as built:
    attention dropout (e.g. :class:`~torch_geometric.nn.GATConv`,
    :class:`torch.nn.MultiheadAttention`) and the MLPs inside
    :class:`~torch_geometric.nn.GINConv`.

    A custom gate without any of these is left as it is (it has no dropout
    to switch).

    Raises:
        ValueError: If :obj:`p` is not in :math:`[0, 1)`, or an expert has
            none of the above, so its dropout cannot be found.
    """
    p = _check_dropout(p)
    for m in _dropout_sites(model):
        if isinstance(m, torch.nn.modules.dropout._DropoutNd):
            m.p = p
        elif isinstance(m, list):  # PyG MLP: (module, hidden layer count)
            mlp, last = m
            mlp.dropout = [p] * last + list(mlp.dropout[last:])
        else:  # a module with a float 'dropout' attribute
            m.dropout = p
    if model.gate is not None:
        model.gate_dropout = p


def _check_dropout(p) -> float:
    if (isinstance(p, bool) or not isinstance(p, (int, float))
            or not 0.0 <= float(p) < 1.0):
        raise ValueError(f"'dropout_after_pretrain' must be a float in "
                         f"[0, 1), got {p!r}")
    return float(p)


def _dropout_sites(model: Mowst) -> list:
    r"""What :func:`set_expert_dropout` changes; raises if an expert has
    none."""
    from torch_geometric.nn import MessagePassing
    from torch_geometric.nn.models import MLP

    sites = []
    parts = [('weak', model.weak), ('strong', model.strong)]
    if isinstance(model.gate, torch.nn.Module):
        parts.append(('gate', model.gate))
    for name, part in parts:
        n = len(sites)
        stack = [part]
        while stack:  # pre-order walk that does not enter MessagePassing
            m = stack.pop()
            if isinstance(m, MessagePassing):
                continue
            if isinstance(m, torch.nn.modules.dropout._DropoutNd):
                sites.append(m)
            elif isinstance(m, MLP):
                sites.append([m, len(m.dropout) - (1 if m.plain_last else 0)])
            elif (isinstance(getattr(m, 'dropout', None), float)
                  and not isinstance(m, torch.nn.MultiheadAttention)):
                sites.append(m)
            stack.extend(m.children())
        if len(sites) == n and name != 'gate':
            raise ValueError(
                f"dropout_after_pretrain: the {name} expert "
                f"({part.__class__.__name__}) has no torch.nn.Dropout "
                f"module, PyG MLP or float 'dropout' attribute whose "
                f"dropout could be set; pass dropout_after_pretrain=None and "
                f"set it yourself")
    return sites


def _check_resume_dropout(resume: Dict[str, Any], p: Optional[float]):
    saved = resume.get('dropout_after_pretrain')
    if saved != p:
        raise ValueError(f"'dropout_after_pretrain' is {p!r} but the state "
                         f"to resume was trained with {saved!r}; resume "
                         f"with the same value")


def _check_data(model: Mowst, data) -> None:
    if not isinstance(model, Mowst):
        raise TypeError(f"'model' must be a Mowst, got "
                        f"{type(model).__name__}")
    for key in ('x', 'edge_index', 'y', 'train_mask', 'val_mask'):
        if getattr(data, key, None) is None:
            raise ValueError(f"'data' must have '{key}'")
    for key in ('train_mask', 'val_mask', 'test_mask'):
        m = getattr(data, key, None)
        if m is not None and m.dim() != 1:
            raise ValueError(f"'data.{key}' must be 1-D (select one split "
                             f"first), got shape {tuple(m.shape)}")
    if int(data.train_mask.sum()) == 0:
        raise ValueError("'data.train_mask' selects no nodes")


def _masks(data) -> Dict[str, Tensor]:
    out = {'train': data.train_mask, 'val': data.val_mask}
    if getattr(data, 'test_mask', None) is not None:
        out['test'] = data.test_mask
    return out


def _snapshot(module: torch.nn.Module) -> Dict[str, Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _model_snapshot(model: Mowst, with_gate: bool = True) -> Dict[str, Any]:
    snap = {'weak': _snapshot(model.weak), 'strong': _snapshot(model.strong)}
    if with_gate and model.gate is not None:
        snap['gate'] = _snapshot(model.gate)
    return snap


def _load_snapshot(model: Mowst, snap: Dict[str, Any]) -> None:
    model.weak.load_state_dict(snap['weak'])
    model.strong.load_state_dict(snap['strong'])
    if 'gate' in snap and model.gate is not None:
        model.gate.load_state_dict(snap['gate'])


@torch.no_grad()
def evaluate_mowst(model: Mowst, data, **kwargs) -> Dict[str, float]:
    r"""Full-batch evaluation in eval mode: per split, the exact expected
    accuracy of Mowst's random routing (``'<split>_accuracy'`` for Mowst;
    ``'<split>_expected_accuracy'`` in both variants), the mixture argmax
    accuracy (``'<split>_mixture_accuracy'``; the ``'<split>_accuracy'`` of
    Mowst*), each expert's accuracy, the mean confidence and the loss."""
    was = model.training
    model.eval()
    try:
        out = model(data.x, data.edge_index, **kwargs)
        if model.legacy_double_softmax:
            conf = model.confidence(out.weak_logits, data.x,
                                    double_softmax=True)
            out = model.make_output(out.weak_logits, out.strong_logits, conf)
    finally:
        model.train(was)
    y = data.y
    wc = out.weak_logits.argmax(-1) == y
    sc = out.strong_logits.argmax(-1) == y
    mc = out.log_probs.argmax(-1) == y
    res = {}
    for split, mask in _masks(data).items():
        ea = Mowst.expected_accuracy(out.conf[mask], wc[mask], sc[mask])
        ma = float(mc[mask].double().mean()) if mask.any() else float('nan')
        res[f'{split}_expected_accuracy'] = ea
        res[f'{split}_mixture_accuracy'] = ma
        res[f'{split}_accuracy'] = ea if model.variant == 'mowst' else ma
        res[f'{split}_weak_accuracy'] = float(wc[mask].double().mean())
        res[f'{split}_strong_accuracy'] = float(sc[mask].double().mean())
        res[f'{split}_confidence'] = float(out.conf[mask].mean())
        res[f'{split}_loss'] = float(model.loss(out, y, mask))
    return res


class _Stopper:
    r"""Best-value tracking with patience (strict improvement)."""
    def __init__(self, patience: Optional[int], higher: bool):
        self.patience = patience
        self.higher = higher
        self.best = -math.inf if higher else math.inf
        self.wait = 0

    def step(self, value: float) -> bool:
        better = value > self.best if self.higher else value < self.best
        if better:
            self.best = value
            self.wait = 0
        else:
            self.wait += 1
        return better

    @property
    def stop(self) -> bool:
        return self.patience is not None and self.wait >= self.patience

    def state(self):
        return {'best': self.best, 'wait': self.wait}

    def load(self, s):
        self.best, self.wait = s['best'], s['wait']


def _pretrain(module_fn: Callable[[], Tensor], module: torch.nn.Module,
              opt: torch.optim.Optimizer, data, epochs: int,
              patience: Optional[int], tick: Callable[[], None]) -> None:
    r"""Plain classifier training with early stopping on the validation loss;
    reloads the best weights."""
    stopper = _Stopper(patience, higher=False)
    best = _snapshot(module)
    for _ in range(epochs):
        module.train()
        opt.zero_grad()
        loss = F.cross_entropy(module_fn()[data.train_mask],
                               data.y[data.train_mask])
        loss.backward()
        opt.step()
        module.eval()
        with torch.no_grad():
            val = float(F.cross_entropy(module_fn()[data.val_mask],
                                        data.y[data.val_mask]))
        if stopper.step(val):
            best = _snapshot(module)
        tick()
        if stopper.stop:
            break
    module.load_state_dict(best)


def fit_mowst(
    model: Mowst,
    data,
    lr: float = 0.01,
    weight_decay: float = 5e-4,
    pretrain: str = 'strong',
    pretrain_epochs: int = 1000,
    pretrain_patience: Optional[int] = 100,
    max_epochs: int = 1000,
    patience: Optional[int] = 100,
    max_rounds: int = 100,
    big_patience: Optional[int] = 10,
    optimizer: str = 'adamw',
    checkpoint_gate: bool = True,
    dropout_after_pretrain: Optional[float] = None,
    progress: bool = False,
    callback: Optional[Callable[[int], None]] = None,
    checkpoint_fn: Optional[Callable[[Dict[str, Any]], None]] = None,
    resume: Optional[Dict[str, Any]] = None,
    **kwargs,
) -> Dict[str, Any]:
    r"""Trains a Mowst with the alternating schedule of the paper
    (Algorithm 2) and its official code.

    After optional pre-training of the experts as plain classifiers, each
    *round* has a weak turn (optimise the weak expert and the gate on
    :meth:`Mowst.loss` with the strong expert frozen) and a strong turn
    (optimise the strong expert with the weak expert and gate frozen). A turn
    runs up to :obj:`max_epochs` steps with early stopping on the validation
    expected accuracy (:obj:`patience`); afterwards its best step is kept if
    it beats the best so far, else the model is rolled back to its pre-turn
    weights. Training stops when :obj:`big_patience` rounds in a row bring no
    improvement. Selection is by validation expected accuracy
    (:meth:`Mowst.expected_accuracy`).

    The frozen expert's output is computed once per turn in eval mode.

    Args:
        model (Mowst): The model (:obj:`variant='mowst'`).
        data (torch_geometric.data.Data): With :obj:`x`, :obj:`edge_index`,
            :obj:`y` and 1-D :obj:`train_mask`, :obj:`val_mask` (and
            optionally :obj:`test_mask`).
        lr (float, optional): Learning rate of both turns (the official code
            uses ``--lr`` for both; ``--lr_gate`` is unused by Mowst).
        weight_decay (float, optional): Weight decay.
        pretrain (str, optional): :obj:`'none'`, :obj:`'weak'`,
            :obj:`'strong'` or :obj:`'both'` (the official ``--submethod``;
            most official README commands pre-train the strong expert).
            (default: :obj:`'strong'`)
        pretrain_epochs (int, optional): Max pre-training epochs.
        pretrain_patience (int, optional): Pre-training patience on the
            validation loss (the official code, by a bug, watches the training
            loss).
        max_epochs (int, optional): Max steps per turn.
        patience (int, optional): Per-turn patience (:obj:`None`: none).
        max_rounds (int, optional): Max rounds (the code's "big epochs").
        big_patience (int, optional): Rounds without improvement before
            stopping (:obj:`None`: run all rounds).
        optimizer (str, optional): :obj:`'adamw'` (official) or
            :obj:`'adam'`.
        checkpoint_gate (bool, optional): Roll the gate back together with
            the experts (library default); :obj:`False` reproduces the
            official code, which keeps the gate's latest weights.
        dropout_after_pretrain (float, optional): After pre-training (also
            with :obj:`pretrain='none'`), set the dropout of both experts
            and of the gate to this value for the rest of training, as the
            official code does with ``--dropout_gate``
            (:func:`set_expert_dropout`; the model keeps it afterwards).
            :obj:`None` (library default) leaves every dropout as built.
        progress (bool, optional): Show a progress bar over rounds.
        callback (callable, optional): Called with the global step counter
            after every optimisation step.
        checkpoint_fn (callable, optional): Called with a resumable state
            dict after pre-training and after every turn.
        resume (dict, optional): A state from :obj:`checkpoint_fn` to resume
            from; the result equals that of an uninterrupted run.
        **kwargs: Passed to the strong expert.

    Returns:
        dict: ``'metrics'`` (from :func:`evaluate_mowst` for the selected
        model), ``'history'`` (per round: ``'val_accuracy'``,
        ``'train_loss'``), ``'best_round'``, ``'num_steps'``.
    """
    _check_data(model, data)
    if model.variant != 'mowst':
        raise ValueError("fit_mowst trains variant='mowst'; use "
                         "fit_mowst_star for variant='mowst_star'")
    if pretrain not in PRETRAIN:
        raise ValueError(f"'pretrain' must be one of {PRETRAIN}, got "
                         f"{pretrain!r}")
    for name, val in (('max_epochs', max_epochs), ('max_rounds', max_rounds),
                      ('pretrain_epochs', pretrain_epochs)):
        if not isinstance(val, int) or val < (0 if name == 'pretrain_epochs'
                                              else 1):
            raise ValueError(f"'{name}' must be a positive int, got {val!r}")
    if dropout_after_pretrain is not None:
        _check_dropout(dropout_after_pretrain)
        _dropout_sites(model)
    x, edge_index, y = data.x, data.edge_index, data.y
    train_mask, val_mask = data.train_mask, data.val_mask
    opt_w = _make_opt(model.weak_parameters(), optimizer, lr, weight_decay)
    opt_s = _make_opt(model.strong_parameters(), optimizer, lr, weight_decay)

    st = {'phase': 'pretrain', 'round': 0, 'turn': 0, 'step': 0,
          'history': {'val_accuracy': [], 'train_loss': []},
          'bad_rounds': 0, 'best_val': -math.inf, 'best': None,
          'best_round': -1, 'round_start_best': -math.inf,
          'dropout_after_pretrain': dropout_after_pretrain}
    if resume is not None:
        _check_resume_dropout(resume, dropout_after_pretrain)
        st = copy.deepcopy({k: v for k, v in resume.items()
                            if k not in ('model', 'opt_w', 'opt_s', 'rng')})
        _load_snapshot(model, resume['model'])
        opt_w.load_state_dict(resume['opt_w'])
        opt_s.load_state_dict(resume['opt_s'])
        torch.set_rng_state(resume['rng'])
        if st['phase'] != 'pretrain' and dropout_after_pretrain is not None:
            set_expert_dropout(model, dropout_after_pretrain)

    def tick():
        st['step'] += 1
        if callback is not None:
            callback(st['step'] - 1)

    def save():
        if checkpoint_fn is not None:
            state = copy.deepcopy(st)
            state.update(model=_model_snapshot(model),
                         opt_w=copy.deepcopy(opt_w.state_dict()),
                         opt_s=copy.deepcopy(opt_s.state_dict()),
                         rng=torch.get_rng_state())
            checkpoint_fn(state)

    def val_expected(out) -> float:
        wc = out.weak_logits[val_mask].argmax(-1) == y[val_mask]
        sc = out.strong_logits[val_mask].argmax(-1) == y[val_mask]
        return Mowst.expected_accuracy(out.conf[val_mask], wc, sc)

    if st['phase'] == 'pretrain':
        if pretrain in ('weak', 'both'):
            _pretrain(lambda: model.weak_forward(x), model.weak, opt_w, data,
                      pretrain_epochs, pretrain_patience, tick)
        if pretrain in ('strong', 'both'):
            _pretrain(lambda: model.strong_forward(x, edge_index, **kwargs),
                      model.strong, opt_s, data, pretrain_epochs,
                      pretrain_patience, tick)
        if dropout_after_pretrain is not None:
            set_expert_dropout(model, dropout_after_pretrain)
        model.eval()
        with torch.no_grad():
            st['best_val'] = val_expected(model(x, edge_index, **kwargs))
        st['best'] = _model_snapshot(model, checkpoint_gate)
        st['round_start_best'] = st['best_val']
        st['phase'] = 'rounds'
        save()

    pbar = None
    if progress:
        from tqdm import tqdm
        pbar = tqdm(total=max_rounds, initial=st['round'], desc='Mowst')
    while st['round'] < max_rounds:
        while st['turn'] < 2:
            weak_turn = st['turn'] == 0
            opt = opt_w if weak_turn else opt_s
            pre = _model_snapshot(model, checkpoint_gate)
            model.eval()
            with torch.no_grad():
                if weak_turn:
                    frozen = model.strong_forward(x, edge_index, **kwargs)
                else:
                    frozen_w = model.weak_forward(x)
                    frozen_c = model.confidence(frozen_w, x)
            stopper = _Stopper(patience, higher=True)
            turn_best = None
            last_loss = float('nan')
            for _ in range(max_epochs):
                model.train()
                opt.zero_grad()
                if weak_turn:
                    w = model.weak_forward(x)
                    out = model.make_output(w, frozen,
                                            model.confidence(w, x))
                else:
                    s = model.strong_forward(x, edge_index, **kwargs)
                    out = model.make_output(frozen_w, s, frozen_c)
                loss = model.loss(out, y, train_mask)
                loss.backward()
                opt.step()
                last_loss = float(loss.detach())
                model.eval()
                with torch.no_grad():
                    if weak_turn:
                        w = model.weak_forward(x)
                        out = model.make_output(w, frozen,
                                                model.confidence(w, x))
                    else:
                        s = model.strong_forward(x, edge_index, **kwargs)
                        out = model.make_output(frozen_w, s, frozen_c)
                    val = val_expected(out)
                if stopper.step(val):
                    turn_best = _model_snapshot(model, checkpoint_gate)
                tick()
                if stopper.stop:
                    break
            if turn_best is not None and stopper.best > st['best_val']:
                _load_snapshot(model, turn_best)
                st['best_val'] = stopper.best
                st['best'] = turn_best
                st['best_round'] = st['round']
            else:
                _load_snapshot(model, pre)
            st['history']['train_loss'].append(last_loss)
            st['turn'] += 1
            save()
        st['history']['val_accuracy'].append(st['best_val'])
        if st['best_val'] > st['round_start_best']:
            st['bad_rounds'] = 0
        else:
            st['bad_rounds'] += 1
        st['round_start_best'] = st['best_val']
        st['round'] += 1
        st['turn'] = 0
        if pbar is not None:
            pbar.update(1)
            pbar.set_postfix(val=f"{st['best_val']:.4f}")
        save()
        if big_patience is not None and st['bad_rounds'] >= big_patience:
            break
    if pbar is not None:
        pbar.close()
    _load_snapshot(model, st['best'])
    metrics = evaluate_mowst(model, data, **kwargs)
    return {'metrics': metrics, 'history': st['history'],
            'best_round': st['best_round'], 'num_steps': st['step']}


def fit_mowst_star(
    model: Mowst,
    data,
    lr: float = 0.01,
    weight_decay: float = 5e-4,
    pretrain: str = 'strong',
    pretrain_epochs: int = 1000,
    pretrain_patience: Optional[int] = 100,
    max_epochs: int = 1000,
    patience: Optional[int] = 100,
    optimizer: str = 'adamw',
    pretrain_lr: Optional[float] = None,
    dropout_after_pretrain: Optional[float] = None,
    progress: bool = False,
    callback: Optional[Callable[[int], None]] = None,
    checkpoint_fn: Optional[Callable[[Dict[str, Any]], None]] = None,
    checkpoint_every: int = 10,
    resume: Optional[Dict[str, Any]] = None,
    **kwargs,
) -> Dict[str, Any]:
    r"""Trains a Mowst* jointly: one optimiser over both experts and the gate
    on the mixture loss (paper Eq. 3), keeping the weights with the best
    validation loss, with early stopping on the validation loss
    (:obj:`patience=None` runs all epochs, as the official code).

    Args:
        model (Mowst): The model (:obj:`variant='mowst_star'`).
        data (torch_geometric.data.Data): As in :func:`fit_mowst`.
        lr (float, optional): Learning rate (the official ``--lr_gate``).
        weight_decay (float, optional): Weight decay.
        pretrain (str, optional): As in :func:`fit_mowst`.
        pretrain_lr (float, optional): Learning rate of pre-training
            (:obj:`None`: :obj:`lr`). The official code pre-trains with
            ``--lr`` and trains jointly with ``--lr_gate``.
        max_epochs (int, optional): Max epochs.
        patience (int, optional): Patience on the validation loss.
        optimizer (str, optional): :obj:`'adamw'` or :obj:`'adam'`.
        dropout_after_pretrain (float, optional): As in :func:`fit_mowst`.
        callback, checkpoint_fn, resume, progress: As in :func:`fit_mowst`;
            :obj:`checkpoint_fn` is called every :obj:`checkpoint_every`
            epochs.
        **kwargs: Passed to the strong expert.

    Returns:
        dict: ``'metrics'``, ``'history'`` (per epoch: ``'train_loss'``,
        ``'val_loss'``, ``'val_accuracy'``), ``'best_epoch'``.
    """
    _check_data(model, data)
    if model.variant != 'mowst_star':
        raise ValueError("fit_mowst_star trains variant='mowst_star'; use "
                         "fit_mowst for variant='mowst'")
    if pretrain not in PRETRAIN:
        raise ValueError(f"'pretrain' must be one of {PRETRAIN}, got "
                         f"{pretrain!r}")
    if not isinstance(max_epochs, int) or max_epochs < 1:
        raise ValueError(f"'max_epochs' must be an int >= 1, got "
                         f"{max_epochs!r}")
    if pretrain_lr is not None and (
            isinstance(pretrain_lr, bool)
            or not isinstance(pretrain_lr, (int, float)) or pretrain_lr <= 0):
        raise ValueError(f"'pretrain_lr' must be None or a positive float, "
                         f"got {pretrain_lr!r}")
    if dropout_after_pretrain is not None:
        _check_dropout(dropout_after_pretrain)
        _dropout_sites(model)
    pre_lr = lr if pretrain_lr is None else float(pretrain_lr)
    x, edge_index, y = data.x, data.edge_index, data.y
    opt = _make_opt(model.parameters(), optimizer, lr, weight_decay)
    st = {'phase': 'pretrain', 'epoch': 0, 'step': 0,
          'history': {'train_loss': [], 'val_loss': [], 'val_accuracy': []},
          'stopper': None, 'best': None, 'best_epoch': -1,
          'dropout_after_pretrain': dropout_after_pretrain}
    if resume is not None:
        _check_resume_dropout(resume, dropout_after_pretrain)
        st = copy.deepcopy({k: v for k, v in resume.items()
                            if k not in ('model', 'opt', 'rng')})
        _load_snapshot(model, resume['model'])
        opt.load_state_dict(resume['opt'])
        torch.set_rng_state(resume['rng'])
        if st['phase'] != 'pretrain' and dropout_after_pretrain is not None:
            set_expert_dropout(model, dropout_after_pretrain)

    def tick():
        st['step'] += 1
        if callback is not None:
            callback(st['step'] - 1)

    def save():
        if checkpoint_fn is not None:
            state = copy.deepcopy(st)
            state.update(model=_model_snapshot(model),
                         opt=copy.deepcopy(opt.state_dict()),
                         rng=torch.get_rng_state())
            checkpoint_fn(state)

    if st['phase'] == 'pretrain':
        if pretrain != 'none':
            # Separate optimisers, as the official pre-training.
            if pretrain in ('weak', 'both'):
                _pretrain(lambda: model.weak_forward(x), model.weak,
                          _make_opt(model.weak.parameters(), optimizer,
                                    pre_lr, weight_decay), data,
                          pretrain_epochs,
                          pretrain_patience, tick)
            if pretrain in ('strong', 'both'):
                _pretrain(lambda: model.strong_forward(x, edge_index,
                                                       **kwargs),
                          model.strong,
                          _make_opt(model.strong.parameters(), optimizer,
                                    pre_lr, weight_decay), data,
                          pretrain_epochs,
                          pretrain_patience, tick)
        if dropout_after_pretrain is not None:
            set_expert_dropout(model, dropout_after_pretrain)
        st['phase'] = 'joint'
        st['stopper'] = _Stopper(patience, higher=False).state()
        st['best'] = _model_snapshot(model)
        save()

    stopper = _Stopper(patience, higher=False)
    stopper.load(st['stopper'])
    pbar = None
    if progress:
        from tqdm import tqdm
        pbar = tqdm(total=max_epochs, initial=st['epoch'], desc='Mowst*')
    while st['epoch'] < max_epochs:
        model.train()
        opt.zero_grad()
        out = model(x, edge_index, **kwargs)
        loss = model.loss(out, y, data.train_mask)
        loss.backward()
        opt.step()
        model.eval()
        with torch.no_grad():
            out = model(x, edge_index, **kwargs)
            val_loss = float(model.loss(out, y, data.val_mask))
            val_acc = float((out.log_probs[data.val_mask].argmax(-1) ==
                             y[data.val_mask]).double().mean())
        h = st['history']
        h["train_loss"].append(float(loss.detach()))
        h['val_loss'].append(val_loss)
        h['val_accuracy'].append(val_acc)
        if stopper.step(val_loss):
            st['best'] = _model_snapshot(model)
            st['best_epoch'] = st['epoch']
        st['stopper'] = stopper.state()
        st['epoch'] += 1
        tick()
        if pbar is not None:
            pbar.update(1)
        if stopper.stop:
            break
        if checkpoint_every > 0 and st['epoch'] % checkpoint_every == 0:
            save()
    if pbar is not None:
        pbar.close()
    _load_snapshot(model, st['best'])
    metrics = evaluate_mowst(model, data, **kwargs)
    return {'metrics': metrics, 'history': st['history'],
            'best_epoch': st['best_epoch'], 'num_steps': st['step']}
