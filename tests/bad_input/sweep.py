r"""A broad bad-input sweep of the core entry points (fit_* of supervised,
Mowst, TEDDY/random/UGS, AdaRC, pic_loss, TEDDY transform/scores/keep mask/
L0 optimizer, the heterophily measure, the Evaluator, MatchEdgeHomophily,
the synthetic loaders, the Mowst maths, the TTA bases and ``pyg-ext run``).

Every case runs in a forked child with a timeout and is classified as

* ``clear``: a ValueError/TypeError whose message names the argument (for
  the CLI: exit code 2 and one stderr line naming the dotted key, no
  traceback);
* ``unclear``: any other exception, or a message that does not name it;
* ``silent``: the call returned (the bad input was accepted);
* ``crash``: the child died (signal) or ran past the timeout.

Run from the repository root::

    PYTHONPATH=$PWD python tests/bad_input/sweep.py [--only ENTRY] [-v]

It prints one row per entry point and the totals. Valid edge cases (zero
edges, one node, one class present, isolated nodes) run too and must
return a finite result (``ok``).
"""
import argparse
import math
import os
import signal
import sys
import tempfile
import traceback
from collections import OrderedDict, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

import helpers_bad_input as H  # noqa: E402

CASES = OrderedDict()  # entry -> list of (label, fn, names, kind)


def case(entry, label, fn, names, kind='bad'):
    CASES.setdefault(entry, []).append((label, fn, tuple(names), kind))


NAN, INF = float('nan'), float('inf')


# fit_* ------------------------------------------------------------------
def _fits():
    from pyg_ext.fit import (fit_mowst, fit_random_prune, fit_supervised,
                             fit_teddy, fit_ugs)
    fits = {
        'fit_supervised': (lambda d: H.gcn(d), fit_supervised,
                           dict(epochs=2, progress=False)),
        'fit_mowst': (lambda d: H.mowst(d), fit_mowst,
                      dict(pretrain_epochs=1, max_epochs=2, max_rounds=1,
                           progress=False)),
        'fit_mowst_star': (lambda d: H.mowst(d, 'mowst_star'), fit_mowst,
                           dict(pretrain_epochs=1, max_epochs=2,
                                progress=False)),
        'fit_teddy': (lambda d: H.teddy_gcn(d), fit_teddy,
                      dict(levels=[(0.2, 0.2)], epochs=2, progress=False)),
        'fit_random_prune': (lambda d: H.teddy_gcn(d), fit_random_prune,
                             dict(levels=[(0.2, 0.2)], epochs=2,
                                  progress=False)),
        'fit_ugs': (lambda d: H.teddy_gcn(d), fit_ugs,
                    dict(levels=[(0.2, 0.2)], epochs=2, progress=False)),
    }
    scalars = {
        'epochs': H.BAD_POSITIVE_INT, 'lr': H.BAD_POSITIVE_FLOAT,
        'weight_decay': H.BAD_NONNEG_FLOAT, 'optimizer': ('lbfgs', None, 3),
        'device': ('tpu', 3, 'cuda:x'), 'checkpoint': (3, 2.5),
        'generator': (3, 'g'), 'on_epoch': (3, ), 'desc': (3, None),
    }
    extra = {
        'fit_supervised': {'patience': (0, -2, 1.5, True),
                           'eval_every': H.BAD_POSITIVE_INT,
                           'select_on': ('best', None),
                           'checkpoint_every': (-1, 1.5, None),
                           'progress': H.BAD_BOOL,
                           'higher_is_better': H.BAD_BOOL,
                           'forward': (3, 'x'), 'interrupt': (3, )},
        'fit_mowst': {'max_rounds': H.BAD_POSITIVE_INT,
                      'max_epochs': H.BAD_POSITIVE_INT,
                      'pretrain_epochs': H.BAD_NONNEG_INT,
                      'patience': (0, -1, 2.5, True),
                      'pretrain_patience': (0, -1, True),
                      'big_patience': (0, -1, True),
                      'pretrain': ('all', None),
                      'pretrain_lr': (0.0, NAN, INF, True),
                      'checkpoint_gate': H.BAD_BOOL,
                      'dropout_after_pretrain': (1.0, -0.1, NAN),
                      'strong_kwargs': ('edge_weight', 3)},
        'fit_mowst_star': {'max_epochs': H.BAD_POSITIVE_INT,
                           'patience': (0, -1, True)},
        'fit_teddy': {'lamb': H.BAD_NONNEG_FLOAT,
                      'count': ('pairs', None),
                      'distill': H.BAD_BOOL,
                      'score_self_loops': H.BAD_BOOL,
                      'levels': ([], [(0.5, )], [(1.0, 0.1)], [(NAN, 0.1)],
                                 [(0.1, -0.2)], 'abc', None, [(0.1, '0.2')]),
                      'edge_score': ('nan', 'short', 'list')},
        'fit_random_prune': {'levels': ([], [(1.0, 0.1)], None)},
        'fit_ugs': {'lambda_edge': H.BAD_NONNEG_FLOAT,
                    'lambda_weight': H.BAD_NONNEG_FLOAT,
                    'levels': ([], [(0.2, 1.0)], None)},
    }
    corruptions = list(H.CORRUPTIONS)

    def run_fit(build, fn, kw, data, **over):
        model = build(H.graph())
        args = dict(kw)
        args.update(over)
        if fn.__name__ == 'fit_mowst' and 'variant' not in args:
            pass
        return fn(model, data, **args)

    for name, (build, fn, kw) in fits.items():
        for arg, values in list(scalars.items()) + list(
                extra.get(name, {}).items()):
            if name.startswith('fit_mowst') and arg == 'optimizer':
                values = values + ('sgd', )
            for v in values:
                if arg == 'edge_score':
                    ei = H.graph().edge_index
                    v = {'nan': torch.full((ei.size(1), ), NAN),
                         'short': torch.ones(ei.size(1) - 1),
                         'list': [1.0] * ei.size(1)}[v]
                if arg == 'strong_kwargs' and v == 'edge_weight':
                    v = {'edge_weight': torch.full((16, ), NAN)}
                case(name, f'{arg}={v!r}'[:60],
                     lambda b=build, f=fn, k=kw, a=arg, v=v: run_fit(
                         b, f, k, H.graph(), **{a: v}),
                     (f"'{arg}'", f'{arg}:', f'{arg} ', arg))
        for c in corruptions:
            if name in ('fit_random_prune', 'fit_ugs') and \
                    c.startswith('x_'):
                pass
            case(name, c, lambda b=build, f=fn, k=kw, c=c: run_fit(
                b, f, k, H.corrupt(c)[0]), H.CORRUPTIONS[c][1])
        # valid edge cases
        case(name, 'valid: zero edges', lambda b=build, f=fn, k=kw: run_fit(
            b, f, k, _no_edges()), (), 'valid')
        case(name, 'valid: isolated nodes', lambda b=build, f=fn, k=kw:
             run_fit(b, f, k, _isolated()), (), 'valid')
        case(name, 'valid: one class present', lambda b=build, f=fn, k=kw:
             run_fit(b, f, k, _one_class()), (), 'valid')
    # wrong model types
    case('fit_mowst', 'model=GCN', lambda: fit_mowst(
        H.gcn(H.graph()), H.graph(), progress=False), ("'model'", ))
    case('fit_mowst', "variant='star'", lambda: fit_mowst(
        H.mowst(), H.graph(), variant='star', progress=False),
        ("'variant'", ))
    case('fit_supervised', 'model=None', lambda: fit_supervised(
        None, H.graph(), epochs=1, progress=False), ("'model'", ))


