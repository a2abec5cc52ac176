r"""Bad input of the temporal tasks (issue 15, temporal part): options and
event streams are refused at the entry point with a ValueError/TypeError
naming the option."""
import pytest
import torch
from torch_geometric.data import TemporalData

from pyg_ext.datasets.temporal import TemporalGraph, synthetic_event_stream
from pyg_ext.fit import (TemporalLinkPredictionOptions,
                         TemporalLinkPredictionTask,
                         TemporalNodeClassificationOptions, fit_thegcn)
from pyg_ext.fit.temporal_checks import check_task_stream
from pyg_ext.zoo.thegcn import TGNOptions, build_tgn

BAD_OPTIONS = [
    (dict(negatives='hard'), 'task.negatives'),
    (dict(negatives='inductive'), "task.protocol='dyglib'"),
    (dict(protocol='tgb'), 'task.protocol'),
    (dict(protocol='dyglib', new_node_ratio=1.0), 'task.new_node_ratio'),
    (dict(protocol='dyglib', new_node_ratio=-0.1), 'task.new_node_ratio'),
    (dict(protocol='dyglib', new_node_ratio=float('nan')),
     'task.new_node_ratio'),
    (dict(new_node_ratio=0.1), "task.protocol='dyglib'"),
    (dict(time_window=0.0), 'task.time_window'),
    (dict(time_window=-5), 'task.time_window'),
    (dict(time_window=float('inf')), 'task.time_window'),
    (dict(batch_size=0), 'task.batch_size'),
    (dict(batch_size=2.5), 'task.batch_size'),
    (dict(eval_batch_size=-1), 'task.eval_batch_size'),
    (dict(num_neighbors=[]), 'task.num_neighbors'),
    (dict(num_neighbors=[10, 0]), 'task.num_neighbors'),
    (dict(max_events=0), 'task.max_events'),
    (dict(strategy='oldest'), 'task.strategy'),
    (dict(val_ratio=1.2), 'task.val_ratio'),
    (dict(val_ratio=0.5, test_ratio=0.5), 'task.val_ratio'),
    (dict(mrr_negatives=-1), 'task.mrr_negatives'),
    (dict(seed=-3), 'task.seed'),
    (dict(embedding_dim=0), 'task.embedding_dim'),
    (dict(pair_features='yes'), 'task.pair_features'),
    (dict(pair_neighbors=0), 'task.pair_neighbors'),
]


@pytest.mark.parametrize('kw,match', BAD_OPTIONS)
def test_link_options_refused_by_name(kw, match):
    with pytest.raises(ValueError, match=match.replace('(', r'\(')):
        TemporalLinkPredictionOptions(**kw)
    with pytest.raises(ValueError, match=match.replace('(', r'\(')):
        TemporalLinkPredictionTask(**kw)


def test_shared_options_on_node_tasks():
    with pytest.raises(ValueError, match='task.time_window'):
        TemporalNodeClassificationOptions(time_window=0)
    with pytest.raises(ValueError, match='task.batch_size'):
        TemporalNodeClassificationOptions(batch_size=0)


def test_valid_edge_cases_accepted():
    TemporalLinkPredictionOptions(protocol='dyglib', new_node_ratio=0.0,
                                  negatives='inductive')
    TemporalLinkPredictionOptions(time_window=1e-6, val_ratio=0.0 + 0.1,
                                  test_ratio=0.1, negatives='historical')


def test_empty_val_or_test_period_named():
    g = synthetic_event_stream(num_nodes=20, num_events=100, seed=0)
    # all events at one time: train takes every event (ties go earlier)
    g.events.t = torch.zeros_like(g.events.t)
    with pytest.raises(ValueError, match='val period .* task.val_ratio'):
        TemporalLinkPredictionTask().build(g)
    g = synthetic_event_stream(num_nodes=20, num_events=100, seed=0)
    with pytest.raises(ValueError, match='test period .* task.test_ratio'):
        TemporalLinkPredictionTask(test_ratio=0.0).build(g)
    # every node held out: nothing left to train on
    with pytest.raises(ValueError, match='train period'):
        TemporalLinkPredictionTask(protocol='dyglib',
                                   new_node_ratio=0.99).build(g)


def _raw_graph(t):
    n = t.numel()
    ev = TemporalData(src=torch.zeros(n, dtype=torch.long),
                      dst=torch.ones(n, dtype=torch.long), t=t,
                      msg=torch.zeros(n, 1))
    return ev


def test_stream_nan_or_unsorted_times_refused():
    g = synthetic_event_stream(num_nodes=20, num_events=100, seed=0)
    g.events = _raw_graph(torch.tensor([0., 2., 1., 3.] * 25))
    with pytest.raises(ValueError, match="'t' must be sorted"):
        TemporalLinkPredictionTask().build(g)
    g.events = _raw_graph(torch.tensor([0., 1., float('nan'), 3.] * 25))
    with pytest.raises(ValueError, match="'t' contains NaN"):
        check_task_stream(g)
    with pytest.raises(ValueError, match='NaN'):
        TemporalGraph(_raw_graph(torch.tensor([0., float('nan')])),
                      torch.zeros(2, 1), 2)


def test_stream_model_with_held_out_nodes_refused():
    g = synthetic_event_stream(num_nodes=30, num_events=300, edge_dim=2,
                               seed=0)
    tgn = build_tgn(8, 8, TGNOptions(hidden_channels=8, num_nodes=30,
                                     msg_dim=2))
    task = TemporalLinkPredictionTask(protocol='dyglib', embedding_dim=8,
                                      mrr_negatives=0)
    with pytest.raises(ValueError, match='task.new_node_ratio'):
        fit_thegcn(tgn, g, task, epochs=1, progress=False)
