r"""Training schedules of Mowst (alternating turns, paper Algorithm 2) and
Mowst* (joint training) from the `"Mixture of Weak & Strong Experts on
Graphs" <https://arxiv.org/abs/2311.05185>`_ paper and its official code
(`facebookresearch/mowst-gnn <https://github.com/facebookresearch/mowst-gnn>`_),
both as named phases on the one training engine
(:class:`pyg_ext.utils.training.Trainer`): resumable mid-turn, device
generic, with one host read per evaluation."""
from typing import Any, Callable, Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from pyg_ext.fit.supervised import check_fit_args, check_model, node_adj
from pyg_ext.fit.minibatch import MiniBatchConfig
from pyg_ext.fit.mowst_steps import MowstSteps, turn_output
from pyg_ext.nn.models.mowst import Mowst
from pyg_ext.utils.distributed import agree, resolve_group
from pyg_ext.utils.device import place
from pyg_ext.utils.validation import (check_bool, check_choice,
                                      check_edge_values, check_float,
                                      check_graph, check_int,
                                      check_model_input)
from pyg_ext.utils.training import FitResult, Trainer, state_snapshot

__all__ = ['fit_mowst', 'fit_mowst_star', 'evaluate_mowst',
           'set_expert_dropout', 'PRETRAIN']

PRETRAIN = ('none', 'weak', 'strong', 'both')
VARIANTS = ('mowst', 'mowst_star')


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
    :class:`~torch_geometric.nn.GINConv`. A custom gate without any of these
    is left as it is.

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


def _check_args(model, data, variant, lr, weight_decay, optimizer, pretrain,
                pretrain_epochs, pretrain_patience, pretrain_lr, max_epochs,
                patience, max_rounds, big_patience, checkpoint_gate,
                dropout_after_pretrain, strong_kwargs, engine) -> None:
    r"""Every argument check of :func:`fit_mowst`, once, before any work
    (the data's values are checked after the placement)."""
    check_model(model, Mowst)
    check_choice('variant', variant, VARIANTS)
    if model.variant != variant:
        other = 'fit_mowst_star' if model.variant == 'mowst_star' else \
            'fit_mowst'
        raise ValueError(f"'variant' is {variant!r} but the model is "
                         f"variant={model.variant!r}; use {other} for "
                         f"variant={model.variant!r}")
    check_fit_args(max_epochs, lr, weight_decay, optimizer,
                   optimizers=('adam', 'adamw'), epochs_name='max_epochs',
                   **engine)
    check_choice('pretrain', pretrain, PRETRAIN)
    check_int('pretrain_epochs', pretrain_epochs, 0)
    check_int('max_rounds', max_rounds, 1)
    for name, val in (('pretrain_patience', pretrain_patience),
                      ('patience', patience),
                      ('big_patience', big_patience)):
        check_int(name, val, 1, allow_none=True)
    check_float('pretrain_lr', pretrain_lr, 0.0, low_open=True,
                allow_none=True)
    check_bool('checkpoint_gate', checkpoint_gate)
    if dropout_after_pretrain is not None:
        _check_dropout(dropout_after_pretrain)
        _dropout_sites(model)
    if strong_kwargs is not None and not isinstance(strong_kwargs, dict):
        raise TypeError(f"'strong_kwargs' must be a dict or None, got "
                        f"{type(strong_kwargs).__name__}")
    if data is None:
        raise TypeError("'data' must be a graph, got None")


def _check_data(model: Mowst, data, strong_kwargs) -> None:
    check_graph(data, labels=True, num_classes=model.num_classes,
                masks=('train_mask', 'val_mask'),
                optional_masks=('test_mask', ),
                nonempty=('train_mask', 'val_mask'))
    for expert in (model, model.weak, model.strong):  # dtype, in_channels
        check_model_input(expert, data.x)
    E = data.edge_index.size(1)
    for key, val in (strong_kwargs or {}).items():
        if isinstance(val, Tensor) and val.dim() > 0 and val.size(0) == E:
            check_edge_values(f'strong_kwargs[{key!r}]', val, E)


def _masks(data) -> Dict[str, Tensor]:
    out = {'train': data.train_mask, 'val': data.val_mask}
    if getattr(data, 'test_mask', None) is not None:
        out['test'] = data.test_mask
    return out


