r"""Mini-batch neighbour-sampled training shared by the ``fit_*`` entries
(supervised, Mowst/Mowst*, AdaRC's pre-training), on one process or data
parallel over a :mod:`torch.distributed` group.

One epoch draws one permutation of the training nodes from a generator
that is identical on every rank, cuts it into global batches of
:obj:`batch_size` seeds, and gives rank :math:`r` of :math:`W` the seeds
``batch[r::W]`` of every global batch (the last batch may be short; a rank
may get no seed of it). Each rank samples the neighbourhoods of its seeds
(:class:`pyg_ext.sampler.NeighborSampler`, or PyG's when pyg-lib is
installed, on the CPU) and computes

.. math::
    \mathcal{L}_r = \frac{W}{|B|} \sum_{v \in B_r} \ell_v,

so that the gradient :class:`~torch.nn.parallel.DistributedDataParallel`
averages over the ranks is exactly the gradient of the mean loss over the
global batch :math:`B`: with full neighbourhoods (``-1``) and no dropout, W
processes give the parameters of one process with the same global batch
and seed.
"""
import copy
from dataclasses import dataclass
from typing import Callable, Iterator, List, Optional, Sequence

import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.loader import NodeLoader

from pyg_ext.sampler import NeighborSampler, check_num_neighbors
from pyg_ext.utils.validation import check_bool, check_int

__all__ = ['MiniBatchConfig', 'epoch_batches', 'MiniBatchRunner']


@dataclass
class MiniBatchConfig:
    r"""Mini-batch options of a ``fit_*`` call.

    Args:
        batch_size (int): Seed nodes per global batch (all ranks together).
        num_neighbors (list of int): Fan-out per hop (``-1``: all).
        replace (bool): Sample with replacement.
        pin_memory (bool, optional): Pin batches before a non-blocking copy
            to a GPU (default: when the model is on CUDA).
    """
    batch_size: int
    num_neighbors: Sequence[int]
    replace: bool = False
    pin_memory: Optional[bool] = None

    def __post_init__(self):
        self.batch_size = check_int('batch_size', self.batch_size, low=1)
        self.num_neighbors = check_num_neighbors(self.num_neighbors)
        check_bool('replace', self.replace)


def epoch_batches(train_nodes: Tensor, batch_size: int,
                  generator: torch.Generator, rank: int = 0,
                  world_size: int = 1) -> List[Tensor]:
    r"""This rank's seeds of every global batch of one epoch (a new
    permutation per call; the generator must be in the same state on every
    rank). The number of batches is the same on every rank."""
    perm = train_nodes[torch.randperm(train_nodes.numel(),
                                      generator=generator,
                                      device=generator.device)]
    return [b[rank::world_size] for b in perm.split(batch_size)]


class MiniBatchRunner:
    r"""Runs the mini-batch epochs of one ``fit_*`` call.

    Args:
        data (Data): The graph on the CPU (the sampler's copy), with the
            features and labels the batches slice.
        config (MiniBatchConfig): Batch size and fan-out.
        train_nodes (Tensor): The training seed nodes (CPU ids).
        device (torch.device): Where the model is.
        generator (torch.Generator): The epoch permutations (CPU; its state
            is checkpointed by the caller's engine).
        rank, world_size (int): The data-parallel group (1 process: 0, 1).
        group (optional): The :mod:`torch.distributed` group.
    """
    def __init__(self, data: Data, config: MiniBatchConfig,
                 train_nodes: Tensor, device: torch.device,
                 generator: torch.Generator, rank: int = 0,
                 world_size: int = 1, group=None):
        if data.edge_index is None:
            raise ValueError("mini-batch training needs 'data.edge_index' "
                             "(the sampler's CSR is built from it)")
        if getattr(data, 'adj_t', None) is not None:
            data = copy.copy(data)  # batches slice edge_index, not adj_t
            del data.adj_t
        self.data, self.config = data, config
        self.train_nodes = train_nodes.cpu()
        self.device, self.generator = device, generator
        self.rank, self.world_size, self.group = rank, world_size, group
        self.sampler = NeighborSampler(data, config.num_neighbors,
                                       replace=config.replace)
        pin = config.pin_memory
        self.pin = device.type == 'cuda' if pin is None else bool(pin)

    def batches(self) -> Iterator[Data]:
        r"""This rank's batches of one epoch, on the model's device; each
        has ``batch_size`` (local seeds, first), ``global_size`` (the
        global batch's seed count) and PyG's ``n_id``/``e_id``."""
        parts = epoch_batches(self.train_nodes, self.config.batch_size,
                              self.generator, self.rank, self.world_size)
        sizes = [self._global_size(i) for i in range(len(parts))]
        seeds = torch.cat(parts) if parts else self.train_nodes[:0]
        offsets = [0]
        for p in parts:
            offsets.append(offsets[-1] + p.numel())
        index_lists = [list(range(offsets[i], offsets[i + 1]))
                       for i in range(len(parts))]
        empty = [i for i, ix in enumerate(index_lists) if not ix]
        loader = NodeLoader(self.data, node_sampler=self.sampler,
                            input_nodes=seeds,
                            batch_sampler=[ix for ix in index_lists if ix])
        it = iter(loader)
        for i in range(len(parts)):
            if i in empty:  # this rank has no seed in a short last batch
                batch = self._empty_batch()
            else:
                batch = next(it)
            if self.pin and self.device.type == 'cuda':
                batch = batch.pin_memory()
            batch = batch.to(self.device, non_blocking=True)
            batch.global_size = sizes[i]
            yield batch

    def _global_size(self, i: int) -> int:
        n, b = self.train_nodes.numel(), self.config.batch_size
        return min(b, n - i * b)

    def _empty_batch(self) -> Data:
        d = self.data
        out = Data(x=d.x[:0], edge_index=d.edge_index[:, :0],
                   y=d.y[:0], n_id=d.edge_index.new_zeros(0))
        out.batch_size = 0
        return out

    def scale(self, batch: Data) -> float:
        r"""The factor :math:`W / |B|` of a summed per-seed loss."""
        return self.world_size / batch.global_size

    def run_epoch(self, step: Callable[[Data], Tensor]) -> Tensor:
        r"""Calls ``step(batch)`` (which returns the summed loss of the
        batch's seeds, already optimised) on every batch; returns the mean
        per-seed loss of the epoch over all ranks' seeds as a tensor (no
        host read)."""
        total: Optional[Tensor] = None
        count = 0
        for batch in self.batches():
            loss = step(batch)
            total = loss if total is None else total + loss
            count += batch.batch_size
        if total is None:
            total = torch.zeros((), device=self.device)
        if self.world_size > 1:  # the global mean, without a host read
            import torch.distributed as dist
            both = torch.stack([total.float(), total.new_tensor(
                float(count)).float()])
            dist.all_reduce(both, group=self.group)
            return both[0] / both[1].clamp(min=1)
        return total / max(count, 1)
