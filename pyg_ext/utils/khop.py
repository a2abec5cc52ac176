r"""k-hop in-neighbourhoods: which nodes a message-passing model reads.

A node :math:`u` is within :math:`k` in-hops of a target :math:`v` when a
message from :math:`u` reaches :math:`v` in at most :math:`k` message-passing
steps. Running a :math:`k`-layer GNN on the subgraph induced by these nodes
gives the targets the same outputs as a whole-graph run (for layers whose
per-node output depends only on the node's in-neighbourhood), which is how
:meth:`pyg_ext.nn.models.Mowst.predict` runs its strong expert only where it
is needed.

The functions create every tensor on the inputs' device. The hop loop reads
one boolean per hop back to the host (to stop early), and the induced
subgraph has a data-dependent size, so these are inference-time helpers.
"""
from typing import Tuple

import torch
from torch import Tensor

from pyg_ext.utils.validation import check_index, check_tensor

__all__ = [
    'khop_distance',
    'induced_subgraph',
    'khop_in_subgraph',
]

FLOWS = ('source_to_target', 'target_to_source')


def _src_dst(edge_index: Tensor, flow: str) -> Tuple[Tensor, Tensor]:
    if flow == 'source_to_target':
        return edge_index[0], edge_index[1]
    if flow == 'target_to_source':
        return edge_index[1], edge_index[0]
    raise ValueError(f"'flow' must be one of {FLOWS}, got {flow!r}")


def _check_edge_index(edge_index: Tensor) -> None:
    shape = getattr(edge_index, 'shape', type(edge_index).__name__)
    if not isinstance(edge_index, Tensor) or tuple(shape)[:1] != (2, ) or \
            edge_index.dim() != 2:
        hint = (' (it looks like [E, 2]: pass edge_index.t())'
                if isinstance(edge_index, Tensor) and edge_index.dim() == 2
                and edge_index.size(1) == 2 else '')
        raise ValueError(f"'edge_index' must be a [2, E] tensor, got "
                         f"{shape}{hint}")
    check_tensor('edge_index', edge_index, kind='int')


def _check(index: Tensor, num_hops: int, edge_index: Tensor,
           num_nodes: int) -> None:
    if not isinstance(index, Tensor) or index.dtype == torch.bool or \
            index.is_floating_point():
        raise TypeError(f"'index' must be an integer tensor of node indices,"
                        f" got {getattr(index, 'dtype', type(index).__name__)}")
    _check_edge_index(edge_index)
    if isinstance(num_hops, bool) or not isinstance(num_hops, int) or \
            num_hops < 0:
        raise ValueError(f"'num_hops' must be an int >= 0, got {num_hops!r}")
    if isinstance(num_nodes, bool) or not isinstance(num_nodes, int) or \
            num_nodes < 0:
        raise ValueError(f"'num_nodes' must be an int >= 0, got "
                         f"{num_nodes!r}")
    if index.device != edge_index.device:
        raise ValueError(f"'index' is on {index.device} but 'edge_index' is "
                         f"on {edge_index.device}; move both to one device")
    if not edge_index.is_meta:  # ids in range (an inference-time read)
        check_index('index', index, num_nodes)
        check_index('edge_index', edge_index, num_nodes)


def khop_distance(index: Tensor, num_hops: int, edge_index: Tensor,
                  num_nodes: int, flow: str = 'source_to_target') -> Tensor:
    r"""The in-hop distance of every node to the node set :obj:`index`: the
    fewest message-passing steps in which a message from the node reaches
    some node of :obj:`index`, or :obj:`-1` beyond :obj:`num_hops`.

    Each hop only expands the newest frontier (a breadth-first search run on
    all frontier nodes at once).

    Args:
        index (torch.Tensor): Target node indices :obj:`[T]` (duplicates are
            fine).
        num_hops (int): The number of hops :math:`k`.
        edge_index (torch.Tensor): Edges :obj:`[2, E]`.
        num_nodes (int): The number of nodes :math:`N`.
        flow (str, optional): The message direction of the model,
            :obj:`'source_to_target'` (messages go
            :obj:`edge_index[0] -> edge_index[1]`) or
            :obj:`'target_to_source'`. (default: :obj:`'source_to_target'`)

    :rtype: :class:`torch.Tensor` of dtype :obj:`torch.long`, shape
        :obj:`[N]`.

    Example:
        >>> edge_index = torch.tensor([[0, 1, 2], [1, 2, 3]])
        >>> khop_distance(torch.tensor([3]), 2, edge_index, 5).tolist()
        [-1, 2, 1, 0, -1]
    """
    _check(index, num_hops, edge_index, num_nodes)
    src, dst = _src_dst(edge_index, flow)
    dist = torch.full((num_nodes, ), -1, dtype=torch.long,
                      device=edge_index.device)
    dist[index] = 0
    frontier = dist == 0
    for hop in range(1, num_hops + 1):
        reached = torch.zeros_like(frontier)
        reached[src[frontier[dst]]] = True
        frontier = reached & (dist < 0)
        if not bool(frontier.any()):
            break
        dist[frontier] = hop
    return dist


