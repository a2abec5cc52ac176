r"""``dataset.adjacency``: the loop's CSR path gives the logits, gradients
and metrics of the edge_index path, falls back where it cannot apply,
refuses ``csr`` by name, and builds the CSR once (cached)."""
import pytest
import torch
import yaml
from torch_geometric.data import Data
from torch_geometric.typing import WITH_TORCH_SPARSE

from pyg_ext.cli import main
from pyg_ext.fit.supervised import node_forward, node_loss
from pyg_ext.registry import DATASETS, METHODS, MODELS, TASKS
from pyg_ext.train import load_config, load_plugins, run
from pyg_ext.train import adjacency as adjacency_mod
from pyg_ext.train.adjacency import (attach_adjacency, cached_adj_t,
                                     supports_adj_t)
from pyg_ext.train.config import ConfigError

from torch_geometric.utils import coalesce

from helpers_loop import toy_graph

load_plugins()

# Every registered model is one or the other (a new model must be added).
STATIC = ('mlp', 'gcn', 'sage', 'gat', 'gin', 'gprgnn', 'appnp_learnable',
          'jknet_ws', 'gcnii_learnable', 'teddy_gcn', 'teddy_gin',
          'teddy_gat', 'fagcn')
NOT_STATIC = ('thegcn', 'tgn', 'edgebank', 'ic', 'lt')  # temporal / diffusion models


def _register(name, make):
    if name not in DATASETS:
        DATASETS.register(name, lambda root: make(), description='test')
    return name


def _graph():  # the loop's toy graph without its duplicate edges
    d = toy_graph()
    d.edge_index = coalesce(d.edge_index, num_nodes=d.num_nodes)
    return d


def _dup_graph():
    d = _graph()
    d.edge_index = torch.cat([d.edge_index, d.edge_index[:, :3]], 1)
    return d


def _attr_graph():
    d = _graph()
    d.edge_attr = torch.randn(d.edge_index.size(1), 2)
    return d


TOY = _register('test_adj_toy', _graph)
DUP = _register('test_adj_dup', _dup_graph)
ATTR = _register('test_adj_attr', _attr_graph)


def cfg(model='gcn', adjacency='-', dataset=TOY, method='supervised',
        **train):
    ds = {'name': dataset}
    if adjacency != '-':
        ds['adjacency'] = adjacency
    return {'name': 'adj', 'dataset': ds,
            'task': {'name': 'node_classification'},
            'model': {'name': model, 'hidden_channels': 8},
            'method': {'name': method},
            'train': {'epochs': 5, 'runs': 1, 'checkpoint_every': 0,
                      **train}}


def test_every_registered_model_is_classified():
    assert set(MODELS._entries) == set(STATIC) | set(NOT_STATIC)


@pytest.fixture(scope='module')
def cora():
    import os
    root = os.environ.get('PYG_EXT_DATA')
    if not root or not os.path.isdir(os.path.join(root, 'planetoid')):
        pytest.skip('Planetoid Cora is not under $PYG_EXT_DATA')
    c = load_config({'dataset': {'name': 'cora'},
                     'task': {'name': 'node_classification',
                              'normalize_features': True}})
    task = TASKS.get('node_classification').obj(c.task.options)
    return task, task.load(DATASETS.get('cora'), c.dataset.options, root)


@pytest.mark.parametrize('name', STATIC)
def test_csr_and_edge_index_give_equal_logits_on_cora(cora, name):
    task, data = cora
    method = METHODS.get('supervised').obj()
    c = load_config({'dataset': {'name': 'cora', 'adjacency': 'auto'},
                     'model': {'name': name, 'hidden_channels': 8}})
    entry = MODELS.get(name)
    if not supports_adj_t(entry.obj):
        out, layout = attach_adjacency(c, task, method, data)
        assert layout == 'edge_index' and out is data
        assert getattr(out, 'adj_t', None) is None
        c.dataset.adjacency = 'csr'
        with pytest.raises(ConfigError, match=f"model '{name}' does not take"):
            attach_adjacency(c, task, method, data)
        return
    sparse, layout = attach_adjacency(c, task, method, data)
    assert layout == 'csr' and sparse.adj_t.layout == torch.sparse_csr
    assert getattr(data, 'adj_t', None) is None  # the input is unchanged
    torch.manual_seed(0)
    model = entry.obj(data.num_features, 7, c.model.options).eval()
    grads = []
    for d in (data, sparse):
        model.zero_grad()
        out = node_forward(model, d)
        node_loss(out, d).backward()
        grads.append((out.detach(), [p.grad.clone() for p in
                                     model.parameters() if p.grad is not None]))
    (a, ga), (b, gb) = grads
    assert torch.allclose(a, b, atol=1e-5), (a - b).abs().max()
    assert len(ga) == len(gb) > 0
    for u, v in zip(ga, gb):
        assert torch.allclose(u, v, atol=1e-5)



