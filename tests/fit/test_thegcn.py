r"""fit_thegcn: the three model kinds (temporal, stream, static) on the three
temporal tasks, through the engine: resume, device audit, device runs,
data movement (meta device) and bad input."""
import pytest
import torch
from torch_geometric.nn.models import GCN

from helpers_device import audit_steps
from pyg_ext.datasets.temporal import synthetic_event_stream
from pyg_ext.fit import (DynamicNodeClassificationTask, FitResult, LinkHead,
                         TemporalLinkPredictionTask,
                         TemporalNodeClassificationTask, fit_thegcn,
                         make_temporal_task)
from pyg_ext.fit.thegcn import predict_splits, train_epoch
from pyg_ext.nn.models import THeGCN
from pyg_ext.utils.checkpoint import seed_everything
from pyg_ext.zoo.thegcn import TGNOptions, build_tgn

TASKS = ('temporal_node_classification', 'dynamic_node_classification',
         'temporal_link_prediction')
KINDS = ('temporal', 'stream', 'static')
EMB = 8


def stream(seed=0, num_events=400):
    g = synthetic_event_stream(num_nodes=40, num_events=num_events,
                               edge_dim=2, p_cross=0.2, p_cross_after=0.8,
                               seed=seed)
    g.events.y = g.y[g.events.src]  # per-event labels for the dynamic task
    return g


def make_task(name, **kw):
    opts = dict(batch_size=40, num_neighbors=[5, 3], eval_batch_size=64)
    if name == 'temporal_link_prediction':
        opts.update(mrr_negatives=3, mrr_max_queries=20, embedding_dim=EMB)
    opts.update(kw)
    return make_temporal_task(name, make_temporal_task(name).Options(**opts))


def make_model(kind, task_name, num_nodes=40):
    out = EMB if task_name == 'temporal_link_prediction' else 2
    if kind == 'temporal':
        return THeGCN(8, 8, out, edge_dim=2, time_dim=4)
    if kind == 'stream':
        return build_tgn(8, out, TGNOptions(hidden_channels=8,
                                            num_nodes=num_nodes, msg_dim=2))
    return GCN(8, 8, 2, out)


def run(kind, task_name, epochs=3, seed=0, device=None, **kw):
    seed_everything(seed)
    model = make_model(kind, task_name)
    task = make_task(task_name, **kw.pop('task_options', {}))
    gen = torch.Generator().manual_seed(seed)
    return fit_thegcn(model, stream(), task, epochs=epochs, patience=None,
                      generator=gen, progress=False, device=device, **kw)


# --- the library entry on every task and model kind --------------------------
@pytest.mark.parametrize('task_name', TASKS)
@pytest.mark.parametrize('kind', KINDS)
def test_fit_every_task_and_kind_on_device(task_name, kind, device):
    res = run(kind, task_name, epochs=2, device=device)
    assert isinstance(res, FitResult)
    metric = make_temporal_task(task_name).metric
    assert f'val_{metric}' in res.metrics and f'test_{metric}' in res.metrics
    assert res.epochs_run == 2 and res.history['epoch'] == [0.0, 1.0]
    losses = res.history['train_loss']
    assert all(l == l and 0 < l < 10 for l in losses)  # finite, positive
    if task_name == 'temporal_link_prediction':
        assert isinstance(res['head'], LinkHead)
        assert next(res['head'].parameters()).device.type == device.type
        assert 0 < res.metrics['test_mrr'] <= 1
    else:
        assert 'head' not in res.extras
    # the selected epoch's metrics are the history's entries at that epoch
    e = res.history['epoch'].index(res.best_epoch)
    assert res.metrics[f'val_{metric}'] == res.history[f'val_{metric}'][e]
    if kind == 'temporal' and task_name == 'temporal_node_classification':
        assert 0 < res.metrics['gate_same_class'] < 1


@pytest.mark.parametrize('kind', KINDS)
def test_cpu_and_device_agree(kind, device):
    # batch order and negatives come from one CPU generator, so a run on
    # any device sees the same batches: its first loss equals the CPU one
    ref = run(kind, 'temporal_link_prediction', epochs=1, device='cpu')
    res = run(kind, 'temporal_link_prediction', epochs=1, device=device)
    assert res.history['train_loss'][0] == pytest.approx(
        ref.history['train_loss'][0], rel=1e-4, abs=1e-5)
    assert res.metrics['val_ap'] == pytest.approx(ref.metrics['val_ap'],
                                                  abs=0.02)