@torch.no_grad()
def evaluate_mowst(model: Mowst, data,
                   strong_kwargs: Optional[Dict[str, Any]] = None
                   ) -> Dict[str, float]:
    r"""Full-batch evaluation in eval mode: per split, the exact expected
    accuracy of Mowst's random routing (``'<split>_accuracy'`` for Mowst;
    ``'<split>_expected_accuracy'`` in both variants), the mixture argmax
    accuracy (``'<split>_mixture_accuracy'``; the ``'<split>_accuracy'`` of
    Mowst*), each expert's accuracy, the mean confidence and the loss.
    :obj:`strong_kwargs` go to the strong expert (e.g. ``edge_weight``)."""
    was = model.training
    model.eval()
    try:
        out = model(data.x, node_adj(data), **(strong_kwargs or {}))
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


def _modules(model: Mowst) -> Dict[str, torch.nn.Module]:
    mods = {'weak': model.weak, 'strong': model.strong}
    if isinstance(model.gate, torch.nn.Module):
        mods['gate'] = model.gate
    return mods


def _snap(trainer: Trainer, names: List[str]) -> Dict[str, Any]:
    return {n: state_snapshot(trainer.modules[n]) for n in names}


def _load(trainer: Trainer, snap: Dict[str, Any]) -> None:
    for n, sd in snap.items():
        trainer.modules[n].load_state_dict(sd)


