r"""The DyGLib protocol option of temporal link prediction: split with
held-out new nodes, training that never sees them, per-batch negatives
(random / historical / inductive) and per-batch-mean metrics."""
import torch

from pyg_ext.datasets.temporal import synthetic_event_stream
from pyg_ext.fit import TemporalLinkPredictionTask, fit_thegcn
from pyg_ext.fit.temporal_data import chronological_split
from pyg_ext.fit.temporal_dyglib import (batch_mean_metrics,
                                         dyglib_negatives, dyglib_split)
from pyg_ext.nn.models import EdgeBank, THeGCN
from pyg_ext.utils.checkpoint import seed_everything


def small(seed=0, E=600, N=50):
    return synthetic_event_stream(num_nodes=N, num_events=E, edge_dim=2,
                                  seed=seed)


def task(**kw):
    opts = dict(protocol='dyglib', batch_size=40, num_neighbors=[5],
                mrr_negatives=0, embedding_dim=8)
    opts.update(kw)
    return TemporalLinkPredictionTask(**opts)


def test_split_known_answer():
    # 10 events, quantiles at 0.7 / 0.85 of t = 0..9 -> 6.3 / 7.65
    src = torch.tensor([0, 1, 2, 3, 0, 1, 4, 5, 4, 2])
    dst = torch.tensor([1, 2, 3, 0, 2, 3, 0, 1, 5, 1])
    t = torch.arange(10.)
    g = torch.Generator().manual_seed(0)
    s = dyglib_split(src, dst, t, 0.15, 0.15, 0.0, g)
    base = chronological_split(t, 0.15, 0.15)
    for k in ('train', 'val', 'test'):
        assert torch.equal(s[k], base[k])
    assert s['train'].tolist() == list(range(7))
    assert s['val'].tolist() == [7] and s['test'].tolist() == [8, 9]
    # node 5 first appears after training: events 7, 8 are inductive
    assert s['val_inductive'].tolist() == [7]
    assert s['test_inductive'].tolist() == [8]
    assert s['new_nodes'].numel() == 0 and s['held_out'].numel() == 0
    # new-node ratio 0.2 of 6 nodes -> 1 node, drawn among {1, 2, 4, 5}
    for seed in range(5):
        s = dyglib_split(src, dst, t, 0.15, 0.15, 0.2,
                         torch.Generator().manual_seed(seed))
        (v, ) = s['new_nodes'].tolist()
        assert v in (1, 2, 4, 5)
        touch = (src == v) | (dst == v)
        assert s['held_out'].tolist() == [i for i in range(7) if touch[i]]
        assert s['train'].tolist() == [i for i in range(7) if not touch[i]]
        seen = set(src[s['train']].tolist()) | set(dst[s['train']].tolist())
        for k in ('val', 'test'):
            ind = [int(i) for i in s[k] if int(src[i]) not in seen or
                   int(dst[i]) not in seen]
            assert s[f'{k}_inductive'].tolist() == ind


def test_held_out_nodes_never_seen_in_training():
    graph = small()
    tk = task(new_node_ratio=0.2)
    data = tk.build(graph)
    ev = graph.events
    held = data.held_out_events
    assert held is not None and held.numel() > 0
    new = set(torch.cat([ev.src[held], ev.dst[held]]).tolist())
    tr = data.split['train']
    train_nodes = set(ev.src[tr].tolist()) | set(ev.dst[tr].tolist())
    # the held-out nodes: no training query, no training destination
    new_nodes = set(range(graph.num_nodes)) - train_nodes
    assert new_nodes and new_nodes & new
    assert not set(tk.train_destination_pool(data).tolist()) & new_nodes
    # the training sampler never returns a held-out event or new node
    sub = tk.sampler(data, train=True).sample(ev.src[tr], ev.t[tr])
    assert not set(sub.n_id.tolist()) & new_nodes
    e_id = tk.visible_events(data)[sub.e_id]
    assert not torch.isin(e_id, held).any()
    # ... while evaluation samples from the whole past
    q = data.split['test']
    sub = tk.sampler(data).sample(ev.src[q], ev.t[q])
    assert torch.isin(sub.e_id, held).any()
    # the inductive test set: exactly the test events touching a new node
    ind = data.split['test'][data.negatives['test']['inductive_pos']]
    touch = torch.tensor([int(a) in new_nodes or int(b) in new_nodes
                          for a, b in zip(ev.src[q].tolist(),
                                          ev.dst[q].tolist())])
    assert torch.equal(ind, q[touch])
    # training negatives come from the training destinations
    neg = tk.train_negatives(data, tr[:100], torch.Generator().manual_seed(0))
    assert set(neg.tolist()) <= set(ev.dst[tr].tolist())
    # the static projection leaves the held-out events out
    ei = tk.static_edge_index(data)
    assert not set(ei.view(-1).tolist()) & new_nodes


