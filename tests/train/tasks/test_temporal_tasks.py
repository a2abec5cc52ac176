import json

import pytest
import torch
from torch_geometric.data import TemporalData

from pyg_ext.datasets.temporal import TemporalGraph, synthetic_event_stream
from pyg_ext.registry import METHODS, MODELS, TASKS
from pyg_ext.train import load_config, run
from pyg_ext.train.runner import resume
from pyg_ext.train.tasks.temporal import (DynamicNodeClassification,
                                          TemporalLinkPrediction,
                                          TemporalLinkPredictionOptions,
                                          TemporalNodeClassification,
                                          TemporalNodeClassificationOptions,
                                          chronological_split,
                                          random_node_split)
from pyg_ext.utils import LabelEvents
import pyg_ext.zoo.thegcn  # noqa: F401  (registers thegcn/fagcn/tgn)
from pyg_ext.fit import replay_stream
from pyg_ext.zoo.thegcn import (THeGCNOptions, build_thegcn, build_tgn,
                                TGNOptions)


def hand_stream():
    # 6 events over nodes 0..3, integer times with a tie at t=4
    ev = TemporalData(src=torch.tensor([0, 1, 2, 0, 3, 1]),
                      dst=torch.tensor([1, 2, 3, 2, 0, 3]),
                      t=torch.tensor([1, 2, 4, 4, 7, 9]),
                      msg=torch.zeros(6, 2),
                      y=torch.tensor([0, 1, 1, 0, 1, 1]))
    return TemporalGraph(ev, torch.eye(4), 4, y=torch.tensor([0, 1, 0, 1]))


def test_link_metrics_hand_values():
    task = TemporalLinkPrediction(TemporalLinkPredictionOptions(
        mrr_negatives=2, mrr_max_queries=0))
    data = task.build(hand_stream())
    n = data.split['test'].numel()
    assert n == 1  # t=9 only (0.85 quantile of times is 8.25)
    # hand-made scores: AP/AUC over {pos: 0.9} vs {neg: 0.9}: a tie
    out = {'test': {'pos': torch.tensor([0.9]), 'neg': torch.tensor([0.9]),
                    'mrr_neg': torch.tensor([[0.9, 0.1]])}}
    m = task.compute_metrics(out, data)
    assert m['test_rocauc'] == pytest.approx(0.5)
    # AP with one tied positive/negative pair: precision 1/2 at recall 1
    assert m['test_ap'] == pytest.approx(0.5)
    # TGB tie rule: rank = 0.5 * (0 + 1) + 1 = 1.5
    assert m['test_mrr'] == pytest.approx(1 / 1.5)
    # a larger hand case: pos [0.8, 0.3], neg [0.5, 0.1]
    data.split['test'] = torch.tensor([4, 5])
    data.negatives['test']['mrr_pos'] = torch.tensor([0, 1])
    out = {'test': {'pos': torch.tensor([0.8, 0.3]),
                    'neg': torch.tensor([0.5, 0.1]),
                    'mrr_neg': torch.tensor([[0.9, 0.1], [0.2, 0.1]])}}
    m = task.compute_metrics(out, data)
    assert m['test_rocauc'] == pytest.approx(3 / 4)
    # ranking 0.8(+) 0.5(-) 0.3(+) 0.1(-): AP = (1/1 + 2/3) / 2
    assert m['test_ap'] == pytest.approx((1 + 2 / 3) / 2)
    assert m['test_mrr'] == pytest.approx((1 / 2 + 1) / 2)


def test_node_metrics_hand_values():
    task = TemporalNodeClassification()
    data = task.build(hand_stream())
    data.split = {'test': torch.tensor([0, 1, 2, 3])}
    logits = torch.tensor([[2., 0.], [0., 1.], [0., 3.], [1., 0.]])
    # y = [0, 1, 0, 1], pred = [0, 1, 1, 0]
    m = task.compute_metrics({'test': logits}, data)
    assert m['test_accuracy'] == pytest.approx(0.5)
    assert m['test_macro_f1'] == pytest.approx(0.5)
    # ROC-AUC from p(class 1) = softmax: scores 0.12, 0.73, 0.95, 0.27
    assert m['test_rocauc'] == pytest.approx(0.5)
    # static labels: one query per labelled node at t_end = t_max + 1
    assert data.q_time.tolist() == [10, 10, 10, 10]
    task2 = TemporalNodeClassification(TemporalNodeClassificationOptions(
        query_time='last_event'))
    d2 = task2.build(hand_stream())
    assert d2.q_time.tolist() == [7, 9, 4, 9]


