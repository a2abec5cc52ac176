r"""Mowst on any device ($PYG_EXT_TEST_DEVICE): forward/backward, loss,
confidence and predict against a CPU run; the training path on the 'meta'
device (where any read of a tensor value raises, so it proves the path has
no host sync); and the value checks that moved to validate_inputs."""
import copy

import pytest
import torch
from torch_geometric.nn.conv.gcn_conv import gcn_norm
from torch_geometric.nn.models import GCN, GIN, MLP, GraphSAGE

from pyg_ext.nn.models import Mowst

from helpers_mowst import FixedConf

C, F_IN, N = 3, 8, 120


def graph(seed=0, n=N, e=300):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, F_IN, generator=g)
    ei = torch.randint(0, n, (2, e), generator=g)
    y = torch.randint(0, C, (n, ), generator=g)
    mask = torch.rand(n, generator=g) < 0.4
    return x, ei, y, mask


def make(strong='sage', seed=0, **kw):
    torch.manual_seed(seed)
    strong = {
        'sage': lambda: GraphSAGE(F_IN, 16, 2, C),
        'gcn': lambda: GCN(F_IN, 16, 2, C),
        'gcn_no_loops': lambda: GCN(F_IN, 16, 2, C, add_self_loops=False),
        'gcn_prenormalized': lambda: GCN(F_IN, 16, 2, C, normalize=False),
        'gin': lambda: GIN(F_IN, 16, 2, C),
    }[strong]()
    return Mowst(MLP([F_IN, 16, C]), strong, C, **kw)


def on(device, *ts):
    return [t.to(device) for t in ts]


VARIANTS = [dict(), dict(variant='mowst_star'),
            dict(variant='mowst_star', star_mix='logit'),
            dict(gate_in_features=F_IN, detach_dispersion=False)]


@pytest.mark.parametrize('kw', VARIANTS)
@pytest.mark.parametrize('strong', ['sage', 'gcn'])
def test_forward_backward_loss_equal_cpu(device, strong, kw):
    x, ei, y, mask = graph()
    ref = make(strong, **kw)
    model = copy.deepcopy(ref).to(device)
    outs, grads = [], []
    for m, d in ((ref, 'cpu'), (model, device)):
        m.eval()  # no dropout: both runs compute the same function
        xd, eid, yd, md = on(d, x, ei, y, mask)
        out = m(xd, eid)
        losses = [m.loss(out, yd, md), m.loss(out, yd, md.nonzero().view(-1)),
                  m.loss(out, yd, md, reduction='sum'), m.loss(out, yd)]
        assert all(loss.device == xd.device for loss in losses)
        m.zero_grad()
        losses[0].backward()
        outs.append([out.weak_logits, out.strong_logits, out.conf,
                     out.log_probs, m.confidence(out.weak_logits, xd)] +
                    losses)
        grads.append([p.grad for p in m.parameters()])
    for a, b in zip(*outs):
        assert torch.allclose(a.detach(), b.detach().cpu(), atol=1e-5)
    # The boolean-mask loss (a masked sum) equals the indexed mean.
    assert torch.allclose(outs[0][5], outs[0][6], atol=1e-6)
    for a, b in zip(*grads):
        assert (a is None) == (b is None)
        if a is not None:
            assert torch.allclose(a, b.cpu(), atol=1e-5)


def test_masked_loss_ignores_labels_off_the_mask(device):
    # Unlabelled nodes may carry any label (e.g. -1): the masked loss never
    # reads them.
    x, ei, y, mask = on(device, *graph())
    model = make().to(device).eval()
    out = model(x, ei)
    y_off = torch.where(mask, y, -1)
    for red in ('mean', 'sum'):
        assert torch.allclose(model.loss(out, y_off, mask, red),
                              model.loss(out, y, mask, red))


