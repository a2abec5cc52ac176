import copy
import math

import pytest
import torch
from helpers_device import audit_steps
from helpers_teddy import tiny_data

from pyg_ext.fit import fit_random_prune, fit_teddy, fit_ugs
from pyg_ext.fit.teddy import graph_sparsity_of
from pyg_ext.nn.models.teddy import TeddyGCN, TeddyGIN
from pyg_ext.utils import (l0_keep_count, teddy_edge_score, teddy_keep_mask,
                           teddy_schedule)

pytestmark = pytest.mark.filterwarnings(
    'ignore:Sparse CSR tensor support is in beta')

FITS = [fit_teddy, fit_random_prune, fit_ugs]


def test_fit_teddy_levels_counts_and_same_init():
    data = tiny_data()
    torch.manual_seed(0)
    model = TeddyGCN(12, 16, 3)
    init = copy.deepcopy(model.state_dict())
    levels = [(0.0, 0.0)] + teddy_schedule(2, 0.2, 0.3)
    res = fit_teddy(model, data, levels, epochs=15, distill=False)
    # Level (0, 0) without distillation repeats the teacher's training
    # exactly (same initial weights and seed, same graph).
    assert res['levels'][0]['test_accuracy'] == res['dense']['test_accuracy']
    assert res['levels'][0]['val_accuracy'] == res['dense']['val_accuracy']
    assert res['levels'][0]['best_epoch'] == res['dense']['best_epoch']
    e_und = int((data.edge_index[0] < data.edge_index[1]).sum())
    for r, (pg, pw) in zip(res['levels'][1:], levels[1:]):
        assert r['graph_sparsity'] == pytest.approx(
            math.floor(pg * e_und + 1e-9) / e_und)
        n = sum(p.numel() for p in model.parameters())
        assert round(r['weight_sparsity'] * n) >= n - l0_keep_count(n, pw)
    # The initial weights are untouched for the next caller.
    model.load_state_dict(init)
    with pytest.raises(ValueError, match='levels'):
        fit_teddy(model, data, [(1.0, 0.0)], epochs=1)
    bad = data.clone()
    bad.train_mask = bad.train_mask.view(-1, 1)
    with pytest.raises(ValueError, match='train_mask'):
        fit_teddy(model, bad, levels, epochs=1)


class Interrupted(Exception):
    pass


@pytest.mark.parametrize('fit', FITS)
def test_resume_after_interrupt_is_identical(fit, tmp_path):
    data = tiny_data(seed=1)
    levels = teddy_schedule(3, 0.1, 0.2)
    torch.manual_seed(0)
    full = fit(TeddyGCN(12, 16, 3), data, levels, epochs=8)
    # Stop in the first epoch after level 2 ended (the hook counts epochs of
    # all phases; no checkpoint is due in that epoch: the checkpoint holds
    # the end of level 2).
    phases = {fit_teddy: 3, fit_random_prune: 2, fit_ugs: 4}[fit]

    def stop_after_two(epoch):
        if epoch == phases * 8:
            raise Interrupted

    ckpt = tmp_path / 'sweep.pt'
    torch.manual_seed(0)
    with pytest.raises(Interrupted):
        fit(TeddyGCN(12, 16, 3), data, levels, epochs=8, checkpoint=ckpt,
            interrupt=stop_after_two)
    state = torch.load(ckpt, weights_only=False)
    secs = state['state']['seconds']
    done_seconds = [
        secs[f'level{k}'] + (secs[f'level{k}/mask'] if fit is fit_ugs
                             else 0.0) for k in (1, 2)]
    torch.manual_seed(123)  # a different fresh init must not matter
    res = fit(TeddyGCN(12, 16, 3), data, levels, epochs=8, checkpoint=ckpt)
    got = [r['seconds'] for r in res['levels'][:2]]
    assert got == pytest.approx(done_seconds, rel=1e-12)
    for a, b in zip(full['levels'], res['levels']):
        for key in ('val_accuracy', 'test_accuracy', 'graph_sparsity',
                    'weight_sparsity', 'best_epoch'):
            assert a[key] == b[key]


