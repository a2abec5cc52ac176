import copy
import pickle

import pytest
import torch

from pyg_ext.nn.models import TGNModel


def stream(seed=0, N=12, E=60, F=3, D=2):
    g = torch.Generator().manual_seed(seed)
    src = torch.randint(0, N, (E, ), generator=g)
    dst = (src + 1 + torch.randint(0, N - 1, (E, ), generator=g)) % N
    t = torch.randint(0, 200, (E, ), generator=g).sort().values
    x = torch.randn(N, F, generator=g)
    msg = torch.randn(E, D, generator=g)
    return x, src, dst, t, msg


def make(seed=0, **kw):
    torch.manual_seed(seed)
    args = dict(in_channels=3, out_channels=4, num_nodes=12, msg_dim=2,
                memory_dim=8, time_dim=6, embedding_dim=10, neighbor_size=3)
    args.update(kw)
    model = TGNModel(**args)
    model.gnn.conv.dropout = 0.0  # deterministic attention in train mode
    return model


def play(model, data, device, B=10, train=True, start=0, outs=None):
    r"""Replays the stream in batches: embed both ends of a batch (before
    its events), a loss on them, then feed the events."""
    x, src, dst, t, msg = (v.to(device) for v in data)
    model.train(train)
    outs = [] if outs is None else outs
    if start == 0:
        model.reset_state(x, t, msg)
    for lo in range(start, src.numel(), B):
        hi = min(lo + B, src.numel())
        z = model.embed_nodes(torch.cat([src[lo:hi], dst[lo:hi]]))
        outs.append(z.detach().cpu())
        if train:
            z.square().mean().backward()
        model.update(src[lo:hi], dst[lo:hi], t[lo:hi], msg[lo:hi])
        model.detach_state()
    return outs


def test_repr_and_bad_args():
    model = make()
    assert repr(model) == 'TGNModel(3, 4, num_nodes=12, memory_dim=8)'
    assert model.stream_model is True
    with pytest.raises(ValueError, match="'embedding_dim' must be even"):
        make(embedding_dim=7)
    with pytest.raises(ValueError, match="'num_nodes'"):
        make(num_nodes=0)
    with pytest.raises(ValueError, match="'msg_dim'"):
        make(msg_dim=-1)
    x, src, dst, t, msg = stream()
    with pytest.raises(ValueError, match="'msg' must have shape"):
        model.reset_state(x, t, msg[:, :1])
    with pytest.raises(ValueError, match="'x' must have shape"):
        model.reset_state(x[:, :2], t, msg)
    with pytest.raises(RuntimeError, match="reset_state"):
        make().embed_nodes(torch.tensor([0]))


def test_fresh_state_known_answer():
    # Empty memory and no neighbours: the attention sums over nothing, so
    # y = W_out lin_skip(0 + W_x x).
    x, src, dst, t, msg = stream()
    model = make().eval()
    model.reset_state(x, t, msg)
    nodes = torch.tensor([5, 0, 5, 11])
    with torch.no_grad():
        ref = model.lin_out(model.gnn.conv.lin_skip(model.lin_x(x[nodes])))
        assert torch.allclose(model.embed_nodes(nodes), ref, atol=1e-6)


def test_one_event_known_answer():
    # After one event 0 -> 1 (time 5, message m) both memories are
    # GRU([0, 0, m, phi(5)], 0); node 0 then attends to its one neighbour
    # (attention weight 1 per head): z_0 = lin_skip(h_0) + lin_value(h_1) +
    # lin_edge([phi(0), m]), with h_j = s_j + W_x x_j.
    torch.manual_seed(0)
    x = torch.randn(3, 3)
    src, dst = torch.tensor([0]), torch.tensor([1])
    t, msg = torch.tensor([5]), torch.randn(1, 2)
    model = make(num_nodes=3).eval()
    model.reset_state(x, t, msg)
    with torch.no_grad():
        model.update(src, dst, t, msg)
        mem = model.memory
        phi = mem.time_enc
        raw = torch.cat([torch.zeros(1, 16), msg, phi(torch.tensor([5.]))],
                        -1)
        s = mem.gru(raw, torch.zeros(1, 8))
        assert torch.allclose(mem.memory[0], s[0], atol=1e-6)
        assert torch.allclose(mem.memory[1], s[0], atol=1e-6)
        h = s + model.lin_x(x[:2])
        conv = model.gnn.conv
        e = torch.cat([phi(torch.tensor([0.])), msg], -1)
        z0 = conv.lin_skip(h[0:1]) + conv.lin_value(h[1:2]) + conv.lin_edge(e)
        out = model.embed_nodes(torch.tensor([0, 2]))
        assert torch.allclose(out[0], model.lin_out(z0)[0], atol=1e-5)
        # node 2 saw no event: the fresh-state answer
        ref2 = model.lin_out(conv.lin_skip(model.lin_x(x[2:3])))
        assert torch.allclose(out[1], ref2[0], atol=1e-6)


