import copy

import pytest
import torch
from torch_geometric.nn.models import GCN, MLP, GraphSAGE

from pyg_ext.datasets.feature_structure import feature_structure_graph
from helpers_device import audit_steps
from pyg_ext.fit import (evaluate_mowst, fit_mowst, fit_mowst_star,
                         set_expert_dropout)
from pyg_ext.nn.models import Mowst


def small_data(seed=0):
    return feature_structure_graph(240, num_classes=3, num_features=8,
                                   degree=4, signal=3.0, seed=seed)


def make(variant='mowst', seed=0, **kwargs):
    torch.manual_seed(seed)
    return Mowst(MLP([8, 16, 3], dropout=0.2), GraphSAGE(8, 16, 2, 3,
                                                         dropout=0.2),
                 3, variant=variant, gate_hidden=8, **kwargs)


FIT = dict(max_epochs=15, patience=5, max_rounds=3, big_patience=2,
           pretrain='strong', pretrain_epochs=20, pretrain_patience=5,
           progress=False)


def params(model):
    return [p.detach().clone() for p in model.state_dict().values()]


def test_fit_mowst_selects_by_val_expected_accuracy_with_gate():
    data = small_data()
    model = make()
    res = fit_mowst(model, data, **FIT)
    hist = res['history']['val_accuracy']
    assert len(hist) >= 1
    assert hist == sorted(hist)  # best-so-far is monotone
    # The gate is restored together with both experts, so re-evaluating the
    # selected model reproduces the best validation E[acc] exactly.
    again = evaluate_mowst(model, data)
    assert again['val_accuracy'] == pytest.approx(max(hist), abs=1e-12)
    assert res['metrics'] == again
    assert 0.0 <= res['metrics']['test_accuracy'] <= 1.0


class Kill(Exception):
    pass


def killer(at):
    calls = {'n': 0}

    def kill(step):
        calls['n'] += 1
        if calls['n'] == at:
            raise Kill
    return kill


@pytest.mark.parametrize('kill_at', [12, 45, 60])
def test_fit_mowst_is_deterministic_and_resumable(tmp_path, kill_at):
    # 12: mid pre-training; 45: in the middle of a turn; 60: later turn
    data = small_data()
    full = fit_mowst(make(), data, **FIT)
    path = tmp_path / 'mowst.pt'
    with pytest.raises(Kill):
        fit_mowst(make(), data, interrupt=killer(kill_at), checkpoint=path,
                  checkpoint_every=4, **FIT)
    assert path.exists(), 'no checkpoint before the kill'
    # A fresh model (different init) resumes from the last checkpoint.
    model = make(seed=99)
    resumed = fit_mowst(model, data, checkpoint=path, checkpoint_every=4,
                        **FIT)
    assert resumed['metrics'] == full['metrics']
    assert resumed['history'] == full['history']
    assert resumed.best_epoch == full.best_epoch
    again = make()
    fit_mowst(again, data, **FIT)
    assert all(torch.equal(a, b) for a, b in zip(params(model),
                                                 params(again)))


def test_fit_mowst_turns_only_touch_their_expert():
    data = small_data()
    model = make()
    init_strong = [p.detach().clone() for p in model.strong_parameters()]
    seen = []

    def record(step):
        seen.append((step, [p.detach().clone()
                            for p in model.strong_parameters()],
                     [p.detach().clone() for p in model.weak_parameters()]))

    # No pre-training, no patience: steps 0-2 are the weak turn, 3-5 the
    # strong turn.
    fit_mowst(model, data, max_epochs=3, patience=None, max_rounds=1,
              big_patience=None, pretrain='none', interrupt=record,
              progress=False)
    assert [s for s, _, _ in seen] == list(range(6))
    for step in range(3):  # weak turn: strong expert frozen
        assert all(torch.equal(a, b) for a, b in zip(seen[step][1],
                                                     init_strong))
    assert any(not torch.equal(a, b) for a, b in zip(seen[0][2],
                                                      seen[2][2]))
    for step in (4, 5):  # strong turn: weak expert and gate frozen
        assert all(torch.equal(a, b) for a, b in zip(seen[step][2],
                                                     seen[3][2]))
    assert any(not torch.equal(a, b) for a, b in zip(seen[3][1],
                                                      seen[5][1]))


def test_fit_mowst_star_patience_and_best_epoch():
    data = small_data()
    model = make('mowst_star')
    res = fit_mowst_star(model, data, max_epochs=25, patience=None,
                         pretrain='none', progress=False)
    h = res['history']
    assert len(h['val_loss']) == 25  # no early stopping
    best = min(range(25), key=lambda i: h['val_loss'][i])
    assert res['best_epoch'] == best
    assert res['metrics']['val_loss'] == pytest.approx(h['val_loss'][best],
                                                       rel=1e-5)
    res2 = fit_mowst_star(make('mowst_star'), data, max_epochs=200,
                          patience=3, pretrain='none', lr=0.1,
                          progress=False)
    n = len(res2['history']['val_loss'])
    assert n < 200 and n == res2['best_epoch'] + 1 + 3


