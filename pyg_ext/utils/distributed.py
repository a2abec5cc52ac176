r"""Several processes through :mod:`torch.distributed` (launched by
``torchrun`` on one or several machines; gloo on CPUs, NCCL on GPUs).

Nothing here starts processes: ``torchrun`` does, and sets ``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``.
:func:`init_distributed` joins that group; :func:`agree` makes every rank
check that all ranks were called with the same arguments (a mismatch is an
error on every rank, not a hang); :func:`all_reduce_floats` averages or sums
per-rank metrics.

Example (one process, no group):
    >>> get_rank(), get_world_size(), is_main_process()
    (0, 1, True)
"""
import atexit
import hashlib
import os
import pickle
from typing import Any, Dict, List, Optional

import torch
import torch.distributed as dist

__all__ = ['ENV_VARS', 'DistributedError', 'launched_by_torchrun',
           'init_distributed', 'is_distributed', 'get_rank',
           'get_world_size', 'is_main_process', 'barrier', 'agree',
           'all_reduce_floats', 'broadcast_object', 'resolve_group']

ENV_VARS = ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT')


class DistributedError(ValueError):
    r"""A process group is missing, or ranks disagree on their
    arguments."""


def launched_by_torchrun() -> bool:
    r"""Whether the torchrun variables are set (``WORLD_SIZE`` > 1 or a
    rendezvous of one)."""
    return all(v in os.environ for v in ENV_VARS)


def init_distributed(backend: Optional[str] = None,
                     timeout_s: float = 600.0) -> bool:
    r"""Joins the process group described by torchrun's environment
    variables (once; later calls return at once).

    Args:
        backend (str, optional): ``'gloo'`` or ``'nccl'`` (default: NCCL
            when CUDA is available, else gloo).
        timeout_s (float): Collective timeout in seconds, so that a rank
            that died does not hang the others forever.

    Returns:
        bool: :obj:`True` if this process is part of a group of two or
        more.

    Raises:
        DistributedError: naming the variables that are not set.
    """
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size() > 1
    missing = [v for v in ENV_VARS if v not in os.environ]
    if missing:
        raise DistributedError(
            f"distributed=True needs a process group, but the environment "
            f"variables {', '.join(missing)} are not set; launch with "
            f"torchrun (e.g. `torchrun --nproc-per-node 2 ...`) or pass "
            f"an initialised group")
    if backend is None:
        backend = 'nccl' if torch.cuda.is_available() else 'gloo'
    if backend not in ('gloo', 'nccl'):
        raise ValueError(f"'backend' must be 'gloo' or 'nccl', got "
                         f"{backend!r}")
    if backend == 'nccl':
        torch.cuda.set_device(int(os.environ.get('LOCAL_RANK', 0)))
    import datetime
    dist.init_process_group(backend,
                            timeout=datetime.timedelta(seconds=timeout_s))
    # leave the group cleanly at exit: a gloo process that exits with its
    # group alive can abort ("terminate called without an active exception")
    atexit.register(_leave_group)
    return dist.get_world_size() > 1


def _leave_group() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def is_distributed(group=None) -> bool:
    return (dist.is_available() and dist.is_initialized()
            and dist.get_world_size(group) > 1)


def get_rank(group=None) -> int:
    return dist.get_rank(group) if is_distributed(group) else 0


def get_world_size(group=None) -> int:
    return dist.get_world_size(group) if is_distributed(group) else 1


def is_main_process(group=None) -> bool:
    return get_rank(group) == 0


def barrier(group=None) -> None:
    if is_distributed(group):
        dist.barrier(group)


def resolve_group(group=None, distributed: bool = False):
    r"""The process group of a distributed call: :obj:`group` when given,
    else the default group when :obj:`distributed` is true (joined from
    torchrun's variables if needed), else :obj:`None` (one process)."""
    if group is not None:
        if not (dist.is_available() and dist.is_initialized()):
            raise DistributedError("'group' was given but torch.distributed "
                                   "is not initialised")
        return group
    if distributed:
        init_distributed()
        return dist.group.WORLD
    return None