def test_historical_and_inductive_negatives():
    graph = small(1, E=800)
    ev = graph.events
    N = graph.num_nodes
    key = ev.src * N + ev.dst
    for strategy in ('historical', 'inductive'):
        tk = task(negatives=strategy, new_node_ratio=0.0)
        data = tk.build(graph)
        last = float(ev.t[data.split['train']].max())
        for s in ('val', 'test'):
            idx = data.split[s]
            neg = data.negatives[s]['src'] * N + data.negatives[s]['dst']
            n_hist = 0
            for b, chunk in enumerate(idx.split(40)):
                ta, tb = ev.t[chunk].min(), ev.t[chunk].max()
                nb = neg[b * 40:b * 40 + chunk.numel()]
                past = set(key[ev.t <= ta].tolist())
                now = set(key[(ev.t >= ta) & (ev.t <= tb)].tolist())
                seen_train = set(key[ev.t <= last].tolist())
                for k in nb.tolist():
                    if k in past and k not in now and (
                            strategy == 'historical' or k not in seen_train):
                        n_hist += 1
                    else:  # a random top-up: never an edge of the batch
                        assert k not in set(key[chunk].tolist())
            if strategy == 'historical':
                # plenty of history on this stream: all historical
                assert n_hist == idx.numel()
            else:
                assert n_hist > 0


def test_negatives_top_up_and_random_keeps_source():
    # a stream with almost no history: the batch is topped up with random
    # pairs that are not edges of the batch
    src = torch.tensor([0, 1, 2, 3, 4, 5])
    dst = torch.tensor([1, 2, 3, 4, 5, 0])
    t = torch.arange(6.)
    g = torch.Generator().manual_seed(0)
    s, d = dyglib_negatives(src, dst, t, torch.tensor([4, 5]), 'historical',
                            2, 3.0, 6, g)
    keys = (s * 6 + d).tolist()
    assert len(keys) == 2
    hist = {0 * 6 + 1, 1 * 6 + 2, 2 * 6 + 3, 3 * 6 + 4}  # t <= 4, not now
    batch = {4 * 6 + 5, 5 * 6 + 0}
    assert set(keys) <= hist and not set(keys) & batch
    s, d = dyglib_negatives(src, dst, t, torch.tensor([1]), 'historical',
                            1, 0.0, 6, g)
    assert (s * 6 + d).tolist() == [0 * 6 + 1]  # the one past edge
    s, d = dyglib_negatives(src, dst, t, torch.tensor([0, 1]), 'historical',
                            2, 0.0, 6, g)
    # nothing before t=0: two random pairs, none of them an edge of the batch
    assert not set((s * 6 + d).tolist()) & {0 * 6 + 1, 1 * 6 + 2}
    s, d = dyglib_negatives(src, dst, t, torch.tensor([2, 3, 4]), 'random',
                            2, 0.0, 6, g)
    assert s.tolist() == [2, 3, 4]


def test_batch_mean_metrics_known_case():
    pos = torch.tensor([0.9, 0.2, 0.8, 0.7])
    neg = torch.tensor([0.1, 0.6, 0.9, 0.1])
    m = batch_mean_metrics(pos, neg, 2)
    # batch 1: pos {0.9, 0.2}, neg {0.1, 0.6}: ranking 0.9+ 0.6- 0.2+ 0.1-
    # AP = (1 + 2/3) / 2, AUC = 3/4; batch 2: pos {0.8, 0.7}, neg {0.9,
    # 0.1}: ranking 0.9- 0.8+ 0.7+ 0.1-, AP = (1/2 + 2/3) / 2, AUC = 2/4
    ap = ((1 + 2 / 3) / 2 + (1 / 2 + 2 / 3) / 2) / 2
    assert abs(m['ap'] - ap) < 1e-9
    assert abs(m['rocauc'] - (0.75 + 0.5) / 2) < 1e-9


def test_fit_under_dyglib_protocol_reports_both_metrics():
    graph = small(2)
    seed_everything(0)
    model = THeGCN(8, 8, 8, edge_dim=2, time_dim=4)
    res = fit_thegcn(model, graph, task(new_node_ratio=0.1), epochs=1,
                     lr=0.01, progress=False,
                     generator=torch.Generator().manual_seed(0))
    for k in ('test_ap', 'test_ap_batch_mean', 'test_rocauc_batch_mean',
              'test_inductive_ap', 'test_inductive_ap_batch_mean'):
        assert 0.0 <= res.metrics[k] <= 1.0, k
    # EdgeBank never sees the held-out events
    tk = task(new_node_ratio=0.2)
    data = tk.build(graph)
    eb = EdgeBank()
    fit_thegcn(eb, data, tk, progress=False)
    ev, held = graph.events, data.held_out_events
    later = torch.full_like(ev.t[held], 1e9).double()
    assert eb.score_pairs(ev.src[held], ev.dst[held], later).sum() < \
        held.numel()


def test_doctests():
    import doctest

    import pyg_ext.fit.temporal_dyglib as dg
    res = doctest.testmod(dg, extraglobs={'torch': torch})
    assert res.attempted >= 2 and res.failed == 0
