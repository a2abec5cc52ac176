import copy

import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.data.datapipes import functional_transform
from torch_geometric.transforms import BaseTransform

from pyg_ext.utils.validation import (check_attrs, check_bool,
                                      check_edge_index, check_int,
                                      check_tensor)

__all__ = ['MatchEdgeHomophily', 'match_edge_homophily_mask']


def match_edge_homophily_mask(edge_index: Tensor, y: Tensor, target: float,
                              seed: int = 42,
                              undirected: bool = False) -> Tensor:
    r"""The keep-mask over the columns of :obj:`edge_index` that pushes the
    edge homophily down (or up) to :obj:`target` by dropping edges, with the
    rule of the AdaRC code (``match_edge_homophily``):

    * target below the current homophily: keep all heterophilic edges and
      ``int(n_hete / (1 - target)) - n_hete`` homophilic ones;
    * target above: keep all homophilic edges and
      ``int(n_homo / target) - n_homo`` heterophilic ones;

    the kept ones drawn uniformly with ``torch.randperm`` from a generator
    seeded with :obj:`seed` (the same draw as the official
    ``torch.manual_seed(seed)``, without touching the global RNG). With
    :obj:`undirected=True`, the two directions of an edge are one unit (the
    official code drops every directed column independently).

    Example:
        >>> ei = torch.tensor([[0, 0, 1, 2], [1, 2, 3, 3]])
        >>> y = torch.tensor([0, 0, 1, 1])
        >>> match_edge_homophily_mask(ei, y, 0.0)  # drop all homophilic
        tensor([False,  True,  True, False])
    """
    target = _check_target(target)
    check_int('seed', seed, 0)
    check_bool('undirected', undirected)
    check_tensor('y', y, kind='int')
    y = y.view(-1) if y.dim() == 2 and y.size(1) == 1 else y
    if y.dim() != 1:
        raise ValueError(f"'y' must hold one label per node [N], got shape "
                         f"{tuple(y.shape)}")
    check_edge_index('edge_index', edge_index, y.numel())
    E = edge_index.size(1)
    if undirected:
        lo = torch.minimum(edge_index[0], edge_index[1])
        hi = torch.maximum(edge_index[0], edge_index[1])
        key = lo * (int(edge_index.max()) + 1 if E else 1) + hi
        units, inverse = torch.unique(key, return_inverse=True)
        first = torch.full((units.numel(), ), E, dtype=torch.long)
        first.scatter_reduce_(0, inverse, torch.arange(E), 'amin')
        src, dst = edge_index[:, first]
    else:
        src, dst = edge_index
        inverse = None
    homo = y[src] == y[dst]
    n_homo, n_hete = int(homo.sum()), int((~homo).sum())
    n = n_homo + n_hete
    keep_unit = torch.ones(n, dtype=torch.bool)
    if n > 0:
        current = n_homo / n
        if target < current:
            idx_target = homo.nonzero().view(-1)
            n_keep = int(n_hete / (1 - target)) - n_hete
        elif target > current:
            idx_target = (~homo).nonzero().view(-1)
            n_keep = int(n_homo / target) - n_homo
        else:
            idx_target = None
        if idx_target is not None:
            n_keep = min(n_keep, idx_target.numel())
            gen = torch.Generator().manual_seed(int(seed))
            perm = torch.randperm(idx_target.numel(), generator=gen)
            keep_unit[idx_target] = False
            keep_unit[idx_target[perm[:n_keep]]] = True
    return keep_unit if inverse is None else keep_unit[inverse]


def _check_target(target) -> float:
    if isinstance(target, bool) or not isinstance(target, (int, float)):
        raise TypeError(f"'target' edge homophily must be a float in "
                        f"[0, 1], got {target!r}")
    if not 0.0 <= target <= 1.0:  # also NaN
        raise ValueError(f"'target' edge homophily must be in [0, 1], got "
                         f"{target!r}")
    return float(target)


@functional_transform('match_edge_homophily')
class MatchEdgeHomophily(BaseTransform):
    r"""Drops edges so that the edge homophily of the graph becomes
    :obj:`target`, as the `"AdaRC: Mitigating Graph Structure Shifts during
    Test-Time" <https://arxiv.org/abs/2410.06976>`_ code injects structure
    shift into Twitch-E and OGB-Arxiv targets (see
    :func:`match_edge_homophily_mask` for the exact rule). Every edge-level
    attribute is kept aligned and the edge order is preserved (the official
    code reorders the kept columns). Needs ``data.y``.

    Args:
        target (float, optional): Target edge homophily in :math:`[0, 1]`.
            (default: :obj:`0.2`)
        seed (int, optional): Seed of the edge draw. (default: :obj:`42`)
        undirected (bool, optional): Drop both directions of an edge together.
            (default: :obj:`False`, as the official code)
    """
    def __init__(self, target: float = 0.2, seed: int = 42,
                 undirected: bool = False):
        self.target = _check_target(target)
        self.seed = check_int('seed', seed, 0)
        self.undirected = check_bool('undirected', undirected)

    def forward(self, data: Data) -> Data:
        check_attrs(data, {'y': 'node labels [N]', 'edge_index': 'edges'})
        y = data.y
        n = data.num_nodes
        if isinstance(y, Tensor) and (y.dim() == 0 or y.size(0) != n):
            raise ValueError(f"'data.y' must hold one label per node "
                             f"({n}), got shape {tuple(y.shape)}")
        mask = match_edge_homophily_mask(data.edge_index, data.y,
                                         self.target, self.seed,
                                         self.undirected)
        data = copy.copy(data)
        return data.edge_subgraph(mask)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(target={self.target}, '
                f'seed={self.seed})')
