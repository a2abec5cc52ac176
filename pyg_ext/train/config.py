r"""Typed experiment configs: dataclasses loaded from YAML with CLI overrides.

A config has four *named sections* (``task``, ``dataset``, ``model``,
``method``) whose ``name`` picks a registered entry and whose other keys are
checked against that entry's ``Options`` dataclass, plus the fixed sections
``train`` and ``output``. Unknown keys and wrong types raise
:class:`ConfigError` naming the dotted key and the expected type.

Example:
    >>> cfg = load_config({'dataset': {'name': 'csbm'}},
    ...                   overrides=['train.epochs=5'], resolve=False)
    >>> cfg.train.epochs
    5
"""
import copy
import dataclasses
import os
import re
import typing
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Union

import torch
import yaml

from pyg_ext.registry import REGISTRIES
from pyg_ext.utils.validation import check_choice, check_float, check_int

__all__ = [
    'ConfigError',
    'ModelOptions',
    'TrainConfig',
    'OutputConfig',
    'NamedSection',
    'ExperimentConfig',
    'from_dict',
    'load_config',
    'apply_override',
    'config_to_dict',
    'save_config',
    'yaml_load',
    'read_yaml',
    'option_error',
]


class _Loader(yaml.SafeLoader):
    r"""YAML 1.1's float rule misses ``1e-3`` (no dot): read it as a float."""


_Loader.add_implicit_resolver(
    'tag:yaml.org,2002:float',
    re.compile(r'''^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |\.[0-9_]+(?:[eE][-+][0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$''', re.X), list('-+0123456789.'))


def yaml_load(stream: Any) -> Any:
    r"""``yaml.safe_load`` that also reads ``1e-3`` as a float."""
    return yaml.load(stream, Loader=_Loader)


class ConfigError(ValueError):
    r"""A config key is unknown or has a value of the wrong type."""


def _yaml_error(where: str, e: 'yaml.YAMLError') -> ConfigError:
    r"""A :class:`ConfigError` with the line and column of a YAML error."""
    mark = getattr(e, 'problem_mark', None) or getattr(e, 'context_mark',
                                                       None)
    pos = (f' at line {mark.line + 1}, column {mark.column + 1}'
           if mark is not None else '')
    what = getattr(e, 'problem', None) or str(e).splitlines()[0]
    return ConfigError(f"{where}: malformed YAML{pos}: {what}")


def read_yaml(path: Union[str, os.PathLike], what: str = 'config') -> Any:
    r"""Reads a YAML file; a syntax error becomes a :class:`ConfigError`
    naming the file, line and column, and an empty file is refused."""
    with open(path) as f:
        try:
            raw = yaml_load(f)
        except yaml.YAMLError as e:
            raise _yaml_error(str(path), e) from None
    if raw is None:
        raise ConfigError(f"{path}: the {what} file is empty; expected a "
                          f"mapping of sections (e.g. 'dataset', 'model', "
                          f"'train')")
    return raw


def option_error(prefix: str, fields: Sequence[str],
                 e: Exception) -> ConfigError:
    r"""The :class:`ConfigError` of an option check that failed with
    :obj:`e`: a message about one option (``'lr' must be a finite float,
    got nan``) becomes ``<prefix>.lr: expected a finite float, got nan``;
    a message that already names a dotted key is kept; any other gets
    ``<prefix>:`` in front."""
    msg = str(e).splitlines()[0] if str(e) else type(e).__name__
    if msg.startswith(f'{prefix}.') or isinstance(e, ConfigError):
        return ConfigError(msg)
    m = re.match(r"^'(\w+)((?:\[\d+\])*)' (.*)$", msg)
    if m and m.group(1) in fields:
        rest = m.group(3)
        rest = 'expected ' + rest[len('must be '):] if rest.startswith(
            'must be ') else msg
        return ConfigError(f"{prefix}.{m.group(1)}{m.group(2)}: {rest}")
    return ConfigError(f"{prefix}: {msg}")


