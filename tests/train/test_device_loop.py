r"""The loop on a device: ``train.device`` / ``--device`` move everything a
run touches, CUDA requests without CUDA are one-line errors, checkpoints
resume across devices."""
import json

import pytest
import torch
import yaml

from pyg_ext.cli import main
from pyg_ext.registry import METHODS
from pyg_ext.train import load_plugins, resume, run
from pyg_ext.train.method import Method
from pyg_ext.utils.device import data_device, module_device

from helpers_loop import register_toy

load_plugins()
TOY = register_toy()


class DeviceSpy(Method):
    r"""Records where the runner put the data and the model (test only)."""
    seen = []

    def run(self, ctx):
        model = ctx.build_model()
        tensors = [v for v in ctx.data.to_dict().values()
                   if isinstance(v, torch.Tensor)]
        DeviceSpy.seen.append((ctx.device, module_device(model),
                               {t.device for t in tensors}))
        return {'metrics': {'val_accuracy': 0.0, 'test_accuracy': 0.0}}


if 'device_spy' not in METHODS:
    METHODS.register('device_spy', DeviceSpy)


def cfg(**train):
    return {'name': 'dev', 'dataset': {'name': TOY},
            'model': {'name': 'gcn', 'hidden_channels': 8},
            'train': {'epochs': 6, 'runs': 1, 'checkpoint_every': 2,
                      **train}}


def test_runner_moves_data_and_model_to_the_device(tmp_path):
    # 'meta' stands in for an accelerator: nothing is computed, but every
    # tensor the run receives must be there.
    DeviceSpy.seen.clear()
    c = cfg(device='meta', splits=[0, 1])
    c['method'] = {'name': 'device_spy'}
    run(c, run_dir=tmp_path / 'r', quiet=True)
    assert len(DeviceSpy.seen) == 2
    for ctx_dev, model_dev, data_devs in DeviceSpy.seen:
        assert ctx_dev.type == 'meta' and model_dev.type == 'meta'
        assert data_devs == {torch.device('meta')}


def test_default_device_is_auto(tmp_path):
    out = run(cfg(), run_dir=tmp_path / 'r', quiet=True)
    saved = yaml.safe_load(open(f"{out['run_dir']}/config.yaml"))
    assert saved['train']['device'] == 'auto'


@pytest.mark.skipif(torch.cuda.is_available(), reason='needs a machine '
                    'without CUDA')
def test_cuda_without_cuda_is_a_one_line_cli_error(tmp_path, capsys):
    path = tmp_path / 'c.yaml'
    path.write_text(yaml.safe_dump(cfg()))
    assert main(['run', str(path), '--device', 'cuda', '--quiet',
                 '--run-dir', str(tmp_path / 'a')]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith('pyg-ext: error: train.device (--device):')
    assert 'CUDA is not available' in err
    assert main(['run', str(path), '--set', 'train.device=cuda',
                 '--quiet', '--run-dir', str(tmp_path / 'b')]) == 2
    assert 'train.device' in capsys.readouterr().err


def test_unknown_device_is_a_one_line_cli_error(tmp_path, capsys):
    path = tmp_path / 'c.yaml'
    path.write_text(yaml.safe_dump(cfg()))
    assert main(['run', str(path), '--device', 'gpu', '--quiet',
                 '--run-dir', str(tmp_path / 'a')]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "unknown device 'gpu'" in err and 'train.device' in err
    assert main(['main', '--device', 'tpu9', '--quiet']) == 2


class Killed(Exception):
    pass


def test_resume_on_another_device(tmp_path, device):
    # written on `device`, resumed on the CPU (and CPU -> CPU without a GPU)
    c = cfg(device=str(device), patience=None)
    n = {'c': 0}

    def boom(epoch):
        n['c'] += 1
        if n['c'] == 5:
            raise Killed
    with pytest.raises(Killed):
        run(c, run_dir=tmp_path / 'cut', quiet=True, interrupt=boom)
    assert (tmp_path / 'cut/checkpoints/split0_seed0.pt').exists()
    out = resume(tmp_path / 'cut', quiet=True, device='cpu')
    res = json.loads((tmp_path / 'cut/runs/split0_seed0.json').read_text())
    assert res['epochs_run'] == 6
    if device.type == 'cpu':
        full = run(cfg(patience=None, device='cpu'),
                   run_dir=tmp_path / 'full', quiet=True)
        assert out['summary'] == full['summary']
    assert main(['run', '--resume', str(tmp_path / 'cut'), '--device',
                 'cpu', '--quiet']) == 0
