import copy

import torch
from torch_geometric.data import Data
from torch_geometric.data.datapipes import functional_transform
from torch_geometric.transforms import BaseTransform

from pyg_ext.utils.sparsify import (_COUNT_RULES, check_sparsity,
                                    teddy_keep_mask)
from pyg_ext.utils.validation import (check_attrs, check_bool, check_choice,
                                      check_edge_values)

__all__ = ['TEDDY']


@functional_transform('teddy')
class TEDDY(BaseTransform):
    r"""One-shot, structure-only edge sparsification from the `"TEDDY:
    Trimming Edges with Degree-based Discrimination strategY"
    <https://arxiv.org/abs/2402.01261>`_ paper
    (functional name: :obj:`teddy`; official code:
    `github.com/hyunjin72/TEDDY <https://github.com/hyunjin72/TEDDY>`_).

    Every edge is scored by the multi-level degree score

    .. math::
        T_{uv} = \hat{g}_u \hat{g}_v, \qquad
        \hat{g}_v = \frac{1}{d_v^{2}} \sum_{w \in \mathcal{N}(v)}
        \frac{1}{\sqrt{d_w}},

    and the fraction :obj:`sparsity` of (undirected) edges with the smallest
    scores is removed (see :func:`pyg_ext.utils.teddy_keep_mask`). Node
    features and labels are never read; no node is removed; every edge-level
    tensor (:obj:`edge_attr`, :obj:`edge_weight`, ...) stays aligned; the
    input is left untouched.

    Args:
        sparsity (float): The fraction of edges :math:`p_g \in [0, 1)` to
            remove.
        score_self_loops (bool, optional): Score the graph with self-loops
            added, as the official GAT script does (the loops are not added
            to the output). (default: :obj:`False`)
        count (str, optional): :obj:`'undirected'` (exact pair count, output
            stays undirected) or :obj:`'entries'` (official
            :math:`\lfloor p_g \cdot \mathrm{nnz} \rfloor` directed entries).
            (default: :obj:`'undirected'`)
        keep_self_loops (bool, optional): Never remove self-loops.
            (default: :obj:`True`)
        store_mask (bool, optional): Store the boolean keep-mask over the
            input edges as :obj:`data.teddy_edge_mask`.
            (default: :obj:`False`)
        allow_directed (bool, optional): Accept directed graphs (no symmetry
            guarantee). (default: :obj:`False`)

    .. note::
        See `examples/teddy.py` for the full TEDDY pipeline (dense teacher,
        sparsified graph, :math:`\ell_0`-projected weights, distillation).
    """
    def __init__(self, sparsity: float, score_self_loops: bool = False,
                 count: str = 'undirected', keep_self_loops: bool = True,
                 store_mask: bool = False, allow_directed: bool = False):
        self.sparsity = check_sparsity(sparsity)
        self.count = check_choice('count', count, _COUNT_RULES)
        self.score_self_loops = check_bool('score_self_loops',
                                           score_self_loops)
        self.keep_self_loops = check_bool('keep_self_loops', keep_self_loops)
        self.store_mask = check_bool('store_mask', store_mask)
        self.allow_directed = check_bool('allow_directed', allow_directed)

    def forward(self, data: Data) -> Data:
        check_attrs(data, {'edge_index': 'the graph TEDDY sparsifies'})
        E = data.edge_index.size(1) if isinstance(data.edge_index,
                                                  torch.Tensor) else None
        for key in ('edge_weight', 'edge_attr'):  # kept aligned below
            val = getattr(data, key, None)
            if isinstance(val, torch.Tensor) and E is not None:
                check_edge_values(f'data.{key}', val, E)
        data = copy.copy(data)
        mask = teddy_keep_mask(data.edge_index, self.sparsity,
                               data.num_nodes, count=self.count,
                               keep_self_loops=self.keep_self_loops,
                               add_self_loops=self.score_self_loops,
                               allow_directed=self.allow_directed)
        out = data.edge_subgraph(mask)
        if self.store_mask:
            out.teddy_edge_mask = mask
        return out

    def __repr__(self) -> str:
        args = [f'sparsity={self.sparsity}']
        if self.score_self_loops:
            args.append('score_self_loops=True')
        if self.count != 'undirected':
            args.append(f'count={self.count!r}')
        if not self.keep_self_loops:
            args.append('keep_self_loops=False')
        return f'{self.__class__.__name__}({", ".join(args)})'
