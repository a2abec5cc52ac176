r"""Loop plugins for Mowst and Mowst*: the methods ``mowst`` and
``mowst_star``. The strong expert is a registered model (``backbone``, by
default the config's ``model``), the weak expert the registered ``mlp`` with
the backbone's hidden size, depth and dropout (as in the official code)."""
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import torch

from pyg_ext.nn.models.mowst import GATES, STAR_MIXES, Mowst
from pyg_ext.fit.mowst import PRETRAIN, fit_mowst
from pyg_ext.registry import register_method
from pyg_ext.train.method import Method, RunContext, minibatch_args
from pyg_ext.utils.dispersion import DISPERSIONS
from pyg_ext.utils.validation import (check_bool, check_choice, check_float,
                                      check_int, check_str)

__all__ = ['MowstMethod', 'MowstStarMethod', 'MowstOptions',
           'MowstStarOptions', 'build_mowst']


@dataclass
class _CommonOptions:
    backbone: Optional[str] = None
    weak: str = 'mlp'
    pretrain: str = 'strong'
    pretrain_epochs: Optional[int] = None
    dispersion: List[str] = field(
        default_factory=lambda: ['variance', 'entropy'])
    gate: str = 'mlp'
    gate_hidden: Optional[int] = None
    gate_layers: Optional[int] = None
    gate_dropout: float = 0.5
    use_features: bool = False
    detach_dispersion: bool = True
    sample_seed: int = 0
    dropout_after_pretrain: Optional[float] = None

    def __post_init__(self):
        check_str('backbone', self.backbone, allow_none=True)
        check_str('weak', self.weak)
        check_choice('pretrain', self.pretrain, PRETRAIN)
        check_int('pretrain_epochs', self.pretrain_epochs, 0,
                  allow_none=True)
        if not self.dispersion:
            raise ValueError(f"'dispersion' must name at least one of "
                             f"{tuple(DISPERSIONS)}")
        for d in self.dispersion:
            check_choice('dispersion', d, tuple(DISPERSIONS))
        check_choice('gate', self.gate, GATES)
        check_int('gate_hidden', self.gate_hidden, 1, allow_none=True)
        check_int('gate_layers', self.gate_layers, 1, allow_none=True)
        check_float('gate_dropout', self.gate_dropout, 0.0, 1.0,
                    high_open=True)
        check_bool('use_features', self.use_features)
        check_bool('detach_dispersion', self.detach_dispersion)
        check_int('sample_seed', self.sample_seed, 0)
        check_float('dropout_after_pretrain', self.dropout_after_pretrain,
                    0.0, 1.0, high_open=True, allow_none=True)


@dataclass
class MowstOptions(_CommonOptions):
    r"""Options of the ``mowst`` method.

    Args:
        backbone (str, optional): Registered strong expert (``gcn``,
            ``sage``, ``gat``, ``gin``, ...); :obj:`None`: the config's
            ``model``.
        weak (str): Registered weak expert, sized like the backbone.
        pretrain (str): ``none``, ``weak``, ``strong`` or ``both``.
        pretrain_epochs (int, optional): Max pre-training epochs
            (:obj:`None`: ``train.epochs``); patience ``train.patience``.
        turn_epochs (int, optional): Max steps per turn (:obj:`None`:
            ``train.epochs``).
        turn_patience (int, optional): Per-turn patience (:obj:`None`:
            ``train.patience``).
        max_rounds (int): Max rounds of (weak turn, strong turn).
        big_patience (int, optional): Rounds without improvement before
            stopping.
        dispersion (list of str): Gate inputs (``variance``, ``entropy``).
        gate (str): ``mlp``, ``identity`` or ``power``.
        gate_hidden, gate_layers (int, optional): MLP gate size
            (:obj:`None`: the backbone's hidden size / depth).
        gate_dropout (float): MLP gate dropout.
        use_features (bool): Append node features to the gate input.
        detach_dispersion (bool): No gradient from the gate into the weak
            expert (official code).
        checkpoint_gate (bool): Roll the gate back with the experts.
        sample_seed (int): Seed of one Algorithm-1 routing whose accuracy and
            strong-expert cost are reported as ``*_sampled_accuracy``.
        dropout_after_pretrain (float, optional): Switch the dropout of both
            experts and the gate to this value after pre-training (the
            official code uses ``--dropout_gate``, i.e. set it equal to
            ``gate_dropout``); :obj:`None`: keep the built dropout.
    """
    turn_epochs: Optional[int] = None
    turn_patience: Optional[int] = None
    max_rounds: int = 100
    big_patience: Optional[int] = 10
    checkpoint_gate: bool = True

    def __post_init__(self):
        super().__post_init__()
        check_int('turn_epochs', self.turn_epochs, 1, allow_none=True)
        check_int('turn_patience', self.turn_patience, 1, allow_none=True)
        check_int('max_rounds', self.max_rounds, 1)
        check_int('big_patience', self.big_patience, 1, allow_none=True)
        check_bool('checkpoint_gate', self.checkpoint_gate)


