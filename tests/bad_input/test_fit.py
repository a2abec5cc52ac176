r"""Bad input of every ``fit_*`` of the core methods (supervised, Mowst and
Mowst*, TEDDY, random pruning, UGS): generated graph defects and option
values raise a ValueError/TypeError naming the argument before any
training; valid edge cases train and return finite metrics."""
import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import helpers_bad_input as H
from pyg_ext.fit import (fit_mowst, fit_random_prune, fit_supervised,
                         fit_teddy, fit_ugs)

S = H.strategies()
SETTINGS = settings(max_examples=12, deadline=None, derandomize=True,
                    suppress_health_check=list(HealthCheck))
LEVELS = [(0.2, 0.2)]
FITS = {
    'supervised': (H.gcn, fit_supervised, dict(epochs=2)),
    'mowst': (H.mowst, fit_mowst, dict(pretrain_epochs=1, max_epochs=2,
                                       max_rounds=1)),
    'mowst_star': (lambda d: H.mowst(d, 'mowst_star'), fit_mowst,
                   dict(pretrain_epochs=1, max_epochs=2)),
    'teddy': (H.teddy_gcn, fit_teddy, dict(levels=LEVELS, epochs=2)),
    'random_prune': (H.teddy_gcn, fit_random_prune, dict(levels=LEVELS,
                                                         epochs=2)),
    'ugs': (H.teddy_gcn, fit_ugs, dict(levels=LEVELS, epochs=2)),
}
COMMON = {'lr': 'positive_float', 'weight_decay': 'nonneg_float',
          'optimizer': 'name', 'progress': 'bool',
          'checkpoint_every': 'nonneg_int', 'desc': 'positive_int'}
OPTIONS = {
    'supervised': dict(COMMON, epochs='positive_int',
                       eval_every='positive_int',
                       patience='positive_int_or_none', select_on='name',
                       higher_is_better='bool'),
    'mowst': dict(COMMON, max_epochs='positive_int',
                  max_rounds='positive_int', pretrain_epochs='nonneg_int',
                  patience='positive_int_or_none',
                  big_patience='positive_int_or_none', pretrain='name',
                  pretrain_lr='positive_float_or_none',
                  checkpoint_gate='bool', variant='name'),
    'mowst_star': dict(COMMON, max_epochs='positive_int',
                       pretrain_patience='positive_int_or_none'),
    'teddy': dict(COMMON, epochs='positive_int', lamb='nonneg_float',
                  count='name', distill='bool', score_self_loops='bool'),
    'random_prune': dict(COMMON, epochs='positive_int'),
    'ugs': dict(COMMON, epochs='positive_int', lambda_edge='nonneg_float',
                lambda_weight='nonneg_float'),
}


def run(name, data, **over):
    build, fn, kw = FITS[name]
    args = dict(kw, progress=False)
    args.update(over)
    return fn(build(H.graph()), data, **args)


@pytest.mark.parametrize('name', FITS)
@SETTINGS
@given(draw=st.data())
def test_graph_defects_raise_naming_the_attribute(name, draw):
    data, names = H.random_corruption(draw.draw)
    H.assert_clear(lambda: run(name, data), names)


@pytest.mark.parametrize('name', FITS)
@SETTINGS
@given(draw=st.data())
def test_bad_options_raise_naming_the_argument(name, draw):
    arg = draw.draw(st.sampled_from(sorted(OPTIONS[name])))
    value = draw.draw(S[OPTIONS[name][arg]])
    if arg == 'desc':  # a str: anything else is bad
        value = draw.draw(st.one_of(st.integers(), st.none()))
    H.assert_clear(lambda: run(name, H.graph(), **{arg: value}),
                   (f"'{arg}'", ))


@pytest.mark.parametrize('name', ['teddy', 'random_prune', 'ugs'])
@SETTINGS
@given(level=st.one_of(
    st.tuples(S['sparsity'], st.floats(0.0, 0.9)),
    st.tuples(st.floats(0.0, 0.9), S['sparsity']),
    st.lists(st.floats(0.0, 0.9), max_size=3).filter(lambda v: len(v) != 2)))
def test_bad_levels(name, level):
    H.assert_clear(lambda: run(name, H.graph(), levels=[level]),
                   ('levels', ))


def test_wrong_model_or_no_data():
    H.assert_clear(lambda: fit_mowst(H.gcn(H.graph()), H.graph()),
                   ("'model'", ))
    for name in FITS:
        H.assert_clear(lambda: run(name, None), ("'data'", ))
    H.assert_clear(lambda: fit_supervised(None, H.graph()), ("'model'", ))


def test_nan_edge_score_and_strong_kwargs():
    E = H.graph().edge_index.size(1)
    H.assert_clear(lambda: run('teddy', H.graph(), edge_score=torch.full(
        (E, ), math.nan)), ("'edge_score'", ))
    H.assert_clear(lambda: run('mowst', H.graph(), strong_kwargs={
        'edge_weight': torch.full((E, ), math.inf)}), ("edge_weight", ))


def _edge_case(case):
    d = H.graph()
    if case == 'zero_edges':
        d.edge_index = torch.zeros(2, 0, dtype=torch.long)
    elif case == 'isolated_nodes':
        d.edge_index = d.edge_index[:, (d.edge_index > 3).all(0)]
    elif case == 'one_class':
        d.y = torch.zeros_like(d.y)
    return d


@pytest.mark.parametrize('name', FITS)
@pytest.mark.parametrize('case', ['zero_edges', 'isolated_nodes',
                                  'one_class'])
def test_valid_edge_cases_give_finite_metrics(name, case):
    res = run(name, _edge_case(case))
    for key in ('val_accuracy', 'test_accuracy'):
        assert 0.0 <= res.metrics[key] <= 1.0, (key, res.metrics[key])
    for key, value in res.metrics.items():
        if isinstance(value, float):
            assert math.isfinite(value), (key, value)
