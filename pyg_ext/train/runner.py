r"""The runner: R seeds x the dataset's fixed splits, one fresh model and
optimizer per run, per-run JSON, a summary (mean ± std) and a Markdown
results table, all written atomically into a run directory that is never
silently overwritten; ``resume`` continues an interrupted run directory."""
import contextlib
import copy
import dataclasses
import datetime
import json
import math
import os
import re
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

import numpy as np
import torch
import yaml
from tqdm.auto import tqdm

from pyg_ext.datasets.paths import get_data_root
from pyg_ext.registry import DATASETS, METHODS, MODELS, TASKS
from pyg_ext.train.checkpoint import (Checkpointer, atomic_write_json,
                                      atomic_write_text, seed_everything)
from pyg_ext.train import config as _config
from pyg_ext.train.config import (ConfigError, ExperimentConfig,
                                  config_to_dict, config_yaml, option_error,
                                  read_yaml,
                                  save_config, yaml_load)
from pyg_ext.train.adjacency import attach_adjacency
from pyg_ext.train.method import RunContext
from pyg_ext.train.leaderboard import (OGB_RUNS, count_parameters,
                                       leaderboard_markdown, leaderboard_row)
from pyg_ext.train.parallel import Parallel, check_joined_config, parse_shard
from pyg_ext.train.plugins import load_plugins
from pyg_ext.utils.device import resolve_device

__all__ = [
    'load_config',
    'run',
    'resume',
    'run_suite',
    'load_suite',
    'summarize',
    'results_table',
    'seed_everything',
    'make_run_dir',
]

PathLike = Union[str, os.PathLike]


def load_config(source: Union[PathLike, Dict[str, Any], None] = None,
                overrides: Sequence[str] = (), resolve: bool = True,
                ) -> ExperimentConfig:
    r"""Loads and checks an experiment config (see
    :func:`pyg_ext.train.config.load_config`), after loading the plugins
    that register every dataset, model, method and task."""
    if resolve:
        load_plugins()
    return _config.load_config(source, overrides, resolve)


def make_run_dir(cfg: ExperimentConfig, run_dir: Optional[PathLike] = None,
                 ) -> Path:
    r"""Creates the run directory. An explicit directory must not exist yet;
    an automatic one is ``<output.dir>/<name>-<timestamp>`` with a numeric
    suffix added rather than overwriting anything."""
    explicit = run_dir or cfg.output.run_dir
    if explicit is not None:
        path = Path(explicit)
        if path.exists() and not path.is_dir():
            raise FileExistsError(f"run directory '{path}' is an existing "
                                  f"file")
        if path.exists() and any(path.iterdir()):
            raise FileExistsError(
                f"run directory '{path}' already exists and is not empty; "
                f"use resume to continue it or choose another directory")
        path.mkdir(parents=True, exist_ok=True)
        return path
    stamp = datetime.datetime.now().strftime('%Y%m%d-%H%M%S')
    base = Path(cfg.output.dir) / f'{cfg.name}-{stamp}'
    path, i = base, 1
    while True:
        try:
            path.mkdir(parents=True, exist_ok=False)
            return path
        except FileExistsError:
            path = Path(f'{base}-{i}')
            i += 1


def _mean_std(values: List[float]) -> Dict[str, float]:
    a = np.asarray(values, dtype=np.float64)
    std = float(a.std(ddof=1)) if len(a) > 1 else 0.0
    return {'mean': float(a.mean()), 'std': std, 'n': int(len(a))}


def summarize(results: List[Dict[str, Any]]) -> Dict[str, Dict[str, float]]:
    r"""Mean, sample standard deviation and count of every numeric metric
    over the runs."""
    keys: List[str] = []
    for r in results:
        for k, v in r['metrics'].items():
            if isinstance(v, (int, float)) and not isinstance(v, bool) \
                    and k not in keys:
                keys.append(k)
    out = {}
    for k in keys:
        vals = [r['metrics'][k] for r in results if k in r['metrics']
                and r['metrics'][k] is not None
                and not (isinstance(r['metrics'][k], float)
                         and math.isnan(r['metrics'][k]))]
        if vals:
            out[k] = _mean_std(vals)
    return out


def _fmt(stat: Optional[Dict[str, float]]) -> str:
    if stat is None:
        return '-'
    return f"{stat['mean']:.4f} ± {stat['std']:.4f}"