def _no_edges():
    d = H.graph()
    d.edge_index = torch.zeros(2, 0, dtype=torch.long)
    return d


def _isolated():
    d = H.graph()
    keep = (d.edge_index != 5).all(0)
    d.edge_index = d.edge_index[:, keep]
    return d


def _one_class():
    d = H.graph()
    d.y = torch.zeros_like(d.y)
    return d


# AdaRC and the PIC loss -------------------------------------------------
def _adarc():
    from pyg_ext.tta import AdaRC, LAMEBase, T3ABase, TentBase, pic_loss

    def adapt(data, **kw):
        args = dict(steps=2)
        args.update(kw)
        return AdaRC(H.gprgnn(), **args).adapt(data)

    for arg, values in {'lr': H.BAD_POSITIVE_FLOAT,
                        'steps': H.BAD_POSITIVE_INT,
                        'optimizer': ('lbfgs', None),
                        'loss': ('mse', None),
                        'final_pass': H.BAD_BOOL,
                        'episodic': H.BAD_BOOL,
                        'base_tta': ('nope', 3),
                        'hop_params': ('nomatch', 3),
                        'featurizer': (3, ),
                        'mask': ('short', 'float', 'oob', 'neg', 'empty',
                                 'list', '2d')}.items():
        for v in values:
            if arg == 'mask':
                v = {'short': torch.ones(H.N - 1, dtype=torch.bool),
                     'float': torch.ones(H.N),
                     'oob': torch.tensor([0, H.N]),
                     'neg': torch.tensor([-1, 2]),
                     'empty': torch.zeros(H.N, dtype=torch.bool),
                     'list': [0, 1],
                     '2d': torch.ones(H.N, 1, dtype=torch.bool)}[v]
            case('AdaRC.adapt', f'{arg}={v!r}'[:60],
                 lambda a=arg, v=v: adapt(H.graph(), **{a: v}),
                 (f"'{arg}'", ))
    for c in H.CORRUPTIONS:
        if c.startswith(('y_', 'train_mask', 'val_mask')):
            continue  # AdaRC reads no labels or masks
        case('AdaRC.adapt', c, lambda c=c: adapt(H.corrupt(c)[0]),
             H.CORRUPTIONS[c][1])
    case('AdaRC.adapt', 'model=None', lambda: AdaRC(None), ("'model'", ))
    case('AdaRC.adapt', 'model on meta', lambda: AdaRC(
        H.gprgnn().to('meta'), steps=1).adapt(H.graph()), ("'data'", ))
    case('AdaRC.adapt', 'data is a dict', lambda: adapt(
        {'x': H.graph().x, 'edge_index': H.graph().edge_index}), ("'data'", ))
    case('AdaRC.adapt', 'valid: zero edges', lambda: adapt(_no_edges()), (),
         'valid')
    case('AdaRC.adapt', 'valid: one node', lambda: adapt(H.graph(n=1)), (),
         'valid')
    case('AdaRC.adapt', 'valid: isolated', lambda: adapt(_isolated()), (),
         'valid')
    for base in ('tent', 't3a', 'lame'):
        case('AdaRC.adapt', f'valid: base {base}', lambda b=base: adapt(
            H.graph(), base_tta=b), (), 'valid')

    for cls, arg, values in (
            (TentBase, 'lr', H.BAD_POSITIVE_FLOAT),
            (TentBase, 'steps', (-1, 1.5, True, None)),
            (T3ABase, 'filter_k', (0, -2, 1.5, True, None)),
            (LAMEBase, 'k', H.BAD_POSITIVE_INT),
            (LAMEBase, 'steps', H.BAD_POSITIVE_INT),
            (LAMEBase, 'bound_lambda', (NAN, INF, -1.0, True, None)),
            (LAMEBase, 'chunk_size', H.BAD_POSITIVE_INT)):
        for v in values:
            case('TTA bases', f'{cls.__name__}({arg}={v!r})',
                 lambda c=cls, a=arg, v=v: c(**{a: v}), (f"'{arg}'", ))

    z = torch.randn(5, 3)
    prob = torch.softmax(torch.randn(5, 2), -1)

    def bad(t, i, v):
        t = t.clone()
        t.view(-1)[i] = v
        return t

    pic_cases = {
        'z NaN': (lambda: pic_loss(bad(z, 3, NAN), prob), ("'z'", )),
        'z inf': (lambda: pic_loss(bad(z, 3, INF), prob), ("'z'", )),
        'prob NaN': (lambda: pic_loss(z, bad(prob, 1, NAN)), ("'prob'", )),
        'prob > 1': (lambda: pic_loss(z, torch.tensor(
            [[1.5, -0.5]] * 5)), ("'prob'", )),
        'prob rows != 1': (lambda: pic_loss(z, prob * 0.5), ("'prob'", )),
        'prob wrong rows': (lambda: pic_loss(z, prob[:4]), ("'prob'", "'z'")),
        'prob 1-D': (lambda: pic_loss(z, prob[:, 0]), ("'prob'", )),
        'z int': (lambda: pic_loss(z.long(), prob), ("'z'", )),
        'z list': (lambda: pic_loss([[0.0]], prob), ("'z'", )),
        'mask short bool': (lambda: pic_loss(z, prob, torch.ones(
            4, dtype=torch.bool)), ("'mask'", )),
        'mask oob index': (lambda: pic_loss(z, prob, torch.tensor([0, 9])),
                           ("'mask'", )),
        'mask float': (lambda: pic_loss(z, prob, torch.ones(5)),
                       ("'mask'", )),
        'mask empty': (lambda: pic_loss(z, prob, torch.zeros(
            5, dtype=torch.bool)), ("'mask'", )),
        'eps NaN': (lambda: pic_loss(z, prob, eps=NAN), ("'eps'", )),
        'eps < 0': (lambda: pic_loss(z, prob, eps=-1.0), ("'eps'", )),
        'atol NaN': (lambda: pic_loss(z, prob, atol=NAN), ("'atol'", )),
        'validate=1': (lambda: pic_loss(z, prob, validate=1),
                       ("'validate'", )),
        'empty z': (lambda: pic_loss(z[:0], prob[:0]), ("'z'", )),
    }
    for label, (fn, names) in pic_cases.items():
        case('pic_loss', label, fn, names)
    case('pic_loss', 'valid: one row', lambda: pic_loss(z[:1], prob[:1]),
         (), 'valid')
    case('pic_loss', 'valid: one class', lambda: pic_loss(
        z, torch.ones(5, 1)), (), 'valid')


