r"""Structure-only, degree-based edge scores and one-shot edge sparsification
from the `"TEDDY: Trimming Edges with Degree-based Discrimination strategY"
<https://arxiv.org/abs/2402.01261>`_ paper (official code:
`github.com/hyunjin72/TEDDY <https://github.com/hyunjin72/TEDDY>`_).

Everything here runs in :math:`O(N + E \log E)` time and :math:`O(N + E)`
memory: the score matrix :math:`\mathbf{T} = \hat{g}\hat{g}^{\top}` of the
paper is only ever read at existing edges, never materialised. Every
tensor is created on :obj:`edge_index`'s device (no NumPy/SciPy round
trip); these are data-setup functions, so they may read values on the host
(input checks, the number of edges to cut).
"""
import math
from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from pyg_ext.utils.validation import (check_bool, check_choice,
                                      check_edge_values,
                                      check_inferred_num_nodes, check_int,
                                      check_tensor)

__all__ = [
    'teddy_node_score',
    'teddy_edge_score',
    'teddy_keep_mask',
    'teddy_schedule',
    'teddy_distillation_loss',
    'check_sparsity',
]

_COUNT_RULES = ('undirected', 'entries')


def check_sparsity(sparsity, name: str = 'sparsity') -> float:
    r"""Returns :obj:`sparsity` as a :obj:`float` after checking that it lies
    in :math:`[0, 1)`; raises :class:`TypeError` / :class:`ValueError`
    naming :obj:`name` otherwise."""
    if isinstance(sparsity, Tensor) and sparsity.numel() == 1:
        sparsity = sparsity.item()
    if isinstance(sparsity, bool) or not isinstance(sparsity, (int, float)):
        raise TypeError(f"'{name}' must be a float in [0, 1), got "
                        f"{type(sparsity).__name__} {sparsity!r}")
    sparsity = float(sparsity)
    if not (0.0 <= sparsity < 1.0):  # also rejects NaN
        raise ValueError(f"'{name}' must be in [0, 1), got {sparsity!r}")
    return sparsity


def _check_edge_index(edge_index: Tensor,
                      num_nodes: Optional[int]) -> Tuple[Tensor, int]:
    if not isinstance(edge_index, Tensor):
        raise TypeError(f"'edge_index' must be a torch.Tensor, got "
                        f"{type(edge_index).__name__}")
    if edge_index.dtype.is_floating_point or edge_index.dtype.is_complex \
            or edge_index.dtype == torch.bool:
        raise TypeError(f"'edge_index' must have an integer dtype (e.g. "
                        f"torch.long), got {edge_index.dtype}")
    if edge_index.dim() != 2 or edge_index.size(0) != 2:
        hint = (' (it looks like [E, 2]: pass edge_index.t())'
                if edge_index.dim() == 2 and edge_index.size(1) == 2 else '')
        raise ValueError(f"'edge_index' must have shape [2, num_edges], got "
                         f"{list(edge_index.shape)}{hint}")
    edge_index = edge_index.long()
    check_int('num_nodes', num_nodes, 0, allow_none=True)
    if num_nodes is None:
        num_nodes = int(edge_index.max()) + 1 if edge_index.numel() > 0 else 0
        check_inferred_num_nodes('edge_index', num_nodes)
    if edge_index.numel() > 0:
        lo, hi = int(edge_index.min()), int(edge_index.max())
        if lo < 0 or hi >= num_nodes:
            raise ValueError(f"'edge_index' holds node ids in [{lo}, {hi}], "
                             f"outside the valid range [0, {num_nodes - 1}] "
                             f"for num_nodes={num_nodes}")
    return edge_index, num_nodes


def _check_per_edge(name: str, value, E: int, device: torch.device,
                    nonnegative: bool = False) -> None:
    r"""A 1-D tensor with one finite entry per edge on :obj:`device`."""
    if not isinstance(value, Tensor) or value.dim() != 1 or \
            value.numel() != E:
        raise ValueError(f"'{name}' must be a 1-D tensor with {E} entries "
                         f"(one per edge), got "
                         f"{getattr(value, 'shape', type(value).__name__)}")
    if value.device != device:
        raise ValueError(f"'{name}' is on {value.device} but 'edge_index' "
                         f"on {device}")
    check_edge_values(name, value, E, nonnegative=nonnegative)


