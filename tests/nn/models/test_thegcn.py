import pickle

import pytest
import torch

from pyg_ext.nn.models import CosineTimeEncoder, THeGCN
from pyg_ext.sampler import TemporalNeighborSampler


def stream(seed=0, E=200, N=20, F=5, D=3):
    g = torch.Generator().manual_seed(seed)
    src = torch.randint(0, N, (E, ), generator=g)
    dst = torch.randint(0, N, (E, ), generator=g)
    t = (torch.rand(E, generator=g) * 100).sort().values
    x = torch.randn(N, F, generator=g)
    msg = torch.randn(E, D, generator=g)
    return src, dst, t, x, msg


def run(model, sampler, x, msg, seeds, qts):
    sub = sampler.sample(seeds, qts)
    return model(x[sub.n_id], sub.edge_index, msg[sub.e_id], sub.dt,
                 batch_size=sub.batch_size)


def test_time_encoder():
    enc = CosineTimeEncoder(10)
    assert torch.allclose(enc.weight[[0, -1]], torch.tensor([1.0, 1e-9]))
    dt = torch.tensor([0., 2.])
    assert torch.allclose(enc(dt)[1], torch.cos(2 * enc.weight))
    assert torch.allclose(enc(dt)[0], torch.ones(10))
    assert repr(enc) == 'CosineTimeEncoder(10)'


def test_forward_shapes_grad_reset_repr():
    src, dst, t, x, msg = stream()
    model = THeGCN(5, 16, 3, edge_dim=3, time_dim=8, num_smp_layers=2)
    assert repr(model) == 'THeGCN(5, 3, num_smp_layers=2)'
    s = TemporalNeighborSampler(src, dst, t, num_nodes=20,
                                num_neighbors=[5, 5])
    out = run(model, s, x, msg, torch.arange(4), torch.full((4, ), 90.))
    assert out.shape == (4, 3)
    out.sum().backward()
    for name in ('tmp.gate_mlp.weight', 'time_enc.weight', 'lin_in.weight',
                 'smps.1.gate_mlp.weight'):
        assert dict(model.named_parameters())[name].grad.abs().sum() > 0, name
    w = model.tmp.gate_mlp.weight.detach().clone()
    model.reset_parameters()
    assert not torch.equal(w, model.tmp.gate_mlp.weight)
    model2 = pickle.loads(pickle.dumps(model))
    model.eval()
    model2.eval()
    assert torch.equal(run(model, s, x, msg, torch.arange(4),
                           torch.full((4, ), 90.)),
                       run(model2, s, x, msg, torch.arange(4),
                           torch.full((4, ), 90.)))


def test_no_future_leakage_and_counter_check():
    src, dst, t, x, msg = stream(1)
    model = THeGCN(5, 16, 2, edge_dim=3, time_dim=8, num_smp_layers=1).eval()
    seeds = torch.tensor([0, 1, 2, 3])
    qts = torch.tensor([30., 50., 70., 90.])
    T = 95.0
    past = t < T
    s = TemporalNeighborSampler(src[past], dst[past], t[past], num_nodes=20,
                                num_neighbors=[10, 10])
    ref = run(model, s, x, msg[past], seeds, qts)
    # (a) append future events (after every query time)
    g = torch.Generator().manual_seed(9)
    fsrc = torch.randint(0, 20, (50, ), generator=g)
    fdst = torch.randint(0, 20, (50, ), generator=g)
    ft = torch.linspace(T, 200, 50)
    src2, dst2 = torch.cat([src[past], fsrc]), torch.cat([dst[past], fdst])
    t2 = torch.cat([t[past], ft])
    msg2 = torch.cat([msg[past], torch.randn(50, 3, generator=g)])
    s2 = TemporalNeighborSampler(src2, dst2, t2, num_nodes=20,
                                 num_neighbors=[10, 10])
    assert torch.equal(run(model, s2, x, msg2, seeds, qts), ref)
    # (b) change the features of every event at or after the latest query
    # time (t >= 90, in the future of every query) on the full stream
    s3 = TemporalNeighborSampler(src, dst, t, num_nodes=20,
                                 num_neighbors=[10, 10])
    out_full = run(model, s3, x, msg, seeds, qts)
    msg_f = msg.clone()
    msg_f[t >= 90.] += 100.0
    assert bool((t >= 90.).any())
    assert torch.equal(run(model, s3, x, msg_f, seeds, qts), out_full)
    # events at exactly the query time are excluded as well
    src4 = torch.cat([src[past], torch.tensor([3, 3])])
    dst4 = torch.cat([dst[past], torch.tensor([7, 8])])
    t4 = torch.cat([t[past], torch.tensor([T, T])])
    msg4 = torch.cat([msg[past], torch.randn(2, 3)])
    s4 = TemporalNeighborSampler(src4, dst4, t4, num_nodes=20,
                                 num_neighbors=[10, 10])
    assert torch.equal(run(model, s4, x, msg4, torch.tensor([3]),
                           torch.tensor([T])),
                       run(model, s, x, msg[past], torch.tensor([3]),
                           torch.tensor([T])))
    # counter-check: changing an in-window past event does change the output
    sub = s3.sample(seeds, qts)
    first = int((sub.batch[sub.edge_index[1]] == 3).nonzero()[0])
    msg_p = msg.clone()
    msg_p[sub.e_id[first]] += 5.0
    assert not torch.allclose(run(model, s3, x, msg_p, seeds, qts)[3],
                              out_full[3])
    # and so does a change of the features of a sampled past neighbour
    x_p = x.clone()
    x_p[sub.n_id[sub.edge_index[0, first]]] += 5.0
    assert not torch.allclose(run(model, s3, x_p, msg, seeds, qts)[3],
                              out_full[3])