# TEDDY transform, scores, keep mask, L0 --------------------------------
def _teddy():
    from pyg_ext.transforms import TEDDY
    from pyg_ext.utils import (L0ProjectedOptimizer, l0_keep_count,
                               project_l0_, teddy_distillation_loss,
                               teddy_edge_score, teddy_keep_mask,
                               teddy_node_score, teddy_schedule)
    for v in (NAN, INF, 1.0, -0.1, '0.5', None, True):
        case('TEDDY transform', f'sparsity={v!r}', lambda v=v: TEDDY(v)(
            H.graph()), ("'sparsity'", ))
    for arg in ('score_self_loops', 'keep_self_loops', 'store_mask',
                'allow_directed'):
        for v in H.BAD_BOOL:
            case('TEDDY transform', f'{arg}={v!r}', lambda a=arg, v=v: TEDDY(
                0.3, **{a: v})(H.graph()), (f"'{arg}'", ))
    case('TEDDY transform', "count='x'", lambda: TEDDY(0.3, count='x')(
        H.graph()), ("'count'", ))
    for c in H.CORRUPTIONS:
        if not c.startswith(('ei_', 'data_none')):
            continue
        case('TEDDY transform', c, lambda c=c: TEDDY(0.3)(H.corrupt(c)[0]),
             H.CORRUPTIONS[c][1])
    case('TEDDY transform', 'valid: empty graph', lambda: TEDDY(0.3)(
        H.corrupt('empty_graph')[0]), (), 'valid')
    for c in ('edge_weight_nan', 'edge_attr_short', 'data_dict'):
        case('TEDDY transform', c, lambda c=c: TEDDY(0.3)(H.corrupt(c)[0]),
             H.CORRUPTIONS[c][1])
    case('TEDDY transform', 'directed graph', lambda: TEDDY(0.3)(
        _directed()), ("'edge_index'", 'directed'))
    case('TEDDY transform', 'valid: zero edges', lambda: TEDDY(0.3)(
        _no_edges()), (), 'valid')
    case('TEDDY transform', 'valid: one node', lambda: TEDDY(0.3)(
        H.graph(n=1)), (), 'valid')

    ei = H.graph().edge_index
    E = ei.size(1)
    for fn in (teddy_node_score, teddy_edge_score):
        nm = fn.__name__
        for label, kw, names in (
                ('edge_weight NaN', dict(edge_weight=torch.full((E, ), NAN)),
                 ("'edge_weight'", )),
                ('edge_weight inf', dict(edge_weight=torch.full((E, ), INF)),
                 ("'edge_weight'", )),
                ('edge_weight < 0', dict(edge_weight=-torch.ones(E)),
                 ("'edge_weight'", )),
                ('edge_weight short', dict(edge_weight=torch.ones(E - 1)),
                 ("'edge_weight'", )),
                ('edge_weight bool', dict(edge_weight=torch.ones(
                    E, dtype=torch.bool)), ("'edge_weight'", )),
                ('num_nodes=-1', dict(num_nodes=-1), ("'num_nodes'", )),
                ('num_nodes=2.0', dict(num_nodes=2.0), ("'num_nodes'", )),
                ('num_nodes too small', dict(num_nodes=3),
                 ("'edge_index'", "'num_nodes'")),
                ('add_self_loops=1', dict(add_self_loops=1),
                 ("'add_self_loops'", ))):
            case('TEDDY scores', f'{nm} {label}', lambda f=fn, k=kw: f(
                ei, **k), names)
        for c in ('ei_out_of_range', 'ei_negative', 'ei_float', 'ei_E_by_2',
                  'ei_bool'):
            case('TEDDY scores', f'{nm} {c}', lambda f=fn, c=c: f(
                H.corrupt(c)[0].edge_index, num_nodes=H.N), H.EI)
        case('TEDDY scores', f'{nm} edge_index=None', lambda f=fn: f(None),
             H.EI)
        case('TEDDY scores', f'{nm} huge id, no num_nodes', lambda f=fn: f(
            torch.tensor([[0, 10**12], [10**12, 0]])), H.EI)
        case('TEDDY scores', f'valid: {nm} zero edges', lambda f=fn: f(
            torch.zeros(2, 0, dtype=torch.long), num_nodes=3), (), 'valid')
    for label, kw, names in (
            ('score NaN', dict(score=torch.full((E, ), NAN)), ("'score'", )),
            ('score short', dict(score=torch.ones(E - 1)), ("'score'", )),
            ('score int', dict(score=torch.ones(E, dtype=torch.long)), ()),
            ('sparsity=1', dict(sparsity=1.0), ("'sparsity'", )),
            ('sparsity=NaN', dict(sparsity=NAN), ("'sparsity'", )),
            ('count=x', dict(count='x'), ("'count'", )),
            ('keep_self_loops=None', dict(keep_self_loops=None),
             ("'keep_self_loops'", ))):
        kw = dict(kw)
        sp = kw.pop('sparsity', 0.3)
        kind = 'valid' if label == 'score int' else 'bad'
        case('TEDDY keep mask', label, lambda k=kw, s=sp: teddy_keep_mask(
            ei, s, **k), names, kind)
    case('TEDDY keep mask', 'directed', lambda: teddy_keep_mask(
        _directed().edge_index, 0.3), ("'edge_index'", 'directed'))
    case('TEDDY keep mask', 'valid: zero edges', lambda: teddy_keep_mask(
        torch.zeros(2, 0, dtype=torch.long), 0.5), (), 'valid')

    def l0(params=None, sparsity=0.5, **kw):
        lin = torch.nn.Linear(3, 2)
        opt = torch.optim.SGD(lin.parameters(), lr=0.1)
        return L0ProjectedOptimizer(opt, lin if params is None else params,
                                    sparsity, **kw)
    for label, fn, names in (
            ('sparsity NaN', lambda: l0(sparsity=NAN), ("'sparsity'", )),
            ('sparsity 1', lambda: l0(sparsity=1.0), ("'sparsity'", )),
            ('sparsity -1', lambda: l0(sparsity=-1), ("'sparsity'", )),
            ('eps NaN', lambda: l0(eps=NAN), ("'eps'", )),
            ('eps < 0', lambda: l0(eps=-1.0), ("'eps'", )),
            ('include=3', lambda: l0(include=3), ("'include'", )),
            ('params=[1, 2]', lambda: l0(params=[1, 2]), ("'params'", )),
            ('params=None-module', lambda: l0(params=3), ("'params'", )),
            ('optimizer=None', lambda: L0ProjectedOptimizer(
                None, torch.nn.Linear(2, 2), 0.5), ("'optimizer'", ))):
        case('L0 optimizer', label, fn, names)
    for label, fn, names in (
            ('numel=-1', lambda: l0_keep_count(-1, 0.5), ("'numel'", )),
            ('numel=2.0', lambda: l0_keep_count(2.0, 0.5), ("'numel'", )),
            ('eps NaN', lambda: l0_keep_count(10, 0.5, eps=NAN),
             ("'eps'", )),
            ('project sparsity NaN', lambda: project_l0_(
                [torch.ones(3)], NAN), ("'sparsity'", )),
            ('project eps inf', lambda: project_l0_(
                [torch.ones(3)], 0.5, eps=INF), ("'eps'", )),
            ('schedule num_levels=0', lambda: teddy_schedule(0),
             ("'num_levels'", )),
            ('schedule num_levels=10**9', lambda: teddy_schedule(10**9),
             ("'num_levels'", )),
            ('schedule graph_rate NaN', lambda: teddy_schedule(
                2, graph_rate=NAN), ("'graph_rate'", )),
            ('distill list', lambda: teddy_distillation_loss(
                [[1.0]], torch.zeros(1, 1)), ("'student_logits'", )),
            ('distill shapes', lambda: teddy_distillation_loss(
                torch.zeros(2, 3), torch.zeros(3, 3)),
             ("'student_logits'", "'teacher_logits'"))):
        case('L0 optimizer', label, fn, names)
    case('L0 optimizer', 'valid: no parameters', lambda: l0(params=[]), (),
         'valid')