def test_chronological_split_matches_pyg():
    g = synthetic_event_stream(num_events=500, integer_time=True,
                               time_span=60.)
    split = chronological_split(g.events.t)
    tr, va, te = g.events.train_val_test_split(0.15, 0.15)
    assert split['train'].numel() == tr.num_events
    assert split['val'].numel() == va.num_events
    assert split['test'].numel() == te.num_events
    assert torch.equal(g.events.t[split['val']], va.t)
    # a boundary tie goes to the earlier split
    t = torch.tensor([0, 1, 1, 1, 2])
    s = chronological_split(t, 0.2, 0.2)
    assert s['train'].tolist() == [0, 1, 2, 3] and s['test'].tolist() == [4]
    with pytest.raises(ValueError, match='val_ratio'):
        chronological_split(t, 0.6, 0.5)


def test_random_node_split():
    nodes = torch.tensor([5, 5, 1, 2, 3, 4, 1, 6, 7, 8, 9, 0])
    s = random_node_split(nodes, 0.6, 0.2, seed=3)
    parts = torch.cat(list(s.values())).sort().values
    assert torch.equal(parts, torch.arange(nodes.numel()))
    for name, idx in s.items():
        for other, jdx in s.items():
            if name != other:
                assert not set(nodes[idx].tolist()) & set(nodes[jdx].tolist())
    assert [len(set(nodes[s[k]].tolist())) for k in ('train', 'val',
                                                      'test')] == [6, 2, 2]
    assert torch.equal(random_node_split(nodes, seed=3)['train'], s['train'])


def test_label_timeline_queries():
    g = hand_stream()
    g.y = None
    g.label_events = LabelEvents(torch.tensor([1, 0, 1]),
                                 torch.tensor([3, 5, 8]),
                                 torch.tensor([0, 1, 1]))
    data = TemporalNodeClassification().build(g)
    assert data.q_node.tolist() == [1, 0, 1]
    assert data.q_time.tolist() == [3, 5, 8]
    assert data.q_y.tolist() == [0, 1, 1]
    # float label times on an integer stream keep the strict bound exact
    g.label_events = LabelEvents(torch.tensor([1]), torch.tensor([3.5]),
                                 torch.tensor([0]))
    d2 = TemporalNodeClassification().build(g)
    assert d2.q_time.tolist() == [4]  # sees t <= 3, not the events at t=4
    # both queries of node 1 are in the same split
    where = {s: set(data.split[s].tolist()) for s in data.split}
    assert any({0, 2} <= v for v in where.values())


def test_num_nodes_equals_num_events_pitfall():
    # N == E == 6: PyG's TemporalData would slice a node-level x stored on
    # it together with the events; our graph keeps x outside.
    N = 6
    src = torch.tensor([0, 1, 2, 3, 4, 5])
    dst = torch.tensor([1, 2, 3, 4, 5, 0])
    t = torch.arange(6.)
    x = torch.randn(N, 3)
    bad = TemporalData(src=src, dst=dst, t=t, x=x)
    assert bad[torch.tensor([0, 1])].x.size(0) == 2  # the pitfall exists
    g = TemporalGraph(TemporalData(src=src, dst=dst, t=t), x, N,
                      y=torch.tensor([0, 1, 0, 1, 0, 1]))
    task = TemporalNodeClassification()
    data = task.build(g)
    assert data.graph.x.shape == (N, 3) and data.num_queries == N
    model = build_thegcn(3, 2, THeGCNOptions(edge_dim=0, time_dim=4))
    logits = task.logits(model, data, torch.arange(N))
    assert logits.shape == (N, 2)
    # a static model sees the projection of all events
    assert task.static_edge_index(data).size(1) == 12


def test_static_cutoff_and_historical_negatives():
    g = synthetic_event_stream(num_events=400, seed=4)
    data = DynamicNodeClassification().build(g)
    ei = DynamicNodeClassification().static_edge_index(data)
    tr = data.split['train']
    cut = g.events.t[tr].max()
    m = g.events.t <= cut
    allowed = set(zip(g.events.src[m].tolist(), g.events.dst[m].tolist()))
    allowed |= {(b, a) for a, b in allowed}
    assert set(zip(*ei.tolist())) == allowed
    task = TemporalLinkPrediction(TemporalLinkPredictionOptions(
        negatives='historical'))
    d = task.build(g)
    N = g.num_nodes
    for s in ('val', 'test'):
        idx = d.split[s]
        start = d.q_time[idx].min()
        before = g.events.t < start
        hist = set((g.events.src[before] * N + g.events.dst[before]).tolist())
        inside = set((d.q_node[idx] * N + d.q_dst[idx]).tolist())
        neg = (d.negatives[s]['src'] * N + d.negatives[s]['dst']).tolist()
        assert set(neg) <= hist - inside
    # random negatives keep the source
    d = TemporalLinkPrediction().build(g)
    assert torch.equal(d.negatives['val']['src'], d.q_node[d.split['val']])


