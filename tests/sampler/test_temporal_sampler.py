import dataclasses
import pickle

import pytest
import torch

from pyg_ext.sampler import TemporalNeighborSampler, TemporalSubgraph


def random_stream(seed, E=300, N=25, int_time=False):
    g = torch.Generator().manual_seed(seed)
    src = torch.randint(0, N, (E, ), generator=g)
    dst = torch.randint(0, N, (E, ), generator=g)
    if int_time:
        t = torch.randint(0, 60, (E, ), generator=g).sort().values
    else:
        t = (torch.rand(E, generator=g) * 100).sort().values
    return src, dst, t, N


def brute_force(src, dst, t, seed, qt, ks, undirected=True, inclusive=False,
                window=None, anchor='root'):
    r"""Per-seed Python reference of the 'recent' strategy: a list of
    (hop, parent path, event id) triples."""
    out = []
    frontier = [((), seed, qt)]
    for h, k in enumerate(ks):
        nxt = []
        for path, v, q in frontier:
            cand = []
            for e in range(len(t)):
                te = float(t[e])
                ok_t = te <= q if inclusive else te < q
                if window is not None:
                    ok_t = ok_t and te >= qt - window if anchor == 'root' \
                        else ok_t and te >= q - window
                if not ok_t:
                    continue
                if int(dst[e]) == v:
                    cand.append((te, e, int(src[e])))
                elif undirected and int(src[e]) == v:
                    cand.append((te, e, int(dst[e])))
            # most recent first; ties broken by the later event id first
            cand.sort(key=lambda c: (c[0], c[1]), reverse=True)
            if k >= 0:
                cand = cand[:k]
            for te, e, u in cand:
                p = path + (e, )
                out.append((h + 1, p))
                nxt.append((p, u, qt if anchor == 'root' else te))
        frontier = nxt
    return sorted(out)


def paths_of(sub):
    r"""Reconstructs the (hop, event path) of every sampled edge."""
    parent_edge = {}
    for j in range(sub.num_edges):
        parent_edge[int(sub.edge_index[0, j])] = j
    res = {}
    for j in range(sub.num_edges):
        path = []
        node = int(sub.edge_index[0, j])
        while node in parent_edge:
            e = parent_edge[node]
            path.append(int(sub.e_id[e]))
            node = int(sub.edge_index[1, e])
        res.setdefault(int(sub.batch[int(sub.edge_index[1, j])]), []).append(
            (int(sub.hop[j]), tuple(reversed(path))))
    return {b: sorted(v) for b, v in res.items()}


@pytest.mark.parametrize('undirected', [True, False])
@pytest.mark.parametrize('anchor', ['root', 'edge'])
@pytest.mark.parametrize('window', [None, 30.0])
def test_recent_matches_brute_force(undirected, anchor, window):
    src, dst, t, N = random_stream(0)
    s = TemporalNeighborSampler(src, dst, t, num_nodes=N,
                                num_neighbors=[3, 2], undirected=undirected,
                                anchor=anchor, time_window=window)
    seeds = torch.tensor([0, 3, 3, 7, 24])
    qts = torch.tensor([50., 50., 90., 101., 10.])
    sub = s.sample(seeds, qts)
    got = paths_of(sub)
    for b in range(len(seeds)):
        ref = brute_force(src, dst, t, int(seeds[b]), float(qts[b]), [3, 2],
                          undirected, window=window, anchor=anchor)
        assert got.get(b, []) == ref
    # relative times and global ids are consistent with the events
    assert torch.equal(sub.t, t[sub.e_id])
    assert torch.equal(sub.dt, qts[sub.batch[sub.edge_index[1]]] - sub.t)
    assert bool((sub.dt > 0).all())
    ends = torch.stack([src[sub.e_id], dst[sub.e_id]])
    tgt, nbr = sub.n_id[sub.edge_index[1]], sub.n_id[sub.edge_index[0]]
    assert bool((((ends[0] == nbr) & (ends[1] == tgt)) |
                 ((ends[1] == nbr) & (ends[0] == tgt))).all())
    assert torch.equal(sub.n_id[:5], seeds)