# Interrupt points (global epoch counters, 7 epochs per training,
# checkpoints every 3 epochs, i.e. after local epochs 2 and 5 and at the end
# of every training): mid-phase with work lost since the last checkpoint
# (local 3, 4 and 6: the last epoch of a phase is interrupted before the
# phase's end is saved), mid-phase right at a checkpoint (local 5), and in
# the first epoch of a phase, which resumes from the previous phase's end:
# between levels, and for UGS between the get-mask and fix-mask phases.
POINTS = {
    'fit_teddy': [4, 6, 12, 15, 20, 22],  # teacher 0-6, level k 7k..7k+6
    'fit_random_prune': [2, 6, 8, 11, 15],  # level k: 7(k-1)..7k-1
    'fit_ugs': [3, 6, 8, 13, 15, 20, 25, 29, 40],  # mask/fix phases of 7
}


@pytest.mark.parametrize('fit', FITS, ids=lambda f: f.__name__)
def test_resume_mid_level_and_between_levels_equals_uninterrupted(
        fit, tmp_path):
    data = tiny_data(seed=3)
    levels = teddy_schedule(3, 0.15, 0.25)
    kw = dict(epochs=7, progress=False)

    def model(seed):
        torch.manual_seed(seed)
        return TeddyGCN(12, 16, 3)  # dropout 0.5: the random state matters

    full_model = model(0)
    full = fit(full_model, data, levels,
               generator=torch.Generator().manual_seed(5), **kw)
    points, fired = POINTS[fit.__name__], []

    def hook(counter):
        if counter in points and counter not in fired:
            fired.append(counter)
            raise Interrupted

    for attempt in range(len(points) + 1):
        # The first run starts from the same init as the uninterrupted one;
        # a resumed run takes its weights from the checkpoint, whatever the
        # fresh model's init.
        m = model(0 if attempt == 0 else 100 + attempt)
        try:
            res = fit(m, data, levels, checkpoint=tmp_path / 'ck.pt',
                      checkpoint_every=3, interrupt=hook,
                      generator=torch.Generator().manual_seed(5), **kw)
            break
        except Interrupted:
            continue
    assert fired == points
    assert res.epochs_run == full.epochs_run
    assert res.best_epoch == full.best_epoch
    assert res.history == full.history
    drop = {'train_seconds'}
    assert {k: v for k, v in res.metrics.items() if k not in drop} == \
        {k: v for k, v in full.metrics.items() if k not in drop}
    strip = [{k: v for k, v in r.items() if k != 'seconds'}
             for r in full['levels']]
    assert [{k: v for k, v in r.items() if k != 'seconds'}
            for r in res['levels']] == strip
    if 'dense' in full.extras:
        assert {k: v for k, v in res['dense'].items() if k != 'seconds'} \
            == {k: v for k, v in full['dense'].items() if k != 'seconds'}
    assert torch.equal(res['edge_mask'], full['edge_mask'])
    for a, b in zip(full.extras.get('weight_masks', []),
                    res.extras.get('weight_masks', [])):
        assert torch.equal(a, b)
    for (ka, a), (kb, b) in zip(full_model.state_dict().items(),
                                m.state_dict().items()):
        assert ka == kb and torch.equal(a, b)


def test_random_and_ugs_sparsities_and_nesting():
    data = tiny_data(seed=2)
    levels = teddy_schedule(3, 0.2, 0.3)
    torch.manual_seed(0)
    res = fit_random_prune(TeddyGCN(12, 16, 3), data, levels, epochs=5)
    n = 12 * 16 + 16 * 3
    e_und = int((data.edge_index[0] < data.edge_index[1]).sum())
    for r, (pg, pw) in zip(res['levels'], levels):
        assert r['weight_sparsity'] == pytest.approx(
            1 - l0_keep_count(n, pw) / n)
        assert r['graph_sparsity'] == pytest.approx(
            math.floor(pg * e_und + 1e-9) / e_und)
    torch.manual_seed(0)
    res = fit_ugs(TeddyGCN(12, 16, 3), data, levels, epochs=5)
    E = data.num_edges
    for r, (pg, pw) in zip(res['levels'], levels):
        assert r['graph_sparsity'] == pytest.approx(
            math.floor(pg * E + 1e-9) / E)
        assert r['weight_sparsity'] == pytest.approx(
            1 - l0_keep_count(n, pw) / n)
    assert res['edge_mask'].sum() == E - math.floor(levels[-1][0] * E +
                                                    1e-9)
    assert graph_sparsity_of(data.edge_index, res['edge_mask']) == \
        pytest.approx(res['levels'][-1]['graph_sparsity'])


