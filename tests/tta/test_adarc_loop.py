import json

import pytest
import torch

from pyg_ext.registry import DATASETS, METHODS, MODELS, TASKS
from pyg_ext.train import run
from pyg_ext.train.config import ConfigError
from pyg_ext.train.plugins import load_plugins
from pyg_ext.train.runner import resume

load_plugins()


def config(tmp_path, **method):
    m = {'name': 'adarc', 'bases': ['erm', 't3a'], 'steps': 5}
    m.update(method)
    return {
        'name': 'adarc_test',
        'task': {'name': 'test_time_adaptation'},
        'dataset': {'name': 'csbm_shift', 'num_nodes': 300,
                    'num_features': 40, 'mu': 0.25},
        'model': {'name': 'gprgnn', 'hidden_channels': 16, 'K': 4},
        'method': m,
        'train': {'epochs': 30, 'runs': 2, 'checkpoint_every': 5},
        'output': {'dir': str(tmp_path / 'runs')},
    }


def test_registered_names():
    for name in ('gprgnn', 'appnp_learnable', 'jknet_ws', 'gcnii_learnable'):
        assert name in MODELS
    for name in ('csbm', 'csbm_shift', 'twitch_shift', 'syn_cora_shift',
                 'arxiv_time_shift'):
        assert name in DATASETS
    assert 'adarc' in METHODS and 'test_time_adaptation' in TASKS


def test_yaml_run_reports_every_base(tmp_path):
    summary = run(config(tmp_path), quiet=True)
    s = summary['summary']
    for key in ('test_accuracy_erm', 'test_accuracy_erm_adarc',
                'test_accuracy_t3a', 'test_accuracy_t3a_adarc',
                'val_accuracy', 'test_accuracy'):
        assert key in s and s[key]['n'] == 2, key
        assert 0.0 <= s[key]['mean'] <= 1.0
    assert s['test_accuracy']['mean'] == s['test_accuracy_erm_adarc']['mean']
    runs = sorted((tmp_path / 'runs').glob('*/runs/*.json'))
    result = json.loads(runs[0].read_text())
    assert len(result['curves']['erm_adarc_loss']['y']) == 5
    assert len(result['history']['train_loss']) == 30


def test_resume_after_interrupt_gives_identical_numbers(tmp_path):
    cfg = config(tmp_path)
    ref = run(cfg, quiet=True, run_dir=tmp_path / 'ref')

    class Kill(Exception):
        pass

    def interrupt(epoch):
        if epoch == 17:
            raise Kill()

    with pytest.raises(Kill):
        run(cfg, quiet=True, run_dir=tmp_path / 'cut', interrupt=interrupt)
    out = resume(tmp_path / 'cut', quiet=True)
    for k, v in ref['summary'].items():
        if not k.startswith('seconds'):
            assert out['summary'][k]['mean'] == v['mean'], k


def test_other_backbones_run_in_loop(tmp_path):
    cfg = config(tmp_path, bases=['erm'])
    cfg['model'] = {'name': 'appnp_learnable', 'hidden_channels': 8, 'K': 3}
    cfg['train']['runs'] = 1
    s = run(cfg, quiet=True)['summary']
    assert 'test_accuracy_erm_adarc' in s


def test_bad_configs(tmp_path):
    with pytest.raises((ConfigError, ValueError), match='bases'):
        run(config(tmp_path, bases=['adanpc']), quiet=True)
    with pytest.raises((ConfigError, ValueError), match='report'):
        run(config(tmp_path, bases=['erm'], report='t3a'), quiet=True)
    cfg = config(tmp_path)
    cfg['model'] = {'name': 'gprgnn'}
    cfg['dataset'] = {'name': 'csbm', 'num_nodes': 100, 'num_features': 8}
    with pytest.raises(TypeError, match='GraphShift'):
        run(cfg, quiet=True)


def test_model_without_hop_parameters(tmp_path):
    cfg = config(tmp_path)
    cfg['model'] = {'name': 'gcn'}
    with pytest.raises(ValueError, match='hop_parameters'):
        run(cfg, quiet=True)
