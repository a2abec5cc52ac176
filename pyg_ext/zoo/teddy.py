r"""Loop plugin for TEDDY and its graph-lottery-ticket baselines.

Models: ``teddy_gcn``, ``teddy_gin``, ``teddy_gat`` (the official bias-free
backbones with the paper's defaults, hidden 512; all accept ``edge_weight``).
Methods: ``teddy``, ``random_prune`` and ``ugs``; each sweeps the levels
:math:`(1-(1-a)^k, 1-(1-w)^k)`, :math:`k = 1..` ``num_levels``, checkpoints
every ``train.checkpoint_every`` epochs and after every training (when it is
``> 0``; a resumed sweep gives the same numbers) and returns one curve
(x = graph sparsity, y = test accuracy) plus the metrics of
:func:`pyg_ext.fit.fit_teddy` / :func:`~pyg_ext.fit.fit_random_prune` /
:func:`~pyg_ext.fit.fit_ugs` (per level ``level<k>_test_accuracy``,
``level<k>_graph_sparsity``, ``level<k>_weight_sparsity``; the main
``val_/test_accuracy`` are those of the sparsest level;
``mean_test_accuracy`` averages all levels).

Epochs, optimizer, learning rate and weight decay come from ``train``, the
base seed from the run's seed; every level
trains for exactly ``train.epochs`` epochs (no early stopping, as in the
official code) and reports the test accuracy at its best-validation epoch.
"""
from dataclasses import dataclass
from typing import Any, Callable, Dict

import torch

from pyg_ext.fit.teddy import fit_random_prune, fit_teddy, prepare_sweep_data
from pyg_ext.fit.ugs import fit_ugs
from pyg_ext.nn.models.teddy import TeddyGAT, TeddyGCN, TeddyGIN
from pyg_ext.registry import register_method
from pyg_ext.train.config import ModelOptions
from pyg_ext.train.method import Method, RunContext
from pyg_ext.utils.sparsify import teddy_schedule
from pyg_ext.utils.validation import check_bool, check_choice, check_float
from pyg_ext.zoo.basic import register_model_class

__all__ = ['TeddyGCNOptions', 'TeddyGINOptions', 'TeddyGATOptions',
           'SweepOptions', 'TeddyOptions', 'UGSOptions', 'TeddyMethod',
           'RandomPruneMethod', 'UGSMethod']


@dataclass
class TeddyGCNOptions(ModelOptions):
    hidden_channels: int = 512
    dropout: float = 0.5


@dataclass
class TeddyGINOptions(ModelOptions):
    hidden_channels: int = 512
    dropout: float = 0.0


@dataclass
class TeddyGATOptions(ModelOptions):
    hidden_channels: int = 512
    dropout: float = 0.6
    heads: int = 8


register_model_class(
    'teddy_gcn', TeddyGCN, TeddyGCNOptions, 'Bias-free GCN of the official '
    'TEDDY code (hidden 512, dropout 0.5; takes edge_weight).',
    ('num_layers', 'dropout'))
register_model_class(
    'teddy_gin', TeddyGIN, TeddyGINOptions, 'Official TEDDY GIN: 2 bias-free '
    'GIN layers with learnable eps plus a skip linear map (hidden 512).',
    ('num_layers', 'dropout'))
register_model_class(
    'teddy_gat', TeddyGAT, TeddyGATOptions, 'Official TEDDY GAT: 8 heads x '
    '512, dropout 0.6, soft pruning of attention logits (takes '
    'edge_weight).', ('num_layers', 'dropout', 'heads'))


@dataclass
class SweepOptions:
    r"""Args:
        num_levels (int): Sparsity levels :math:`k = 1..` ``num_levels``.
        graph_rate (float): Per-level edge rate :math:`a` (README: 0.05).
        weight_rate (float): Per-level weight rate :math:`w` (README: 0.1).
        self_loops (bool): Add the missing self-loops before scoring and
            training (the official GAT script; use with ``teddy_gat``).
        symmetrize (bool): Make a directed input graph undirected first
            (otherwise a directed graph raises).
        sparse_features (bool): Pass ``x`` as a sparse CSR tensor to the
            ``teddy_gcn`` / ``teddy_gin`` backbones when it is at most 10%
            dense (same numbers, ~10x faster on bag-of-words features).
    """
    num_levels: int = 20
    graph_rate: float = 0.05
    weight_rate: float = 0.1
    self_loops: bool = False
    symmetrize: bool = False
    sparse_features: bool = True

    def __post_init__(self):
        teddy_schedule(self.num_levels, self.graph_rate, self.weight_rate)
        for key in ('self_loops', 'symmetrize', 'sparse_features'):
            check_bool(key, getattr(self, key))


