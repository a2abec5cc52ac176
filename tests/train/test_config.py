import pytest
import yaml

from pyg_ext.train.config import (ConfigError, ExperimentConfig, TrainConfig,
                                  config_to_dict, from_dict, load_config,
                                  save_config)


def test_defaults_and_yaml(tmp_path):
    path = tmp_path / 'cfg.yaml'
    path.write_text(yaml.safe_dump({
        'name': 'exp',
        'dataset': {'name': 'csbm', 'num_nodes': 300},
        'model': {'name': 'gcn', 'hidden_channels': 32},
        'train': {'epochs': 7, 'lr': 0.05},
    }))
    cfg = load_config(path)
    assert isinstance(cfg, ExperimentConfig)
    assert cfg.name == 'exp'
    assert cfg.train.epochs == 7 and cfg.train.lr == 0.05
    assert cfg.train.runs == TrainConfig().runs
    assert cfg.model.name == 'gcn' and cfg.model.options.hidden_channels == 32
    assert cfg.dataset.options.num_nodes == 300
    assert cfg.method.name == 'supervised'


def test_cli_overrides_are_typed():
    cfg = load_config({'model': {'name': 'gcn'}}, overrides=[
        'train.epochs=50', 'model.hidden_channels=128', 'train.lr=1e-3',
        'train.patience=null', 'train.splits=[0, 2]'
    ])
    assert cfg.train.epochs == 50
    assert cfg.model.options.hidden_channels == 128
    assert cfg.train.lr == pytest.approx(1e-3)
    assert cfg.train.patience is None
    assert cfg.train.splits == [0, 2]
    # An override may switch the model; its own options then apply.
    cfg = load_config({}, overrides=['model.name=gat', 'model.heads=2'])
    assert cfg.model.name == 'gat' and cfg.model.options.heads == 2


@pytest.mark.parametrize('raw, match', [
    ({'train': {'epoch': 5}}, "unknown config key 'train.epoch'"),
    ({'model': {'name': 'gcn', 'hiden_channels': 5}},
     "unknown config key 'model.hiden_channels'"),
    ({'trian': {}}, "unknown config key 'trian'"),
    ({'model': {'name': 'mlp', 'heads': 2}}, "unknown config key 'model.heads'"),
])
def test_unknown_keys_are_named(raw, match):
    with pytest.raises(ConfigError, match=match):
        load_config(raw)


@pytest.mark.parametrize('override, match', [
    ('train.epochs=ten', r"train.epochs: expected int, got str 'ten'"),
    ('train.epochs=2.5', r"train.epochs: expected int, got float"),
    ('model.hidden_channels=true', r"model.hidden_channels: expected int, "
     r"got bool"),
    ('train.lr=fast', r"train.lr: expected float, got str"),
    ('train.splits=3', r"train.splits: expected list of int or None"),
    ('train.epochs=0', r"train.epochs: expected an int >= 1"),
    ('train.optimizer=lbfgs', r"train.optimizer: expected one of"),
])
def test_wrong_types_name_key_and_type(override, match):
    with pytest.raises(ConfigError, match=match):
        load_config({}, overrides=[override])


def test_unknown_registered_name_lists_known():
    with pytest.raises(ConfigError, match="model.name: unknown model 'gcnn'"
                       ".*gcn"):
        load_config({'model': {'name': 'gcnn'}})


def test_override_syntax_error():
    with pytest.raises(ConfigError, match="expected 'key=value'"):
        load_config({}, overrides=['train.epochs'])


def test_float_accepts_int_but_not_bool():
    assert from_dict(TrainConfig, {'lr': 1}).lr == 1.0
    with pytest.raises(ConfigError, match='train.lr: expected float'):
        from_dict(TrainConfig, {'lr': True}, 'train')


def test_resolved_config_round_trips(tmp_path):
    cfg = load_config({'model': {'name': 'sage', 'aggr': 'max'}},
                      overrides=['train.epochs=3'])
    save_config(cfg, tmp_path / 'config.yaml')
    again = load_config(tmp_path / 'config.yaml')
    assert config_to_dict(again) == config_to_dict(cfg)
    saved = yaml.safe_load((tmp_path / 'config.yaml').read_text())
    # Every option is written out, defaults included.
    assert saved['model'] == {'name': 'sage', 'hidden_channels': 64,
                              'num_layers': 2, 'dropout': 0.5, 'aggr': 'max',
                              'norm': None}
    assert saved['dataset']['adjacency'] == 'auto'
    assert saved['train']['epochs'] == 3
