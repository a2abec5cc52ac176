r"""Real-data source/target pairs for test-time adaptation under structure
shift (AdaRC protocols): Twitch-E across languages, a Syn-Cora-style
generator on Cora features, and the OGB-arxiv temporal split."""
from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.utils import subgraph

from pyg_ext.datasets.csbm_shift import GraphShift
from pyg_ext.registry import register_dataset
from pyg_ext.transforms.match_edge_homophily import MatchEdgeHomophily

__all__ = [
    'twitch_shift',
    'syn_cora_graph',
    'preferential_attachment_graph',
    'feature_hash_split',
    'syn_cora_shift',
    'arxiv_time_shift',
    'TwitchShiftOptions',
    'SynCoraShiftOptions',
    'ArxivTimeShiftOptions',
]

TWITCH_TARGETS = ('ENGB', 'ES', 'FR', 'PTBR')


def _all(n: int) -> Tensor:
    return torch.ones(n, dtype=torch.bool)


def _strip_masks(data: Data) -> Data:
    for key in ('train_mask', 'val_mask', 'test_mask'):
        if key in data:
            del data[key]
    return data


def twitch_shift(root: Optional[str], source: str = 'DE',
                 target: str = 'ENGB',
                 target_homophily: Optional[float] = 0.2,
                 match_seed: int = 42,
                 to_undirected: bool = False) -> GraphShift:
    r"""Twitch-E transfer between languages as in AdaRC: train on all nodes
    of :obj:`source`, evaluate on all nodes of :obj:`target`. With
    :obj:`target_homophily`, target edges are dropped with
    :class:`~pyg_ext.transforms.MatchEdgeHomophily` (official: 0.2, seed 42);
    :obj:`None` keeps the natural shift. Edges are used as listed in the CSV
    (directed, as the official loader) unless :obj:`to_undirected`.
    Needs ``<root>/linkx/twitch/<L>/`` (see
    :func:`~pyg_ext.datasets.linkx.load_twitch`)."""
    from pyg_ext.datasets.linkx import load_twitch
    if source.upper() == target.upper():
        raise ValueError(f"'source' and 'target' must differ, got "
                         f"{source!r} twice")
    src = _strip_masks(load_twitch(root, source.upper(),
                                   to_undirected=to_undirected))
    tgt = _strip_masks(load_twitch(root, target.upper(),
                                   to_undirected=to_undirected))
    if target_homophily is not None:
        tgt = MatchEdgeHomophily(target_homophily, seed=match_seed)(tgt)
    src.train_mask = _all(src.num_nodes)
    tgt.test_mask = _all(tgt.num_nodes)
    shift = 'natural' if target_homophily is None else \
        f'h{target_homophily:g}'
    return GraphShift(src, tgt, f'twitch-{source}2{target}-{shift}')


def preferential_attachment_graph(y: Tensor, homophily: float,
                                  edges_per_node: int = 2,
                                  seed: int = 0) -> Tensor:
    r"""An undirected graph on labelled nodes grown by preferential
    attachment with a target edge homophily (the generator family of H2GCN's
    Syn-Cora): nodes arrive in a random order; each new node adds
    :obj:`edges_per_node` edges, each going with probability
    :obj:`homophily` to an earlier node of its own class and otherwise to an
    earlier node of another class, chosen with probability proportional to
    (degree + 1); if the chosen group has no free candidate, the other group
    is used. Returns a coalesced, symmetric :obj:`edge_index`."""
    if not 0.0 <= homophily <= 1.0:
        raise ValueError(f"'homophily' must be in [0, 1], got {homophily}")
    if edges_per_node < 1:
        raise ValueError(f"'edges_per_node' must be >= 1, got "
                         f"{edges_per_node}")
    rng = np.random.default_rng(seed)
    labels = y.cpu().numpy()
    n = labels.shape[0]
    order = rng.permutation(n)
    deg = np.zeros(n, dtype=np.float64)
    rows, cols = [], []
    for t, v in enumerate(order):
        if t > 0:
            prev = order[:t]
            same = prev[labels[prev] == labels[v]]
            diff = prev[labels[prev] != labels[v]]
            chosen = set()
            for _ in range(min(edges_per_node, t)):
                first, second = (same, diff) if rng.random() < homophily \
                    else (diff, same)
                for group in (first, second):
                    cand = group[~np.isin(group, list(chosen))] \
                        if chosen else group
                    if cand.size:
                        w = deg[cand] + 1.0
                        u = cand[rng.choice(cand.size, p=w / w.sum())]
                        chosen.add(int(u))
                        break
            for u in chosen:
                rows += [v, u]
                cols += [u, v]
                deg[u] += 1
                deg[v] += 1
    ei = torch.tensor([rows, cols], dtype=torch.long)
    from torch_geometric.utils import coalesce
    return coalesce(ei, num_nodes=n)