def test_boundaries_strict_inclusive_and_window():
    src = torch.tensor([1, 2, 3, 4, 5])
    dst = torch.tensor([0, 0, 0, 0, 0])
    t = torch.tensor([1, 3, 5, 7, 7])
    s = TemporalNeighborSampler(src, dst, t, num_neighbors=[-1],
                                time_window=4)
    sub = s.sample(torch.tensor([0]), torch.tensor([7]))
    # window [3, 7): the events at exactly t' = 7 are excluded, t' - t0 = 3
    # is included, t = 1 is outside.
    assert sorted(sub.e_id.tolist()) == [1, 2]
    s = TemporalNeighborSampler(src, dst, t, num_neighbors=[-1],
                                time_window=4, inclusive=True)
    sub = s.sample(torch.tensor([0]), torch.tensor([7]))
    assert sorted(sub.e_id.tolist()) == [1, 2, 3, 4]
    assert sub.dt.tolist().count(0) == 2


def test_recent_returns_k_latest():
    src = torch.arange(1, 11)
    dst = torch.zeros(10, dtype=torch.long)
    t = torch.arange(10.)
    s = TemporalNeighborSampler(src, dst, t, num_neighbors=[3])
    sub = s.sample(torch.tensor([0, 0]), torch.tensor([6.5, 100.]))
    assert sub.e_id[sub.batch[sub.edge_index[1]] == 0].tolist() == [6, 5, 4]
    assert sub.e_id[sub.batch[sub.edge_index[1]] == 1].tolist() == [9, 8, 7]
    assert sub.n_id[2:5].tolist() == [7, 6, 5]


def test_uniform_reproducible_distinct_and_uniform():
    src = torch.arange(1, 21)
    dst = torch.zeros(20, dtype=torch.long)
    t = torch.arange(20.)
    s1 = TemporalNeighborSampler(src, dst, t, num_neighbors=[4],
                                 strategy='uniform', seed=3)
    s2 = TemporalNeighborSampler(src, dst, t, num_neighbors=[4],
                                 strategy='uniform', seed=3)
    seeds = torch.zeros(2000, dtype=torch.long)
    qt = torch.full((2000, ), 10.)
    a, b = s1.sample(seeds, qt), s2.sample(seeds, qt)
    assert torch.equal(a.e_id, b.e_id)
    s1.reset_generator()
    assert torch.equal(s1.sample(seeds, qt).e_id, a.e_id)
    e = a.e_id.view(2000, 4)
    assert bool((e < 10).all())  # only t < 10
    assert bool((e.sort(1).values.diff(dim=1) > 0).all())  # distinct
    freq = torch.bincount(e.view(-1), minlength=10).float() / 2000
    assert torch.allclose(freq, torch.full((10, ), 0.4), atol=0.05)
    # fewer candidates than k: all of them, deterministically
    c = s1.sample(torch.tensor([0]), torch.tensor([3.]))
    assert sorted(c.e_id.tolist()) == [0, 1, 2]
    # another seed draws differently
    s3 = TemporalNeighborSampler(src, dst, t, num_neighbors=[4],
                                 strategy='uniform', seed=4)
    assert not torch.equal(s3.sample(seeds, qt).e_id, a.e_id)


def test_max_events_cap():
    src, dst, t, N = random_stream(1)
    s = TemporalNeighborSampler(src, dst, t, num_nodes=N,
                                num_neighbors=[5, 5], max_events=7)
    full = TemporalNeighborSampler(src, dst, t, num_nodes=N,
                                   num_neighbors=[5, 5])
    seeds = torch.arange(10)
    qt = torch.full((10, ), 80.)
    sub, ref = s.sample(seeds, qt), full.sample(seeds, qt)
    eb = sub.batch[sub.edge_index[1]]
    assert int(torch.bincount(eb, minlength=10).max()) == 7
    for b in range(10):
        # hop 1 is kept whole (5 <= 7), then 2 of the most recent hop-2 events
        r1 = ref.e_id[(ref.batch[ref.edge_index[1]] == b) & (ref.hop == 1)]
        g1 = sub.e_id[(eb == b) & (sub.hop == 1)]
        assert sorted(r1.tolist()) == sorted(g1.tolist())
        rt = ref.t[(ref.batch[ref.edge_index[1]] == b) & (ref.hop == 2)]
        gt = sub.t[(eb == b) & (sub.hop == 2)]
        assert sorted(gt.tolist()) == sorted(rt.sort(descending=True).values[
            :gt.numel()].tolist())


