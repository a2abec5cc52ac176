import json
import math

import numpy as np
import pytest
import torch

from helpers_ogb import write_tiny_ogb
from pyg_ext.train import load_plugins, run
from pyg_ext.train.leaderboard import (count_parameters,
                                       leaderboard_markdown, mean_std)

load_plugins()


def cfg(root, **train):
    return {'name': 'lb', 'dataset': {'name': 'ogbn-arxiv'},
            'model': {'name': 'gcn', 'hidden_channels': 8},
            'train': {'epochs': 3, 'checkpoint_every': 0, **train},
            'data_root': str(root)}


@pytest.fixture
def ogb_root(tmp_path, monkeypatch):
    import builtins
    monkeypatch.setattr(builtins, 'input', lambda *a: 'n')
    root = tmp_path / 'root'
    write_tiny_ogb(root, 'ogbn-arxiv')
    return root


def num_classes(root):
    from pyg_ext.registry import DATASETS
    return int(DATASETS.get('ogbn-arxiv').obj(root=str(root)).y.max()) + 1


def test_ogbn_run_writes_leaderboard_with_ogb_fields(tmp_path, ogb_root):
    with pytest.warns(UserWarning, match='OGB leaderboards ask for 10'):
        out = run(cfg(ogb_root, runs=3), run_dir=tmp_path / 'r', quiet=True,
                  command='pyg-ext run x.yaml --set train.runs=3')
    d = tmp_path / 'r'
    row = json.loads((d / 'leaderboard.json').read_text())
    runs = [json.loads(p.read_text()) for p in sorted((d / 'runs').iterdir())]
    test = [r['metrics']['test_accuracy'] for r in runs]
    val = [r['metrics']['val_accuracy'] for r in runs]
    assert row['method'] == 'gcn' and row['dataset'] == 'ogbn-arxiv'
    assert row['num_runs'] == 3
    assert row['test']['mean'] == pytest.approx(np.mean(test))
    assert row['test']['std'] == pytest.approx(np.std(test, ddof=1))
    assert row['validation']['std'] == pytest.approx(np.std(val, ddof=1))
    from torch_geometric.nn.models import GCN
    assert row['num_params'] == sum(p.numel() for p in GCN(
        6, 8, 2, num_classes(ogb_root)).parameters())
    assert row['hardware']['cpu'] and row['hardware']['cpu_count'] >= 1
    assert row['package']['pyg_ext'] and row['package']['torch']
    assert row['command'] == 'pyg-ext run x.yaml --set train.runs=3'
    assert row['config']['train']['runs'] == 3
    md = (d / 'leaderboard.md').read_text()
    assert '| gcn | ogbn-arxiv |' in md and 'nan' not in md.lower()
    assert 'OGB leaderboards ask for 10' in md
    assert out['num_runs'] == 3


def test_ogbn_default_is_ten_runs(tmp_path, ogb_root):
    out = run(cfg(ogb_root, epochs=1), run_dir=tmp_path / 'r', quiet=True)
    assert out['num_runs'] == 10
    row = json.loads((tmp_path / 'r/leaderboard.json').read_text())
    assert row['num_runs'] == 10
    assert 'ask for' not in (tmp_path / 'r/leaderboard.md').read_text()


def test_single_run_leaderboard_says_na_never_nan(tmp_path, ogb_root):
    c = cfg(ogb_root, runs=1)
    c['output'] = {'leaderboard': True}
    with pytest.warns(UserWarning):
        run(c, run_dir=tmp_path / 'r', quiet=True)
    row = json.loads((tmp_path / 'r/leaderboard.json').read_text())
    assert row['test']['std'] is None and row['test']['n'] == 1
    md = (tmp_path / 'r/leaderboard.md').read_text()
    assert '± n/a' in md and 'nan' not in md.lower()


def test_leaderboard_off_and_opt_in(tmp_path):
    from helpers_loop import register_toy
    toy = register_toy()
    base = {'dataset': {'name': toy}, 'model': {'name': 'mlp'},
            'train': {'epochs': 2, 'runs': 2}}
    run(base, run_dir=tmp_path / 'a', quiet=True)
    assert not (tmp_path / 'a/leaderboard.json').exists()
    run(dict(base, output={'leaderboard': True}), run_dir=tmp_path / 'b',
        quiet=True)
    assert (tmp_path / 'b/leaderboard.md').exists()


def test_helpers():
    assert mean_std([1.0, 2.0, 3.0]) == {'mean': 2.0, 'std': 1.0, 'n': 3}
    assert mean_std([1.0, math.nan]) == {'mean': 1.0, 'std': None, 'n': 1}
    assert mean_std([]) == {'mean': None, 'std': None, 'n': 0}
    lin = torch.nn.Linear(3, 2)
    seq = torch.nn.Sequential(lin, torch.nn.Linear(2, 1))
    assert count_parameters([seq, lin]) == 8 + 3  # shared counted once
    row = {'method': 'm', 'dataset': 'd', 'metric': 'accuracy',
           'num_runs': 10, 'test': mean_std([0.5, 0.7]),
           'validation': mean_std([]), 'num_params': 1234,
           'hardware': {'cpu': 'x', 'cpu_count': 2, 'gpu': 'H200',
                        'gpu_count': 1},
           'package': {'pyg_ext': '0', 'torch': '0', 'torch_geometric': '0',
                       'python': '3'}, 'command': 'c', 'config': {}}
    md = leaderboard_markdown(row)
    assert '0.6000 ± 0.1414' in md and '| n/a |' in md
    assert '1,234' in md and '1 x H200' in md
