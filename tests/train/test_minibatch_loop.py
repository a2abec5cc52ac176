import json

import pytest

from pyg_ext.cli import main
from pyg_ext.train import load_plugins, run
from pyg_ext.train.config import ConfigError

from helpers_loop import register_toy

load_plugins()
TOY = register_toy()


def cfg(model='sage', method='supervised', **task):
    return {'name': 'mb', 'dataset': {'name': TOY},
            'task': {'name': 'node_classification', **task},
            'model': {'name': model, 'hidden_channels': 16, 'dropout': 0.0},
            'method': {'name': method},
            'train': {'epochs': 20, 'runs': 1, 'batch_size': 16,
                      'checkpoint_every': 5}}


def test_loop_trains_in_minibatches(tmp_path):
    full = cfg()
    del full['train']['batch_size']
    a = run(full, run_dir=tmp_path / 'full', quiet=True)
    b = run(cfg(num_neighbors=[5, 5]), run_dir=tmp_path / 'mb', quiet=True)
    acc = b['summary']['test_accuracy']['mean']
    assert acc > 0.7
    assert abs(acc - a['summary']['test_accuracy']['mean']) < 0.15


def test_loop_minibatch_config_errors(tmp_path, capsys):
    with pytest.raises(ConfigError, match='train.batch_size=16 needs '
                       'task.num_neighbors'):
        run(cfg(), run_dir=tmp_path / 'a', quiet=True)
    c = cfg(num_neighbors=[5, 5])
    del c['train']['batch_size']
    with pytest.raises(ConfigError, match='train.batch_size is not'):
        run(c, run_dir=tmp_path / 'b', quiet=True)
    with pytest.raises(ConfigError, match='3 hops but the model has 2'):
        run(cfg(num_neighbors=[5, 5, 5]), run_dir=tmp_path / 'c',
            quiet=True)
    import yaml
    path = tmp_path / 'c.yaml'
    for key, val in (('task.num_neighbors', '[0, 3]'),
                     ('task.num_neighbors', '[]'),
                     ('task.num_neighbors', '[-2]'),
                     ('train.batch_size', '0')):
        path.write_text(yaml.safe_dump(cfg(num_neighbors=[5, 5])))
        assert main(['run', str(path), '--set', f'{key}={val}', '--quiet',
                     '--run-dir', str(tmp_path / 'x')]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and key.split('.')[1] in err


def test_adarc_pretrains_in_minibatches(tmp_path):
    c = {'name': 'ada', 'task': {'name': 'test_time_adaptation',
                                 'num_neighbors': [5, 5]},
         'dataset': {'name': 'csbm_shift', 'num_nodes': 300,
                     'num_features': 20},
         'model': {'name': 'gprgnn', 'K': 2},
         'method': {'name': 'adarc', 'bases': ['erm'], 'steps': 3},
         'train': {'epochs': 5, 'runs': 1, 'batch_size': 64}}
    out = run(c, run_dir=tmp_path / 'a', quiet=True)
    res = json.loads((tmp_path / 'a/runs/split0_seed0.json').read_text())
    assert len(res['history']['train_loss']) == 5  # per-epoch, mini-batch
    assert 0.0 <= out['summary']['test_accuracy']['mean'] <= 1.0
    c['task']['num_neighbors'] = [5, 5, 5]  # the AdaRC method uses them
    with pytest.raises(ConfigError, match='3 hops but the model has 2'):
        run(c, run_dir=tmp_path / 'b', quiet=True)


@pytest.mark.parametrize('method', ['mowst', 'mowst_star'])
def test_mowst_trains_in_minibatches_in_the_loop(tmp_path, method):
    c = cfg(model='sage', method=method, num_neighbors=[5, 5])
    c['train'].update(epochs=4, checkpoint_every=2)
    out = run(c, run_dir=tmp_path / 'a', quiet=True)
    assert 0.0 <= out['summary']['test_accuracy']['mean'] <= 1.0
    c['task']['num_neighbors'] = [5, 5, 5]
    with pytest.raises(ConfigError, match='3 hops but the model has 2'):
        run(c, run_dir=tmp_path / 'b', quiet=True)
