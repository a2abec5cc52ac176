r"""Mini-batch loaders over static graphs: PyG's
:class:`~torch_geometric.loader.NeighborLoader` with PyG's sampler when
pyg-lib or torch-sparse is installed, with
:class:`pyg_ext.sampler.NeighborSampler` otherwise."""
from typing import Callable, List, Optional, Sequence, Union

import torch
import torch_geometric.typing
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.loader import NeighborLoader

from pyg_ext.sampler.neighbor_sampler import (NeighborSampler,
                                              check_num_neighbors)
from pyg_ext.utils.validation import check_index

__all__ = ['neighbor_loader', 'inference_loader', 'pyg_sampler_available']

BACKENDS = ('auto', 'pyg', 'pyg_ext')


def pyg_sampler_available(disjoint: bool = False) -> bool:
    r"""Whether PyG's own :class:`~torch_geometric.sampler.NeighborSampler`
    can run here (it needs pyg-lib, or torch-sparse without
    :obj:`disjoint`)."""
    if torch_geometric.typing.WITH_PYG_LIB:
        return True
    return bool(torch_geometric.typing.WITH_TORCH_SPARSE) and not disjoint


def _check_input_nodes(input_nodes, num_nodes: int) -> Optional[Tensor]:
    if input_nodes is None:
        return None
    if not isinstance(input_nodes, Tensor):
        if not isinstance(input_nodes, Sequence) or isinstance(
                input_nodes, (str, bytes)):
            raise TypeError(f"'input_nodes' must be None, a node-id tensor or"
                            f" a boolean mask, got "
                            f"{type(input_nodes).__name__}")
        input_nodes = torch.as_tensor(input_nodes, dtype=torch.long)
    if input_nodes.dim() != 1:
        raise ValueError(f"'input_nodes' must be 1-D, got shape "
                         f"{tuple(input_nodes.shape)}")
    if input_nodes.dtype == torch.bool:
        if input_nodes.numel() != num_nodes:
            raise ValueError(f"'input_nodes' as a mask must have one entry "
                             f"per node ({num_nodes}), got "
                             f"{input_nodes.numel()}")
        return input_nodes
    if input_nodes.is_floating_point() or input_nodes.is_complex():
        raise TypeError(f"'input_nodes' must hold integer node ids or be a "
                        f"boolean mask, got {input_nodes.dtype}")
    return check_index('input_nodes', input_nodes, num_nodes).long()