@pytest.mark.parametrize('mode', ['sample', 'threshold', 'mixture'])
@pytest.mark.parametrize('strong', ['sage', 'gcn'])
def test_predict_on_device_equals_cpu(device, mode, strong):
    x, ei, _, mask = graph()
    conf = torch.rand(N, generator=torch.Generator().manual_seed(4))
    ref = make(strong, gate=FixedConf(conf))
    model = copy.deepcopy(ref).to(device)
    idx = torch.tensor([0, 3, 3, 17, 50, 119])
    for index in (None, mask, idx):
        preds = []
        for m, d in ((ref, 'cpu'), (model, device)):
            xd, eid = on(d, x, ei)
            gen = torch.Generator(device=d).manual_seed(1)
            p = m.predict(xd, eid, mode=mode, threshold=0.3, generator=gen,
                          index=None if index is None else index.to(d))
            for t in (p.pred, p.used_strong, p.conf, p.weak_logits,
                      p.strong_logits, p.index):
                assert t.device == xd.device
            if mode == 'sample':  # Algorithm 1: weak iff q < C
                q = torch.rand(p.index.numel(), device=d,
                               generator=torch.Generator(
                                   device=d).manual_seed(1))
                assert torch.equal(p.used_strong, q >= p.conf)
            preds.append(p)
        a, b = preds
        assert torch.allclose(a.conf, b.conf.cpu())
        assert torch.allclose(a.weak_logits, b.weak_logits.cpu(), atol=1e-5)
        assert torch.equal(a.index, b.index.cpu())
        if mode != 'sample':  # the draws differ between devices' generators
            assert torch.equal(a.used_strong, b.used_strong.cpu())
            assert torch.allclose(a.strong_logits, b.strong_logits.cpu(),
                                  atol=1e-5, equal_nan=True)
            assert a.num_strong_nodes_computed == b.num_strong_nodes_computed
            assert torch.equal(a.pred, b.pred.cpu())


def test_predict_device_errors_name_both_devices():
    x, ei, _, _ = graph()
    model = make()
    with pytest.raises(ValueError, match="'generator' is on cpu but 'x' is "
                       "on meta"):
        model.to('meta').predict(x.to('meta'), ei.to('meta'),
                                 generator=torch.Generator())
    model = make()
    with pytest.raises(ValueError, match="'index' is on meta but 'x' is on "
                       "cpu"):
        model.predict(x, ei, index=torch.arange(3, device='meta'))
    with pytest.raises(ValueError, match="'edge_index' is on meta but 'x' is"
                       " on cpu"):
        model(x, ei.to('meta'))
    with pytest.raises(ValueError, match="parameters are on meta but 'x' is "
                       "on cpu"):
        make().to('meta').predict(x, ei)
    with pytest.raises(TypeError, match="'generator' must be a "
                       "torch.Generator"):
        model.predict(x, ei, generator=0)


# The training path reads no value: on 'meta' any read raises. ---------------
@pytest.mark.parametrize('variant', ['mowst', 'mowst_star'])
@pytest.mark.parametrize('strong', ['sage', 'gin', 'gcn_no_loops',
                                    'gcn_prenormalized'])
def test_training_path_runs_on_meta(strong, variant):
    # PyG's GCNConv with its default add_self_loops=True selects existing
    # self-loops with a boolean mask (a host sync of its own, no meta
    # kernel); add self-loops once at setup, or pre-normalise, instead.
    x, ei, y, mask = graph()
    kw = {}
    if strong == 'gcn_prenormalized':
        ei, w = gcn_norm(ei, None, N, add_self_loops=True)
        kw['edge_weight'] = w.to('meta')
    model = make(strong, variant=variant, gate=(
        'identity' if variant == 'mowst_star' else 'mlp'),
        dispersion='variance' if variant == 'mowst_star' else
        ('variance', 'entropy')).to('meta')
    x, ei, y, mask = on('meta', x, ei, y, mask)
    idx = torch.arange(0, N, 3, device='meta')
    model.train()
    for validate in (None, False):
        out = model(x, ei, validate=validate, **kw)
        assert out.log_probs.is_meta and out.log_probs.shape == (N, C)
        loss = model.loss(out, y, mask) + model.loss(out, y, idx) + \
            model.loss(out, y, mask, reduction='sum') + model.loss(out, y)
        loss.backward()
        assert all(p.grad is not None and p.grad.is_meta
                   for p in model.strong_parameters())
    # The alternating turns of fit_mowst: one expert frozen.
    w = model.weak_forward(x)
    s = model.strong_forward(x, ei, **kw).detach()
    out = model.make_output(w, s, model.confidence(w))
    model.loss(out, y, mask).backward()


