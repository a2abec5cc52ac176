r"""Tasks on event streams (:class:`~pyg_ext.datasets.temporal.TemporalGraph`):

* ``temporal_node_classification``: one query per labelled node (static
  labels, at the end of the stream) or per label-timeline entry, random
  60/20/20 *node* split, accuracy (+ macro-F1, ROC-AUC when binary);
* ``dynamic_node_classification``: JODIE-style per-event labels, one query
  ``(src_i, t_i)`` per event, chronological 70/15/15 split, ROC-AUC;
* ``temporal_link_prediction``: one query per event, chronological 70/15/15
  split, AP and AUC with one random (or historical) negative per positive,
  and MRR against :obj:`mrr_negatives` random destinations (TGB tie rule).

A query ``(node, time)`` may only use events strictly before ``time``. Three
kinds of models are served (see ``docs/thegcn.md``): *temporal* models
(``model.temporal = True``, e.g. THeGCN) on sampled temporal subgraphs,
*stream* models (``model.stream_model = True``, e.g. TGN) replayed over the
stream by the ``temporal`` method, and *static* models ``model(x,
edge_index)`` on the static projection of the events before
:attr:`TemporalTaskData.static_cutoff`.
"""
import copy
import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.utils import coalesce, to_undirected

from pyg_ext.datasets.temporal import TemporalGraph
from pyg_ext.metrics import Evaluator
from pyg_ext.registry import register_task
from pyg_ext.sampler import TemporalNeighborSampler
from pyg_ext.train.task import Task

__all__ = [
    'TemporalTaskData',
    'TemporalTaskOptions',
    'TemporalNodeClassificationOptions',
    'TemporalLinkPredictionOptions',
    'TemporalTask',
    'TemporalNodeClassification',
    'DynamicNodeClassification',
    'TemporalLinkPrediction',
    'chronological_split',
    'random_node_split',
]

SPLITS = ('train', 'val', 'test')


def chronological_split(t: Tensor, val_ratio: float = 0.15,
                        test_ratio: float = 0.15) -> Dict[str, Tensor]:
    r"""Indices of a chronological split at time quantiles, as PyG's
    :meth:`TemporalData.train_val_test_split`: train is
    :math:`t \le q_{1 - v - s}`, val :math:`q_{1 - v - s} < t \le q_{1 - s}`,
    test the rest (ties at a boundary go to the earlier split)."""
    if not (0 <= val_ratio < 1 and 0 <= test_ratio < 1
            and val_ratio + test_ratio < 1):
        raise ValueError(f"'val_ratio' and 'test_ratio' must be in [0, 1) "
                         f"with a sum < 1, got {val_ratio}, {test_ratio}")
    q = torch.quantile(t.double(), torch.tensor(
        [1.0 - val_ratio - test_ratio, 1.0 - test_ratio], dtype=torch.float64))
    td = t.double()
    return {
        'train': (td <= q[0]).nonzero().view(-1),
        'val': ((td > q[0]) & (td <= q[1])).nonzero().view(-1),
        'test': (td > q[1]).nonzero().view(-1),
    }


def random_node_split(nodes: Tensor, train_ratio: float = 0.6,
                      val_ratio: float = 0.2,
                      seed: int = 0) -> Dict[str, Tensor]:
    r"""Splits the distinct values of :obj:`nodes` at random into
    train/val/test node sets and returns, per split, the positions of
    :obj:`nodes` whose node falls into it (all queries of a node land in one
    split)."""
    if not (0 < train_ratio < 1 and 0 <= val_ratio < 1
            and train_ratio + val_ratio <= 1):
        raise ValueError(f"'train_ratio'/'val_ratio' must be fractions with a"
                         f" sum <= 1, got {train_ratio}, {val_ratio}")
    uniq = torch.unique(nodes)
    g = torch.Generator().manual_seed(seed)
    perm = uniq[torch.randperm(uniq.numel(), generator=g)]
    n_tr = int(round(train_ratio * uniq.numel()))
    n_va = int(round(val_ratio * uniq.numel()))
    part = torch.full((int(uniq.max()) + 1, ), -1, dtype=torch.long)
    part[perm[:n_tr]] = 0
    part[perm[n_tr:n_tr + n_va]] = 1
    part[perm[n_tr + n_va:]] = 2
    p = part[nodes]
    return {s: (p == i).nonzero().view(-1) for i, s in enumerate(SPLITS)}