def test_bad_inputs():
    g = hand_stream()
    g.y = None
    with pytest.raises(ValueError, match="needs static labels"):
        TemporalNodeClassification().build(g)
    g2 = hand_stream()
    g2.events = TemporalData(src=g2.events.src, dst=g2.events.dst,
                             t=g2.events.t, msg=g2.events.msg)
    with pytest.raises(ValueError, match="per-event labels"):
        DynamicNodeClassification().build(g2)
    data = TemporalNodeClassification().build(hand_stream())
    model = build_thegcn(4, 2, THeGCNOptions(edge_dim=5))
    with pytest.raises(ValueError, match="edge_dim=5"):
        TemporalNodeClassification().check_model(model, data)
    with pytest.raises(ValueError, match="task.negatives"):
        TemporalLinkPredictionOptions(negatives='hard')
    with pytest.raises(ValueError, match="task.query_time"):
        TemporalNodeClassificationOptions(query_time='start')
    with pytest.raises(TypeError, match="TemporalGraph"):
        TemporalNodeClassification().load(
            type('E', (), {'obj': staticmethod(lambda root: 3)})(), None, '.')


def test_stream_replay_has_no_future_leak():
    g = synthetic_event_stream(num_events=600, edge_dim=2, seed=5)
    task = DynamicNodeClassification()
    task.options.batch_size = 50
    data = task.build(g)
    torch.manual_seed(0)
    model = build_tgn(8, 2, TGNOptions(hidden_channels=16, num_nodes=200,
                                       msg_dim=2)).eval()
    out = replay_stream(model, None, task, data, ['val', 'test'])
    # perturb the features of the last 60 events; queries whose time is
    # at or before the first perturbed event are answered before it
    g.events.msg[540:] += 10.0
    out2 = replay_stream(model, None, task, data, ['val', 'test'])
    t_first = g.events.t[540]
    for s in ('val', 'test'):
        q = data.split[s]
        early = data.q_time[q] <= t_first
        assert early.any()
        assert torch.equal(out[s][early], out2[s][early])
    late = data.q_time[data.split['test']] > g.events.t[590]
    assert not torch.allclose(out['test'][late], out2['test'][late])


def base_cfg(**train):
    cfg = {
        'name': 'thegcn-smoke',
        'task': {'name': 'temporal_node_classification', 'batch_size': 64,
                 'num_neighbors': [10]},
        'dataset': {'name': 'temporal_synthetic', 'num_nodes': 120,
                    'num_events': 1500, 'p_cross': 0.9,
                    'feature_noise': 1.0, 'seed': 0},
        'model': {'name': 'thegcn', 'hidden_channels': 16, 'time_dim': 8},
        'method': {'name': 'temporal'},
        'train': {'epochs': 20, 'runs': 1, 'lr': 0.01, 'patience': None,
                  'checkpoint_every': 0},
    }
    cfg['train'].update(train)
    return cfg


def test_config_resolves():
    cfg = load_config(base_cfg())
    assert cfg.model.options.num_layers == 1
    assert 'thegcn' in MODELS and 'tgn' in MODELS and 'fagcn' in MODELS
    assert 'temporal' in METHODS
    for t in ('temporal_node_classification', 'dynamic_node_classification',
              'temporal_link_prediction'):
        assert t in TASKS


def test_smoke_training_learns_heterophilous_stream(tmp_path):
    torch.set_num_threads(1)
    s = run(base_cfg(), run_dir=tmp_path / 'r', quiet=True)
    res = json.loads((tmp_path / 'r' / 'runs' /
                      'split0_seed0.json').read_text())
    loss = res['history']['train_loss']
    assert loss[-1] < 0.7 * loss[0]
    assert s['summary']['test_accuracy']['mean'] > 0.8
    # the learned TMP gate is high-pass (g < 0.5) on a heterophilous
    # stream ...
    m = res['metrics']
    assert m['gate_cross_class'] < 0.4 and m['gate_same_class'] < 0.4
    # ... and low-pass on a homophilous one (counter-check)
    cfg = base_cfg()
    cfg['dataset']['p_cross'] = 0.1
    run(cfg, run_dir=tmp_path / 'h', quiet=True)
    m = json.loads((tmp_path / 'h' / 'runs' /
                    'split0_seed0.json').read_text())['metrics']
    assert m['gate_cross_class'] > 0.6 and m['gate_same_class'] > 0.6


def test_resume_gives_identical_numbers(tmp_path):
    cfg = base_cfg(epochs=4, checkpoint_every=2)
    cfg['dataset']['num_events'] = 600
    full = run(cfg, run_dir=tmp_path / 'full', quiet=True)

    class Stop(Exception):
        pass

    def boom(epoch):
        if epoch == 2:
            raise Stop

    with pytest.raises(Stop):
        run(cfg, run_dir=tmp_path / 'cut', quiet=True, interrupt=boom)
    res = resume(tmp_path / 'cut', quiet=True)
    assert res['summary'] == full['summary']