def _directed():
    d = H.graph()
    d.edge_index = d.edge_index[:, d.edge_index[0] < d.edge_index[1]]
    return d


# The heterophily measure -----------------------------------------------
def _heterophily():
    from pyg_ext.utils import LabelEvents, temporal_edge_heterophily as teh
    src = torch.tensor([0, 1, 2, 0])
    dst = torch.tensor([1, 2, 3, 3])
    t = torch.tensor([0.0, 1.0, 2.0, 3.0])
    y = torch.tensor([0, 1, 0, 1])
    le = LabelEvents(torch.tensor([0, 1, 2, 3]), torch.zeros(4),
                     torch.tensor([0, 1, 0, 1]))
    T = ("'t'", )
    for label, fn, names in (
            ('t NaN', lambda: teh(src, dst, torch.tensor(
                [0.0, NAN, 2.0, 3.0]), y), T),
            ('t inf', lambda: teh(src, dst, torch.tensor(
                [0.0, 1.0, 2.0, INF]), y), T),
            ('t negative', lambda: teh(src, dst, -t, y), T),
            ('t short', lambda: teh(src, dst, t[:3], y), T),
            ('t bool', lambda: teh(src, dst, t > 1, y), T),
            ('src float', lambda: teh(src.float(), dst, t, y), ("'src'", )),
            ('src negative', lambda: teh(-src - 1, dst, t, y),
             ("'src'", )),
            ('dst short', lambda: teh(src, dst[:2], t, y), ("'dst'", )),
            ('src 2-D', lambda: teh(src.view(2, 2), dst, t, y), ("'src'", )),
            ('src None', lambda: teh(None, dst, t, y), ("'src'", )),
            ('y short', lambda: teh(src, dst, t, y[:2]), ("'y'", )),
            ('y float', lambda: teh(src, dst, t, y.float()), ("'y'", )),
            ('y and label_events', lambda: teh(src, dst, t, y,
                                               label_events=le),
             ("'y'", "'label_events'")),
            ('neither', lambda: teh(src, dst, t), ("'y'", "'label_events'")),
            ('t_start NaN', lambda: teh(src, dst, t, y, t_start=NAN),
             ("'t_start'", )),
            ('t_end NaN', lambda: teh(src, dst, t, y, t_end=NAN),
             ("'t_end'", )),
            ('t_start > t_end', lambda: teh(src, dst, t, y, t_start=3.0,
                                            t_end=1.0), ("'t_start'", )),
            ('t_start str', lambda: teh(src, dst, t, y, t_start='0'),
             ("'t_start'", )),
            ('node oob', lambda: teh(src, dst, t, y, node=torch.tensor([9])),
             ("'node'", )),
            ('node negative', lambda: teh(src, dst, t, y,
                                          node=torch.tensor([-1])),
             ("'node'", )),
            ('node float', lambda: teh(src, dst, t, y,
                                       node=torch.tensor([1.0])),
             ("'node'", )),
            ('node bool short', lambda: teh(src, dst, t, y, node=torch.tensor(
                [True, False])), ("'node'", )),
            ('reduction', lambda: teh(src, dst, t, y, reduction='max'),
             ("'reduction'", )),
            ('neighbor_label_at', lambda: teh(src, dst, t, y,
                                              neighbor_label_at='now'),
             ("'neighbor_label_at'", )),
            ('undirected=1', lambda: teh(src, dst, t, y, undirected=1),
             ("'undirected'", )),
            ('num_nodes=-1', lambda: teh(src, dst, t, y, num_nodes=-1),
             ("'num_nodes'", )),
            ('num_nodes too small', lambda: teh(src, dst, t, y, num_nodes=2),
             ("'num_nodes'", "'src'")),
            ('num_nodes=True', lambda: teh(src, dst, t, y, num_nodes=True),
             ("'num_nodes'", )),
            ('huge id, no num_nodes', lambda: teh(
                src + 10**12, dst, t, torch.zeros(4, dtype=torch.long)),
             ("'src'", "'y'")),
            ('label_events beyond num_nodes', lambda: teh(
                src, dst, t, num_nodes=4, label_events=(
                    le.node + 5, le.time, le.y)), ("'label_events", )),
            ('label_events 2 fields', lambda: teh(
                src, dst, t, label_events=(le.node, le.time)),
             ("'label_events'", )),
            ('label_events lengths', lambda: teh(src, dst, t, label_events=(
                le.node, le.time[:2], le.y)), ("'label_events'", )),
            ('label_events negative node', lambda: teh(
                src, dst, t, label_events=(-le.node - 1, le.time, le.y)),
             ("'label_events", )),
            ('label_events NaN time', lambda: teh(
                src, dst, t, label_events=(le.node, torch.full((4, ), NAN),
                                           le.y)), ("'label_events", )),
            ('label_events float y', lambda: teh(
                src, dst, t, label_events=(le.node, le.time, le.y.float())),
             ("'label_events", ))):
        case('temporal_edge_heterophily', label, fn, names)
    case('temporal_edge_heterophily', 'valid: no events', lambda: teh(
        src[:0], dst[:0], t[:0], y, reduction='none'), (), 'valid-nan')
    case('temporal_edge_heterophily', 'valid: one class', lambda: teh(
        src, dst, t, torch.zeros(4, dtype=torch.long)), (), 'valid')
    case('temporal_edge_heterophily', 'valid: isolated node', lambda: teh(
        src, dst, t, torch.tensor([0, 1, 0, 1, 1]), reduction='edge'), (),
        'valid')


