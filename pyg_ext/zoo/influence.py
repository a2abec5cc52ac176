r"""Influence maximisation in the loop: task ``influence_maximization``,
diffusion "models" ``ic``/``lt`` (the model section picks the diffusion
model and its edge weighting) and the methods ``imm``, ``opim_c``,
``degree``, ``pagerank``, ``cim_rr_opim_plus``, ``cim_rr_greedy``,
``cim_mg_greedy``.

A run selects seeds for one seed of the loop and evaluates them with an
independent Monte-Carlo simulation (its own seed stream). Metrics:
``test_spread`` (the main metric; ``val_spread`` mirrors it because IM has
no validation stage), ``test_spread_ci`` (half-width of the 95 % interval),
``test_certificate`` (OPIM/RR-OPIM+ α, NaN otherwise), ``test_rr_sets``,
``test_seconds`` (selection time), ``test_num_seeds`` and ``test_est_spread``
(the algorithm's own estimate). The result dict also carries ``seeds`` (and
``pairs`` for CIM) and a ``'curves'`` entry ``spread_vs_k``.
"""
import math
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import numpy as np
import torch

from pyg_ext.influence import (cim_local_baseline, cim_mg_greedy,
                               cim_rr_greedy, cim_rr_opim_plus,
                               degree_scores, estimate_spread, imm, opim_c,
                               pagerank_scores, prepare, top_k, warmup)
from pyg_ext.registry import register_method, register_model, register_task
from pyg_ext.train.method import Method, RunContext
from pyg_ext.train.task import Task

__all__ = [
    'DiffusionModelOptions', 'InfluenceMaximizationTask', 'IMTaskOptions',
    'IMMMethod', 'OPIMCMethod', 'DegreeMethod', 'PageRankMethod',
    'CIMRROPIMPlusMethod', 'CIMRRGreedyMethod', 'CIMMGGreedyMethod'
]


@dataclass
class DiffusionModelOptions:
    r"""Edge weighting of the diffusion model.

    Args:
        weighting (str): ``'wc'`` (1/in-degree), ``'uniform'`` (:obj:`p`) or
            ``'file'`` (the dataset's ``edge_prob`` column).
        p (float): Probability for ``'uniform'``.
        self_loops (str): ``'keep'``, ``'remove'`` or ``'error'``.
    """
    weighting: str = 'wc'
    p: float = 0.1
    self_loops: str = 'keep'


class _NoParameters(torch.nn.Module):
    r"""Placeholder module: diffusion models have no parameters."""
    def __init__(self, model: str):
        super().__init__()
        self.model = model

    def reset_parameters(self):
        pass

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}({self.model!r})'


@register_model('ic', options=DiffusionModelOptions,
                description='Independent cascade diffusion (for IM tasks).')
def build_ic(in_channels: int, out_channels: int, options=None):
    return _NoParameters('IC')


@register_model('lt', options=DiffusionModelOptions,
                description='Linear threshold diffusion (for IM tasks).')
def build_lt(in_channels: int, out_channels: int, options=None):
    return _NoParameters('LT')


@dataclass
class IMTaskOptions:
    r"""Options of the ``influence_maximization`` task.

    Args:
        k (int): Seeds (IM) or capacity per active participant (CIM).
        ap_set (int): Which of the dataset's ``ap_sets`` the CIM methods use.
        eval_samples (int): Monte-Carlo runs of the final evaluation.
        curve_samples (int): Monte-Carlo runs per point of ``spread_vs_k``
            (0: no curve).
        curve_points (list of int, optional): Prefix sizes of the curve
            (default: 1, 2, 5, 10, 20, 50, ... up to the number of seeds).
    """
    k: int = 50
    ap_set: int = 0
    eval_samples: int = 10000
    curve_samples: int = 1000
    curve_points: Optional[List[int]] = None


@register_task('influence_maximization')
class InfluenceMaximizationTask(Task):
    r"""Influence maximisation on a diffusion graph (metric: expected
    spread by an independent Monte-Carlo evaluation)."""
    Options = IMTaskOptions
    metric = 'spread'
    higher_is_better = True

    def model_channels(self, data: Any):
        return 0, 0