@pytest.mark.skipif(not WITH_TORCH_SPARSE,
                    reason='torch_sparse is not installed')
@pytest.mark.parametrize('name', STATIC)
def test_sparse_tensor_adj_t_gives_equal_logits_on_cora(cora, name):
    # PyG's other sparse layout: a torch_sparse.SparseTensor adj_t as
    # T.ToSparseTensor() builds it (no edge_index left in the data).
    import torch_geometric.transforms as T
    task, data = cora
    c = load_config({'model': {'name': name, 'hidden_channels': 8}})
    entry = MODELS.get(name)
    if not supports_adj_t(entry.obj):
        pytest.skip(f'{name} takes edge_index only')
    sparse = T.ToSparseTensor()(data.clone())
    assert type(sparse.adj_t).__name__ == 'SparseTensor'
    torch.manual_seed(0)
    model = entry.obj(data.num_features, 7, c.model.options).eval()
    res = []
    for d in (data, sparse):
        model.zero_grad()
        out = node_forward(model, d)
        node_loss(out, d).backward()
        res.append((out.detach(), [p.grad.clone() for p in
                                   model.parameters() if p.grad is not None]))
    (a, ga), (b, gb) = res
    assert torch.allclose(a, b, atol=1e-5), (a - b).abs().max()
    assert len(ga) == len(gb) > 0
    for u, v in zip(ga, gb):
        assert torch.allclose(u, v, atol=1e-5)

@pytest.mark.parametrize('model', ['gcn', 'sage'])
def test_loop_metrics_equal_on_both_layouts(tmp_path, cora, model):
    runs = {}
    for adj in ('edge_index', 'csr', 'auto'):
        c = cfg(model, adj, dataset='cora')
        c['task']['normalize_features'] = True
        c['model']['dropout'] = 0.0
        runs[adj] = run(c, run_dir=tmp_path / adj, quiet=True)
    assert runs['edge_index']['adjacency'] == 'edge_index'
    assert runs['csr']['adjacency'] == runs['auto']['adjacency'] == 'csr'
    ref = runs['edge_index']['summary']
    for adj in ('csr', 'auto'):
        for key in ('train_loss', 'val_accuracy', 'test_accuracy'):
            assert runs[adj]['summary'][key]['mean'] == pytest.approx(
                ref[key]['mean'], abs=1e-4)


def _layout(raw):
    c = load_config(raw)
    task = TASKS.get(c.task.name).obj(c.task.options)
    data = task.load(DATASETS.get(c.dataset.name), c.dataset.options, '.')
    return attach_adjacency(c, task, METHODS.get(c.method.name).obj(
        c.method.options), data)


def test_auto_keeps_edge_index_where_csr_cannot_apply():
    # duplicate edges, edge features, a method without adj_t, mini-batches
    mb = cfg('sage', 'auto', batch_size=16)
    mb['task']['num_neighbors'] = [5, 5]
    for c in (cfg(dataset=DUP), cfg(dataset=ATTR), cfg(method='teddy'), mb):
        data, layout = _layout(c)
        assert layout == 'edge_index'
        assert getattr(data, 'adj_t', None) is None
    assert _layout(cfg())[1] == 'csr'


@pytest.mark.parametrize('c, match', [
    (cfg('gat', 'csr'), "model 'gat' does not take"),
    (cfg('gcn', 'csr', method='teddy'), "method 'teddy' trains through "
     "edge_index"),
    (cfg('gcn', 'csr', dataset=DUP), f"dataset '{DUP}' has duplicate edges"),
    (cfg('gcn', 'csr', dataset=ATTR), "the graph has 'edge_attr'"),
])
def test_csr_where_it_cannot_apply_is_a_config_error(tmp_path, c, match):
    with pytest.raises(ConfigError, match=r'dataset\.adjacency: csr is not '
                       r'possible: .*' + match):
        run(c, run_dir=tmp_path / 'r', quiet=True)