def test_forward_checks_each_graph_once(monkeypatch):
    x, ei, _, _ = graph()
    model = make()
    reads = []
    real = torch.Tensor.tolist

    def spy(self):
        reads.append(self.shape)
        return real(self)

    monkeypatch.setattr(torch.Tensor, 'tolist', spy)
    model(x, ei)
    assert len(reads) == 1  # the first forward on a graph reads its range
    model(x, ei)
    model.loss(model(x, ei), torch.zeros(N, dtype=torch.long))
    assert len(reads) == 1  # later steps on the same graph read nothing
    model(x, ei, validate=True)
    assert len(reads) == 2
    ei[0, 0] = N  # an in-place change is checked again
    monkeypatch.setattr(torch.Tensor, 'tolist', real)
    with pytest.raises(ValueError, match=f"'x' has {N} nodes"):
        model(x, ei)
    # A copy of the model (pickled or deep-copied) starts afresh.
    clone = copy.deepcopy(model)
    with pytest.raises(ValueError, match=f"'x' has {N} nodes"):
        clone(x, ei)


def test_validate_inputs(device):
    x, ei, y, mask = on(device, *graph())
    model = make().to(device)
    masks = {'train_mask': mask, 'val_mask': ~mask, 'test_mask': None}
    model.validate_inputs(x, ei, y, masks=masks,
                          edge_weight=torch.rand(ei.size(1), device=device))
    # Labels off every mask are not checked (unlabelled nodes).
    model.validate_inputs(x, ei, torch.where(mask, y, -1),
                          masks={'train_mask': mask})
    bad = ei.clone()
    bad[1, 5] = N + 2
    with pytest.raises(ValueError, match=f"refers to node {N + 2} but 'x' "
                       f"has {N} nodes"):
        model.validate_inputs(x, bad)
    with pytest.raises(ValueError, match=r"'y' must hold class labels in "
                       r"\[0, 3\) on the labelled nodes, got -1"):
        model.validate_inputs(x, ei, torch.where(mask, -1, y),
                              masks={'train_mask': mask})
    with pytest.raises(ValueError, match=r"'y' must have shape \[120\]"):
        model.validate_inputs(x, ei, y[:5])
    with pytest.raises(TypeError, match="'y' must be an integer tensor"):
        model.validate_inputs(x, ei, y.float())
    with pytest.raises(ValueError, match="boolean 'val_mask' must have 120"):
        model.validate_inputs(x, ei, masks={'val_mask': mask[:10]})
    with pytest.raises(ValueError, match=r"'index' must hold node indices in"
                       r" \[0, 120\), got 120"):
        model.validate_inputs(x, ei, y, masks={
            'index': torch.tensor([0, N], device=device)})
    with pytest.raises(TypeError, match="'train_mask' must be a 1-D"):
        model.validate_inputs(x, ei, masks={'train_mask': mask.float()})
    with pytest.raises(ValueError, match="'edge_weight' has 3 rows but "
                       "'edge_index' has 300 edges"):
        model.validate_inputs(x, ei, edge_weight=torch.rand(3,
                                                            device=device))


def test_custom_gate_range_is_checked_by_predict_only(device):
    x, ei, y, _ = on(device, *graph())
    model = make(gate=FixedConf(torch.full((N, ), 1.5))).to(device)
    out = model(x, ei)  # training path: no value read, no error
    assert out.conf.shape == (N, )
    with pytest.raises(ValueError, match=r"confidences in \[0, 1\]"):
        model.predict(x, ei)
    pred = model.predict(x, ei, validate=False,
                         generator=torch.Generator(device=device))
    assert not bool(pred.used_strong.any())  # q < 1.5 always: weak expert
