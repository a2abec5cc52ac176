r"""Several processes in the loop, through :mod:`torch.distributed`.

Under ``torchrun --nproc-per-node N pyg-ext run cfg.yaml`` (or across
machines with ``--nnodes`` and ``--rdzv-endpoint``) the runner joins the
process group and works in one of two modes (``train.distributed``):

* ``ddp`` (the default when ``train.batch_size`` is set): every rank runs
  every (split, seed) run together, data parallel: the seed nodes of each
  mini-batch are split over the ranks and the model is wrapped in
  :class:`~torch.nn.parallel.DistributedDataParallel`; rank 0 writes the run
  files, checkpoints and plots.
* ``shard`` (the default for full-batch methods, which cannot be split
  over processes): the runs are spread over the ranks (run ``i`` goes to
  rank ``i mod N``); each rank writes the result files of its own runs, and
  rank 0 merges them into ``summary.json`` / ``results.md`` when all are
  done.

Without torchrun, ``--shard i/N`` gives the same split to independent
processes (e.g. a Slurm job array) sharing one ``--run-dir``: every shard
writes its runs, and whichever shard finds all of them finished writes the
merged summary. Every run file records the ``rank`` and ``world_size``
that computed it; the merged summary equals the serial run's (up to the
wall-clock seconds).
"""
import re
from pathlib import Path
from typing import Optional, Tuple

from pyg_ext.train.config import ConfigError, ExperimentConfig
from pyg_ext.utils.distributed import (broadcast_object, get_rank,
                                       get_world_size, init_distributed,
                                       launched_by_torchrun)

__all__ = ['MODES', 'parse_shard', 'Parallel']

MODES = ('auto', 'ddp', 'shard')


def parse_shard(text: Optional[str]) -> Optional[Tuple[int, int]]:
    r"""``'i/N'`` -> ``(i, N)`` with :math:`0 \le i < N`."""
    if text is None:
        return None
    m = re.fullmatch(r'\s*(\d+)\s*/\s*(\d+)\s*', str(text))
    if m is None:
        raise ConfigError(f"--shard: expected 'i/N' (e.g. 0/4), got "
                          f"{text!r}")
    i, n = int(m.group(1)), int(m.group(2))
    if n < 1 or not 0 <= i < n:
        raise ConfigError(f"--shard: expected 0 <= i < N, got {i}/{n}")
    return i, n


class Parallel:
    r"""The process layout of one experiment.

    Args:
        cfg (ExperimentConfig): The config (``train.distributed``,
            ``train.batch_size``).
        shard (tuple, optional): ``(i, N)`` from ``--shard i/N``.
    """
    def __init__(self, cfg: ExperimentConfig,
                 shard: Optional[Tuple[int, int]] = None):
        self.mode, self.group = 'single', None
        self.rank, self.world = 0, 1
        self.torchrun = False
        if launched_by_torchrun() and init_distributed():
            if shard is not None:
                raise ConfigError("--shard: under torchrun the runs are "
                                  "already spread over the ranks; drop "
                                  "--shard")
            import torch.distributed as dist
            self.torchrun = True
            self.rank, self.world = get_rank(), get_world_size()
            mode = cfg.train.distributed
            if mode == 'auto':
                mode = 'ddp' if cfg.train.batch_size is not None else 'shard'
            if mode == 'ddp' and cfg.train.batch_size is None:
                raise ConfigError(
                    "train.distributed='ddp' needs mini-batches "
                    "(train.batch_size and task.num_neighbors): a full-batch "
                    "method cannot be split over processes; use "
                    "train.distributed='shard' to spread its runs")
            self.mode = mode
            if mode == 'ddp':
                self.group = dist.group.WORLD
        elif shard is not None:
            self.mode = 'shard'
            self.rank, self.world = shard

    @property
    def writes_shared_files(self) -> bool:
        r"""Whether this process writes ``config.yaml``, the summary, the
        results table, plots and the leaderboard row."""
        return self.rank == 0 or (self.mode == 'shard' and
                                  not self.torchrun)

    def owns(self, index: int) -> bool:
        r"""Whether this process computes run number :obj:`index`."""
        return self.mode != 'shard' or index % self.world == self.rank

    def writes_run(self) -> bool:
        r"""Whether this process writes the run files of its runs (in
        ``ddp`` mode only rank 0 does)."""
        return self.mode != 'ddp' or self.rank == 0

    def barrier(self) -> None:
        if self.torchrun:
            import torch.distributed as dist
            dist.barrier()

    def share(self, obj):
        r"""Rank 0's :obj:`obj` on every rank (torchrun), else :obj:`obj`."""
        return broadcast_object(obj) if self.torchrun else obj


def check_joined_config(path: Path, cfg_text: str) -> None:
    r"""A shard joining an existing run directory must bring the same
    config."""
    saved = path / 'config.yaml'
    if saved.exists() and saved.read_text() != cfg_text:
        raise ConfigError(f"--shard: the run directory '{path}' holds "
                          f"another config; every shard must run the same "
                          f"config (and overrides)")
