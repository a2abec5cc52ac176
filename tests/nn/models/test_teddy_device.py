r"""TEDDY backbones on $PYG_EXT_TEST_DEVICE (equal to a CPU run) and on the
`meta` device, where any host read of a tensor value raises: a forward and
backward pass plus an l0-projected optimizer step must read nothing."""
import copy

import pytest
import torch
import torch.nn.functional as F
from torch_geometric.data import Data
from torch_geometric.nn import GCNConv
from torch_geometric.utils import erdos_renyi_graph

from pyg_ext.nn.models.teddy import (TeddyGAT, TeddyGCN, TeddyGIN,
                                     sparse_linear)
from pyg_ext.transforms import TEDDY
from pyg_ext.utils import L0ProjectedOptimizer

pytestmark = pytest.mark.filterwarnings(
    'ignore:Sparse CSR tensor support is in beta')


def graph(n=40, seed=0):
    torch.manual_seed(seed)
    ei = erdos_renyi_graph(n, 0.15)
    loops = torch.arange(0, n, 6).repeat(2, 1)  # a few existing self-loops
    return torch.randn(n, 10), torch.cat([ei, loops], dim=1)


def test_gcn_with_existing_self_loops_matches_pyg_gcnconv():
    x, ei = graph()
    torch.manual_seed(1)
    model = TeddyGCN(10, 16, 3).eval()
    c1, c2 = GCNConv(10, 16, bias=False), GCNConv(16, 3, bias=False)
    c1.lin.weight.data.copy_(model.lins[0].weight)
    c2.lin.weight.data.copy_(model.lins[1].weight)
    w = torch.rand(ei.size(1)) + 0.5  # loops carry their own weight
    for ew in (None, w):
        ref = c2(F.relu(c1(x, ei, ew)), ei, ew)
        assert torch.allclose(model(x, ei, ew), ref, atol=1e-5)


@pytest.mark.parametrize('cls, kwargs', [
    (TeddyGCN, {}),
    (TeddyGIN, {}),
    (TeddyGAT, dict(heads=2)),
])
def test_models_on_device_match_cpu(device, cls, kwargs):
    x, ei = graph()
    w = torch.rand(ei.size(1))
    torch.manual_seed(2)
    cpu = cls(10, 8, 3, **kwargs)
    dev = copy.deepcopy(cpu).to(device)
    for train in (False, True):
        cpu.train(train)
        dev.train(train)
        for ew in (None, w):
            # Edge weights that need a gradient, as UGS masks do.
            ew_c = None if ew is None else ew.clone().requires_grad_()
            ew_d = None if ew is None else \
                ew.to(device, copy=True).requires_grad_()
            torch.manual_seed(3)  # the same dropout masks on CPU
            out_c = cpu(x, ei, ew_c)
            torch.manual_seed(3)
            out_d = dev(x.to(device), ei.to(device), ew_d)
            if train and device.type != 'cpu' and cls is not TeddyGIN:
                # Dropout draws from the device's own generator: compare
                # shapes and gradients flowing, not values.
                assert out_d.shape == out_c.shape
                continue
            assert out_d.device == device
            assert torch.allclose(out_d.cpu(), out_c, atol=1e-5)
            cpu.zero_grad()
            dev.zero_grad()
            out_c.square().sum().backward()
            out_d.square().sum().backward()
            for a, b in zip(cpu.parameters(), dev.parameters()):
                assert b.grad.device == device
                assert torch.allclose(b.grad.cpu(), a.grad, atol=1e-4)
            if ew is not None:  # (GAT reads edge weights in training only)
                assert (ew_d.grad is None) == (ew_c.grad is None) == (
                    cls is TeddyGAT and not train)
                if ew_c.grad is not None:
                    assert torch.allclose(ew_d.grad.cpu(), ew_c.grad,
                                          atol=1e-4)


def test_sparse_linear_on_device(device):
    torch.manual_seed(4)
    x = torch.randn(7, 5) * (torch.rand(7, 5) < 0.3)
    weight = torch.randn(3, 5, requires_grad=True)
    w_d = weight.detach().to(device).requires_grad_()
    out = sparse_linear(x.to(device).to_sparse_csr(), w_d)
    assert out.device == device
    assert torch.allclose(out.cpu(), x @ weight.detach().t(), atol=1e-5)
    out.sum().backward()
    (x @ weight.t()).sum().backward()
    assert torch.allclose(w_d.grad.cpu(), weight.grad, atol=1e-5)


def test_transform_on_device(device):
    x, ei = graph()
    ei = ei[:, ei[0] != ei[1]]
    data = Data(x=x, edge_index=ei, edge_attr=torch.arange(ei.size(1)))
    out = TEDDY(0.3, store_mask=True)(data.to(device))
    ref = TEDDY(0.3, store_mask=True)(data)
    assert out.edge_index.device == device
    assert out.teddy_edge_mask.device == device
    assert torch.equal(out.teddy_edge_mask.cpu(), ref.teddy_edge_mask)
    assert torch.equal(out.edge_index.cpu(), ref.edge_index)
    assert torch.equal(out.edge_attr.cpu(), ref.edge_attr)


# meta: no host read ----------------------------------------------------------
@pytest.mark.parametrize('cls, kwargs', [
    (TeddyGCN, {}),
    (TeddyGIN, {}),
    (TeddyGAT, dict(heads=2)),
])
def test_forward_backward_and_l0_step_read_no_value(cls, kwargs):
    # Tensors on 'meta' have no data: .item(), int(), bool(), a boolean
    # selection or nonzero() raise. The whole training step must run.
    model = cls(10, 8, 3, **kwargs).to('meta').train()
    opt = L0ProjectedOptimizer(
        torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4),
        model, 0.5)
    x = torch.empty(40, 10, device='meta')
    ei = torch.empty(2, 200, dtype=torch.long, device='meta')
    y = torch.empty(40, dtype=torch.long, device='meta')
    for ew in (None, torch.empty(200, device='meta', requires_grad=True)):
        opt.zero_grad()
        out = model(x, ei, ew)
        assert out.shape == (40, 3) and out.device.type == 'meta'
        F.cross_entropy(out, y).backward()
        opt.step()
        assert len(opt.masks) == len(list(model.parameters()))
        assert all(m.device.type == 'meta' for m in opt.masks)
    with pytest.raises(Exception):  # the meta device really refuses reads
        bool(out.sum() > 0)
