r"""Exact subgraph inference for :class:`~pyg_ext.nn.models.Mowst`: the
routing of paper Algorithm 1 (`"Mixture of Weak & Strong Experts on Graphs"
<https://arxiv.org/abs/2311.05185>`_, ICLR 2024), with the strong expert run
only on the k-hop subgraph of the nodes routed to it.

The official code (`facebookresearch/mowst-gnn
<https://github.com/facebookresearch/mowst-gnn>`_) runs the GNN on the whole
graph; here the strong expert computes only the nodes it must, with the same
logits for the routed nodes:

* the k-hop in-neighbourhood of the routed nodes
  (:func:`pyg_ext.utils.khop_distance`), :math:`k` = the number of
  message-passing modules (plus one for a normalising
  :class:`~torch_geometric.nn.conv.GCNConv`, whose degrees reach one hop
  further, unless its normalisation is computed once on the whole graph and
  passed as :obj:`edge_weight`: *prenormalisation*);
* for a PyG :class:`~torch_geometric.nn.models.basic_gnn.BasicGNN`, the
  subgraph laid out by hop so that PyG's
  :func:`~torch_geometric.utils.trim_to_layer` drops the outer hop after each
  layer (*trimming*);
* the whole graph when (nearly) every node is needed, or when a module's
  per-node output depends on the whole graph (graph-level normalisation,
  LSTM/GRU aggregation).

See ``docs/mowst.md`` for the rules and their tests. Inference reads sizes
back to the host (the subgraph has a data-dependent size); every tensor is
created on the inputs' device.
"""
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

import torch
from torch import Tensor

from pyg_ext.utils.khop import induced_subgraph, khop_distance
from pyg_ext.utils.sparse_adj import csr_of, is_sparse_adj

if TYPE_CHECKING:  # pragma: no cover
    from pyg_ext.nn.models.mowst import Mowst

__all__ = ['MowstPrediction']

MODES = ('sample', 'threshold', 'mixture')
GCN_SUBGRAPH = ('auto', 'extra_hop', 'prenormalize')
# Subgraph inference runs the whole graph instead once the k-hop set holds
# at least this share of the nodes (the induced copy would cost more).
FULL_GRAPH_SHARE = 0.9
EDGE_KWARGS = ('edge_weight', 'edge_attr', 'edge_type')


@dataclass
class MowstPrediction:
    r"""The result of :meth:`Mowst.predict` for the target nodes.

    Attributes:
        pred (torch.Tensor): Predicted classes :obj:`[T]`.
        used_strong (torch.Tensor): Whether each target used the strong
            expert :obj:`[T]` (all :obj:`True` in :obj:`'mixture'` mode).
        conf (torch.Tensor): Confidence of each target :obj:`[T]`.
        weak_logits (torch.Tensor): Weak expert logits :obj:`[T, C]`.
        strong_logits (torch.Tensor): Strong expert logits :obj:`[T, C]`,
            :obj:`NaN` on rows where the strong expert was not used.
        index (torch.Tensor): The target node indices :obj:`[T]`.
        num_strong_nodes_computed (int): How many nodes the strong expert
            actually ran on (size of the k-hop subgraph; 0 if no target was
            routed to it).
    """
    pred: Tensor
    used_strong: Tensor
    conf: Tensor
    weak_logits: Tensor
    strong_logits: Tensor
    index: Tensor
    num_strong_nodes_computed: int

    @property
    def strong_fraction(self) -> float:
        r"""Fraction of targets routed to the strong expert."""
        n = self.used_strong.numel()
        return float(self.used_strong.sum()) / n if n > 0 else 0.0



def _sub_kwargs(kwargs, edge_mask: Tensor, subset: Tensor, N: int) -> dict:
    # the strong expert's keyword tensors restricted to an induced subgraph:
    # edge-level ones by the kept edges, node-level ones by the kept nodes
    out = {}
    for key, val in kwargs.items():
        if isinstance(val, Tensor) and key in EDGE_KWARGS:
            val = val[edge_mask]
        elif isinstance(val, Tensor) and val.dim() >= 1 and val.size(0) == N:
            val = val[subset]
        out[key] = val
    return out

