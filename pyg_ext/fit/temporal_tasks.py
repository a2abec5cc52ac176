r"""The temporal tasks on event streams (:class:`~pyg_ext.datasets.temporal.
TemporalGraph`), usable without the loop (:func:`pyg_ext.fit.fit_thegcn`
trains on them; :mod:`pyg_ext.train.tasks.temporal` registers them):

* :class:`TemporalNodeClassificationTask`: one query per labelled node
  (static labels, at the end of the stream) or per label-timeline entry,
  random 60/20/20 *node* split, accuracy (+ macro-F1, ROC-AUC when binary);
* :class:`DynamicNodeClassificationTask`: JODIE-style per-event labels, one
  query ``(src_i, t_i)`` per event, chronological 70/15/15 split, ROC-AUC;
* :class:`~pyg_ext.fit.temporal_link.TemporalLinkPredictionTask`: one
  query per event, chronological 70/15/15 split, AP and AUC with one random
  (or historical) negative per positive, and MRR against
  :obj:`mrr_negatives` random destinations (TGB tie rule).

A query ``(node, time)`` may only use events strictly before ``time``. Three
kinds of models are served (:func:`model_kind`, ``docs/thegcn.md``):
*temporal* models (``model.temporal = True``, e.g. THeGCN) on sampled
temporal subgraphs, *stream* models (``model.stream_model = True``, e.g.
TGN) replayed over the stream (:func:`pyg_ext.fit.replay_stream`), and
*static* models ``model(x, edge_index)`` on the static projection of the
events before :attr:`TemporalTaskData.static_cutoff`.

Query and batch indices handed to the task methods are CPU tensors (the
sampler and the method's generator live there); everything a model sees is
on the data's device.
"""
import copy
from typing import Any, Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.utils import coalesce, to_undirected

from pyg_ext.datasets.temporal import TemporalGraph
from pyg_ext.fit.temporal_data import (TemporalTaskData, chronological_split,
                                       graph_to, move_subgraph,
                                       random_node_split)
from pyg_ext.fit.temporal_options import (DynamicNodeClassificationOptions,
                                          TemporalNodeClassificationOptions,
                                          TemporalTaskOptions)
from pyg_ext.metrics import Evaluator
from pyg_ext.sampler import TemporalNeighborSampler

__all__ = ['MODEL_KINDS', 'model_kind', 'TemporalTask',
           'TemporalNodeClassificationTask', 'DynamicNodeClassificationTask']

MODEL_KINDS = ('temporal', 'stream', 'static', 'pair')


def model_kind(model: torch.nn.Module) -> str:
    r"""``'stream'`` (``model.stream_model``), ``'temporal'``
    (``model.temporal``), ``'pair'`` (``model.pair_model``: a
    parameter-free pair scorer such as EdgeBank, link prediction only) or
    ``'static'``."""
    if getattr(model, 'pair_model', False):
        return 'pair'
    if getattr(model, 'stream_model', False):
        return 'stream'
    if getattr(model, 'temporal', False):
        return 'temporal'
    return 'static'


def _host_graph(graph: TemporalGraph) -> TemporalGraph:
    return graph if graph.x.device.type == 'cpu' else graph_to(graph, 'cpu')


