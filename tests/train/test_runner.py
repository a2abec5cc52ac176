import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass

import pytest
import torch

from pyg_ext.registry import DATASETS, MODELS, TASKS
from pyg_ext.train import load_plugins, resume, run, run_suite
from pyg_ext.train.task import Task

from helpers_loop import register_toy

load_plugins()
TOY = register_toy()

# A scripted task: the model is trained for real, but evaluate() returns
# known validation/test curves, so the selection rule can be checked exactly.
VAL = [0.10, 0.50, 0.30, 0.70, 0.70, 0.20, 0.10, 0.90]
TEST = [0.90, 0.20, 0.80, 0.40, 0.60, 0.10, 0.30, 0.00]


@dataclass
class ScriptedOptions:
    offset: int = 0


class ScriptedTask(Task):
    """Scripted validation/test curves (test only)."""
    Options = ScriptedOptions

    def __init__(self, options=None):
        super().__init__(options)
        self.calls = 0

    def load(self, entry, options, root):
        return entry.obj(root=root)

    def model_channels(self, data):
        return data.num_features, 2

    def forward(self, model, data):
        return model(data.x, data.edge_index)

    def loss(self, out, data, split='train'):
        return torch.nn.functional.cross_entropy(out[data.train_mask[:, 0]],
                                                 data.y[data.train_mask[:, 0]])

    def evaluate(self, out, data):
        i = self.calls
        self.calls += 1
        return {'val_accuracy': VAL[i], 'test_accuracy': TEST[i]}


if 'scripted_test' not in TASKS:
    TASKS.register('scripted_test', ScriptedTask)


def base_cfg(**train):
    t = {'epochs': 10, 'runs': 1, 'checkpoint_every': 0}
    t.update(train)
    return {
        'name': 'toy',
        'dataset': {'name': TOY},
        'model': {'name': 'gcn', 'hidden_channels': 16},
        'train': t,
    }


def test_test_score_is_taken_at_best_validation_epoch(tmp_path):
    cfg = base_cfg(epochs=8, patience=None)
    cfg['task'] = {'name': 'scripted_test'}
    cfg['train']['splits'] = [0]
    out = run(cfg, run_dir=tmp_path / 'a', quiet=True)
    # Best validation 0.9 at epoch 7 -> test 0.0 (not the best test 0.9).
    assert out['summary']['test_accuracy']['mean'] == 0.0
    res = json.loads((tmp_path / 'a/runs/split0_seed0.json').read_text())
    assert res['best_epoch'] == 7


def test_patience_and_ties_keep_the_earlier_epoch(tmp_path):
    cfg = base_cfg(epochs=8, patience=2)
    cfg['task'] = {'name': 'scripted_test'}
    cfg['train']['splits'] = [0]
    out = run(cfg, run_dir=tmp_path / 'a', quiet=True)
    # 0.7 at epoch 3; the tie at epoch 4 is not better; epoch 5 worse ->
    # stop after 2 evaluations without improvement; test at epoch 3 = 0.4.
    res = json.loads((tmp_path / 'a/runs/split0_seed0.json').read_text())
    assert res['best_epoch'] == 3
    assert res['epochs_run'] == 6
    assert out['summary']['test_accuracy']['mean'] == pytest.approx(0.4)


def test_runs_times_splits_mean_std_and_outputs(tmp_path):
    out = run(base_cfg(runs=2, epochs=5), run_dir=tmp_path / 'r', quiet=True)
    files = sorted(p.name for p in (tmp_path / 'r/runs').iterdir())
    assert files == ['split0_seed0.json', 'split0_seed1.json',
                     'split1_seed0.json', 'split1_seed1.json']
    tests = [json.loads((tmp_path / 'r/runs' / f).read_text())['metrics']
             ['test_accuracy'] for f in files]
    s = out['summary']['test_accuracy']
    assert s['n'] == 4
    assert s['mean'] == pytest.approx(sum(tests) / 4)
    assert s['std'] == pytest.approx(torch.tensor(tests).std().item())
    for name in ('config.yaml', 'summary.json', 'results.md'):
        assert (tmp_path / 'r' / name).exists()
    assert '| toy | node_classification |' in (tmp_path / 'r/results.md'
                                              ).read_text()