def feature_hash_split(x: Tensor, y: Tensor,
                       every: int = 4) -> Tuple[Tensor, Tensor]:
    r"""The AdaRC non-overlapping node split for graphs that share node
    features across homophily levels: nodes are sorted by the feature hash
    :math:`\sum_j 1.001^j x_{ij}` (float64, stable sort) and within each class
    every :obj:`every`-th node (25% for 4) is a train node, the rest are test
    nodes. Returns ``(train_mask, test_mask)``."""
    base = torch.tensor(1.001, dtype=torch.float64).pow(
        torch.arange(x.size(1), dtype=torch.float64))
    order = torch.sort(x.double() @ base, stable=True).indices
    train = torch.zeros(x.size(0), dtype=torch.bool)
    y_sorted = y[order]
    for c in torch.unique(y):
        members = order[y_sorted == c]
        train[members[::every]] = True
    return train, ~train


def syn_cora_graph(cora: Data, homophily: float, nodes_per_class: int = 298,
                   num_classes: int = 5, edges_per_node: int = 2,
                   seed: int = 1) -> Data:
    r"""A Syn-Cora-style graph (`"Beyond Homophily in Graph Neural Networks"
    <https://arxiv.org/abs/2006.11468>`_, H2GCN) from the real Cora features:
    the :obj:`num_classes` largest Cora classes (relabelled 0.. in the order
    of their original labels), :obj:`nodes_per_class` Cora nodes drawn per
    class with seed :obj:`seed` (the same nodes and features for every
    homophily level), and edges from :func:`preferential_attachment_graph`
    with the given :obj:`homophily` (seeded by :obj:`seed` and the level).
    With the defaults: 5 classes x 298 nodes = 1490 nodes, about 4 edges per
    node, as the original Syn-Cora (whose files are no longer available)."""
    counts = torch.bincount(cora.y)
    if num_classes > counts.numel():
        raise ValueError(f"'num_classes' ({num_classes}) exceeds the "
                         f"{counts.numel()} classes of the base graph")
    classes = torch.sort(torch.argsort(counts, descending=True,
                                       stable=True)[:num_classes]).values
    if int(counts[classes].min()) < nodes_per_class:
        raise ValueError(f"'nodes_per_class' ({nodes_per_class}) exceeds the "
                         f"size of a chosen class "
                         f"({int(counts[classes].min())})")
    gen = torch.Generator().manual_seed(int(seed))
    nodes, labels = [], []
    for new, c in enumerate(classes.tolist()):
        members = (cora.y == c).nonzero().view(-1)
        pick = members[torch.randperm(members.numel(), generator=gen)
                       [:nodes_per_class]]
        nodes.append(torch.sort(pick).values)
        labels.append(torch.full((nodes_per_class, ), new, dtype=torch.long))
    nodes, y = torch.cat(nodes), torch.cat(labels)
    ei = preferential_attachment_graph(
        y, homophily, edges_per_node,
        seed=[int(seed), int(round(homophily * 1000))])
    return Data(x=cora.x[nodes].clone(), edge_index=ei, y=y,
                cora_index=nodes, num_nodes=y.numel())


def syn_cora_shift(root: Optional[str], source_homophily: float = 0.8,
                   target_homophily: float = 0.2, seed: int = 1,
                   nodes_per_class: int = 298,
                   edges_per_node: int = 2) -> GraphShift:
    r"""The Syn-Cora protocol of AdaRC on regenerated graphs
    (:func:`syn_cora_graph`): source and target share nodes and features and
    differ in homophily; the source is trained on ``train_mask`` and the
    target evaluated on ``test_mask`` of the non-overlapping
    :func:`feature_hash_split` (so no target test node's features are seen
    with a label during training). Needs Cora at
    ``<root>/planetoid/Cora/raw``."""
    from pyg_ext.datasets.planetoid import load_planetoid
    cora = load_planetoid(root, 'cora')
    src = syn_cora_graph(cora, source_homophily, nodes_per_class,
                         edges_per_node=edges_per_node, seed=seed)
    tgt = syn_cora_graph(cora, target_homophily, nodes_per_class,
                         edges_per_node=edges_per_node, seed=seed)
    train, test = feature_hash_split(src.x, src.y)
    src.train_mask, src.test_mask = train, test
    tgt.train_mask, tgt.test_mask = train.clone(), test.clone()
    return GraphShift(src, tgt, f'syn-cora-h{source_homophily:g}-to-'
                      f'h{target_homophily:g}-r{seed}')