_GLOO: Dict[Any, Any] = {}  # default group -> its gloo twin


def cpu_group(group, explicit: bool):
    r"""A group that moves CPU tensors: :obj:`group` itself when its
    backend is gloo; for the default group of another backend (NCCL under
    torchrun on GPUs) a gloo group of the same ranks, created once (every
    rank takes this path together); an explicit non-gloo group is refused
    (creating its twin would need the ranks outside it too)."""
    backend = str(dist.get_backend(group)).lower()
    if 'gloo' in backend:
        return group
    if explicit:
        raise ValueError(f"'group' must be a gloo process group (influence "
                         f"maximisation moves CPU arrays), got backend "
                         f"'{backend}'; create one with "
                         f"torch.distributed.new_group(ranks, "
                         f"backend='gloo')")
    if group not in _GLOO:
        _GLOO[group] = dist.new_group(backend='gloo')
    return _GLOO[group]


def _fingerprint(obj: Any) -> str:
    return hashlib.sha256(pickle.dumps(obj, protocol=4)).hexdigest()


def agree(what: str, args: Dict[str, Any], group=None) -> None:
    r"""Checks that every rank passes the same :obj:`args` (compared by a
    hash of their pickled values; tensors by their bytes).

    Raises:
        DistributedError: on every rank, naming the ranks and keys that
            differ.
    """
    if not is_distributed(group):
        return
    norm = {k: (v.detach().cpu().numpy().tobytes(), tuple(v.shape),
                str(v.dtype)) if isinstance(v, torch.Tensor) else v
            for k, v in args.items()}
    mine = {k: _fingerprint(v) for k, v in norm.items()}
    if dist.get_backend(group) == 'gloo':
        # one all-gather of a 32-byte digest (the common, agreeing case);
        # the per-key comparison below only when the digests differ
        digest = torch.frombuffer(bytearray(hashlib.sha256(pickle.dumps(
            sorted(mine.items()), protocol=4)).digest()), dtype=torch.uint8)
        got = [torch.empty_like(digest)
               for _ in range(dist.get_world_size(group))]
        dist.all_gather(got, digest, group=group)
        if all(torch.equal(g, got[0]) for g in got):
            return
    everyone: List[Any] = [None] * dist.get_world_size(group)
    dist.all_gather_object(everyone, mine, group=group)
    bad = sorted({k for d in everyone for k in set(d) | set(mine)
                  if d.get(k) != mine.get(k)})
    if bad:
        ranks = [r for r, d in enumerate(everyone) if d != everyone[0]]
        raise DistributedError(
            f"{what}: the ranks of the process group were called with "
            f"different arguments ({', '.join(bad)}; ranks {ranks} differ "
            f"from rank 0); every rank must pass the same values")


def all_reduce_floats(values: Dict[str, float], op: str = 'mean',
                      group=None) -> Dict[str, float]:
    r"""Sums or averages a dict of floats over the ranks (same keys on every
    rank, checked)."""
    if not is_distributed(group):
        return dict(values)
    keys = sorted(values)
    agree('all_reduce_floats', {'keys': keys}, group)
    t = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64)
    if dist.get_backend(group) == 'nccl':
        t = t.cuda()
    dist.all_reduce(t, group=group)
    if op == 'mean':
        t /= dist.get_world_size(group)
    elif op != 'sum':
        raise ValueError(f"'op' must be 'mean' or 'sum', got {op!r}")
    return dict(zip(keys, t.cpu().tolist()))


def broadcast_object(obj: Any, src: int = 0, group=None) -> Any:
    r"""Rank :obj:`src`'s :obj:`obj` on every rank."""
    if not is_distributed(group):
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=src, group=group)
    return box[0]
