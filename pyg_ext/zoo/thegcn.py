r"""THeGCN in the loop: the ``thegcn`` model, the ``fagcn`` and ``tgn``
baselines and the ``temporal`` method that trains any of them (and any
static model such as ``gcn`` / ``gprgnn``) on the temporal tasks of
:mod:`pyg_ext.train.tasks.temporal`."""
import copy
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from pyg_ext.nn.models.fagcn import FAGCN
from pyg_ext.nn.models.tgn import TGNModel
from pyg_ext.nn.models.thegcn import THeGCN
from pyg_ext.registry import register_method, register_model
from pyg_ext.train.checkpoint import get_rng_state, set_rng_state
from pyg_ext.train.config import ModelOptions
from pyg_ext.train.method import Method, RunContext, make_optimizer

__all__ = [
    'THeGCNOptions', 'FAGCNOptions', 'TGNOptions', 'FAGCN', 'TGNModel',
    'TemporalMethod', 'TemporalMethodOptions', 'gate_statistics',
    'replay_stream',
]


# THeGCN ----------------------------------------------------------------------
@dataclass
class THeGCNOptions(ModelOptions):
    r"""Options of the ``thegcn`` model (see :class:`~pyg_ext.nn.models.
    THeGCN`). ``num_layers`` is the number of SMP blocks :math:`L`;
    ``edge_dim = -1`` takes the dataset's edge-attribute size;
    ``num_nodes = -1`` adds a node-id embedding sized for the dataset
    (``0``: none)."""
    hidden_channels: int = 64
    num_layers: int = 1
    dropout: float = 0.1
    time_dim: int = 100
    edge_dim: int = -1
    gate: str = 'scalar'
    gate_act: str = 'sigmoid'
    gate_hidden: Optional[int] = None
    use_time: bool = True
    use_edge_attr: bool = True
    fixed_gate: Optional[float] = None
    num_nodes: int = 0

    def __post_init__(self):
        if self.gate not in ('scalar', 'channel'):
            raise ValueError(f"model.gate: expected 'scalar' or 'channel', "
                             f"got {self.gate!r}")
        if self.gate_act not in ('sigmoid', 'tanh'):
            raise ValueError(f"model.gate_act: expected 'sigmoid' or 'tanh', "
                             f"got {self.gate_act!r}")


@register_model('thegcn', options=THeGCNOptions,
                description='THeGCN: gated low/high-pass temporal message '
                'passing on sampled event subgraphs (arXiv 2412.16435)')
def build_thegcn(in_channels: int, out_channels: int,
                 options: THeGCNOptions) -> THeGCN:
    edge_dim = max(options.edge_dim, 0)
    num_nodes = options.num_nodes if options.num_nodes > 0 else None
    return THeGCN(in_channels, options.hidden_channels, out_channels,
                  edge_dim=edge_dim, time_dim=options.time_dim,
                  num_smp_layers=options.num_layers, gate=options.gate,
                  gate_act=options.gate_act, gate_hidden=options.gate_hidden,
                  dropout=options.dropout, use_time=options.use_time,
                  use_edge_attr=options.use_edge_attr,
                  fixed_gate=options.fixed_gate, num_nodes=num_nodes)


# FAGCN -----------------------------------------------------------------------
@dataclass
class FAGCNOptions(ModelOptions):
    eps: float = 0.3


@register_model('fagcn', options=FAGCNOptions,
                description='FAGCN (PyG FAConv) with an initial residual')
def build_fagcn(in_channels: int, out_channels: int, options: FAGCNOptions):
    return FAGCN(in_channels, options.hidden_channels, out_channels,
                 options.num_layers, options.dropout, options.eps)


# TGN -------------------------------------------------------------------------
@dataclass
class TGNOptions(ModelOptions):
    r"""Options of ``tgn``: ``num_nodes``/``msg_dim = -1`` are taken from the
    dataset; ``hidden_channels`` is the memory, time and embedding size."""
    hidden_channels: int = 100
    num_nodes: int = -1
    msg_dim: int = -1
    neighbor_size: int = 10


@register_model('tgn', options=TGNOptions,
                description='TGN from PyG TGNMemory + LastNeighborLoader + '
                'TransformerConv (PyG examples/tgn.py)')
