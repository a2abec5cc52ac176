r"""Argument checks shared by the public :mod:`pyg_ext.influence` entry
points: every value is checked once, at entry, and rejected with a
:class:`TypeError`/:class:`ValueError` that names the argument, what was
expected and what was got; sample sizes are bounded by explicit
``max_rr_sets`` / ``max_memory`` / ``max_samples`` arguments."""
import math
import os
from typing import Any, Optional

import numpy as np
import torch

__all__ = [
    'check_int', 'check_float', 'check_choice', 'check_bool', 'index_array',
    'node_mask', 'prob_array', 'score_array', 'default_max_memory', 'check_budget',
    'fmt_bytes', 'MAX_RR_SETS', 'RR_SET_BYTES', 'RR_ENTRY_BYTES'
]

#: Hard limit of one RR collection (RR ids are int32 in the node -> RR index).
MAX_RR_SETS = 2**31 - 1
#: Bytes per RR set (``ptr`` int64 + ``roots`` int32 + ``covered`` flag).
RR_SET_BYTES = 13
#: Bytes per RR-set entry (``nodes`` int32 + its node -> RR index int32).
RR_ENTRY_BYTES = 8


def _is_int(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(
        x, (bool, np.bool_))


def check_int(x: Any, name: str, low: Optional[int] = None,
              high: Optional[int] = None) -> int:
    r"""An int (not bool/float) in ``[low, high]``."""
    if isinstance(x, torch.Tensor) and x.dim() == 0 and not (
            x.is_floating_point() or x.dtype == torch.bool):
        x = int(x)
    if not _is_int(x):
        raise TypeError(f"'{name}' must be an int, got "
                        f"{type(x).__name__} {x!r}")
    x = int(x)
    if low is not None and x < low:
        raise ValueError(f"'{name}' must be >= {low}, got {x}")
    if high is not None and x > high:
        raise ValueError(f"'{name}' must be <= {high}, got {x}")
    return x


def check_float(x: Any, name: str, low: float = -math.inf,
                high: float = math.inf, low_open: bool = False,
                high_open: bool = False) -> float:
    r"""A finite real number in the interval given by the bounds."""
    if isinstance(x, torch.Tensor) and x.dim() == 0 and x.dtype != \
            torch.bool:
        x = x.item()
    if isinstance(x, (bool, np.bool_)) or not isinstance(
            x, (int, float, np.integer, np.floating)):
        raise TypeError(f"'{name}' must be a number, got "
                        f"{type(x).__name__} {x!r}")
    x = float(x)
    lo_ok = x > low if low_open else x >= low
    hi_ok = x < high if high_open else x <= high
    if not math.isfinite(x) or not (lo_ok and hi_ok):
        lb = '(' if low_open else '['
        hb = ')' if high_open else ']'
        raise ValueError(f"'{name}' must lie in {lb}{low:g}, {high:g}{hb} "
                         f"(finite), got {x!r}")
    return x


def check_choice(x: Any, name: str, choices) -> Any:
    if not isinstance(x, str) or x not in choices:
        opts = ', '.join(repr(c) for c in choices)
        raise ValueError(f"'{name}' must be one of {opts}, got {x!r}")
    return x


def check_bool(x: Any, name: str) -> bool:
    if not isinstance(x, (bool, np.bool_)):
        raise TypeError(f"'{name}' must be a bool, got "
                        f"{type(x).__name__} {x!r}")
    return bool(x)


def _as_numpy(x: Any, name: str) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    if isinstance(x, np.ndarray):
        return x
    if _is_int(x):
        return np.asarray([x], dtype=np.int64)
    if isinstance(x, (list, tuple, range)):
        a = np.asarray(x)
        if a.size == 0:
            return np.zeros(0, dtype=np.int64)
        if a.dtype == object:
            raise TypeError(f"'{name}' must hold integer node ids, got a "
                            f"ragged or mixed sequence")
        return a
    raise TypeError(f"'{name}' must be a LongTensor, an integer array or a "
                    f"list of node ids, got {type(x).__name__}")


def index_array(x: Any, name: str, n: int, allow_mask: bool = False,
                unique: bool = False) -> np.ndarray:
    r"""Node ids as int64 ``[k]`` (1-D, in ``[0, n)``). With
    :obj:`allow_mask`, a bool tensor/array of length exactly :obj:`n` is
    read as a mask."""
    a = _as_numpy(x, name)
    if a.dtype == np.bool_:
        if not allow_mask:
            raise TypeError(f"'{name}' must hold integer node ids, got a "
                            f"bool array")
        if a.ndim != 1 or a.shape[0] != n:
            raise ValueError(f"'{name}' as a bool mask must have shape "
                             f"[{n}] (one entry per node), got "
                             f"{list(a.shape)}")
        return np.flatnonzero(a).astype(np.int64)
    if not np.issubdtype(a.dtype, np.integer):
        raise TypeError(f"'{name}' must hold integer node ids, got dtype "
                        f"{a.dtype}")
    if a.ndim > 1:
        raise ValueError(f"'{name}' must be 1-D, got shape {list(a.shape)}")
    a = a.reshape(-1).astype(np.int64, copy=False)
    if a.size and (a.min() < 0 or a.max() >= n):
        raise ValueError(f"'{name}' must be node ids in [0, {n - 1}], got "
                         f"min {a.min()} max {a.max()}")
    if unique and np.unique(a).shape[0] != a.shape[0]:
        raise ValueError(f"'{name}' must not repeat a node")
    return a


def node_mask(x: Any, name: str, n: int) -> np.ndarray:
    r"""A uint8 ``[n]`` mask from node ids or a bool mask (``None``: all
    zero)."""
    mask = np.zeros(n, dtype=np.uint8)
    if x is not None:
        mask[index_array(x, name, n, allow_mask=True)] = 1
    return mask


def prob_array(x: Any, name: str, length: int, what: str = 'edge',
               dtype=np.float64) -> np.ndarray:
    r"""A 1-D float array of finite values in [0, 1], one per
    :obj:`what`."""
    if isinstance(x, torch.Tensor):
        if x.dtype == torch.bool or not (x.is_floating_point() or
                                         x.dtype in (torch.int64,
                                                     torch.int32)):
            raise TypeError(f"'{name}' must be a float tensor, got dtype "
                            f"{x.dtype}")
        a = x.detach().cpu().to(torch.float64).numpy()
    else:
        try:
            a = np.asarray(x)
        except Exception:  # pragma: no cover - numpy raises many types
            raise TypeError(f"'{name}' must be a float tensor or array, got "
                            f"{type(x).__name__}")
        if a.dtype == np.bool_ or not (np.issubdtype(a.dtype, np.floating)
                                       or np.issubdtype(a.dtype,
                                                        np.integer)):
            raise TypeError(f"'{name}' must hold floats, got dtype "
                            f"{a.dtype}")
    if a.ndim != 1:
        raise ValueError(f"'{name}' must be 1-D with one value per {what} "
                         f"({length}), got shape {list(a.shape)}")
    if a.shape[0] != length:
        raise ValueError(f"'{name}' must have one value per {what} "
                         f"({length}), got {a.shape[0]}")
    a = a.astype(dtype, copy=False)
    bad = ~((a >= 0) & (a <= 1))
    if bad.any():
        raise ValueError(f"'{name}' must lie in [0, 1] (finite), got values "
                         f"such as {a[bad][:3].tolist()}")
    return a


def score_array(x: Any, name: str, length: int) -> np.ndarray:
    r"""A 1-D float64 array of finite scores, one per node."""
    if x is None:
        raise ValueError(f"'{name}' is required (one score per node)")
    if isinstance(x, torch.Tensor):
        if x.dtype == torch.bool or x.is_complex():
            raise TypeError(f"'{name}' must be a real tensor, got dtype "
                            f"{x.dtype}")
        a = x.detach().cpu().to(torch.float64).numpy()
    else:
        a = np.asarray(x)
        if a.dtype == np.bool_ or not (np.issubdtype(a.dtype, np.floating)
                                       or np.issubdtype(a.dtype,
                                                        np.integer)):
            raise TypeError(f"'{name}' must hold real numbers, got dtype "
                            f"{a.dtype}")
        a = a.astype(np.float64)
    if a.ndim != 1 or a.shape[0] != length:
        raise ValueError(f"'{name}' must have shape [{length}] (one value "
                         f"per node), got {list(a.shape)}")
    if not np.isfinite(a).all():
        raise ValueError(f"'{name}' must be finite, got NaN or inf")
    return a


def default_max_memory() -> int:
    r"""The default memory bound of one request: half of the physical
    memory (12 GiB on a 24 GiB machine), 4 GiB if it cannot be read."""
    try:
        return int(os.sysconf('SC_PAGE_SIZE') *
                   os.sysconf('SC_PHYS_PAGES')) // 2
    except (ValueError, OSError, AttributeError):  # pragma: no cover
        return 4 * 2**30


def fmt_bytes(b: float) -> str:
    for unit, s in (('TiB', 2**40), ('GiB', 2**30), ('MiB', 2**20),
                    ('KiB', 2**10)):
        if b >= s:
            return f'{b / s:.1f} {unit}'
    return f'{int(b)} B'


def check_budget(what: str, count: float, nbytes: float,
                 max_count: Optional[int], max_memory: Optional[int],
                 count_name: str = 'max_rr_sets',
                 unit: str = 'RR sets', arg: Optional[str] = None) -> None:
    r"""Refuses a request of :obj:`count` items and an estimated
    :obj:`nbytes` before any work starts; the message names the argument
    that asked (:obj:`arg`) and the one that bounds it."""
    asked = f" (from '{arg}')" if arg else ''
    if max_count is not None and count > max_count:
        raise ValueError(f"{what} needs {count:.4g} {unit}{asked}, estimated "
                         f"memory {fmt_bytes(nbytes)}, more than "
                         f"{count_name}={max_count}; pass a larger "
                         f"'{count_name}' or a smaller request")
    mm = default_max_memory() if max_memory is None else max_memory
    if nbytes > mm:
        raise ValueError(f"{what} needs {count:.4g} {unit}{asked} and an "
                         f"estimated {fmt_bytes(nbytes)} of memory, more "
                         f"than max_memory={fmt_bytes(mm)}; pass a larger "
                         f"'max_memory' (bytes) or a smaller request")


def check_limit(x: Any, name: str) -> Optional[int]:
    r"""``max_rr_sets`` / ``max_memory`` / ``max_samples``: None or an int
    >= 1."""
    if x is None:
        return None
    return check_int(x, name, 1)