def test_learns_switching_heterophily():
    g = synthetic_event_stream(num_nodes=120, num_events=1500, p_cross=0.9,
                               seed=0)
    seed_everything(0)
    model = THeGCN(8, 16, 2, time_dim=8)
    res = fit_thegcn(model, g, TemporalNodeClassificationTask(
        batch_size=64, num_neighbors=[10]), epochs=15, patience=None,
        progress=False)
    loss = res.history['train_loss']
    assert loss[-1] < 0.7 * loss[0]
    assert res.metrics['test_accuracy'] > 0.8
    assert res.metrics['gate_cross_class'] < 0.4  # high-pass learned


# --- resume ------------------------------------------------------------------
class Stop(Exception):
    pass


@pytest.mark.parametrize('kind, task_name', [
    ('temporal', 'temporal_node_classification'),
    ('temporal', 'temporal_link_prediction'),
    ('stream', 'temporal_node_classification'),
    ('stream', 'temporal_link_prediction'),
    ('static', 'temporal_link_prediction'),
])
def test_resume_equals_uninterrupted(tmp_path, kind, task_name):
    # 'uniform' sampling draws from the sampler's generator: exact only
    # because its state is checkpointed too
    topt = {'strategy': 'uniform'} if kind == 'temporal' else {}
    full = run(kind, task_name, epochs=6, task_options=topt)
    for stop_at in (1, 2, 4):
        path = tmp_path / f'{kind}-{stop_at}.pt'

        def boom(counter, stop_at=stop_at):
            if counter == stop_at:
                raise Stop

        with pytest.raises(Stop):
            run(kind, task_name, epochs=6, checkpoint=path,
                checkpoint_every=2, interrupt=boom, task_options=topt)
        # a fresh process would build a fresh model from another seed: the
        # checkpoint restores weights, optimizer, RNG and generators
        res = run(kind, task_name, epochs=6, checkpoint=path,
                  checkpoint_every=2, seed=0, task_options=topt)
        assert res.metrics == full.metrics, stop_at
        assert res.history == full.history, stop_at
        assert res.best_epoch == full.best_epoch


# --- no host syncs, data movement --------------------------------------------
@pytest.mark.parametrize('task_name', TASKS)
@pytest.mark.parametrize('kind', KINDS)
def test_training_steps_pass_the_device_audit(monkeypatch, task_name, kind):
    with audit_steps(monkeypatch) as audit:
        run(kind, task_name, epochs=2)
    # TGN's memory (PyG's TGNMemory / LastNeighborLoader) reads values by
    # design; those frames are PyG's, not ours, and are not audited.
    assert audit.violations == []


def _rec(store, *ts):
    store.extend(t.device.type for t in ts if isinstance(t, torch.Tensor))


class SpyTemporal(torch.nn.Module):
    temporal, edge_dim = True, 2

    def __init__(self, out, seen):
        super().__init__()
        self.lin, self.seen = torch.nn.Linear(9, out), seen

    def forward(self, x, edge_index, edge_attr, dt, batch_size=None,
                n_id=None):
        _rec(self.seen, x, edge_index, edge_attr, dt, n_id)
        agg = x.new_zeros(x.size(0), 1).index_add(
            0, edge_index[1], dt.float().view(-1, 1))
        return self.lin(torch.cat([x, agg], 1))[:batch_size]


class SpyStatic(torch.nn.Module):
    def __init__(self, out, seen):
        super().__init__()
        self.lin, self.seen = torch.nn.Linear(8, out), seen

    def forward(self, x, edge_index):
        _rec(self.seen, x, edge_index)
        return self.lin(x).index_add(0, edge_index[1],
                                     self.lin(x)[edge_index[0]])


class SpyStream(torch.nn.Module):
    stream_model = True

    def __init__(self, out, seen):
        super().__init__()
        self.lin, self.seen = torch.nn.Linear(8, out), seen

    def reset_state(self, x, t, msg):
        _rec(self.seen, x, t, msg)
        self.x = x

    def embed_nodes(self, nodes):
        _rec(self.seen, nodes)
        return self.lin(self.x[nodes])

    def update(self, src, dst, t, msg):
        _rec(self.seen, src, dst, t, msg)

    def detach_state(self):
        pass


