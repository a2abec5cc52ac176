import json

import pytest
import yaml

from pyg_ext.cli import main
from pyg_ext.registry import DATASETS, MODELS, METHODS, TASKS

from helpers_loop import register_toy

TOY = register_toy()


def test_list_groups_every_registered_name(capsys):
    assert main(['list']) == 0
    out = capsys.readouterr().out
    for title in ('Datasets', 'Models', 'Methods', 'Tasks'):
        assert f'{title} (' in out
    for reg in (DATASETS, MODELS, METHODS, TASKS):
        for e in reg:
            assert e.name in out
    assert 'gcn' in out and 'Graph convolutional network' in out


def test_run_with_overrides_and_plot(tmp_path, capsys):
    cfg = tmp_path / 'cfg.yaml'
    cfg.write_text(yaml.safe_dump({
        'name': 'cli',
        'dataset': {'name': TOY},
        'model': {'name': 'gcn'},
        'train': {'epochs': 100, 'runs': 1},
    }))
    run_dir = tmp_path / 'run'
    assert main(['run', str(cfg), '--set', 'train.epochs=4', '--set',
                 'model.hidden_channels=8', '--quiet', '--run-dir',
                 str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert '| cli | node_classification |' in out
    saved = yaml.safe_load((run_dir / 'config.yaml').read_text())
    assert saved['train']['epochs'] == 4
    assert saved['model']['hidden_channels'] == 8
    run = json.loads((run_dir / 'runs/split0_seed0.json').read_text())
    assert run['epochs_run'] == 4

    assert main(['plot', str(run_dir)]) == 0
    pngs = list((run_dir / 'plots').glob('*.png'))
    assert pngs and all(p.read_bytes()[:4] == b'\x89PNG' for p in pngs)


def test_run_errors_are_clear(tmp_path, capsys):
    cfg = tmp_path / 'cfg.yaml'
    cfg.write_text(yaml.safe_dump({'train': {'epochs': 2}}))
    assert main(['run', str(cfg), '--set', 'train.epohcs=3']) == 2
    assert "unknown config key 'train.epohcs'" in capsys.readouterr().err
    assert main(['run', str(cfg), '--set', 'dataset.name=nope']) == 2
    err = capsys.readouterr().err
    assert "unknown dataset 'nope'" in err and 'csbm' in err
    assert main(['run', str(tmp_path / 'missing.yaml')]) == 2
    assert 'not found' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(['frobnicate'])


def test_main_command_compares_mlp_and_gcn(tmp_path, capsys):
    run_dir = tmp_path / 'main'
    assert main(['main', '--quiet', '--only', 'mlp', '--only', 'gcn',
                 '--run-dir', str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert '| mlp |' in out and '| gcn |' in out
    summary = json.loads((run_dir / 'summary.json').read_text())
    acc = {s['name']: s['summary']['test_accuracy']['mean'] for s in summary}
    # The embedded CSBM default is homophilous with weak features.
    assert acc['gcn'] > acc['mlp'] + 0.1


def test_main_suite_on_the_test_device(tmp_path, capsys, device):
    # Every experiment of the main suite for one epoch/round on
    # $PYG_EXT_TEST_DEVICE (cpu here; cuda on a GPU machine).
    run_dir = tmp_path / 'main'
    assert main(['main', '--quiet', '--device', str(device), '--set',
                 'train.epochs=2', '--set', 'train.runs=1', '--run-dir',
                 str(run_dir)]) == 0
    summary = json.loads((run_dir / 'summary.json').read_text())
    names = {s['name'] for s in summary}
    assert {'gcn', 'mowst_gcn', 'teddy', 'thegcn_switch', 'adarc_csbm',
            'im_opim_c'} <= names
    import yaml
    for s in summary:
        assert s['num_runs'] >= 1
        cfg = yaml.safe_load((run_dir / s['name'] / 'config.yaml').read_text())
        assert cfg['train']['device'] == str(device)
