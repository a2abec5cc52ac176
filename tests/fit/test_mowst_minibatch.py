import pytest
import torch
from torch_geometric.nn.models import MLP, GraphSAGE

from helpers_device import audit_steps
from helpers_dist import run_ranks
from pyg_ext.datasets.feature_structure import feature_structure_graph
from pyg_ext.fit import fit_mowst
from pyg_ext.nn.models import Mowst


def small_data():
    return feature_structure_graph(240, num_classes=3, num_features=8,
                                   degree=4, signal=3.0, seed=0)


class Gate(torch.nn.Module):
    r"""A gate without batch norm (the official GateMLP's batch statistics
    would see every node in full-batch training, only the seeds in a
    mini-batch)."""
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(2, 1)

    def forward(self, d):
        return torch.sigmoid(self.lin(d)).view(-1)


def make(variant='mowst_star', dropout=0.0, seed=0, exact=True):
    torch.manual_seed(seed)
    if not exact:  # the library defaults (batch-norm MLP and gate)
        return Mowst(MLP([8, 16, 3], dropout=dropout),
                     GraphSAGE(8, 16, 2, 3, dropout=dropout), 3,
                     variant=variant, gate_hidden=8, gate_dropout=dropout)
    return Mowst(MLP([8, 16, 3], dropout=dropout, norm=None),
                 GraphSAGE(8, 16, 2, 3, dropout=dropout), 3,
                 variant=variant, gate=Gate())


def params(m):
    return [p.detach().clone() for p in m.parameters()]


@pytest.mark.parametrize('variant', ['mowst_star', 'mowst'])
def test_one_full_batch_of_seeds_equals_full_batch_training(variant):
    kw = dict(max_epochs=4, patience=None, pretrain='both',
              pretrain_epochs=3, max_rounds=1, big_patience=None,
              progress=False)
    data = small_data()
    a = make(variant)
    full = fit_mowst(a, data, **kw)
    b = make(variant)
    mb = fit_mowst(b, data, batch_size=10_000, num_neighbors=[-1, -1], **kw)
    for p, q in zip(params(a), params(b)):
        assert torch.allclose(p, q, atol=1e-5)
    assert mb.metrics['val_accuracy'] == pytest.approx(
        full.metrics['val_accuracy'], abs=1e-9)


def test_minibatch_mowst_learns_resumes_and_passes_the_audit(tmp_path,
                                                             monkeypatch):
    data = small_data()
    kw = dict(max_epochs=6, patience=None, pretrain='strong',
              pretrain_epochs=4, max_rounds=2, big_patience=None,
              progress=False, batch_size=32, num_neighbors=[4, 4],
              checkpoint_every=3)
    gen = lambda: torch.Generator().manual_seed(2)  # noqa: E731
    with audit_steps(monkeypatch) as audit:
        full = fit_mowst(make('mowst', dropout=0.2, exact=False), data,
                         generator=gen(), **kw)
    assert audit.violations == []
    assert full.metrics['test_accuracy'] > 0.6

    class Kill(Exception):
        pass
    n = {'c': 0}

    def boom(c):
        n['c'] += 1
        if n['c'] == 9:
            raise Kill
    with pytest.raises(Kill):
        fit_mowst(make('mowst', dropout=0.2, exact=False), data,
                  generator=gen(), checkpoint=tmp_path / 'c.pt',
                  interrupt=boom, **kw)
    res = fit_mowst(make('mowst', dropout=0.2, seed=3, exact=False), data,
                    generator=gen(), checkpoint=tmp_path / 'c.pt', **kw)
    assert res.metrics == full.metrics and res.history == full.history


def test_minibatch_mowst_bad_input():
    data = small_data()
    with pytest.raises(ValueError, match="both 'batch_size'"):
        fit_mowst(make(), data, batch_size=4)
    with pytest.raises(ValueError, match="'strong_kwargs' are full-batch"):
        fit_mowst(make(), data, batch_size=4, num_neighbors=[2],
                  strong_kwargs={'edge_weight': torch.ones(1)})
    with pytest.raises(ValueError, match='needs mini-batches'):
        fit_mowst(make(), data, distributed=True)


DDP = """
    import json, torch
    import torch.distributed as dist
    from torch_geometric.nn.models import MLP, GraphSAGE
    from pyg_ext.datasets.feature_structure import feature_structure_graph
    from pyg_ext.fit import fit_mowst
    from pyg_ext.nn.models import Mowst
    from pyg_ext.utils.distributed import init_distributed
    init_distributed('gloo')
    data = feature_structure_graph(240, num_classes=3, num_features=8,
                                   degree=4, signal=3.0, seed=0)
    import sys
    sys.path.insert(0, {testdir!r})
    from test_mowst_minibatch import make
    m = make('{variant}')
    fit_mowst(m, data, max_epochs=3, patience=None, pretrain='strong',
              pretrain_epochs=2, max_rounds=1, big_patience=None,
              progress=False, batch_size=32, num_neighbors=[-1, -1],
              generator=torch.Generator().manual_seed(4),
              group=dist.group.WORLD)
    print('RESULT:' + json.dumps([p.detach().view(-1).tolist()
                                  for p in m.parameters()]))
"""


@pytest.mark.parametrize('variant', ['mowst', 'mowst_star'])
def test_two_ranks_give_the_parameters_of_one_process(variant):
    m = make(variant)
    fit_mowst(m, small_data(), max_epochs=3, patience=None,
              pretrain='strong', pretrain_epochs=2, max_rounds=1,
              big_patience=None, progress=False, batch_size=32,
              num_neighbors=[-1, -1],
              generator=torch.Generator().manual_seed(4))
    ref = [p.detach().view(-1) for p in m.parameters()]
    import os
    body = DDP.replace('{variant}', variant).replace(
        '{testdir!r}', repr(os.path.dirname(__file__)))
    for rc, got, _ in run_ranks(body, world=2):
        for a, b in zip(ref, got):
            assert torch.allclose(a, torch.tensor(b), atol=1e-5)