@pytest.mark.parametrize('kill_at', [7, 10 + 15])
def test_fit_mowst_star_resumable(tmp_path, kill_at):
    data = small_data()
    kw = dict(max_epochs=20, patience=None, pretrain='strong',
              pretrain_epochs=10, checkpoint_every=4, progress=False)
    full = fit_mowst_star(make('mowst_star'), data, **kw)
    path = tmp_path / 'star.pt'
    with pytest.raises(Kill):
        fit_mowst_star(make('mowst_star'), data, interrupt=killer(kill_at),
                       checkpoint=path, **kw)
    resumed = fit_mowst_star(make('mowst_star', seed=5), data,
                             checkpoint=path, **kw)
    assert resumed['metrics'] == full['metrics']
    assert resumed['history'] == full['history']


def test_legacy_double_softmax_changes_star_evaluation_only():
    data = small_data()
    model = make('mowst_star')
    fit_mowst_star(model, data, max_epochs=10, patience=None,
                   pretrain='none', progress=False)
    a = evaluate_mowst(model, data)
    model.legacy_double_softmax = True
    b = evaluate_mowst(model, data)
    assert b['val_confidence'] != a['val_confidence']
    pred = model.predict(data.x, data.edge_index, mode='mixture')
    model.eval()
    with torch.no_grad():
        w = model.weak(data.x)
        c = model.confidence(w, double_softmax=True)
    assert torch.allclose(pred.conf, c)


def dropouts(model):
    r"""Every dropout probability of the model, by where it lives."""
    return {'mlp': list(model.weak.dropout),
            'sage': model.strong.dropout.p, 'gate': model.gate.dropout}