# The Evaluator ----------------------------------------------------------
def _evaluator():
    from pyg_ext.metrics import Evaluator

    def ev(metric, **d):
        return Evaluator(metric).eval(d)
    yt, yp = torch.tensor([0, 1, 1, 0]), torch.tensor([0, 1, 0, 0])
    sc = torch.tensor([0.1, 0.9, 0.4, 0.3])
    pos, neg = torch.tensor([0.5, 0.2]), torch.tensor([[0.1, 0.3],
                                                       [0.4, 0.6]])
    YT, YP = ("'y_true'", ), ("'y_pred'", )
    for metric in ('accuracy', 'macro_f1'):
        for label, kw, names in (
                ('y_pred float', dict(y_true=yt, y_pred=sc), YP),
                ('y_true NaN', dict(y_true=torch.tensor([0., NAN, 1, 0]),
                                    y_pred=yp), YT),
                ('length mismatch', dict(y_true=yt, y_pred=yp[:3]),
                 ("'y_true'", "'y_pred'")),
                ('negative label', dict(y_true=yt - 1, y_pred=yp), YT),
                ('y_pred negative', dict(y_true=yt, y_pred=yp - 5), YP),
                ('2-D labels', dict(y_true=yt.view(2, 2), y_pred=yp.view(
                    2, 2)), YT),
                ('empty', dict(y_true=yt[:0], y_pred=yp[:0]), YT),
                ('missing y_pred', dict(y_true=yt), YP),
                ('y_true None', dict(y_true=None, y_pred=yp), YT),
                ('bool labels', dict(y_true=yt.bool(), y_pred=yp.bool()),
                 YT)):
            case('Evaluator.eval', f'{metric}: {label}', lambda m=metric,
                 k=kw: ev(m, **k), names)
        case('Evaluator.eval', f'valid: {metric} one class', lambda m=metric:
             ev(m, y_true=torch.zeros(3, dtype=torch.long),
                y_pred=torch.zeros(3, dtype=torch.long)), (), 'valid')
    for metric in ('rocauc', 'ap'):
        for label, kw, names in (
                ('y_pred NaN', dict(y_true=yt, y_pred=torch.tensor(
                    [0.1, NAN, 0.2, 0.3])), YP),
                ('y_pred inf', dict(y_true=yt, y_pred=torch.tensor(
                    [0.1, INF, 0.2, 0.3])), YP),
                ('length mismatch', dict(y_true=yt, y_pred=sc[:3]),
                 ("'y_true'", "'y_pred'")),
                ('labels not binary', dict(y_true=yt * 2, y_pred=sc), YT),
                ('y_true inf', dict(y_true=torch.tensor([0., INF, 1, 0]),
                                    y_pred=sc), YT),
                ('3-D', dict(y_true=yt.view(1, 2, 2), y_pred=sc.view(
                    1, 2, 2)), YT),
                ('y_pred str', dict(y_true=yt, y_pred=['a'] * 4), YP),
                ('one class only', dict(y_true=torch.ones(4), y_pred=sc),
                 YT)):
            case('Evaluator.eval', f'{metric}: {label}', lambda m=metric,
                 k=kw: ev(m, **k), names)
    PP, PN = ("'y_pred_pos'", ), ("'y_pred_neg'", )
    for label, kw, names in (
            ('all NaN', dict(y_pred_pos=torch.full((2, ), NAN),
                             y_pred_neg=torch.full((2, 2), NAN)), PP + PN),
            ('pos NaN', dict(y_pred_pos=torch.tensor([NAN, 0.2]),
                             y_pred_neg=neg), PP),
            ('neg NaN', dict(y_pred_pos=pos, y_pred_neg=torch.tensor(
                [[NAN, 0.1], [0.2, 0.3]])), PN),
            ('pos inf', dict(y_pred_pos=torch.tensor([INF, 0.2]),
                             y_pred_neg=neg), PP),
            ('no negatives', dict(y_pred_pos=pos,
                                  y_pred_neg=torch.zeros(2, 0)), PN),
            ('no queries', dict(y_pred_pos=pos[:0],
                                y_pred_neg=neg[:0]), PP),
            ('rows mismatch', dict(y_pred_pos=pos, y_pred_neg=neg[:1]), PN),
            ('pos 2-D', dict(y_pred_pos=pos.view(2, 1), y_pred_neg=neg), PP),
            ('neg 1-D', dict(y_pred_pos=pos, y_pred_neg=neg[0]), PN),
            ('pos int', dict(y_pred_pos=torch.tensor([1, 2]),
                             y_pred_neg=neg), ()),
            ('pos bool', dict(y_pred_pos=torch.tensor([True, False]),
                              y_pred_neg=neg), PP)):
        kind = 'valid' if label == 'pos int' else 'bad'
        case('Evaluator.eval', f'mrr: {label}', lambda k=kw: ev('mrr', **k),
             names, kind)
    case('Evaluator.eval', 'metric=None', lambda: Evaluator(None),
         ("'metric'", ))
    case('Evaluator.eval', 'accuracy: logits as y_pred', lambda: ev(
        'accuracy', y_true=yt, y_pred=torch.randn(4, 3)), YP)
    case('Evaluator.eval', 'rocauc: y_true strings', lambda: ev(
        'rocauc', y_true=['a', 'b', 'a', 'b'], y_pred=sc), YT)
    case('Evaluator.eval', 'input list', lambda: Evaluator('ap').eval([1]),
         ("input_dict", ))


# MatchEdgeHomophily --------------------------------------------------------
def _match():
    from pyg_ext.transforms import MatchEdgeHomophily
    from pyg_ext.transforms.match_edge_homophily import \
        match_edge_homophily_mask as mask
    for v in (NAN, -0.1, 1.5, '0.2', None, True):
        case('MatchEdgeHomophily', f'target={v!r}', lambda v=v:
             MatchEdgeHomophily(v)(H.graph()), ("'target'", ))
    for v in (1.5, -1, '3', None, True):
        case('MatchEdgeHomophily', f'seed={v!r}', lambda v=v:
             MatchEdgeHomophily(0.2, seed=v)(H.graph()), ("'seed'", ))
    case('MatchEdgeHomophily', 'undirected=1', lambda: MatchEdgeHomophily(
        0.2, undirected=1)(H.graph()), ("'undirected'", ))
    for c in ('ei_out_of_range', 'ei_negative', 'ei_float', 'ei_E_by_2',
              'ei_missing', 'y_missing', 'y_short', 'y_float', 'data_none'):
        case('MatchEdgeHomophily', c, lambda c=c: MatchEdgeHomophily(0.2)(
            H.corrupt(c)[0]), H.CORRUPTIONS[c][1])
    d = H.graph()
    case('MatchEdgeHomophily', 'mask: y 2-D', lambda: mask(
        d.edge_index, d.y.view(2, 3), 0.2), ("'y'", ))
    case('MatchEdgeHomophily', 'valid: zero edges', lambda:
         MatchEdgeHomophily(0.2)(_no_edges()), (), 'valid')


