import copy

import pytest
import torch
from helpers_adarc import train_full

from pyg_ext.datasets.csbm import csbm_graph
from pyg_ext.nn.models import GPRGNN, LearnableAPPNP, LearnableGCNII, \
    WeightedJKNet
from pyg_ext.tta import AdaRC, ERMBase, LAMEBase, T3ABase, TentBase, pic_loss


@pytest.fixture(scope='module')
def graphs():
    src = csbm_graph(400, 40, mu=0.3, degree=12, homophily=0.9, seed=0)
    tgt = csbm_graph(400, 40, mu=0.3, degree=12, homophily=0.1, seed=1)
    return src, tgt


@pytest.fixture(scope='module')
def pretrained(graphs):
    torch.manual_seed(0)
    model = GPRGNN(40, 16, 2, K=4, alpha=0.5)
    return train_full(model, graphs[0], epochs=60)


def snapshot(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def assert_only_hop_changed(before, model, hop_keys):
    after = model.state_dict()
    assert before.keys() == after.keys()
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert set(changed) == set(hop_keys), changed


def mutating_base(model, data):
    # A hostile base: rewrites every parameter and BN statistic of its copy.
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm1d):
                m.running_mean.fill_(5.0)
                m.num_batches_tracked.add_(7)
    model.train()
    return model(data.x, data.edge_index)


@pytest.mark.parametrize('base', ['erm', 'tent', 't3a', 'lame',
                                  mutating_base])
def test_only_hop_parameters_change(pretrained, graphs, base):
    model = copy.deepcopy(pretrained)
    before = snapshot(model)
    flags = {n: p.requires_grad for n, p in model.named_parameters()}
    ada = AdaRC(model, base_tta=base, steps=3, episodic=False)
    ada.adapt(graphs[1])
    # BN running_mean/var/num_batches_tracked and every other entry are
    # bit-identical; gamma moved.
    assert_only_hop_changed(before, model, ['prop.gamma'])
    assert not model.training
    assert flags == {n: p.requires_grad for n, p in model.named_parameters()}
    assert all(p.grad is None for p in model.parameters())


def test_model_mode_restored(pretrained, graphs):
    model = copy.deepcopy(pretrained).train()
    AdaRC(model, steps=1).adapt(graphs[1])
    assert model.training


@pytest.mark.parametrize('cls, kwargs, key', [
    (LearnableAPPNP, dict(K=4), 'alpha_logit'),
    (WeightedJKNet, dict(num_layers=2), 'jk_weight'),
    (LearnableGCNII, dict(num_layers=2), 'alpha_logit'),
])
def test_other_backbones_only_hop_change(graphs, cls, kwargs, key):
    torch.manual_seed(0)
    model = train_full(cls(40, 16, 2, **kwargs), graphs[0], epochs=20)
    before = snapshot(model)
    ada = AdaRC(model, base_tta='tent', steps=3, episodic=False)
    ada.adapt(graphs[1])
    assert_only_hop_changed(before, model, [key])


def test_one_step_matches_manual_gradient(pretrained, graphs):
    model = copy.deepcopy(pretrained)
    tgt = graphs[1]
    gamma0 = model.prop.gamma.detach().clone()
    with torch.no_grad():
        prob = model(tgt.x, tgt.edge_index).softmax(-1)
    g = model.prop.gamma
    loss = pic_loss(model.featurize(tgt.x, tgt.edge_index), prob)
    (grad, ) = torch.autograd.grad(loss, g)
    ada = AdaRC(model, lr=0.7, steps=1, episodic=False)
    ada.adapt(tgt)
    assert torch.allclose(model.prop.gamma.detach(), gamma0 - 0.7 * grad,
                          atol=1e-6)
    assert ada.history['loss'][0] == pytest.approx(float(loss.detach()),
                                                   abs=1e-6)
    assert torch.equal(ada.history['hop_params'][0], gamma0)


def test_final_pass_semantics(pretrained, graphs):
    calls = []

    def recording(model, data):
        out = model(data.x, data.edge_index)
        calls.append(out.detach().clone())
        return out

    for final_pass, expected_calls in ((True, 4), (False, 3)):
        calls.clear()
        ada = AdaRC(copy.deepcopy(pretrained), base_tta=recording, steps=3,
                    final_pass=final_pass)
        out = ada.adapt(graphs[1])
        assert len(calls) == expected_calls
        assert torch.equal(out, calls[-1])
        # without the final pass the prediction is from the start of the
        # last round, i.e. after R-1 = 2 updates.
    assert len(ada.history['loss']) == 3