@pytest.mark.parametrize('train', [False, True])
def test_embed_nodes_order_and_repeats(train):
    data = stream(1)
    model = make()
    play(model, data, 'cpu', train=train)
    model.train(train)
    nodes = torch.tensor([7, 0, 7, 3, 11, 0])
    with torch.no_grad():
        out = model.embed_nodes(nodes)
        alone = torch.cat([model.embed_nodes(nodes[i:i + 1])
                           for i in range(nodes.numel())])
    assert torch.allclose(out, alone, atol=1e-5)
    assert torch.equal(out[0], out[2]) and torch.equal(out[1], out[5])
    assert not torch.allclose(out[0], out[1])


def test_reset_parameters_and_pickle():
    data = stream(2)
    model = make()
    play(model, data, 'cpu', train=True)
    assert model.lin_out.weight.grad.abs().sum() > 0
    assert model.memory.gru.weight_ih.grad.abs().sum() > 0
    model.eval()
    nodes = torch.arange(12)
    with torch.no_grad():
        out = model.embed_nodes(nodes)
        model2 = pickle.loads(pickle.dumps(model))
        assert torch.equal(model2.embed_nodes(nodes), out)
        assert torch.equal(copy.deepcopy(model).embed_nodes(nodes), out)
    w = model.gnn.conv.lin_value.weight.detach().clone()
    g = model.memory.gru.weight_hh.detach().clone()
    model.reset_parameters()
    assert not torch.equal(w, model.gnn.conv.lin_value.weight)
    assert not torch.equal(g, model.memory.gru.weight_hh)
    assert float(model.memory.memory.abs().sum()) == 0.0  # state reset too


def _state_tensors(model):
    ld, mem = model.loader, model.memory
    out = {'loader.neighbors': ld.neighbors, 'loader.e_id': ld.e_id,
           'loader._assoc': ld._assoc, 'memory.memory': mem.memory,
           'memory.last_update': mem.last_update, '_pos': model._pos}
    for name, store in (('s', mem.msg_s_store), ('d', mem.msg_d_store)):
        for k, v in store.items():
            for i, u in enumerate(v):
                out[f'store_{name}[{k}][{i}]'] = u
    for i, u in enumerate(model._stream):
        out[f'stream[{i}]'] = u
    return out


def test_to_moves_all_state_meta():
    # 'meta' stands in for an accelerator: .to() must move every tensor the
    # model owns, including PyG's loader buffers and message store.
    data = stream(3)
    model = make()
    play(model, data, 'cpu', train=True)
    assert any(v.numel() for k, v in _state_tensors(model).items()
               if k.startswith('store_'))  # a non-empty store is moved too
    model = model.to('meta')
    assert model.device.type == 'meta'
    bad = [k for k, v in _state_tensors(model).items() if not v.is_meta]
    assert bad == []
    # a batch left on the CPU is refused with a clear error
    with pytest.raises(ValueError, match="'nodes' is on cpu but the model is "
                       "on meta"):
        model.embed_nodes(torch.tensor([0]))
    x, src, dst, t, msg = data
    with pytest.raises(ValueError, match="'src' is on cpu"):
        model.update(src[:2], dst[:2], t[:2], msg[:2])
    # binding a stream copies it to the model's device once
    model.reset_state(x, t, msg)
    assert all(v.is_meta for v in model._stream)


