r"""Bad input of the Evaluator, the temporal heterophily measure,
MatchEdgeHomophily and the Mowst maths / k-hop helpers: a ValueError or
TypeError naming the argument (never an MRR of 1.0 from NaN scores); valid
edge cases give well-defined values."""
import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import helpers_bad_input as H
from pyg_ext.metrics import Evaluator
from pyg_ext.transforms import MatchEdgeHomophily
from pyg_ext.utils import (LabelEvents, khop_distance, mixture_log_probs,
                           mowst_loss, temporal_edge_heterophily)

S = H.strategies()
SETTINGS = settings(max_examples=25, deadline=None, derandomize=True,
                    suppress_health_check=list(HealthCheck))
BAD = st.sampled_from([math.nan, math.inf, -math.inf])


@SETTINGS
@given(n=st.integers(1, 6), k=st.integers(1, 5), bad=BAD,
       where=st.sampled_from(['y_pred_pos', 'y_pred_neg']),
       i=st.integers(0, 10**6))
def test_mrr_refuses_nan_and_inf(n, k, bad, where, i):
    d = {'y_pred_pos': np.random.rand(n), 'y_pred_neg': np.random.rand(n, k)}
    d[where].reshape(-1)[i % d[where].size] = bad
    H.assert_clear(lambda: Evaluator('mrr').eval(d), (f"'{where}'", ))


@SETTINGS
@given(n=st.integers(0, 6), k=st.integers(0, 5), m=st.integers(0, 6))
def test_mrr_shapes(n, k, m):
    d = {'y_pred_pos': np.random.rand(n), 'y_pred_neg': np.random.rand(m, k)}
    if n >= 1 and k >= 1 and m == n:
        out = Evaluator('mrr').eval(d)
        assert 0 < out['mrr'] <= 1
    else:  # no query, no negative or a row mismatch
        H.assert_clear(lambda: Evaluator('mrr').eval(d),
                       ("'y_pred_pos'", "'y_pred_neg'"))


@SETTINGS
@given(metric=st.sampled_from(['rocauc', 'ap']), bad=BAD,
       i=st.integers(0, 10**6), short=st.integers(0, 9))
def test_ranking_metrics_refuse_bad_scores(metric, bad, i, short):
    y = np.array([0, 1, 1, 0, 1, 0, 0, 1])
    s = np.random.rand(8)
    s[i % 8] = bad
    H.assert_clear(lambda: Evaluator(metric).eval({'y_true': y,
                                                   'y_pred': s}),
                   ("'y_pred'", ))
    if short != 8:
        H.assert_clear(lambda: Evaluator(metric).eval(
            {'y_true': y, 'y_pred': np.random.rand(short)}), ("'y_pred'", ))


@SETTINGS
@given(metric=st.sampled_from(['accuracy', 'macro_f1']),
       y=st.lists(st.integers(-5, 5), min_size=1, max_size=8),
       dtype=st.sampled_from(['int', 'float', 'bool']))
def test_label_metrics(metric, y, dtype):
    yt = np.array(y)
    yp = np.abs(yt)
    if dtype != 'int':
        yt = yt.astype(dtype)
    ev = Evaluator(metric)
    if dtype == 'int' and yt.min() >= 0:
        assert 0 <= ev.eval({'y_true': yt, 'y_pred': yp})[metric] <= 1
    else:
        H.assert_clear(lambda: ev.eval({'y_true': yt, 'y_pred': yp}),
                       ("'y_true'", ))


def test_evaluator_one_class_and_names():
    assert Evaluator('accuracy').eval({'y_true': np.zeros(3, int),
                                       'y_pred': np.zeros(3, int)}) == {
        'accuracy': 1.0}
    H.assert_clear(lambda: Evaluator('rocauc').eval({
        'y_true': np.ones(3), 'y_pred': np.random.rand(3)}), ("'y_true'", ))
    H.assert_clear(lambda: Evaluator('f1'), ("'metric'", ))


SRC, DST = torch.tensor([0, 1, 2, 0]), torch.tensor([1, 2, 3, 3])
T, Y = torch.tensor([0.0, 1.0, 2.0, 3.0]), torch.tensor([0, 1, 0, 1])


@SETTINGS
@given(bad=BAD, i=st.integers(0, 3), neg=st.integers(-10**6, -1),
       where=st.sampled_from(['src', 'dst']), short=st.integers(0, 3))
def test_heterophily_refuses_bad_streams(bad, i, neg, where, short):
    t = T.clone()
    t[i] = bad
    H.assert_clear(lambda: temporal_edge_heterophily(SRC, DST, t, Y),
                   ("'t'", ))
    ids = {'src': SRC.clone(), 'dst': DST.clone()}
    ids[where][i] = neg
    H.assert_clear(lambda: temporal_edge_heterophily(ids['src'], ids['dst'],
                                                     T, Y),
                   ("'src'", "'dst'"))
    H.assert_clear(lambda: temporal_edge_heterophily(SRC[:short], DST, T, Y),
                   ("'src'", "'dst'", "'t'"))