def results_table(rows: Sequence[Dict[str, Any]]) -> str:
    r"""A Markdown table, one row per experiment summary."""
    header = ('| experiment | task | dataset | model | method | runs | metric '
              '| val | test | seconds |')
    lines = [header, '|' + '---|' * 10]
    for s in rows:
        m = s['metric']
        summ = s['summary']
        lines.append(
            f"| {s['name']} | {s['task']} | {s['dataset']} | {s['model']} | "
            f"{s['method']} | {s['num_runs']} | {m} | "
            f"{_fmt(summ.get('val_' + m))} | {_fmt(summ.get('test_' + m))} | "
            f"{s['seconds']:.1f} |")
    extra = []
    for s in rows:
        others = [k for k in s['summary'] if k.startswith('test_')
                  and k != 'test_' + s['metric']]
        if others:
            extra.append(f"- **{s['name']}**: " + ', '.join(
                f"{k} = {_fmt(s['summary'][k])}" for k in others))
    if extra:
        lines += ['', 'Other test metrics:', ''] + extra
    return '\n'.join(lines) + '\n'


class _Session:
    r"""Everything :func:`run` and :func:`resume` share."""
    def __init__(self, cfg: ExperimentConfig, run_dir: Path, quiet: bool,
                 data_root: Optional[PathLike],
                 interrupt: Optional[Callable[[int], None]] = None,
                 command: Optional[str] = None,
                 parallel: Optional[Parallel] = None):
        self.cfg, self.run_dir = cfg, run_dir
        self.par = parallel if parallel is not None else Parallel(cfg)
        self.quiet = quiet or self.par.rank != 0
        self.interrupt, self.command = interrupt, command
        self._built: List[torch.nn.Module] = []
        self.root = str(get_data_root(data_root or cfg.data_root))
        load_plugins()
        self.task = TASKS.get(cfg.task.name).obj(cfg.task.options)
        self.method = METHODS.get(cfg.method.name).obj(cfg.method.options)
        if cfg.train.batch_size is not None and not self.method.minibatch:
            raise ConfigError(f"train.batch_size: method "
                              f"'{cfg.method.name}' trains full-batch and "
                              f"takes no mini-batches; remove "
                              f"train.batch_size")
        self.device = resolve_device(cfg.train.device, 'train.device')

    def execute(self) -> Dict[str, Any]:
        cfg, task = self.cfg, self.task
        if cfg.train.num_threads is not None:
            torch.set_num_threads(cfg.train.num_threads)
        t0 = time.perf_counter()
        with _options_named('dataset', cfg.dataset.options):
            data = task.load(DATASETS.get(cfg.dataset.name),
                             cfg.dataset.options, self.root)
        # dataset.adjacency: a cached CSR adj_t where the run can take it
        data, self.adjacency = attach_adjacency(cfg, task, self.method, data)
        num_splits = task.num_splits(data)
        splits = cfg.train.splits
        if splits is None:
            splits = list(range(num_splits))
        if len(set(splits)) != len(splits):
            raise ConfigError(f"train.splits: duplicate split in {splits}")
        for s in splits:
            if not 0 <= s < num_splits:
                raise ConfigError(f"train.splits: split {s} out of range; "
                                  f"dataset '{cfg.dataset.name}' has "
                                  f"{num_splits} split(s)")
        num_runs = cfg.train.runs
        if num_runs is None:
            num_runs = OGB_RUNS if _is_ogbn(cfg) else 1
        elif _is_ogbn(cfg) and num_runs < OGB_RUNS:
            warnings.warn(f"train.runs={num_runs}: OGB leaderboards ask for "
                          f"{OGB_RUNS} runs on {cfg.dataset.name}")
        jobs = [(s, cfg.train.seed + r) for s in splits
                for r in range(num_runs)]
        results: List[Optional[Dict[str, Any]]] = []
        par = self.par
        (self.run_dir / 'runs').mkdir(exist_ok=True)
        (self.run_dir / 'checkpoints').mkdir(exist_ok=True)
        bar = tqdm(jobs, desc=f'{cfg.name} runs', disable=self.quiet)
        for index, (split, seed) in enumerate(bar):
            tag = f'split{split}_seed{seed}'
            path = self.run_dir / 'runs' / f'{tag}.json'
            if path.exists():  # finished: never recomputed
                with open(path) as f:
                    results.append(json.load(f))
                continue
            if not par.owns(index):  # another shard's run
                results.append(None)
                continue
            split_data = task.get_split(data, split)
            # sizes are read once here, on the host, before the move
            channels = task.model_channels(split_data)
            split_data = task.to(split_data, self.device)
            seed_everything(seed)
            every = cfg.train.checkpoint_every
            ckpt = Checkpointer(
                self.run_dir / 'checkpoints' / f'{tag}.pt' if every else None,
                every)
            ctx = RunContext(config=cfg, task=task, data=split_data,
                             split=split, seed=seed,
                             build_model=self._model_builder(channels),
                             channels=channels,
                             checkpoint=ckpt, progress=not self.quiet,
                             device=self.device, interrupt=self.interrupt,
                             desc=tag, group=par.group)
            r0 = time.perf_counter()
            self._built = []
            result = self.method.run(ctx)
            if 'metrics' not in result:
                raise RuntimeError(f"method '{cfg.method.name}' returned no "
                                   f"'metrics'")
            result = dict(result)
            result.setdefault('num_params', count_parameters(self._built))
            result.update(split=split, seed=seed,
                          seconds=time.perf_counter() - r0,
                          rank=par.rank, world_size=par.world)
            result = _jsonable(result)  # what a resumed run reads back
            if par.writes_run():
                atomic_write_json(path, result)
                ckpt.clear()
            results.append(result)
        bar.close()
        par.barrier()  # every shard's runs are written
        for i, (split, seed) in enumerate(jobs):
            if results[i] is None:
                p = self.run_dir / 'runs' / f'split{split}_seed{seed}.json'
                if p.exists():
                    with open(p) as f:
                        results[i] = json.load(f)
        missing = sum(r is None for r in results)
        if missing:  # other shards of a job array are still running
            return {'name': cfg.name, 'pending_runs': missing,
                    'num_runs': len(jobs) - missing,
                    'seconds': time.perf_counter() - t0}
        summary = {
            'name': cfg.name,
            'task': cfg.task.name,
            'dataset': cfg.dataset.name,
            'model': cfg.model.name,
            'method': cfg.method.name,
            'adjacency': self.adjacency,
            'metric': task.metric,
            'higher_is_better': task.higher_is_better,
            'num_runs': len(results),
            'seconds': time.perf_counter() - t0,
            'summary': summarize(results),
        }
        if not par.writes_shared_files:
            return summary
        atomic_write_json(self.run_dir / 'summary.json', summary)
        atomic_write_text(self.run_dir / 'results.md', results_table([summary]))
        want = cfg.output.leaderboard
        if want or (want is None and _is_ogbn(cfg)):
            self._write_leaderboard(results)
        if cfg.output.plots:
            from pyg_ext.train.plots import plot_run
            plot_run(self.run_dir)
        return summary

    def _write_leaderboard(self, results: List[Dict[str, Any]]) -> None:
        cfg = self.cfg
        params = [r.get('num_params') for r in results
                  if r.get('num_params') is not None]
        row = leaderboard_row(
            method=cfg.method.name if cfg.method.name != 'supervised' else
            cfg.model.name, dataset=cfg.dataset.name,
            metric=self.task.metric, results=results,
            num_params=max(params) if params else 0, device=self.device,
            config=config_to_dict(cfg), command=self.command)
        atomic_write_json(self.run_dir / 'leaderboard.json', row)
        atomic_write_text(self.run_dir / 'leaderboard.md',
                          leaderboard_markdown(row))

    def _model_builder(self, channels) -> Callable[..., torch.nn.Module]:
        cfg, task, device = self.cfg, self.task, self.device

        def build_model(name: Optional[str] = None, **overrides):
            entry = MODELS.get(name or cfg.model.name)
            if name is None or name == cfg.model.name:
                options = cfg.model.options
            else:
                options = entry.options() if entry.options else None
            if overrides:
                if options is None:
                    raise ValueError(f"model '{entry.name}' takes no options")
                options = dataclasses.replace(options, **overrides)
            in_channels, out_channels = channels
            with _options_named('model', options):
                model = entry.obj(in_channels, out_channels, options)
            if hasattr(model, 'reset_parameters'):
                model.reset_parameters()
            self._built.append(model)
            return model.to(device)

        return build_model