@pytest.mark.parametrize('value, match', [
    ('dense', "dataset.adjacency: expected one of auto, csr, edge_index, "
     "got 'dense'"),
    (3, 'dataset.adjacency: expected str, got int 3'),
    (None, 'dataset.adjacency: expected str'),
])
def test_bad_adjacency_values(value, match):
    with pytest.raises(ConfigError, match=match):
        load_config(cfg(adjacency=value))


def test_cli_exit_code_2(tmp_path, capsys):
    path = tmp_path / 'c.yaml'
    path.write_text(yaml.safe_dump(cfg()))
    assert main(['run', str(path), '--set', 'dataset.adjacency=dense',
                 '--quiet']) == 2
    assert main(['run', str(path), '--set', 'dataset.adjacency=csr', '--set',
                 'model.name=gat', '--run-dir', str(tmp_path / 'r'),
                 '--quiet']) == 2
    err = capsys.readouterr().err
    assert 'dataset.adjacency' in err and "model 'gat'" in err


def test_resolved_config_keeps_the_choice(tmp_path):
    s = run(cfg(adjacency='csr'), run_dir=tmp_path / 'r', quiet=True)
    saved = yaml.safe_load((tmp_path / 'r' / 'config.yaml').read_text())
    assert saved['dataset']['adjacency'] == 'csr' and s['adjacency'] == 'csr'
    assert load_config(tmp_path / 'r' / 'config.yaml').dataset.adjacency \
        == 'csr'
    assert load_config(cfg()).dataset.adjacency == 'auto'


def test_minibatch_with_csr_evaluates_through_the_csr(tmp_path):
    out = {}
    for adj in ('edge_index', 'csr'):
        c = cfg('sage', adj, batch_size=16)
        c['task']['num_neighbors'] = [5, 5]
        out[adj] = run(c, run_dir=tmp_path / adj, quiet=True)
    assert out['csr']['adjacency'] == 'csr'
    for key in ('val_accuracy', 'test_accuracy', 'train_loss'):
        assert out['csr']['summary'][key]['mean'] == pytest.approx(
            out['edge_index']['summary'][key]['mean'], abs=1e-4)


def test_cache_is_hit_the_second_time(tmp_path):
    d = _graph()
    n = d.num_nodes
    a, dup, hit = cached_adj_t(d.edge_index, n, ['k'], cache=tmp_path)
    assert not dup and not hit
    b, dup, hit = cached_adj_t(d.edge_index, n, ['k'], cache=tmp_path)
    assert hit and not dup
    assert torch.equal(a.to_dense(), b.to_dense())
    # other edges under the same key: a miss, not the stale CSR
    other = d.edge_index[:, 1:]
    c, _, hit = cached_adj_t(other, n, ['k'], cache=tmp_path)
    assert not hit and c.values().numel() == other.size(1)
    # duplicates are remembered too
    dup_ei = torch.cat([d.edge_index, d.edge_index[:, :1]], 1)
    assert cached_adj_t(dup_ei, n, ['k'], cache=tmp_path)[1:] == (True, False)
    assert cached_adj_t(dup_ei, n, ['k'], cache=tmp_path)[1:] == (True, True)
    # an unreadable file is rebuilt
    for f in (tmp_path / 'adjacency').glob('*.pt'):
        f.write_bytes(b'broken')
    assert cached_adj_t(d.edge_index, n, ['k'], cache=tmp_path)[2] is False
    assert cached_adj_t(d.edge_index, n, ['k'], cache=tmp_path)[2] is True


def test_loop_builds_the_csr_once(tmp_path, monkeypatch):
    monkeypatch.setenv('PYG_EXT_CACHE', str(tmp_path / 'cache'))
    calls = []
    real = adjacency_mod.csr_adjacency

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(adjacency_mod, 'csr_adjacency', counting)
    for i in range(2):
        s = run(cfg(), run_dir=tmp_path / str(i), quiet=True)
        assert s['adjacency'] == 'csr'
    assert len(calls) == 1
    assert len(list((tmp_path / 'cache' / 'adjacency').glob('*.pt'))) == 1