@dataclass
class TemporalTaskData:
    r"""A temporal task's data: the stream, the queries and the split.

    Attributes:
        graph (TemporalGraph): Events plus node data.
        q_node (Tensor): Query node :math:`[Q]`.
        q_time (Tensor): Query time :math:`[Q]` (same dtype as the events).
        q_y (Tensor, optional): Query label :math:`[Q]` (node tasks).
        q_dst (Tensor, optional): Positive destination :math:`[Q]` (links).
        split (dict): ``{'train'|'val'|'test': query indices}``.
        num_classes (int): Number of classes (node tasks).
        static_cutoff (float): Static baselines see the events with
            ``t < static_cutoff``.
        negatives (dict): Fixed evaluation negatives per split (links).
    """
    graph: TemporalGraph
    q_node: Tensor
    q_time: Tensor
    split: Dict[str, Tensor]
    q_y: Optional[Tensor] = None
    q_dst: Optional[Tensor] = None
    num_classes: int = 0
    static_cutoff: float = math.inf
    negatives: Dict[str, Dict[str, Tensor]] = field(default_factory=dict)
    split_seed: int = 0
    cache: Dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def num_queries(self) -> int:
        return self.q_node.numel()

    def __repr__(self) -> str:
        sizes = {k: int(v.numel()) for k, v in self.split.items()}
        return (f'TemporalTaskData({self.graph!r}, queries={self.num_queries}'
                f', split={sizes})')


@dataclass
class TemporalTaskOptions:
    r"""Options shared by the temporal tasks.

    Args:
        num_neighbors (list of int): Sampler fan-out per hop (temporal
            models). (default: :obj:`[10, 10]`)
        time_window (float, optional): Sampler window :math:`t_0`.
        strategy (str): ``'recent'`` or ``'uniform'``.
        max_events (int, optional): Cap of sampled events per query.
        batch_size (int): Training queries per step (temporal models) and
            events per batch (stream models). (default: :obj:`200`)
        eval_batch_size (int): Queries per evaluation batch.
    """
    num_neighbors: List[int] = field(default_factory=lambda: [10, 10])
    time_window: Optional[float] = None
    strategy: str = 'recent'
    max_events: Optional[int] = None
    batch_size: int = 200
    eval_batch_size: int = 1000

    def __post_init__(self):
        if self.strategy not in ('recent', 'uniform'):
            raise ValueError(f"task.strategy: expected 'recent' or "
                             f"'uniform', got {self.strategy!r}")
        if self.batch_size < 1 or self.eval_batch_size < 1:
            raise ValueError("task.batch_size and task.eval_batch_size must "
                             "be >= 1")


@dataclass
class TemporalNodeClassificationOptions(TemporalTaskOptions):
    r"""Args (besides :class:`TemporalTaskOptions`):
        metric (str): ``'accuracy'``, ``'macro_f1'`` or ``'rocauc'``.
        query_time (str): Static labels: ``'end'`` (after the last event)
            or ``'last_event'`` (the node's last event time; strict, so that
            event itself is not seen).
        num_splits (int): Number of random 60/20/20 node splits (split ``s``
            uses seed ``split_seed + s``).
        split_seed (int): Seed of split 0.
        train_ratio (float), val_ratio (float): Split fractions.
    """
    metric: str = 'accuracy'
    query_time: str = 'end'
    num_splits: int = 1
    split_seed: int = 0
    train_ratio: float = 0.6
    val_ratio: float = 0.2

    def __post_init__(self):
        super().__post_init__()
        if self.metric not in ('accuracy', 'macro_f1', 'rocauc'):
            raise ValueError(f"task.metric: expected 'accuracy', 'macro_f1' "
                             f"or 'rocauc', got {self.metric!r}")
        if self.query_time not in ('end', 'last_event'):
            raise ValueError(f"task.query_time: expected 'end' or "
                             f"'last_event', got {self.query_time!r}")


