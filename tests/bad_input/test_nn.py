r"""Bad input of the :mod:`pyg_ext.nn` layers and models: hyper-parameters
are refused at construction, forward refuses wrong metadata (dtype, dim,
sizes), a layer that builds its own CSR refuses ids >= N (no crash), and
Mowst's constructor/loss name the argument. Valid edge cases (no edges, one
node) give finite outputs."""
import subprocess
import sys
import textwrap

import pytest
import torch

import helpers_bad_input as H
from pyg_ext.nn.conv import GPRProp, THeGCNConv
from pyg_ext.nn.models import (FAGCN, GPRGNN, THeGCN, CosineTimeEncoder,
                               LearnableAPPNP, LearnableGCNII, Mowst,
                               TeddyGAT, TeddyGCN, TeddyGIN, WeightedJKNet)

NAN, INF = float('nan'), float('inf')
CH = dict(in_channels=4, hidden_channels=8, out_channels=3)
MODELS = {'GPRGNN': GPRGNN, 'LearnableAPPNP': LearnableAPPNP,
          'LearnableGCNII': LearnableGCNII, 'WeightedJKNet': WeightedJKNet,
          'FAGCN': FAGCN, 'TeddyGCN': TeddyGCN, 'TeddyGIN': TeddyGIN,
          'TeddyGAT': TeddyGAT}

CTOR = [
    *[(m, dict(CH, **{a: v}), a) for m in MODELS
      for a, v in (('hidden_channels', 0), ('out_channels', -1),
                   ('in_channels', 2.5), ('dropout', 1.0),
                   ('dropout', NAN), ('dropout', '0.5'))],
    ('GPRGNN', dict(CH, alpha='0.1'), 'alpha'),
    ('GPRGNN', dict(CH, dprate=-0.1), 'dprate'),
    ('GPRGNN', dict(CH, K=-1), 'K'),
    ('LearnableAPPNP', dict(CH, alpha=NAN), 'alpha'),
    ('LearnableAPPNP', dict(CH, alpha=None), 'alpha'),
    ('LearnableGCNII', dict(CH, theta=NAN), 'theta'),
    ('LearnableGCNII', dict(CH, theta=INF), 'theta'),
    ('FAGCN', dict(CH, eps=NAN), 'eps'),
    ('TeddyGAT', dict(CH, heads=0), 'heads'),
    ('TeddyGCN', dict(CH, num_layers=True), 'num_layers'),
    ('THeGCN', dict(CH, time_dim=-1), 'time_dim'),
    ('THeGCN', dict(CH, gate_hidden=0), 'gate_hidden'),
    ('THeGCN', dict(CH, fixed_gate=NAN), 'fixed_gate'),
    ('THeGCN', dict(CH, fixed_gate=1.5), 'fixed_gate'),
    ('THeGCN', dict(CH, fixed_gate=-0.1), 'fixed_gate'),
    ('THeGCN', dict(CH, dropout=1.0), 'dropout'),
    ('THeGCNConv', dict(channels=4, gate_hidden=-1), 'gate_hidden'),
    ('THeGCNConv', dict(channels=4, time_dim=-1), 'time_dim'),
    ('CosineTimeEncoder', dict(out_channels=True), 'out_channels'),
    ('GPRProp', dict(K=3, alpha=NAN), 'alpha'),
]
CLASSES = dict(MODELS, THeGCN=THeGCN, THeGCNConv=THeGCNConv,
               CosineTimeEncoder=CosineTimeEncoder, GPRProp=GPRProp)


@pytest.mark.parametrize('name,kwargs,arg', CTOR,
                         ids=[f'{c[0]}-{c[2]}-{i}' for i, c in
                              enumerate(CTOR)])
def test_constructor(name, kwargs, arg):
    H.assert_clear(lambda: CLASSES[name](**kwargs), [f"'{arg}'"])


def _graph(n=5):
    x = torch.randn(n, 4)
    src = torch.arange(n)
    return x, torch.stack([src, (src + 1) % n])


@pytest.mark.parametrize('name', sorted(MODELS))
@pytest.mark.parametrize('bad', ['x int', 'x width', 'x 1-D', 'ei float',
                                 'ei [E, 2]', 'edge_weight short'])
def test_forward_metadata(name, bad):
    torch.manual_seed(0)
    model = MODELS[name](**CH).eval()
    x, ei = _graph()
    args = dict(x=x, edge_index=ei)
    if bad == 'x int':
        args['x'], names = x.long(), ["'x'"]
    elif bad == 'x width':
        args['x'], names = torch.randn(5, 7), ["'x'"]
    elif bad == 'x 1-D':
        args['x'], names = x[:, 0], ["'x'"]
    elif bad == 'ei float':
        args['edge_index'], names = ei.float(), ["'edge_index'"]
    elif bad == 'ei [E, 2]':
        args['edge_index'], names = ei.t().contiguous(), ["'edge_index'"]
    else:
        if name == 'FAGCN':  # no edge weights
            pytest.skip('FAGCN takes no edge_weight')
        args['edge_weight'], names = torch.ones(2), ["'edge_weight'"]
    H.assert_clear(lambda: model(**args), names)


