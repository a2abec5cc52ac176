r"""The ``temporal`` method in the loop: a thin call of fit_thegcn (same
numbers as the library entry), and the runner's data movement for the
temporal tasks."""
import json

import torch

from pyg_ext.datasets.temporal import synthetic_event_stream
from pyg_ext.fit import LinkHead, TemporalLinkPredictionTask, fit_thegcn
from pyg_ext.registry import METHODS
from pyg_ext.train import load_plugins, run
from pyg_ext.train.method import Method
from pyg_ext.utils.checkpoint import seed_everything
from pyg_ext.zoo.thegcn import THeGCNOptions, build_thegcn

load_plugins()

DATASET = {'name': 'temporal_synthetic', 'num_nodes': 60,
           'num_events': 600, 'p_cross': 0.3, 'p_cross_after': 0.8,
           'edge_dim': 2, 'seed': 3}
TASK = {'name': 'temporal_link_prediction', 'batch_size': 50,
        'num_neighbors': [5], 'mrr_negatives': 4, 'mrr_max_queries': 30,
        'embedding_dim': 8}


def cfg(**train):
    return {'name': 'tl', 'task': dict(TASK), 'dataset': dict(DATASET),
            'model': {'name': 'thegcn', 'hidden_channels': 8,
                      'time_dim': 4},
            'method': {'name': 'temporal', 'max_train_batches': 3},
            'train': {'epochs': 3, 'runs': 1, 'seed': 5, 'lr': 0.01,
                      'patience': None, 'checkpoint_every': 0,
                      'device': 'cpu', **train}}


def test_loop_equals_fit_thegcn(tmp_path):
    run(cfg(), run_dir=tmp_path / 'r', quiet=True)
    res = json.loads((tmp_path / 'r' / 'runs' /
                      'split0_seed5.json').read_text())
    assert 'head' not in res  # not JSON: fit_thegcn's extra stays out

    # the same run through the library entry: what the runner does
    seed_everything(5)
    opts = {k: v for k, v in DATASET.items() if k != 'name'}
    graph = synthetic_event_stream(**opts)
    task = TemporalLinkPredictionTask(**{k: v for k, v in TASK.items()
                                         if k != 'name'})
    model = build_thegcn(8, 8, THeGCNOptions(hidden_channels=8, time_dim=4,
                                             edge_dim=2))
    model.reset_parameters()  # the runner's builder resets once more
    head = LinkHead(8)
    out = fit_thegcn(model, graph, task, head=head, epochs=3, lr=0.01,
                     patience=None, max_train_batches=3,
                     generator=torch.Generator().manual_seed(5),
                     progress=False)
    assert out.metrics == res['metrics']
    assert out.history == res['history']
    assert out.best_epoch == res['best_epoch']


class TemporalDeviceSpy(Method):
    r"""Records where the runner put a temporal task's data (test only)."""
    seen = []

    def run(self, ctx):
        d = ctx.data
        devs = {d.q_node.device, d.q_time.device, d.graph.x.device,
                d.graph.events.src.device, d.graph.events.msg.device}
        devs |= {v.device for v in d.split.values()}
        devs |= {t.device for n in d.negatives.values() for t in n.values()}
        TemporalDeviceSpy.seen.append((devs, d.host.device,
                                       d.num_queries))
        return {'metrics': {'val_ap': 0.0, 'test_ap': 0.0}}


if 'temporal_device_spy' not in METHODS:
    METHODS.register('temporal_device_spy', TemporalDeviceSpy)


def test_runner_moves_temporal_task_data(tmp_path):
    # 'meta' stands in for an accelerator: every tensor of the task's data
    # is there, the sampler's host copy stays on the CPU
    TemporalDeviceSpy.seen.clear()
    c = cfg(device='meta')
    c['method'] = {'name': 'temporal_device_spy'}
    run(c, run_dir=tmp_path / 'r', quiet=True)
    (devs, host, n), = TemporalDeviceSpy.seen
    assert devs == {torch.device('meta')}
    assert host.type == 'cpu' and n == 600


def _edgebank_ref(graph, task, split, window=None):
    r"""Brute-force EdgeBank AP on a split: 1 iff the pair occurred at
    q - window <= t < q."""
    from pyg_ext.metrics import Evaluator
    data = task.build(graph)
    ev = graph.events
    E = list(zip(ev.src.tolist(), ev.dst.tolist(), ev.t.double().tolist()))

    def score(u, v, q):
        return float(any(s == u and d == v and tk < q and
                         (window is None or tk >= q - window)
                         for s, d, tk in E))

    idx = data.split[split]
    qt = data.q_time[idx].double().tolist()
    pos = [score(u, v, q) for u, v, q in zip(data.q_node[idx].tolist(),
                                            data.q_dst[idx].tolist(), qt)]
    n = data.negatives[split]
    neg = [score(u, v, q) for u, v, q in zip(n['src'].tolist(),
                                            n['dst'].tolist(), qt)]
    y = torch.cat([torch.ones(len(pos)), torch.zeros(len(neg))]).long()
    return Evaluator('ap').eval({'y_true': y, 'y_pred': torch.tensor(
        pos + neg)})['ap'], float(data.q_time[data.split['test']].double()
                                   .max() - data.q_time[data.split['test']]
                                   .double().min())


def test_edgebank_in_the_loop_exact(tmp_path):
    c = cfg()
    c['model'] = {'name': 'edgebank'}
    run(c, run_dir=tmp_path / 'u', quiet=True)
    res = json.loads((tmp_path / 'u' / 'runs' /
                      'split0_seed5.json').read_text())
    assert res['epochs_run'] == 0 and res['num_params'] == 0
    opts = {k: v for k, v in DATASET.items() if k != 'name'}
    graph = synthetic_event_stream(**opts)
    task = TemporalLinkPredictionTask(**{k: v for k, v in TASK.items()
                                         if k != 'name'})
    ap, test_span = _edgebank_ref(graph, task, 'test')
    assert abs(res['metrics']['test_ap'] - ap) < 1e-12
    # time window: -1 = the duration of the test period (tw-ts)
    c['model'] = {'name': 'edgebank', 'memory': 'time_window'}
    run(c, run_dir=tmp_path / 'w', quiet=True)
    res_w = json.loads((tmp_path / 'w' / 'runs' /
                        'split0_seed5.json').read_text())
    ap_w, _ = _edgebank_ref(graph, task, 'test', window=test_span)
    assert abs(res_w['metrics']['test_ap'] - ap_w) < 1e-12
    # a short window forgets: a different score
    c['model'] = {'name': 'edgebank', 'memory': 'time_window',
                  'time_window': 0.5}
    run(c, run_dir=tmp_path / 's', quiet=True)
    res_s = json.loads((tmp_path / 's' / 'runs' /
                        'split0_seed5.json').read_text())
    ap_s, _ = _edgebank_ref(graph, task, 'test', window=0.5)
    assert abs(res_s['metrics']['test_ap'] - ap_s) < 1e-12


def test_edgebank_refuses_node_tasks():
    import pytest
    from pyg_ext.nn.models import EdgeBank
    graph = synthetic_event_stream(num_nodes=20, num_events=100, seed=0)
    with pytest.raises(ValueError, match="pair model"):
        fit_thegcn(EdgeBank(), graph, 'temporal_node_classification',
                   progress=False)