@dataclass
class DynamicNodeClassificationOptions(TemporalTaskOptions):
    r"""Args (besides :class:`TemporalTaskOptions`): ``val_ratio``,
    ``test_ratio`` of the chronological split."""
    val_ratio: float = 0.15
    test_ratio: float = 0.15


@dataclass
class TemporalLinkPredictionOptions(TemporalTaskOptions):
    r"""Args (besides :class:`TemporalTaskOptions`):
        negatives (str): Evaluation negatives for AP/AUC: ``'random'``
            (a uniform destination for the same source) or
            ``'historical'`` (an edge seen before the split but not inside
            it, topped up with random ones; DyGLib-style).
        mrr_negatives (int): Random destinations per positive for MRR
            (``0``: no MRR).
        mrr_max_queries (int): Evaluate MRR on at most this many queries per
            split (a fixed random subset; ``0``: all).
        val_ratio (float), test_ratio (float): Chronological split.
        seed (int): Seed of the fixed evaluation negatives.
        embedding_dim (int): Size of the node embeddings the model outputs
            (its ``out_channels``) and the link decoder reads.
    """
    negatives: str = 'random'
    mrr_negatives: int = 20
    mrr_max_queries: int = 2000
    val_ratio: float = 0.15
    test_ratio: float = 0.15
    seed: int = 0
    embedding_dim: int = 64

    def __post_init__(self):
        super().__post_init__()
        if self.negatives not in ('random', 'historical'):
            raise ValueError(f"task.negatives: expected 'random' or "
                             f"'historical', got {self.negatives!r}")
        if self.mrr_negatives < 0 or self.mrr_max_queries < 0:
            raise ValueError("task.mrr_negatives and task.mrr_max_queries "
                             "must be >= 0")


def _model_kind(model: torch.nn.Module) -> str:
    if getattr(model, 'stream_model', False):
        return 'stream'
    if getattr(model, 'temporal', False):
        return 'temporal'
    return 'static'


