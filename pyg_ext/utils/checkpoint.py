r"""Atomic file writes, random-generator states and resumable checkpoints.

Every file goes through a temporary file in the same folder, ``fsync`` and
:func:`os.replace`, so a process killed at any moment leaves either the old
file or the new one, never a torn one. Checkpoints are read back onto the
CPU (``map_location='cpu'``) and copied into the live model and optimizer
wherever those are, so a checkpoint written on a GPU resumes on a CPU and
the other way round.
"""
import json
import os
import random
import tempfile
from pathlib import Path
from typing import Any, Dict, Optional, Union

import numpy as np
import torch

__all__ = [
    'atomic_write_bytes',
    'atomic_write_text',
    'atomic_write_json',
    'atomic_torch_save',
    'seed_everything',
    'get_rng_state',
    'set_rng_state',
    'Checkpointer',
]

PathLike = Union[str, os.PathLike]


def _atomic_write(path: PathLike, write_fn) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f'.{path.name}.',
                               suffix='.tmp')
    try:
        with os.fdopen(fd, 'wb') as f:
            write_fn(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: PathLike, data: bytes) -> None:
    _atomic_write(path, lambda f: f.write(data))


def atomic_write_text(path: PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode('utf-8'))


def atomic_write_json(path: PathLike, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False) + '\n')


def atomic_torch_save(obj: Any, path: PathLike) -> None:
    _atomic_write(path, lambda f: torch.save(obj, f))


def seed_everything(seed: int) -> None:
    r"""Seeds Python's, NumPy's and torch's global generators (every CUDA
    device included)."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"'seed' must be an int >= 0, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)  # also seeds every CUDA device


def get_rng_state() -> Dict[str, Any]:
    r"""The state of Python's, NumPy's and torch's global generators,
    including every CUDA device's when CUDA is initialised."""
    state = {
        'python': random.getstate(),
        'numpy': np.random.get_state(),
        'torch': torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Dict[str, Any]) -> None:
    r"""Restores :func:`get_rng_state`. CUDA states are restored when CUDA
    is available (a state written on a GPU machine resumes on a CPU one
    without them)."""
    random.setstate(state['python'])
    np.random.set_state(state['numpy'])
    torch.set_rng_state(state['torch'].cpu())
    cuda = state.get('cuda')
    if cuda is not None and torch.cuda.is_available():
        n = min(len(cuda), torch.cuda.device_count())
        for i in range(n):
            torch.cuda.set_rng_state(cuda[i].cpu(), i)


class Checkpointer:
    r"""Saves and loads one resumable state dict at :obj:`path`.

    Args:
        path (str or Path, optional): The checkpoint file. With :obj:`None`
            nothing is written and :meth:`load` returns :obj:`None`.
        every (int): How many epochs between checkpoints (``0``: only at
            the end of each training phase; see :meth:`due`).
    """
    def __init__(self, path: Optional[PathLike], every: int = 10):
        if isinstance(every, bool) or not isinstance(every, int) or \
                every < 0:
            raise ValueError(f"'every' must be an int >= 0, got {every!r}")
        self.path = None if path is None else Path(path)
        self.every = int(every)

    @property
    def enabled(self) -> bool:
        return self.path is not None

    def due(self, epoch: int) -> bool:
        r"""Whether a checkpoint is due after (0-based) :obj:`epoch`."""
        return (self.path is not None and self.every > 0
                and (epoch + 1) % self.every == 0)

    def save(self, state: Dict[str, Any]) -> None:
        if self.path is not None:
            atomic_torch_save(state, self.path)

    def load(self) -> Optional[Dict[str, Any]]:
        r"""The saved state on the CPU, or :obj:`None`."""
        if self.path is None or not self.path.exists():
            return None
        return torch.load(self.path, map_location='cpu', weights_only=False)

    def clear(self) -> None:
        if self.path is not None and self.path.exists():
            self.path.unlink()

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({str(self.path)!r}, '
                f'every={self.every})')
