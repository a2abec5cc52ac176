r"""A uniform neighbour sampler for static graphs in plain PyTorch (no pyg-lib,
no torch-sparse) that plugs into PyG's loaders."""
from typing import List, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.sampler import (BaseSampler, EdgeSamplerInput,
                                     NodeSamplerInput, SamplerOutput)

from pyg_ext.sampler._csr import (build_csc, check_num_neighbors,
                                  floyd_sample, segment_arange)
from pyg_ext.utils.validation import check_index, check_inferred_num_nodes

__all__ = ['NeighborSampler', 'check_num_neighbors']

_INT32_MAX = 2**31 - 1


def _check_edge_index(edge_index, num_nodes: Optional[int]) -> int:
    if not isinstance(edge_index, Tensor) or edge_index.dim() != 2 or \
            edge_index.size(0) != 2:
        raise TypeError(f"'edge_index' must be a [2, num_edges] tensor, got "
                        f"{getattr(edge_index, 'shape', type(edge_index))}")
    if edge_index.is_floating_point() or edge_index.is_complex() or \
            edge_index.dtype == torch.bool:
        raise TypeError(f"'edge_index' must have an integer dtype, got "
                        f"{edge_index.dtype}")
    if num_nodes is None:
        # One stray huge id must not size the CSR buffers (gigabytes).
        num_nodes = check_inferred_num_nodes(
            'edge_index', int(edge_index.max()) + 1) \
            if edge_index.numel() else 0
    if not isinstance(num_nodes, int) or isinstance(num_nodes, bool) or \
            num_nodes < 0:
        raise ValueError(f"'num_nodes' must be an int >= 0, got "
                         f"{num_nodes!r}")
    check_index('edge_index', edge_index, num_nodes,
                hint=f" ('num_nodes' = {num_nodes})")
    return num_nodes