def build_tgn(in_channels: int, out_channels: int, options: TGNOptions):
    if options.num_nodes < 1 or options.msg_dim < 0:
        raise ValueError(f"model.num_nodes / model.msg_dim must be set (or "
                         f"-1 for the 'temporal' method to fill them from "
                         f"the dataset), got {options.num_nodes}, "
                         f"{options.msg_dim}")
    h = options.hidden_channels
    return TGNModel(in_channels, out_channels, options.num_nodes,
                    options.msg_dim, h, h, h, options.neighbor_size)


# stream replay -----------------------------------------------------------------
def replay_stream(model: TGNModel, head, task, data, splits: List[str],
                  optimizer=None, generator: Optional[torch.Generator] = None,
                  ssl_weight: float = 1.0, progress: bool = False
                  ) -> Dict[str, Any]:
    r"""Replays the event stream through a stream model in chronological
    batches of ``task.options.batch_size`` events. A query with time
    :math:`q` is answered right before the batch that contains the first
    event with :math:`t \ge q` (so it sees only earlier events; events of its
    own batch before :math:`q` are not yet in memory, as in PyG's TGN
    example). With an :obj:`optimizer`, trains on the ``'train'`` queries
    (plus, for node tasks, a self-supervised link loss on every batch,
    weighted by :obj:`ssl_weight`) and stops after the last training
    query; else returns the outputs for :obj:`splits`."""
    g = data.graph
    ev = g.events
    E = g.num_events
    B = task.options.batch_size
    train = optimizer is not None
    model.train(train)
    if head is not None:
        head.train(train)
    model.reset_state(g.x, ev.t, g.msg)
    t_sorted = ev.t.double()
    pos = torch.searchsorted(t_sorted, data.q_time.double())
    bucket = pos // B
    want = torch.zeros(data.num_queries, dtype=torch.bool)
    for s in splits:
        want[data.split[s]] = True
    qidx = want.nonzero().view(-1)
    order = torch.argsort(bucket[qidx], stable=True)
    qidx = qidx[order]
    qb = bucket[qidx]
    nb = (E + B - 1) // B + 1
    bounds = torch.searchsorted(qb, torch.arange(nb + 1))
    last_bucket = int(qb.max()) if qidx.numel() else -1
    outputs: Dict[int, Any] = {}
    pool = data.cache.get('dst_pool', torch.unique(ev.dst))
    losses = []
    is_link = task.kind == 'link'
    ctx = torch.enable_grad() if train else torch.no_grad()
    with ctx:
        for b in tqdm(range(nb), disable=not progress, leave=False,
                      desc='replay'):
            if train and b > last_bucket:
                break
            q = qidx[bounds[b]:bounds[b + 1]]
            lo, hi = b * B, min((b + 1) * B, E)
            loss = None
            if q.numel():
                if is_link:
                    loss, out = _stream_link(model, head, task, data, q,
                                             train, generator, pool)
                else:
                    logits = model.embed_nodes(data.q_node[q])
                    out = logits
                    if train:
                        loss = F.cross_entropy(logits, data.q_y[q])
                if not train:
                    outputs[b] = (q, out)
            if train and not is_link and ssl_weight > 0 and hi > lo:
                # self-supervised link loss trains the memory on node tasks
                src, dst = ev.src[lo:hi], ev.dst[lo:hi]
                neg = pool[torch.randint(0, pool.numel(), (hi - lo, ),
                                         generator=generator)]
                z = model.embed_nodes(torch.cat([src, dst, neg]))
                n = hi - lo
                zs, zd, zn = z[:n], z[n:2 * n], z[2 * n:]
                s = torch.cat([(zs * zd).sum(-1), (zs * zn).sum(-1)])
                y = torch.cat([torch.ones(n), torch.zeros(n)])
                ssl = F.binary_cross_entropy_with_logits(s, y) * ssl_weight
                loss = ssl if loss is None else loss + ssl
            if hi > lo:
                model.update(ev.src[lo:hi], ev.dst[lo:hi], ev.t[lo:hi],
                             g.msg[lo:hi])
            if train and loss is not None:
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                losses.append(float(loss.detach()))
            if train:
                model.detach_state()
    if train:
        return {'loss': sum(losses) / max(len(losses), 1)}
    return _collect(outputs, data, splits, is_link)