def _diffusion_graph(ctx: RunContext):
    data = ctx.data
    model_name = ctx.config.model.name
    if model_name not in ('ic', 'lt'):
        raise ValueError(f"influence_maximization needs model 'ic' or 'lt', "
                         f"got {model_name!r}")
    opts = ctx.config.model.options or DiffusionModelOptions()
    key = (model_name, opts.weighting, opts.p, opts.self_loops)
    cache = getattr(data, '_im_graphs', None)
    if cache is None:
        cache = {}
        try:
            data._im_graphs = cache
        except Exception:  # pragma: no cover
            pass
    if key not in cache:
        kw = dict(model=model_name.upper(), self_loops=opts.self_loops)
        if opts.weighting == 'file':
            if getattr(data, 'edge_prob', None) is None:
                raise ValueError("weighting='file' needs a dataset with an "
                                 "'edge_prob' column")
            kw.update(probs=data.edge_prob, weighting='given')
        else:
            kw.update(weighting=opts.weighting, p=opts.p)
        cache[key] = prepare(data.edge_index, int(data.num_nodes), **kw)
    return cache[key]


def _ap_set(ctx: RunContext) -> torch.Tensor:
    sets = getattr(ctx.data, 'ap_sets', None)
    if not sets:
        raise ValueError(f"CIM methods need a dataset with 'ap_sets' "
                         f"(e.g. scinet or im_synthetic); "
                         f"'{ctx.config.dataset.name}' has none")
    i = ctx.task.options.ap_set
    if not -len(sets) <= i < len(sets):
        raise ValueError(f"task.ap_set = {i} out of range; the dataset has "
                         f"{len(sets)} AP sets")
    return sets[i]


class IMMethodBase(Method):
    r"""Shared run loop: select, then evaluate with an independent MC."""
    cim = False

    def select(self, ctx: RunContext, g, k: int) -> Dict[str, Any]:
        raise NotImplementedError

    def run(self, ctx: RunContext) -> Dict[str, Any]:
        g = _diffusion_graph(ctx)
        topt = ctx.task.options
        exclude = _ap_set(ctx) if self.cim else None
        warmup()  # JIT compile/load outside the timed selection
        t0 = time.perf_counter()
        out = self.select(ctx, g, topt.k)
        seconds = time.perf_counter() - t0
        seeds = out['seeds']
        eval_seed = ctx.seed + 1_000_003
        est = estimate_spread(g, seeds=seeds, num_samples=topt.eval_samples,
                              seed=eval_seed, exclude=exclude)
        nan = float('nan')
        metrics = {
            'val_spread': est.mean,
            'test_spread': est.mean,
            'test_spread_ci': (est.ci_high - est.ci_low) / 2,
            'test_certificate': out.get('alpha') if out.get('alpha')
            is not None else nan,
            'test_rr_sets': float(out.get('rr_sets', 0)),
            'test_seconds': seconds,
            'test_num_seeds': float(len(seeds)),
            'test_est_spread': float(out.get('est', nan)),
        }
        result = {'metrics': metrics, 'seeds': [int(s) for s in seeds]}
        if 'pairs' in out:
            result['pairs'] = out['pairs'].tolist()
        if topt.curve_samples > 0 and len(seeds) > 0:
            pts = topt.curve_points
            if pts is None:
                pts = [p for p in (1, 2, 5, 10, 20, 50, 100, 200, 500)
                       if p < len(seeds)] + [len(seeds)]
            pts = sorted({p for p in pts if 1 <= p <= len(seeds)})
            ys = [estimate_spread(g, seeds=seeds[:p],
                                  num_samples=topt.curve_samples,
                                  seed=eval_seed + 1, exclude=exclude).mean
                  for p in pts]
            result['curves'] = {
                'spread_vs_k': {
                    'x': pts, 'y': ys, 'xlabel': 'number of seeds',
                    'ylabel': 'expected spread (MC)'
                }
            }
        return result


@dataclass
class IMMOptions:
    r"""Args: eps, ell, reuse_samples, max_rr_sets (see
    :func:`pyg_ext.influence.imm`)."""
    eps: float = 0.1
    ell: float = 1.0
    reuse_samples: bool = False
    max_rr_sets: Optional[int] = 50_000_000


@register_method('imm')
class IMMMethod(IMMethodBase):
    r"""IMM (Tang et al., SIGMOD'15) with fresh final RR sets."""
    Options = IMMOptions

    def select(self, ctx, g, k):
        o = self.options
        r = imm(g, k=k, eps=o.eps, ell=o.ell, model=g.model, seed=ctx.seed,
                reuse_samples=o.reuse_samples, max_rr_sets=o.max_rr_sets)
        return dict(seeds=r.seeds.tolist(), rr_sets=r.num_rr_sets,
                    est=r.spread_est)


