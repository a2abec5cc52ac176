r"""Bad input of AdaRC (construction and :meth:`AdaRC.adapt`), the PIC loss
and the TTA bases: a ValueError/TypeError naming the argument before any
round; valid edge cases adapt and return finite logits."""
import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import helpers_bad_input as H
from pyg_ext.tta import AdaRC, LAMEBase, T3ABase, TentBase, pic_loss

S = H.strategies()
SETTINGS = settings(max_examples=15, deadline=None, derandomize=True,
                    suppress_health_check=list(HealthCheck))
OPTIONS = {'lr': 'positive_float', 'steps': 'positive_int',
           'optimizer': 'name', 'loss': 'name', 'final_pass': 'bool',
           'episodic': 'bool', 'progress': 'bool'}


def adapt(data, **kw):
    args = dict(steps=2)
    args.update(kw)
    return AdaRC(H.gprgnn(), **args).adapt(data)


@SETTINGS
@given(draw=st.data())
def test_graph_defects(draw):
    data, names = H.random_corruption(draw.draw)
    if names in (H.Y, H.TM, H.VM) or 'mask' in str(names):
        return  # AdaRC reads no labels and no split masks
    H.assert_clear(lambda: adapt(data), names)


@SETTINGS
@given(draw=st.data())
def test_bad_options(draw):
    arg = draw.draw(st.sampled_from(sorted(OPTIONS)))
    value = draw.draw(S[OPTIONS[arg]])
    H.assert_clear(lambda: adapt(H.graph(), **{arg: value}), (f"'{arg}'", ))


@SETTINGS
@given(mask=st.one_of(
    st.integers(0, 3 * H.N).filter(lambda n: n != H.N).map(
        lambda n: torch.ones(n, dtype=torch.bool)),
    st.lists(st.one_of(st.integers(H.N, 10**6), st.integers(-10**6, -1)),
             min_size=1, max_size=3).map(torch.tensor),
    st.just(torch.zeros(H.N, dtype=torch.bool)),
    st.just(torch.ones(H.N)), st.just([0, 1])))
def test_bad_masks_are_refused_before_any_round(mask):
    rounds = []

    def base(model, data):
        rounds.append(1)
        return model(data.x, data.edge_index)

    H.assert_clear(lambda: adapt(H.graph(), mask=mask, base_tta=base),
                   ("'mask'", ))
    assert rounds == []


@SETTINGS
@given(n=st.integers(1, 8), d=st.integers(1, 4), c=st.integers(1, 3),
       where=st.sampled_from(['z', 'prob']),
       value=st.sampled_from([math.nan, math.inf, -math.inf]),
       i=st.integers(0, 10**6))
def test_pic_loss_refuses_nan_and_inf(n, d, c, where, value, i):
    z = torch.randn(n, d)
    prob = torch.softmax(torch.randn(n, c), -1)
    t = z if where == 'z' else prob
    t.view(-1)[i % t.numel()] = value
    H.assert_clear(lambda: pic_loss(z, prob), (f"'{where}'", ))


@SETTINGS
@given(scale=st.floats(0.0, 3.0).filter(lambda s: abs(s - 1) > 1e-2),
       eps=st.one_of(S['nonneg_float'], st.just(0.0)),
       idx=st.lists(st.one_of(st.integers(5, 99), st.integers(-99, -1)),
                    min_size=1, max_size=3))
def test_pic_loss_refuses_bad_prob_eps_and_index_masks(scale, eps, idx):
    z, prob = torch.randn(5, 3), torch.full((5, 2), 0.5)
    H.assert_clear(lambda: pic_loss(z, prob * scale), ("'prob'", ))
    if eps != 0.0:
        H.assert_clear(lambda: pic_loss(z, prob, eps=eps), ("'eps'", ))
    H.assert_clear(lambda: pic_loss(z, prob, torch.tensor(idx)),
                   ("'mask'", ))


@SETTINGS
@given(draw=st.data())
def test_base_options(draw):
    cls, arg, kind = draw.draw(st.sampled_from([
        (TentBase, 'lr', 'positive_float'), (TentBase, 'steps', 'nonneg_int'),
        (LAMEBase, 'k', 'positive_int'), (LAMEBase, 'steps', 'positive_int'),
        (LAMEBase, 'bound_lambda', 'nonneg_float'),
        (LAMEBase, 'chunk_size', 'positive_int'),
        (T3ABase, 'filter_k', 'positive_int')]))
    value = draw.draw(S[kind])
    if cls is T3ABase and value == -1:
        return  # -1 means "all supports"
    H.assert_clear(lambda: cls(**{arg: value}), (f"'{arg}'", ))


@pytest.mark.parametrize('base', ['erm', 'tent', 't3a', 'lame'])
@pytest.mark.parametrize('case', ['zero_edges', 'one_node', 'isolated'])
def test_valid_edge_cases_give_finite_logits(base, case):
    d = H.graph(n=1) if case == 'one_node' else H.graph()
    if case == 'zero_edges':
        d.edge_index = torch.zeros(2, 0, dtype=torch.long)
    elif case == 'isolated':
        d.edge_index = d.edge_index[:, (d.edge_index > 3).all(0)]
    if base == 'tent' and case == 'one_node':  # BatchNorm needs a batch
        H.assert_clear(lambda: adapt(d, base_tta=base), ("'data'", ))
        return
    out = adapt(d, base_tta=base)
    assert out.shape == (d.num_nodes, H.C)
    assert torch.isfinite(out).all()
    # one row / one class: the PIC loss is defined (0 for no spread)
    assert float(pic_loss(torch.randn(1, 3), torch.ones(1, 1))) == 0.0