@SETTINGS
@given(t_start=st.one_of(st.just(math.nan), st.text(max_size=2)),
       num_nodes=st.one_of(st.integers(max_value=3), st.floats(),
                           st.booleans()),
       node=st.lists(st.one_of(st.integers(4, 10**6),
                               st.integers(-10**6, -1)), min_size=1,
                     max_size=3))
def test_heterophily_refuses_bad_options(t_start, num_nodes, node):
    H.assert_clear(lambda: temporal_edge_heterophily(SRC, DST, T, Y,
                                                     t_start=t_start),
                   ("'t_start'", ))
    H.assert_clear(lambda: temporal_edge_heterophily(SRC, DST, T, Y,
                                                     num_nodes=num_nodes),
                   ("'num_nodes'", "'src'"))
    H.assert_clear(lambda: temporal_edge_heterophily(
        SRC, DST, T, Y, node=torch.tensor(node)), ("'node'", ))
    ev = LabelEvents(torch.tensor([0, 1]), torch.tensor([0.0, math.nan]),
                     torch.tensor([0, 1]))
    H.assert_clear(lambda: temporal_edge_heterophily(SRC, DST, T,
                                                     label_events=ev),
                   ("'label_events", ))
    H.assert_clear(lambda: temporal_edge_heterophily(
        SRC, DST, T, label_events=ev[:2]), ("'label_events'", ))


def test_heterophily_valid_edge_cases():
    none = temporal_edge_heterophily(SRC[:0], DST[:0], T[:0], Y,
                                     reduction='none')
    assert none.shape == (4, ) and torch.isnan(none).all()  # undefined
    one = temporal_edge_heterophily(SRC, DST, T, torch.zeros(4).long())
    assert float(one) == 0.0  # one class present: no heterophily
    iso = temporal_edge_heterophily(SRC, DST, T, torch.tensor([0, 1, 0, 1,
                                                               1]),
                                    reduction='none')
    assert torch.isnan(iso[4]) and torch.isfinite(iso[:4]).all()


@SETTINGS
@given(target=S['probability'], seed=S['nonneg_int'], flag=S['bool'],
       draw=st.data())
def test_match_edge_homophily(target, seed, flag, draw):
    H.assert_clear(lambda: MatchEdgeHomophily(target), ("'target'", ))
    H.assert_clear(lambda: MatchEdgeHomophily(0.2, seed=seed), ("'seed'", ))
    H.assert_clear(lambda: MatchEdgeHomophily(0.2, undirected=flag),
                   ("'undirected'", ))
    data, names = H.corrupt(draw.draw(st.sampled_from(
        ['ei_out_of_range', 'ei_negative', 'ei_float', 'ei_E_by_2',
         'y_missing', 'y_short', 'y_float', 'data_none'])))
    H.assert_clear(lambda: MatchEdgeHomophily(0.2)(data), names)


def test_match_edge_homophily_valid_edge_cases():
    d = H.graph()
    d.edge_index = torch.zeros(2, 0, dtype=torch.long)
    assert MatchEdgeHomophily(0.2)(d).edge_index.shape == (2, 0)
    d = H.graph()
    d.y = torch.zeros_like(d.y)  # one class: every edge homophilic
    out = MatchEdgeHomophily(0.0)(d)
    assert out.edge_index.size(1) == 0


@SETTINGS
@given(n=st.integers(1, 5), short=st.integers(0, 4),
       dtype=st.sampled_from([torch.float32, torch.long]))
def test_mowst_maths_and_khop_metadata(n, short, dtype):
    w, s, c = torch.randn(n, 3), torch.randn(n, 3), torch.rand(n)
    y = torch.zeros(n, dtype=torch.long)
    if short < n:
        H.assert_clear(lambda: mixture_log_probs(w, s, c[:short]),
                       ("'conf'", ))
        H.assert_clear(lambda: mowst_loss(w, s, c, y[:short]),
                       ("'target'", ))
    if dtype != torch.long:
        H.assert_clear(lambda: mowst_loss(w, s, c, y.to(dtype)),
                       ("'target'", ))
    ei = H.graph().edge_index
    H.assert_clear(lambda: khop_distance(torch.tensor([H.N + short]), 1, ei,
                                         H.N), ("'index'", ))
    H.assert_clear(lambda: khop_distance(torch.tensor([0]), 1, ei.t(), H.N),
                   ("'edge_index'", ))