class TemporalTask(Task):
    r"""Shared machinery of the temporal tasks (not registered)."""
    Options = TemporalTaskOptions
    kind = 'node'

    # data -------------------------------------------------------------
    def load(self, dataset_entry, dataset_options, root):
        graph = super().load(dataset_entry, dataset_options, root)
        if not isinstance(graph, TemporalGraph):
            raise TypeError(f"{self.__class__.__name__} expects a "
                            f"TemporalGraph dataset, got "
                            f"{type(graph).__name__}")
        return self.build(graph)

    def build(self, graph: TemporalGraph) -> TemporalTaskData:
        raise NotImplementedError

    def model_channels(self, data: TemporalTaskData) -> Tuple[int, int]:
        return data.graph.x.size(1), max(data.num_classes, 2)

    def auto_options(self, data: TemporalTaskData) -> Dict[str, int]:
        r"""Values for model options left at ``-1`` (auto)."""
        return {'edge_dim': data.graph.msg.size(1),
                'msg_dim': data.graph.msg.size(1),
                'num_nodes': data.graph.num_nodes}

    def sampler(self, data: TemporalTaskData) -> TemporalNeighborSampler:
        if 'sampler' not in data.cache:
            ev, o = data.graph.events, self.options
            data.cache['sampler'] = TemporalNeighborSampler(
                ev.src, ev.dst, ev.t, num_nodes=data.graph.num_nodes,
                num_neighbors=list(o.num_neighbors),
                time_window=o.time_window, strategy=o.strategy,
                max_events=o.max_events)
        return data.cache['sampler']

    def static_edge_index(self, data: TemporalTaskData) -> Tensor:
        r"""The undirected, de-duplicated static projection of the events
        before :attr:`static_cutoff`."""
        if 'static_ei' not in data.cache:
            ev = data.graph.events
            m = ev.t.double() < data.static_cutoff
            ei = torch.stack([ev.src[m], ev.dst[m]])
            ei = to_undirected(ei, num_nodes=data.graph.num_nodes)
            data.cache['static_ei'] = coalesce(ei,
                                               num_nodes=data.graph.num_nodes)
        return data.cache['static_ei']

    # model application ------------------------------------------------
    def check_model(self, model: torch.nn.Module,
                    data: TemporalTaskData) -> None:
        D = data.graph.msg.size(1)
        ed = getattr(model, 'edge_dim', 0) if getattr(
            model, 'use_edge_attr', True) else 0
        if _model_kind(model) == 'temporal' and ed and ed != D:
            raise ValueError(f"model.edge_dim={ed} but the dataset's edge "
                             f"attributes have {D} columns (set "
                             f"model.edge_dim=-1 for auto)")

    def embed_temporal(self, model, data: TemporalTaskData, nodes: Tensor,
                       times: Tensor, method: str = 'forward') -> Tensor:
        r"""Runs a temporal model on the sampled subgraphs of the
        (node, time) queries; repeated (node, time) pairs are computed once
        (exact: the subgraphs are disjoint per seed)."""
        key = torch.stack([nodes.double(), times.double()])
        uniq, inv = torch.unique(key, dim=1, return_inverse=True)
        if uniq.size(1) < nodes.numel():
            first = torch.full((uniq.size(1), ), nodes.numel(),
                               dtype=torch.long)
            first.scatter_reduce_(0, inv, torch.arange(nodes.numel()),
                                  'amin')
            out = self.embed_temporal(model, data, nodes[first],
                                      times[first], method)
            return out[inv]
        sub = self.sampler(data).sample(nodes, times)
        g = data.graph
        use_ea = getattr(model, 'edge_dim', 0) > 0 and getattr(
            model, 'use_edge_attr', True)
        ea = g.msg[sub.e_id] if use_ea else None
        fn = getattr(model, method)
        return fn(g.x[sub.n_id], sub.edge_index, ea, sub.dt.double(),
                  batch_size=sub.batch_size, n_id=sub.n_id)

    def full_static(self, model, data: TemporalTaskData) -> Tensor:
        return model(data.graph.x, self.static_edge_index(data))

    # batches ------------------------------------------------------------
    def train_batches(self, data: TemporalTaskData,
                      generator: torch.Generator) -> List[Tensor]:
        idx = data.split['train']
        perm = idx[torch.randperm(idx.numel(), generator=generator)]
        return list(perm.split(self.options.batch_size))

    # the per-kind hooks a method calls -------------------------------------
    def batch_loss(self, model, head, data: TemporalTaskData, idx: Tensor,
                   generator: torch.Generator,
                   static_out: Optional[Tensor] = None) -> Tensor:
        raise NotImplementedError

    def predict(self, model, head, data: TemporalTaskData, split: str
                ) -> Any:
        raise NotImplementedError

    def compute_metrics(self, outputs: Dict[str, Any],
                        data: TemporalTaskData) -> Dict[str, float]:
        raise NotImplementedError

    def make_head(self, data: TemporalTaskData,
                  out_channels: int) -> Optional[torch.nn.Module]:
        return None


class _NodeTask(TemporalTask):
    kind = 'node'

    def logits(self, model, data: TemporalTaskData, idx: Tensor,
               static_out: Optional[Tensor] = None) -> Tensor:
        kind = _model_kind(model)
        if kind == 'temporal':
            return self.embed_temporal(model, data, data.q_node[idx],
                                       data.q_time[idx])
        if kind == 'static':
            out = static_out if static_out is not None else \
                self.full_static(model, data)
            return out[data.q_node[idx]]
        raise ValueError("stream models are run by the 'temporal' method's "
                         "replay, not per batch")

    def query_loss(self, logits: Tensor, data: TemporalTaskData,
                   idx: Tensor) -> Tensor:
        return F.cross_entropy(logits, data.q_y[idx])

    def batch_loss(self, model, head, data, idx, generator, static_out=None):
        return self.query_loss(self.logits(model, data, idx, static_out),
                               data, idx)

    @torch.no_grad()
    def predict(self, model, head, data, split, static_out=None):
        idx = data.split[split]
        if _model_kind(model) == 'static':
            return self.logits(model, data, idx, static_out)
        outs = [self.logits(model, data, i)
                for i in idx.split(self.options.eval_batch_size)]
        return torch.cat(outs) if outs else torch.zeros(0, 2)

    def metric_names(self) -> Tuple[str, ...]:
        raise NotImplementedError

    @torch.no_grad()
    def compute_metrics(self, outputs, data):
        res = {}
        for split, logits in outputs.items():
            idx = data.split[split]
            if idx.numel() == 0:
                continue
            y = data.q_y[idx]
            for m in self.metric_names():
                if m == 'rocauc':
                    if logits.size(1) != 2 or y.min() == y.max():
                        continue
                    score = logits.softmax(-1)[:, 1]
                    val = Evaluator('rocauc').eval({'y_true': y,
                                                    'y_pred': score})
                else:
                    val = Evaluator(m).eval({'y_true': y,
                                             'y_pred': logits.argmax(-1)})
                res[f'{split}_{m}'] = float(val[m])
            res[f'{split}_loss'] = float(F.cross_entropy(logits, y))
        return res