def fit_mowst(
    model: Mowst,
    data,
    *,
    variant: Optional[str] = None,
    lr: float = 0.01,
    weight_decay: float = 5e-4,
    optimizer: str = 'adamw',
    pretrain: str = 'strong',
    pretrain_epochs: int = 1000,
    pretrain_patience: Optional[int] = 100,
    pretrain_lr: Optional[float] = None,
    max_epochs: int = 1000,
    patience: Optional[int] = 100,
    max_rounds: int = 100,
    big_patience: Optional[int] = 10,
    checkpoint_gate: bool = True,
    dropout_after_pretrain: Optional[float] = None,
    strong_kwargs: Optional[Dict[str, Any]] = None,
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
    r"""Trains a :class:`~pyg_ext.nn.models.Mowst` with the schedule of its
    variant; both share the pre-training prelude and the engine.

    **Pre-training** (:obj:`pretrain`): the chosen experts are trained alone
    as classifiers (cross-entropy, early stopping on the validation loss,
    best weights kept), then optionally every dropout is switched to
    :obj:`dropout_after_pretrain` (:func:`set_expert_dropout`, the official
    ``--dropout_gate``).

    **Mowst** (:obj:`variant='mowst'`, paper Algorithm 2): each *round* has
    a weak turn (the weak expert and the gate on :meth:`Mowst.loss`, the
    strong expert frozen; its output is computed once per turn in eval
    mode) and a strong turn (the strong expert, the weak expert and gate
    frozen). A turn runs up to :obj:`max_epochs` steps with early stopping on
    the validation expected accuracy (:meth:`Mowst.expected_accuracy`,
    :obj:`patience`); its best step is kept if it beats the best so far,
    else the model is rolled back to its pre-turn weights. Training stops
    when :obj:`big_patience` rounds in a row bring no improvement.

    **Mowst*** (:obj:`variant='mowst_star'`): one optimizer over both experts
    and the gate on the mixture loss (paper Eq. 3) for :obj:`max_epochs`
    epochs, keeping the weights of the best validation loss, with early
    stopping on it (:obj:`patience=None` runs every epoch, as the official
    code).

    Args:
        model (Mowst): The model.
        data (torch_geometric.data.Data): With :obj:`x`, :obj:`edge_index`,
            :obj:`y` and 1-D :obj:`train_mask`, :obj:`val_mask` (and
            optionally :obj:`test_mask`).
        variant (str, optional): ``'mowst'`` or ``'mowst_star'``; must match
            :obj:`model.variant` (default: the model's).
        lr (float): Learning rate of the turns (Mowst; the official ``--lr``)
            or of the joint optimizer (Mowst*; the official ``--lr_gate``).
        weight_decay (float): Weight decay.
        optimizer (str): ``'adamw'`` (official) or ``'adam'``.
        pretrain (str): ``'none'``, ``'weak'``, ``'strong'`` or ``'both'``
            (the official ``--submethod``). (default: :obj:`'strong'`)
        pretrain_epochs (int): Max pre-training epochs.
        pretrain_patience (int, optional): Pre-training patience on the
            validation loss (the official code, by a bug, watches the
            training loss).
        pretrain_lr (float, optional): Learning rate of Mowst*'s separate
            pre-training optimizers (:obj:`None`: :obj:`lr`; the official code
            pre-trains with ``--lr``). Mowst pre-trains with its turn
            optimizers at :obj:`lr`.
        max_epochs (int): Max steps per turn (Mowst) or epochs (Mowst*).
        patience (int, optional): Per-turn (Mowst) or joint (Mowst*)
            patience (:obj:`None`: none).
        max_rounds (int): Max rounds (Mowst; the code's "big epochs").
        big_patience (int, optional): Rounds without improvement before
            stopping (Mowst; :obj:`None`: run all rounds).
        checkpoint_gate (bool): Roll the gate back together with the
            experts (Mowst; library default); :obj:`False` reproduces the
            official code, which keeps the gate's latest weights.
        dropout_after_pretrain (float, optional): See above; :obj:`None`
            (library default) leaves every dropout as built. A resumed run
            must use the value it was started with.
        strong_kwargs (dict, optional): Extra inputs of the strong expert
            (e.g. ``{'edge_weight': w}``).
        device, generator, checkpoint, checkpoint_every, progress, desc,
            on_epoch, interrupt: As in
            :func:`~pyg_ext.fit.fit_supervised` (:obj:`generator` orders the
            mini-batches; full-batch training draws nothing of its own).
        batch_size, num_neighbors, distributed, group: Neighbour-sampled
            mini-batches and data-parallel training, as in
            :func:`~pyg_ext.fit.fit_supervised`: both experts see the same
            batch, the confidence and the routing loss are per seed node
            (:mod:`pyg_ext.fit.mowst_steps`); evaluation and the frozen
            expert of a turn stay full-graph.

    Raises:
        ValueError, TypeError: As :func:`~pyg_ext.fit.fit_supervised`.

    Returns:
        FitResult: ``metrics`` from :func:`evaluate_mowst` for the selected
        model; ``history`` per round (Mowst: ``'val_accuracy'`` best so far,
        ``'train_loss'`` per turn) or per epoch (Mowst*: ``'train_loss'``,
        ``'val_loss'``, ``'val_accuracy'``); ``best_epoch`` is the best round
        (Mowst) or epoch (Mowst*); extras ``best_round`` (Mowst) and
        ``num_steps``.
    """
    variant = model.variant if variant is None and isinstance(
        model, Mowst) else variant
    _check_args(model, data, variant, lr, weight_decay, optimizer, pretrain,
                pretrain_epochs, pretrain_patience, pretrain_lr, max_epochs,
                patience, max_rounds, big_patience, checkpoint_gate,
                dropout_after_pretrain, strong_kwargs,
                dict(checkpoint_every=checkpoint_every, progress=progress,
                     desc=desc, on_epoch=on_epoch, interrupt=interrupt,
                     generator=generator))
    check_bool('distributed', distributed)
    mb = None
    if batch_size is not None or num_neighbors is not None:
        if batch_size is None or num_neighbors is None:
            raise ValueError("mini-batch training needs both 'batch_size' "
                             "and 'num_neighbors'")
        if strong_kwargs:
            raise ValueError("'strong_kwargs' are full-batch inputs; "
                             "mini-batch training takes none")
        mb = MiniBatchConfig(batch_size, num_neighbors)
    if (group is not None or distributed) and mb is None:
        raise ValueError("data-parallel training (group=/distributed=True) "
                         "needs mini-batches: pass 'batch_size' and "
                         "'num_neighbors'")
    group = resolve_group(group, distributed)
    model, data, device = place(model, data, device)
    _check_data(model, data, strong_kwargs)
    kw = dict(strong_kwargs or {})
    # every value check once, here: the training steps read nothing back
    model.validate_inputs(data.x, data.edge_index, data.y,
                          masks={f'{k}_mask': v for k, v in _masks(data).items()},
                          **kw)
    if mb is not None and generator is None:
        generator = torch.Generator().manual_seed(
            int(torch.randint(2**62, (1, ))))
    if group is not None:
        agree('fit_mowst', dict(
            variant=variant, lr=lr, max_epochs=max_epochs,
            batch_size=batch_size, num_neighbors=list(num_neighbors),
            num_nodes=data.x.size(0), generator=generator.get_state()),
            group)
    trainer = Trainer(_modules(model), device=device, checkpoint=checkpoint,
                      checkpoint_every=checkpoint_every,
                      generators=({'generator': generator}
                                  if generator is not None else None),
                      progress=progress, desc=desc, on_epoch=on_epoch,
                      interrupt=interrupt, group=group)
    steps = MowstSteps(trainer, model, data, kw, mb, generator, group)
    st = trainer.state
    if trainer.resumed:
        saved = st.get('dropout_after_pretrain')
        if saved != dropout_after_pretrain:
            raise ValueError(f"'dropout_after_pretrain' is "
                             f"{dropout_after_pretrain!r} but the state to "
                             f"resume was trained with {saved!r}; resume "
                             f"with the same value")
    st['dropout_after_pretrain'] = dropout_after_pretrain
    x, edge_index = data.x, node_adj(data)
    star = variant == 'mowst_star'
    if star:
        opts = {'joint': trainer.optimizer('joint', model.parameters(),
                                           optimizer, lr, weight_decay)}
    else:
        opts = {
            'weak': trainer.optimizer('weak', model.weak_parameters(),
                                      optimizer, lr, weight_decay),
            'strong': trainer.optimizer('strong', model.strong_parameters(),
                                        optimizer, lr, weight_decay)}
    pre_lr = lr if pretrain_lr is None else float(pretrain_lr)

    # pre-training ------------------------------------------------------
    experts = {'weak': (model.weak, lambda: model.weak_forward(x)),
               'strong': (model.strong,
                          lambda: model.strong_forward(x, edge_index, **kw))}
    for name in ('weak', 'strong'):
        if pretrain not in (name, 'both'):
            continue
        module, fwd = experts[name]
        if star:  # separate optimizers, as the official pre-training
            opt = trainer.optimizer(f'pretrain_{name}', module.parameters(),
                                    optimizer, pre_lr, weight_decay)
        else:
            opt = opts[name]
        _pretrain(trainer, f'pretrain/{name}', name, module, fwd,
                  steps.pretrain(name, opt), data, pretrain_epochs,
                  pretrain_patience)
        if star:
            trainer.drop_optimizer(f'pretrain_{name}')
    if dropout_after_pretrain is not None:
        set_expert_dropout(model, dropout_after_pretrain)
    if star:
        return _joint(trainer, model, data, steps.joint(opts['joint']),
                      max_epochs, patience, kw)
    return _rounds(trainer, model, data, opts, steps, max_epochs, patience,
                   max_rounds, big_patience, checkpoint_gate, kw)


def fit_mowst_star(model: Mowst, data, **kwargs) -> FitResult:
    r"""Alias of :func:`fit_mowst` with :obj:`variant='mowst_star'`."""
    if 'variant' in kwargs:
        raise TypeError("fit_mowst_star() got an unexpected keyword "
                        "argument 'variant'")
    return fit_mowst(model, data, variant='mowst_star', **kwargs)


def _pretrain(trainer, phase, name, module, fwd, step, data, epochs,
              patience) -> None:
    r"""Plain classifier training with early stopping on the validation
    loss; keeps the best weights."""
    vm, y = data.val_mask, data.y

    @torch.no_grad()
    def evaluate(epoch):
        module.eval()
        return {'val_loss': float(F.cross_entropy(fwd()[vm], y[vm]))}

    trainer.phase(phase, step, evaluate, epochs=epochs, monitor='val_loss',
                  mode='min', patience=patience, snapshot=[name])


def _val_expected(model: Mowst, out, data) -> float:
    vm, y = data.val_mask, data.y
    wc = out.weak_logits[vm].argmax(-1) == y[vm]
    sc = out.strong_logits[vm].argmax(-1) == y[vm]
    return Mowst.expected_accuracy(out.conf[vm], wc, sc)


def _rounds(trainer, model, data, opts, steps, max_epochs, patience,
            max_rounds, big_patience, checkpoint_gate, kw) -> FitResult:
    st = trainer.state
    x, edge_index = data.x, node_adj(data)
    names = ['weak', 'strong'] + (['gate'] if 'gate' in trainer.modules
                                  and checkpoint_gate else [])
    if 'round' not in st:  # after the pre-training, once
        model.eval()
        with torch.no_grad():
            st['best_val'] = _val_expected(model, model(x, edge_index, **kw),
                                           data)
        st.update(best=_snap(trainer, names), round=0, turn=0,
                  bad_rounds=0, best_round=-1,
                  round_start_best=st['best_val'],
                  history={'val_accuracy': [], 'train_loss': []})
        trainer.save()
    while st['round'] < max_rounds:
        while st['turn'] < 2:
            r, weak_turn = st['round'], st['turn'] == 0
            name = f"round{r}/{'weak' if weak_turn else 'strong'}"
            opt = opts['weak' if weak_turn else 'strong']
            pre = trainer.memo(f'{name}/pre', lambda: _snap(trainer, names))
            model.eval()
            with torch.no_grad():  # the frozen expert, once per turn
                if weak_turn:
                    frozen = model.strong_forward(x, edge_index, **kw)
                else:
                    frozen_w = model.weak_forward(x)
                    frozen_c = model.confidence(frozen_w, x)

            fz = {'frozen': frozen} if weak_turn else \
                {'frozen_w': frozen_w, 'frozen_c': frozen_c}
            step = steps.turn(weak_turn, opt, **fz)

            @torch.no_grad()
            def evaluate(epoch):
                model.eval()
                return {'val_expected_accuracy': _val_expected(
                    model, turn_output(model, x, edge_index, kw, weak_turn,
                                       **fz), data)}

            ph = trainer.phase(name, step, evaluate, epochs=max_epochs,
                               monitor='val_expected_accuracy', mode='max',
                               patience=patience, snapshot=names)
            if ph.improved and ph.best > st['best_val']:
                st['best_val'], st['best_round'] = ph.best, r
                st['best'] = _snap(trainer, names)  # the turn's best
            else:
                _load(trainer, pre)
            st['history']['train_loss'].append(
                ph.history['train_loss'][-1] if ph.history.get('train_loss')
                else float('nan'))
            st['turn'] += 1
            trainer.forget(f'{name}/pre')
            trainer.save()
        st['history']['val_accuracy'].append(st['best_val'])
        st['bad_rounds'] = 0 if st['best_val'] > st['round_start_best'] \
            else st['bad_rounds'] + 1
        st['round_start_best'] = st['best_val']
        st['round'] += 1
        st['turn'] = 0
        trainer.save()
        if big_patience is not None and st['bad_rounds'] >= big_patience:
            break
    _load(trainer, st['best'])
    metrics = evaluate_mowst(model, data, kw)
    return trainer.result(metrics, st['history'], st['best_round'],
                          best_round=st['best_round'],
                          num_steps=trainer.counter)


def _joint(trainer, model, data, step, max_epochs, patience, kw
           ) -> FitResult:
    x, edge_index, y = data.x, node_adj(data), data.y
    vm = data.val_mask
    start = trainer.memo('joint/start', lambda: _snap(trainer,
                                                      list(trainer.modules)))

    @torch.no_grad()
    def evaluate(epoch):
        model.eval()
        out = model(x, edge_index, **kw)
        return {'val_loss': float(model.loss(out, y, vm)),
                'val_accuracy': float((out.log_probs[vm].argmax(-1) ==
                                       y[vm]).double().mean())}

    ph = trainer.phase('joint', step, evaluate, epochs=max_epochs,
                       monitor='val_loss', mode='min', patience=patience)
    if not ph.improved:  # no finite validation loss: the pre-trained model
        _load(trainer, start)
    h = ph.history
    history = {k: list(h.get(k, [])) for k in ('train_loss', 'val_loss',
                                               'val_accuracy')}
    metrics = evaluate_mowst(model, data, kw)
    return trainer.result(metrics, history, ph.best_epoch,
                          num_steps=trainer.counter)
