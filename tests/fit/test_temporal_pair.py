r"""Pair features of temporal link prediction: known answers, strictly
time-respecting (no event at or after the query time is ever read), and
the decoder that uses them."""
import copy

import torch

from pyg_ext.datasets.temporal import synthetic_event_stream
from pyg_ext.fit import TemporalLinkPredictionTask, fit_thegcn
from pyg_ext.fit.temporal_pair import PairFeatures, PairLinkHead
from pyg_ext.nn.models import THeGCN


def test_known_answers():
    # 0->1 at 1, 0->2 at 2, 1->0 at 3, 0->1 at 4, 2->1 at 4
    src = torch.tensor([0, 0, 1, 0, 2])
    dst = torch.tensor([1, 2, 0, 1, 1])
    t = torch.tensor([1., 2., 3., 4., 4.])
    pf = PairFeatures(src, dst, t, num_nodes=3, num_neighbors=2)
    feat, gap = pf(torch.tensor([0, 0, 2]), torch.tensor([1, 1, 1]),
                   torch.tensor([4., 5., 4.]))
    # (0, 1) at 4: one earlier 0->1 (at 1; the one at 4 is not seen), one
    # 1->0; N_0 (2 most recent before 4) = {1 (t3), 2 (t2)}: 1/2 is 1;
    # N_1 = {0 (t3), 0 (t1)}: 2/2 is 0; common: none
    assert feat[0].tolist() == [1.0, torch.log1p(torch.tensor(1.)).item(),
                                torch.log1p(torch.tensor(1.)).item(),
                                0.5, 1.0, 0.0]
    assert gap[0].item() == 3.0
    # (0, 1) at 5: two 0->1 (last at 4), gap 1; N_0 = {1 (t4), 1 (t3)}:
    # 2/2 is 1
    assert feat[1, 0].item() == 1.0 and gap[1].item() == 1.0
    assert abs(feat[1, 1].item() - torch.log1p(torch.tensor(2.)).item()) \
        < 1e-6
    assert feat[1, 3].item() == 1.0
    # (2, 1) at 4: never before (the event at 4 itself is not seen);
    # N_2 = {0 (t2)}, N_1 = {0 (t3), 0 (t1)}: common 0 with 1 * 2 / 4
    assert feat[2, :3].tolist() == [0.0, 0.0, 0.0] and gap[2].item() == 0.0
    assert feat[2, 5].item() == 0.5


def test_strictly_time_respecting_property():
    g = torch.Generator().manual_seed(0)
    E, N = 300, 15
    src = torch.randint(0, N, (E, ), generator=g)
    dst = torch.randint(0, N, (E, ), generator=g)
    t = torch.randint(0, 100, (E, ), generator=g).sort().values.float()
    qs = torch.randint(0, N, (200, ), generator=g)
    qd = torch.randint(0, N, (200, ), generator=g)
    qt = torch.randint(0, 101, (200, ), generator=g).float()
    full = PairFeatures(src, dst, t, N, 5)
    f_all, g_all = full(qs, qd, qt)
    for cut in (10., 37., 64., 90.):
        # the future (t >= cut) rewired at random, then dropped
        d2 = dst.clone()
        fut = t >= cut
        d2[fut] = torch.randint(0, N, (int(fut.sum()), ), generator=g)
        for s_, d_, t_ in ((src, d2, t), (src[~fut], dst[~fut], t[~fut])):
            f, gp = PairFeatures(s_, d_, t_, N, 5)(qs, qd, qt)
            early = qt <= cut
            assert torch.equal(f[early], f_all[early]), cut
            assert torch.equal(gp[early], g_all[early]), cut
        assert not torch.equal(f[~early], f_all[~early])  # it can fail
    # each event as its own query never sees itself
    f, _ = full(src, dst, t)
    once = [k for k in range(E) if ((src == src[k]) & (dst == dst[k]) &
                                    (t <= t[k])).sum() == 1]
    assert once and (f[once, 0] == 0).all()


def test_model_scores_do_not_read_the_future():
    graph = synthetic_event_stream(num_nodes=30, num_events=400, edge_dim=2,
                                   seed=1)
    task = TemporalLinkPredictionTask(batch_size=40, num_neighbors=[5],
                                      embedding_dim=8, mrr_negatives=0,
                                      pair_features=True)
    torch.manual_seed(0)
    model = THeGCN(8, 8, 8, edge_dim=2, time_dim=4).eval()
    head = task.make_head(None, 8).eval()
    assert isinstance(head, PairLinkHead)
    data = task.build(graph)
    cut = float(graph.events.t[300])
    g2 = copy.copy(graph)
    ev2 = copy.copy(graph.events)
    fut = ev2.t >= cut
    ev2.dst = ev2.dst.clone()
    ev2.dst[fut] = (ev2.dst[fut] + 7) % 30
    g2.events = ev2
    data2 = task.build(g2)
    q = torch.arange(0, 400)
    src, dst, t = graph.events.src[q], graph.events.dst[q], graph.events.t[q]
    with torch.no_grad():
        s1 = task.score(model, head, data, src, dst, t)
        s2 = task.score(model, head, data2, src, dst, t)
    early = t <= cut
    assert torch.equal(s1[early], s2[early])
    assert not torch.equal(s1[~early], s2[~early])


def test_fit_with_pair_features_learns_repeats():
    # a repeat-heavy stream: the pair features make it easy
    g = torch.Generator().manual_seed(0)
    pairs = torch.randint(0, 40, (60, 2), generator=g)
    pick = torch.randint(0, 60, (1500, ), generator=g)
    from pyg_ext.datasets.temporal import TemporalGraph
    from torch_geometric.data import TemporalData
    ev = TemporalData(src=pairs[pick, 0], dst=pairs[pick, 1],
                      t=torch.arange(1500.), msg=torch.zeros(1500, 1))
    graph = TemporalGraph(ev, torch.zeros(40, 1), 40)
    res = {}
    for pf in (False, True):
        torch.manual_seed(0)
        task = TemporalLinkPredictionTask(batch_size=100, num_neighbors=[5],
                                          embedding_dim=8, mrr_negatives=0,
                                          pair_features=pf)
        res[pf] = fit_thegcn(THeGCN(1, 8, 8, time_dim=4, num_nodes=40,
                                    use_edge_attr=False), graph, task,
                             epochs=3, lr=0.01, progress=False,
                             generator=torch.Generator().manual_seed(0)
                             ).metrics['test_ap']
    assert res[True] > 0.9 and res[True] > res[False]
