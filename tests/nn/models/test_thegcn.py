import math
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
    assert repr(enc) == 'CosineTimeEncoder(10, learnable=False)'


def test_time_encoder_closed_form():
    # TGAT / DyGLib: w = 1 / 10 ** linspace(0, 9, d); d = 4 -> 1, 1e-3, ...
    enc = CosineTimeEncoder(4).double()
    enc.reset_parameters()  # float64 frequencies
    w = torch.tensor([1.0, 1e-3, 1e-6, 1e-9], dtype=torch.float64)
    assert torch.allclose(enc.weight, w, rtol=1e-12, atol=0)
    dt = torch.tensor([math.pi, 1e3 * math.pi, 5e5], dtype=torch.float64)
    ref = torch.cos(dt.view(-1, 1) * w.view(1, -1))
    assert torch.allclose(enc(dt), ref, atol=1e-9)
    assert enc(dt)[0, 0].item() == pytest.approx(-1.0)
    assert enc(dt)[1, 1].item() == pytest.approx(-1.0)


def test_time_encoder_frozen_by_default():
    enc = CosineTimeEncoder(6)
    assert not enc.weight.requires_grad and not enc.bias.requires_grad
    lin = torch.nn.Linear(6, 1)
    lin(enc(torch.tensor([1.0, 10.0]))).sum().backward()
    assert enc.weight.grad is None and enc.bias.grad is None
    m = THeGCN(3, 8, 2, time_dim=6)
    assert not any(p.requires_grad for p in m.time_enc.parameters())
    # learnable: gradients reach the frequencies
    enc = CosineTimeEncoder(6, learnable=True)
    lin(enc(torch.tensor([1.0, 10.0]))).sum().backward()
    assert enc.weight.grad is not None and enc.weight.grad.abs().sum() > 0
    assert THeGCN(3, 8, 2, time_dim=6,
                  time_learnable=True).time_enc.weight.requires_grad
    with pytest.raises(TypeError, match="'learnable'"):
        CosineTimeEncoder(6, learnable=1)
    with pytest.raises(TypeError, match="'time_learnable'"):
        THeGCN(3, 8, 2, time_dim=0, time_learnable='yes')


def test_forward_shapes_grad_reset_repr():
    src, dst, t, x, msg = stream()
    model = THeGCN(5, 16, 3, edge_dim=3, time_dim=8, num_smp_layers=2,
                   time_learnable=True)
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


def test_time_encoder_reset_on_device(device):
    enc = CosineTimeEncoder(6).to(device)
    with torch.no_grad():
        enc.weight.fill_(3.0)
    enc.reset_parameters()
    assert enc.weight.device.type == device.type
    assert torch.allclose(enc.weight.cpu(),
                          1.0 / 10**torch.linspace(0, 9, 6))
    dt = torch.tensor([0., 1.5], dtype=torch.float64, device=device)
    assert torch.allclose(enc(dt)[1].cpu(), torch.cos(1.5 * enc.weight.cpu()))


def test_validate_inputs():
    src, dst, t, x, msg = stream()
    s = TemporalNeighborSampler(src, dst, t, num_nodes=20,
                                num_neighbors=[5, 5])
    sub = s.sample(torch.arange(4), torch.full((4, ), 90.))
    model = THeGCN(5, 8, 2, edge_dim=3, time_dim=4)
    model.validate_inputs(x[sub.n_id], sub.edge_index, sub.dt, sub.n_id)
    with pytest.raises(ValueError, match="'edge_index' ids"):
        model.validate_inputs(x[sub.n_id][:3], sub.edge_index, sub.dt)
    dt = sub.dt.clone()
    dt[0] = float('nan')
    with pytest.raises(ValueError, match="'dt' contains NaN"):
        model.validate_inputs(x[sub.n_id], sub.edge_index, dt)
    with pytest.raises(ValueError, match="'n_id' must have one entry"):
        model.validate_inputs(x[sub.n_id], sub.edge_index, sub.dt,
                              sub.n_id[:2])
    emb = THeGCN(0, 8, 2, num_nodes=10, time_dim=4)
    with pytest.raises(ValueError, match=r"'n_id' must lie in \[0, 10\)"):
        emb.validate_inputs(None, sub.edge_index, sub.dt, sub.n_id + 10)
    with pytest.raises(ValueError, match="'x' or 'n_id'"):
        emb.validate_inputs(None, sub.edge_index, sub.dt)