class _Graph:
    r"""The coalesced adjacency of :obj:`edge_index`: unique entries sorted by
    ``(row, col)``, the map :obj:`inv` from every input column to its entry
    (:obj:`None` if the input is already coalesced) and, for symmetric input,
    :obj:`rev`, the position of every entry's reverse entry. Every tensor
    lives on :obj:`edge_index`'s device."""
    def __init__(self, edge_index: Tensor, num_nodes: Optional[int],
                 edge_weight: Optional[Tensor], allow_directed: bool,
                 add_self_loops: bool = False):
        check_bool('allow_directed', allow_directed)
        check_bool('add_self_loops', add_self_loops)
        edge_index, N = _check_edge_index(edge_index, num_nodes)
        E = edge_index.size(1)
        if edge_weight is not None:
            _check_per_edge('edge_weight', edge_weight, E, edge_index.device,
                            nonnegative=True)
        self.N, self.E = N, E
        self.device = edge_index.device
        self.edge_index = edge_index
        self.add_self_loops = add_self_loops
        row, col = edge_index
        key = row * N + col
        if E > 1 and not bool((key[1:] > key[:-1]).all()):
            key, self.inv = torch.unique(key, sorted=True, return_inverse=True)
            row = torch.div(key, N, rounding_mode='floor')
            col = key - row * N
        else:  # already coalesced: the fast path
            self.inv = None
        self.key, self.row, self.col = key, row, col
        if edge_weight is None:
            self.weight = None
        elif self.inv is None:
            self.weight = edge_weight.double()
        else:  # duplicates are summed, as `coalesce` does
            self.weight = torch.zeros(key.numel(), dtype=torch.float64,
                                      device=self.device)
            self.weight.index_add_(0, self.inv, edge_weight.double())

        self.rev = self._reverse_positions()
        if self.rev is None and not allow_directed:
            missing = self._missing_reverse()
            i = int(missing.nonzero()[0]) if bool(missing.any()) else 0
            u, v = int(row[i]), int(col[i])
            raise ValueError(
                f"'edge_index' must be undirected (edge ({u}, {v}) has no "
                f"reverse edge ({v}, {u}) of equal weight); symmetrize it "
                f"first (e.g. torch_geometric.transforms.ToUndirected) or "
                f"pass 'allow_directed=True'")

    def _reverse_positions(self) -> Optional[Tensor]:
        r"""The reverse-entry map of a symmetric graph, else :obj:`None`.

        Sorting the transposed keys ``col * N + row`` gives the entry ids in
        ``(col, row)`` order (the CSR transpose); the graph is symmetric iff
        the sorted transposed keys equal the keys, and then that order is
        exactly the reverse-entry map. Keys are unique, so no tie exists."""
        if self.key.numel() == 0:
            return torch.zeros(0, dtype=torch.long, device=self.device)
        rkey_sorted, perm = torch.sort(self.col * self.N + self.row)
        if not torch.equal(rkey_sorted, self.key):
            return None
        if self.weight is not None and not torch.equal(self.weight[perm],
                                                       self.weight):
            return None
        return perm

    def _missing_reverse(self) -> Tensor:
        rev = self.col * self.N + self.row
        pos = torch.searchsorted(self.key, rev).clamp_(max=self.key.numel() -
                                                       1)
        missing = self.key[pos] != rev
        if self.weight is not None:
            missing |= self.weight[pos] != self.weight
        return missing

    def to_input(self, entry_value: Tensor) -> Tensor:
        return entry_value if self.inv is None else entry_value[self.inv]

    def node_score(self) -> Tensor:
        N, dev = self.N, self.device
        row, col = self.row, self.col
        w = (torch.ones(row.numel(), dtype=torch.float64, device=dev)
             if self.weight is None else self.weight)
        if self.add_self_loops:  # A + I on nodes without a loop already
            has_loop = torch.zeros(N, dtype=torch.bool, device=dev)
            has_loop[row[row == col]] = True
            extra = (~has_loop).nonzero().view(-1)
            row = torch.cat([row, extra])
            col = torch.cat([col, extra])
            w = torch.cat([w, w.new_ones(extra.numel())])
        # In-degree over the target index (= degree for undirected input).
        deg = torch.zeros(N, dtype=torch.float64, device=dev).index_add_(
            0, col, w)
        deg_inv = deg.reciprocal()
        deg_inv.masked_fill_(deg == 0, 0.0)
        deg_inv_sqrt = deg.rsqrt()
        deg_inv_sqrt.masked_fill_(deg == 0, 0.0)
        agg = torch.zeros(N, dtype=torch.float64, device=dev).index_add_(
            0, col, w * deg_inv_sqrt[row])
        return deg_inv * deg_inv * agg

    def pair_key(self) -> Tensor:
        r"""Canonical undirected key ``min * N + max`` per unique entry."""
        lo = torch.minimum(self.row, self.col)
        hi = torch.maximum(self.row, self.col)
        return lo * self.N + hi