def neighbor_loader(
    data: Data,
    num_neighbors: List[int],
    batch_size: int,
    input_nodes: Union[Tensor, Sequence[int], None] = None,
    *,
    shuffle: bool = False,
    drop_last: bool = False,
    replace: bool = False,
    disjoint: bool = False,
    generator: Optional[torch.Generator] = None,
    num_workers: int = 0,
    pin_memory: bool = False,
    persistent_workers: bool = False,
    transform: Optional[Callable] = None,
    filter_per_worker: Optional[bool] = None,
    backend: str = 'auto',
) -> NeighborLoader:
    r"""A :class:`~torch_geometric.loader.NeighborLoader` (neighbour
    sampling of the `"Inductive Representation Learning on Large Graphs"
    <https://arxiv.org/abs/1706.02216>`_ paper) that also works without
    pyg-lib and torch-sparse: it samples with PyG's own
    :class:`~torch_geometric.sampler.NeighborSampler` when that can run
    (:func:`pyg_sampler_available`) and with
    :class:`pyg_ext.sampler.NeighborSampler` otherwise. Either way the
    batches have PyG's layout (:obj:`n_id`, :obj:`e_id`, :obj:`batch_size`,
    :obj:`input_id`, :obj:`num_sampled_nodes`, :obj:`num_sampled_edges`,
    node and edge attributes sliced, the seeds first) and the loader is a
    :class:`~torch_geometric.loader.NeighborLoader`, so
    :meth:`~torch_geometric.nn.models.basic_gnn.BasicGNN.inference` accepts
    it.

    Args:
        data (torch_geometric.data.Data): A homogeneous graph with
            :obj:`edge_index` (node/edge attributes are sliced per batch).
        num_neighbors (List[int]): Fan-out per hop, :obj:`-1` for all
            neighbours.
        batch_size (int): Seeds per batch (:math:`> 0`).
        input_nodes (torch.Tensor, optional): Seed node ids or a boolean
            mask (default: every node). (default: :obj:`None`)
        shuffle (bool, optional): Shuffle the seeds every epoch.
            (default: :obj:`False`)
        drop_last (bool, optional): Drop a last incomplete batch.
            (default: :obj:`False`)
        replace (bool, optional): Draw neighbours with replacement.
            (default: :obj:`False`)
        disjoint (bool, optional): One tree per seed (:obj:`batch.batch`
            gives the tree of every node). (default: :obj:`False`)
        generator (torch.Generator, optional): CPU generator of the seed
            order (:obj:`shuffle`), of the worker seeds and, with our
            sampler, of the neighbour draws: the same generator state gives
            the same batches. :obj:`None` uses torch's default generator.
            PyG's sampler (pyg-lib) draws from torch's default generator
            whatever is given here. (default: :obj:`None`)
        num_workers (int, optional): Loader worker processes.
            (default: :obj:`0`)
        pin_memory (bool, optional): Pin the batches for asynchronous GPU
            copies. (default: :obj:`False`)
        persistent_workers (bool, optional): Keep workers between epochs.
            (default: :obj:`False`)
        transform (callable, optional): Applied to every batch.
            (default: :obj:`None`)
        filter_per_worker (bool, optional): See
            :class:`~torch_geometric.loader.NodeLoader`.
            (default: :obj:`None`)
        backend (str, optional): :obj:`"auto"`, :obj:`"pyg"` (PyG's
            sampler; an :class:`ImportError` if it cannot run) or
            :obj:`"pyg_ext"` (ours). (default: :obj:`"auto"`)

    Example:
        >>> from torch_geometric.data import Data
        >>> data = Data(x=torch.randn(4, 3), edge_index=torch.tensor(
        ...     [[1, 2, 3, 0], [0, 0, 0, 1]]))
        >>> loader = neighbor_loader(data, [2, 2], batch_size=2,
        ...                          backend='pyg_ext')
        >>> batch = next(iter(loader))
        >>> batch.batch_size, batch.n_id[:2].tolist()
        (2, [0, 1])
    """
    if not isinstance(data, Data):
        raise TypeError(f"'data' must be a homogeneous "
                        f"torch_geometric.data.Data, got "
                        f"{type(data).__name__}")
    num_neighbors = check_num_neighbors(num_neighbors)
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or \
            batch_size <= 0:
        raise ValueError(f"'batch_size' must be an int > 0, got "
                         f"{batch_size!r}")
    if backend not in BACKENDS:
        raise ValueError(f"'backend' must be one of {BACKENDS}, got "
                         f"{backend!r}")
    for name, v in (('shuffle', shuffle), ('drop_last', drop_last),
                    ('replace', replace), ('disjoint', disjoint),
                    ('pin_memory', pin_memory),
                    ('persistent_workers', persistent_workers)):
        if not isinstance(v, bool):
            raise TypeError(f"'{name}' must be a bool, got {v!r}")
    if not isinstance(num_workers, int) or isinstance(num_workers, bool) or \
            num_workers < 0:
        raise ValueError(f"'num_workers' must be an int >= 0, got "
                         f"{num_workers!r}")
    if generator is not None and (not isinstance(generator, torch.Generator)
                                  or generator.device.type != 'cpu'):
        raise TypeError(f"'generator' must be None or a CPU torch.Generator, "
                        f"got {generator!r}")
    input_nodes = _check_input_nodes(input_nodes, data.num_nodes)

    use_pyg = pyg_sampler_available(disjoint)
    if backend == 'pyg' and not use_pyg:
        raise ImportError("backend='pyg' needs 'pyg-lib' (or 'torch-sparse' "
                          "without 'disjoint'); use backend='auto' or "
                          "'pyg_ext' for pyg_ext.sampler.NeighborSampler")
    sampler = None
    if backend == 'pyg_ext' or not use_pyg:
        sampler = NeighborSampler(data, num_neighbors, replace=replace,
                                  disjoint=disjoint, generator=generator)
    return NeighborLoader(
        data, num_neighbors, input_nodes=input_nodes, replace=replace,
        disjoint=disjoint, transform=transform,
        filter_per_worker=filter_per_worker, neighbor_sampler=sampler,
        batch_size=batch_size, shuffle=shuffle, drop_last=drop_last,
        num_workers=num_workers, pin_memory=pin_memory,
        persistent_workers=persistent_workers, generator=generator)


def inference_loader(
    data: Data,
    batch_size: int,
    *,
    num_workers: int = 0,
    pin_memory: bool = False,
    filter_per_worker: Optional[bool] = None,
    backend: str = 'auto',
) -> NeighborLoader:
    r"""The loader of layer-wise full-neighbourhood inference: every node
    once, in order, with all of its in-neighbours (one hop,
    :obj:`num_neighbors=[-1]`), for
    :meth:`~torch_geometric.nn.models.basic_gnn.BasicGNN.inference`
    (:obj:`model.eval(); model.inference(inference_loader(data, 4096))`),
    which then computes every layer for all nodes, batch by batch.

    The result equals the full-batch forward for layers whose output at a
    node depends only on its in-neighbours' features (SAGE, GIN, GAT, or
    :class:`~torch_geometric.nn.conv.GCNConv` with :obj:`normalize=False`).
    :class:`~torch_geometric.nn.conv.GCNConv`'s symmetric normalisation
    also reads the *neighbours'* degrees, which a one-hop batch does not
    hold: :class:`~torch_geometric.nn.models.GCN` through this loader (or
    PyG's) differs from its full-batch forward.

    Args: as :func:`neighbor_loader`.
    """
    return neighbor_loader(data, [-1], batch_size, None, shuffle=False,
                           num_workers=num_workers, pin_memory=pin_memory,
                           filter_per_worker=filter_per_worker,
                           backend=backend)