@dataclass
class ModelOptions:
    r"""Options every registered model accepts. Model builders may subclass
    this dataclass to add their own options (a subclass with its own
    ``__post_init__`` calls ``super().__post_init__()``; the config checks
    these three either way)."""
    hidden_channels: int = 64
    num_layers: int = 2
    dropout: float = 0.5

    def __post_init__(self):
        ModelOptions.check(self)

    def check(self) -> None:
        r"""Sizes >= 1 and a dropout probability in [0, 1)."""
        check_int('hidden_channels', self.hidden_channels, 1)
        check_int('num_layers', self.num_layers, 1)
        check_float('dropout', self.dropout, 0.0, 1.0, high_open=True)


@dataclass
class TrainConfig:
    r"""Options of the run loop.

    Args:
        runs (int, optional): Seeds per split; run ``r`` uses seed
            ``seed + r`` (:obj:`None`: 10 on ``ogbn-*`` datasets, as OGB
            leaderboards ask, else 1).
        seed (int): The first seed.
        epochs (int): Maximum number of epochs.
        lr (float): Learning rate.
        weight_decay (float): L2 weight decay.
        optimizer (str): ``'adam'``, ``'adamw'`` or ``'sgd'``.
        patience (int, optional): Early-stopping patience in evaluations
            without a strictly better validation score (``None``: never stop
            early).
        eval_every (int): Evaluate every this many epochs.
        checkpoint_every (int): Write a checkpoint every this many epochs
            (``0``: never).
        splits (list of int, optional): Which of the dataset's fixed splits to
            run (``None``: all of them).
        device (str): Torch device: ``'auto'`` (CUDA when available, else
            CPU), ``'cpu'``, ``'cuda'`` or ``'cuda:<index>'``.
        num_threads (int, optional): ``torch.set_num_threads`` for the run.
        batch_size (int, optional): Mini-batch training with this many seed
            nodes per batch (with the task's ``num_neighbors``); under
            ``torchrun`` the global batch is split over the processes.
            :obj:`None`: full-batch.
        distributed (str): Under ``torchrun``: ``'ddp'`` (data-parallel
            mini-batches), ``'shard'`` (spread the runs over the ranks) or
            ``'auto'`` (``ddp`` with ``batch_size``, else ``shard``).
    """
    runs: Optional[int] = None
    seed: int = 0
    epochs: int = 200
    lr: float = 0.01
    weight_decay: float = 5e-4
    optimizer: str = 'adam'
    patience: Optional[int] = 100
    eval_every: int = 1
    checkpoint_every: int = 10
    splits: Optional[List[int]] = None
    device: str = 'auto'
    num_threads: Optional[int] = None
    batch_size: Optional[int] = None
    distributed: str = 'auto'

    def __post_init__(self):
        check_int('batch_size', self.batch_size, 1, allow_none=True)
        check_choice('distributed', self.distributed,
                     ('auto', 'ddp', 'shard'))
        check_int('runs', self.runs, 1, allow_none=True)
        check_int('seed', self.seed, 0)
        check_int('epochs', self.epochs, 1)
        check_int('eval_every', self.eval_every, 1)
        check_int('checkpoint_every', self.checkpoint_every, 0)
        check_int('patience', self.patience, 1, allow_none=True)
        check_int('num_threads', self.num_threads, 1, allow_none=True)
        check_float('lr', self.lr, 0.0, low_open=True)
        check_float('weight_decay', self.weight_decay, 0.0)
        if self.splits is not None:
            if not isinstance(self.splits, (list, tuple)):
                raise ConfigError(f"train.splits: expected a list of ints "
                                  f"or None, got {self.splits!r}")
            for i, s in enumerate(self.splits):
                check_int(f'splits[{i}]', s, 0)
            if len(set(self.splits)) != len(self.splits):
                raise ConfigError(f"train.splits: duplicate split in "
                                  f"{self.splits}")
        if self.device != 'auto':
            try:
                torch.device(self.device)
            except (RuntimeError, ValueError, TypeError):
                raise ConfigError(
                    f"train.device: unknown device {self.device!r}; "
                    f"expected 'auto', 'cpu', 'cuda' or 'cuda:<index>'"
                ) from None
        check_choice('optimizer', self.optimizer, ('adam', 'adamw', 'sgd'))