def test_batch_composition_invariance():
    src, dst, t, x, msg = stream(2)
    model = THeGCN(5, 16, 3, edge_dim=3, time_dim=8, num_smp_layers=2).eval()
    s = TemporalNeighborSampler(src, dst, t, num_nodes=20,
                                num_neighbors=[6, 4])
    seeds = torch.tensor([4, 4, 11, 0, 19])
    qts = torch.tensor([20., 80., 55., 99., 60.])
    batch = run(model, s, x, msg, seeds, qts)
    for b in range(5):
        alone = run(model, s, x, msg, seeds[b:b + 1], qts[b:b + 1])
        assert torch.allclose(alone[0], batch[b], atol=1e-6)
    # the same node at two query times gets different outputs
    assert not torch.allclose(batch[0], batch[1])


def test_ablation_flags_and_fixed_gate():
    src, dst, t, x, msg = stream(3)
    s = TemporalNeighborSampler(src, dst, t, num_nodes=20,
                                num_neighbors=[5])
    sub = s.sample(torch.arange(3), torch.full((3, ), 50.))
    m = THeGCN(5, 8, 2, edge_dim=3, time_dim=4, use_time=False,
               use_edge_attr=False).eval()
    assert m.time_enc is None and m.tmp.time_dim == 0 and m.tmp.edge_dim == 0
    a = m(x[sub.n_id], sub.edge_index, None, None, batch_size=3)
    b = m(x[sub.n_id], sub.edge_index, msg[sub.e_id] * 0 + 7, sub.dt * 3,
          batch_size=3)
    assert torch.equal(a, b)  # time and edge attributes are ignored
    m = THeGCN(5, 8, 2, edge_dim=3, time_dim=4, fixed_gate=1.0).eval()
    _, gates = m(x[sub.n_id], sub.edge_index, msg[sub.e_id], sub.dt,
                 batch_size=3, return_gates=True)
    assert all(bool((g == 1).all()) for g in gates)
    m = THeGCN(0, 8, 2, num_nodes=20, time_dim=4).eval()
    out = m(None, sub.edge_index, None, sub.dt, batch_size=3, n_id=sub.n_id)
    assert out.shape == (3, 2)
    with pytest.raises(ValueError, match="'n_id'"):
        m(None, sub.edge_index, None, sub.dt, batch_size=3)
    with pytest.raises(ValueError, match="'dt'"):
        THeGCN(5, 8, 2)(x[sub.n_id], sub.edge_index, batch_size=3)
    with pytest.raises(ValueError, match="'edge_attr'"):
        THeGCN(5, 8, 2, edge_dim=3)(x[sub.n_id], sub.edge_index, None,
                                    sub.dt)
    with pytest.raises(ValueError, match="'in_channels'"):
        THeGCN(0, 8, 2)
