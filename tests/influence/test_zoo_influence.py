import json
import math

import pytest

from pyg_ext.train import run

BASE = {
    'name': 'im',
    'task': {'name': 'influence_maximization', 'k': 5, 'eval_samples': 500,
             'curve_samples': 100},
    'dataset': {'name': 'im_synthetic', 'num_nodes': 300, 'm': 2},
    'model': {'name': 'ic'},
    'train': {'runs': 2, 'checkpoint_every': 0},
}


def _cfg(method, **task):
    cfg = json.loads(json.dumps(BASE))
    cfg['method'] = method
    cfg['task'].update(task)
    return cfg


@pytest.mark.parametrize('method', [
    {'name': 'opim_c', 'eps': 0.2},
    {'name': 'imm', 'eps': 0.3},
    {'name': 'degree'},
    {'name': 'pagerank'},
])
def test_im_methods_through_the_loop(tmp_path, method):
    summ = run(_cfg(method), run_dir=tmp_path / 'r', quiet=True)
    s = summ['summary']
    assert summ['metric'] == 'spread' and summ['num_runs'] == 2
    assert s['test_spread']['mean'] >= 5.0  # at least the seeds themselves
    assert s['val_spread']['mean'] == s['test_spread']['mean']
    runs = sorted((tmp_path / 'r' / 'runs').glob('*.json'))
    res = json.loads(runs[0].read_text())
    assert len(res['seeds']) == 5 and len(set(res['seeds'])) == 5
    curve = res['curves']['spread_vs_k']
    assert curve['x'] == [1, 2, 5]
    assert curve['y'][0] <= curve['y'][-1] + 1e-9
    if method['name'] == 'opim_c':
        assert 0 < s['test_certificate']['mean'] <= 1
        assert s['test_rr_sets']['mean'] > 0


@pytest.mark.parametrize('method', [
    {'name': 'cim_rr_opim_plus'},
    {'name': 'cim_rr_greedy', 'num_rr_sets': 2000},
    {'name': 'cim_mg_greedy', 'num_rr_sets': 2000},
    {'name': 'degree', 'local': True},
])
def test_cim_methods_through_the_loop(tmp_path, method):
    cfg = _cfg(method, k=2, ap_set=1)
    cfg['train']['runs'] = 1
    run(cfg, run_dir=tmp_path / 'r', quiet=True)
    res = json.loads(next((tmp_path / 'r' / 'runs').glob('*.json'))
                     .read_text())
    pairs = res['pairs']
    assert len(pairs[0]) == len(res['seeds']) <= 2 * 10
    assert len(set(pairs[1])) == len(pairs[1])
    counts = {}
    for u in pairs[0]:
        counts[u] = counts.get(u, 0) + 1
    assert max(counts.values()) <= 2


def test_cim_needs_ap_sets(tmp_path):
    cfg = _cfg({'name': 'cim_rr_opim_plus'}, ap_set=7)
    with pytest.raises(ValueError, match='ap_set'):
        run(cfg, run_dir=tmp_path / 'r', quiet=True)


def test_im_needs_diffusion_model(tmp_path):
    cfg = _cfg({'name': 'degree'})
    cfg['model'] = {'name': 'gcn'}
    with pytest.raises(ValueError, match="model 'ic' or 'lt'"):
        run(cfg, run_dir=tmp_path / 'r', quiet=True)
