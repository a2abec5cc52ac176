import pytest
import torch
import torch.nn.functional as F
from torch_geometric.nn.models import GCN

from helpers_device import audit_steps
from helpers_loop import toy_graph
from pyg_ext.fit import fit_supervised


def data_and_model(seed=0):
    data = toy_graph(num_splits=1)
    for k in ('train_mask', 'val_mask', 'test_mask'):
        data[k] = data[k][:, 0]
    torch.manual_seed(seed)
    return data, GCN(8, 16, 2, 2, dropout=0.5)


def bare_loop(model, data, epochs, patience):
    r"""The reference: PyG benchmark/citation's loop written out by hand."""
    opt = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
    best, best_epoch, bad, best_test, hist = None, -1, 0, None, []
    for epoch in range(epochs):
        model.train()
        opt.zero_grad()
        out = model(data.x, data.edge_index)
        F.cross_entropy(out[data.train_mask], data.y[data.train_mask]).backward()
        opt.step()
        model.eval()
        with torch.no_grad():
            pred = model(data.x, data.edge_index).argmax(-1)
        acc = {s: float((pred[m] == data.y[m]).float().mean())
               for s, m in (('val', data.val_mask), ('test', data.test_mask))}
        hist.append(acc['val'])
        if best is None or acc['val'] > best:
            best, best_epoch, bad, best_test = acc['val'], epoch, 0, acc['test']
        else:
            bad += 1
            if bad >= patience:
                break
    return best, best_epoch, best_test, hist


def test_equals_a_hand_written_loop():
    data, model = data_and_model()
    ref = bare_loop(model, data, 60, 10)
    data, model = data_and_model()
    res = fit_supervised(model, data, epochs=60, patience=10, progress=False)
    assert res.metrics['val_accuracy'] == pytest.approx(ref[0], abs=1e-6)
    assert res.best_epoch == ref[1]
    assert res.metrics['test_accuracy'] == pytest.approx(ref[2], abs=1e-6)
    assert res.history['val_accuracy'] == pytest.approx(ref[3], abs=1e-6)
    assert res.epochs_run == len(ref[3])
    # the model holds the selected weights
    model.eval()
    with torch.no_grad():
        pred = model(data.x, data.edge_index).argmax(-1)
    m = data.val_mask
    assert float((pred[m] == data.y[m]).float().mean()) == pytest.approx(
        ref[0], abs=1e-6)


def test_select_last_trains_every_epoch_and_keeps_the_final_model():
    data, model = data_and_model()
    res = fit_supervised(model, data, epochs=7, select_on='last',
                         progress=False)
    assert res.epochs_run == 7 and res.best_epoch == 6
    assert res.history['epoch'] == [float(e) for e in range(7)]
    assert len(res.history['train_loss']) == 7
    assert 'val_accuracy' in res.metrics and 'val_loss' in res.metrics


class Killed(Exception):
    pass


@pytest.mark.parametrize('kill_at', [4, 9])
def test_resume_equals_uninterrupted(tmp_path, kill_at):
    data, model = data_and_model()
    full = fit_supervised(model, data, epochs=12, patience=None,
                          progress=False)
    n = {'c': 0}

    def boom(c):
        n['c'] += 1
        if n['c'] == kill_at:
            raise Killed
    data, model = data_and_model()
    with pytest.raises(Killed):
        fit_supervised(model, data, epochs=12, patience=None,
                       checkpoint=tmp_path / 'c.pt', checkpoint_every=3,
                       progress=False, interrupt=boom)
    data, model = data_and_model(seed=7)  # other init: the state wins
    res = fit_supervised(model, data, epochs=12, patience=None,
                         checkpoint=tmp_path / 'c.pt', checkpoint_every=3,
                         progress=False)
    assert res.metrics == full.metrics and res.history == full.history


def test_steps_pass_the_device_audit(monkeypatch):
    data, model = data_and_model()
    with audit_steps(monkeypatch) as audit:
        fit_supervised(model, data, epochs=3, progress=False)
    assert audit.violations == []


def test_on_device(device):
    data, model = data_and_model()
    res = fit_supervised(model, data, epochs=5, patience=None,
                         progress=False, device=device)
    assert next(model.parameters()).device.type == device.type
    if device.type != 'cpu':
        data, model = data_and_model()
        cpu = fit_supervised(model, data, epochs=5, patience=None,
                             progress=False)
        assert res.metrics['val_accuracy'] == pytest.approx(
            cpu.metrics['val_accuracy'], abs=0.05)


def test_bad_input():
    data, model = data_and_model()
    with pytest.raises(ValueError, match="'select_on'"):
        fit_supervised(model, data, select_on='best')
    bad = data.clone()
    bad.train_mask = data.train_mask.view(-1, 1)
    with pytest.raises(ValueError, match=r"'data.train_mask' must be a bool "
                       r"tensor of shape \[120\]"):
        fit_supervised(model, bad)
    bad = data.clone()
    del bad.y
    with pytest.raises(ValueError, match="'data' has no 'y'"):
        fit_supervised(model, bad)
    with pytest.raises(ValueError, match="'data' is on cpu but the model is "
                       "on meta"):
        fit_supervised(model.to('meta'), data)
    with pytest.raises(ValueError, match="'optimizer' must be one of"):
        fit_supervised(GCN(8, 4, 1, 2), data, optimizer='rmsprop')