def test_set_expert_dropout_sets_experts_and_gate():
    model = make()
    assert dropouts(model) == {'mlp': [0.2, 0.0], 'sage': 0.2, 'gate': 0.5}
    set_expert_dropout(model, 0.35)
    # PyG MLP: the hidden layer changes, its plain last layer keeps none.
    assert dropouts(model) == {'mlp': [0.35, 0.0], 'sage': 0.35,
                               'gate': 0.35}
    # Behaviour, not only attributes: with p = 0 a training-mode forward is
    # deterministic (no dropout left anywhere).
    data = small_data()
    set_expert_dropout(model, 0.0)
    model.train()
    a = model(data.x, data.edge_index)
    b = model(data.x, data.edge_index)
    assert torch.equal(a.log_probs, b.log_probs)

    class NoDropout(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(8, 3)

        def forward(self, x, edge_index=None):
            return self.lin(x)

    bare = Mowst(NoDropout(), GraphSAGE(8, 16, 2, 3), 3)
    with pytest.raises(ValueError, match='weak expert .NoDropout. has no'):
        set_expert_dropout(bare, 0.1)
    for bad in (1.0, -0.1, True, '0.5'):
        with pytest.raises(ValueError, match='dropout_after_pretrain'):
            set_expert_dropout(model, bad)


def test_dropout_after_pretrain_applies_after_pretraining_only():
    data = small_data()
    seen = []
    model = make()

    def spy(step):  # dropout of the strong expert at every step
        seen.append(model.strong.dropout.p)

    fit_mowst(model, data, dropout_after_pretrain=0.45, interrupt=spy, **FIT)
    n_pre = 20  # pretrain_epochs; patience may stop it earlier
    pre = [p for p in seen[:n_pre] if p == 0.2]
    assert pre and seen[:len(pre)] == pre  # pre-training at the built 0.2
    assert set(seen[len(pre):]) == {0.45}  # every later step at 0.45
    assert dropouts(model) == {'mlp': [0.45, 0.0], 'sage': 0.45,
                               'gate': 0.45}
    # Checked before any training: an expert without dropout fails fast.
    class Plain(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(8, 3)

        def forward(self, x, edge_index):
            return self.lin(x)

    bare = Mowst(MLP([8, 16, 3]), Plain(), 3, variant='mowst_star')
    before = params(bare)
    with pytest.raises(ValueError, match='strong expert .Plain. has no'):
        fit_mowst_star(bare, data, dropout_after_pretrain=0.1, max_epochs=1)
    assert all(torch.equal(a, b) for a, b in zip(before, params(bare)))


def test_dropout_switch_survives_resume(tmp_path):
    data = small_data()
    kw = dict(max_epochs=12, patience=None, pretrain='strong',
              pretrain_epochs=6, checkpoint_every=4,
              dropout_after_pretrain=0.3, progress=False)
    full = fit_mowst_star(make('mowst_star'), data, **kw)
    path = tmp_path / 'c.pt'
    with pytest.raises(Kill):
        fit_mowst_star(make('mowst_star'), data, interrupt=killer(6 + 10),
                       checkpoint=path, **kw)
    fresh = make('mowst_star', seed=5)  # built with dropout 0.2
    resumed = fit_mowst_star(fresh, data, checkpoint=path, **kw)
    assert dropouts(fresh)['sage'] == 0.3
    assert resumed['history'] == full['history']


def test_set_expert_dropout_leaves_conv_internals_and_sets_float_attrs():
    from torch_geometric.nn.models import GAT, GIN

    from pyg_ext.nn.models import GPRGNN
    # GIN: the top-level dropout changes, the MLPs inside GINConv do not.
    gin = Mowst(MLP([8, 16, 3], dropout=0.2), GIN(8, 16, 2, 3, dropout=0.2),
                3)
    inner = [list(c.nn.dropout) for c in gin.strong.convs]
    set_expert_dropout(gin, 0.5)
    assert gin.strong.dropout.p == 0.5
    assert [list(c.nn.dropout) for c in gin.strong.convs] == inner
    assert gin.gate_dropout == 0.5 and gin.gate.dropout == 0.5
    # GAT: attention dropout inside GATConv stays as built.
    gat = Mowst(MLP([8, 16, 3]), GAT(8, 8, 2, 3, dropout=0.6), 3)
    att = [c.dropout for c in gat.strong.convs]
    set_expert_dropout(gat, 0.1)
    assert gat.strong.dropout.p == 0.1
    assert [c.dropout for c in gat.strong.convs] == att
    # A backbone with a float 'dropout' and functional dropout.
    gpr = Mowst(MLP([8, 16, 3]), GPRGNN(8, 16, 3, dropout=0.5), 3)
    set_expert_dropout(gpr, 0.25)
    assert gpr.strong.dropout == 0.25


def spy_first_steps(model, n=3):
    seen = []

    def spy(step):
        if len(seen) < n:
            seen.append((model.strong.dropout.p, model.gate.dropout))

    return seen, spy


def test_dropout_switch_without_pretraining_both_loops():
    data = small_data()
    model = make()
    seen, spy = spy_first_steps(model)
    fit_mowst(model, data, dropout_after_pretrain=0.4, interrupt=spy,
              **dict(FIT, pretrain='none'))
    assert seen == [(0.4, 0.4)] * 3  # from the first step on
    model = make('mowst_star')
    seen, spy = spy_first_steps(model)
    fit_mowst_star(model, data, dropout_after_pretrain=0.4, interrupt=spy,
                   pretrain='none', max_epochs=3, patience=None,
                   progress=False)
    assert seen == [(0.4, 0.4)] * 3


def test_fit_mowst_dropout_switch_survives_resume_and_must_match(tmp_path):
    data = small_data()
    kw = dict(FIT, dropout_after_pretrain=0.3)
    full = fit_mowst(make(), data, **kw)
    path = tmp_path / 'c.pt'
    with pytest.raises(Kill):
        fit_mowst(make(), data, interrupt=killer(45), checkpoint=path, **kw)
    fresh = make(seed=99)  # built with dropout 0.2
    resumed = fit_mowst(fresh, data, checkpoint=path, **kw)
    assert fresh.strong.dropout.p == 0.3
    assert resumed['history'] == full['history']
    assert resumed['metrics'] == full['metrics']
    with pytest.raises(ValueError, match="trained with 0.3"):
        fit_mowst(make(), data, checkpoint=path, **FIT)


def test_star_pretrains_with_pretrain_lr(monkeypatch):
    made = []
    real = torch.optim.AdamW

    def spy(params, lr, weight_decay):
        params = list(params)
        made.append((lr, sum(p.numel() for p in params)))
        return real(params, lr=lr, weight_decay=weight_decay)

    monkeypatch.setattr(torch.optim, 'AdamW', spy)
    model = make('mowst_star')
    fit_mowst_star(model, small_data(), lr=0.01, pretrain_lr=0.1,
                   pretrain='both', pretrain_epochs=2, max_epochs=2,
                   patience=None, progress=False)
    n_weak = sum(p.numel() for p in model.weak.parameters())
    n_strong = sum(p.numel() for p in model.strong.parameters())
    n_all = sum(p.numel() for p in model.parameters())
    # The joint optimiser (lr) is built first, then one per pre-training.
    assert sorted(made) == sorted([(0.01, n_all), (0.1, n_weak),
                                   (0.1, n_strong)])
    with pytest.raises(ValueError, match="'pretrain_lr'"):
        fit_mowst_star(model, small_data(), pretrain_lr=0.0)


def test_bad_fit_arguments():
    data = small_data()
    with pytest.raises(ValueError, match='use fit_mowst_star'):
        fit_mowst(make('mowst_star'), data, variant='mowst')
    with pytest.raises(ValueError, match='use fit_mowst for'):
        fit_mowst_star(make(), data)
    with pytest.raises(ValueError, match="'variant' must be one of"):
        fit_mowst(make(), data, variant='moe')
    with pytest.raises(TypeError, match='unexpected keyword'):
        fit_mowst(make(), data, callback=print)
    with pytest.raises(ValueError, match="'pretrain' must be one of"):
        fit_mowst(make(), data, pretrain='model2')
    bad = copy.copy(data)
    bad.train_mask = data.train_mask.view(-1, 1).repeat(1, 2)
    with pytest.raises(ValueError, match='must be 1-D'):
        fit_mowst(make(), bad)
    with pytest.raises(TypeError, match="'model' must be a Mowst"):
        fit_mowst(torch.nn.Linear(2, 2), data)
    with pytest.raises(ValueError, match="'optimizer'"):
        fit_mowst(make(), data, optimizer='sgd', **FIT)


@pytest.mark.slow
def test_feature_vs_structure_graph_mowst_beats_both_experts():
    torch.manual_seed(0)
    data = feature_structure_graph(2000, num_classes=4, num_features=32,
                                   degree=5, signal=3.0, seed=0)
    import torch.nn.functional as F

    def fit_single(model):
        opt = torch.optim.AdamW(model.parameters(), lr=0.01,
                                weight_decay=5e-4)
        best, best_test = -1.0, 0.0
        for _ in range(200):
            model.train()
            opt.zero_grad()
            out = model(data.x, data.edge_index)
            F.cross_entropy(out[data.train_mask],
                            data.y[data.train_mask]).backward()
            opt.step()
            model.eval()
            with torch.no_grad():
                pred = model(data.x, data.edge_index).argmax(-1)
            val = (pred == data.y)[data.val_mask].float().mean().item()
            if val > best:
                best = val
                best_test = (pred == data.y)[data.test_mask].float().mean()
        return float(best_test)

    class NodeMLP(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.mlp = MLP([32, 64, 4], dropout=0.5)

        def forward(self, x, edge_index):
            return self.mlp(x)

    mlp_acc = fit_single(NodeMLP())
    gcn_acc = fit_single(GCN(32, 64, 2, 4, dropout=0.5))
    torch.manual_seed(0)
    model = Mowst(MLP([32, 64, 4], dropout=0.5), GCN(32, 64, 2, 4,
                                                      dropout=0.5), 4)
    res = fit_mowst(model, data, lr=0.01, max_epochs=200, patience=30,
                    max_rounds=10, big_patience=3, pretrain='strong',
                    pretrain_epochs=200, pretrain_patience=50,
                    progress=False)
    mowst_acc = res['metrics']['test_accuracy']
    assert mowst_acc > max(mlp_acc, gcn_acc) + 0.05
    model.eval()
    with torch.no_grad():
        conf = model(data.x, data.edge_index).conf
    feat = conf[data.node_type == 0].mean()
    struct = conf[data.node_type == 1].mean()
    assert feat > struct + 0.3


def test_variant_defaults_to_the_model_and_star_alias_matches():
    data = small_data()
    kw = dict(max_epochs=6, patience=None, pretrain='none', progress=False)
    a = fit_mowst(make('mowst_star'), data, **kw)
    b = fit_mowst_star(make('mowst_star'), data, **kw)
    assert a.metrics == b.metrics and a.history == b.history


def test_training_steps_pass_the_device_audit(monkeypatch):
    data = small_data()
    with audit_steps(monkeypatch) as audit:
        fit_mowst(make(), data, **dict(FIT, max_rounds=1))
        fit_mowst_star(make('mowst_star'), data, max_epochs=3,
                       pretrain='both', pretrain_epochs=2, progress=False)
    assert audit.violations == []


def test_fit_on_device_and_data_on_another_device(device):
    data = small_data()
    kw = dict(max_epochs=4, patience=None, max_rounds=1, pretrain='strong',
              pretrain_epochs=3, progress=False)
    res = fit_mowst(make(), data, device=device, **kw)
    model = make()
    assert next(model.parameters()).device.type == 'cpu'
    if device.type != 'cpu':
        cpu = fit_mowst(make(), data, **kw)
        for k, v in cpu.metrics.items():
            assert res.metrics[k] == pytest.approx(v, abs=2e-2), k
    meta = make().to('meta')
    with pytest.raises(ValueError, match="'data' is on cpu but the model "
                       "is on meta"):
        fit_mowst(meta, data, **kw)