def _smallest(score: Tensor, n: int, tie_key: Optional[Tensor]) -> Tensor:
    r"""Indices of the :obj:`n` smallest entries of :obj:`score` in the
    order ``(score, tie_key)`` (``tie_key`` defaults to the position), in
    O(len) expected time: a selection, then a sort of the ties only."""
    thr = torch.kthvalue(score, n).values
    below = (score < thr).nonzero().view(-1)
    ties = (score == thr).nonzero().view(-1)
    need = n - below.numel()
    if tie_key is not None and ties.numel() > need:
        ties = ties[torch.sort(tie_key[ties], stable=True).indices]
    return torch.cat([below, ties[:need]])


def _out_dtype(edge_weight: Optional[Tensor]) -> torch.dtype:
    if edge_weight is not None and edge_weight.dtype.is_floating_point:
        return edge_weight.dtype
    return torch.get_default_dtype()


def teddy_node_score(edge_index: Tensor, num_nodes: Optional[int] = None,
                     edge_weight: Optional[Tensor] = None, *,
                     add_self_loops: bool = False,
                     allow_directed: bool = False) -> Tensor:
    r"""The multi-level degree node score of TEDDY from the `"TEDDY: Trimming
    Edges with Degree-based Discrimination strategY"
    <https://arxiv.org/abs/2402.01261>`_ paper

    .. math::
        \hat{g}_v = \frac{1}{d_v^{2}} \sum_{u \in \mathcal{N}(v)}
        \frac{1}{\sqrt{d_u}}, \qquad
        \hat{g} = \mathbf{D}^{-2} \mathbf{A} \mathbf{D}^{-1/2} \mathbf{1},

    with inverse degrees of isolated nodes set to :math:`0`. Duplicate edges
    are merged (binary adjacency, or summed weights); a self-loop counts once.
    Only the structure is read: no features, no labels.

    Args:
        edge_index (torch.Tensor): The (undirected) graph connectivity.
        num_nodes (int, optional): The number of nodes. (default: :obj:`None`)
        edge_weight (torch.Tensor, optional): Edge weights; if given, degrees
            and neighbour sums are weighted. (default: :obj:`None`)
        add_self_loops (bool, optional): Score :math:`\mathbf{A} +
            \mathbf{I}` (self-loops added to nodes that have none), as the
            official GAT script does. (default: :obj:`False`)
        allow_directed (bool, optional): Accept directed input; degrees are
            then in-degrees over :obj:`edge_index[1]`. (default: :obj:`False`)

    :rtype: :class:`torch.Tensor` of shape :obj:`[num_nodes]`

    Example:
        >>> edge_index = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
        >>> teddy_node_score(edge_index)  # path 0-1-2
        tensor([0.7071, 0.5000, 0.7071])
    """
    g = _Graph(edge_index, num_nodes, edge_weight, allow_directed,
               add_self_loops)
    return g.node_score().to(_out_dtype(edge_weight))


def teddy_edge_score(edge_index: Tensor, num_nodes: Optional[int] = None,
                     edge_weight: Optional[Tensor] = None, *,
                     add_self_loops: bool = False,
                     allow_directed: bool = False) -> Tensor:
    r"""The TEDDY edge score :math:`T_{uv} = \hat{g}_u \hat{g}_v` of every
    column of :obj:`edge_index` (see :func:`teddy_node_score`), i.e. the
    outer product :math:`\hat{g}\hat{g}^{\top}` of the paper's Eq. 5 read at
    the existing edges only, in :math:`O(N + E)` memory. Low scores (edges
    touching hubs or dense regions) are pruned first.

    Args:
        edge_index (torch.Tensor): The (undirected) graph connectivity.
        num_nodes (int, optional): The number of nodes. (default: :obj:`None`)
        edge_weight (torch.Tensor, optional): Edge weights.
            (default: :obj:`None`)
        add_self_loops (bool, optional): Score :math:`\mathbf{A} +
            \mathbf{I}` (GAT variant). (default: :obj:`False`)
        allow_directed (bool, optional): Accept directed input.
            (default: :obj:`False`)

    :rtype: :class:`torch.Tensor` of shape :obj:`[num_edges]`

    Example:
        >>> # K4: every edge scores 1 / 27
        >>> edge_index = torch.tensor([[0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3],
        ...                            [1, 2, 3, 0, 2, 3, 0, 1, 3, 0, 1, 2]])
        >>> round(float(teddy_edge_score(edge_index)[0]) * 27, 6)
        1.0
    """
    g = _Graph(edge_index, num_nodes, edge_weight, allow_directed,
               add_self_loops)
    node = g.node_score()
    row, col = g.edge_index
    return (node[row] * node[col]).to(_out_dtype(edge_weight))