@dataclass
class OPIMCOptions:
    r"""Args: eps, delta (None: 1/n), bound ('tight' or 'vanilla')."""
    eps: float = 0.1
    delta: Optional[float] = None
    bound: str = 'tight'


@register_method('opim_c')
class OPIMCMethod(IMMethodBase):
    r"""OPIM-C (Tang et al., SIGMOD'18) with its a-posteriori certificate."""
    Options = OPIMCOptions

    def select(self, ctx, g, k):
        o = self.options
        r = opim_c(g, k=k, eps=o.eps, delta=o.delta, bound=o.bound,
                   model=g.model, seed=ctx.seed)
        return dict(seeds=r.seeds.tolist(), rr_sets=r.num_rr_sets,
                    est=r.spread_est, alpha=r.alpha)


@dataclass
class HeuristicOptions:
    r"""Args: local (bool): with the dataset's AP set, each AP takes its
    top-k passive out-neighbours (the CIM paper's local baseline) instead
    of the global top-k; damping (PageRank only)."""
    local: bool = False
    damping: float = 0.85


class _HeuristicMethod(IMMethodBase):
    Options = HeuristicOptions

    def scores(self, g):
        raise NotImplementedError

    def run(self, ctx):
        self.cim = self.options.local
        return super().run(ctx)

    def select(self, ctx, g, k):
        s = self.scores(g)
        if self.options.local:
            r = cim_local_baseline(g, aps=_ap_set(ctx), k=k, scores=s,
                                   model=g.model)
            return dict(seeds=r.seeds.tolist(), pairs=r.pairs)
        return dict(seeds=top_k(s, k).tolist())


@register_method('degree')
class DegreeMethod(_HeuristicMethod):
    r"""Top-k nodes by out-degree."""
    def scores(self, g):
        return degree_scores(g)


@register_method('pagerank')
class PageRankMethod(_HeuristicMethod):
    r"""Top-k nodes by PageRank on the reversed (probability-weighted)
    graph."""
    def scores(self, g):
        return pagerank_scores(g, damping=self.options.damping)


@dataclass
class CIMOPIMOptions:
    r"""Args: eps, delta, bound ('tight'/'vanilla'), selector ('rr'/'mg')."""
    eps: float = 0.1
    delta: Optional[float] = None
    bound: str = 'tight'
    selector: str = 'rr'


@register_method('cim_rr_opim_plus')
class CIMRROPIMPlusMethod(IMMethodBase):
    r"""RR-OPIM+ (CIM, KDD'23) on the dataset's active participants."""
    Options = CIMOPIMOptions
    cim = True

    def select(self, ctx, g, k):
        o = self.options
        r = cim_rr_opim_plus(g, aps=_ap_set(ctx), k=k, eps=o.eps,
                             delta=o.delta, bound=o.bound,
                             selector=o.selector, model=g.model,
                             seed=ctx.seed)
        return dict(seeds=r.seeds.tolist(), pairs=r.pairs,
                    rr_sets=r.num_rr_sets, est=r.spread_est, alpha=r.alpha)


@dataclass
class CIMGreedyOptions:
    r"""Args: oracle ('rr'/'mc'), num_rr_sets, num_mc."""
    oracle: str = 'rr'
    num_rr_sets: int = 20000
    num_mc: int = 1000


class _CIMGreedy(IMMethodBase):
    Options = CIMGreedyOptions
    cim = True
    fn = None

    def select(self, ctx, g, k):
        o = self.options
        r = type(self).fn(g, aps=_ap_set(ctx), k=k, oracle=o.oracle,
                          num_rr_sets=o.num_rr_sets, num_mc=o.num_mc,
                          model=g.model, seed=ctx.seed)
        return dict(seeds=r.seeds.tolist(), pairs=r.pairs,
                    rr_sets=r.num_rr_sets, est=r.spread_est)


@register_method('cim_rr_greedy')
class CIMRRGreedyMethod(_CIMGreedy):
    r"""RR-Greedy (CIM Alg. 2) on an RR or MC oracle."""
    fn = staticmethod(cim_rr_greedy)


@register_method('cim_mg_greedy')
class CIMMGGreedyMethod(_CIMGreedy):
    r"""MG-Greedy (CIM Alg. 1) on an RR or MC oracle."""
    fn = staticmethod(cim_mg_greedy)
