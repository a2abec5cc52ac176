import math

import pytest
import torch
import torch.nn.functional as F

from helpers_device import DeviceAudit, audit_steps
from pyg_ext.utils.checkpoint import Checkpointer
from pyg_ext.utils.training import (FitResult, Trainer, make_optimizer,
                                    state_snapshot)


class Killed(Exception):
    pass


def scripted(values, key='val_acc'):
    r"""An evaluate() that returns the given values in turn."""
    it = iter(values)
    return lambda epoch: {key: next(it)}


def tiny(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Linear(3, 1)


def test_early_stopping_selects_the_first_best_and_stops_after_patience():
    model = tiny()
    tr = Trainer(model, progress=False)
    vals = [0.1, 0.5, 0.3, 0.5, 0.4, 0.2, 0.9]
    ph = tr.phase('p', lambda e: None, scripted(vals), epochs=7,
                  monitor='val_acc', patience=3)
    # strict improvement: the tie at epoch 3 keeps epoch 1; 3 bad evals
    assert ph.best == 0.5 and ph.best_epoch == 1
    assert ph.epochs_run == 5 and ph.stopped_early
    assert ph.history['val_acc'] == vals[:5]
    assert ph.history['epoch'] == [0, 1, 2, 3, 4]


def test_ties_last_mode_min_and_nan_never_improves():
    tr = Trainer(tiny(), progress=False)
    ph = tr.phase('a', lambda e: None, scripted([0.5, 0.5, 0.3]), epochs=3,
                  monitor='val_acc', ties='last')
    assert ph.best_epoch == 1
    ph = tr.phase('b', lambda e: None, scripted([2.0, 1.0, 1.5]), epochs=3,
                  monitor='val_acc', mode='min')
    assert ph.best == 1.0 and ph.best_epoch == 1
    ph = tr.phase('c', lambda e: None, scripted([math.nan, math.nan]),
                  epochs=2, monitor='val_acc')
    assert not ph.improved and ph.best is None and ph.best_epoch == -1


def test_eval_every_and_last_epoch():
    tr = Trainer(tiny(), progress=False)
    seen = []

    def ev(epoch):
        seen.append(epoch)
        return {'m': float(epoch)}
    tr.phase('p', lambda e: None, ev, epochs=7, monitor='m', eval_every=3)
    assert seen == [2, 5, 6]
    assert tr.counter == 7


def test_restore_best_loads_the_weights_of_the_best_epoch():
    model = tiny()
    tr = Trainer(model, progress=False)
    snaps = []

    def step(epoch):
        with torch.no_grad():
            model.weight.add_(1.0)
        snaps.append(state_snapshot(model))
        return None
    tr.phase('p', step, scripted([0.1, 0.8, 0.2, 0.3]), epochs=4,
             monitor='val_acc')
    assert torch.equal(model.weight, snaps[1]['weight'])
    model2 = tiny()
    tr2 = Trainer(model2, progress=False)
    snaps.clear()

    def step2(epoch):
        with torch.no_grad():
            model2.weight.add_(1.0)
        snaps.append(state_snapshot(model2))
    tr2.phase('p', step2, scripted([0.1, 0.8, 0.2]), epochs=3,
              monitor='val_acc', restore_best=False)
    assert torch.equal(model2.weight, snaps[-1]['weight'])


def _regression_fit(ckpt=None, interrupt=None, every=2, epochs=12):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Dropout(0.3),
                                torch.nn.Linear(8, 1))
    g = torch.Generator().manual_seed(5)
    x = torch.randn(64, 4, generator=g)
    y = x.sum(1, keepdim=True)
    gen = torch.Generator().manual_seed(1)
    tr = Trainer(model, checkpoint=ckpt, checkpoint_every=every,
                 generators={'batches': gen}, progress=False,
                 interrupt=interrupt)
    opt = tr.optimizer('opt', model.parameters(), 'adam', lr=0.05)

    def step(epoch):
        model.train()
        idx = torch.randperm(64, generator=gen)[:16]
        return tr.backward(opt, F.mse_loss(model(x[idx]), y[idx]))

    @torch.no_grad()
    def evaluate(epoch):
        model.eval()
        return {'val_loss': float(F.mse_loss(model(x), y))}
    first = tr.phase('first', step, evaluate, epochs=epochs,
                     monitor='val_loss', mode='min')
    # a schedule value computed once and kept across a resume
    base = tr.memo('base', lambda: state_snapshot(model))
    second = tr.phase('second', step, evaluate, epochs=epochs // 2,
                      monitor='val_loss', mode='min', restore_best=False)
    return model, first, second, base, tr


@pytest.mark.parametrize('kill_at', [3, 5, 12, 15])
def test_resume_equals_uninterrupted(tmp_path, kill_at):
    full_model, f1, f2, base, tr = _regression_fit()
    n = {'c': 0}

    def boom(counter):
        n['c'] += 1
        if n['c'] == kill_at:
            raise Killed
    path = tmp_path / 'c.pt'
    with pytest.raises(Killed):
        _regression_fit(path, boom)
    assert path.exists()
    model, r1, r2, base2, tr2 = _regression_fit(path)
    assert tr2.resumed
    for a, b in zip(full_model.parameters(), model.parameters()):
        assert torch.equal(a, b)
    assert (r1.history, r1.best_epoch) == (f1.history, f1.best_epoch)
    assert r2.history == f2.history
    for k in base:
        assert torch.equal(base[k], base2[k])
    assert tr2.counter == tr.counter == 18