def test_tie_rule_matches_brute_force():
    src, dst, t, N = random_stream(5, int_time=True)
    s = TemporalNeighborSampler(src, dst, t, num_nodes=N,
                                num_neighbors=[3, 2])
    seeds, qts = torch.tensor([0, 4, 8]), torch.tensor([30, 45, 59])
    got = paths_of(s.sample(seeds, qts))
    for b in range(3):
        assert got.get(b, []) == brute_force(src, dst, t, int(seeds[b]),
                                             float(qts[b]), [3, 2])


def test_batch_composition_invariance():
    src, dst, t, N = random_stream(2)
    s = TemporalNeighborSampler(src, dst, t, num_nodes=N,
                                num_neighbors=[4, 3])
    seeds = torch.tensor([5, 1, 5, 9])
    qts = torch.tensor([40., 70., 95., 20.])
    batch = paths_of(s.sample(seeds, qts))
    for b in range(4):
        alone = paths_of(s.sample(seeds[b:b + 1], qts[b:b + 1]))
        assert alone.get(0, []) == batch.get(b, [])


def test_no_future_events_in_any_hop():
    src, dst, t, N = random_stream(3, int_time=True)
    s = TemporalNeighborSampler(src, dst, t, num_nodes=N,
                                num_neighbors=[-1, -1])
    qts = torch.tensor([10, 30, 45])
    sub = s.sample(torch.tensor([0, 1, 2]), qts)
    assert bool((sub.t < qts[sub.batch[sub.edge_index[1]]]).all())
    assert sub.num_edges > 20
    # appending future events changes nothing
    src2 = torch.cat([src, torch.tensor([0, 1, 2])])
    dst2 = torch.cat([dst, torch.tensor([1, 2, 0])])
    t2 = torch.cat([t, torch.tensor([60, 60, 61])])
    s2 = TemporalNeighborSampler(src2, dst2, t2, num_nodes=N,
                                 num_neighbors=[-1, -1])
    sub2 = s2.sample(torch.tensor([0, 1, 2]), qts)
    assert torch.equal(sub.e_id, sub2.e_id)
    assert torch.equal(sub.edge_index, sub2.edge_index)


def test_empty_and_isolated():
    src, dst, t = torch.tensor([0]), torch.tensor([1]), torch.tensor([5.])
    s = TemporalNeighborSampler(src, dst, t, num_nodes=4)
    sub = s.sample(torch.tensor([3, 0]), torch.tensor([9., 5.]))
    assert sub.num_edges == 0 and sub.n_id.tolist() == [3, 0]
    assert 'TemporalNeighborSampler(num_nodes=4' in repr(s)
    pickle.loads(pickle.dumps(sub))