@contextlib.contextmanager
def _options_named(prefix: str, options: Any):
    r"""A :class:`ValueError`/:class:`TypeError` about one option of a
    section (raised by the loader or the model builder) becomes a
    :class:`ConfigError` naming its dotted key (``dataset.num_nodes``)."""
    try:
        yield
    except ConfigError:
        raise
    except (ValueError, TypeError) as e:
        fields = [f.name for f in dataclasses.fields(options)] \
            if dataclasses.is_dataclass(options) else []
        err = option_error(prefix, fields, e)
        if str(err).startswith(f'{prefix}.'):
            raise err from e
        raise


def _is_ogbn(cfg: ExperimentConfig) -> bool:
    return cfg.dataset.name.startswith('ogbn')


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, torch.Tensor):
        return obj.tolist()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def run(config: Union[ExperimentConfig, PathLike, Dict[str, Any]],
        overrides: Sequence[str] = (), run_dir: Optional[PathLike] = None,
        quiet: bool = False, data_root: Optional[PathLike] = None,
        interrupt: Optional[Callable[[int], None]] = None,
        command: Optional[str] = None,
        shard: Optional[Union[str, Sequence[int]]] = None) -> Dict[str, Any]:
    r"""Runs one experiment and returns its summary.

    Args:
        config (ExperimentConfig or str or dict): The config, a YAML path or a
            raw dict.
        overrides (list of str): ``'key=value'`` overrides.
        run_dir (str, optional): The run directory (must not exist or be
            empty). By default ``<output.dir>/<name>-<timestamp>``.
        quiet (bool): Turn off progress bars.
        data_root (str, optional): The data root (else ``config.data_root``,
            ``$PYG_EXT_DATA`` or ``./datasets``).
        interrupt (callable, optional): Test hook called after each epoch.
        command (str, optional): The command line recorded in leaderboard
            rows (default: this process's ``sys.argv``).
        shard (str or tuple, optional): ``'i/N'``: compute only the runs
            ``i, i + N, ...`` into the shared :obj:`run_dir` (a job array;
            see :mod:`pyg_ext.train.parallel`). Under ``torchrun`` the runs
            are spread over the ranks by themselves.
    """
    if not isinstance(config, ExperimentConfig):
        config = load_config(config, overrides)
    elif overrides:
        config = load_config(config_to_dict(config), overrides)
    if isinstance(shard, str):
        shard = parse_shard(shard)
    par = Parallel(config, tuple(shard) if shard is not None else None)
    if par.mode == 'shard' and not par.torchrun:
        explicit = run_dir or config.output.run_dir
        if explicit is None:
            raise ConfigError('--shard needs --run-dir: the directory every '
                              'shard of the job shares')
        path = Path(explicit)
        path.mkdir(parents=True, exist_ok=True)
        check_joined_config(path, config_yaml(config))
        save_config(config, path / 'config.yaml')
        data_root = _save_data_root(path, data_root or config.data_root)
    else:
        path = None
        if par.rank == 0:
            path = make_run_dir(config, run_dir)
            save_config(config, path / 'config.yaml')
            data_root = _save_data_root(path, data_root or config.data_root)
        path, data_root = par.share((str(path) if path else None,
                                     data_root))
        path = Path(path)
    summary = _Session(config, path, quiet, data_root, interrupt,
                       command, par).execute()
    summary['run_dir'] = str(path)
    return summary


