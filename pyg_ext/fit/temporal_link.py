r"""Temporal link prediction (future links of an event stream) for
:func:`pyg_ext.fit.fit_thegcn`, and the name -> task table of the temporal
tasks (:func:`make_temporal_task`).

Extension points: :meth:`TemporalLinkPredictionTask.split_events` (the
event split), :meth:`~TemporalLinkPredictionTask.train_negatives` and
:meth:`~TemporalLinkPredictionTask._eval_negatives` (negative sampling),
:meth:`~TemporalLinkPredictionTask.score` (what the decoder sees).
"""
from typing import Dict, Optional, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from pyg_ext.datasets.temporal import TemporalGraph
from pyg_ext.fit.temporal_checks import check_split_sizes, check_task_stream
from pyg_ext.fit.temporal_data import TemporalTaskData, chronological_split
from pyg_ext.fit.temporal_dyglib import (batch_mean_metrics, dyglib_negatives,
                                         dyglib_split)
from pyg_ext.fit.temporal_pair import PairFeatures, PairLinkHead
from pyg_ext.fit.temporal_options import (TemporalLinkPredictionOptions,
                                          TemporalTaskOptions)
from pyg_ext.fit.temporal_tasks import (DynamicNodeClassificationTask,
                                        TemporalNodeClassificationTask,
                                        TemporalTask, _host_graph,
                                        model_kind)
from pyg_ext.metrics import Evaluator

__all__ = ['LinkHead', 'TemporalLinkPredictionTask', 'TEMPORAL_TASKS',
           'make_temporal_task']


class LinkHead(torch.nn.Module):
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


