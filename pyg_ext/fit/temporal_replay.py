r"""Chronological replay of an event stream through a *stream* model (e.g.
TGN: a memory updated event batch by event batch), for training and for
answering the queries of a temporal task without any future leak."""
from typing import Any, Dict, List, Optional

import torch
import torch.nn.functional as F
from torch import Tensor
from tqdm.auto import tqdm

from pyg_ext.fit.temporal_data import TemporalTaskData
from pyg_ext.utils.training import Trainer

__all__ = ['replay_stream', 'replay_plan']


def replay_plan(task, data: TemporalTaskData, splits: List[str]
                ) -> Dict[str, Any]:
    r"""Which queries of :obj:`splits` are answered before which batch of
    ``task.options.batch_size`` events: computed once on the host (and
    cached on :obj:`data`), so the replay itself reads no tensor value.

    A query with time :math:`q` belongs to the batch that contains the
    first event with :math:`t \ge q`.
    """
    B = task.options.batch_size
    key = ('replay', B, tuple(splits), data.split_seed)
    if key in data.cache:
        return data.cache[key]
    host = data.on_host()
    ev = host.graph.events
    E = host.graph.num_events
    pos = torch.searchsorted(ev.t.double(), host.q_time.double())
    bucket = pos // B
    want = torch.zeros(host.num_queries, dtype=torch.bool)
    for s in splits:
        want[host.split[s]] = True
    qidx = want.nonzero().view(-1)
    qidx = qidx[torch.argsort(bucket[qidx], stable=True)]
    qb = bucket[qidx]
    nb = (E + B - 1) // B + 1
    bounds = torch.searchsorted(qb, torch.arange(nb + 1)).tolist()
    plan = {'qidx': data.dev(qidx), 'bounds': bounds, 'num_batches': nb,
            'last': int(qb.max()) if qidx.numel() else -1,
            'batch_size': B, 'num_events': E}
    if task.kind == 'link' and any(s in host.negatives for s in splits):
        plan.update(_link_plan(task, data, qidx, bounds, nb))
    data.cache[key] = plan
    return plan


def _link_plan(task, data: TemporalTaskData, qidx: Tensor, bounds: List[int],
               nb: int) -> Dict[str, Any]:
    r"""Per query its fixed evaluation negative, and per batch the queries
    scored for MRR (split by split, in the order of ``data.negatives``)."""
    host = data.on_host()
    Q = host.num_queries
    sp = torch.full((Q, ), -1, dtype=torch.long)
    ip = torch.full((Q, ), -1, dtype=torch.long)
    n_src = torch.zeros(Q, dtype=torch.long)
    n_dst = torch.zeros(Q, dtype=torch.long)
    names = list(host.negatives)
    for si, s in enumerate(names):
        idx = host.split[s]
        sp[idx] = si
        ip[idx] = torch.arange(idx.numel())
        n_src[idx] = host.negatives[s]['src']
        n_dst[idx] = host.negatives[s]['dst']
    inv = {}
    for s in names:
        if 'mrr_pos' in host.negatives[s]:
            sel = host.negatives[s]['mrr_pos']
            inv[s] = torch.full((host.split[s].numel(), ), -1,
                                dtype=torch.long)
            inv[s][sel] = torch.arange(sel.numel())
    mrr = []
    for b in range(nb):
        q = qidx[bounds[b]:bounds[b + 1]]
        rows, dsts = [], []
        for si, s in enumerate(names):
            if s not in inv:
                continue
            m = (sp[q] == si).nonzero().view(-1)
            r = inv[s][ip[q[m]]]
            ok = r >= 0
            rows.append(m[ok])
            dsts.append(host.negatives[s]['mrr_dst'][r[ok]])
        rows = torch.cat(rows) if rows else torch.zeros(0, dtype=torch.long)
        mrr.append(None if rows.numel() == 0 else
                   (data.dev(rows), data.dev(torch.cat(dsts))))
    return {'neg_src': data.dev(n_src), 'neg_dst': data.dev(n_dst),
            'mrr': mrr}