def _save_data_root(run_dir: Path, data_root: Optional[PathLike]) -> str:
    r"""Resolves the data root now and records it, so that a resumed run
    reads the same files without being told the root again."""
    root = str(get_data_root(data_root).resolve())
    atomic_write_json(run_dir / 'meta.json', {'data_root': root})
    return root


def _saved_data_root(run_dir: Path,
                     data_root: Optional[PathLike]) -> Optional[PathLike]:
    if data_root is not None:
        return data_root
    meta = run_dir / 'meta.json'
    if meta.exists():
        with open(meta) as f:
            return json.load(f).get('data_root')
    return None


def resume(run_dir: PathLike, quiet: bool = False,
           data_root: Optional[PathLike] = None,
           interrupt: Optional[Callable[[int], None]] = None,
           device: Optional[str] = None) -> Dict[str, Any]:
    r"""Continues an interrupted run directory: finished runs are read back,
    the interrupted one restarts from its last checkpoint. :obj:`device`
    replaces the saved ``train.device`` (a run checkpointed on a GPU
    resumes on a CPU and the other way round)."""
    path = Path(run_dir)
    if (path / 'suite.yaml').exists():
        return run_suite(path / 'suite.yaml', run_dir=path, quiet=quiet,
                         data_root=data_root, resume=True, device=device)
    if not (path / 'config.yaml').exists():
        raise FileNotFoundError(f"'{path}' is not a run directory (no "
                                f"config.yaml)")
    config = load_config(path / 'config.yaml',
                         [f'train.device={device}'] if device else ())
    data_root = _saved_data_root(path, data_root)
    summary = _Session(config, path, quiet, data_root, interrupt).execute()
    summary['run_dir'] = str(path)
    return summary


