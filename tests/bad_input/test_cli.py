r"""Config errors of ``pyg-ext run``: exit code 2 and one stderr line naming
the dotted key (never a traceback); ``--debug`` prints the traceback."""
import contextlib
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyg_ext.cli import main

SETTINGS = settings(max_examples=30, deadline=None, derandomize=True,
                    suppress_health_check=list(HealthCheck))
BASE = ('train: {epochs: 1, runs: 1}\n'
        'dataset: {name: csbm, num_nodes: 60, num_features: 8}\n')


def cli(tmp_path, text=BASE, overrides=(), extra=()):
    cfg = tmp_path / 'cfg.yaml'
    cfg.write_text(text)
    args = ['run', str(cfg), '--quiet', '--run-dir', str(tmp_path / 'run')]
    for o in overrides:
        args += ['--set', o]
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        rc = main(args + list(extra))
    return rc, err.getvalue()


def assert_one_line(rc, err, key):
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert rc == 2, err
    assert len(lines) == 1 and 'Traceback' not in err, err
    assert key in lines[0], (key, lines[0])


YAML_VALUE = st.one_of(st.integers(-10**6, 0), st.sampled_from(
    ['.nan', '.inf', '-.inf', 'true', 'null', '[1]', 'abc', '2.5']))
KEYS = {  # key -> strategy of YAML values that must be refused
    'train.epochs': YAML_VALUE, 'train.eval_every': YAML_VALUE,
    'train.runs': YAML_VALUE.filter(lambda v: v != 'null'),
    'train.num_threads': YAML_VALUE.filter(lambda v: v != 'null'),
    'train.patience': YAML_VALUE.filter(lambda v: v != 'null'),
    'train.seed': st.one_of(st.integers(-10**6, -1),
                            st.sampled_from(['.nan', 'true', '1.5'])),
    'train.lr': st.one_of(st.integers(-10**6, 0), st.sampled_from(
        ['.nan', '.inf', '-1e-3', 'true', 'abc'])),
    'train.weight_decay': st.sampled_from(['.nan', '.inf', '-1e-4', '-3']),
    'train.checkpoint_every': st.integers(-10**6, -1),
    'model.hidden_channels': YAML_VALUE,
    'model.num_layers': YAML_VALUE,
    'model.dropout': st.sampled_from(['.nan', '.inf', '1.0', '-0.1', '1.5']),
    'dataset.num_nodes': YAML_VALUE,
    'dataset.homophily': st.sampled_from(['.nan', '1.5', '-0.5']),
    'dataset.train_ratio': st.sampled_from(['.nan', '0', '1', '2']),
    'dataset.seed': st.integers(-10**6, -1),
}


@SETTINGS
@given(draw=st.data())
def test_bad_values_name_the_dotted_key(tmp_path_factory, draw):
    key = draw.draw(st.sampled_from(sorted(KEYS)))
    value = draw.draw(KEYS[key])
    rc, err = cli(tmp_path_factory.mktemp('cli'), overrides=[f'{key}={value}'])
    assert_one_line(rc, err, key)


@pytest.mark.parametrize('text, key', [
    ('train: {epochs: 2\nmodel: gcn\n', 'line 2'),
    ('train:\n\tepochs: 2\n', 'line 2'),
    ('', 'empty'),
    ('- 1\n- 2\n', 'mapping'),
    ('train:\n', 'train'),
    ('model:\n', 'model'),
    ('dataset: 3\n', 'dataset'),
    ('train: {epohcs: 3}\n', 'train.epohcs'),
])
def test_malformed_files(tmp_path, text, key):
    assert_one_line(*cli(tmp_path, text), key)


@pytest.mark.parametrize('overrides, key', [
    (['train.lr=[1,'], 'train.lr'),
    (['train.splits=[-1]'], 'train.splits'),
    (['train.splits=[0, 0]'], 'train.splits'),
    (['model.name=gat', 'model.heads=0'], 'model.heads'),
    (['method.name=mowst', 'method.turn_epochs=0'], 'method.turn_epochs'),
    (['method.name=mowst_star', 'method.lr_gate=.nan'], 'method.lr_gate'),
    (['method.name=teddy', 'model.name=teddy_gcn', 'method.lamb=-1'],
     'method.lamb'),
    (['task.name=test_time_adaptation', 'dataset.name=csbm_shift',
      'model.name=gprgnn', 'method.name=adarc', 'method.lr=.nan'],
     'method.lr'),
])
def test_option_errors(tmp_path, overrides, key):
    assert_one_line(*cli(tmp_path, overrides=overrides), key)


def test_debug_shows_the_traceback(tmp_path):
    rc, err = cli(tmp_path, overrides=['train.lr=.nan'], extra=['--debug'])
    assert rc == 2 and 'Traceback' in err and 'train.lr' in err
    rc, err = cli(tmp_path, overrides=['train.lr=.nan'])
    assert rc == 2 and 'Traceback' not in err