def _stream_link(model, head, task, data, q, train, generator, pool):
    src, dst = data.q_node[q], data.q_dst[q]
    if train:
        neg = pool[torch.randint(0, pool.numel(), (q.numel(), ),
                                 generator=generator)]
        z = model.embed_nodes(torch.cat([src, dst, neg]))
        n = q.numel()
        s = torch.cat([head(z[:n], z[n:2 * n]), head(z[:n], z[2 * n:])])
        y = torch.cat([torch.ones(n), torch.zeros(n)])
        return F.binary_cross_entropy_with_logits(s, y), None
    # evaluation: the fixed negatives of the query's split
    out = {}
    if '_split_pos' not in data.cache:
        data.cache['_split_pos'] = _split_positions(data)
    sp, ip = data.cache['_split_pos']
    split_names = list(data.negatives)
    n_src = torch.empty_like(src)
    n_dst = torch.empty_like(dst)
    for si, s in enumerate(split_names):
        m = sp[q] == si
        if m.any():
            n_src[m] = data.negatives[s]['src'][ip[q[m]]]
            n_dst[m] = data.negatives[s]['dst'][ip[q[m]]]
    nodes = [src, dst, n_src, n_dst]
    K = task.options.mrr_negatives
    mrr_nodes = None
    if K > 0:
        rows, dsts = [], []
        for si, s in enumerate(split_names):
            if 'mrr_pos' not in data.negatives[s]:
                continue
            m = (sp[q] == si).nonzero().view(-1)
            if m.numel() == 0:
                continue
            if f'_mrr_inv_{s}' not in data.cache:
                data.cache[f'_mrr_inv_{s}'] = _mrr_inverse(data, s)
            inv = data.cache[f'_mrr_inv_{s}']
            r = inv[ip[q[m]]]
            ok = r >= 0
            rows.append(m[ok])
            dsts.append(data.negatives[s]['mrr_dst'][r[ok]])
        if rows:
            rows = torch.cat(rows)
            mrr_nodes = (rows, torch.cat(dsts))
            nodes.append(mrr_nodes[1].reshape(-1))
    z = model.embed_nodes(torch.cat(nodes))
    n = q.numel()
    zs, zd, zns, znd = z[:n], z[n:2 * n], z[2 * n:3 * n], z[3 * n:4 * n]
    out['pos'] = head(zs, zd)
    out['neg'] = head(zns, znd)
    if mrr_nodes is not None:
        rows, d = mrr_nodes
        zm = z[4 * n:].view(rows.numel(), K, -1)
        out['mrr'] = (rows, head(zs[rows].unsqueeze(1).expand(-1, K, -1)
                                 .reshape(-1, zs.size(1)),
                                 zm.reshape(-1, zs.size(1))).view(-1, K))
    return None, out


def _split_positions(data):
    sp = torch.full((data.num_queries, ), -1, dtype=torch.long)
    ip = torch.full((data.num_queries, ), -1, dtype=torch.long)
    for si, s in enumerate(list(data.negatives)):
        idx = data.split[s]
        sp[idx] = si
        ip[idx] = torch.arange(idx.numel())
    return sp, ip


def _mrr_inverse(data, s):
    sel = data.negatives[s]['mrr_pos']
    inv = torch.full((data.split[s].numel(), ), -1, dtype=torch.long)
    inv[sel] = torch.arange(sel.numel())
    return inv


def _collect(outputs, data, splits, is_link):
    res = {}
    if not is_link:
        allq = torch.cat([o[0] for o in outputs.values()]) if outputs else \
            torch.zeros(0, dtype=torch.long)
        if outputs:
            allo = torch.cat([o[1] for o in outputs.values()])
            store = allo.new_zeros(data.num_queries, allo.size(1))
            store[allq] = allo
        for s in splits:
            res[s] = store[data.split[s]] if outputs else torch.zeros(0, 2)
        return res
    pos = torch.zeros(data.num_queries)
    neg = torch.zeros(data.num_queries)
    mrr_store = {}
    sp, ip = data.cache['_split_pos']
    for q, o in outputs.values():
        pos[q] = o['pos']
        neg[q] = o['neg']
        if 'mrr' in o:
            rows, sc = o['mrr']
            for r, row in zip(q[rows].tolist(), sc):
                mrr_store[r] = row
    for s in splits:
        idx = data.split[s]
        out = {'pos': pos[idx], 'neg': neg[idx]}
        if 'mrr_pos' in data.negatives.get(s, {}):
            sel = data.negatives[s]['mrr_pos']
            out['mrr_neg'] = torch.stack([mrr_store[int(i)]
                                          for i in idx[sel]])
        res[s] = out
    return res