@dataclass
class TeddyOptions(SweepOptions):
    r"""Args (besides :class:`SweepOptions`):
        lamb (float): Distillation weight :math:`\lambda` (README: 10).
        distill (bool): Distil from the dense teacher.
        count (str): ``'undirected'`` (exact pairs) or ``'entries'``
            (official directed-entry count).
    """
    lamb: float = 10.0
    distill: bool = True
    count: str = 'undirected'

    def __post_init__(self):
        super().__post_init__()
        check_choice('count', self.count, ('undirected', 'entries'))
        check_float('lamb', self.lamb, 0.0)
        check_bool('distill', self.distill)


@dataclass
class UGSOptions(SweepOptions):
    r"""Args (besides :class:`SweepOptions`):
        lambda_edge (float): L1 weight on the edge mask (README: 1e-6).
        lambda_weight (float): L1 weight on the weight masks (README: 1e-5).
    """
    lambda_edge: float = 1e-6
    lambda_weight: float = 1e-5

    def __post_init__(self):
        super().__post_init__()
        check_float('lambda_edge', self.lambda_edge, 0.0)
        check_float('lambda_weight', self.lambda_weight, 0.0)


class _Sweep(Method):
    fit: Callable = None
    label: str = ''

    def extra(self) -> Dict[str, Any]:
        return {}

    def run(self, ctx: RunContext) -> Dict[str, Any]:
        o, t = self.options, ctx.train
        model = ctx.build_model()
        data = prepare_sweep_data(ctx.data, model, symmetrize=o.symmetrize,
                                  self_loops=o.self_loops,
                                  sparse_features=o.sparse_features)
        res = type(self).fit(
            model, data,
            teddy_schedule(o.num_levels, o.graph_rate, o.weight_rate),
            epochs=t.epochs, lr=t.lr, weight_decay=t.weight_decay,
            optimizer=t.optimizer,
            generator=torch.Generator(ctx.device).manual_seed(ctx.seed),
            checkpoint=ctx.checkpoint, progress=ctx.progress, desc=ctx.desc,
            interrupt=ctx.interrupt, **self.extra()).to_dict()
        for key in ('score', 'edge_mask', 'weight_masks'):  # tensors
            res.pop(key, None)
        x = [r['graph_sparsity'] for r in res['levels']]
        y = [r['test_accuracy'] for r in res['levels']]
        if 'dense' in res:
            x, y = [0.0] + x, [res['dense']['test_accuracy']] + y
        res['curves'] = {f'{self.label}_test_accuracy': {
            'x': x, 'y': y, 'xlabel': 'graph sparsity',
            'ylabel': 'test accuracy'}}
        return res


@register_method('teddy')
class TeddyMethod(_Sweep):
    r"""TEDDY graph lottery tickets: one dense teacher, then per level a
    one-shot degree-based edge cut, l0-projected weights and distillation."""
    Options = TeddyOptions
    fit = staticmethod(fit_teddy)
    label = 'teddy'

    def extra(self) -> Dict[str, Any]:
        o = self.options
        return {'lamb': o.lamb, 'distill': o.distill, 'count': o.count}


@register_method('random_prune')
class RandomPruneMethod(_Sweep):
    r"""Random pruning baseline: the same edge and weight fractions removed
    uniformly at random (nested across levels), trained with CE."""
    Options = SweepOptions
    fit = staticmethod(fit_random_prune)
    label = 'random_prune'


@register_method('ugs')
class UGSMethod(_Sweep):
    r"""UGS baseline: iterative magnitude pruning of trainable edge and
    weight masks with rewinding (Chen et al., 2021)."""
    Options = UGSOptions
    fit = staticmethod(fit_ugs)
    label = 'ugs'

    def extra(self) -> Dict[str, Any]:
        o = self.options
        return {'lambda_edge': o.lambda_edge,
                'lambda_weight': o.lambda_weight}