def induced_subgraph(node_mask: Tensor, edge_index: Tensor,
                     ) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    r"""The subgraph induced by the nodes of a boolean mask, relabelled.

    Args:
        node_mask (torch.Tensor): Boolean node mask :obj:`[N]`.
        edge_index (torch.Tensor): Edges :obj:`[2, E]`.

    Returns:
        (subset, sub_edge_index, relabel, edge_mask): the kept nodes (sorted),
        the induced edges (both ends kept) relabelled to :obj:`[0, |subset|)`,
        the map :obj:`[N]` from old to new labels (:obj:`-1` for dropped
        nodes), and the boolean edge mask :obj:`[E]`.

    Example:
        >>> edge_index = torch.tensor([[0, 1, 2], [1, 2, 3]])
        >>> mask = torch.tensor([False, True, True, True])
        >>> subset, sub_ei, relabel, edge_mask = induced_subgraph(
        ...     mask, edge_index)
        >>> subset.tolist(), sub_ei.tolist(), relabel.tolist()
        ([1, 2, 3], [[0, 1], [1, 2]], [-1, 0, 1, 2])
    """
    if not isinstance(node_mask, Tensor) or node_mask.dtype != torch.bool \
            or node_mask.dim() != 1:
        raise TypeError("'node_mask' must be a 1-D boolean tensor")
    _check_edge_index(edge_index)
    subset = node_mask.nonzero().view(-1)
    edge_mask = node_mask[edge_index[0]] & node_mask[edge_index[1]]
    relabel = torch.full((node_mask.numel(), ), -1, dtype=torch.long,
                         device=node_mask.device)
    relabel[subset] = torch.arange(subset.numel(), device=node_mask.device)
    return subset, relabel[edge_index[:, edge_mask]], relabel, edge_mask


def khop_in_subgraph(index: Tensor, num_hops: int, edge_index: Tensor,
                     num_nodes: int, flow: str = 'source_to_target',
                     ) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    r"""The subgraph induced by every node from which :obj:`index` can be
    reached by message passing in at most :obj:`num_hops` steps.

    Like :func:`torch_geometric.utils.k_hop_subgraph` with
    :obj:`relabel_nodes=True`, but each hop only expands the new frontier
    (see :func:`khop_distance`).

    Args:
        index (torch.Tensor): Target node indices :obj:`[T]`.
        num_hops (int): The number of hops :math:`k`.
        edge_index (torch.Tensor): Edges :obj:`[2, E]`.
        num_nodes (int): The number of nodes :math:`N`.
        flow (str, optional): :obj:`'source_to_target'` or
            :obj:`'target_to_source'`. (default: :obj:`'source_to_target'`)

    Returns:
        (subset, sub_edge_index, mapping, edge_mask): the nodes (sorted), the
        relabelled induced edges, the positions of :obj:`index` in
        :obj:`subset`, and the boolean edge mask.

    Example:
        >>> edge_index = torch.tensor([[0, 1, 2], [1, 2, 3]])
        >>> subset, sub_ei, mapping, _ = khop_in_subgraph(
        ...     torch.tensor([3]), 2, edge_index, 4)
        >>> subset.tolist(), sub_ei.tolist(), mapping.tolist()
        ([1, 2, 3], [[0, 1], [1, 2]], [2])
    """
    visited = khop_distance(index, num_hops, edge_index, num_nodes, flow) >= 0
    subset, sub_edge_index, relabel, edge_mask = induced_subgraph(
        visited, edge_index)
    return subset, sub_edge_index, relabel[index], edge_mask
