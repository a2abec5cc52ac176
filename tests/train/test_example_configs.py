r"""Every example config loads and validates (no training): keys and types,
registered names, mini-batch fan-outs that fit the model, OGB's 10 runs on
``ogbn-*`` data, and ``dataset.adjacency: csr`` only where the run can take
it (otherwise the run would stop at load time)."""
from pathlib import Path

import pytest
from torch_geometric.data import Data

from pyg_ext.registry import DATASETS, METHODS, TASKS
from pyg_ext.train import load_config, load_plugins
from pyg_ext.train.adjacency import csr_blockers
from pyg_ext.train.runner import is_suite, load_suite

load_plugins()
CONFIGS = sorted((Path(__file__).resolve().parents[2] / 'examples' /
                  'configs').glob('*.yaml'))
OGB = ['ogbn_arxiv_gcn', 'ogbn_arxiv_sage', 'ogbn_arxiv_gprgnn',
       'ogbn_arxiv_mowst_gcn', 'ogbn_products_sage',
       'ogbn_products_mowst_sage']


def test_the_ogb_configs_exist():
    names = {p.stem for p in CONFIGS}
    assert set(OGB) <= names


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: p.stem)
def test_example_config_validates(path):
    cfgs = load_suite(path) if is_suite(path) else [load_config(path)]
    for cfg in cfgs:
        assert cfg.dataset.name in DATASETS
        task = TASKS.get(cfg.task.name).obj(cfg.task.options)
        method = METHODS.get(cfg.method.name).obj(cfg.method.options)
        fan_out = getattr(cfg.task.options, 'num_neighbors', None)
        assert (fan_out is None) == (cfg.train.batch_size is None)
        if fan_out is not None:
            assert method.minibatch
            assert len(fan_out) <= cfg.model.options.num_layers
        if cfg.dataset.name.startswith('ogbn'):
            assert cfg.train.runs == 10
        blockers = csr_blockers(cfg, task, method, Data())
        if cfg.dataset.adjacency == 'csr':
            assert blockers == []


def test_arxiv_gcn_and_sage_get_the_csr_by_default():
    for name in ('ogbn_arxiv_gcn', 'ogbn_arxiv_sage'):
        cfg = load_config(CONFIGS[[p.stem for p in CONFIGS].index(name)])
        task = TASKS.get(cfg.task.name).obj(cfg.task.options)
        method = METHODS.get(cfg.method.name).obj(cfg.method.options)
        assert cfg.dataset.adjacency == 'auto'
        assert csr_blockers(cfg, task, method, Data()) == []


@pytest.mark.parametrize('name', OGB)
def test_ogb_config_runs_on_the_tiny_ogb_fixture(name, tmp_path,
                                                 monkeypatch):
    # Each OGB example runs end to end as written (task, method, adjacency,
    # mini-batches, optimizer) on an OGB-format data root; only the budget
    # (epochs, runs) and the width are cut for the test.
    import builtins
    import json

    import yaml

    from helpers_ogb import write_tiny_ogb
    from pyg_ext.train import run
    monkeypatch.setattr(builtins, 'input', lambda *a: 'n')
    raw = yaml.safe_load((CONFIGS[[p.stem for p in CONFIGS].index(name)])
                         .read_text())
    root = tmp_path / 'root'
    write_tiny_ogb(root, raw['dataset']['name'], simple=True)
    raw['model']['hidden_channels'] = 8
    raw['train'].update(epochs=2, runs=2, checkpoint_every=0)
    if 'method' in raw:
        raw['method'].update(pretrain_epochs=1)
        if raw['method']['name'] == 'mowst':
            raw['method'].update(turn_epochs=1, max_rounds=1)
    raw['data_root'] = str(root)
    with pytest.warns(UserWarning, match='OGB leaderboards ask for 10'):
        out = run(raw, run_dir=tmp_path / 'r', quiet=True)
    row = json.loads((tmp_path / 'r' / 'leaderboard.json').read_text())
    assert row['dataset'] == raw['dataset']['name'] and row['num_runs'] == 2
    assert 0.0 <= row['test']['mean'] <= 1.0
    assert out['num_runs'] == 2