class TemporalTask:
    r"""Shared machinery of the temporal tasks: queries and splits
    (:meth:`build`), the sampler, model application per model kind,
    training batches, losses, predictions and metrics.

    Args:
        options (TemporalTaskOptions, optional): The task's options
            dataclass (:attr:`Options`); or pass its fields as keyword
            arguments.
    """
    Options = TemporalTaskOptions
    name = ''
    kind = 'node'
    metric = 'accuracy'
    higher_is_better = True

    def __init__(self, options: Optional[TemporalTaskOptions] = None,
                 **kwargs):
        if options is None:
            options = self.Options(**kwargs)
        elif kwargs:
            raise TypeError(f"{type(self).__name__}: pass 'options' or "
                            f"keyword options, not both")
        elif not isinstance(options, self.Options):
            raise TypeError(f"'options' must be a {self.Options.__name__}, "
                            f"got {type(options).__name__}")
        self.options = options

    # data -------------------------------------------------------------
    def build(self, graph: TemporalGraph) -> TemporalTaskData:
        r"""The queries, split and negatives of :obj:`graph` (computed on the
        CPU; move the result with :meth:`to`)."""
        raise NotImplementedError

    def num_splits(self, data: TemporalTaskData) -> int:
        return 1

    def get_split(self, data: TemporalTaskData, split: int
                  ) -> TemporalTaskData:
        return data

    def to(self, data: TemporalTaskData, device) -> TemporalTaskData:
        r""":obj:`data` on :obj:`device` (the sampler's CPU copy stays
        reachable as ``data.host``)."""
        return data.to(device, non_blocking=True)

    def model_channels(self, data: TemporalTaskData) -> Tuple[int, int]:
        return data.graph.x.size(1), max(data.num_classes, 2)

    def auto_options(self, data: TemporalTaskData) -> Dict[str, int]:
        r"""Values for model options left at ``-1`` (auto)."""
        return {'edge_dim': data.msg.size(1), 'msg_dim': data.msg.size(1),
                'num_nodes': data.graph.num_nodes}

    def make_head(self, data: TemporalTaskData,
                  out_channels: int) -> Optional[torch.nn.Module]:
        return None

    def sampler(self, data: TemporalTaskData,
                train: bool = False) -> TemporalNeighborSampler:
        r"""The temporal neighbour sampler of :obj:`data` (on the CPU, built
        once per host data and options). With :obj:`train` and held-out
        events (:attr:`TemporalTaskData.held_out_events`), the sampler of
        the training steps, over the other events only (its ``e_id`` index
        :meth:`visible_events`)."""
        host, o = data.on_host(), self.options
        train = train and host.held_out_events is not None
        key = ('sampler', tuple(o.num_neighbors), o.time_window, o.strategy,
               o.max_events, train)
        if key not in host.cache:
            ev = host.graph.events
            keep = self.visible_events(host) if train else slice(None)
            host.cache[key] = TemporalNeighborSampler(
                ev.src[keep], ev.dst[keep], ev.t[keep],
                num_nodes=host.graph.num_nodes,
                num_neighbors=list(o.num_neighbors),
                time_window=o.time_window, strategy=o.strategy,
                max_events=o.max_events)
        return host.cache[key]

    @staticmethod
    def visible_events(data: TemporalTaskData) -> Tensor:
        r"""The ids of the events a model may see while it trains (all but
        :attr:`TemporalTaskData.held_out_events`), on :obj:`data`'s
        device."""
        if 'visible_events' not in data.cache:
            E = data.graph.events.src.numel()
            keep = torch.ones(E, dtype=torch.bool, device=data.device)
            if data.held_out_events is not None:
                keep[data.held_out_events] = False
            data.cache['visible_events'] = keep.nonzero().view(-1)
        return data.cache['visible_events']

    def static_edge_index(self, data: TemporalTaskData) -> Tensor:
        r"""The undirected, de-duplicated static projection of the events
        before :attr:`static_cutoff` (computed once on the host, kept on
        the data's device)."""
        if 'static_ei' not in data.cache:
            host = data.on_host()
            if host is data:
                ev, N = data.graph.events, data.graph.num_nodes
                m = ev.t.double() < data.static_cutoff
                if data.held_out_events is not None:
                    m[data.held_out_events] = False
                ei = to_undirected(torch.stack([ev.src[m], ev.dst[m]]),
                                   num_nodes=N)
                data.cache['static_ei'] = coalesce(ei, num_nodes=N)
            else:
                data.cache['static_ei'] = data.dev(
                    self.static_edge_index(host))
        return data.cache['static_ei']

    def destination_pool(self, data: TemporalTaskData) -> Tensor:
        r"""The distinct destinations of the stream (CPU): the pool of
        random negatives."""
        host = data.on_host()
        if 'dst_pool' not in host.cache:
            host.cache['dst_pool'] = torch.unique(host.graph.events.dst)
        return host.cache['dst_pool']

    def prepare(self, data: TemporalTaskData, kind: str) -> None:
        r"""Builds once, at setup, what training a model of :obj:`kind`
        reads (so that no training step does)."""
        _ = data.msg  # materialises [E, 0] attributes of a bare stream
        if kind == 'temporal':
            self.sampler(data)
            self.sampler(data, train=True)
        elif kind == 'static':
            self.static_edge_index(data)
        self.destination_pool(data)

    # model application ------------------------------------------------
    def check_model(self, model: torch.nn.Module,
                    data: TemporalTaskData) -> None:
        r"""Raises if :obj:`model` cannot run on :obj:`data`."""
        D = data.msg.size(1)
        ed = getattr(model, 'edge_dim', 0) if getattr(
            model, 'use_edge_attr', True) else 0
        if model_kind(model) == 'temporal' and ed and ed != D:
            raise ValueError(f"model.edge_dim={ed} but the dataset's edge "
                             f"attributes have {D} columns (set "
                             f"model.edge_dim=-1 for auto)")
        if model_kind(model) == 'pair':
            if self.kind != 'link':
                raise ValueError(f"'model' is a pair model (e.g. EdgeBank: "
                                 f"it scores node pairs), which only serves "
                                 f"temporal link prediction, not "
                                 f"{self.name!r}")
            missing = [m for m in ('reset_state', 'score_pairs')
                       if not callable(getattr(model, m, None))]
            if missing:
                raise TypeError(f"'model' is a pair model (pair_model=True) "
                                f"but has no {'(), '.join(missing)}()")
        if model_kind(model) == 'stream' and \
                data.on_host().held_out_events is not None:
            raise ValueError("held-out new nodes (task.new_node_ratio > 0) "
                             "are not supported for stream models such as "
                             "TGN (the replay feeds every event to the "
                             "memory): set task.new_node_ratio: 0")
        if model_kind(model) == 'stream':
            missing = [m for m in ('reset_state', 'embed_nodes', 'update',
                                   'detach_state')
                       if not callable(getattr(model, m, None))]
            if missing:
                raise TypeError(f"'model' is a stream model "
                                f"(stream_model=True) but has no "
                                f"{'(), '.join(missing)}()")

    def embed_temporal(self, model, data: TemporalTaskData, nodes: Tensor,
                       times: Tensor, method: str = 'forward',
                       train: bool = False) -> Tensor:
        r"""Runs a temporal model on the sampled subgraphs of the (CPU)
        (node, time) queries; repeated (node, time) pairs are computed once
        (exact: the subgraphs are disjoint per seed). With :obj:`train`,
        held-out events are not sampled. Returns the outputs on the data's
        device."""
        key = torch.stack([nodes.double(), times.double()])
        uniq, inv = torch.unique(key, dim=1, return_inverse=True)
        if uniq.size(1) < nodes.numel():
            first = torch.full((uniq.size(1), ), nodes.numel(),
                               dtype=torch.long, device=nodes.device)
            first.scatter_reduce_(0, inv, torch.arange(
                nodes.numel(), device=nodes.device), 'amin')
            out = self.embed_temporal(model, data, nodes[first],
                                      times[first], method, train)
            return out[data.dev(inv)]
        train = train and data.on_host().held_out_events is not None
        sub = move_subgraph(self.sampler(data, train).sample(nodes, times),
                            data.device)
        use_ea = getattr(model, 'edge_dim', 0) > 0 and getattr(
            model, 'use_edge_attr', True)
        if use_ea:
            e_id = self.visible_events(data)[sub.e_id] if train else sub.e_id
            ea = data.msg[e_id]
        else:
            ea = None
        fn = getattr(model, method)
        return fn(data.graph.x[sub.n_id], sub.edge_index, ea,
                  sub.dt.double(), batch_size=sub.batch_size, n_id=sub.n_id)

    def full_static(self, model, data: TemporalTaskData) -> Tensor:
        return model(data.graph.x, self.static_edge_index(data))

    # batches and the per-kind hooks fit_thegcn calls --------------------
    def train_batches(self, data: TemporalTaskData,
                      generator: torch.Generator) -> List[Tensor]:
        r"""The training queries in random order (drawn on the CPU from
        :obj:`generator`), in batches of ``options.batch_size``."""
        idx = data.on_host().split['train']
        perm = idx[torch.randperm(idx.numel(), generator=generator,
                                  device=idx.device)]
        return list(perm.split(self.options.batch_size))

    def batch_loss(self, model, head, data: TemporalTaskData, idx: Tensor,
                   generator: torch.Generator,
                   static_out: Optional[Tensor] = None) -> Tensor:
        raise NotImplementedError

    def predict(self, model, head, data: TemporalTaskData, split: str,
                static_out: Optional[Tensor] = None) -> Any:
        raise NotImplementedError

    def compute_metrics(self, outputs: Dict[str, Any],
                        data: TemporalTaskData) -> Dict[str, float]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}({self.options})'