def test_seeds_make_runs_reproducible_and_distinct(tmp_path):
    a = run(base_cfg(runs=2), run_dir=tmp_path / 'a', quiet=True)
    b = run(base_cfg(runs=2), run_dir=tmp_path / 'b', quiet=True)
    ra = json.loads((tmp_path / 'a/runs/split0_seed0.json').read_text())
    rb = json.loads((tmp_path / 'b/runs/split0_seed0.json').read_text())
    assert ra['history'] == rb['history']
    r1 = json.loads((tmp_path / 'a/runs/split0_seed1.json').read_text())
    assert r1['history']['train_loss'] != ra['history']['train_loss']
    assert a['summary'] == b['summary']


def test_fresh_model_per_run(tmp_path):
    built = []
    entry = MODELS.get('gcn')
    orig = entry.obj

    def spy(*args):
        m = orig(*args)
        built.append(m)
        return m

    object.__setattr__(entry, 'obj', spy)  # Entry is frozen
    try:
        run(base_cfg(runs=2, epochs=2), run_dir=tmp_path / 'a', quiet=True)
    finally:
        object.__setattr__(entry, 'obj', orig)
    assert len(built) == 4
    assert len({id(m) for m in built}) == 4


def test_run_dir_is_never_overwritten(tmp_path):
    run(base_cfg(epochs=2), run_dir=tmp_path / 'a', quiet=True)
    with pytest.raises(FileExistsError, match='already exists'):
        run(base_cfg(epochs=2), run_dir=tmp_path / 'a', quiet=True)
    # Automatic directories get a fresh name each time.
    cfg = base_cfg(epochs=2)
    cfg['output'] = {'dir': str(tmp_path / 'auto')}
    d1 = run(cfg, quiet=True)['run_dir']
    d2 = run(cfg, quiet=True)['run_dir']
    assert d1 != d2


class Interrupted(Exception):
    pass


def test_interrupt_and_resume_gives_identical_numbers(tmp_path):
    cfg = base_cfg(runs=2, epochs=30, checkpoint_every=4, patience=None)
    full = run(cfg, run_dir=tmp_path / 'full', quiet=True)

    calls = {'n': 0}

    def boom(epoch):
        calls['n'] += 1
        if calls['n'] == 30 + 30 + 17:  # mid third run, after a checkpoint
            raise Interrupted

    with pytest.raises(Interrupted):
        run(cfg, run_dir=tmp_path / 'cut', quiet=True, interrupt=boom)
    done = sorted(p.name for p in (tmp_path / 'cut/runs').iterdir())
    assert done == ['split0_seed0.json', 'split0_seed1.json']
    mtimes = {p: (tmp_path / 'cut/runs' / p).stat().st_mtime_ns for p in done}
    assert (tmp_path / 'cut/checkpoints/split1_seed0.pt').exists()

    resumed = resume(tmp_path / 'cut', quiet=True)
    # Nothing finished was recomputed.
    for p, t in mtimes.items():
        assert (tmp_path / 'cut/runs' / p).stat().st_mtime_ns == t
    assert resumed['summary'] == full['summary']
    for name in ('split1_seed0.json', 'split1_seed1.json'):
        a = json.loads((tmp_path / 'full/runs' / name).read_text())
        b = json.loads((tmp_path / 'cut/runs' / name).read_text())
        assert a['history'] == b['history']
        assert a['metrics'] == b['metrics']