@register_task('temporal_node_classification')
class TemporalNodeClassification(_NodeTask):
    r"""Node classification on an event stream with static or timeline
    labels and a random 60/20/20 node split (THeGCN's protocol)."""
    Options = TemporalNodeClassificationOptions

    @property
    def metric(self) -> str:
        return self.options.metric

    def metric_names(self):
        names = [self.options.metric]
        for m in ('accuracy', 'macro_f1', 'rocauc'):
            if m not in names:
                names.append(m)
        return tuple(names)

    def build(self, graph: TemporalGraph) -> TemporalTaskData:
        ev = graph.events
        t_end_val = (ev.t.max() + 1) if ev.t.numel() else ev.t.new_ones(())
        if graph.label_events is not None:
            le = graph.label_events
            q_time = le.time
            if not ev.t.is_floating_point() and q_time.is_floating_point():
                # integer event times: t < q  <=>  t < ceil(q)
                q_time = torch.ceil(q_time)
            q_node, q_time = le.node.long(), q_time.to(ev.t.dtype)
            q_y = le.y.long()
            ok = q_y >= 0
            q_node, q_time, q_y = q_node[ok], q_time[ok], q_y[ok]
            order = torch.argsort(q_time.double(), stable=True)
            q_node, q_time, q_y = q_node[order], q_time[order], q_y[order]
            cutoff = float(q_time.max())  # documented: see docs
        elif graph.y is not None:
            lab = (graph.y >= 0).nonzero().view(-1)
            q_node, q_y = lab, graph.y[lab].long()
            if self.options.query_time == 'end':
                q_time = t_end_val.expand(lab.numel()).clone()
            else:
                last = torch.full((graph.num_nodes, ), -1.0,
                                  dtype=torch.float64)
                tt = ev.t.double()
                last.scatter_reduce_(0, ev.src, tt, 'amax')
                last.scatter_reduce_(0, ev.dst, tt, 'amax')
                keep = last[lab] >= 0
                q_node, q_y = q_node[keep], q_y[keep]
                q_time = last[q_node].to(ev.t.dtype)
            cutoff = float(q_time.double().max())
        else:
            raise ValueError(f"temporal_node_classification needs static "
                             f"labels 'y' or a 'label_events' timeline; "
                             f"dataset {graph.name!r} has neither")
        num_classes = int(q_y.max()) + 1
        data = TemporalTaskData(graph=graph, q_node=q_node, q_time=q_time,
                                q_y=q_y, split={}, num_classes=num_classes,
                                static_cutoff=cutoff)
        return self._with_split(data, self.options.split_seed)

    def _with_split(self, data: TemporalTaskData,
                    seed: int) -> TemporalTaskData:
        out = copy.copy(data)
        out.split = random_node_split(data.q_node, self.options.train_ratio,
                                      self.options.val_ratio, seed)
        out.split_seed = seed
        return out

    def num_splits(self, data) -> int:
        return self.options.num_splits

    def get_split(self, data, split: int):
        if not 0 <= split < self.options.num_splits:
            raise ValueError(f"split: expected 0 <= split < "
                             f"{self.options.num_splits}, got {split}")
        return self._with_split(data, self.options.split_seed + split)