@dataclass
class OutputConfig:
    r"""Where results go.

    Args:
        dir (str): Parent folder of run directories.
        run_dir (str, optional): The run directory itself; it must not exist
            yet (runs are never silently overwritten).
        plots (bool): Write PNG plots at the end of a run.
        leaderboard (bool, optional): Write ``leaderboard.md`` and
            ``leaderboard.json`` (OGB's fields) into the run directory
            (:obj:`None`: for ``ogbn-*`` datasets).
    """
    dir: str = 'runs'
    run_dir: Optional[str] = None
    plots: bool = False
    leaderboard: Optional[bool] = None


ADJACENCY = ('auto', 'csr', 'edge_index')


@dataclass
class NamedSection:
    r"""A config section that selects a registered entry by ``name`` and
    holds that entry's typed options; the ``dataset`` section also holds
    ``adjacency`` (``auto``, ``csr`` or ``edge_index``: the layout the
    model receives, see :mod:`pyg_ext.train.adjacency`)."""
    name: str
    options: Any = None
    adjacency: Optional[str] = None

    def to_dict(self) -> Dict[str, Any]:
        out = {'name': self.name}
        if self.adjacency is not None:
            out['adjacency'] = self.adjacency
        if self.options is not None:
            out.update(config_to_dict(self.options))
        return out


@dataclass
class ExperimentConfig:
    r"""A whole experiment.

    Args:
        name (str): Experiment name (used for the run directory).
        task (NamedSection): The task, default ``node_classification``.
        dataset (NamedSection): The dataset; ``root`` overrides the data root.
        model (NamedSection): The model (builder options).
        method (NamedSection): The training method, default ``supervised``.
        train (TrainConfig): Loop options.
        output (OutputConfig): Output options.
    """
    name: str = 'experiment'
    task: NamedSection = field(
        default_factory=lambda: NamedSection('node_classification'))
    dataset: NamedSection = field(default_factory=lambda: NamedSection('csbm'))
    model: NamedSection = field(default_factory=lambda: NamedSection('gcn'))
    method: NamedSection = field(
        default_factory=lambda: NamedSection('supervised'))
    train: TrainConfig = field(default_factory=TrainConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    data_root: Optional[str] = None


NAMED_SECTIONS = ('task', 'dataset', 'model', 'method')
SECTIONS = NAMED_SECTIONS + ('train', 'output')
REGISTRY_OF = {
    'task': 'task',
    'dataset': 'dataset',
    'model': 'model',
    'method': 'method'
}


def _type_name(tp: Any) -> str:
    if tp is type(None):
        return 'None'
    origin = typing.get_origin(tp)
    if origin is Union:
        return ' or '.join(_type_name(a) for a in typing.get_args(tp))
    if origin is typing.Literal:
        return 'one of ' + ', '.join(repr(a) for a in typing.get_args(tp))
    if origin in (list, List, Sequence, tuple):
        args = typing.get_args(tp)
        inner = _type_name(args[0]) if args else 'any'
        return f'list of {inner}'
    if origin in (dict, Dict):
        return 'mapping'
    return getattr(tp, '__name__', str(tp))


def _check_value(key: str, value: Any, tp: Any) -> Any:
    r"""Returns :obj:`value` converted to :obj:`tp`, or raises."""
    if tp is Any:
        return value
    origin = typing.get_origin(tp)
    if origin is Union:
        errors = []
        for arg in typing.get_args(tp):
            try:
                return _check_value(key, value, arg)
            except ConfigError as e:
                errors.append(e)
        raise ConfigError(f"{key}: expected {_type_name(tp)}, got "
                          f"{type(value).__name__} {value!r}")
    if origin is typing.Literal:
        if value in typing.get_args(tp):
            return value
        raise ConfigError(f"{key}: expected {_type_name(tp)}, got {value!r}")
    if tp is type(None):
        if value is None:
            return None
        raise ConfigError(f"{key}: expected None, got {value!r}")
    if origin in (list, List, Sequence, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key}: expected {_type_name(tp)}, got "
                              f"{type(value).__name__} {value!r}")
        args = typing.get_args(tp)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(value):
                raise ConfigError(f"{key}: expected {len(args)} items, got "
                                  f"{len(value)}")
            return tuple(
                _check_value(f'{key}[{i}]', v, a)
                for i, (v, a) in enumerate(zip(value, args)))
        inner = args[0] if args else Any
        out = [_check_value(f'{key}[{i}]', v, inner) for i, v in
               enumerate(value)]
        return tuple(out) if origin is tuple else out
    if origin in (dict, Dict):
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping, got "
                              f"{type(value).__name__} {value!r}")
        return dict(value)
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping for {tp.__name__},"
                              f" got {type(value).__name__} {value!r}")
        return from_dict(tp, value, prefix=key)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{key}: expected bool, got "
                          f"{type(value).__name__} {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"{key}: expected int, got "
                          f"{type(value).__name__} {value!r}")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(f"{key}: expected float, got "
                          f"{type(value).__name__} {value!r}")
    if tp is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{key}: expected str, got "
                          f"{type(value).__name__} {value!r}")
    if isinstance(tp, type):
        if isinstance(value, tp):
            return value
        raise ConfigError(f"{key}: expected {tp.__name__}, got "
                          f"{type(value).__name__} {value!r}")
    return value