def teddy_keep_mask(edge_index: Tensor, sparsity: float,
                    num_nodes: Optional[int] = None, *,
                    score: Optional[Tensor] = None,
                    edge_weight: Optional[Tensor] = None,
                    count: str = 'undirected', keep_self_loops: bool = True,
                    add_self_loops: bool = False,
                    allow_directed: bool = False) -> Tensor:
    r"""The one-shot TEDDY edge mask for a target graph sparsity
    :math:`p_g`: the edges with the smallest :func:`teddy_edge_score` are
    removed.

    With :obj:`count='undirected'` (default), the :math:`E_\mathrm{und}`
    undirected pairs :math:`\{u, v\}, u \neq v` are ranked by
    :math:`(T_{uv}, \min(u,v), \max(u,v))` ascending and the first
    :math:`\lfloor p_g E_\mathrm{und} + 10^{-9} \rfloor` are removed in both
    directions, so the output stays undirected and the count is exact. With
    :obj:`count='entries'` (official-code parity), :math:`\lfloor p_g \cdot
    \mathrm{nnz} \rfloor` directed entries are removed, where
    :math:`\mathrm{nnz}` counts the unique directed entries including
    self-loops; an odd count cuts one direction of one edge. Self-loops are
    never removed unless :obj:`keep_self_loops=False`. Because the ranking is
    a fixed total order, masks of increasing sparsity are nested.

    Args:
        edge_index (torch.Tensor): The (undirected) graph connectivity.
        sparsity (float): The fraction :math:`p_g \in [0, 1)` to remove.
        num_nodes (int, optional): The number of nodes. (default: :obj:`None`)
        score (torch.Tensor, optional): Precomputed per-column scores
            (default: :func:`teddy_edge_score`). Both directions of a pair
            must carry the same score.
        edge_weight (torch.Tensor, optional): Edge weights for the score.
            (default: :obj:`None`)
        count (str, optional): :obj:`'undirected'` or :obj:`'entries'`.
            (default: :obj:`'undirected'`)
        keep_self_loops (bool, optional): Never remove self-loops and leave
            them out of the count. (default: :obj:`True`)
        add_self_loops (bool, optional): Score with self-loops added (GAT
            variant). (default: :obj:`False`)
        allow_directed (bool, optional): Accept directed input.
            (default: :obj:`False`)

    :rtype: :class:`torch.BoolTensor` of shape :obj:`[num_edges]`
        (:obj:`True` = keep)

    Example:
        >>> # path 0-1-2-3: the middle edge has the lowest score
        >>> edge_index = torch.tensor([[0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2]])
        >>> teddy_keep_mask(edge_index, 0.4)
        tensor([ True,  True, False, False,  True,  True])
    """
    sparsity = check_sparsity(sparsity)
    check_choice('count', count, _COUNT_RULES)
    check_bool('keep_self_loops', keep_self_loops)
    g = _Graph(edge_index, num_nodes, edge_weight, allow_directed,
               add_self_loops)
    E = g.E
    if score is None:
        node = g.node_score()
        entry_score = node[g.row] * node[g.col]
    else:
        _check_per_edge('score', score, E, g.device)
        if g.inv is None:
            entry_score = score.double()
        else:
            entry_score = torch.empty(g.key.numel(), dtype=torch.float64,
                                      device=g.device)
            entry_score[g.inv] = score.double()
    keep = torch.ones(E, dtype=torch.bool, device=g.device)
    if sparsity == 0.0 or E == 0:
        return keep

    M = g.key.numel()
    loop = g.row == g.col
    arange = torch.arange(M, device=g.device)
    if count == 'undirected':
        # Unique entries are sorted by (row, col), so the entries with
        # row <= col are in ascending (min, max) order: the position is the
        # tie-break.
        if g.rev is not None:
            canon = torch.where(g.row <= g.col, arange, g.rev)
        else:  # directed input: map (v, u) to (u, v) when that exists
            rkey = g.col * g.N + g.row
            pos = torch.searchsorted(g.key, rkey).clamp_(max=M - 1)
            has_rev = g.key[pos] == rkey
            canon = torch.where(has_rev & (g.row > g.col), pos, arange)
        cand = canon == arange
        if keep_self_loops:
            cand &= ~loop
        cand_idx = cand.nonzero().view(-1)
        n_prune = int(math.floor(sparsity * cand_idx.numel() + 1e-9))
        if n_prune == 0:
            return keep
        tie = None if g.rev is not None else g.pair_key()[cand_idx]
        chosen = cand_idx[_smallest(entry_score[cand_idx], n_prune, tie)]
        pruned = torch.zeros(M, dtype=torch.bool, device=g.device)
        pruned[chosen] = True
        return ~g.to_input(pruned[canon])

    # count == 'entries': official int(p * nnz) over unique directed entries,
    # ties in (score, min, max, row) order so that pairs stay adjacent.
    n_prune = int(sparsity * M)
    cand_idx = ((~loop) if keep_self_loops else torch.ones_like(loop)) \
        .nonzero().view(-1)
    n_prune = min(n_prune, cand_idx.numel())
    if n_prune == 0:
        return keep
    tie = g.pair_key()[cand_idx] * 2 + (g.row > g.col)[cand_idx]
    chosen = cand_idx[_smallest(entry_score[cand_idx], n_prune, tie)]
    pruned = torch.zeros(M, dtype=torch.bool, device=g.device)
    pruned[chosen] = True
    return ~g.to_input(pruned)


