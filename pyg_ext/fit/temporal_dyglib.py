r"""DyGLib's evaluation protocol for temporal link prediction (Yu et al.,
`"Towards Better Dynamic Graph Learning: New Architecture and Unified
Library" <https://arxiv.org/abs/2303.13047>`_, NeurIPS 2023; code:
github.com/yule-BUAA/DyGLib), reimplemented on tensors:

* :func:`dyglib_split`: chronological 70/15/15 at time quantiles, with a
  share of the nodes active after the training period held out as *new
  nodes*: every training-period event touching one is removed from
  training; the *inductive* validation / test sets are the events touching
  a node never seen in training;
* :func:`dyglib_negatives`: per evaluation batch, ``'random'`` (same source,
  a uniform destination), ``'historical'`` (edges seen up to the batch start
  but not in the batch's time span) or ``'inductive'`` (such edges not seen
  in the training period), topped up with random edges that are not in the
  batch (Poursafaei et al., NeurIPS 2022);
* :func:`batch_mean_metrics`: AP and ROC-AUC per batch, averaged (DyGLib's
  reported numbers), next to the global ones.
"""
from typing import Dict, Tuple

import torch
from torch import Tensor

from pyg_ext.fit.temporal_data import chronological_split
from pyg_ext.metrics import Evaluator

__all__ = ['dyglib_split', 'dyglib_negatives', 'batch_mean_metrics']


def dyglib_split(src: Tensor, dst: Tensor, t: Tensor, val_ratio: float,
                 test_ratio: float, new_node_ratio: float,
                 generator: torch.Generator) -> Dict[str, Tensor]:
    r"""DyGLib's link-prediction split of a time-sorted stream (CPU).

    With :math:`q_v, q_s` the time quantiles at :math:`1 - v - s` and
    :math:`1 - s`, :math:`\lfloor r \cdot |V| \rfloor` *new test nodes* are
    drawn among the nodes of the events with :math:`t > q_v` (:math:`|V|`:
    the distinct nodes of the stream). Returns event indices:

    * ``'train'``: :math:`t \le q_v` and no endpoint a new test node,
    * ``'val'`` / ``'test'``: every event of the period (transductive),
    * ``'val_inductive'`` / ``'test_inductive'``: the events of the period
      with an endpoint not seen in ``'train'``,
    * ``'held_out'``: the training-period events removed from training,
    * ``'new_nodes'``: the drawn new test nodes.
    """
    base = chronological_split(t, val_ratio, test_ratio)
    tr = base['train']
    after = torch.ones(t.numel(), dtype=torch.bool)
    after[tr] = False
    nodes = torch.unique(torch.cat([src, dst]))
    late = torch.unique(torch.cat([src[after], dst[after]]))
    k = min(int(new_node_ratio * nodes.numel()), late.numel())
    new = late[torch.randperm(late.numel(), generator=generator)[:k]]
    new = new.sort().values
    touches_new = torch.isin(src, new) | torch.isin(dst, new)
    in_train = ~after & ~touches_new
    train = in_train.nonzero().view(-1)
    seen = torch.unique(torch.cat([src[train], dst[train]]))
    unseen = ~torch.isin(src, seen) | ~torch.isin(dst, seen)
    out = {'train': train, 'val': base['val'], 'test': base['test']}
    for s in ('val', 'test'):
        idx = base[s]
        out[f'{s}_inductive'] = idx[unseen[idx]]
    out['held_out'] = (~after & touches_new).nonzero().view(-1)
    out['new_nodes'] = new
    return out


def _random_edges_avoiding(n: int, u_src: Tensor, u_dst: Tensor,
                           avoid: Tensor, N: int,
                           g: torch.Generator) -> Tuple[Tensor, Tensor]:
    r""":obj:`n` uniform (source, destination) pairs over the stream's
    sources x destinations that are not in :obj:`avoid` (keys
    ``src * N + dst``; rejection sampling with replacement)."""
    s_out, d_out = [], []
    left = n
    for _ in range(100):
        if left == 0:
            break
        s = u_src[torch.randint(0, u_src.numel(), (2 * left + 8, ),
                                generator=g)]
        d = u_dst[torch.randint(0, u_dst.numel(), (2 * left + 8, ),
                                generator=g)]
        ok = ~torch.isin(s * N + d, avoid)
        s_out.append(s[ok][:left])
        d_out.append(d[ok][:left])
        left -= int(ok.sum().clamp(max=left))
    if left:
        raise ValueError("could not draw negative edges outside the current "
                         "batch: every (source, destination) pair of the "
                         "stream occurs in it")
    return torch.cat(s_out), torch.cat(d_out)