def test_episodic_determinism_and_reset(pretrained, graphs):
    model = copy.deepcopy(pretrained)
    before = snapshot(model)
    ada = AdaRC(model, base_tta='tent', steps=4, episodic=True)
    a = ada.adapt(graphs[1])
    assert_only_hop_changed(before, model, [])  # model left as it was
    b = ada(graphs[1])
    assert torch.equal(a, b)
    assert not torch.equal(ada.adapted_state[0], before['prop.gamma'])
    assert torch.equal(ada.history['final_hop_params'], ada.adapted_state[0])


def test_non_episodic_continues_and_reset(pretrained, graphs):
    model = copy.deepcopy(pretrained)
    gamma0 = model.prop.gamma.detach().clone()
    ada = AdaRC(model, steps=2, episodic=False)
    ada.adapt(graphs[1])
    first = model.prop.gamma.detach().clone()
    ada.adapt(graphs[1])
    assert torch.equal(ada.history['hop_params'][0], first)
    ada.reset()
    assert torch.equal(model.prop.gamma.detach(), gamma0)


def test_hop_params_by_name_and_all_parameters(pretrained, graphs):
    model = copy.deepcopy(pretrained)
    before = snapshot(model)
    AdaRC(model, hop_params=['lin2'], loss='entropy', steps=2,
          episodic=False).adapt(graphs[1])
    assert_only_hop_changed(before, model, ['lin2.weight'])
    with pytest.raises(ValueError, match='does not depend'):
        AdaRC(model, hop_params=['lin2'], steps=1).adapt(graphs[1])
    # Adapting every parameter (ablation) still keeps BN statistics fixed.
    model = copy.deepcopy(pretrained)
    before = snapshot(model)
    AdaRC(model, hop_params=list(model.parameters()), steps=2,
          episodic=False).adapt(graphs[1])
    for k in ('bn1.running_mean', 'bn1.running_var',
              'bn1.num_batches_tracked'):
        assert torch.equal(before[k], model.state_dict()[k])


@pytest.mark.parametrize('loss', ['entropy', 'pl'])
def test_ablation_losses_run(pretrained, graphs, loss):
    model = copy.deepcopy(pretrained)
    ada = AdaRC(model, steps=3, loss=loss, episodic=False)
    ada.adapt(graphs[1])
    assert len(ada.history['loss']) == 3
    assert all(torch.isfinite(torch.tensor(ada.history['loss'])))


def test_pic_loss_decreases_within_rounds(pretrained, graphs):
    ada = AdaRC(copy.deepcopy(pretrained), steps=15, lr=1.0)
    ada.adapt(graphs[1])
    loss = ada.history['loss']
    assert min(loss) < loss[0] and loss[-1] < loss[0]
    change = ada.history['pseudo_label_change']
    assert change[0] != change[0]  # NaN for the first round
    assert all(0 <= c <= 1 for c in change[1:])