class TemporalLinkPredictionTask(TemporalTask):
    r"""Future link prediction on an event stream: chronological 70/15/15,
    AP/AUC with one negative per positive, MRR with the TGB tie rule.

    Args:
        options (TemporalLinkPredictionOptions, optional): Options (or
            their fields as keyword arguments).
    """
    Options = TemporalLinkPredictionOptions
    name = 'temporal_link_prediction'
    kind = 'link'
    metric = 'ap'

    def model_channels(self, data):
        return data.graph.x.size(1), self.options.embedding_dim

    def make_head(self, data, out_channels):
        if self.options.pair_features:
            return PairLinkHead(out_channels)
        return LinkHead(out_channels)

    def check_model(self, model, data):
        super().check_model(model, data)
        if self.options.pair_features and model_kind(model) in ('stream',
                                                                'pair'):
            raise ValueError(f"task.pair_features is for temporal and "
                             f"static models (the link decoder reads them); "
                             f"a {model_kind(model)} model cannot use them")

    def prepare(self, data, kind):
        super().prepare(data, kind)
        if self.options.pair_features:
            self.pair_index(data)
            self.pair_index(data, train=True)

    def pair_index(self, data: TemporalTaskData,
                   train: bool = False) -> PairFeatures:
        r"""The :class:`~pyg_ext.fit.temporal_pair.PairFeatures` of the
        stream (host, built once; with :obj:`train`, without the held-out
        events)."""
        host = data.on_host()
        train = train and host.held_out_events is not None
        key = ('pair_index', self.options.pair_neighbors, train)
        if key not in host.cache:
            ev = host.graph.events
            keep = self.visible_events(host) if train else slice(None)
            host.cache[key] = PairFeatures(
                ev.src[keep].long(), ev.dst[keep].long(), ev.t[keep],
                host.graph.num_nodes, self.options.pair_neighbors)
        return host.cache[key]

    def auto_options(self, data):
        r"""Besides the shared ones, ``time_window``: the duration of the
        test period (EdgeBank's *tw-ts* window)."""
        out = super().auto_options(data)
        host = data.on_host()
        tt = host.q_time[host.split['test']].double()
        if tt.numel():
            out['time_window'] = max(float(tt.max() - tt.min()), 1e-12)
        return out

    def split_events(self, graph: TemporalGraph) -> Dict[str, Tensor]:
        r"""The event split: chronological at time quantiles; under the
        DyGLib protocol also the held-out new nodes
        (:func:`~pyg_ext.fit.temporal_dyglib.dyglib_split`)."""
        o = self.options
        ev = graph.events
        if o.protocol == 'dyglib':
            g = torch.Generator().manual_seed(o.seed)
            return dyglib_split(ev.src.long(), ev.dst.long(), ev.t,
                                o.val_ratio, o.test_ratio, o.held_out_ratio,
                                g)
        return chronological_split(ev.t, o.val_ratio, o.test_ratio)

    def build(self, graph: TemporalGraph) -> TemporalTaskData:
        graph = _host_graph(graph)
        check_task_stream(graph)
        ev, o = graph.events, self.options
        split = self.split_events(graph)
        check_split_sizes(split, o)
        extra = {k: split.pop(k) for k in ('val_inductive', 'test_inductive',
                                           'held_out', 'new_nodes')
                 if k in split}
        tr = split['train']
        cutoff = float(ev.t[tr].double().max()) + 1e-9
        held = extra.get('held_out')
        data = TemporalTaskData(
            graph=graph, q_node=ev.src.long(), q_time=ev.t.clone(),
            q_dst=ev.dst.long(), split=split, static_cutoff=cutoff,
            held_out_events=held if held is not None and held.numel()
            else None)
        pool = self.destination_pool(data)
        g = torch.Generator().manual_seed(o.seed)
        for s in ('val', 'test'):
            idx = split[s]
            neg_src, neg_dst = self._eval_negatives(data, s, g)
            negs = {'src': neg_src, 'dst': neg_dst}
            if f'{s}_inductive' in extra:
                negs['inductive_pos'] = torch.isin(
                    idx, extra[f'{s}_inductive']).nonzero().view(-1)
            if o.mrr_negatives > 0 and idx.numel():
                sel = torch.arange(idx.numel())
                if o.mrr_max_queries and idx.numel() > o.mrr_max_queries:
                    sel = torch.randperm(idx.numel(), generator=g)[
                        :o.mrr_max_queries].sort().values
                negs['mrr_pos'] = sel
                negs['mrr_dst'] = pool[torch.randint(
                    0, pool.numel(), (sel.numel(), o.mrr_negatives),
                    generator=g)]
            data.negatives[s] = negs
        return data

    def train_destination_pool(self, data: TemporalTaskData) -> Tensor:
        r"""The pool of training negatives (CPU): every destination of the
        stream (default protocol) or the destinations of the training
        events (DyGLib protocol)."""
        if self.options.protocol != 'dyglib':
            return self.destination_pool(data)
        host = data.on_host()
        if 'train_dst_pool' not in host.cache:
            host.cache['train_dst_pool'] = torch.unique(
                host.q_dst[host.split['train']])
        return host.cache['train_dst_pool']

    def _eval_negatives(self, data, split: str, g: torch.Generator):
        idx = data.split[split]
        src = data.q_node[idx]
        pool = self.destination_pool(data)
        o = self.options
        if o.protocol == 'dyglib':
            ev = data.graph.events
            last = float(data.q_time[data.split['train']].double().max())
            return dyglib_negatives(ev.src.long(), ev.dst.long(), ev.t, idx,
                                    o.negatives, o.batch_size, last,
                                    data.graph.num_nodes, g)
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

    def train_negatives(self, data: TemporalTaskData, idx: Tensor,
                        generator: torch.Generator) -> Tensor:
        r"""One random destination per training query (CPU), from
        :meth:`train_destination_pool`."""
        pool = self.train_destination_pool(data)
        return pool[torch.randint(0, pool.numel(), (idx.numel(), ),
                                  generator=generator, device=pool.device)]

    # scoring --------------------------------------------------------------
    def score(self, model, head, data, src: Tensor, dst: Tensor,
              times: Tensor, static_out: Optional[Tensor] = None,
              train: bool = False) -> Tensor:
        r"""Scores of the (CPU) pairs ``(src, dst)`` at :obj:`times`
        (:obj:`train`: a training step, which sees no held-out event)."""
        kind = model_kind(model)
        pf = ()
        if self.options.pair_features and kind in ('temporal', 'static'):
            feat, gap = self.pair_index(data, train)(src, dst, times)
            pf = (data.dev(feat), data.dev(gap))
        if kind == 'temporal':
            nodes = torch.cat([src, dst])
            z = self.embed_temporal(model, data, nodes,
                                    torch.cat([times, times]), train=train)
            return head(z[:src.numel()], z[src.numel():], *pf)
        if kind == 'static':
            z = static_out if static_out is not None else \
                self.full_static(model, data)
            return head(z[data.dev(src)], z[data.dev(dst)], *pf)
        if kind == 'pair':
            return model.score_pairs(data.dev(src), data.dev(dst),
                                     data.dev(times))
        raise ValueError("stream models are run by replay_stream, not per "
                         "batch")

    def batch_loss(self, model, head, data, idx, generator, static_out=None):
        neg = self.train_negatives(data, idx, generator)
        host = data.on_host()
        src, times = host.q_node[idx], host.q_time[idx]
        s = self.score(model, head, data, torch.cat([src, src]),
                       torch.cat([host.q_dst[idx], neg]),
                       torch.cat([times, times]), static_out, train=True)
        y = torch.cat([s.new_ones(idx.numel()), s.new_zeros(idx.numel())])
        return F.binary_cross_entropy_with_logits(s, y)

    @torch.no_grad()
    def predict(self, model, head, data, split, static_out=None):
        host = data.on_host()
        idx, negs = host.split[split], host.negatives[split]
        B = self.options.eval_batch_size
        pos, neg = [], []
        for i in torch.arange(idx.numel()).split(B):
            q = idx[i]
            t = host.q_time[q]
            pos.append(self.score(model, head, data, host.q_node[q],
                                  host.q_dst[q], t, static_out))
            neg.append(self.score(model, head, data, negs['src'][i],
                                  negs['dst'][i], t, static_out))
        out = {'pos': torch.cat(pos), 'neg': torch.cat(neg)}
        if 'mrr_pos' in negs:
            sel = negs['mrr_pos']
            K = negs['mrr_dst'].size(1)
            rows = []
            for i in torch.arange(sel.numel()).split(max(1, B // (K + 1))):
                q = idx[sel[i]]
                src = host.q_node[q].repeat_interleave(K)
                t = host.q_time[q].repeat_interleave(K)
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
            if self.options.protocol == 'dyglib':
                res.update(self._dyglib_metrics(split, o, data))
            if 'mrr_neg' in o:
                sel = data.negatives[split]['mrr_pos']
                m = Evaluator('mrr').eval({'y_pred_pos': o['pos'][sel],
                                           'y_pred_neg': o['mrr_neg']})
                res[f'{split}_mrr'] = m['mrr']
                res[f'{split}_hits@10'] = m['hits@10']
        return res

    def _dyglib_metrics(self, split: str, out: Dict[str, Tensor],
                        data: TemporalTaskData) -> Dict[str, float]:
        r"""DyGLib's per-batch-mean AP/AUC, and the inductive subset's
        metrics (events touching a node unseen in training; they keep the
        negatives of their transductive batch)."""
        B = self.options.batch_size
        res = {f'{split}_{k}_batch_mean': v for k, v in
               batch_mean_metrics(out['pos'], out['neg'], B).items()}
        ind = data.negatives.get(split, {}).get('inductive_pos')
        if ind is not None and ind.numel():
            p, n = out['pos'][ind], out['neg'][ind]
            s = torch.cat([p, n])
            y = torch.cat([torch.ones_like(p), torch.zeros_like(n)]).long()
            res[f'{split}_inductive_ap'] = Evaluator('ap').eval(
                {'y_true': y, 'y_pred': s})['ap']
            res.update({f'{split}_inductive_{k}_batch_mean': v for k, v in
                        batch_mean_metrics(p, n, B).items()})
        return res


TEMPORAL_TASKS = {cls.name: cls for cls in (
    TemporalNodeClassificationTask, DynamicNodeClassificationTask,
    TemporalLinkPredictionTask)}


def make_temporal_task(task: Union[str, TemporalTask],
                       options: Optional[TemporalTaskOptions] = None
                       ) -> TemporalTask:
    r"""A temporal task from its name (with :obj:`options` or the defaults)
    or a task object (returned as it is)."""
    if isinstance(task, TemporalTask):
        if options is not None:
            raise TypeError("'options' only applies to a task given by name")
        return task
    if isinstance(task, str) and task in TEMPORAL_TASKS:
        return TEMPORAL_TASKS[task](options)
    raise ValueError(f"'task' must be one of {sorted(TEMPORAL_TASKS)} or a "
                     f"TemporalTask object, got {task!r}")