def dyglib_negatives(src: Tensor, dst: Tensor, t: Tensor, idx: Tensor,
                     strategy: str, batch_size: int, last_observed: float,
                     num_nodes: int, generator: torch.Generator
                     ) -> Tuple[Tensor, Tensor]:
    r"""One negative pair per query of :obj:`idx` (time-sorted event
    indices of a split), drawn per batch of :obj:`batch_size` queries as
    DyGLib's ``NegativeEdgeSampler`` does (CPU).

    For a batch with time span :math:`[t_a, t_b]` and edge set :math:`B`:

    * ``'random'``: the query's source and a uniform destination of the
      stream;
    * ``'historical'``: the distinct edges with :math:`t \le t_a` that do
      not occur in :math:`[t_a, t_b]` (Poursafaei et al.: seen before, but
      not now), sampled without replacement; if there are fewer than the
      batch, all of them plus random pairs not in :math:`B`;
    * ``'inductive'``: the same, restricted to edges not seen up to
      :obj:`last_observed` (the end of the training period).
    """
    N = max(num_nodes, 1)
    key = src * N + dst
    td = t.double()
    u_src, u_dst = torch.unique(src), torch.unique(dst)
    observed = torch.unique(key[td <= last_observed]) \
        if strategy == 'inductive' else None
    neg_s, neg_d = [], []
    for chunk in idx.split(batch_size):
        n = chunk.numel()
        if strategy == 'random':
            neg_s.append(src[chunk])
            neg_d.append(u_dst[torch.randint(0, u_dst.numel(), (n, ),
                                             generator=generator)])
            continue
        ta, tb = td[chunk].min(), td[chunk].max()
        hist = torch.unique(key[td <= ta])
        now = torch.unique(key[(td >= ta) & (td <= tb)])
        cand = hist[~torch.isin(hist, now)]
        if observed is not None:
            cand = cand[~torch.isin(cand, observed)]
        if cand.numel() >= n:
            pick = cand[torch.randperm(cand.numel(), generator=generator)[:n]]
            neg_s.append(pick // N)
            neg_d.append(pick % N)
        else:
            rs, rd = _random_edges_avoiding(n - cand.numel(), u_src, u_dst,
                                            key[chunk], N, generator)
            neg_s.append(torch.cat([rs, cand // N]))
            neg_d.append(torch.cat([rd, cand % N]))
    if not neg_s:
        e = src.new_zeros(0)
        return e, e.clone()
    return torch.cat(neg_s), torch.cat(neg_d)


def batch_mean_metrics(pos: Tensor, neg: Tensor,
                       batch_size: int) -> Dict[str, float]:
    r"""AP and ROC-AUC of every batch of :obj:`batch_size` consecutive
    (positive, negative) score pairs, averaged over the batches (DyGLib's
    reported metric; the last batch may be smaller).

    Example:
        >>> m = batch_mean_metrics(torch.tensor([1., 0., 1.]),
        ...                        torch.tensor([0., 1., 0.]), 2)
        >>> round(m['ap'], 4), round(m['rocauc'], 4)
        (0.75, 0.75)
    """
    aps, aucs = [], []
    for p, n in zip(pos.split(batch_size), neg.split(batch_size)):
        s = torch.cat([p, n])
        y = torch.cat([torch.ones_like(p), torch.zeros_like(n)]).long()
        aps.append(Evaluator('ap').eval({'y_true': y, 'y_pred': s})['ap'])
        aucs.append(Evaluator('rocauc').eval({'y_true': y,
                                              'y_pred': s})['rocauc'])
    if not aps:
        return {}
    return {'ap': float(sum(aps) / len(aps)),
            'rocauc': float(sum(aucs) / len(aucs))}