def replay_stream(model, head, task, data: TemporalTaskData,
                  splits: List[str],
                  optimizer: Optional[torch.optim.Optimizer] = None,
                  generator: Optional[torch.Generator] = None,
                  ssl_weight: float = 1.0, progress: bool = False
                  ) -> Dict[str, Any]:
    r"""Replays the event stream through a stream model in chronological
    batches of ``task.options.batch_size`` events. A query with time
    :math:`q` is answered right before the batch that contains the first
    event with :math:`t \ge q` (so it sees only earlier events; events of its
    own batch before :math:`q` are not yet in memory, as in PyG's TGN
    example).

    With an :obj:`optimizer`, trains on the ``'train'`` queries (plus, for
    node tasks, a self-supervised link loss on every batch, weighted by
    :obj:`ssl_weight`; negatives drawn on the CPU from :obj:`generator`),
    stops after the last training query and returns ``{'loss': mean batch
    loss}`` as a tensor (no host sync). Else returns the outputs for
    :obj:`splits` (``{split: logits}`` for node tasks, ``{split: {'pos',
    'neg'[, 'mrr_neg']}}`` for link prediction).

    Args:
        model (torch.nn.Module): A stream model (``reset_state(x, t, msg)``,
            ``embed_nodes(nodes)``, ``update(src, dst, t, msg)``,
            ``detach_state()``).
        head (torch.nn.Module, optional): The link decoder (link tasks).
        task (TemporalTask): The task.
        data (TemporalTaskData): The task's data (on the model's device).
        splits (list of str): The splits whose queries are replayed.
        optimizer (torch.optim.Optimizer, optional): Train with it.
        generator (torch.Generator, optional): CPU generator of the
            training negatives.
        ssl_weight (float): Weight of the self-supervised link loss.
        progress (bool): Show a progress bar over the batches.
    """
    plan = replay_plan(task, data, splits)
    g, ev, msg = data.graph, data.graph.events, data.msg
    E, B = plan['num_events'], plan['batch_size']
    bounds, qidx = plan['bounds'], plan['qidx']
    train = optimizer is not None
    is_link = task.kind == 'link'
    pool = task.train_destination_pool(data) if is_link else \
        task.destination_pool(data)
    model.train(train)
    if head is not None:
        head.train(train)
    model.reset_state(g.x, ev.t, msg)
    outputs: List[Any] = []
    losses: List[Tensor] = []
    ctx = torch.enable_grad() if train else torch.no_grad()
    with ctx:
        for b in tqdm(range(plan['num_batches']), disable=not progress,
                      leave=False, desc='replay'):
            if train and b > plan['last']:
                break
            lo, hi = b * B, min((b + 1) * B, E)
            loss = None
            if bounds[b + 1] > bounds[b]:
                q = qidx[bounds[b]:bounds[b + 1]]
                if is_link and train:
                    loss = _link_loss(model, head, task, data, q, generator,
                                      pool)
                elif is_link:
                    outputs.append((q, _link_scores(model, head, data, q,
                                                    plan['mrr'][b], plan)))
                else:
                    logits = model.embed_nodes(data.q_node[q])
                    if train:
                        loss = F.cross_entropy(logits, data.q_y[q])
                    else:
                        outputs.append((q, logits))
            if train and not is_link and ssl_weight > 0 and hi > lo:
                # self-supervised link loss trains the memory on node tasks
                n = hi - lo
                neg = data.dev(pool[torch.randint(
                    0, pool.numel(), (n, ), generator=generator,
                    device=pool.device)])
                z = model.embed_nodes(torch.cat([ev.src[lo:hi],
                                                 ev.dst[lo:hi], neg]))
                zs, zd, zn = z[:n], z[n:2 * n], z[2 * n:]
                s = torch.cat([(zs * zd).sum(-1), (zs * zn).sum(-1)])
                y = torch.cat([s.new_ones(n), s.new_zeros(n)])
                ssl = F.binary_cross_entropy_with_logits(s, y) * ssl_weight
                loss = ssl if loss is None else loss + ssl
            if hi > lo:
                model.update(ev.src[lo:hi], ev.dst[lo:hi], ev.t[lo:hi],
                             msg[lo:hi])
            if train and loss is not None:
                losses.append(Trainer.backward(optimizer, loss))
            if train:
                model.detach_state()
    if train:
        loss = torch.stack(losses).double().mean() if losses else \
            msg.new_zeros((), dtype=torch.float64)
        return {'loss': loss}
    return _collect(outputs, data, splits, is_link)