# Synthetic loaders ----------------------------------------------------------
def _loaders():
    from pyg_ext.datasets import (csbm_graph, feature_structure_graph,
                                  load_csbm, random_split_masks)
    from pyg_ext.datasets.csbm_shift import CSBMStructureShift
    small = dict(num_nodes=40, num_features=4)
    for arg, values in {'num_nodes': (0, -5, 2.5, None),
                        'num_features': (0, -1, True),
                        'num_classes': (1, 0, 1.5),
                        'mu': (NAN, INF, '1'),
                        'degree': (NAN, -1.0, INF),
                        'homophily': (NAN, -0.1, 1.5),
                        'degree_convention': ('x', None),
                        'degree_distribution': ('x', ),
                        'power_law_exponent': (NAN, 0.5),
                        'num_splits': (0, -1),
                        'train_ratio': (0.0, 1.0, NAN),
                        'val_ratio': (-0.1, 0.9, NAN),
                        'seed': (-1, 1.5, None)}.items():
        for v in values:
            kw = dict(small)
            kw[arg] = v
            case('load_csbm', f'{arg}={v!r}', lambda k=kw: load_csbm(**k),
                 (f"'{arg}'", 'train_ratio', 'val_ratio') if arg.endswith(
                     'ratio') else (f"'{arg}'", ))
    case('load_csbm', 'valid: two nodes', lambda: csbm_graph(
        num_nodes=2, num_features=3, degree=1.0), (), 'valid')
    case('load_csbm', 'valid: no edges', lambda: load_csbm(
        num_nodes=10, num_features=3, degree=0.0), (), 'valid')
    for arg, values in {'num_nodes': (0, -1, 2.5), 'num_splits': (0, ),
                        'seed': (-1, 'a')}.items():
        for v in values:
            kw = dict(num_nodes=10, num_splits=1)
            kw[arg] = v
            case('load_csbm', f'random_split_masks {arg}={v!r}',
                 lambda k=kw: random_split_masks(**k), (f"'{arg}'", ))
    for arg, values in {'num_nodes': (0, -1, 2.5), 'num_classes': (0, 1),
                        'num_features': (0, -2), 'degree': (-1, 0),
                        'signal': (NAN, INF), 'noise': (NAN, -1.0),
                        'feature_fraction': (NAN, -0.5, 1.5),
                        'seed': (-1, 1.5)}.items():
        for v in values:
            kw = dict(num_nodes=40)
            kw[arg] = v
            case('feature_structure', f'{arg}={v!r}', lambda k=kw:
                 feature_structure_graph(**k), (f"'{arg}'", ))
    from pyg_ext.datasets.snap import load_im_synthetic
    from pyg_ext.datasets.temporal import synthetic_event_stream
    for arg, values in {'num_nodes': (0, 1, 2.5), 'm': (0, -1, 100),
                        'seed': (-1, 1.5), 'ap_sizes': ([0], [10**6], 'x')
                        }.items():
        for v in values:
            kw = dict(num_nodes=30, m=2)
            kw[arg] = v
            case('im_synthetic', f'{arg}={v!r}', lambda k=kw:
                 load_im_synthetic(**k), (f"'{arg}", ))
    for arg, values in {'num_nodes': (0, 1.5), 'num_events': (0, ),
                        'seed': (-1, None), 'time_span': (NAN, 0.0, INF),
                        'feature_noise': (-1.0, NAN), 'p_cross': (1.5, NAN),
                        'switch_time': (-0.1, ), 'integer_time': (1, 'no'),
                        'edge_dim': (-1, )}.items():
        for v in values:
            kw = dict(num_nodes=20, num_events=50)
            kw[arg] = v
            case('temporal_synthetic', f'{arg}={v!r}', lambda k=kw:
                 synthetic_event_stream(**k), (f"'{arg}'", ))
    for arg, values in {'setting': ('x', None), 'attribute_shift': (NAN, ),
                        'num_nodes': (0, -3, 2.5),
                        'num_features': (0, -1), 'mu': (NAN, INF),
                        'seed': (-1, 1.5)}.items():
        for v in values:
            kw = dict(num_nodes=60, num_features=4)
            kw[arg] = v
            case('csbm_shift', f'{arg}={v!r}', lambda k=kw:
                 CSBMStructureShift(**k), (f"'{arg}'", ))


# Mowst maths and k-hop helpers (metadata checks) ---------------------------
def _maths():
    from pyg_ext.utils import (dispersion_features, entropy_dispersion,
                               expected_accuracy, khop_distance,
                               khop_in_subgraph, mixture_log_probs,
                               mowst_loss, mowst_star_loss,
                               variance_dispersion)
    w, s = torch.randn(4, 3), torch.randn(4, 3)
    c, y = torch.rand(4), torch.tensor([0, 1, 2, 0])
    for label, fn, names in (
            ('variance int', lambda: variance_dispersion(torch.ones(2, 3,
                                                          dtype=torch.long)),
             ("'p'", )),
            ('entropy list', lambda: entropy_dispersion([0.5, 0.5]),
             ("'p'", )),
            ('dispersion unknown', lambda: dispersion_features(w, 'max'),
             ("'dispersion'", 'dispersion')),
            ('dispersion logits list', lambda: dispersion_features([[1.0]]),
             ("'logits'", )),
            ('mix conf short', lambda: mixture_log_probs(w, s, c[:3]),
             ("'conf'", )),
            ('mix conf list', lambda: mixture_log_probs(w, s, [0.5] * 4),
             ("'conf'", )),
            ('mix strong shape', lambda: mixture_log_probs(w, s[:, :2], c),
             ("'strong_logits'", )),
            ('mix weak int', lambda: mixture_log_probs(w.long(), s, c),
             ("'weak_logits'", )),
            ('mix name', lambda: mixture_log_probs(w, s, c, mix='x'),
             ("'mix'", )),
            ('loss target short', lambda: mowst_loss(w, s, c, y[:3]),
             ("'target'", )),
            ('loss target float', lambda: mowst_loss(w, s, c, y.float()),
             ("'target'", )),
            ('star loss target 2-D', lambda: mowst_star_loss(
                w, s, c, y.view(2, 2)), ("'target'", )),
            ('loss reduction', lambda: mowst_loss(w, s, c, y,
                                                  reduction='avg'),
             ("'reduction'", )),
            ('expected_accuracy shapes', lambda: expected_accuracy(
                c, c[:2] > 0, c > 0), ("'conf'", "'weak_correct'")),
            ('expected_accuracy list', lambda: expected_accuracy(
                [0.5], c > 0, c > 0), ("'conf'", )),
            ('khop num_hops -1', lambda: khop_distance(
                torch.tensor([0]), -1, H.graph().edge_index, H.N),
             ("'num_hops'", )),
            ('khop index float', lambda: khop_distance(
                torch.tensor([0.0]), 1, H.graph().edge_index, H.N),
             ("'index'", )),
            ('khop index oob', lambda: khop_distance(
                torch.tensor([9]), 1, H.graph().edge_index, H.N),
             ("'index'", )),
            ('khop edge_index oob', lambda: khop_in_subgraph(
                torch.tensor([0]), 1, H.corrupt('ei_out_of_range')[0]
                .edge_index, H.N), ("'edge_index'", )),
            ('khop E x 2', lambda: khop_distance(
                torch.tensor([0]), 1, H.graph().edge_index.t(), H.N),
             ("'edge_index'", ))):
        case('Mowst maths / khop', label, fn, names)


