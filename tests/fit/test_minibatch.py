import pytest
import torch
from torch_geometric.nn.models import GraphSAGE

from helpers_device import audit_steps
from helpers_dist import run_ranks
from helpers_loop import toy_graph
from pyg_ext.fit import fit_supervised
from pyg_ext.fit.minibatch import MiniBatchConfig, epoch_batches


def data_and_model(seed=0, dropout=0.0):
    data = toy_graph(num_splits=1)
    for k in ('train_mask', 'val_mask', 'test_mask'):
        data[k] = data[k][:, 0]
    torch.manual_seed(seed)
    return data, GraphSAGE(8, 16, 2, 2, dropout=dropout)


def params(m):
    return [p.detach().clone() for p in m.parameters()]


def test_epoch_batches_partition_the_global_batches():
    nodes = torch.arange(10, 47)
    for world in (1, 2, 3):
        parts = [epoch_batches(nodes, 8, torch.Generator().manual_seed(3), r,
                               world) for r in range(world)]
        ref = epoch_batches(nodes, 8, torch.Generator().manual_seed(3))
        assert all(len(p) == len(ref) for p in parts)  # same count per rank
        for j, b in enumerate(ref):
            got = torch.cat([p[j] for p in parts])
            assert sorted(got.tolist()) == sorted(b.tolist())


def test_one_full_neighbourhood_batch_equals_full_batch_training():
    # SAGE (mean) on the whole 2-hop neighbourhood of all training nodes in
    # one batch computes exactly the full-graph outputs of the seeds
    data, model = data_and_model()
    full = fit_supervised(model, data, epochs=5, patience=None,
                          progress=False)
    w_full = params(model)
    data, model = data_and_model()
    mb = fit_supervised(model, data, epochs=5, patience=None,
                        progress=False, batch_size=1000,
                        num_neighbors=[-1, -1])
    for a, b in zip(w_full, params(model)):
        assert torch.allclose(a, b, atol=1e-5)
    assert mb.metrics['val_accuracy'] == full.metrics['val_accuracy']


def test_minibatch_learns_and_is_reproducible():
    runs = []
    for _ in range(2):
        data, model = data_and_model(dropout=0.5)
        runs.append(fit_supervised(
            model, data, epochs=30, patience=None, progress=False,
            batch_size=16, num_neighbors=[5, 5],
            generator=torch.Generator().manual_seed(1)))
    assert runs[0].metrics == runs[1].metrics
    assert runs[0].metrics['val_accuracy'] > 0.75


def test_minibatch_resume_equals_uninterrupted(tmp_path):
    kw = dict(epochs=8, patience=None, progress=False, batch_size=16,
              num_neighbors=[3, 3], checkpoint_every=2)
    data, model = data_and_model(dropout=0.3)
    full = fit_supervised(model, data, generator=torch.Generator()
                          .manual_seed(0), **kw)

    class Kill(Exception):
        pass
    n = {'c': 0}

    def boom(c):
        n['c'] += 1
        if n['c'] == 5:
            raise Kill
    data, model = data_and_model(dropout=0.3)
    with pytest.raises(Kill):
        fit_supervised(model, data, generator=torch.Generator()
                       .manual_seed(0), checkpoint=tmp_path / 'c.pt',
                       interrupt=boom, **kw)
    data, model = data_and_model(seed=5, dropout=0.3)
    res = fit_supervised(model, data, generator=torch.Generator()
                         .manual_seed(0), checkpoint=tmp_path / 'c.pt', **kw)
    assert res.metrics == full.metrics and res.history == full.history


def test_minibatch_steps_pass_the_device_audit(monkeypatch):
    data, model = data_and_model()
    with audit_steps(monkeypatch) as audit:
        fit_supervised(model, data, epochs=2, progress=False, batch_size=32,
                       num_neighbors=[4, 4])
    # the CPU sampler (allow-listed) reads sizes; nothing of ours does
    assert audit.violations == []


def test_minibatch_on_device(device):
    data, model = data_and_model()
    res = fit_supervised(model, data, epochs=3, progress=False,
                         batch_size=32, num_neighbors=[4, 4], device=device)
    assert res.epochs_run == 3


def test_bad_minibatch_arguments():
    data, model = data_and_model()
    with pytest.raises(ValueError, match="both 'batch_size' and "
                       "'num_neighbors'"):
        fit_supervised(model, data, batch_size=8)
    with pytest.raises(ValueError, match="'batch_size'"):
        fit_supervised(model, data, batch_size=0, num_neighbors=[2])
    for bad in ([], [0], [-2, 3]):
        with pytest.raises(ValueError, match='num_neighbors'):
            MiniBatchConfig(8, bad)
    with pytest.raises(ValueError, match='needs mini-batches'):
        fit_supervised(model, data, group=object())


DDP = """
    import json, torch
    from helpers_loop import toy_graph
    from torch_geometric.nn.models import GraphSAGE
    from pyg_ext.fit import fit_supervised
    from pyg_ext.utils.distributed import init_distributed, get_rank
    import torch.distributed as dist
    init_distributed('gloo')
    data = toy_graph(num_splits=1)
    for k in ('train_mask', 'val_mask', 'test_mask'):
        data[k] = data[k][:, 0]
    torch.manual_seed(0)
    model = GraphSAGE(8, 16, 2, 2, dropout=0.0)
    res = fit_supervised(model, data, epochs=4, patience=None,
                         progress=False, batch_size=16,
                         num_neighbors=[-1, -1], group=dist.group.WORLD,
                         generator=torch.Generator().manual_seed(7),
                         select_on='last')
    print('RESULT:' + json.dumps([p.detach().view(-1).tolist()
                                  for p in model.parameters()]))
"""


def test_two_ranks_give_the_parameters_of_one_process():
    data, model = data_and_model()
    fit_supervised(model, data, epochs=4, patience=None, progress=False,
                   batch_size=16, num_neighbors=[-1, -1],
                   generator=torch.Generator().manual_seed(7),
                   select_on='last')
    ref = [p.detach().view(-1) for p in model.parameters()]
    out = run_ranks(DDP, world=2)
    for rc, got, _ in out:
        for a, b in zip(ref, got):
            assert torch.allclose(a, torch.tensor(b), atol=1e-5)
