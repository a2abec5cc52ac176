import json

import pytest
import yaml

from pyg_ext.train import load_config
from pyg_ext.train.runner import resume, run


def cfg(method, model='teddy_gcn', **train):
    t = {'epochs': 6, 'runs': 1, 'checkpoint_every': 0}
    t.update(train)
    return {
        'name': method,
        'dataset': {'name': 'csbm', 'num_nodes': 150, 'num_features': 16,
                    'num_classes': 3},
        'model': {'name': model, 'hidden_channels': 8},
        'method': {'name': method, 'num_levels': 3},
        'train': t,
    }


@pytest.mark.parametrize('method', ['teddy', 'random_prune', 'ugs'])
def test_runs_from_yaml_with_curves_and_level_metrics(tmp_path, method):
    path = tmp_path / 'cfg.yaml'
    path.write_text(yaml.safe_dump(cfg(method)))
    out = run(str(path), run_dir=tmp_path / 'run', quiet=True)
    s = out['summary']
    for k in (1, 2, 3):
        assert 0 <= s[f'level{k}_test_accuracy']['mean'] <= 1
    assert s['test_accuracy']['mean'] == s['level3_test_accuracy']['mean']
    assert s['graph_sparsity']['mean'] == pytest.approx(1 - 0.95**3,
                                                        abs=0.02)
    result = json.loads((tmp_path / 'run/runs/split0_seed0.json')
                        .read_text())
    curve = result['curves'][f'{method}_test_accuracy']
    n_points = 4 if method == 'teddy' else 3  # teddy adds the dense point
    assert len(curve['x']) == len(curve['y']) == n_points
    assert curve['x'] == sorted(curve['x'])
    assert curve['xlabel'] == 'graph sparsity'
    if method == 'teddy':
        assert curve['x'][0] == 0.0
        assert curve['y'][0] == s['dense_test_accuracy']['mean']


def test_teddy_gin_and_gat_models_run(tmp_path):
    out = run(cfg('teddy', model='teddy_gin'), run_dir=tmp_path / 'gin',
              quiet=True)
    assert 'dense_test_accuracy' in out['summary']
    c = cfg('ugs', model='teddy_gat')
    c['model']['heads'] = 2
    c['method']['self_loops'] = True
    c['method']['num_levels'] = 1
    c['train']['epochs'] = 3
    out = run(c, run_dir=tmp_path / 'gat', quiet=True)
    assert 0 <= out['summary']['test_accuracy']['mean'] <= 1


class Interrupted(Exception):
    pass


@pytest.mark.parametrize('method', ['teddy', 'ugs'])
def test_interrupt_between_levels_resumes_without_recompute(tmp_path,
                                                            method):
    c = cfg(method, checkpoint_every=1)
    full = run(c, run_dir=tmp_path / 'full', quiet=True)

    # The interrupt hook counts epochs: stop in the first epoch after
    # level 2 ended (teddy: teacher + 2 levels; ugs: get-mask + fix-mask per
    # level), after its checkpoint.
    phases = {'teddy': 3, 'ugs': 4}[method]

    def boom(epoch):
        if epoch == phases * 6:
            raise Interrupted

    with pytest.raises(Interrupted):
        run(c, run_dir=tmp_path / 'cut', quiet=True, interrupt=boom)
    import torch
    ckpt = torch.load(tmp_path / 'cut/checkpoints/split0_seed0.pt',
                      weights_only=False)
    secs = ckpt['state']['seconds']
    names = {k: [f'level{k}'] + ([f'level{k}/mask'] if method == 'ugs'
                                 else []) for k in (1, 2, 3)}
    done = [sum(secs.get(n, 0.0) for n in names[k]) for k in (1, 2, 3)
            if f'level{k}' in ckpt['done']]
    assert len(done) == 2
    out = resume(tmp_path / 'cut', quiet=True)
    result = json.loads((tmp_path / 'cut/runs/split0_seed0.json')
                        .read_text())
    # Finished levels were read back, not recomputed.
    assert [r['seconds'] for r in result['levels'][:2]] == done
    for key, value in full['summary'].items():
        if 'seconds' not in key:
            assert out['summary'][key]['mean'] == value['mean'], key


def test_bad_method_options():
    from pyg_ext.train.config import ConfigError
    c = cfg('teddy')
    c['method']['count'] = 'pairs'
    with pytest.raises(ConfigError, match='count'):
        load_config(c)
    c = cfg('teddy')
    c['method']['graph_rate'] = 1.5
    with pytest.raises(ConfigError, match='graph_rate'):
        load_config(c)
