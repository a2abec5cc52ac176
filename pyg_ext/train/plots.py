r"""PNG plots of a run directory (matplotlib, Agg backend): learning curves
from the per-run histories, metric-vs-parameter curves that methods report
under ``'curves'``, and for a suite a bar chart of the main test metric."""
import json
import os
from pathlib import Path
from typing import Dict, List, Union

import numpy as np

__all__ = ['plot_run']

PathLike = Union[str, os.PathLike]


def _plt():
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


def _load_runs(run_dir: Path) -> List[dict]:
    runs = []
    for p in sorted((run_dir / 'runs').glob('*.json')):
        with open(p) as f:
            runs.append(json.load(f))
    return runs


def _plot_experiment(run_dir: Path, out_dir: Path) -> List[Path]:
    plt = _plt()
    runs = _load_runs(run_dir)
    written = []
    with open(run_dir / 'summary.json') as f:
        summary = json.load(f)
    metric = summary['metric']
    hist_runs = [r for r in runs if r.get('history', {}).get('epoch')]
    if hist_runs:
        keys = [k for k in ('train_loss', 'val_loss', f'train_{metric}',
                            f'val_{metric}', f'test_{metric}')
                if k in hist_runs[0]['history']]
        fig, axes = plt.subplots(1, 2, figsize=(10, 4))
        for k in keys:
            ax = axes[0] if k.endswith('loss') else axes[1]
            for i, r in enumerate(hist_runs):
                h = r['history']
                ax.plot(h['epoch'], h[k], alpha=0.6,
                        color=f'C{keys.index(k)}',
                        label=k if i == 0 else None)
        axes[0].set_xlabel('epoch')
        axes[0].set_ylabel('loss')
        axes[1].set_xlabel('epoch')
        axes[1].set_ylabel(metric)
        for ax in axes:
            ax.legend()
        fig.suptitle(f"{summary['name']}: {summary['model']} / "
                     f"{summary['method']} on {summary['dataset']}")
        fig.tight_layout()
        path = out_dir / f"{summary['name']}_learning_curves.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    curve_names: Dict[str, None] = {}
    for r in runs:
        for name in r.get('curves', {}) or {}:
            curve_names[name] = None
    for name in curve_names:
        fig, ax = plt.subplots(figsize=(6, 4))
        xs, ys = [], []
        xlabel, ylabel = 'x', name
        for r in runs:
            c = r.get('curves', {}).get(name)
            if c:
                ax.plot(c['x'], c['y'], alpha=0.3, color='C0')
                xs.append(c['x'])
                ys.append(c['y'])
                xlabel, ylabel = c.get('xlabel', 'x'), c.get('ylabel', name)
        if ys and all(len(y) == len(ys[0]) for y in ys):
            ax.errorbar(xs[0], np.mean(ys, 0), yerr=np.std(ys, 0),
                        color='C0', marker='o', label='mean ± std')
            ax.legend()
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(f"{summary['name']}: {name}")
        fig.tight_layout()
        path = out_dir / f"{summary['name']}_{name}.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    return written


def plot_run(run_dir: PathLike, out_dir: PathLike = None) -> List[Path]:
    r"""Writes PNG plots for a run (or suite) directory and returns their
    paths. Plots go to ``<run_dir>/plots`` unless :obj:`out_dir` is given."""
    run_dir = Path(run_dir)
    if not (run_dir / 'summary.json').exists():
        raise FileNotFoundError(f"'{run_dir}' has no summary.json: not a "
                                f"finished run directory")
    out_dir = Path(out_dir) if out_dir else run_dir / 'plots'
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / 'summary.json') as f:
        summary = json.load(f)
    if isinstance(summary, dict):
        return _plot_experiment(run_dir, out_dir)
    written = []
    for s in summary:
        sub = run_dir / s['name']
        if (sub / 'summary.json').exists():
            written += _plot_experiment(sub, out_dir)
    plt = _plt()
    fig, ax = plt.subplots(figsize=(max(5, len(summary)), 4))
    names = [s['name'] for s in summary]
    means = [s['summary'].get('test_' + s['metric'], {}).get('mean', np.nan)
             for s in summary]
    stds = [s['summary'].get('test_' + s['metric'], {}).get('std', 0.0)
            for s in summary]
    ax.bar(names, means, yerr=stds, color='C0')
    ax.set_ylabel('test (main metric of each experiment)')
    ax.tick_params(axis='x', rotation=45)
    fig.tight_layout()
    path = out_dir / 'suite_test_metric.png'
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return written + [path]