# The CLI --------------------------------------------------------------------
CLI_CASES = [
    # (label, yaml text or None, overrides, key that must be named)
    ('malformed YAML', 'train: {epochs: 2\nmodel: gcn\n', [], 'line'),
    ('tab-indented YAML', 'train:\n\tepochs: 2\n', [], 'line'),
    ('empty file', '', [], 'config'),
    ('top-level list', '- 1\n- 2\n', [], 'config'),
    ('empty train section', 'train:\n', [], 'train'),
    ('empty model section', 'model:\n', [], 'model'),
    ('empty dataset section', 'dataset:\n', [], 'dataset'),
    ('train not a mapping', 'train: 3\n', [], 'train'),
    ('hidden_channels=0', None, ['model.hidden_channels=0'],
     'model.hidden_channels'),
    ('hidden_channels=-4', None, ['model.hidden_channels=-4'],
     'model.hidden_channels'),
    ('num_layers=0', None, ['model.num_layers=0'], 'model.num_layers'),
    ('dropout=1.5', None, ['model.dropout=1.5'], 'model.dropout'),
    ('dropout=.nan', None, ['model.dropout=.nan'], 'model.dropout'),
    ('epochs=0', None, ['train.epochs=0'], 'train.epochs'),
    ('epochs=-3', None, ['train.epochs=-3'], 'train.epochs'),
    ('lr=.nan', None, ['train.lr=.nan'], 'train.lr'),
    ('lr=.inf', None, ['train.lr=.inf'], 'train.lr'),
    ('lr=0', None, ['train.lr=0'], 'train.lr'),
    ('weight_decay=-1', None, ['train.weight_decay=-1'],
     'train.weight_decay'),
    ('weight_decay=.nan', None, ['train.weight_decay=.nan'],
     'train.weight_decay'),
    ('num_threads=0', None, ['train.num_threads=0'], 'train.num_threads'),
    ('num_threads=-2', None, ['train.num_threads=-2'], 'train.num_threads'),
    ('seed=-1', None, ['train.seed=-1'], 'train.seed'),
    ('runs=0', None, ['train.runs=0'], 'train.runs'),
    ('patience=0', None, ['train.patience=0'], 'train.patience'),
    ('eval_every=0', None, ['train.eval_every=0'], 'train.eval_every'),
    ('checkpoint_every=-1', None, ['train.checkpoint_every=-1'],
     'train.checkpoint_every'),
    ('splits=[-1]', None, ['train.splits=[-1]'], 'train.splits'),
    ('splits=[5]', None, ['train.splits=[5]'], 'train.splits'),
    ('device=tpu', None, ['train.device=tpu'], 'train.device'),
    ('unknown key', None, ['train.epohcs=3'], 'train.epohcs'),
    ('override syntax', None, ['train.epochs'], 'train.epochs'),
    ('override YAML', None, ['train.lr=[1,'], 'train.lr'),
    ('dataset num_nodes=0', None, ['dataset.num_nodes=0'],
     'dataset.num_nodes'),
    ('dataset homophily=2', None, ['dataset.homophily=2.0'],
     'dataset.homophily'),
    ('dataset train_ratio=.nan', None, ['dataset.train_ratio=.nan'],
     'dataset.train_ratio'),
    ('dataset seed=-1', None, ['dataset.seed=-1'], 'dataset.seed'),
    ('gat heads=0', None, ['model.name=gat', 'model.heads=0'],
     'model.heads'),
    ('task metric', None, ['task.metric=auc'], 'task.metric'),
    ('adarc steps=0', None, ['task.name=test_time_adaptation',
                             'dataset.name=csbm_shift', 'method.name=adarc',
                             'model.name=gprgnn', 'method.steps=0'],
     'method.steps'),
    ('adarc lr=.nan', None, ['task.name=test_time_adaptation',
                             'dataset.name=csbm_shift', 'method.name=adarc',
                             'model.name=gprgnn', 'method.lr=.nan'],
     'method.lr'),
    ('gprgnn K=-1', None, ['task.name=test_time_adaptation',
                           'dataset.name=csbm_shift', 'method.name=adarc',
                           'model.name=gprgnn', 'model.K=-1'], 'model.K'),
    ('mowst max_rounds=0', None, ['method.name=mowst',
                                  'method.max_rounds=0'],
     'method.max_rounds'),
    ('mowst turn_epochs=0', None, ['method.name=mowst',
                                   'method.turn_epochs=0'],
     'method.turn_epochs'),
    ('mowst pretrain_epochs=-1', None, ['method.name=mowst',
                                        'method.pretrain_epochs=-1'],
     'method.pretrain_epochs'),
    ('mowst gate_hidden=0', None, ['method.name=mowst',
                                   'method.gate_hidden=0'],
     'method.gate_hidden'),
    ('mowst_star lr_gate=.nan', None, ['method.name=mowst_star',
                                       'method.lr_gate=.nan'],
     'method.lr_gate'),
    ('teddy num_levels=0', None, ['method.name=teddy',
                                  'model.name=teddy_gcn',
                                  'method.num_levels=0'],
     'method.num_levels'),
    ('teddy lamb=.nan', None, ['method.name=teddy', 'model.name=teddy_gcn',
                               'method.lamb=.nan'], 'method.lamb'),
    ('ugs lambda_edge=-1', None, ['method.name=ugs', 'model.name=teddy_gcn',
                                  'method.lambda_edge=-1.0'],
     'method.lambda_edge'),
]


def _cli():
    for label, text, overrides, key in CLI_CASES:
        case('pyg-ext run', label, lambda t=text, o=overrides: _run_cli(
            t, o), (key, ), 'cli')
    from pyg_ext.cli import main
    for label, args, key in (
            ('plot a missing run dir', ['plot', '/nonexistent/run'],
             'nonexistent'),
            ('resume a missing run dir', ['run', '--resume', '/nonexistent'],
             'nonexistent'),
            ('--device tpu', ['main', '--quiet', '--device', 'tpu'],
             'train.device'),
            ('main --set train.epochs=0', ['main', '--set',
                                           'train.epochs=0'], 'train.epochs')):
        case('pyg-ext run', label, lambda a=args: main(a), (key, ), 'cli')
    for label, text, key in (
            ('suite: experiments not a list', 'experiments: 3\n',
             'experiments'),
            ('suite: bad key in an experiment',
             'experiments:\n  - {name: a, train: {epochs: 0}}\n',
             'experiments[0].train.epochs'),
            ('suite: duplicate names',
             'experiments:\n  - {name: a}\n  - {name: a}\n',
             'experiments[1].name')):
        case('pyg-ext run', label, lambda t=text: _run_cli(t, []), (key, ),
             'cli')


