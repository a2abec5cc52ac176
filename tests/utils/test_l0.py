import math
import pickle

import pytest
import torch

from pyg_ext.utils import (L0ProjectedOptimizer, l0_keep_count, project_l0_,
                           weight_sparsity)


def test_keep_count_and_float_guard():
    assert l0_keep_count(10, 0.0) == 10
    assert l0_keep_count(10, 0.25) == 7  # ceil(2.5) = 3 zeros
    assert l0_keep_count(7, 0.5) == 3
    p = 1 - (1 - 0.05)  # 0.050000000000000044
    assert math.ceil(p * 20) == 2
    assert l0_keep_count(20, p) == 19  # guarded
    assert l0_keep_count(20, p, eps=0.0) == 18  # official count
    for bad in (1.0, -0.01):
        with pytest.raises(ValueError, match='sparsity'):
            l0_keep_count(10, bad)
    with pytest.raises(ValueError, match='numel'):
        l0_keep_count(-1, 0.5)


@pytest.mark.parametrize('p', [0.1, 0.37, 0.5, 0.9])
def test_projection_exact_count_global_and_largest(p):
    torch.manual_seed(0)
    a = torch.randn(30, 20)
    b = torch.randn(50) * 3  # larger scale: a per-tensor rule would differ
    ref = torch.cat([a.flatten(), b]).abs()
    params = [a.clone(), b.clone()]
    masks = project_l0_(params, p)
    n = ref.numel()
    zeros = sum(int((t == 0).sum()) for t in params)
    assert zeros == math.ceil(p * n)
    # The kept entries are exactly the largest |theta| globally.
    k = n - math.ceil(p * n)
    top = torch.zeros(n, dtype=torch.bool)
    top[ref.topk(k).indices] = True
    kept = torch.cat([m.flatten() for m in masks])
    assert torch.equal(kept, top)
    # Global, not per tensor: the large-scale tensor keeps a larger fraction.
    assert float(masks[1].float().mean()) > float(masks[0].float().mean())
    # Kept values are untouched; idempotent.
    assert torch.equal(params[0][masks[0]], a[masks[0]])
    before = [t.clone() for t in params]
    project_l0_(params, p)
    assert all(torch.equal(x, y) for x, y in zip(before, params))


def test_projection_ties_and_module_include():
    w = [torch.tensor([1.0, -1.0, 1.0, 2.0])]
    project_l0_(w, 0.5)  # two of the three ties go, first in flat order
    assert w[0].tolist() == [0.0, 0.0, 1.0, 2.0]

    torch.manual_seed(1)
    lin = torch.nn.Linear(8, 4)  # weight 32 + bias 4
    bias = lin.bias.detach().clone()
    project_l0_(lin, 0.5, include=lambda name, p: p.dim() == 2)
    assert int((lin.weight == 0).sum()) == 16
    assert torch.equal(lin.bias.detach(), bias)
    project_l0_(lin, 0.5)  # all parameters: 18 zeros of 36
    assert weight_sparsity(lin) == pytest.approx(0.5)
    with pytest.raises(TypeError, match='include'):
        project_l0_([torch.ones(3)], 0.5, include=lambda n, p: True)
    with pytest.raises(ValueError, match='sparsity'):
        project_l0_(lin, 1.0)
    with pytest.raises(TypeError, match='Module or an iterable'):
        project_l0_([1.0, 2.0], 0.5)


def test_weight_sparsity():
    assert weight_sparsity([torch.zeros(3), torch.ones(1)]) == 0.75
    assert weight_sparsity([]) == 0.0