def test_sampler_to_device_forward_backward(device):
    src, dst, t, x, msg = stream(4)
    s = TemporalNeighborSampler(src, dst, t, num_nodes=20,
                                num_neighbors=[6, 4])
    seeds, qts = torch.tensor([1, 5, 5, 12]), torch.tensor([40., 60., 95.,
                                                             80.])
    torch.manual_seed(0)
    model = THeGCN(5, 16, 3, edge_dim=3, time_dim=8, num_smp_layers=2,
                   num_nodes=20, time_learnable=True).eval()
    sub = s.sample(seeds, qts)
    ref, gates_ref = model(x[sub.n_id], sub.edge_index, msg[sub.e_id],
                           sub.dt, batch_size=sub.batch_size,
                           n_id=sub.n_id, return_gates=True)
    ref.square().sum().backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad()

    model = model.to(device)
    xd, msgd = x.to(device), msg.to(device)
    # seeds may come from the model's device; the CPU sampler copies them
    sub_d = s.sample(seeds.to(device), qts.to(device))
    assert sub_d.device.type == 'cpu'
    sub_d = sub_d.pin_memory().to(device, non_blocking=True)
    assert sub_d.device.type == device.type
    assert sub_d.n_id.device.type == device.type
    assert sub_d.dt.device.type == device.type
    assert sub_d.batch_size == sub.batch_size
    out, gates = model(xd[sub_d.n_id], sub_d.edge_index, msgd[sub_d.e_id],
                       sub_d.dt, batch_size=sub_d.batch_size,
                       n_id=sub_d.n_id, return_gates=True)
    assert out.device.type == device.type
    out.square().sum().backward()
    assert torch.allclose(out.cpu(), ref, atol=1e-5)
    for g, g_ref in zip(gates, gates_ref):
        assert torch.allclose(g.cpu(), g_ref, atol=1e-5)
    for n, p in model.named_parameters():
        assert p.grad is not None and p.grad.device.type == device.type, n
        assert torch.allclose(p.grad.cpu(), grads[n], atol=1e-4), n


@pytest.mark.parametrize('kw', [
    dict(edge_dim=3, time_dim=8, num_smp_layers=2),
    dict(time_dim=8, gate='channel', gate_hidden=4, gate_act='tanh'),
    dict(edge_dim=3, time_dim=0, fixed_gate=1.0, num_nodes=30),
])
def test_no_host_sync_on_meta(kw):
    # Values of meta tensors cannot be read (.item(), bool(), .tolist() and
    # data-dependent shapes raise): forward + backward of the model on a
    # meta subgraph proves that they never force a host sync.
    model = THeGCN(5, 16, 3, **kw).to('meta').train()
    N, E = 10, 12
    x = torch.empty(N, 5, device='meta')
    ei = torch.empty(2, E, dtype=torch.long, device='meta')
    ea = torch.empty(E, 3, device='meta') if kw.get('edge_dim') else None
    dt = torch.empty(E, dtype=torch.float64, device='meta')
    n_id = torch.empty(N, dtype=torch.long, device='meta')
    out, gates = model(x, ei, ea, dt, batch_size=4, n_id=n_id,
                       return_gates=True)
    assert out.is_meta and out.shape == (4, 3)
    assert len(gates) == 1 + model.num_smp_layers
    out.sum().backward()
    for name, p in model.named_parameters():
        if kw.get('fixed_gate') is not None and 'gate_mlp' in name:
            continue  # a fixed gate bypasses the gate MLPs
        if not p.requires_grad:  # the frozen time encoder
            assert name.startswith('time_enc') and p.grad is None, name
            continue
        assert p.grad is not None and p.grad.is_meta, name
    model.reset_parameters()  # creates its tensors on the model's device


def test_sampled_subgraph_on_meta():
    # The sampler's own output, moved to 'meta': the model runs on it
    # without reading a value (no host sync) and gives the CPU shapes.
    src, dst, t, x, msg = stream(5)
    s = TemporalNeighborSampler(src, dst, t, num_nodes=20,
                                num_neighbors=[5, 3])
    sub = s.sample(torch.tensor([0, 7, 7]), torch.tensor([30., 60., 99.]))
    model = THeGCN(5, 8, 3, edge_dim=3, time_dim=4, num_smp_layers=2)
    ref = model(x[sub.n_id], sub.edge_index, msg[sub.e_id], sub.dt,
                batch_size=sub.batch_size)
    meta = sub.to('meta')
    model = model.to('meta')
    xm, msgm = x.to('meta'), msg.to('meta')
    out = model(xm[meta.n_id], meta.edge_index, msgm[meta.e_id], meta.dt,
                batch_size=meta.batch_size)
    assert out.is_meta and out.shape == ref.shape
    out.sum().backward()
    assert model.tmp.gate_mlp.weight.grad.is_meta