@pytest.mark.slow
def test_teddy_learns_on_planetoid_like_graph():
    # A learning check: the sparse tickets stay close to the dense model.
    from pyg_ext.datasets.csbm import load_csbm
    data = load_csbm(num_nodes=600, num_classes=3, seed=0)
    for key in ('train_mask', 'val_mask', 'test_mask'):
        data[key] = data[key].view(-1)
    torch.manual_seed(0)
    res = fit_teddy(TeddyGCN(data.num_features, 32, 3), data,
                    teddy_schedule(5), epochs=100)
    dense = res['dense']['test_accuracy']
    assert dense > 0.6
    assert min(r['test_accuracy'] for r in res['levels']) > dense - 0.1


def test_ugs_rejects_model_that_ignores_edge_weight():
    class NoWeight(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(12, 3, bias=False)

        def forward(self, x, edge_index, edge_weight=None):
            return self.lin(x)

    with pytest.raises(ValueError, match='edge_weight'):
        fit_ugs(NoWeight(), tiny_data(), [(0.1, 0.1)], epochs=2)


def test_fit_teddy_custom_edge_score_changes_the_cut():
    data = tiny_data(seed=4)
    E = data.num_edges
    torch.manual_seed(0)
    # A score that prefers cutting the edges the TEDDY score would keep.
    inv = -teddy_edge_score(data.edge_index)
    st1 = fit_teddy(TeddyGCN(12, 8, 3), data, [(0.5, 0.0)], epochs=1)
    st2 = fit_teddy(TeddyGCN(12, 8, 3), data, [(0.5, 0.0)], epochs=1,
                    edge_score=inv)
    k1 = teddy_keep_mask(data.edge_index, 0.5, score=st1['score'])
    k2 = teddy_keep_mask(data.edge_index, 0.5, score=st2['score'])
    assert torch.equal(st2['score'], inv) and E > 0
    assert int((k1 & k2).sum()) < int(k1.sum())
    # The reported ticket is the cut of the score used.
    assert torch.equal(st1['edge_mask'], k1)
    assert torch.equal(st2['edge_mask'], k2)


# The generator: base seed and random orders --------------------------------
def test_default_generator_is_seed_zero_and_seed_matters():
    data = tiny_data(seed=5)
    levels = teddy_schedule(2, 0.2, 0.3)
    out = {}
    for key, gen in (('default', None), ('zero', 0), ('one', 1)):
        torch.manual_seed(0)
        g = None if gen is None else torch.Generator().manual_seed(gen)
        out[key] = fit_teddy(TeddyGCN(12, 16, 3), data, levels, epochs=6,
                             generator=g, progress=False)
    assert {k: v for k, v in out['default'].metrics.items()
            if k != 'train_seconds'} == \
        {k: v for k, v in out['zero'].metrics.items()
         if k != 'train_seconds'}
    assert out['default'].history == out['zero'].history
    # Another base seed gives other dropout masks, hence other training.
    assert out['one'].history != out['zero'].history


def test_random_pruning_orders_come_from_the_generator():
    data = tiny_data(seed=6)
    ei, N = data.edge_index, data.num_nodes
    levels = teddy_schedule(2, 0.3, 0.4)
    torch.manual_seed(0)
    model = TeddyGCN(12, 16, 3)
    params = [p for p in model.parameters() if p.requires_grad]
    numel = sum(p.numel() for p in params)
    res = fit_random_prune(model, data, levels, epochs=2, progress=False,
                           generator=torch.Generator().manual_seed(7))
    # The same draws by hand: one score per undirected pair, then one
    # permutation of the parameter entries.
    g = torch.Generator().manual_seed(7)
    lo, hi = torch.minimum(ei[0], ei[1]), torch.maximum(ei[0], ei[1])
    pair, inv = torch.unique(lo * N + hi, return_inverse=True)
    score = torch.rand(pair.numel(), generator=g, dtype=torch.float64)[inv]
    order = torch.randperm(numel, generator=g)
    p_g, p_w = levels[-1]
    assert torch.equal(res['edge_mask'],
                       teddy_keep_mask(ei, p_g, N, score=score))
    flat = torch.ones(numel, dtype=torch.bool)
    flat[order[:numel - l0_keep_count(numel, p_w)]] = False
    assert torch.equal(torch.cat([m.reshape(-1)
                                  for m in res['weight_masks']]), flat)
    # The fixed masks hold: every pruned weight of the ticket is zero.
    for p, m in zip(params, res['weight_masks']):
        assert bool((p[~m] == 0).all())


# Public shape, devices and bad input -----------------------------------
@pytest.mark.parametrize('fit', FITS, ids=lambda f: f.__name__)
def test_fit_result_shape(fit):
    data = tiny_data(seed=7)
    levels = teddy_schedule(2, 0.2, 0.3)
    torch.manual_seed(0)
    seen = []
    res = fit(TeddyGCN(12, 16, 3), data, levels, epochs=4, progress=False,
              on_epoch=lambda phase, epoch, m: seen.append((phase, epoch)))
    phases = {fit_teddy: ['teacher', 'level1', 'level2'],
              fit_random_prune: ['level1', 'level2'],
              fit_ugs: ['level1/mask', 'level1', 'level2/mask', 'level2']}
    assert seen == [(p, e) for p in phases[fit] for e in range(4)]
    assert res.epochs_run == 4 * len(phases[fit])
    last = res['levels'][-1]
    assert res.metrics['test_accuracy'] == last['test_accuracy']
    assert res.metrics['val_accuracy'] == last['val_accuracy']
    assert res.metrics['level2_test_accuracy'] == last['test_accuracy']
    assert res.metrics['level1_graph_sparsity'] == \
        res['levels'][0]['graph_sparsity']
    assert res.best_epoch == last['best_epoch']
    assert len(res.history['val_accuracy']) == 4
    assert res.history['val_accuracy'][res.best_epoch] == \
        last['val_accuracy']
    if fit is fit_teddy:
        assert res.metrics['dense_test_accuracy'] == \
            res['dense']['test_accuracy']
    else:
        assert 'dense' not in res.extras


@pytest.mark.parametrize('fit', FITS, ids=lambda f: f.__name__)
def test_fit_on_device(fit, device):
    data = tiny_data(seed=8)
    levels = teddy_schedule(2, 0.2, 0.3)
    torch.manual_seed(0)
    model = TeddyGCN(12, 16, 3, dropout=0.0)
    cpu = fit(copy.deepcopy(model), data, levels, epochs=3, progress=False)
    res = fit(model, data, levels, epochs=3, progress=False, device=device,
              generator=torch.Generator(device).manual_seed(0))
    assert res['edge_mask'].device.type == device.type
    for a, b in zip(cpu['levels'], res['levels']):
        # Exact counts on any device (the random orders and UGS's noise are
        # drawn on the device, so the chosen edges may differ).
        assert a['graph_sparsity'] == b['graph_sparsity']
        assert a['weight_sparsity'] == pytest.approx(b['weight_sparsity'])
        if fit is fit_teddy:  # deterministic (no dropout, no random draw)
            assert a['val_accuracy'] == pytest.approx(b['val_accuracy'],
                                                      abs=0.07)


def test_data_on_another_device_than_the_model():
    data = tiny_data()
    model = TeddyGCN(12, 16, 3).to('meta')
    for fit in FITS:
        with pytest.raises(ValueError, match='meta') as err:
            fit(model, data, [(0.1, 0.1)], epochs=1)
        assert 'cpu' in str(err.value)
    # device= moves both (here: a model on the CPU and data on the CPU).
    torch.manual_seed(0)
    res = fit_teddy(TeddyGCN(12, 16, 3), data, [(0.1, 0.1)], epochs=1,
                    device='cpu', progress=False)
    assert len(res['levels']) == 1
    score = teddy_edge_score(data.edge_index).to('meta')
    with pytest.raises(ValueError, match='edge_score.*meta'):
        fit_teddy(TeddyGCN(12, 16, 3), data, [(0.1, 0.1)], epochs=1,
                  edge_score=score)


def test_bad_input():
    data = tiny_data()
    m = TeddyGCN(12, 16, 3)
    for levels, err in (([], ValueError), ([(0.1, 0.2, 0.3)], ValueError),
                        ([(0.1, 'a')], TypeError), ('0.1', TypeError),
                        (0.5, TypeError), ([(0.1, 1.0)], ValueError)):
        with pytest.raises(err, match='levels'):
            fit_teddy(m, data, levels, epochs=1)
    with pytest.raises(ValueError, match='epochs'):
        fit_random_prune(m, data, [(0.1, 0.1)], epochs=0)
    with pytest.raises(ValueError, match='lamb'):
        fit_teddy(m, data, [(0.1, 0.1)], lamb=-1.0)
    with pytest.raises(ValueError, match='count'):
        fit_teddy(m, data, [(0.1, 0.1)], count='pairs')
    with pytest.raises(ValueError, match='lambda_edge'):
        fit_ugs(m, data, [(0.1, 0.1)], lambda_edge=-1e-6)
    with pytest.raises(TypeError, match='generator'):
        fit_ugs(m, data, [(0.1, 0.1)], generator=0)
    with pytest.raises(ValueError, match='edge_score'):
        fit_teddy(m, data, [(0.1, 0.1)], edge_score=torch.ones(3))
    with pytest.raises(ValueError, match='optimizer'):
        fit_random_prune(m, data, [(0.1, 0.1)], optimizer='lbfgs',
                         progress=False)
    bad = data.clone()
    bad.val_mask = torch.zeros_like(bad.val_mask)
    with pytest.raises(ValueError, match='val_mask'):
        fit_ugs(m, bad, [(0.1, 0.1)])
    bad = data.clone()
    del bad.test_mask
    with pytest.raises(ValueError, match='test_mask'):
        fit_teddy(m, bad, [(0.1, 0.1)])


def test_checkpoint_of_another_sweep_is_refused(tmp_path):
    data = tiny_data(seed=11)
    ckpt = tmp_path / 'ck.pt'
    kw = dict(epochs=2, progress=False, checkpoint=ckpt)
    torch.manual_seed(0)
    fit_teddy(TeddyGCN(12, 16, 3), data, [(0.1, 0.1)], **kw)
    with pytest.raises(ValueError, match="checkpoint.*'fit'"):
        fit_random_prune(TeddyGCN(12, 16, 3), data, [(0.1, 0.1)], **kw)
    with pytest.raises(ValueError, match="checkpoint.*'levels'"):
        fit_teddy(TeddyGCN(12, 16, 3), data, [(0.2, 0.1)], **kw)
    with pytest.raises(ValueError, match="checkpoint.*'lamb'"):
        fit_teddy(TeddyGCN(12, 16, 3), data, [(0.1, 0.1)], lamb=1.0, **kw)
    with pytest.raises(ValueError, match="checkpoint.*'seed'"):
        fit_teddy(TeddyGCN(12, 16, 3), data, [(0.1, 0.1)],
                  generator=torch.Generator().manual_seed(1), **kw)
    # The same call resumes the finished sweep: same numbers, no training.
    torch.manual_seed(0)
    a = fit_teddy(TeddyGCN(12, 16, 3), data, [(0.1, 0.1)], epochs=2,
                  progress=False)
    b = fit_teddy(TeddyGCN(12, 16, 3), data, [(0.1, 0.1)], **kw)
    assert a['levels'][0]['test_accuracy'] == b['levels'][0]['test_accuracy']
    assert b.history == a.history


def test_gin_backbone_and_sparse_features():
    # CSR features give the TeddyGIN sweep the numbers of dense features.
    data = tiny_data(seed=9)
    levels = teddy_schedule(2, 0.2, 0.3)
    out = []
    for x in (data.x, data.x.to_sparse_csr()):
        d = data.clone()
        d.x = x
        torch.manual_seed(0)
        out.append(fit_teddy(TeddyGIN(12, 16, 3), d, levels, epochs=5,
                             progress=False))
    for a, b in zip(out[0]['levels'], out[1]['levels']):
        assert a['graph_sparsity'] == b['graph_sparsity']
        assert a['val_accuracy'] == pytest.approx(b['val_accuracy'],
                                                  abs=0.07)


# Device audit of the training steps --------------------------------------
@pytest.mark.parametrize('fit', FITS, ids=lambda f: f.__name__)
def test_steps_have_no_host_reads_or_cpu_factories(fit, monkeypatch):
    data = tiny_data(seed=10)
    torch.manual_seed(0)
    with audit_steps(monkeypatch) as audit:
        fit(TeddyGCN(12, 16, 3), data, teddy_schedule(2, 0.2, 0.3),
            epochs=2, progress=False)
    assert audit.violations == []