def num_edges(edge_index: Any) -> int:
    r"""Edges of an :obj:`edge_index`, stored entries of a sparse
    :obj:`adj_t` (the rows an edge-level keyword argument must have)."""
    if is_sparse_adj(edge_index):
        return edge_index._nnz() if isinstance(edge_index, Tensor) else \
            edge_index.nnz()
    return edge_index.size(1)


# Which modules of the strong expert matter ---------------------------------
def _mp_modules(strong: torch.nn.Module) -> List:
    from torch_geometric.nn.conv import MessagePassing
    return [m for m in strong.modules() if isinstance(m, MessagePassing)]


def _gcn_convs(strong: torch.nn.Module) -> List:
    from torch_geometric.nn.conv import GCNConv
    return [m for m in strong.modules()
            if isinstance(m, GCNConv) and m.normalize]


def _flow(strong: torch.nn.Module) -> str:
    mps = _mp_modules(strong)
    return mps[0].flow if mps else 'source_to_target'


def _dst(edge_index: Tensor, flow: str) -> Tensor:
    return edge_index[1] if flow == 'source_to_target' else edge_index[0]


def _accepts_kwarg(module: torch.nn.Module, name: str) -> bool:
    import inspect
    try:
        params = inspect.signature(module.forward).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind == p.VAR_KEYWORD
                                 for p in params.values())


def graph_level_module(strong: torch.nn.Module) -> Optional[str]:
    r"""Name of a module of :obj:`strong` whose per-node output depends on
    the whole graph (graph-level normalisation, padded sequence aggregation),
    else :obj:`None`. Subgraph inference is not exact with these, so
    :meth:`Mowst.predict` runs them on the whole graph."""
    from torch_geometric.nn import aggr, norm
    graph_level = (norm.GraphNorm, norm.GraphSizeNorm, norm.PairNorm,
                   norm.MeanSubtractionNorm, aggr.LSTMAggregation,
                   aggr.GRUAggregation)
    for name, m in strong.named_modules():
        if (isinstance(m, graph_level)
                or (isinstance(m, norm.LayerNorm) and m.mode == 'graph')
                or (isinstance(m, norm.InstanceNorm)
                    and not m.track_running_stats)):
            return name or m.__class__.__name__
    return None


def check_no_cached(strong: torch.nn.Module) -> None:
    r"""Rejects a strong expert with a :obj:`cached=True` module: its cache
    holds the whole graph's normalisation."""
    for name, m in strong.named_modules():
        if getattr(m, 'cached', False) is True:
            raise ValueError(
                f"the strong expert's module '{name}' "
                f"({m.__class__.__name__}) has cached=True: its cache "
                f"holds the whole graph's normalisation, so it cannot run "
                f"on the k-hop subgraph of the routed nodes. Build it "
                f"with cached=False, or use predict(mode='mixture') "
                f"without 'index'")


# The plan: hops, prenormalisation, trimming --------------------------------
def _prenorm_plan(model: 'Mowst', kwargs: Dict[str, Any],
                  strict: bool = True) -> bool:
    r"""Whether GCN normalisation is computed once on the whole graph and
    passed as :obj:`edge_weight`."""
    gcns = _gcn_convs(model.strong)
    if not gcns or model.gcn_subgraph == 'extra_hop':
        return False
    ok = (_accepts_kwarg(model.strong, 'edge_weight')
          and 'edge_attr' not in kwargs
          # The normalised edges (with self-loops) reach every layer: only
          # exact if every layer is such a GCNConv.
          and len(gcns) == len(_mp_modules(model.strong))
          and len({(m.improved, m.add_self_loops, m.flow)
                   for m in gcns}) == 1)
    if not ok and strict and model.gcn_subgraph == 'prenormalize':
        raise ValueError(
            "gcn_subgraph='prenormalize' needs a strong expert whose forward "
            "accepts 'edge_weight', no 'edge_attr', and GCNConv layers that "
            "agree on 'improved' and 'add_self_loops'; use "
            "gcn_subgraph='extra_hop'")
    return ok