@register_task('dynamic_node_classification')
class DynamicNodeClassification(_NodeTask):
    r"""JODIE-style dynamic node classification: classify ``src_i`` at
    ``t_i`` with the per-event label, chronological 70/15/15, ROC-AUC."""
    Options = DynamicNodeClassificationOptions
    metric = 'rocauc'

    def metric_names(self):
        return ('rocauc', 'accuracy')

    def build(self, graph: TemporalGraph) -> TemporalTaskData:
        ev = graph.events
        y = graph.event_y
        if y is None:
            raise ValueError(f"dynamic_node_classification needs per-event "
                             f"labels (events.y); dataset {graph.name!r} has "
                             f"none")
        split = chronological_split(ev.t, self.options.val_ratio,
                                    self.options.test_ratio)
        tr = split['train']
        cutoff = float(ev.t[tr].double().max()) + 1e-9 if tr.numel() else \
            -math.inf
        return TemporalTaskData(graph=graph, q_node=ev.src.long(),
                                q_time=ev.t.clone(), q_y=y.long(),
                                split=split,
                                num_classes=max(int(y.max()) + 1, 2),
                                static_cutoff=cutoff)


class _LinkHead(torch.nn.Module):
    r"""TGN's link predictor: ``lin(relu(lin_s(z_s) + lin_d(z_d)))``."""
    def __init__(self, channels: int):
        super().__init__()
        self.lin_src = torch.nn.Linear(channels, channels)
        self.lin_dst = torch.nn.Linear(channels, channels)
        self.lin = torch.nn.Linear(channels, 1)

    def reset_parameters(self):
        for m in (self.lin_src, self.lin_dst, self.lin):
            m.reset_parameters()

    def forward(self, z_src: Tensor, z_dst: Tensor) -> Tensor:
        return self.lin(F.relu(self.lin_src(z_src) +
                               self.lin_dst(z_dst))).view(-1)