@dataclass
class MowstStarOptions(_CommonOptions):
    r"""Options of the ``mowst_star`` method (joint training for
    ``train.epochs`` epochs with early stopping on the validation loss,
    patience ``train.patience``).

    Args:
        star_mix (str): ``prob`` (paper) or ``logit`` (official training).
        lr_gate (float, optional): Learning rate of the joint optimiser
            (:obj:`None`: ``train.lr``); pre-training uses ``train.lr``, as
            the official code (``--lr`` / ``--lr_gate``).
        legacy_double_softmax (bool): Official Mowst* test-time dispersion.
        (others as in :class:`MowstOptions`)
    """
    star_mix: str = 'prob'
    lr_gate: Optional[float] = None
    legacy_double_softmax: bool = False

    def __post_init__(self):
        super().__post_init__()
        check_choice('star_mix', self.star_mix, STAR_MIXES)
        check_float('lr_gate', self.lr_gate, 0.0, low_open=True,
                    allow_none=True)
        check_bool('legacy_double_softmax', self.legacy_double_softmax)


def build_mowst(ctx: RunContext, options: _CommonOptions,
                variant: str) -> Mowst:
    r"""Builds a :class:`~pyg_ext.nn.models.Mowst` from registered models."""
    cfg_model = ctx.config.model
    backbone = options.backbone or cfg_model.name
    strong = ctx.build_model(backbone)
    size = {}
    src = cfg_model.options if backbone == cfg_model.name else None
    if src is None:
        from pyg_ext.registry import MODELS
        entry = MODELS.get(backbone)
        src = entry.options() if entry.options else None
    for key in ('hidden_channels', 'num_layers', 'dropout'):
        if src is not None and hasattr(src, key):
            size[key] = getattr(src, key)
    weak = ctx.build_model(options.weak, **size)
    _, num_classes = ctx.channels or ctx.task.model_channels(ctx.data)
    kwargs = {}
    if variant == 'mowst_star':
        kwargs = dict(star_mix=options.star_mix,
                      legacy_double_softmax=options.legacy_double_softmax)
    model = Mowst(
        weak, strong, num_classes, variant=variant,
        dispersion=tuple(options.dispersion), gate=options.gate,
        gate_hidden=_default(options.gate_hidden,
                             size.get('hidden_channels', 64)),
        gate_layers=_default(options.gate_layers,
                             size.get('num_layers', 2)),
        gate_dropout=options.gate_dropout,
        gate_in_features=(ctx.data.x.size(1)
                          if options.use_features else None),
        detach_dispersion=options.detach_dispersion, **kwargs)
    return model.to(ctx.device)


def _default(value, default):
    r""":obj:`value` unless it is :obj:`None` (``0`` is a value)."""
    return default if value is None else value


def _optimizer(ctx: RunContext) -> str:
    opt = ctx.train.optimizer
    if opt not in ('adam', 'adamw'):
        raise ValueError(f"train.optimizer: mowst supports 'adam' or "
                         f"'adamw', got {opt!r}")
    return opt


def _data(ctx: RunContext):
    data = ctx.data
    if data.y.dim() == 2 and data.y.size(1) == 1:
        data = data.clone()
        data.y = data.y.view(-1)
    return data