def test_finished_checkpoint_returns_the_same_result_without_training(
        tmp_path):
    path = tmp_path / 'c.pt'
    m1, a1, a2, _, _ = _regression_fit(path)
    calls = {'n': 0}

    def count(counter):
        calls['n'] += 1
    m2, b1, b2, _, tr = _regression_fit(path, count)
    assert calls['n'] == 0 and tr.counter == 18
    assert b1.history == a1.history and b2.history == a2.history
    for p, q in zip(m1.parameters(), m2.parameters()):
        assert torch.equal(p, q)


def test_checkpoint_loads_onto_cpu_and_into_the_live_device(tmp_path,
                                                           device):
    path = tmp_path / 'c.pt'
    model = tiny().to(device)
    tr = Trainer(model, checkpoint=path, progress=False)
    opt = tr.optimizer('o', model.parameters(), lr=0.1)
    x = torch.randn(5, 3, device=device)
    tr.phase('p', lambda e: tr.backward(opt, model(x).pow(2).mean()),
             epochs=2)
    state = Checkpointer(path).load()
    assert state['modules']['model']['weight'].device.type == 'cpu'
    # resume on the CPU whatever wrote it
    cpu_model = tiny()
    tr2 = Trainer(cpu_model, checkpoint=path, progress=False)
    tr2.optimizer('o', cpu_model.parameters(), lr=0.1)
    assert torch.allclose(cpu_model.weight, model.weight.cpu())
    assert tr2.done('p')


def test_step_returns_tensor_loss_and_no_host_sync(monkeypatch):
    model = tiny()
    x = torch.randn(8, 3)
    with audit_steps(monkeypatch) as audit:
        tr = Trainer(model, progress=False)
        opt = tr.optimizer('o', model.parameters())
        ph = tr.phase('p', lambda e: tr.backward(opt, model(x).sum()),
                      lambda e: {'m': 1.0}, epochs=3, monitor='m')
    assert audit.violations == []
    assert len(ph.history['train_loss']) == 3


def test_device_audit_catches_cpu_factories_and_host_reads():
    import pyg_ext.utils.sparsify as mod  # any pyg_ext module frame
    src = ("def bad(x):\n"
           "    n = int(x.max())\n"
           "    return torch.zeros(n) + x.new_zeros(n) + torch.ones(n, "
           "device=x.device)\n")
    ns = {'torch': torch}
    exec(compile(src, mod.__file__, 'exec'), ns)
    with DeviceAudit() as audit:
        ns['bad'](torch.tensor([3.0]))
    kinds = ' '.join(audit.violations)
    assert 'host read __int__' in kinds
    assert 'torch.zeros without device=' in kinds
    assert 'ones' not in kinds and 'new_zeros' not in kinds


def test_bad_arguments():
    tr = Trainer(tiny(), progress=False)
    with pytest.raises(ValueError, match="'epochs'"):
        tr.phase('p', lambda e: None, epochs=-1)
    with pytest.raises(ValueError, match="'patience'"):
        tr.phase('p', lambda e: None, lambda e: {}, epochs=2,
                 monitor='x', patience=0)
    with pytest.raises(ValueError, match="'mode'"):
        tr.phase('p', lambda e: None, epochs=2, mode='up')
    with pytest.raises(ValueError, match="'monitor' needs 'evaluate'"):
        tr.phase('p', lambda e: None, epochs=2, monitor='x')
    with pytest.raises(KeyError, match="returned no 'x'"):
        tr.phase('q', lambda e: None, lambda e: {'y': 1.0}, epochs=2,
                 monitor='x')
    with pytest.raises(TypeError, match="'modules'"):
        Trainer({}, progress=False)
    with pytest.raises(TypeError, match="'checkpoint'"):
        Trainer(tiny(), checkpoint=3)
    with pytest.raises(ValueError, match="'optimizer' must be one of"):
        make_optimizer(tiny().parameters(), 'lbfgs')
    with pytest.raises(ValueError, match="'lr'"):
        make_optimizer(tiny().parameters(), 'adam', lr=0.0)


def test_checkpoint_of_another_schedule_is_rejected(tmp_path):
    path = tmp_path / 'c.pt'
    tr = Trainer({'a': tiny()}, checkpoint=path, progress=False)
    tr.save()
    with pytest.raises(ValueError, match=r"no state for module\(s\) \['b'\]"):
        Trainer({'b': tiny()}, checkpoint=path, progress=False)


def test_make_optimizer_and_fit_result():
    p = list(tiny().parameters())
    assert isinstance(make_optimizer(p, 'adamw', 0.1, 0.01),
                      torch.optim.AdamW)
    sgd = make_optimizer(p, 'sgd', 0.1, momentum=0.9)
    assert sgd.defaults['momentum'] == 0.9
    r = FitResult({'val_accuracy': 0.5}, {'epoch': [0.0]}, 0, 1,
                  {'best_round': 3})
    assert r['metrics'] == {'val_accuracy': 0.5} and r['best_round'] == 3
    d = r.to_dict()
    assert d['best_round'] == 3 and d['epochs_run'] == 1