def _subgraph_plan(model: 'Mowst', kwargs: Dict[str, Any]
                   ) -> Tuple[int, bool]:
    r"""(num_hops, prenormalize) for subgraph inference."""
    prenorm = _prenorm_plan(model, kwargs)
    if model.strong_num_hops is not None:
        return model.strong_num_hops, prenorm
    hops = len(_mp_modules(model.strong))
    if hops == 0:
        raise ValueError(
            "cannot infer the strong expert's receptive field: it has "
            "no MessagePassing modules; pass 'strong_num_hops'")
    if _gcn_convs(model.strong) and not prenorm:
        hops += 1  # GCN normalisation needs the degree one hop further.
    return hops, prenorm


def _can_trim(model: 'Mowst', hops: int, prenorm: bool,
              kwargs: Dict[str, Any]) -> bool:
    r"""Whether PyG's layer trimming may be used."""
    from torch_geometric.nn.models.basic_gnn import BasicGNN
    s = model.strong
    if not (model.trim_layers and isinstance(s, BasicGNN)
            and type(s).forward is BasicGNN.forward
            and getattr(s, 'jk_mode', None) is None
            and hops == s.num_layers):
        return False
    if _gcn_convs(s) and not prenorm:
        return False
    if set(kwargs) - {'edge_weight', 'edge_attr'}:
        return False  # e.g. 'batch': not trimmed by PyG
    return not (isinstance(kwargs.get('edge_weight'), Tensor)
                and isinstance(kwargs.get('edge_attr'), Tensor))


def _trim_pays_off(strong: torch.nn.Module, x: Tensor, edge_index: Tensor,
                   dist: Tensor, hops: int, flow: str,
                   computed: int) -> bool:
    r"""Cost model for :obj:`trim_layers='auto'`, in units of one message
    element: layer :math:`\ell` moves (edges it aggregates) :math:`\times`
    (its message width); reordering the subgraph costs about four such units
    per edge plus a copy of the features when the untrimmed run would use
    them in place (the whole graph)."""
    d_dst = dist[_dst(edge_index, flow)]
    per_hop = torch.bincount(d_dst[d_dst >= 0], minlength=hops + 1)
    cum = per_hop.cumsum(0).tolist()  # cum[h]: edges into hop <= h
    widths = []
    for conv in strong.convs:
        dims = [d for d in (getattr(conv, 'in_channels', -1),
                            getattr(conv, 'out_channels', -1) *
                            getattr(conv, 'heads', 1))
                if isinstance(d, int) and d > 0]
        widths.append(min(dims) if dims else 1)
    E = edge_index.size(1)
    full = sum(cum[hops] * w for w in widths)
    trimmed = sum(cum[hops - 1 - i] * w for i, w in enumerate(widths))
    trimmed += 4 * E
    if computed == x.size(0):
        trimmed += x.numel() // 3
    return trimmed < 0.9 * full


@contextmanager
def _normalize_off(gcns: List):
    try:
        for conv in gcns:
            conv.normalize = False
        yield
    finally:
        for conv in gcns:
            conv.normalize = True


def _prenormalize(strong: torch.nn.Module, x: Tensor, edge_index: Tensor,
                  kwargs: Dict[str, Any]
                  ) -> Tuple[Tensor, Dict[str, Any], List]:
    from torch_geometric.nn.conv.gcn_conv import gcn_norm
    gcns = _gcn_convs(strong)
    m = gcns[0]
    kwargs = dict(kwargs)
    edge_index, edge_weight = gcn_norm(
        edge_index, kwargs.pop('edge_weight', None), x.size(0),
        improved=m.improved, add_self_loops=m.add_self_loops, flow=m.flow,
        dtype=x.dtype)
    kwargs['edge_weight'] = edge_weight
    return edge_index, kwargs, gcns


# Running the strong expert --------------------------------------------------
def _strong_full(model: 'Mowst', x: Tensor, edge_index: Tensor,
                 kwargs: Dict[str, Any]) -> Tensor:
    r"""One full-graph forward, with the GCN normalisation computed once
    instead of once per layer when possible."""
    if (_prenorm_plan(model, kwargs, strict=False) and not any(
            getattr(m, 'cached', False) for m in _gcn_convs(model.strong))):
        edge_index, kwargs, gcns = _prenormalize(model.strong, x,
                                                 edge_index, kwargs)
        with _normalize_off(gcns):
            return model.strong_forward(x, edge_index, **kwargs)
    return model.strong_forward(x, edge_index, **kwargs)