@pytest.mark.parametrize('name', sorted(MODELS))
def test_valid_edge_cases(name):
    torch.manual_seed(0)
    model = MODELS[name](**CH).eval()
    for x, ei in ((torch.randn(4, 4), torch.empty(2, 0, dtype=torch.long)),
                  (torch.randn(1, 4), torch.zeros(2, 1, dtype=torch.long))):
        out = model(x, ei)
        assert out.shape == (x.size(0), 3)
        assert torch.isfinite(out).all()


def test_csr_ids_checked_once_no_crash():
    # An id >= N used to read out of bounds in the CSR kernels (a crash):
    # run it in a child so a regression fails the test, not pytest.
    code = textwrap.dedent('''
        import torch
        from pyg_ext.nn.conv import GPRProp, HopAggregation
        x = torch.randn(3, 2)
        for ei in (torch.tensor([[0, 1], [1, 3]]),
                   torch.tensor([[0, 10**7], [1, 0]]),
                   torch.tensor([[0, -1], [1, 0]])):
            for m in (GPRProp(K=2, normalize=False),
                      HopAggregation(normalize=False)):
                args = (x, ei) if isinstance(m, GPRProp) else \\
                    (x, ei, torch.tensor([0.5, 0.3, 0.2]))
                try:
                    m(*args)
                except ValueError as e:
                    assert "'edge_index'" in str(e), str(e)
                else:
                    raise SystemExit('accepted ' + str(ei.tolist()))
        print('ok')
    ''')
    r = subprocess.run([sys.executable, '-c', code], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip() == 'ok'


def test_csr_ids_checked_once_per_graph(monkeypatch):
    # The value check runs when the CSR pair is built, not on every call.
    import pyg_ext.nn.conv.gpr_prop as gp
    calls = []
    real = gp.check_ids_once
    monkeypatch.setattr(gp, 'check_ids_once',
                        lambda *a: calls.append(1) or real(*a))
    x, ei = _graph()
    prop = GPRProp(K=2, normalize=False)
    for _ in range(3):
        prop(x, ei)
    assert len(calls) == 1


def _mowst(**kw):
    from torch_geometric.nn import GCN, MLP
    torch.manual_seed(0)
    return Mowst(MLP([4, 8, 3]), GCN(4, 8, 2, 3), num_classes=3, **kw)


@pytest.mark.parametrize('kw,arg', [
    (dict(gate_alpha=NAN), 'gate_alpha'), (dict(gate_alpha=0.0),
                                           'gate_alpha'),
    (dict(gate_hidden=True), 'gate_hidden'),
    (dict(gate_layers=0), 'gate_layers'),
    (dict(gate_dropout='0.5'), 'gate_dropout'),
    (dict(dispersion=3), 'dispersion'), (dict(dispersion='foo'),
                                         'dispersion'),
    (dict(gate='tree'), 'gate')])
def test_mowst_constructor(kw, arg):
    H.assert_clear(lambda: _mowst(**kw), [f"'{arg}'"])


@pytest.mark.parametrize('kw,arg', [
    (dict(y=torch.zeros(5)), 'y'), (dict(y=torch.zeros(3, dtype=torch.long)),
                                    'y'),
    (dict(index=torch.tensor([0.0, 1.0])), 'index'),
    (dict(index=torch.zeros(2, 2, dtype=torch.long)), 'index'),
    (dict(index=torch.ones(2, dtype=torch.bool), reduction='none'),
     'index'),
    (dict(reduction='avg'), 'reduction')])
def test_mowst_loss(kw, arg):
    model = _mowst()
    x, ei = _graph()
    out = model(x, ei)
    args = dict(y=torch.tensor([0, 1, 2, 0, 1]))
    args.update(kw)
    H.assert_clear(lambda: model.loss(out, **args), [f"'{arg}'"])
    loss = model.loss(out, torch.tensor([0, 1, 2, 0, 1]))
    assert torch.isfinite(loss)


def test_gpr_gamma_and_mowst_nan_features():
    H.assert_clear(lambda: GPRProp(K=2, init='WS', gamma='abc'), ["'gamma'"])
    assert GPRProp(K=1, init='WS', gamma=(0.5, 0.5)).gamma.tolist() == \
        [0.5, 0.5]
    x, ei = _graph()
    x[1, 2] = float('nan')
    H.assert_clear(lambda: _mowst().eval().predict(x, ei), ["'x'"])


@pytest.mark.parametrize('cls', ['GPRGNN', 'LearnableAPPNP', 'LearnableGCNII',
                                 'WeightedJKNet', 'FAGCN', 'TeddyGCN',
                                 'TeddyGIN', 'TeddyGAT'])
def test_no_lazy_in_channels_on_torch_linear(cls):
    # in_channels=-1 is PyG's lazy initialisation; these models use a torch
    # Linear, so -1 used to end in torch's "negative dimension" RuntimeError
    import pyg_ext.nn.models as M
    H.assert_clear(lambda: getattr(M, cls)(-1, 8, 3), ["'in_channels'"])


# Node-id values in forward: checked on the first call ('once', default),
# on every call ('always'), or never; the engine marks trained modules as
# checked (fit_* entry points check their data up front).

def _forward(name, model, x, ei):
    if name == 'THeGCN':
        return model(x, ei, dt=torch.zeros(ei.size(1)))
    if name == 'THeGCNConv':
        return model(x, ei)
    return model(x, ei)


def _build(name):
    torch.manual_seed(0)
    if name == 'THeGCN':
        return THeGCN(**CH)
    if name == 'THeGCNConv':
        return THeGCNConv(4)
    return MODELS[name](**CH)


ID_MODELS = sorted(MODELS) + ['THeGCN', 'THeGCNConv']
CSR_BUILDERS = ('GPRGNN', 'LearnableAPPNP', 'LearnableGCNII')


@pytest.mark.parametrize('name', ID_MODELS)
@pytest.mark.parametrize('bad_id', [5, 99, -1])
def test_forward_ids_checked_on_first_call(name, bad_id):
    x, ei = _graph()
    bad = ei.clone()
    bad[1, 2] = bad_id
    model = _build(name).eval()
    H.assert_clear(lambda: _forward(name, model, x, bad),
                   ["'edge_index'", f'{bad_id}', '[0, 5)'])
    # a failed check does not count: the next call checks again
    H.assert_clear(lambda: _forward(name, model, x, bad), ["'edge_index'"])
    out = _forward(name, model, x, ei)
    assert torch.isfinite(out).all()
    assert model._ids_checked


@pytest.mark.parametrize('name', ID_MODELS)
def test_forward_id_check_modes(name, monkeypatch):
    x, ei = _graph()
    bad = ei.clone()
    bad[0, 0] = 7
    model = _build(name).eval()
    _forward(name, model, x, ei)  # the first call checked a valid graph
    calls = []
    import pyg_ext.nn._checks as C
    real = C.check_ids_once
    monkeypatch.setattr(C, 'check_ids_once',
                        lambda *a: calls.append(1) or real(*a))
    _forward(name, model, x, ei)
    assert calls == []  # 'once': no further value read
    model.validate = 'always'
    H.assert_clear(lambda: _forward(name, model, x, bad), ["'edge_index'"])
    assert calls == [1]
    model.validate = 'never'
    if name in CSR_BUILDERS:  # their own CSR checks its ids when built
        H.assert_clear(lambda: _forward(name, model, x, bad),
                       ["'edge_index'"])
    else:
        with pytest.raises(Exception) as info:  # torch's own error
            _forward(name, model, x, bad)
        assert "'edge_index' holds" not in str(info.value)
    assert calls == [1]
    model.validate = 'sometimes'
    H.assert_clear(lambda: _forward(name, model, x, ei), ["'validate'"])


def test_engine_marks_trained_modules_checked():
    from pyg_ext.utils.training import Trainer
    model = torch.nn.ModuleDict({'a': FAGCN(**CH), 'b': TeddyGCN(**CH),
                                 'lin': torch.nn.Linear(2, 2)})
    Trainer(model, progress=False)
    assert model['a']._ids_checked and model['b']._ids_checked
    assert '_ids_checked' not in model['lin'].__dict__


def test_mowst_loss_label_values_first_call():
    model = _mowst()
    x, ei = _graph()
    out = model(x, ei)
    H.assert_clear(lambda: model.loss(out, torch.tensor([0, 1, 3, 0, 1])),
                   ["'y'", '[0, 3)', 'num_classes'])
    H.assert_clear(lambda: model.loss(out, torch.tensor([0, -1, 2, 0, 1])),
                   ["'y'"])
    for bad in ([0, 5], [-1, 2]):
        H.assert_clear(lambda: model.loss(out, torch.tensor([0, 1, 2, 0, 1]),
                                          index=torch.tensor(bad)),
                       ["'index'", '[0, 5)'])
    # labels off the index are not used and not checked
    y = torch.tensor([0, 1, 9, 0, 1])
    assert torch.isfinite(model.loss(out, y, index=torch.tensor([0, 1])))
    assert model._ids_checked
    # validate_inputs checks the labels once: loss reads nothing after it
    model2 = _mowst()
    model2.validate_inputs(x, ei, torch.tensor([0, 1, 2, 0, 1]))
    assert model2._ids_checked
