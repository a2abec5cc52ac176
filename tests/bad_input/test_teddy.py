r"""Bad input of the TEDDY transform, the TEDDY scores and keep mask, the
schedule and the L0 optimizer: a ValueError/TypeError naming the argument;
valid edge cases (no edges, one node, an empty graph) give well-defined
results."""
import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import helpers_bad_input as H
from pyg_ext.transforms import TEDDY
from pyg_ext.utils import (L0ProjectedOptimizer, l0_keep_count, project_l0_,
                           teddy_edge_score, teddy_keep_mask,
                           teddy_node_score, teddy_schedule)

S = H.strategies()
SETTINGS = settings(max_examples=20, deadline=None, derandomize=True,
                    suppress_health_check=list(HealthCheck))
FLAGS = ('score_self_loops', 'keep_self_loops', 'store_mask',
         'allow_directed')


@SETTINGS
@given(sparsity=S['sparsity'])
def test_transform_sparsity(sparsity):
    H.assert_clear(lambda: TEDDY(sparsity)(H.graph()), ("'sparsity'", ))


@SETTINGS
@given(flag=st.sampled_from(FLAGS), value=S['bool'],
       count=S['name'])
def test_transform_flags_and_count(flag, value, count):
    H.assert_clear(lambda: TEDDY(0.3, **{flag: value}), (f"'{flag}'", ))
    H.assert_clear(lambda: TEDDY(0.3, count=count), ("'count'", ))


@SETTINGS
@given(draw=st.data())
def test_transform_and_scores_refuse_bad_edges(draw):
    data, names = H.random_corruption(draw.draw)
    if names != H.EI:
        data, names = H.corrupt(draw.draw(st.sampled_from(
            ['ei_out_of_range', 'ei_negative', 'ei_float', 'ei_bool',
             'ei_E_by_2', 'ei_3_rows', 'ei_missing', 'data_none'])))
    H.assert_clear(lambda: TEDDY(0.3)(data), names)
    if data is not None and getattr(data, 'edge_index', None) is not None:
        for fn in (teddy_node_score, teddy_edge_score):
            H.assert_clear(lambda: fn(data.edge_index, H.N), names)


@SETTINGS
@given(i=st.integers(0, 10**6), value=st.sampled_from(
    [math.nan, math.inf, -math.inf, -1.0]), short=st.integers(0, 30))
def test_scores_refuse_bad_edge_weights(i, value, short):
    ei = H.graph().edge_index
    E = ei.size(1)
    w = torch.ones(E)
    w[i % E] = value
    for fn in (teddy_node_score, teddy_edge_score):
        H.assert_clear(lambda: fn(ei, edge_weight=w), ("'edge_weight'", ))
        if short != E:
            H.assert_clear(lambda: fn(ei, edge_weight=torch.ones(short)),
                           ("'edge_weight'", ))
    score = torch.rand(E)
    score[i % E] = value if value != -1.0 else math.nan
    H.assert_clear(lambda: teddy_keep_mask(ei, 0.3, score=score),
                   ("'score'", ))


@SETTINGS
@given(num_nodes=st.one_of(st.integers(max_value=-1), st.floats(),
                           st.booleans(), st.integers(0, H.N - 1)))
def test_scores_num_nodes(num_nodes):
    H.assert_clear(lambda: teddy_edge_score(H.graph().edge_index, num_nodes),
                   ("'num_nodes'", "'edge_index'"))


@SETTINGS
@given(sparsity=S['sparsity'], eps=S['nonneg_float'],
       include=st.sampled_from([3, 'w']),
       num_levels=S['positive_int'], rate=S['sparsity'])
def test_l0_and_schedule(sparsity, eps, include, num_levels, rate):
    def opt(**kw):
        lin = torch.nn.Linear(3, 2)
        args = dict(params=lin, sparsity=0.5)
        args.update(kw)
        return L0ProjectedOptimizer(torch.optim.SGD(lin.parameters(), 0.1),
                                    **args)
    H.assert_clear(lambda: opt(sparsity=sparsity), ("'sparsity'", ))
    H.assert_clear(lambda: opt(eps=eps), ("'eps'", ))
    H.assert_clear(lambda: opt(include=include), ("'include'", ))
    H.assert_clear(lambda: project_l0_([torch.ones(3)], 0.5, eps=eps),
                   ("'eps'", ))
    H.assert_clear(lambda: l0_keep_count(5, 0.5, eps=eps), ("'eps'", ))
    H.assert_clear(lambda: teddy_schedule(num_levels), ("'num_levels'", ))
    H.assert_clear(lambda: teddy_schedule(2, graph_rate=rate),
                   ("'graph_rate'", ))


def test_valid_edge_cases():
    empty = torch.zeros(2, 0, dtype=torch.long)
    assert teddy_keep_mask(empty, 0.5).shape == (0, )
    assert torch.equal(teddy_node_score(empty, 3), torch.zeros(3))
    one = TEDDY(0.5)(H.graph(n=1))
    assert one.num_nodes == 1
    out = TEDDY(0.5)(H.corrupt('empty_graph')[0])
    assert out.num_nodes == 0 and out.edge_index.size(1) == 0
    # isolated nodes score 0 and the mask stays symmetric
    d = H.graph()
    d.edge_index = d.edge_index[:, (d.edge_index > 1).all(0)]
    score = teddy_node_score(d.edge_index, H.N)
    assert score[:2].eq(0).all() and torch.isfinite(score).all()
    keep = teddy_keep_mask(d.edge_index, 0.5, H.N)
    kept = d.edge_index[:, keep]
    assert set(map(tuple, kept.t().tolist())) == set(
        map(tuple, kept.flip(0).t().tolist()))
    # an optimizer without parameters projects nothing
    L0ProjectedOptimizer(torch.optim.SGD([torch.zeros(1, requires_grad=True)],
                                         0.1), [], 0.5).step()


@pytest.mark.parametrize('count', ['undirected', 'entries'])
def test_directed_graph_named(count):
    d = H.graph()
    d.edge_index = d.edge_index[:, d.edge_index[0] < d.edge_index[1]]
    H.assert_clear(lambda: TEDDY(0.3, count=count)(d), ("'edge_index'", ))
