r"""Bad options of the synthetic loaders (the ones the loop runs offline):
a ValueError/TypeError naming the option, also through the options
dataclass a config builds, before any graph is drawn."""
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import helpers_bad_input as H
from pyg_ext.datasets import (CSBMOptions, FeatureStructureOptions,
                              GraphShift, csbm_graph, feature_structure_graph,
                              random_split_masks)
from pyg_ext.datasets.csbm_shift import CSBMStructureShift

S = H.strategies()
SETTINGS = settings(max_examples=25, deadline=None, derandomize=True,
                    suppress_health_check=list(HealthCheck))
CSBM = {'num_nodes': 'positive_int', 'num_features': 'positive_int',
        'mu': 'positive_float', 'degree': 'nonneg_float',
        'homophily': 'probability', 'seed': 'nonneg_int',
        'num_splits': 'positive_int', 'degree_convention': 'name',
        'degree_distribution': 'name'}
FEATURE = {'num_nodes': 'positive_int', 'num_classes': 'positive_int',
           'num_features': 'positive_int', 'degree': 'positive_int',
           'noise': 'nonneg_float', 'feature_fraction': 'probability',
           'seed': 'nonneg_int'}


@SETTINGS
@given(draw=st.data())
def test_csbm_options(draw):
    arg = draw.draw(st.sampled_from(sorted(CSBM)))
    value = draw.draw(S[CSBM[arg]])
    if arg == 'mu' and isinstance(value, float) and value <= 0:
        value = float('nan')  # mu may be any finite number
    if arg == 'seed' and value is None:
        return  # csbm_graph: None draws from the global RNG
    kw = {arg: value}
    H.assert_clear(lambda: CSBMOptions(**kw), (f"'{arg}'", ))
    if arg != 'num_splits':
        H.assert_clear(lambda: csbm_graph(**dict(num_nodes=20,
                                                 num_features=4, **kw)),
                       (f"'{arg}'", ))


@SETTINGS
@given(draw=st.data())
def test_feature_structure_options(draw):
    arg = draw.draw(st.sampled_from(sorted(FEATURE)))
    value = draw.draw(S[FEATURE[arg]])
    if arg == 'num_classes' and value == 1:
        value = 0
    H.assert_clear(lambda: FeatureStructureOptions(**{arg: value}),
                   (f"'{arg}'", ))
    H.assert_clear(lambda: feature_structure_graph(**{arg: value}),
                   (f"'{arg}'", ))


@SETTINGS
@given(train=st.floats(allow_nan=True), val=st.floats(allow_nan=True))
def test_split_ratios(train, val):
    ok = 0 < train < 1 and 0 <= val < 1 and train + val < 1
    if ok:
        tr, va, te = random_split_masks(20, 1, train, val)
        assert ((tr.long() + va.long() + te.long()) == 1).all()
    else:
        H.assert_clear(lambda: random_split_masks(20, 1, train, val),
                       ("'train_ratio'", "'val_ratio'"))


@SETTINGS
@given(seed=S['nonneg_int'], shift=st.sampled_from([float('nan'),
                                                    float('inf')]))
def test_csbm_shift_options(seed, shift):
    H.assert_clear(lambda: CSBMStructureShift(num_nodes=40, num_features=4,
                                              seed=seed), ("'seed'", ))
    H.assert_clear(lambda: CSBMStructureShift(num_nodes=40, num_features=4,
                                              attribute_shift=shift),
                   ("'attribute_shift'", ))


@SETTINGS
@given(draw=st.data())
def test_im_and_temporal_synthetic_options(draw):
    from pyg_ext.datasets.snap import load_im_synthetic
    from pyg_ext.datasets.temporal import synthetic_event_stream
    fn, arg, kind = draw.draw(st.sampled_from([
        (load_im_synthetic, 'm', 'positive_int'),
        (load_im_synthetic, 'seed', 'nonneg_int'),
        (synthetic_event_stream, 'num_events', 'positive_int'),
        (synthetic_event_stream, 'seed', 'nonneg_int'),
        (synthetic_event_stream, 'time_span', 'positive_float'),
        (synthetic_event_stream, 'feature_noise', 'nonneg_float'),
        (synthetic_event_stream, 'p_cross', 'probability'),
        (synthetic_event_stream, 'integer_time', 'bool')]))
    value = draw.draw(S[kind])
    kw = dict(num_nodes=20)
    kw[arg] = value
    H.assert_clear(lambda: fn(**kw), (f"'{arg}'", ))


@pytest.mark.parametrize('defect', ['x_nan', 'ei_out_of_range', 'y_negative',
                                    'y_float', 'empty_graph'])
def test_graph_shift_checks_both_graphs(defect):
    bad, names = H.corrupt(defect)
    names = tuple(n.replace('data', 'target') for n in names) + names
    H.assert_clear(lambda: GraphShift(H.graph(), bad), names)


def test_valid_edge_cases():
    g = csbm_graph(num_nodes=10, num_features=3, degree=0.0, seed=0)
    assert g.edge_index.size(1) == 0 and g.num_nodes == 10
    assert csbm_graph(num_nodes=2, num_features=3, degree=1.0,
                      seed=0).num_nodes == 2
    one = H.graph()
    one.y = torch.zeros_like(one.y)
    assert GraphShift(one, H.graph()).num_classes == 2