@pytest.mark.parametrize('task_name', TASKS)
@pytest.mark.parametrize('kind', KINDS)
def test_steps_feed_the_model_on_the_data_device(task_name, kind):
    # CI-runnable without a GPU: data moved to 'meta' (where no value can
    # be read); every tensor the model receives, and its outputs, must be
    # there, while sampling runs on the host copy.
    task = make_task(task_name)
    data = task.build(stream())
    task.prepare(data, kind)  # host-side caches (sampler, projection)
    meta = task.to(data, 'meta')
    assert meta.device.type == 'meta' and meta.host is data
    assert meta.graph.x.device.type == 'meta' == meta.msg.device.type
    seen = []
    out = EMB if task.kind == 'link' else 2
    model = {'temporal': SpyTemporal, 'static': SpyStatic,
             'stream': SpyStream}[kind](out, seen).to('meta')
    head = LinkHead(EMB).to('meta') if task.kind == 'link' else None
    params = list(model.parameters()) + (list(head.parameters())
                                         if head is not None else [])
    opt = torch.optim.Adam(params)
    loss = train_epoch(kind, model, head, task, meta, opt,
                       torch.Generator().manual_seed(0))
    assert loss.device.type == 'meta'
    outputs = predict_splits(kind, model, head, task, meta)
    assert seen and set(seen) == {'meta'}
    for s in ('val', 'test'):
        o = outputs[s] if task.kind == 'node' else outputs[s]['pos']
        assert o.device.type == 'meta'
        assert o.size(0) == data.split[s].numel()


def test_device_argument_moves_model_and_data():
    task = make_task('temporal_node_classification')
    data = task.build(stream())
    meta = task.to(data, 'meta')
    seed_everything(0)
    model = THeGCN(8, 8, 2, edge_dim=2, time_dim=4)
    with pytest.raises(ValueError, match="'data' is on meta but the model "
                                         "is on cpu"):
        fit_thegcn(model, meta, task, epochs=1, progress=False)
    # device= moves both (the meta data back to its host copy)
    res = fit_thegcn(model, meta, task, epochs=1, device='cpu',
                     progress=False)
    assert next(model.parameters()).device.type == 'cpu'
    assert 'val_accuracy' in res.metrics


# --- bad input ---------------------------------------------------------------
def test_bad_input():
    g = stream()
    model = THeGCN(8, 8, 2, edge_dim=2, time_dim=4)
    with pytest.raises(ValueError, match="'task' must be one of"):
        fit_thegcn(model, g, 'node_classification')
    with pytest.raises(TypeError, match="'data' must be a TemporalGraph"):
        fit_thegcn(model, {'x': 1})
    with pytest.raises(ValueError, match="'data' is on cpu but the model "
                                         "is on meta"):
        fit_thegcn(THeGCN(8, 8, 2, edge_dim=2, time_dim=4).to('meta'), g)
    with pytest.raises(ValueError, match="'head' is only used"):
        fit_thegcn(model, g, head=LinkHead(8))
    with pytest.raises(ValueError, match="'head' is on meta but the model "
                                         "is on cpu"):
        fit_thegcn(THeGCN(8, 8, EMB, edge_dim=2, time_dim=4), g,
                   'temporal_link_prediction', head=LinkHead(EMB).to('meta'))
    with pytest.raises(ValueError, match="'generator' must be a CPU"):
        fit_thegcn(model, g, generator=0)
    with pytest.raises(ValueError, match="'max_train_batches'"):
        fit_thegcn(model, g, max_train_batches=0)
    with pytest.raises(ValueError, match="'ssl_weight'"):
        fit_thegcn(model, g, ssl_weight=-1.0)
    with pytest.raises(ValueError, match='edge_dim=5'):
        fit_thegcn(THeGCN(8, 8, 2, edge_dim=5), g)
    with pytest.raises(TypeError, match=r'stream model .* no '
                                        r'reset_state\(\), embed_nodes\(\)'):
        fit_thegcn(type('S', (torch.nn.Linear, ), {'stream_model': True})(
            1, 1), g)
    with pytest.raises(ValueError, match="'epochs'"):
        fit_thegcn(model, g, epochs=-1, progress=False)
    with pytest.raises(TypeError, match="'options' must be a "
                                        "TemporalLinkPredictionOptions"):
        TemporalLinkPredictionTask(
            TemporalNodeClassificationTask.Options())
    with pytest.raises(TypeError, match='not both'):
        DynamicNodeClassificationTask(DynamicNodeClassificationTask.Options(),
                                      batch_size=3)