def _link_loss(model, head, task, data, q, generator, pool) -> Tensor:
    neg = data.dev(pool[torch.randint(0, pool.numel(), (q.numel(), ),
                                      generator=generator,
                                      device=pool.device)])
    z = model.embed_nodes(torch.cat([data.q_node[q], data.q_dst[q], neg]))
    n = q.numel()
    s = torch.cat([head(z[:n], z[n:2 * n]), head(z[:n], z[2 * n:])])
    y = torch.cat([s.new_ones(n), s.new_zeros(n)])
    return F.binary_cross_entropy_with_logits(s, y)


def _link_scores(model, head, data, q, mrr, plan) -> Dict[str, Any]:
    r"""Evaluation: the positive pair, the fixed negative pair of the
    query's split and, for the MRR queries, their random destinations."""
    nodes = [data.q_node[q], data.q_dst[q], plan['neg_src'][q],
             plan['neg_dst'][q]]
    if mrr is not None:
        nodes.append(mrr[1].reshape(-1))
    z = model.embed_nodes(torch.cat(nodes))
    n = q.numel()
    zs, zd, zns, znd = z[:n], z[n:2 * n], z[2 * n:3 * n], z[3 * n:4 * n]
    out = {'pos': head(zs, zd), 'neg': head(zns, znd)}
    if mrr is not None:
        rows, dst = mrr
        K, C = dst.size(1), zs.size(1)
        zm = z[4 * n:].view(rows.numel(), K, -1)
        out['mrr'] = (rows, head(zs[rows].unsqueeze(1).expand(-1, K, -1)
                                 .reshape(-1, C),
                                 zm.reshape(-1, C)).view(-1, K))
    return out


def _collect(outputs, data: TemporalTaskData, splits: List[str],
             is_link: bool) -> Dict[str, Any]:
    res = {}
    if not is_link:
        if not outputs:
            return {s: data.graph.x.new_zeros(0, 2) for s in splits}
        allq = torch.cat([o[0] for o in outputs])
        allo = torch.cat([o[1] for o in outputs])
        store = allo.new_zeros(data.num_queries, allo.size(1))
        store[allq] = allo
        return {s: store[data.split[s]] for s in splits}
    if not outputs:
        empty = data.graph.x.new_zeros(0)
        return {s: {'pos': empty, 'neg': empty} for s in splits}
    pos = outputs[0][1]['pos'].new_zeros(data.num_queries)
    neg = pos.new_zeros(data.num_queries)
    mrr_store = None
    for q, o in outputs:
        pos[q] = o['pos']
        neg[q] = o['neg']
        if 'mrr' in o:
            rows, sc = o['mrr']
            if mrr_store is None:
                mrr_store = sc.new_zeros(data.num_queries, sc.size(1))
            mrr_store[q[rows]] = sc
    for s in splits:
        idx = data.split[s]
        out = {'pos': pos[idx], 'neg': neg[idx]}
        if 'mrr_pos' in data.negatives.get(s, {}) and mrr_store is not None:
            out['mrr_neg'] = mrr_store[idx[data.negatives[s]['mrr_pos']]]
        res[s] = out
    return res
