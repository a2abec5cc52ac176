import json

import pytest
import torch

from pyg_ext.train import load_config, load_plugins
from pyg_ext.train.runner import resume, run


def cfg(method, backbone=None, **train):
    t = {'epochs': 12, 'runs': 1, 'checkpoint_every': 0, 'patience': 4}
    t.update(train)
    m = {'name': method, 'pretrain_epochs': 8}
    if method == 'mowst':
        m.update(turn_epochs=6, max_rounds=2, big_patience=None)
    if backbone is not None:
        m['backbone'] = backbone
    return {
        'name': method,
        'dataset': {'name': 'feature_structure', 'num_nodes': 200,
                    'num_features': 8, 'num_classes': 3, 'signal': 3.0},
        'model': {'name': 'gcn', 'hidden_channels': 16},
        'method': m,
        'train': t,
    }


@pytest.mark.parametrize('method', ['mowst', 'mowst_star'])
def test_runs_from_config(tmp_path, method):
    out = run(cfg(method), run_dir=tmp_path / 'a', quiet=True)
    s = out['summary']
    assert 0.0 <= s['test_accuracy']['mean'] <= 1.0
    key = 'val_expected_accuracy' if method == 'mowst' else \
        'val_mixture_accuracy'
    assert s['val_accuracy']['mean'] == pytest.approx(s[key]['mean'])
    if method == 'mowst':
        # One Algorithm-1 routing, evaluated with subgraph inference.
        assert 0.0 <= s['test_strong_fraction']['mean'] <= 1.0
        assert 'test_sampled_accuracy' in s


# Steps per run: 8 pre-training + 2 rounds x 2 turns x 6 (mowst) or 12
# joint epochs (mowst_star); the kill lands inside the second run, after its
# first checkpoints.
@pytest.mark.parametrize('method,kill_at', [('mowst', 45),
                                            ('mowst_star', 34)])
def test_interrupt_and_resume_identical(tmp_path, method, kill_at):
    c = cfg(method, backbone='sage', runs=2, checkpoint_every=3,
            patience=None)
    full = run(c, run_dir=tmp_path / 'full', quiet=True)

    class Interrupted(Exception):
        pass

    calls = {'n': 0}

    def boom(step):
        calls['n'] += 1
        if calls['n'] == kill_at:
            raise Interrupted

    with pytest.raises(Interrupted):
        run(c, run_dir=tmp_path / 'cut', quiet=True, interrupt=boom)
    assert [p.name for p in (tmp_path / 'cut/checkpoints').iterdir()] == \
        ['split0_seed1.pt']
    resumed = resume(tmp_path / 'cut', quiet=True)
    assert resumed['summary'] == full['summary']
    for p in (tmp_path / 'full/runs').iterdir():
        a = json.loads(p.read_text())
        b = json.loads((tmp_path / 'cut/runs' / p.name).read_text())
        assert a['metrics'] == b['metrics']
        assert a['history'] == b['history']


def test_backbones_and_bad_options(tmp_path):
    for i, backbone in enumerate(['gin', 'gat']):
        c = cfg('mowst_star', backbone=backbone, epochs=3)
        c['method']['pretrain'] = 'none'
        out = run(c, run_dir=tmp_path / str(i), quiet=True)
        assert out['num_runs'] == 1
    load_plugins()
    bad = cfg('mowst')
    bad['method']['pretrain'] = 'model2'
    with pytest.raises(ValueError, match='method.pretrain'):
        load_config(bad)
    bad = cfg('mowst_star')
    bad['method']['star_mix'] = 'avg'
    with pytest.raises(ValueError, match='method.star_mix'):
        load_config(bad)
    bad = cfg('mowst', backbone='transformer')
    with pytest.raises(ValueError, match="unknown model 'transformer'"):
        run(bad, run_dir=tmp_path / 'bad', quiet=True)


@pytest.mark.parametrize('method', ['mowst', 'mowst_star'])
def test_official_lr_and_dropout_switch_reach_training(tmp_path, monkeypatch,
                                                       method):
    import pyg_ext.zoo.mowst as zoo
    fn = 'fit_mowst'
    real, seen = getattr(zoo, fn), {}

    def spy(model, data, **kw):
        seen.update(kw)
        out = real(model, data, **kw)
        seen['strong_dropout'] = model.strong.dropout.p
        return out

    monkeypatch.setattr(zoo, fn, spy)
    c = cfg(method, epochs=3, lr=0.05)
    c['model']['dropout'] = 0.1
    c['method'].update(dropout_after_pretrain=0.4)
    if method == 'mowst_star':
        c['method']['lr_gate'] = 0.002
    run(c, run_dir=tmp_path / 'a', quiet=True)
    assert seen['dropout_after_pretrain'] == 0.4
    assert seen['strong_dropout'] == 0.4  # built with 0.1, switched
    if method == 'mowst_star':
        # Official: pre-training with --lr, joint training with --lr_gate.
        assert (seen['pretrain_lr'], seen['lr']) == (0.05, 0.002)
    load_plugins()
    bad = cfg(method)
    bad['method']['dropout_after_pretrain'] = 1.5
    with pytest.raises(ValueError, match='method.dropout_after_pretrain'):
        load_config(bad)
