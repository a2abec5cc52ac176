import dataclasses

import pytest

from pyg_ext.registry import DATASETS, MODELS, METHODS, TASKS, Registry
from pyg_ext.train.plugins import load_plugins


def test_register_and_get():
    reg = Registry('thing')

    @reg.register('a')
    def a():
        """Makes an a.

        More text."""

    assert reg.get('a').obj is a
    assert reg.get('a').description == 'Makes an a.'
    assert reg.names() == ['a'] and 'a' in reg and len(reg) == 1


def test_register_twice_is_error():
    reg = Registry('thing')
    reg.register('a', object())
    with pytest.raises(ValueError, match="thing 'a' is already registered"):
        reg.register('a', object())


def test_unknown_name_lists_known():
    reg = Registry('dataset')
    reg.register('cora', object())
    reg.register('citeseer', object())
    with pytest.raises(ValueError, match="unknown dataset 'corra'.*citeseer, "
                       "cora"):
        reg.get('corra')


def test_bad_registrations():
    reg = Registry('thing')
    with pytest.raises(TypeError, match='non-empty string'):
        reg.register('', object())
    with pytest.raises(TypeError, match="'options'.*dataclass"):
        reg.register('x', object(), options=int)


def test_options_taken_from_class_attribute():
    reg = Registry('method')

    @dataclasses.dataclass
    class Opts:
        k: int = 1

    class M:
        """An M."""
        Options = Opts

    reg.register('m', M)
    assert reg.get('m').options is Opts


def test_plugins_register_builtin_names():
    load_plugins()
    for name in ('mlp', 'gcn', 'sage', 'gat', 'gin'):
        assert name in MODELS
    assert 'supervised' in METHODS
    assert 'node_classification' in TASKS
    assert 'csbm' in DATASETS
    for reg in (DATASETS, MODELS, METHODS, TASKS):
        for e in reg:
            assert e.description, f'{reg.kind} {e.name} has no description'