def _deep_merge(base: Dict[str, Any], extra: Dict[str, Any]) -> Dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in extra.items():
        b = out.get(k)
        if isinstance(b, dict) and isinstance(v, dict):
            if 'name' in v and 'name' in b and v['name'] != b['name']:
                out[k] = copy.deepcopy(v)  # another entry: replace
            else:
                out[k] = _deep_merge(b, v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def load_suite(source: Union[PathLike, Dict[str, Any]],
               overrides: Sequence[str] = ()) -> List[ExperimentConfig]:
    r"""Reads a suite (``defaults`` + ``experiments`` list) and returns the
    resolved experiment configs; ``overrides`` apply to every experiment."""
    if isinstance(source, dict):
        raw = source
    else:
        raw = read_yaml(source, 'suite')
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a suite mapping at the top "
                          f"level, got {type(raw).__name__}")
    unknown = set(raw) - {'name', 'defaults', 'experiments'}
    if unknown:
        raise ConfigError(f"unknown suite key '{sorted(unknown)[0]}'; known "
                          f"keys: defaults, experiments, name")
    exps = raw.get('experiments')
    if not isinstance(exps, list) or not exps:
        raise ConfigError("experiments: expected a non-empty list of "
                          "experiment mappings")
    defaults = raw.get('defaults') or {}
    configs, names = [], set()
    for i, e in enumerate(exps):
        if not isinstance(e, dict):
            raise ConfigError(f"experiments[{i}]: expected a mapping")
        try:
            cfg = load_config(_deep_merge(defaults, e), overrides)
        except ConfigError as err:
            msg = str(err)
            sep = '.' if re.match(r'^[\w.\[\]]+: ', msg) else ': '
            raise ConfigError(f"experiments[{i}]{sep}{msg}") from None
        if cfg.name in names:
            raise ConfigError(f"experiments[{i}].name: duplicate name "
                              f"'{cfg.name}'")
        names.add(cfg.name)
        configs.append(cfg)
    return configs


def is_suite(path: PathLike) -> bool:
    raw = read_yaml(path)
    return isinstance(raw, dict) and 'experiments' in raw


def run_suite(source: Union[PathLike, Dict[str, Any]],
              overrides: Sequence[str] = (),
              run_dir: Optional[PathLike] = None, quiet: bool = False,
              data_root: Optional[PathLike] = None, resume: bool = False,
              only: Optional[Sequence[str]] = None,
              device: Optional[str] = None) -> Dict[str, Any]:
    r"""Runs every experiment of a suite into ``<run_dir>/<experiment>`` and
    writes a combined ``results.md`` / ``summary.json``. With :obj:`resume`,
    finished experiments and runs are read back, not recomputed."""
    if resume:
        path = Path(run_dir)
        data_root = _saved_data_root(path, data_root)
        with open(path / 'suite.yaml') as f:
            raw = yaml_load(f)
        with open(path / 'overrides.json') as f:
            overrides = json.load(f)
        if device:
            overrides = list(overrides) + [f'train.device={device}']
    else:
        if isinstance(source, dict):
            raw = copy.deepcopy(source)
        else:
            raw = read_yaml(source, 'suite')
        if only:
            keep = set(only)
            raw['experiments'] = [
                e for e in raw.get('experiments', [])
                if e.get('name') in keep
            ]
            missing = keep - {e.get('name') for e in raw['experiments']}
            if missing:
                raise ConfigError(f"--only: no experiment named "
                                  f"{sorted(missing)[0]!r}")
    configs = load_suite(raw, overrides)
    if not resume:
        tmp = ExperimentConfig(name=raw.get('name', 'suite'))
        tmp.output.dir = configs[0].output.dir
        path = make_run_dir(tmp, run_dir)
        atomic_write_text(path / 'suite.yaml',
                          yaml.safe_dump(raw, sort_keys=False))
        atomic_write_json(path / 'overrides.json', list(overrides))
        data_root = _save_data_root(path, data_root or configs[0].data_root)
    summaries = []
    for cfg in configs:
        sub = path / cfg.name
        if resume and (sub / 'config.yaml').exists():
            sub_cfg = load_config(sub / 'config.yaml',
                                  [f'train.device={device}'] if device
                                  else ())
            s = _Session(sub_cfg, sub, quiet, data_root).execute()
        else:
            sub.mkdir(parents=True, exist_ok=True)
            save_config(cfg, sub / 'config.yaml')
            s = _Session(cfg, sub, quiet, data_root).execute()
        summaries.append(s)
    table = results_table(summaries)
    atomic_write_json(path / 'summary.json', summaries)
    atomic_write_text(path / 'results.md', table)
    return {'run_dir': str(path), 'experiments': summaries, 'table': table}