# gate statistics ---------------------------------------------------------------
@torch.no_grad()
def gate_statistics(model: THeGCN, task, data, split: str = 'val'
                    ) -> Dict[str, float]:
    r"""Mean TMP gate :math:`g` on sampled events whose endpoints have the
    same vs different (static) labels, for the queries of :obj:`split`
    (:math:`g > 0.5`: low-pass, :math:`g < 0.5`: high-pass)."""
    y = data.graph.y
    if y is None or not getattr(model, 'temporal', False):
        return {}
    model.eval()
    idx = data.split[split]
    same, cross = [], []
    for i in idx.split(task.options.eval_batch_size):
        sub = task.sampler(data).sample(data.q_node[i], data.q_time[i])
        if sub.num_edges == 0:
            continue
        g = data.graph
        ea = g.msg[sub.e_id] if model.edge_dim > 0 else None
        _, gates = model(g.x[sub.n_id], sub.edge_index, ea,
                         sub.dt.double(), batch_size=sub.batch_size,
                         n_id=sub.n_id, return_gates=True)
        gt = gates[0].mean(-1)
        yn = y[sub.n_id]
        diff = yn[sub.edge_index[0]] != yn[sub.edge_index[1]]
        same.append(gt[~diff])
        cross.append(gt[diff])
    out = {}
    if same and torch.cat(same).numel():
        out['gate_same_class'] = float(torch.cat(same).mean())
    if cross and torch.cat(cross).numel():
        out['gate_cross_class'] = float(torch.cat(cross).mean())
    return out


# the method -------------------------------------------------------------------
@dataclass
class TemporalMethodOptions:
    r"""Args:
        ssl_weight (float): Weight of the self-supervised link loss that
            trains a stream model's memory on node tasks.
        max_train_batches (int, optional): Cap on training steps per epoch
            (temporal models).
        gate_stats (bool): Report the mean learned TMP gate on same- vs
            cross-class events (THeGCN with static labels).
    """
    ssl_weight: float = 1.0
    max_train_batches: Optional[int] = None
    gate_stats: bool = True