@pytest.mark.parametrize('opt_cls', [torch.optim.SGD, torch.optim.Adam])
def test_projected_optimizer(opt_cls):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(10, 16), torch.nn.ReLU(),
                                torch.nn.Linear(16, 3))
    x, y = torch.randn(64, 10), torch.randint(0, 3, (64, ))
    n = sum(p.numel() for p in model.parameters())
    opt = L0ProjectedOptimizer(opt_cls(model.parameters(), lr=0.05), model,
                               0.6)
    losses = []
    for _ in range(30):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
        zeros = sum(int((p == 0).sum()) for p in model.parameters())
        assert zeros >= math.ceil(0.6 * n)
    assert losses[-1] < losses[0]  # still learns under the constraint
    # Delegation.
    assert opt.param_groups is opt.optimizer.param_groups
    sd = opt.state_dict()
    inner = opt.optimizer.state_dict()
    assert sd['param_groups'] == inner['param_groups']
    assert set(sd['state']) == set(inner['state'])
    assert len(sd['state']) == (4 if opt_cls is torch.optim.Adam else 0)
    opt.load_state_dict(sd)
    assert model[0].weight.grad is not None
    opt.zero_grad()
    assert model[0].weight.grad is None
    assert 'sparsity=0.6' in repr(opt)
    with pytest.raises(TypeError, match='optimizer'):
        L0ProjectedOptimizer(object(), model, 0.5)
    with pytest.raises(ValueError, match='sparsity'):
        L0ProjectedOptimizer(opt.optimizer, model, 1.2)


def test_projected_optimizer_zero_sparsity_is_plain_step():
    torch.manual_seed(0)
    a = torch.nn.Linear(4, 2)
    b = torch.nn.Linear(4, 2)
    b.load_state_dict(a.state_dict())
    oa = torch.optim.SGD(a.parameters(), lr=0.1)
    ob = L0ProjectedOptimizer(torch.optim.SGD(b.parameters(), lr=0.1), b, 0)
    x = torch.randn(8, 4)
    for m, o in ((a, oa), (b, ob)):
        o.zero_grad()
        m(x).pow(2).sum().backward()
        o.step()
    assert torch.equal(a.weight, b.weight)
    pickle.loads(pickle.dumps(ob.state_dict()))


def test_projection_order_with_zeros_subnormals_and_ties():
    # float32 magnitudes ordered by their bit patterns: 0 < subnormal <
    # normal; ties go in flat order across tensors.
    a = torch.tensor([1e-40, 0.0, -2.0, 1e-38])
    b = torch.tensor([-0.0, 2.0, 5.0, -1e-40])
    params = [a.clone(), b.clone()]
    masks = project_l0_(params, 0.75)  # 6 of 8 go
    assert masks[0].tolist() == [False, False, False, False]
    assert masks[1].tolist() == [False, True, True, False]
    params = [a.clone(), b.clone()]
    masks = project_l0_(params, 0.5)  # 0, -0, then 1e-40, -1e-40
    assert masks[0].tolist() == [False, False, True, True]
    assert masks[1].tolist() == [False, True, True, False]


def test_projection_and_optimizer_on_device(device):
    torch.manual_seed(3)
    cpu = torch.nn.Sequential(torch.nn.Linear(10, 16), torch.nn.ReLU(),
                              torch.nn.Linear(16, 3)).double()
    dev = torch.nn.Sequential(torch.nn.Linear(10, 16), torch.nn.ReLU(),
                              torch.nn.Linear(16, 3)).double().to(device)
    dev.load_state_dict(cpu.state_dict())
    masks = project_l0_([p.detach().clone().to(device)
                         for p in cpu.parameters()], 0.4)
    ref = project_l0_([p.detach().clone() for p in cpu.parameters()], 0.4)
    assert all(m.device == device for m in masks)
    assert all(torch.equal(m.cpu(), r) for m, r in zip(masks, ref))
    x = torch.randn(32, 10, dtype=torch.float64)
    y = torch.randint(0, 3, (32, ))
    opts = [L0ProjectedOptimizer(torch.optim.SGD(m.parameters(), lr=0.1), m,
                                 0.5) for m in (cpu, dev)]
    for _ in range(3):
        for m, opt, d in ((cpu, opts[0], 'cpu'), (dev, opts[1], device)):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(m(x.to(d)),
                                              y.to(d)).backward()
            opt.step()
    assert all(m.device == device for m in opts[1].masks)
    for a, b in zip(cpu.parameters(), dev.parameters()):
        assert torch.allclose(a, b.cpu(), atol=1e-10)
    assert weight_sparsity(dev) == weight_sparsity(cpu) >= 0.5