def test_dtype_conversion_reaches_message_store():
    data = stream(4)
    model = make()
    play(model, data, 'cpu', B=7, train=False)
    model.eval()
    with torch.no_grad():
        out = model.embed_nodes(torch.arange(12))
        model = model.double()
        floats = [v for v in _state_tensors(model).values()
                  if v.is_floating_point()]
        assert floats and all(v.dtype == torch.float64 for v in floats)
        out64 = model.embed_nodes(torch.arange(12))
    assert out64.dtype == torch.float64
    assert torch.allclose(out64.float(), out, atol=1e-5)


def test_on_device_matches_cpu(device):
    data = stream(5)
    ref_model = make(7)
    dev_model = copy.deepcopy(ref_model).to(device)
    assert dev_model.loader.neighbors.device.type == device.type
    ref = play(ref_model, data, 'cpu', train=True)
    out = play(dev_model, data, device, train=True)
    assert len(out) == len(ref)
    for a, b in zip(out, ref):
        assert torch.allclose(a, b, atol=1e-4)
    for (n, p), q in zip(dev_model.named_parameters(),
                         ref_model.parameters()):
        assert p.device.type == device.type, n
        if q.grad is not None:
            assert torch.allclose(p.grad.cpu(), q.grad, atol=1e-3), n
    # eval: the flushed memory agrees as well
    dev_model.eval()
    ref_model.eval()
    with torch.no_grad():
        a = dev_model.embed_nodes(torch.arange(12, device=device))
        b = ref_model.embed_nodes(torch.arange(12))
    assert a.device.type == device.type
    assert torch.allclose(a.cpu(), b, atol=1e-4)


def test_move_mid_stream(device):
    # Half the stream on the CPU, then .to(device) and the rest there: the
    # same outputs as a CPU-only run (the buffers, message store and bound
    # stream move with the model).
    data = stream(6)
    ref = play(make(8), data, 'cpu', train=False)
    model = make(8).eval()
    x, src, dst, t, msg = data
    model.reset_state(x, t, msg)
    outs = []
    with torch.no_grad():
        for lo in range(0, 30, 10):
            outs.append(model.embed_nodes(torch.cat([src[lo:lo + 10],
                                                     dst[lo:lo + 10]])))
            model.update(src[lo:lo + 10], dst[lo:lo + 10], t[lo:lo + 10],
                         msg[lo:lo + 10])
        model = model.to(device)
        outs = play(model, data, device, train=False, start=30, outs=outs)
    assert len(outs) == len(ref)
    for a, b in zip(outs, ref):
        assert torch.allclose(a.cpu(), b, atol=1e-4)


def test_time_encoder_tgat_frozen_and_linear_option():
    model = make(time_dim=4)
    enc = model.memory.time_enc
    assert model.gnn.time_enc is enc
    assert torch.allclose(enc.weight, torch.tensor([1.0, 1e-3, 1e-6, 1e-9]))
    assert not enc.weight.requires_grad and not enc.bias.requires_grad
    # a training replay leaves the frozen frequencies without gradients
    play(model, stream(3), 'cpu', train=True)
    assert enc.weight.grad is None and enc.bias.grad is None
    assert torch.allclose(enc.weight, torch.tensor([1.0, 1e-3, 1e-6, 1e-9]))
    grads = [p.grad for n, p in model.named_parameters()
             if n.startswith('memory.gru')]
    assert all(g is not None for g in grads)
    # learnable TGAT frequencies get gradients
    model = make(time_dim=4, time_learnable=True)
    play(model, stream(3), 'cpu', train=True)
    assert model.memory.time_enc.weight.grad.abs().sum() > 0
    # PyG's encoder: cos(Linear(1, d) dt), learnable
    model = make(time_encoder='linear')
    assert hasattr(model.memory.time_enc, 'lin')
    assert model.memory.time_enc.lin.weight.requires_grad
    with pytest.raises(ValueError, match="'time_encoder'"):
        make(time_encoder='fourier')
    with pytest.raises(ValueError, match="'time_learnable'"):
        make(time_encoder='linear', time_learnable=True)