@register_method('temporal')
class TemporalMethod(Method):
    r"""Mini-batch training for the temporal tasks with early stopping on the
    validation metric: temporal models on sampled subgraphs, stream models
    (TGN) by chronological replay, static models full-batch on the static
    projection. Resumable from checkpoints."""
    Options = TemporalMethodOptions

    def run(self, ctx: RunContext) -> Dict[str, Any]:
        task, data, cfg = ctx.task, ctx.data, ctx.train
        opts = ctx.config.model.options
        auto = task.auto_options(data)
        overrides = {k: v for k, v in auto.items()
                     if opts is not None and getattr(opts, k, None) == -1}
        model = ctx.build_model(**overrides)
        task.check_model(model, data)
        kind = ('stream' if getattr(model, 'stream_model', False) else
                'temporal' if getattr(model, 'temporal', False) else
                'static')
        _, out_ch = task.model_channels(data)
        head = task.make_head(data, out_ch)
        params = list(model.parameters()) + (list(head.parameters())
                                             if head is not None else [])
        optimizer = make_optimizer(params, cfg)
        gen = torch.Generator().manual_seed(ctx.seed)
        key = f'val_{task.metric}'
        start, best, best_epoch, bad = 0, None, -1, 0
        best_metrics: Dict[str, float] = {}
        best_state = None
        history: Dict[str, List[float]] = {}
        stopped = False
        state = ctx.checkpoint.load()
        if state is not None:
            model.load_state_dict(state['model'])
            if head is not None:
                head.load_state_dict(state['head'])
            optimizer.load_state_dict(state['optimizer'])
            set_rng_state(state['rng'])
            gen.set_state(state['gen'])
            start, best, best_epoch, bad = (state['epoch'] + 1, state['best'],
                                            state['best_epoch'], state['bad'])
            best_metrics, history = state['best_metrics'], state['history']
            best_state, stopped = state['best_state'], state['stopped']
        bar = tqdm(range(start, cfg.epochs) if not stopped else range(0),
                   desc=ctx.desc or 'epochs', leave=False,
                   disable=not ctx.progress, initial=start, total=cfg.epochs)
        for epoch in bar:
            loss = self._train_epoch(kind, model, head, task, data, optimizer,
                                     gen, ctx)
            if (epoch + 1) % cfg.eval_every == 0 or epoch + 1 == cfg.epochs:
                metrics = self._evaluate(kind, model, head, task, data, ctx)
                metrics['train_loss'] = loss
                metrics['epoch'] = epoch
                for k, v in metrics.items():
                    history.setdefault(k, []).append(float(v))
                score = metrics[key]
                better = best is None or (score > best if
                                          task.higher_is_better else
                                          score < best)
                if better:
                    best, best_epoch, bad = score, epoch, 0
                    best_metrics = dict(metrics)
                    best_state = {
                        'model': copy.deepcopy(model.state_dict()),
                        'head': None if head is None else copy.deepcopy(
                            head.state_dict())
                    }
                else:
                    bad += 1
                stopped = cfg.patience is not None and bad >= cfg.patience
                bar.set_postfix(loss=f'{loss:.3f}', best=f'{best:.4f}')
            if ctx.checkpoint.due(epoch) or stopped:
                ctx.checkpoint.save({
                    'model': model.state_dict(),
                    'head': None if head is None else head.state_dict(),
                    'optimizer': optimizer.state_dict(),
                    'rng': get_rng_state(), 'gen': gen.get_state(),
                    'epoch': epoch, 'best': best, 'best_epoch': best_epoch,
                    'bad': bad, 'best_metrics': best_metrics,
                    'history': history, 'best_state': best_state,
                    'stopped': stopped,
                })
            if ctx.interrupt is not None:
                ctx.interrupt(epoch)
            if stopped:
                break
        bar.close()
        metrics = {k: v for k, v in best_metrics.items() if k != 'epoch'}
        if self.options.gate_stats and kind == 'temporal' and \
                best_state is not None and task.kind == 'node':
            model.load_state_dict(best_state['model'])
            metrics.update(gate_statistics(model, task, data, 'val'))
        return {'metrics': metrics, 'best_epoch': best_epoch,
                'history': history}

    def _train_epoch(self, kind, model, head, task, data, optimizer, gen,
                     ctx) -> float:
        if kind == 'stream':
            return replay_stream(model, head, task, data, ['train'],
                                 optimizer, gen, self.options.ssl_weight,
                                 progress=False)['loss']
        model.train()
        if head is not None:
            head.train()
        if kind == 'static':
            optimizer.zero_grad()
            loss = task.batch_loss(model, head, data, data.split['train'],
                                   gen)
            loss.backward()
            optimizer.step()
            return float(loss.detach())
        total, n = 0.0, 0
        for i, idx in enumerate(task.train_batches(data, gen)):
            if self.options.max_train_batches is not None and \
                    i >= self.options.max_train_batches:
                break
            optimizer.zero_grad()
            loss = task.batch_loss(model, head, data, idx, gen)
            loss.backward()
            optimizer.step()
            total += float(loss.detach())
            n += 1
        return total / max(n, 1)

    @torch.no_grad()
    def _evaluate(self, kind, model, head, task, data, ctx) -> Dict[str,
                                                                      float]:
        model.eval()
        if head is not None:
            head.eval()
        splits = ['val', 'test']
        if kind == 'stream':
            outputs = replay_stream(model, head, task, data, splits)
        elif kind == 'static':
            z = task.full_static(model, data)
            outputs = {s: task.predict(model, head, data, s, static_out=z)
                       for s in splits}
        else:
            outputs = {s: task.predict(model, head, data, s) for s in splits}
        return task.compute_metrics(outputs, data)