def test_bad_inputs():
    src, dst, t = torch.tensor([0, 1]), torch.tensor([1, 2]), torch.tensor(
        [2., 1.])
    with pytest.raises(ValueError, match="sorted"):
        TemporalNeighborSampler(src, dst, t)
    with pytest.raises(ValueError, match="non-negative"):
        TemporalNeighborSampler(src, dst, torch.tensor([-1., 1.]))
    with pytest.raises(ValueError, match="same length"):
        TemporalNeighborSampler(src, dst[:1], torch.tensor([1., 2.]))
    with pytest.raises(ValueError, match="out of range"):
        TemporalNeighborSampler(src, dst, torch.tensor([1., 2.]),
                                num_nodes=2)
    with pytest.raises(ValueError, match="non-negative"):
        TemporalNeighborSampler(torch.tensor([-1, 0]), dst,
                                torch.tensor([1., 2.]))
    with pytest.raises(ValueError, match="strategy"):
        TemporalNeighborSampler(src, dst, torch.tensor([1., 2.]),
                                strategy='last')
    with pytest.raises(TypeError, match="num_neighbors"):
        TemporalNeighborSampler(src, dst, torch.tensor([1., 2.]),
                                num_neighbors=5)
    with pytest.raises(ValueError, match="time_window"):
        TemporalNeighborSampler(src, dst, torch.tensor([1., 2.]),
                                time_window=-1)
    s = TemporalNeighborSampler(src, dst, torch.tensor([1., 2.]))
    with pytest.raises(TypeError, match="seed_times"):
        s.sample(torch.tensor([0]), torch.tensor([1]))  # int vs float time
    with pytest.raises(TypeError, match="seed_nodes"):
        s.sample(torch.tensor([0.]), torch.tensor([1.]))
    with pytest.raises(ValueError, match="same length"):
        s.sample(torch.tensor([0, 1]), torch.tensor([1.]))
    with pytest.raises(ValueError, match=r"lie in \[0, 3\)"):
        s.sample(torch.tensor([3]), torch.tensor([1.]))

    # event ids and times are validated once, when the sampler is built
    good_t = torch.tensor([1., 2.])
    with pytest.raises(TypeError, match="'src' must be an integer"):
        TemporalNeighborSampler(src.float(), dst, good_t)
    with pytest.raises(TypeError, match="'dst' must be an integer"):
        TemporalNeighborSampler(src, dst.bool(), good_t)
    with pytest.raises(ValueError, match="'t' contains NaN"):
        TemporalNeighborSampler(src, dst, torch.tensor([1., float('nan')]))
    with pytest.raises(TypeError, match="'t' must be a real"):
        TemporalNeighborSampler(src, dst, torch.tensor([True, True]))
    with pytest.raises(ValueError, match="'src', 'dst' and 't' must have"):
        TemporalNeighborSampler(src, dst, torch.tensor([1., 2., 3.]))
    with pytest.raises(ValueError, match="'seed_times' contains NaN"):
        s.sample(torch.tensor([0]), torch.tensor([float('nan')]))
    with pytest.raises(TypeError, match="seed_nodes"):
        s.sample(torch.tensor([True]), torch.tensor([1.]))


def _tensor_fields(sub):
    return [f.name for f in dataclasses.fields(sub)
            if isinstance(getattr(sub, f.name), torch.Tensor)]


def test_subgraph_to_and_pin_memory(device):
    src, dst, t, N = random_stream(5)
    s = TemporalNeighborSampler(src, dst, t, num_nodes=N,
                                num_neighbors=[3, 2])
    seeds, qts = torch.tensor([0, 3, 7]), torch.tensor([40., 60., 90.])
    sub = s.sample(seeds, qts)
    assert sub.device == torch.device('cpu')
    assert sorted(_tensor_fields(sub)) == sorted(
        ['n_id', 'batch', 'edge_index', 'e_id', 't', 'dt', 'hop',
         'seed_time'])
    pinned = sub.pin_memory()
    if torch.cuda.is_available():
        assert pinned is not sub and pinned.is_pinned()
    else:  # nothing to pin for: the same object back
        assert pinned is sub
    for non_blocking in (False, True):
        moved = pinned.to(device, non_blocking=non_blocking)
        assert isinstance(moved, TemporalSubgraph)
        assert moved.device.type == device.type
        assert moved.batch_size == sub.batch_size
        assert moved.num_nodes == sub.num_nodes
        assert moved.num_edges == sub.num_edges
        for name in _tensor_fields(sub):
            a, b = getattr(sub, name), getattr(moved, name)
            assert b.device.type == device.type, name
            assert b.dtype == a.dtype and torch.equal(b.cpu(), a), name
    back = sub.to(device).to('cpu')
    assert all(torch.equal(getattr(back, n), getattr(sub, n))
               for n in _tensor_fields(sub))
    # the original is untouched
    assert sub.device == torch.device('cpu')
    # seeds on the model's device give the same subgraph
    sub_d = s.sample(seeds.to(device), qts.to(device))
    assert all(torch.equal(getattr(sub_d, n), getattr(sub, n))
               for n in _tensor_fields(sub))


def test_subgraph_to_meta_keeps_metadata():
    src, dst, t, N = random_stream(6)
    s = TemporalNeighborSampler(src, dst, t, num_nodes=N, num_neighbors=[4])
    sub = s.sample(torch.tensor([1, 2]), torch.tensor([50., 70.]))
    meta = sub.to('meta')
    assert meta.device.type == 'meta' and meta.batch_size == 2
    for n in _tensor_fields(sub):
        assert getattr(meta, n).is_meta
        assert getattr(meta, n).shape == getattr(sub, n).shape
        assert getattr(meta, n).dtype == getattr(sub, n).dtype