def _finish(ctx: RunContext, model: Mowst, data, result: Dict[str, Any],
            seed: int) -> Dict[str, Any]:
    metrics = dict(result['metrics'])
    cached = any(getattr(m, 'cached', False) is True
                 for m in model.strong.modules())
    if model.variant == 'mowst' and not cached:
        g = torch.Generator(device=data.x.device).manual_seed(seed)
        for split in ('val', 'test'):
            mask = getattr(data, f'{split}_mask', None)
            if mask is None or not bool(mask.any()):
                continue
            pred = model.predict(data.x, data.edge_index, mode='sample',
                                 generator=g, index=mask)
            metrics[f'{split}_sampled_accuracy'] = float(
                (pred.pred == data.y[pred.index]).double().mean())
            metrics[f'{split}_strong_fraction'] = pred.strong_fraction
            metrics[f'{split}_strong_nodes_computed'] = float(
                pred.num_strong_nodes_computed) / data.num_nodes
    return metrics


class _Base(Method):
    r"""One run of either variant: build the mixture from registered models,
    train it with :func:`pyg_ext.fit.fit_mowst` and report its metrics and
    one learning curve (``curve``: the history key and its x label)."""
    minibatch = True
    variant = 'mowst'

    @property
    def supports_adj_t(self) -> bool:
        r"""Whether a CSR ``adj_t`` may reach the full-batch forwards (when
        the Mowst class takes one; the weak and strong experts are checked
        by the loop). ``predict`` (the sampled routing) keeps
        ``edge_index``."""
        return getattr(Mowst, 'supports_adj_t', False) is True
    curve = ('val_accuracy', 'round', 'best val E[acc]',
             'val_expected_accuracy', 'best_round')

    def fit_options(self, ctx: RunContext) -> Dict[str, Any]:
        raise NotImplementedError

    def run(self, ctx: RunContext) -> Dict[str, Any]:
        if ctx.task.metric != 'accuracy':
            raise ValueError(f"method '{self.variant}' selects and reports "
                             f"accuracy; task.metric is "
                             f"{ctx.task.metric!r}")
        o, t = self.options, ctx.train
        data = _data(ctx)
        model = build_mowst(ctx, o, self.variant)
        res = fit_mowst(
            model, data, variant=self.variant,
            weight_decay=t.weight_decay, pretrain=o.pretrain,
            pretrain_epochs=_default(o.pretrain_epochs, t.epochs),
            pretrain_patience=t.patience, optimizer=_optimizer(ctx),
            dropout_after_pretrain=o.dropout_after_pretrain,
            checkpoint=ctx.checkpoint, progress=ctx.progress, desc=ctx.desc,
            interrupt=ctx.interrupt, **minibatch_args(ctx, model.strong),
            **self.fit_options(ctx))
        metrics = _finish(ctx, model, data, res, o.sample_seed + ctx.seed)
        key, xlabel, ylabel, name, best = self.curve
        h = res['history']
        return {
            'metrics': metrics,
            'num_params': sum(p.numel() for p in model.parameters()),
            'history': h,
            'best_epoch': res[best],
            'curves': {name: {'x': list(range(len(h[key]))), 'y': h[key],
                              'xlabel': xlabel, 'ylabel': ylabel}},
        }


@register_method('mowst')
class MowstMethod(_Base):
    r"""Mowst: weak MLP + strong GNN with a confidence gate, alternating
    training; reports the exact expected accuracy of Algorithm 1."""
    Options = MowstOptions
    variant = 'mowst'

    def fit_options(self, ctx: RunContext) -> Dict[str, Any]:
        o, t = self.options, ctx.train
        return dict(lr=t.lr, max_epochs=_default(o.turn_epochs, t.epochs),
                    patience=_default(o.turn_patience, t.patience),
                    max_rounds=o.max_rounds, big_patience=o.big_patience,
                    checkpoint_gate=o.checkpoint_gate)


@register_method('mowst_star')
class MowstStarMethod(_Base):
    r"""Mowst*: weak MLP + strong GNN mixed by a confidence gate, joint
    training, early stopping on the validation loss."""
    Options = MowstStarOptions
    variant = 'mowst_star'
    curve = ('val_loss', 'epoch', 'val loss', 'val_loss', 'best_epoch')

    def fit_options(self, ctx: RunContext) -> Dict[str, Any]:
        o, t = self.options, ctx.train
        return dict(lr=_default(o.lr_gate, t.lr), pretrain_lr=t.lr,
                    max_epochs=t.epochs, patience=t.patience)