def _run_cli(text, overrides):
    from pyg_ext.cli import main
    tmp = tempfile.mkdtemp()
    cfg = Path(tmp) / 'cfg.yaml'
    if text is None:
        text = 'train: {epochs: 1, runs: 1}\ndataset: {name: csbm, ' \
               'num_nodes: 60, num_features: 8}\n'
    cfg.write_text(text)
    args = ['run', str(cfg), '--quiet', '--run-dir', str(Path(tmp) / 'run')]
    for o in overrides:
        args += ['--set', o]
    return main(args)


# Runner ---------------------------------------------------------------------
def _classify(exc, names):
    msg = str(exc)
    if isinstance(exc, (ValueError, TypeError)) and (
            not names or any(n in msg for n in names)):
        return 'clear'
    return 'unclear'


def _limit_memory(extra_gib: float = 4.0) -> None:
    r"""Caps the child's address space at its current size + a few GiB, so
    that an unbounded allocation fails in the child (a MemoryError, counted
    as unclear) instead of exhausting a shared machine."""
    import resource
    try:
        with open('/proc/self/status') as f:
            kb = next(int(ln.split()[1]) for ln in f
                      if ln.startswith('VmSize:'))
        cap = kb * 1024 + int(extra_gib * 1024**3)
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    except (OSError, StopIteration, ValueError):
        pass


def _child(fn, names, kind, wfd):
    import io
    _limit_memory()
    status, detail = 'unclear', ''
    try:
        if kind == 'cli':
            err = io.StringIO()
            old = sys.stderr
            sys.stderr = err
            try:
                rc = fn()
            finally:
                sys.stderr = old
            text = err.getvalue()
            lines = [ln for ln in text.splitlines() if ln.strip()]
            if rc == 0:
                status = 'silent'
            elif rc == 2 and len(lines) == 1 and 'Traceback' not in text \
                    and any(n in lines[0] for n in names):
                status = 'clear'
            detail = f'rc={rc} ' + ' | '.join(lines[-3:])
        else:
            out = fn()
            if kind.startswith('valid'):
                status = 'ok' if _finite(out, kind == 'valid-nan') \
                    else 'bad-result'
                detail = repr(out)[:200]
            else:
                status, detail = 'silent', repr(out)[:200]
    except BaseException as e:  # noqa: B036 (a report, not a handler)
        if kind.startswith('valid'):
            status = 'fail'
        elif kind == 'cli':
            status = 'unclear'
        else:
            status = _classify(e, names)
        detail = f'{type(e).__name__}: {str(e)[:300]}'
        if os.environ.get('SWEEP_TRACE'):
            traceback.print_exc()
    os.write(wfd, f'{status}\t{detail}'.encode()[:4000])
    os._exit(0)


def _finite(out, allow_nan=False):
    if out is None:
        return True
    if isinstance(out, torch.Tensor):
        if out.is_floating_point() and not allow_nan:
            return bool(torch.isfinite(out).all())
        return True
    if isinstance(out, dict):
        return all(_finite(v, allow_nan) for v in out.values())
    if isinstance(out, (list, tuple)):
        return all(_finite(v, allow_nan) for v in out)
    if isinstance(out, float):
        return allow_nan or math.isfinite(out)
    metrics = getattr(out, 'metrics', None)
    if isinstance(metrics, dict):  # FitResult: accuracies may be NaN on an
        return True                # empty split, the rest must exist
    if hasattr(out, 'x') and hasattr(out, 'edge_index'):  # a Data
        return True
    return True


def run_case(fn, names, kind, timeout):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            _child(fn, names, kind, w)
        finally:
            os._exit(1)
    os.close(w)
    import select
    import time
    deadline = time.monotonic() + timeout
    chunks = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(r)
            return 'crash', f'timeout after {timeout}s'
        ready, _, _ = select.select([r], [], [], left)
        if ready:
            chunk = os.read(r, 4096)
            if not chunk:
                break
            chunks.append(chunk)
    os.close(r)
    _, st = os.waitpid(pid, 0)
    text = b''.join(chunks).decode(errors='replace')
    if not text:
        sig = os.WTERMSIG(st) if os.WIFSIGNALED(st) else None
        return 'crash', f'child died (signal {sig}, status {st})'
    status, _, detail = text.partition('\t')
    return status, detail


BUILDERS = [_fits, _adarc, _teddy, _heterophily, _evaluator, _match,
            _loaders, _maths, _cli]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--only', action='append', default=None,
                   help='entry points to run (substring, repeatable)')
    p.add_argument('--timeout', type=float, default=60.0)
    p.add_argument('-v', '--verbose', action='store_true',
                   help='print every case that is not clear/ok')
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    os.environ.setdefault('MPLBACKEND', 'Agg')
    for b in BUILDERS:
        b()
    totals = defaultdict(int)
    vtotals = defaultdict(int)
    rows = []
    for entry, cases in CASES.items():
        if args.only and not any(o in entry for o in args.only):
            continue
        counts = defaultdict(int)
        vcounts = defaultdict(int)
        for label, fn, names, kind in cases:
            status, detail = run_case(fn, names, kind, args.timeout)
            if kind.startswith('valid'):
                vcounts[status] += 1
                vtotals[status] += 1
            else:
                counts[status] += 1
                totals[status] += 1
            if args.verbose and status not in ('clear', 'ok'):
                print(f'  [{status}] {entry}: {label}: {detail}', flush=True)
        rows.append((entry, counts, vcounts))
    keys = ('clear', 'silent', 'unclear', 'crash')
    print(f"\n{'entry point':<28} {'bad':>4} " + ' '.join(
        f'{k:>8}' for k in keys) + '   valid ok/total')
    for entry, counts, vcounts in rows:
        n = sum(counts.values())
        nv = sum(vcounts.values())
        print(f'{entry:<28} {n:>4} ' + ' '.join(
            f'{100 * counts[k] / max(n, 1):>7.0f}%' for k in keys) +
            f'   {vcounts["ok"]}/{nv}')
    n = sum(totals.values())
    nv = sum(vtotals.values())
    print(f"{'TOTAL':<28} {n:>4} " + ' '.join(
        f'{100 * totals[k] / max(n, 1):>7.1f}%' for k in keys) +
        f'   {vtotals["ok"]}/{nv}')
    print('counts: ' + ', '.join(f'{k}={totals[k]}' for k in keys))
    return 0


if __name__ == '__main__':
    sys.exit(main())