class NoHop(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(40, 2)

    def featurize(self, x, edge_index):
        return x

    def forward(self, x, edge_index):
        return self.lin(x)


def test_bad_inputs(pretrained, graphs):
    with pytest.raises(TypeError, match='hop_parameters'):
        AdaRC(NoHop())
    with pytest.raises(TypeError, match='featurize'):
        AdaRC(torch.nn.Linear(3, 2), hop_params=['weight'])
    with pytest.raises(ValueError, match="'lr'"):
        AdaRC(pretrained, lr=0.0)
    with pytest.raises(ValueError, match="'lr'"):
        AdaRC(pretrained, lr=-1.0)
    with pytest.raises(ValueError, match="'steps'"):
        AdaRC(pretrained, steps=0)
    with pytest.raises(ValueError, match="'optimizer'"):
        AdaRC(pretrained, optimizer='lbfgs')
    with pytest.raises(ValueError, match="'loss'"):
        AdaRC(pretrained, loss='mse')
    with pytest.raises(ValueError, match='matches'):
        AdaRC(pretrained, hop_params=['nonexistent'])
    with pytest.raises(ValueError, match='parameter of the model'):
        AdaRC(pretrained, hop_params=[torch.nn.Parameter(torch.ones(2))])
    with pytest.raises(ValueError, match='base_tta'):
        AdaRC(pretrained, base_tta='adanpc')
    with pytest.raises(TypeError, match='base_tta'):
        AdaRC(pretrained, base_tta=3)
    with pytest.raises(TypeError, match='logits'):
        AdaRC(copy.deepcopy(pretrained),
              base_tta=lambda m, d: torch.ones(5), steps=1).adapt(graphs[1])
    # disagreeing shapes between the representation and the base output
    with pytest.raises(ValueError, match='same number'):
        AdaRC(copy.deepcopy(pretrained),
              base_tta=lambda m, d: torch.zeros(7, 2), steps=1).adapt(
                  graphs[1])
    with pytest.raises(ValueError, match='BatchNorm'):
        TentBase()(torch.nn.Linear(2, 2), graphs[1])
    with pytest.raises(ValueError, match='filter_k'):
        T3ABase(filter_k=0)
    with pytest.raises(ValueError, match="'k'"):
        LAMEBase(k=0)
    with pytest.raises(ValueError, match="'lr'"):
        TentBase(lr=0)
    assert 'base_tta=TentBase' in repr(AdaRC(pretrained, base_tta='tent'))


@pytest.mark.parametrize('base', ['erm', 'tent', 't3a'])
def test_adapt_on_device_matches_cpu(pretrained, graphs, device, base):
    model = copy.deepcopy(pretrained)
    mask = torch.arange(400) % 3 != 0
    cpu = AdaRC(model, base_tta=base, steps=3, mask=mask)
    out = cpu.adapt(graphs[1])
    dev_model = copy.deepcopy(pretrained).to(device)
    dev = AdaRC(dev_model, base_tta=base, steps=3, mask=mask)
    out_d = dev.adapt(graphs[1].to(device))
    assert out_d.device == device and dev.adapted_state[0].device == device
    assert torch.allclose(out_d.cpu(), out, atol=1e-4)
    assert torch.allclose(dev.adapted_state[0].cpu(), cpu.adapted_state[0],
                          atol=1e-5)
    # The history is read on the host once, at the end of adapt.
    h, hd = cpu.history, dev.history
    assert isinstance(hd['loss'][0], float)
    assert hd['hop_params'][0].device.type == 'cpu'
    assert hd['final_hop_params'].device.type == 'cpu'
    assert hd['loss'] == pytest.approx(h['loss'], abs=1e-5)
    assert hd['pseudo_label_change'][1:] == pytest.approx(
        h['pseudo_label_change'][1:], abs=1e-6)
    assert torch.allclose(hd['final_hop_params'], h['final_hop_params'],
                          atol=1e-5)


def test_mask_bool_and_index_agree_and_bad_masks_raise(pretrained, graphs):
    mask = torch.arange(400) % 4 == 1
    a = AdaRC(copy.deepcopy(pretrained), steps=2, mask=mask)
    b = AdaRC(copy.deepcopy(pretrained), steps=2,
              mask=mask.nonzero().view(-1))
    assert torch.allclose(a.adapt(graphs[1]), b.adapt(graphs[1]), atol=1e-6)
    assert a.history['loss'] == pytest.approx(b.history['loss'], abs=1e-6)
    # The PIC loss sees only the masked nodes.
    model = copy.deepcopy(pretrained)
    with torch.no_grad():
        prob = model(graphs[1].x, graphs[1].edge_index).softmax(-1)
        ref = pic_loss(model.featurize(graphs[1].x, graphs[1].edge_index),
                       prob, mask)
    assert a.history['loss'][0] == pytest.approx(float(ref), abs=1e-6)
    for bad, err, match in (
            (torch.ones(7, dtype=torch.bool), ValueError, 'shape'),
            (torch.zeros(400, dtype=torch.bool), ValueError, 'no rows'),
            (torch.tensor([0, 400]), ValueError, 'outside'),
            (torch.ones(400), TypeError, 'mask'),
            ([1, 2], TypeError, 'mask')):
        ada = AdaRC(copy.deepcopy(pretrained), steps=2, mask=bad)
        with pytest.raises(err, match=match):
            ada.adapt(graphs[1])


def test_rounds_read_no_value_on_the_host(pretrained, graphs, monkeypatch):
    # A spy on every Python-level read of a tensor value: the entry checks
    # (data and mask, before any round) and the first round (which builds
    # the propagation graph) read; a later round reads nothing; the history
    # is read once at the end.
    reads = []
    for name in ('item', 'tolist', '__bool__', '__int__', '__float__',
                 '__index__'):
        orig = getattr(torch.Tensor, name)

        def spy(self, *args, _orig=orig, _name=name, **kwargs):
            reads.append((rounds[0], _name))
            return _orig(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, spy)
    rounds = [0]

    def counting_base(model, data):
        rounds[0] += 1
        return ERMBase()(model, data)

    ada = AdaRC(copy.deepcopy(pretrained), base_tta=counting_base, steps=4,
                mask=torch.arange(400) % 2 == 0)
    ada.adapt(graphs[1].clone())  # a graph no model has propagated on yet
    monkeypatch.undo()
    in_rounds = [r for r in reads if 2 <= r[0] <= 4]
    assert in_rounds == [], in_rounds
    # The spy does see reads: the entry checks (0), building the CSR pair in
    # round 1, and the history after the last round (final pass = call 5).
    assert {r for r, _ in reads} == {0, 1, 5}