def test_killed_process_resumes_to_identical_numbers(tmp_path):
    cfg = base_cfg(runs=1, epochs=25, checkpoint_every=5, patience=None)
    full = run(cfg, run_dir=tmp_path / 'full', quiet=True)
    script = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {os.path.dirname(os.path.dirname(__file__))!r})
        from helpers_loop import register_toy
        from pyg_ext.train import load_plugins, run
        load_plugins(); register_toy()
        n = {{'c': 0}}
        def kill(epoch):
            n['c'] += 1
            if n['c'] == 25 + 12:
                os.kill(os.getpid(), signal.SIGKILL)
        run({cfg!r}, run_dir={str(tmp_path / 'cut')!r}, quiet=True,
            interrupt=kill)
    """)
    proc = subprocess.run([sys.executable, '-c', script], capture_output=True)
    assert proc.returncode == -9, proc.stderr.decode()
    assert not (tmp_path / 'cut/summary.json').exists()
    register_toy()
    out = resume(tmp_path / 'cut', quiet=True)
    assert out['summary'] == full['summary']


def test_bad_split_and_missing_dir(tmp_path):
    cfg = base_cfg(epochs=2)
    cfg['train']['splits'] = [5]
    with pytest.raises(ValueError, match='train.splits: split 5 out of range'):
        run(cfg, run_dir=tmp_path / 'a', quiet=True)
    with pytest.raises(FileNotFoundError, match='not a run directory'):
        resume(tmp_path / 'nothing', quiet=True)


def test_suite_runs_and_resumes(tmp_path):
    suite = {
        'name': 's',
        'defaults': base_cfg(epochs=3),
        'experiments': [{'name': 'mlp', 'model': {'name': 'mlp'}},
                        {'name': 'gcn'}],
    }
    out = run_suite(suite, run_dir=tmp_path / 's', quiet=True)
    names = [e['name'] for e in out['experiments']]
    assert names == ['mlp', 'gcn']
    assert out['experiments'][0]['model'] == 'mlp'
    table = (tmp_path / 's/results.md').read_text()
    assert '| mlp |' in table and '| gcn |' in table
    again = resume(tmp_path / 's', quiet=True)
    assert [e['summary'] for e in again['experiments']] == \
        [e['summary'] for e in out['experiments']]


def test_resume_reuses_the_recorded_data_root(tmp_path, monkeypatch):
    seen = []
    if 'test_root_probe' not in DATASETS:
        from helpers_loop import toy_graph
        DATASETS.register('test_root_probe',
                          lambda root: seen.append(root) or toy_graph())
    cfg = base_cfg(epochs=3)
    cfg['dataset'] = {'name': 'test_root_probe'}
    monkeypatch.delenv('PYG_EXT_DATA', raising=False)
    run(cfg, run_dir=tmp_path / 'a', quiet=True, data_root=tmp_path / 'root')
    (tmp_path / 'a/runs/split1_seed0.json').unlink()
    resume(tmp_path / 'a', quiet=True)  # no data root given again
    assert seen == [str((tmp_path / 'root').resolve())] * 2


def test_duplicate_splits_are_rejected(tmp_path):
    cfg = base_cfg(epochs=2)
    cfg['train']['splits'] = [0, 0]
    with pytest.raises(ValueError, match='train.splits: duplicate'):
        run(cfg, run_dir=tmp_path / 'a', quiet=True)


def test_switching_model_by_override_drops_foreign_options(tmp_path):
    from pyg_ext.train.config import ConfigError
    from pyg_ext.train import load_config
    cfg = load_config(base_cfg(), overrides=['model.name=gat'])
    # hidden_channels is common to every model; GCN-only keys are dropped.
    assert cfg.model.name == 'gat' and cfg.model.options.hidden_channels == 16
    with pytest.raises(ConfigError, match="unknown config key 'model.hedas'"):
        load_config(base_cfg(), overrides=['model.name=gat',
                                           'model.hedas=2'])
    summary = run(load_config(base_cfg(epochs=2)), ['model.name=mlp'],
                  run_dir=tmp_path / 'm', quiet=True)
    assert summary['model'] == 'mlp'