@register_task('temporal_link_prediction')
class TemporalLinkPrediction(TemporalTask):
    r"""Future link prediction on an event stream: chronological 70/15/15,
    AP/AUC with one negative per positive, MRR with the TGB tie rule."""
    Options = TemporalLinkPredictionOptions
    kind = 'link'
    metric = 'ap'

    def model_channels(self, data):
        return data.graph.x.size(1), self.options.embedding_dim

    def make_head(self, data, out_channels):
        return _LinkHead(out_channels)

    def build(self, graph: TemporalGraph) -> TemporalTaskData:
        ev, o = graph.events, self.options
        split = chronological_split(ev.t, o.val_ratio, o.test_ratio)
        tr = split['train']
        cutoff = float(ev.t[tr].double().max()) + 1e-9
        data = TemporalTaskData(graph=graph, q_node=ev.src.long(),
                                q_time=ev.t.clone(), q_dst=ev.dst.long(),
                                split=split, static_cutoff=cutoff)
        data.cache['dst_pool'] = torch.unique(ev.dst)
        g = torch.Generator().manual_seed(o.seed)
        for s in ('val', 'test'):
            idx = split[s]
            neg_src, neg_dst = self._eval_negatives(data, s, g)
            negs = {'src': neg_src, 'dst': neg_dst}
            if o.mrr_negatives > 0 and idx.numel():
                sel = torch.arange(idx.numel())
                if o.mrr_max_queries and idx.numel() > o.mrr_max_queries:
                    sel = torch.randperm(idx.numel(), generator=g)[
                        :o.mrr_max_queries].sort().values
                negs['mrr_pos'] = sel
                pool = data.cache['dst_pool']
                negs['mrr_dst'] = pool[torch.randint(
                    0, pool.numel(), (sel.numel(), o.mrr_negatives),
                    generator=g)]
            data.negatives[s] = negs
        return data

    def _eval_negatives(self, data, split: str, g: torch.Generator):
        idx = data.split[split]
        src = data.q_node[idx]
        pool = data.cache['dst_pool']
        rand_dst = pool[torch.randint(0, pool.numel(), (idx.numel(), ),
                                      generator=g)]
        if self.options.negatives == 'random' or idx.numel() == 0:
            return src.clone(), rand_dst
        # historical: edges seen before the split starts but not inside it
        ev = data.graph.events
        start = data.q_time[idx].double().min()
        before = ev.t.double() < start
        N = data.graph.num_nodes
        hist = torch.unique(ev.src[before] * N + ev.dst[before])
        inside = torch.unique(data.q_node[idx] * N + data.q_dst[idx])
        hist = hist[~torch.isin(hist, inside)]
        if hist.numel() == 0:
            return src.clone(), rand_dst
        pick = hist[torch.randint(0, hist.numel(), (idx.numel(), ),
                                  generator=g)]
        return pick // N, pick % N

    # scoring --------------------------------------------------------------
    def score(self, model, head, data, src: Tensor, dst: Tensor,
              times: Tensor, static_out: Optional[Tensor] = None) -> Tensor:
        kind = _model_kind(model)
        if kind == 'temporal':
            nodes = torch.cat([src, dst])
            z = self.embed_temporal(model, data, nodes,
                                    torch.cat([times, times]))
            return head(z[:src.numel()], z[src.numel():])
        if kind == 'static':
            z = static_out if static_out is not None else \
                self.full_static(model, data)
            return head(z[src], z[dst])
        raise ValueError("stream models are run by the 'temporal' method's "
                         "replay, not per batch")

    def batch_loss(self, model, head, data, idx, generator, static_out=None):
        pool = data.cache['dst_pool']
        neg = pool[torch.randint(0, pool.numel(), (idx.numel(), ),
                                 generator=generator)]
        src, times = data.q_node[idx], data.q_time[idx]
        s = self.score(model, head, data, torch.cat([src, src]),
                       torch.cat([data.q_dst[idx], neg]),
                       torch.cat([times, times]), static_out)
        y = torch.cat([torch.ones(idx.numel()), torch.zeros(idx.numel())])
        return F.binary_cross_entropy_with_logits(s, y)

    @torch.no_grad()
    def predict(self, model, head, data, split, static_out=None):
        idx = data.split[split]
        negs = data.negatives[split]
        B = self.options.eval_batch_size
        pos, neg = [], []
        for i in torch.arange(idx.numel()).split(B):
            q = idx[i]
            t = data.q_time[q]
            pos.append(self.score(model, head, data, data.q_node[q],
                                  data.q_dst[q], t, static_out))
            neg.append(self.score(model, head, data, negs['src'][i],
                                  negs['dst'][i], t, static_out))
        out = {'pos': torch.cat(pos), 'neg': torch.cat(neg)}
        if 'mrr_pos' in negs:
            sel = negs['mrr_pos']
            K = negs['mrr_dst'].size(1)
            rows = []
            for i in torch.arange(sel.numel()).split(max(1, B // (K + 1))):
                q = idx[sel[i]]
                src = data.q_node[q].repeat_interleave(K)
                t = data.q_time[q].repeat_interleave(K)
                rows.append(self.score(model, head, data, src,
                                       negs['mrr_dst'][i].reshape(-1), t,
                                       static_out).view(-1, K))
            out['mrr_neg'] = torch.cat(rows)
        return out

    @torch.no_grad()
    def compute_metrics(self, outputs, data):
        res = {}
        for split, o in outputs.items():
            if o['pos'].numel() == 0:
                continue
            s = torch.cat([o['pos'], o['neg']])
            y = torch.cat([torch.ones_like(o['pos']),
                           torch.zeros_like(o['neg'])]).long()
            res[f'{split}_ap'] = Evaluator('ap').eval({'y_true': y,
                                                       'y_pred': s})['ap']
            res[f'{split}_rocauc'] = Evaluator('rocauc').eval(
                {'y_true': y, 'y_pred': s})['rocauc']
            res[f'{split}_loss'] = float(F.binary_cross_entropy_with_logits(
                s, y.float()))
            if 'mrr_neg' in o:
                sel = data.negatives[split]['mrr_pos']
                m = Evaluator('mrr').eval({'y_pred_pos': o['pos'][sel],
                                           'y_pred_neg': o['mrr_neg']})
                res[f'{split}_mrr'] = m['mrr']
                res[f'{split}_hits@10'] = m['hits@10']
        return res
