r"""OGB leaderboard rows: what an `OGB leaderboard submission
<https://ogb.stanford.edu/docs/leader_rules/>`_ asks for, written next to a
run's results as ``leaderboard.md`` and ``leaderboard.json``: the method,
the dataset, test and validation mean and unbiased standard deviation over
the runs (OGB asks for 10), the number of parameters, the hardware, the
package version, the exact command and the resolved config."""
import math
import os
import platform
import shlex
import sys
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch

__all__ = ['OGB_RUNS', 'hardware', 'count_parameters', 'leaderboard_row',
           'leaderboard_markdown', 'mean_std']

OGB_RUNS = 10


def count_parameters(modules: Sequence[torch.nn.Module]) -> int:
    r"""Trainable and frozen parameters of every distinct module (shared
    sub-modules and parameters counted once)."""
    seen, total = set(), 0
    for m in modules:
        for p in m.parameters():
            if id(p) not in seen:
                seen.add(id(p))
                total += p.numel()
    return total


def _cpu_model() -> str:
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.lower().startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or 'unknown CPU'


def hardware(device: torch.device) -> Dict[str, Any]:
    r"""The CPU model and core count, and the GPU name and count when the
    run used CUDA."""
    info: Dict[str, Any] = {'cpu': _cpu_model(),
                            'cpu_count': os.cpu_count() or 0}
    if device.type == 'cuda' and torch.cuda.is_available():
        n = torch.cuda.device_count()
        info['gpu'] = torch.cuda.get_device_name(device.index or 0)
        info['gpu_count'] = n
    return info


def mean_std(values: List[float]) -> Dict[str, Any]:
    r"""Mean and unbiased (``ddof=1``) standard deviation; the std is
    :obj:`None` (written ``n/a``) for fewer than two values, never NaN."""
    a = np.asarray([v for v in values if v is not None and
                    not (isinstance(v, float) and math.isnan(v))],
                   dtype=np.float64)
    if a.size == 0:
        return {'mean': None, 'std': None, 'n': 0}
    std = float(a.std(ddof=1)) if a.size > 1 else None
    return {'mean': float(a.mean()), 'std': std, 'n': int(a.size)}


def leaderboard_row(*, method: str, dataset: str, metric: str,
                    results: List[Dict[str, Any]], num_params: int,
                    device: torch.device, config: Dict[str, Any],
                    command: Optional[str] = None) -> Dict[str, Any]:
    r"""The leaderboard fields of one finished experiment.

    Args:
        method (str): Method name as shown on the leaderboard.
        dataset (str): Dataset name.
        metric (str): The task's main metric (``'accuracy'``, ...).
        results (list of dict): The per-run results (``'metrics'``).
        num_params (int): Parameters of every trained stage.
        device (torch.device): The device the runs used.
        config (dict): The resolved config.
        command (str, optional): The command line (default: this
            process's ``sys.argv``).
    """
    import pyg_ext
    import torch_geometric
    test = [r['metrics'].get(f'test_{metric}') for r in results]
    val = [r['metrics'].get(f'val_{metric}') for r in results]
    return {
        'method': method,
        'dataset': dataset,
        'metric': metric,
        'num_runs': len(results),
        'test': mean_std(test),
        'validation': mean_std(val),
        'num_params': int(num_params),
        'hardware': hardware(device),
        'package': {'pyg_ext': pyg_ext.__version__,
                    'torch': torch.__version__,
                    'torch_geometric': torch_geometric.__version__,
                    'python': platform.python_version()},
        'command': command if command is not None else shlex.join(sys.argv),
        'config': config,
    }


def _fmt(stat: Dict[str, Any]) -> str:
    if stat['mean'] is None:
        return 'n/a'
    std = 'n/a' if stat['std'] is None else f"{stat['std']:.4f}"
    return f"{stat['mean']:.4f} ± {std}"


def leaderboard_markdown(row: Dict[str, Any]) -> str:
    r"""The row as a Markdown table plus the command and hardware."""
    hw = row['hardware']
    hw_text = f"{hw['cpu']} ({hw['cpu_count']} cores)"
    if 'gpu' in hw:
        hw_text += f" + {hw['gpu_count']} x {hw['gpu']}"
    pk = row['package']
    lines = [
        f"# Leaderboard row: {row['method']} on {row['dataset']}", '',
        '| method | dataset | test ' + row['metric'] + ' | validation '
        + row['metric'] + ' | #params | runs | hardware |',
        '|---|---|---|---|---|---|---|',
        f"| {row['method']} | {row['dataset']} | {_fmt(row['test'])} | "
        f"{_fmt(row['validation'])} | {row['num_params']:,} | "
        f"{row['num_runs']} | {hw_text} |", '',
        'Mean ± unbiased standard deviation over the runs (n/a: fewer than '
        'two runs).', '',
        f"Package: pyg_ext {pk['pyg_ext']}, torch {pk['torch']}, "
        f"torch_geometric {pk['torch_geometric']}, Python {pk['python']}.",
        '', 'Command:', '', '```bash', row['command'], '```', '',
        'The resolved config is in `config.yaml` and `leaderboard.json`.',
    ]
    if row['num_runs'] < OGB_RUNS:
        lines += ['', f"**Note:** {row['num_runs']} run(s); OGB "
                  f"leaderboards ask for {OGB_RUNS}."]
    return '\n'.join(lines) + '\n'