def from_dict(cls: type, data: Optional[Dict[str, Any]], prefix: str = ''):
    r"""Builds dataclass :obj:`cls` from :obj:`data`, checking every key and
    type. Errors name the dotted key (``prefix.key``) and expected type."""
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix or cls.__name__}: expected a mapping, "
                          f"got {type(data).__name__} {data!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    kwargs = {}
    for key, value in data.items():
        dotted = f'{prefix}.{key}' if prefix else str(key)
        if key not in fields:
            known = ', '.join(sorted(fields)) or '(none)'
            raise ConfigError(f"unknown config key '{dotted}'; known keys: "
                              f"{known}")
        kwargs[key] = _check_value(dotted, value, hints[key])
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as e:
        raise option_error(prefix or cls.__name__, list(fields), e) from e


_INHERITED = '__inherited_options__'


def _resolve_section(kind: str, section: Any) -> NamedSection:
    if isinstance(section, NamedSection):
        section = section.to_dict()
    if isinstance(section, str):
        section = {'name': section}
    if not isinstance(section, dict):
        raise ConfigError(f"{kind}: expected a mapping with a 'name' key, "
                          f"got {type(section).__name__} {section!r}")
    section = dict(section)
    inherited = section.pop(_INHERITED, [])
    name = section.pop('name', None)
    adjacency = None
    if kind == 'dataset':
        adjacency = _check_value('dataset.adjacency',
                                 section.pop('adjacency', 'auto'), str)
        if adjacency not in ADJACENCY:
            raise ConfigError(f"dataset.adjacency: expected one of "
                              f"{', '.join(ADJACENCY)}, got {adjacency!r}")
    if not isinstance(name, str):
        raise ConfigError(f"{kind}.name: expected str, got {name!r}")
    registry = REGISTRIES[REGISTRY_OF[kind]]
    try:
        entry = registry.get(name)
    except ValueError as e:
        raise ConfigError(f'{kind}.name: {e}') from None
    opts_cls = entry.options
    accepted = ({f.name for f in dataclasses.fields(opts_cls)}
                if opts_cls is not None else set())
    for key in inherited:
        if key not in accepted:
            section.pop(key, None)
    if opts_cls is None:
        if section:
            raise ConfigError(f"unknown config key '{kind}."
                              f"{next(iter(section))}': {kind} '{name}' "
                              f"takes no options")
        return NamedSection(name, None, adjacency)
    opts = from_dict(opts_cls, section, prefix=kind)
    if isinstance(opts, ModelOptions):  # also when a subclass skips it
        try:
            ModelOptions.check(opts)
        except (TypeError, ValueError) as e:
            raise option_error(kind, ('hidden_channels', 'num_layers',
                                      'dropout'), e) from None
    return NamedSection(name, opts, adjacency)


def _parse_scalar(key: str, text: str) -> Any:
    if text.strip() == '':
        return ''
    try:
        return yaml_load(text)
    except yaml.YAMLError as e:
        raise _yaml_error(f"{key} (--set {key}={text})", e) from None