def _year_graph(data: Data, upper: int, lower: int) -> Data:
    keep = data.node_year <= upper
    ei, _ = subgraph(keep, data.edge_index, relabel_nodes=True,
                     num_nodes=data.num_nodes)
    years = data.node_year[keep]
    out = Data(x=data.x[keep], edge_index=ei, y=data.y[keep],
               node_year=years, num_nodes=int(keep.sum()))
    out.test_mask = years > lower
    out.train_mask = _all(out.num_nodes)
    return out


def arxiv_time_shift(root: Optional[str], source_year: int = 2011,
                     target_years: Tuple[int, int] = (2014, 2020),
                     target_homophily: Optional[float] = 0.2,
                     match_seed: int = 42,
                     to_undirected: bool = False) -> GraphShift:
    r"""The OGB-arxiv temporal shift of AdaRC: the source is the graph of
    papers with year :math:`\le` :obj:`source_year` (all nodes trained); the
    target is the graph of papers with year :math:`\le` ``target_years[1]``,
    evaluated on ``test_mask = year > target_years[0]``, with its edges
    pushed to :obj:`target_homophily` by
    :class:`~pyg_ext.transforms.MatchEdgeHomophily` (:obj:`None`: natural).
    Citations stay directed unless :obj:`to_undirected`. Needs ogbn-arxiv in
    the data root (see :func:`~pyg_ext.datasets.ogb.load_ogbn_arxiv`)."""
    from pyg_ext.datasets.ogb import load_ogbn_arxiv
    lo, hi = target_years
    if not source_year < hi or not lo < hi:
        raise ValueError(f"expected source_year < target_years[1] and "
                         f"target_years[0] < target_years[1], got "
                         f"{source_year} and {target_years}")
    data = load_ogbn_arxiv(root, to_undirected=to_undirected)
    src = _year_graph(data, source_year, -10**9)
    tgt = _year_graph(data, hi, lo)
    if target_homophily is not None:
        tgt = MatchEdgeHomophily(target_homophily, seed=match_seed)(tgt)
    return GraphShift(src, tgt, f'arxiv-<={source_year}-to-{lo}..{hi}')


@dataclass
class _MatchOptions:
    r"""Where the target's edge homophily is pushed (``null``: the natural
    shift) and the edge draw's seed (see
    :class:`~pyg_ext.transforms.MatchEdgeHomophily`)."""
    target_homophily: Optional[float] = 0.2
    match_seed: int = 42
    to_undirected: bool = False


@dataclass
class TwitchShiftOptions(_MatchOptions):
    r"""Options of ``twitch_shift`` (see :func:`twitch_shift`);
    ``target_homophily: null`` keeps the natural shift."""
    source: str = 'DE'
    target: str = 'ENGB'


@dataclass
class SynCoraShiftOptions:
    r"""Options of ``syn_cora_shift`` (see :func:`syn_cora_shift`)."""
    source_homophily: float = 0.8
    target_homophily: float = 0.2
    seed: int = 1
    nodes_per_class: int = 298
    edges_per_node: int = 2


@dataclass
class ArxivTimeShiftOptions(_MatchOptions):
    r"""Options of ``arxiv_time_shift`` (see :func:`arxiv_time_shift`)."""
    source_year: int = 2011
    target_year_low: int = 2014
    target_year_high: int = 2020


@register_dataset('twitch_shift', options=TwitchShiftOptions,
                  description='Twitch-E DE -> other language pair, target '
                  'pushed to edge homophily 0.2 (AdaRC)')
def _load_twitch_shift(root: str, **kw) -> GraphShift:
    return twitch_shift(root, **kw)


@register_dataset('syn_cora_shift', options=SynCoraShiftOptions,
                  description='Syn-Cora-style pair from Cora features, '
                  'h 0.8 -> 0.2, non-overlapping split (AdaRC)')
def _load_syn_cora_shift(root: str, **kw) -> GraphShift:
    return syn_cora_shift(root, **kw)


@register_dataset('arxiv_time_shift', options=ArxivTimeShiftOptions,
                  description='ogbn-arxiv temporal pair (<=2011 -> 2014-2020)'
                  ', target pushed to edge homophily 0.2 (AdaRC)')
def _load_arxiv_time_shift(root: str, target_year_low: int = 2014,
                           target_year_high: int = 2020, **kw) -> GraphShift:
    return arxiv_time_shift(root, target_years=(target_year_low,
                                                target_year_high), **kw)