def _strong_trimmed(model: 'Mowst', x: Tensor, edge_index: Tensor,
                    act: Tensor, dist: Tensor, hops: int,
                    kwargs: Dict[str, Any], gcns: List, flow: str) -> Tensor:
    r"""The k-hop subgraph ordered by hop distance (nodes) and by the hop of
    the receiving node (edges), run through a
    :class:`~torch_geometric.nn.models.basic_gnn.BasicGNN` with
    :obj:`num_sampled_nodes_per_hop` / :obj:`num_sampled_edges_per_hop`:
    layer :math:`\ell` only computes the nodes within :math:`L - \ell` hops
    of :obj:`act` (PyG's trim_to_layer layout)."""
    N = x.size(0)
    order = torch.cat([(dist == h).nonzero().view(-1)
                       for h in range(hops + 1)])
    nodes_per_hop = [int((dist == h).sum()) for h in range(hops + 1)]
    relabel = torch.full((N, ), -1, dtype=torch.long, device=x.device)
    relabel[order] = torch.arange(order.numel(), device=x.device)
    d_dst = dist[_dst(edge_index, flow)]
    # Edges into nodes a later layer still reads: hop < L. Their sources are
    # then within L hops, i.e. in the subgraph.
    eids = [(d_dst == h).nonzero().view(-1) for h in range(hops)]
    eid = torch.cat(eids)
    edges_per_hop = [e.numel() for e in eids]
    sub_kwargs = {k: v[eid] if isinstance(v, Tensor) else v
                  for k, v in kwargs.items()}
    sub_ei = relabel[edge_index[:, eid]]
    del eids, eid, d_dst  # free edge-sized temporaries first
    with _normalize_off(gcns):
        out = model.strong(x[order], sub_ei,
                           num_sampled_nodes_per_hop=nodes_per_hop,
                           num_sampled_edges_per_hop=edges_per_hop,
                           **sub_kwargs)
    if out.dim() != 2 or out.size(0) < nodes_per_hop[0] or out.size(
            1) != model.num_classes:
        raise ValueError(f"the strong expert returned logits of shape "
                         f"{tuple(out.shape)} from a trimmed forward; "
                         f"pass trim_layers=False")
    return out[relabel[act]]


def strong_on(model: 'Mowst', x: Tensor, edge_index: Tensor, act: Tensor,
              kwargs: Dict[str, Any], all_nodes: bool = False
              ) -> Tuple[Tensor, int]:
    r"""Strong logits for the nodes :obj:`act`, computed on their k-hop
    subgraph; returns (logits :obj:`[len(act), C]`, nodes computed).
    :obj:`all_nodes=True` promises :obj:`act` is :obj:`arange(N)`."""
    N, E = x.size(0), num_edges(edge_index)
    for key in EDGE_KWARGS:
        val = kwargs.get(key)
        if isinstance(val, Tensor) and val.size(0) != E:
            raise ValueError(f"'{key}' has {val.size(0)} rows but "
                             f"'edge_index' has {E} edges")
    if is_sparse_adj(edge_index):
        return _strong_on_sparse(model, x, edge_index, act, kwargs,
                                 all_nodes)
    if all_nodes:
        return _strong_full(model, x, edge_index, kwargs), N
    if act.numel() == N or graph_level_module(model.strong) is not None:
        # Every node, or a strong expert whose node outputs depend on the
        # whole graph (exact only there).
        return _strong_full(model, x, edge_index, kwargs)[act], N
    hops, prenorm = _subgraph_plan(model, kwargs)
    flow = _flow(model.strong)
    # Self-loops added by the normalisation do not change reachability, so
    # the node set comes from the raw edges.
    dist = khop_distance(act, hops, edge_index, N, flow)
    visited = dist >= 0
    computed = int(visited.sum())
    trim = _can_trim(model, hops, prenorm, kwargs)
    if trim and model.trim_layers == 'auto':
        trim = _trim_pays_off(model.strong, x, edge_index, dist, hops, flow,
                              computed)
    if not trim and computed >= FULL_GRAPH_SHARE * N:
        # (Nearly) the whole graph: copying the induced subgraph would cost
        # more than computing the few remaining nodes.
        return _strong_full(model, x, edge_index, kwargs)[act], N
    gcns = []
    if prenorm:
        edge_index, kwargs, gcns = _prenormalize(model.strong, x, edge_index,
                                                 kwargs)
    if trim:
        return _strong_trimmed(model, x, edge_index, act, dist, hops, kwargs,
                               gcns, flow), computed
    subset, sub_ei, relabel, edge_mask = induced_subgraph(visited,
                                                          edge_index)
    sub_kwargs = _sub_kwargs(kwargs, edge_mask, subset, N)
    with _normalize_off(gcns):
        out = model.strong_forward(x[subset], sub_ei, **sub_kwargs)
    return out[relabel[act]], computed