class NeighborSampler(BaseSampler):
    r"""Uniform neighbour sampling as in the `"Inductive Representation
    Learning on Large Graphs" <https://arxiv.org/abs/1706.02216>`_ paper
    (GraphSAGE), written in plain PyTorch: a drop-in
    :class:`torch_geometric.sampler.BaseSampler` for PyG's
    :class:`~torch_geometric.loader.NodeLoader` and
    :class:`~torch_geometric.loader.NeighborLoader` (pass it as
    :obj:`neighbor_sampler=`) where PyG's own sampler needs pyg-lib or
    torch-sparse. See :func:`pyg_ext.sampler.neighbor_loader` for a loader
    that picks PyG's sampler when one of those is installed.

    For hop :math:`\ell` every node that entered the subgraph at hop
    :math:`\ell - 1` (the seeds for :math:`\ell = 1`) draws
    :math:`\min(k_\ell, d^-_v)` of its in-neighbours (sources :math:`u` of
    edges :math:`u \to v`, PyG's :obj:`flow="source_to_target"`) uniformly
    without replacement (:obj:`k = -1`: all of them, in edge-id order).
    Undirected graphs store both directions, as in PyG.

    The output follows PyG's :class:`~torch_geometric.sampler.NeighborSampler`
    (pyg-lib's kernel) field by field: :obj:`node` starts with the seeds (in
    input order, duplicates kept) and then holds the new nodes of hop 1, 2,
    ... in order of first appearance; a node already in the subgraph is not
    added again nor expanded again; :obj:`row`/:obj:`col` are the local
    source/target of every sampled edge, hop by hop and, within a hop, in
    the order of the target node; :obj:`edge` are the sampled edges' ids in
    the input :obj:`edge_index` (so :obj:`edge_permutation` is :obj:`None`);
    :obj:`num_sampled_nodes` is :obj:`[num_seeds, new nodes of hop 1, ...]`
    and :obj:`num_sampled_edges` the edges per hop, as
    :func:`torch_geometric.utils.trim_to_layer` expects. With
    :obj:`disjoint=True` every seed grows its own tree (a node reached by
    two seeds appears once in each tree; within a tree a node appears once)
    and :obj:`batch` gives the tree of every node.

    The in-neighbour CSR (CSC of :obj:`edge_index`) is built once on the CPU
    and the sampling is vectorised: no Python loop over seeds, nodes or
    edges, only over the hops (and, in Floyd's draw without replacement,
    over the fan-out :math:`k`).

    Args:
        data (torch_geometric.data.Data or torch.Tensor): A homogeneous graph
            with :obj:`edge_index`, or an :obj:`edge_index` tensor
            :math:`[2, E]`.
        num_neighbors (List[int]): Fan-out per hop; :obj:`-1` takes every
            in-neighbour.
        num_nodes (int, optional): Number of nodes when :obj:`data` is a
            tensor (default: largest id + 1). (default: :obj:`None`)
        replace (bool, optional): Draw with replacement (:math:`k_\ell`
            draws for every node with an in-neighbour, possibly repeating an
            edge, as PyG does). (default: :obj:`False`)
        disjoint (bool, optional): One tree per seed. (default: :obj:`False`)
        generator (torch.Generator, optional): CPU generator of the draws;
            :obj:`None` uses torch's default generator (PyG's convention:
            :func:`torch.manual_seed` makes batches reproducible). Inside a
            :class:`~torch.utils.data.DataLoader` worker process, a given
            generator is replaced by one seeded with the worker's seed
            (:func:`torch.utils.data.get_worker_info`, derived from the
            loader's own generator), so workers draw independent streams
            and a run is reproducible for a fixed number of workers.
            (default: :obj:`None`)

    Example:
        >>> edge_index = torch.tensor([[1, 2, 3, 0], [0, 0, 0, 1]])
        >>> sampler = NeighborSampler(edge_index, num_neighbors=[-1, -1])
        >>> out = sampler.sample_from_nodes(
        ...     NodeSamplerInput(None, torch.tensor([0])))
        >>> out.node.tolist(), out.row.tolist(), out.col.tolist()
        ([0, 1, 2, 3], [1, 2, 3, 0], [0, 0, 0, 1])
        >>> out.num_sampled_nodes, out.num_sampled_edges
        ([1, 3, 0], [3, 1])
    """
    def __init__(
        self,
        data: Union[Data, Tensor],
        num_neighbors: List[int],
        num_nodes: Optional[int] = None,
        replace: bool = False,
        disjoint: bool = False,
        generator: Optional[torch.Generator] = None,
    ):
        if isinstance(data, Data):
            if num_nodes is not None:
                raise ValueError("'num_nodes' is read from 'data' when "
                                 "'data' is a Data object; leave it None")
            edge_index = data.edge_index
            if edge_index is None:
                raise ValueError(
                    "'data' must have an 'edge_index' (a sparse 'adj_t' "
                    "cannot be sliced by PyG's loaders: keep 'edge_index' "
                    "for mini-batch training)")
            num_nodes = data.num_nodes
        elif isinstance(data, Tensor):
            edge_index = data
        else:
            raise TypeError(f"'data' must be a homogeneous "
                            f"torch_geometric.data.Data or an edge_index "
                            f"tensor, got {type(data).__name__}")
        edge_index = edge_index.cpu()
        self.num_nodes = _check_edge_index(edge_index, num_nodes)
        self.num_neighbors = check_num_neighbors(num_neighbors)
        for name, v in (('replace', replace), ('disjoint', disjoint)):
            if not isinstance(v, bool):
                raise TypeError(f"'{name}' must be a bool, got {v!r}")
        if generator is not None and (
                not isinstance(generator, torch.Generator)
                or generator.device.type != 'cpu'):
            raise TypeError(f"'generator' must be None or a CPU "
                            f"torch.Generator (the sampler runs on the "
                            f"CPU), got {generator!r}")
        self.replace = replace
        self.disjoint = disjoint
        self.generator = generator
        self.num_edges = edge_index.size(1)
        self._build(edge_index)
        self._maps: List[Tensor] = []  # reusable node -> local id buffers
        self._worker: Optional[Tuple[int, torch.Generator]] = None

    def _build(self, edge_index: Tensor) -> None:
        # int32 columns halve the index memory (ogbn-products: 124M entries)
        small = self.num_nodes <= _INT32_MAX and self.num_edges <= _INT32_MAX
        self.rowptr, self.col, self.e_id = build_csc(
            edge_index, self.num_nodes, torch.int32 if small else torch.long)

    # Sampling ###############################################################

    def sample_from_nodes(self, index: NodeSamplerInput,
                          **kwargs) -> SamplerOutput:
        r"""Samples the subgraph around :obj:`index.node` (see the class
        docstring); :obj:`metadata` is :obj:`(input_id, None)`, as
        :class:`~torch_geometric.loader.NodeLoader` expects."""
        if kwargs:
            raise TypeError(f"unexpected arguments {sorted(kwargs)}")
        if not isinstance(index, NodeSamplerInput):
            raise TypeError(f"'index' must be a NodeSamplerInput, got "
                            f"{type(index).__name__}")
        if index.input_type is not None:
            raise ValueError(f"'{self.__class__.__name__}' samples "
                             f"homogeneous graphs; got input type "
                             f"{index.input_type!r}")
        if index.time is not None:
            raise ValueError(f"'{self.__class__.__name__}' is not temporal: "
                             f"'input_time' must be None (see "
                             f"pyg_ext.sampler.TemporalNeighborSampler)")
        out = self.sample(index.node)
        out.metadata = (index.input_id, None)
        return out

    def sample_from_edges(self, index: EdgeSamplerInput,
                          neg_sampling=None) -> SamplerOutput:
        raise NotImplementedError(
            f"'{self.__class__.__name__}' samples around seed nodes only "
            f"(NodeLoader); link-level loaders are not supported")

    def sample(self, seed: Tensor) -> SamplerOutput:
        r"""Samples around the 1-D integer tensor :obj:`seed` and returns a
        :class:`~torch_geometric.sampler.SamplerOutput` on the CPU
        (:obj:`metadata` unset)."""
        if not isinstance(seed, Tensor) or seed.dim() != 1 or \
                seed.is_floating_point() or seed.is_complex() or \
                seed.dtype == torch.bool:
            raise TypeError(f"'seed' must be a 1-D integer tensor, got "
                            f"{getattr(seed, 'dtype', type(seed))}")
        seed = seed.cpu().long()
        if seed.numel() and (int(seed.min()) < 0
                             or int(seed.max()) >= self.num_nodes):
            raise ValueError(f"'seed' must hold node ids in [0, "
                             f"{self.num_nodes}), got ids in "
                             f"[{int(seed.min())}, {int(seed.max())}]")
        gen = self._generator()
        if self.disjoint:
            return self._sample_disjoint(seed, gen)
        return self._sample_shared(seed, gen)

    def _generator(self) -> Optional[torch.Generator]:
        info = torch.utils.data.get_worker_info()
        if info is None or self.generator is None:
            return self.generator
        if self._worker is None or self._worker[0] != info.seed:
            gen = torch.Generator().manual_seed(info.seed)
            self._worker = (info.seed, gen)
        return self._worker[1]

    def _draw(self, node: Tensor, k: int, gen) -> Tuple[Tensor, Tensor]:
        r"""Returns (frontier index, CSR slot) of the edges drawn for every
        node of the frontier, grouped by frontier node."""
        start = self.rowptr.index_select(0, node)
        deg = self.rowptr.index_select(0, node + 1) - start
        if k < 0:
            take = deg
        elif self.replace:
            take = torch.where(deg > 0, k, 0)
        else:
            take = deg.clamp(max=k)
        q = torch.repeat_interleave(
            torch.arange(node.numel(), dtype=torch.long), take)
        if k >= 0 and self.replace:
            d = deg.index_select(0, q)
            off = (torch.rand(q.numel(), generator=gen, dtype=torch.float64)
                   * d.double()).long()
            off = torch.minimum(off, d - 1)
        else:
            off = segment_arange(take)
            if k >= 0:
                big = deg > k
                if bool(big.any()):
                    # the rows of `big` fill k consecutive slots each, in
                    # frontier order: row-major `chosen` lines up with them
                    off.masked_scatter_(big.index_select(0, q),
                                        floyd_sample(deg[big], k, gen))
        return q, start.index_select(0, q) + off

    def _take_map(self) -> Tensor:
        try:
            return self._maps.pop()  # atomic: a concurrent call gets another
        except IndexError:
            return torch.full((self.num_nodes, ), -1, dtype=torch.long)

    def _sample_shared(self, seed: Tensor, gen) -> SamplerOutput:
        B = seed.numel()
        node_map = self._take_map()
        # first copy of a duplicated seed is the one its neighbours point to
        node_map.scatter_reduce_(0, seed, torch.arange(B), 'amin',
                                 include_self=False)
        nodes, rows, cols, eids = [seed], [], [], []
        num_nodes, num_edges = [B], []
        f_node, f_local, num_local = seed, torch.arange(B), B
        for k in self.num_neighbors:
            q, pos = self._draw(f_node, k, gen)
            nbr = self.col.index_select(0, pos).long()
            loc = node_map.index_select(0, nbr)
            cpos = (loc < 0).nonzero().view(-1)
            cand = nbr.index_select(0, cpos)
            # first appearance of every new node, in sampling order
            node_map.scatter_reduce_(0, cand, cpos, 'amin',
                                     include_self=False)
            fresh = cand[node_map.index_select(0, cand) == cpos]
            new_local = torch.arange(num_local, num_local + fresh.numel())
            node_map.index_copy_(0, fresh, new_local)
            loc.index_copy_(0, cpos, node_map.index_select(0, cand))
            rows.append(loc)
            cols.append(f_local.index_select(0, q))
            eids.append(self.e_id.index_select(0, pos).long())
            nodes.append(fresh)
            num_nodes.append(fresh.numel())
            num_edges.append(pos.numel())
            f_node, f_local = fresh, new_local
            num_local += fresh.numel()
        node = torch.cat(nodes)
        node_map.index_fill_(0, node, -1)  # reset what was touched; reuse
        self._maps.append(node_map)
        return SamplerOutput(node=node, row=torch.cat(rows),
                             col=torch.cat(cols), edge=torch.cat(eids),
                             batch=None, num_sampled_nodes=num_nodes,
                             num_sampled_edges=num_edges)

    def _sample_disjoint(self, seed: Tensor, gen) -> SamplerOutput:
        B, N = seed.numel(), max(self.num_nodes, 1)
        tree = torch.arange(B)
        keys = tree * N + seed  # (tree, node): strictly increasing
        key_local = torch.arange(B)
        nodes, batches, rows, cols, eids = [seed], [tree], [], [], []
        num_nodes, num_edges = [B], []
        f_node, f_tree, f_local, num_local = seed, tree, torch.arange(B), B
        for k in self.num_neighbors:
            q, pos = self._draw(f_node, k, gen)
            nbr = self.col.index_select(0, pos).long()
            t = f_tree.index_select(0, q)
            ck = t * N + nbr
            loc = torch.empty_like(ck)
            if keys.numel():
                i = torch.searchsorted(keys, ck).clamp(max=keys.numel() - 1)
                found = keys[i] == ck
                loc[found] = key_local[i[found]]
            else:
                found = torch.zeros_like(ck, dtype=torch.bool)
            cpos = (~found).nonzero().view(-1)
            uniq, inv = torch.unique(ck[cpos], return_inverse=True)
            first = torch.empty_like(uniq).scatter_reduce_(
                0, inv, torch.arange(cpos.numel()), 'amin',
                include_self=False)
            order = torch.argsort(first)
            rank = torch.empty_like(order)
            rank[order] = torch.arange(order.numel())
            loc[cpos] = num_local + rank[inv]
            fresh_keys = uniq[order]
            fresh, fresh_tree = fresh_keys % N, fresh_keys // N
            keys, p = torch.sort(torch.cat([keys, uniq]))
            key_local = torch.cat([key_local, num_local + rank])[p]
            new_local = torch.arange(num_local, num_local + fresh.numel())
            rows.append(loc)
            cols.append(f_local.index_select(0, q))
            eids.append(self.e_id.index_select(0, pos).long())
            nodes.append(fresh)
            batches.append(fresh_tree)
            num_nodes.append(fresh.numel())
            num_edges.append(pos.numel())
            f_node, f_tree, f_local = fresh, fresh_tree, new_local
            num_local += fresh.numel()
        return SamplerOutput(node=torch.cat(nodes), row=torch.cat(rows),
                             col=torch.cat(cols), edge=torch.cat(eids),
                             batch=torch.cat(batches),
                             num_sampled_nodes=num_nodes,
                             num_sampled_edges=num_edges)

    # Other utilities ########################################################

    @property
    def edge_permutation(self) -> None:
        r""":obj:`None`: :obj:`SamplerOutput.edge` already holds edge ids of
        the input :obj:`edge_index`."""
        return None

    def __getstate__(self):
        state = self.__dict__.copy()
        state['_maps'] = []  # scratch buffers are not worth a copy
        state['_worker'] = None
        return state

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_nodes={self.num_nodes}, '
                f'num_neighbors={self.num_neighbors}, '
                f'replace={self.replace}, disjoint={self.disjoint})')