class _NodeTask(TemporalTask):
    kind = 'node'

    def logits(self, model, data: TemporalTaskData, idx: Tensor,
               static_out: Optional[Tensor] = None) -> Tensor:
        kind = model_kind(model)
        if kind == 'temporal':
            host = data.on_host()
            return self.embed_temporal(model, data, host.q_node[idx],
                                       host.q_time[idx])
        if kind == 'static':
            out = static_out if static_out is not None else \
                self.full_static(model, data)
            return out[data.q_node[data.dev(idx)]]
        raise ValueError("stream models are run by replay_stream, not per "
                         "batch")

    def query_loss(self, logits: Tensor, data: TemporalTaskData,
                   idx: Tensor) -> Tensor:
        return F.cross_entropy(logits, data.q_y[data.dev(idx)])

    def batch_loss(self, model, head, data, idx, generator, static_out=None):
        return self.query_loss(self.logits(model, data, idx, static_out),
                               data, idx)

    @torch.no_grad()
    def predict(self, model, head, data, split, static_out=None):
        idx = data.on_host().split[split]
        if model_kind(model) == 'static':
            return self.logits(model, data, idx, static_out)
        outs = [self.logits(model, data, i)
                for i in idx.split(self.options.eval_batch_size)]
        return torch.cat(outs) if outs else data.graph.x.new_zeros(0, 2)

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