def _sub_adj(adj_t: Any, row: Tensor, col: Tensor, value: Tensor,
             n: int) -> Any:
    r"""A sparse adjacency of :obj:`adj_t`'s layout from target-major
    entries in CSR order."""
    if isinstance(adj_t, Tensor) and adj_t.layout == torch.sparse_coo:
        return torch.sparse_coo_tensor(torch.stack([row, col]), value,
                                       (n, n), device=value.device,
                                       is_coalesced=True)
    if isinstance(adj_t, Tensor):
        crow = torch.searchsorted(row, torch.arange(n + 1,
                                                    device=row.device))
        return torch.sparse_csr_tensor(crow, col, value, (n, n),
                                       device=value.device)
    return type(adj_t)(row=row, col=col, value=value, sparse_sizes=(n, n),
                       is_sorted=True, trust_data=True)


def _strong_on_sparse(model: 'Mowst', x: Tensor, adj_t: Any, act: Tensor,
                      kwargs: Dict[str, Any], all_nodes: bool
                      ) -> Tuple[Tensor, int]:
    r""":func:`strong_on` for a sparse :obj:`adj_t` (row = target): the
    same k-hop rule (no prenormalisation, no trimming: a normalising
    :class:`~torch_geometric.nn.conv.GCNConv` costs one extra hop), the
    induced sub-adjacency in :obj:`adj_t`'s layout."""
    N = x.size(0)
    if all_nodes:
        return model.strong_forward(x, adj_t, **kwargs), N
    if act.numel() == N or graph_level_module(model.strong) is not None:
        return model.strong_forward(x, adj_t, **kwargs)[act], N
    hops = model.strong_num_hops
    if hops is None:
        hops = len(_mp_modules(model.strong))
        if hops == 0:
            raise ValueError(
                "cannot infer the strong expert's receptive field: it has "
                "no MessagePassing modules; pass 'strong_num_hops'")
        hops += 1 if _gcn_convs(model.strong) else 0
    struct, value = csr_of(adj_t, dtype=x.dtype)
    # Entries in CSR order as (source, target) pairs.
    edge_index = torch.stack([struct.col, struct.row])
    dist = khop_distance(act, hops, edge_index, N, _flow(model.strong))
    visited = dist >= 0
    computed = int(visited.sum())
    if computed >= FULL_GRAPH_SHARE * N:
        return model.strong_forward(x, adj_t, **kwargs)[act], N
    subset, sub_ei, relabel, edge_mask = induced_subgraph(visited,
                                                          edge_index)
    # relabel is monotone, so the kept entries stay in CSR order.
    sub = _sub_adj(adj_t, sub_ei[1], sub_ei[0], value[edge_mask],
                   subset.numel())
    sub_kwargs = _sub_kwargs(kwargs, edge_mask, subset, N)
    out = model.strong_forward(x[subset], sub, **sub_kwargs)
    return out[relabel[act]], computed


# Routing (Algorithm 1) --------------------------------------------------------
def _same_device(a: torch.device, b: torch.device) -> bool:
    a, b = torch.device(a), torch.device(b)
    return a.type == b.type and (a.index is None or b.index is None
                                 or a.index == b.index)


