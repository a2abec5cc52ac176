r"""The AdaRC hop backbones on $PYG_EXT_TEST_DEVICE (equal to a CPU run) and
on the `meta` device, where any host read of a tensor value raises."""
import copy

import pytest
import torch
from helpers_adarc import EDGE_INDEX

from pyg_ext.nn.models import (GPRGNN, LearnableAPPNP, LearnableGCNII,
                               WeightedJKNet)

BACKBONES = [
    (GPRGNN, dict(K=3, alpha=0.5)),
    (LearnableAPPNP, dict(K=3)),
    (LearnableGCNII, dict(num_layers=2)),
    (WeightedJKNet, dict(num_layers=2)),
]


@pytest.mark.parametrize('cls, kwargs', BACKBONES)
def test_backbone_on_device_matches_cpu(device, cls, kwargs):
    torch.manual_seed(0)
    x = torch.randn(6, 4)
    cpu = cls(4, 8, 3, **kwargs).eval()
    with torch.no_grad():  # non-trivial BN statistics
        cpu.bn1.running_mean.uniform_(-1, 1)
        cpu.bn1.running_var.uniform_(0.5, 2)
    dev = copy.deepcopy(cpu).to(device)
    w = torch.rand(EDGE_INDEX.size(1))
    for ew in (None, w):
        ew_d = None if ew is None else ew.to(device)
        out_c = cpu(x, EDGE_INDEX, ew)
        out_d = dev(x.to(device), EDGE_INDEX.to(device), ew_d)
        assert out_d.device == device
        assert torch.allclose(out_d.detach().cpu(), out_c.detach(),
                              atol=1e-5)
        z_d = dev.featurize(x.to(device), EDGE_INDEX.to(device), ew_d)
        assert torch.allclose(z_d.detach().cpu(),
                              cpu.featurize(x, EDGE_INDEX, ew).detach(),
                              atol=1e-5)
        cpu.zero_grad()
        dev.zero_grad()
        out_c.square().sum().backward()
        out_d.square().sum().backward()
        for (name, a), b in zip(cpu.named_parameters(), dev.parameters()):
            assert b.grad.device == device, name
            assert torch.allclose(b.grad.cpu(), a.grad, atol=1e-4), name
        (hop, ) = list(dev.hop_parameters())
        assert hop.device == device and hop.grad is not None
    # Training mode runs on the device too (BN batch statistics, dropout).
    dev.train()
    dev(x.to(device), EDGE_INDEX.to(device)).sum().backward()


@pytest.mark.parametrize('cls, kwargs', BACKBONES)
def test_forward_backward_read_no_value(cls, kwargs):
    # GPRGNN, APPNP and GCNII propagate with a CSR pair built once per graph
    # (coalescing reads values, and torch has no 'meta' kernel for a sparse
    # CSR product); with learnable edge weights they take message passing,
    # which reads nothing. WeightedJKNet never builds a CSR pair.
    model = cls(4, 8, 3, **kwargs).to('meta').train()
    x = torch.empty(10, 4, device='meta')
    ei = torch.empty(2, 30, dtype=torch.long, device='meta')
    ew = torch.empty(30, device='meta', requires_grad=True)
    out = model(x, ei, ew)
    assert out.shape == (10, 3) and out.device.type == 'meta'
    out.sum().backward()
    assert all(p.grad is not None for p in model.hop_parameters())
    assert ew.grad.shape == (30, )
    if cls is WeightedJKNet:
        model(x, ei).sum().backward()