def teddy_schedule(num_levels: int = 20, graph_rate: float = 0.05,
                   weight_rate: float = 0.1) -> List[Tuple[float, float]]:
    r"""The sparsity levels of the TEDDY / graph-lottery-ticket sweep:
    :math:`(1 - (1 - a)^k, 1 - (1 - w)^k)` for :math:`k = 1, \ldots,`
    :obj:`num_levels`.

    Args:
        num_levels (int, optional): Number of levels. (default: :obj:`20`)
        graph_rate (float, optional): Per-level edge rate :math:`a`.
            (default: :obj:`0.05`)
        weight_rate (float, optional): Per-level weight rate :math:`w`.
            (default: :obj:`0.1`)

    Example:
        >>> [(round(g, 4), round(w, 4)) for g, w in teddy_schedule(2)]
        [(0.05, 0.1), (0.0975, 0.19)]
    """
    check_int('num_levels', num_levels, 1)
    a = check_sparsity(graph_rate, 'graph_rate')
    w = check_sparsity(weight_rate, 'weight_rate')
    for name, r in (('graph_rate', a), ('weight_rate', w)):
        # the last level bounds the list (and a level must stay < 1)
        if 1.0 - (1.0 - r)**num_levels >= 1.0:
            raise ValueError(f"'num_levels' ({num_levels}) is too large for "
                             f"{name}={r}: the sparsity of the last levels "
                             f"rounds to 1 (nothing left to train)")
    return [(1.0 - (1.0 - a)**k, 1.0 - (1.0 - w)**k)
            for k in range(1, num_levels + 1)]


def teddy_distillation_loss(student_logits: Tensor,
                            teacher_logits: Tensor) -> Tensor:
    r"""The distillation term of TEDDY's loss (the paper's Eq. 6)

    .. math::
        \frac{1}{N} \sum_{v \in \mathcal{V}} \mathrm{KL}\left(
        \mathrm{softmax}(\mathbf{Z}^{t}_v) \,\|\,
        \mathrm{softmax}(\mathbf{Z}^{s}_v) \right)

    over **all** :math:`N` rows (not only training nodes). The teacher is
    detached.

    Args:
        student_logits (torch.Tensor): Student logits :obj:`[N, C]`.
        teacher_logits (torch.Tensor): Teacher logits :obj:`[N, C]`.

    Example:
        >>> z = torch.randn(4, 3)
        >>> float(teddy_distillation_loss(z, z))
        0.0
    """
    check_tensor('student_logits', student_logits, kind='float')
    check_tensor('teacher_logits', teacher_logits, kind='float')
    if student_logits.shape != teacher_logits.shape \
            or student_logits.dim() != 2:
        raise ValueError(f"'student_logits' and 'teacher_logits' must both "
                         f"have shape [N, C], got "
                         f"{list(student_logits.shape)} and "
                         f"{list(teacher_logits.shape)}")
    N = student_logits.size(0)
    if N == 0:
        return student_logits.sum() * 0.0
    log_p_s = F.log_softmax(student_logits, dim=-1)
    p_t = F.softmax(teacher_logits.detach(), dim=-1)
    log_p_t = F.log_softmax(teacher_logits.detach(), dim=-1)
    kl = (p_t * (log_p_t - log_p_s)).sum()
    return kl / N