def test_supports_adj_t_reads_classes_and_builders():
    class Yes(torch.nn.Module):
        supports_adj_t = True

    def build():
        pass

    assert supports_adj_t(Yes) and supports_adj_t(Yes())
    assert not supports_adj_t(build)
    build.model_class = Yes
    assert supports_adj_t(build)
    assert not supports_adj_t(torch.nn.Linear(1, 1))
    assert isinstance(toy_graph(), Data)


def test_csr_path_on_the_test_device(tmp_path, device):
    # the CSR is built on the host at load time and moves with the data
    out = {}
    for adj in ('edge_index', 'csr'):
        c = cfg('gcn', adj, device=str(device))
        c['model']['dropout'] = 0.0
        out[adj] = run(c, run_dir=tmp_path / adj, quiet=True)
    assert out['csr']['adjacency'] == 'csr'
    for key in ('train_loss', 'val_accuracy', 'test_accuracy'):
        assert out['csr']['summary'][key]['mean'] == pytest.approx(
            out['edge_index']['summary'][key]['mean'], abs=1e-4)


def test_gcn_refuses_a_csr_of_the_wrong_size():
    from pyg_ext.utils.adjacency import csr_adjacency
    c = load_config(cfg())
    model = MODELS.get('gcn').obj(8, 2, c.model.options)
    x = torch.randn(5, 8)
    adj, _ = csr_adjacency(torch.tensor([[0, 1], [1, 2]]), 4)
    with pytest.raises(ValueError, match=r"'adj_t' must be a square \[N, N\]"
                       r" adjacency with N = x.size\(0\) = 5, got \(4, 4\)"):
        model(x, adj)
    with pytest.raises(ValueError, match="'edge_weight' must be None"):
        model(x[:4], adj, torch.ones(2))
    with pytest.raises(ValueError, match='torch.sparse_csr'):
        model(x[:4], adj.to_sparse_coo())
    assert model(x[:4], adj).shape == (4, 2)


@pytest.mark.parametrize('name', ['gcn', 'sage', 'gin'])
def test_csr_path_on_a_directed_graph_with_self_loops(name):
    # not symmetric: the SpMM's backward uses a real transpose; existing
    # self-loops keep their weight in gcn's normalisation
    from pyg_ext.utils.adjacency import csr_adjacency
    torch.manual_seed(0)
    n = 40
    ei = coalesce(torch.cat([torch.randint(0, n, (2, 150)),
                             torch.tensor([[2, 7], [2, 7]])], 1),
                  num_nodes=n)
    adj, dup = csr_adjacency(ei, n)
    assert not dup
    c = load_config(cfg(name))
    model = MODELS.get(name).obj(6, 3, c.model.options).eval()
    x = torch.randn(n, 6, requires_grad=True)
    res = []
    for a in (ei, adj):
        x.grad = None
        model.zero_grad()
        out = model(x, a)
        (out * torch.arange(3.0)).sum().backward()
        res.append((out.detach(), x.grad.clone(),
                    [p.grad.clone() for p in model.parameters()]))
    (o1, gx1, g1), (o2, gx2, g2) = res
    assert torch.allclose(o1, o2, atol=1e-5)
    assert torch.allclose(gx1, gx2, atol=1e-5)
    for u, v in zip(g1, g2):
        assert torch.allclose(u, v, atol=1e-5)


@pytest.mark.parametrize('method', ['mowst', 'mowst_star'])
def test_mowst_in_the_loop_on_both_layouts(tmp_path, method):
    # Mowst takes the CSR once its class declares supports_adj_t: then the
    # layouts give equal metrics; until then auto keeps edge_index and csr
    # is refused naming the method
    meth = METHODS.get(method).obj()
    out = {}
    for adj in ('edge_index', 'auto', 'csr'):
        c = cfg('gcn', adj, method=method, epochs=4)
        if method == 'mowst':
            c['method']['max_rounds'] = 1
        c['model']['dropout'] = 0.0
        if adj == 'csr' and not meth.supports_adj_t:
            with pytest.raises(ConfigError, match=f"method '{method}'"):
                run(c, run_dir=tmp_path / adj, quiet=True)
            continue
        out[adj] = run(c, run_dir=tmp_path / adj, quiet=True)
    want = 'csr' if meth.supports_adj_t else 'edge_index'
    assert out['auto']['adjacency'] == want
    for adj in out:
        for key in ('val_accuracy', 'test_accuracy'):
            assert out[adj]['summary'][key]['mean'] == pytest.approx(
                out['edge_index']['summary'][key]['mean'], abs=1e-4)