def check_predict_args(model: 'Mowst', x: Tensor, mode: str,
                       threshold: float,
                       generator: Optional[torch.Generator],
                       index: Optional[Tensor]) -> None:
    r"""Metadata checks of :meth:`Mowst.predict`'s arguments."""
    if mode not in MODES:
        raise ValueError(f"'mode' must be one of {MODES}, got {mode!r}")
    if (isinstance(threshold, bool) or not isinstance(threshold, (int, float))
            or not 0.0 <= float(threshold) <= 1.0):
        raise ValueError(f"'threshold' must be a number in [0, 1], got "
                         f"{threshold!r}")
    if generator is not None:
        if not isinstance(generator, torch.Generator):
            raise TypeError(f"'generator' must be a torch.Generator, got "
                            f"{type(generator).__name__}")
        if not _same_device(generator.device, x.device):
            raise ValueError(
                f"'generator' is on {generator.device} but 'x' is on "
                f"{x.device}; pass a generator on the data's device, e.g. "
                f"torch.Generator(device='{x.device}')")
    if index is not None:
        if not isinstance(index, Tensor) or index.is_floating_point():
            raise TypeError(f"'index' must be a tensor of node indices or a "
                            f"boolean mask, got "
                            f"{getattr(index, 'dtype', type(index).__name__)}")
        if not _same_device(index.device, x.device):
            raise ValueError(f"'index' is on {index.device} but 'x' is on "
                             f"{x.device}; move both to one device")


@torch.no_grad()
def mowst_predict(model: 'Mowst', x: Tensor, edge_index: Tensor, mode: str,
                  threshold: float, generator: Optional[torch.Generator],
                  index: Optional[Tensor], validate: bool,
                  kwargs: Dict[str, Any]) -> MowstPrediction:
    r"""The body of :meth:`Mowst.predict` (see there)."""
    check_predict_args(model, x, mode, threshold, generator, index)
    model._check_graph(x, edge_index)
    if validate:
        masks = {'index': index} if index is not None else None
        model.validate_inputs(x, edge_index, masks=masks, **kwargs)
    N = x.size(0)
    if index is None:
        targets = torch.arange(N, device=x.device)
        x_t = x
    else:
        if index.dtype == torch.bool:
            if index.numel() != N:
                raise ValueError(f"boolean 'index' must have {N} entries, "
                                 f"got {index.numel()}")
            targets = index.nonzero().view(-1)
        else:
            targets = index.view(-1).long()
        x_t = x[targets]
    if mode != 'mixture' or index is not None:
        check_no_cached(model.strong)

    was_training = model.training
    model.eval()
    try:
        weak_logits = model.weak_forward(x_t)
        conf = model.confidence(weak_logits, x_t,
                                double_softmax=model.legacy_double_softmax)
        if validate:
            model._check_confidence(conf)
        T = targets.numel()
        if mode == 'sample':
            q = torch.rand(T, generator=generator, device=x.device)
            used = q >= conf
        elif mode == 'threshold':
            used = conf < float(threshold)
        else:
            used = torch.ones(T, dtype=torch.bool, device=x.device)
        computed = 0
        act = targets[used]
        if act.numel() == T and T > 0:
            # Every target routed: no scatter into a NaN-filled buffer.
            logits, computed = strong_on(model, x, edge_index, act, kwargs,
                                         all_nodes=index is None)
            strong_logits = logits.to(weak_logits.dtype)
        else:
            strong_logits = weak_logits.new_full(weak_logits.shape,
                                                 float('nan'))
            if act.numel() > 0:
                logits, computed = strong_on(model, x, edge_index, act,
                                             kwargs)
                strong_logits[used] = logits.to(strong_logits.dtype)
        if mode == 'mixture':
            pred = model.mixture_log_probs(weak_logits, strong_logits,
                                           conf).argmax(-1)
        elif act.numel() == T and T > 0:
            pred = strong_logits.argmax(-1)
        elif act.numel() > 0:
            # One argmax over the logits each node actually used.
            pred = torch.where(used.unsqueeze(-1), strong_logits,
                               weak_logits).argmax(-1)
        else:
            pred = weak_logits.argmax(-1)
    finally:
        model.train(was_training)
    return MowstPrediction(pred, used, conf, weak_logits, strong_logits,
                           targets, computed)