class TemporalNodeClassificationTask(_NodeTask):
    r"""Node classification on an event stream with static or timeline
    labels and a random 60/20/20 node split (THeGCN's protocol).

    Args:
        options (TemporalNodeClassificationOptions, optional): Options (or
            their fields as keyword arguments).
    """
    Options = TemporalNodeClassificationOptions
    name = 'temporal_node_classification'

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
        graph = _host_graph(graph)
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
        host = data.on_host()
        out = copy.copy(host)
        out.split = random_node_split(host.q_node, self.options.train_ratio,
                                      self.options.val_ratio, seed)
        out.split_seed = seed
        if data is host:
            return out
        moved = copy.copy(data)
        moved.split = {k: data.dev(v) for k, v in out.split.items()}
        moved.split_seed, moved.host = seed, out
        return moved

    def num_splits(self, data) -> int:
        return self.options.num_splits

    def get_split(self, data, split: int):
        if not 0 <= split < self.options.num_splits:
            raise ValueError(f"split: expected 0 <= split < "
                             f"{self.options.num_splits}, got {split}")
        return self._with_split(data, self.options.split_seed + split)


class DynamicNodeClassificationTask(_NodeTask):
    r"""JODIE-style dynamic node classification: classify ``src_i`` at
    ``t_i`` with the per-event label, chronological 70/15/15, ROC-AUC.

    Args:
        options (DynamicNodeClassificationOptions, optional): Options (or
            their fields as keyword arguments).
    """
    Options = DynamicNodeClassificationOptions
    name = 'dynamic_node_classification'
    metric = 'rocauc'

    def metric_names(self):
        return ('rocauc', 'accuracy')

    def build(self, graph: TemporalGraph) -> TemporalTaskData:
        graph = _host_graph(graph)
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
            -float('inf')
        return TemporalTaskData(graph=graph, q_node=ev.src.long(),
                                q_time=ev.t.clone(), q_y=y.long(),
                                split=split,
                                num_classes=max(int(y.max()) + 1, 2),
                                static_cutoff=cutoff)