def apply_override(raw: Dict[str, Any], override: str) -> None:
    r"""Applies ``'a.b.c=value'`` to the raw config dict in place. The value is
    parsed as YAML (``50`` is an int, ``[1, 2]`` a list, ``null`` None)."""
    if '=' not in override:
        raise ConfigError(f"override {override!r}: expected 'key=value'")
    key, value = override.split('=', 1)
    key = key.strip()
    if not key:
        raise ConfigError(f"override {override!r}: empty key")
    parts = key.split('.')
    node = raw
    for p in parts[:-1]:
        child = node.get(p)
        if isinstance(child, str) and p in NAMED_SECTIONS:
            child = {'name': child}
        if child is None:
            child = {}
        if not isinstance(child, dict):
            raise ConfigError(f"override {override!r}: '{p}' is not a "
                              f"section")
        node[p] = child
        node = child
    value = _parse_scalar(key, value)
    if (len(parts) == 2 and parts[0] in NAMED_SECTIONS and parts[1] == 'name'
            and node.get('name') not in (None, value)):
        # Switching the entry: options written for the old entry are kept
        # only where the new entry has them (checked at resolution).
        inherited = set(node.get(_INHERITED, [])) | {
            k for k in node if k not in ('name', _INHERITED)}
        node[_INHERITED] = sorted(inherited)
    node[parts[-1]] = value


def load_config(source: Union[str, os.PathLike, Dict[str, Any], None] = None,
                overrides: Sequence[str] = (), resolve: bool = True,
                ) -> ExperimentConfig:
    r"""Loads an :class:`ExperimentConfig` from a YAML path or a dict, applies
    ``key=value`` overrides, and checks every key and type.

    Args:
        source (str or dict, optional): YAML file path, or a raw dict.
        overrides (list of str): ``'train.epochs=50'`` style overrides.
        resolve (bool): Check named sections against the registries. With
            :obj:`False` they are kept raw. The registries must be filled
            first: :func:`pyg_ext.train.load_config` loads the plugins and
            then calls this function.
    """
    if source is None:
        raw = {}
    elif isinstance(source, dict):
        raw = copy.deepcopy(source)
    else:
        raw = read_yaml(source)
        if not isinstance(raw, dict):
            raise ConfigError(f"{source}: expected a config mapping at the "
                              f"top level, got {type(raw).__name__}")
    for o in overrides:
        apply_override(raw, o)

    known = {f.name for f in dataclasses.fields(ExperimentConfig)}
    for key in raw:
        if key not in known:
            raise ConfigError(f"unknown config key '{key}'; known keys: "
                              f"{', '.join(sorted(known))}")
        if raw[key] is None and key in SECTIONS:
            raise ConfigError(f"{key}: the section is empty; give its keys "
                              f"or remove it")
    cfg = ExperimentConfig()
    if 'name' in raw:
        cfg.name = _check_value('name', raw['name'], str)
    if 'data_root' in raw:
        cfg.data_root = _check_value('data_root', raw['data_root'],
                                     Optional[str])
    cfg.train = from_dict(TrainConfig, raw.get('train'), 'train')
    cfg.output = from_dict(OutputConfig, raw.get('output'), 'output')
    for kind in NAMED_SECTIONS:
        section = raw.get(kind, getattr(cfg, kind).to_dict())
        if isinstance(section, dict) and 'name' not in section:
            # Options without a name apply to the default entry.
            section = {'name': getattr(cfg, kind).name, **section}
        if resolve:
            setattr(cfg, kind, _resolve_section(kind, section))
        else:
            if isinstance(section, str):
                section = {'name': section}
            section = dict(section)
            section.pop(_INHERITED, None)
            setattr(cfg, kind, NamedSection(section.pop('name'), section))
    return cfg


def config_to_dict(obj: Any) -> Any:
    r"""Converts a (nested) config to plain YAML-able Python objects."""
    if isinstance(obj, NamedSection):
        return obj.to_dict()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {
            f.name: config_to_dict(getattr(obj, f.name))
            for f in dataclasses.fields(obj)
        }
    if isinstance(obj, (list, tuple)):
        return [config_to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: config_to_dict(v) for k, v in obj.items()}
    return obj


def config_yaml(cfg: ExperimentConfig) -> str:
    r"""The resolved config as YAML text."""
    return yaml.safe_dump(config_to_dict(cfg), sort_keys=False)


def save_config(cfg: ExperimentConfig, path: Union[str, os.PathLike]) -> None:
    r"""Writes the resolved config as YAML (atomically)."""
    from pyg_ext.train.checkpoint import atomic_write_text
    atomic_write_text(path, config_yaml(cfg))
