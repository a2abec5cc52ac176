import copy
import io
import math

import pytest
import torch
import torch.nn.functional as F
from torch_geometric.nn import GCNConv, SAGEConv
from torch_geometric.nn.models import GAT, GCN, GIN, MLP, GraphSAGE

from pyg_ext.nn.models import Mowst, MowstOutput
from pyg_ext.utils import khop_in_subgraph
from pyg_ext.utils.dispersion import entropy_dispersion, variance_dispersion

from helpers_mowst import FixedConf

C = 3
F_IN = 8


def random_graph(n=60, e=150, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, F_IN, generator=g)
    edge_index = torch.randint(0, n, (2, e), generator=g)
    y = torch.randint(0, C, (n, ), generator=g)
    return x, edge_index, y


class ConstGate(torch.nn.Module):
    r"""A custom gate returning a fixed confidence."""
    def __init__(self, value):
        super().__init__()
        self.value = value

    def forward(self, inp):
        return torch.full((inp.size(0), ), float(self.value))


class FreeLogits(torch.nn.Module):
    r"""A weak 'expert' whose logits are free parameters."""
    def __init__(self, n, c, seed=0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.z = torch.nn.Parameter(torch.randn(n, c, generator=g))
        self.out_channels = c

    def forward(self, x):
        return self.z[:x.size(0)]


class Raising(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(F_IN, C)

    def forward(self, x, edge_index):
        raise AssertionError('the strong expert must not be called')


class Counting(torch.nn.Module):
    r"""A user GNN with a plain forward(x, edge_index), counting the nodes
    it is run on."""
    def __init__(self):
        super().__init__()
        self.conv1 = SAGEConv(F_IN, 16)
        self.conv2 = SAGEConv(16, C)
        self.seen = []

    def forward(self, x, edge_index):
        self.seen.append(x.size(0))
        return self.conv2(self.conv1(x, edge_index).relu(), edge_index)


def make(strong=None, weak=None, **kwargs):
    torch.manual_seed(0)
    weak = weak if weak is not None else MLP([F_IN, 16, C], dropout=0.0)
    strong = strong if strong is not None else GraphSAGE(F_IN, 16, 2, C)
    return Mowst(weak, strong, C, **kwargs)


# 1/2 -------------------------------------------------------------------
def test_repr_and_shapes():
    model = make()
    assert repr(model) == ("Mowst(variant='mowst', weak=MLP, "
                           "strong=GraphSAGE, num_classes=3, gate='mlp', "
                           "dispersion=('variance', 'entropy'))")
    x, ei, _ = random_graph()
    out = model(x, ei)
    assert isinstance(out, MowstOutput)
    assert out.weak_logits.shape == out.strong_logits.shape == (60, C)
    assert out.conf.shape == (60, )
    assert bool((out.conf > 0).all()) and bool((out.conf < 1).all())
    assert torch.allclose(out.log_probs.exp().sum(-1), torch.ones(60),
                          atol=1e-5)


@pytest.mark.parametrize('name,fn', [('variance', variance_dispersion),
                                     ('entropy', entropy_dispersion)])
def test_identity_gate_equals_dispersion(name, fn):
    model = make(dispersion=name, gate='identity')
    x, ei, _ = random_graph()
    logits = torch.randn(60, C)
    assert torch.equal(model.confidence(logits),
                       fn(logits.softmax(-1)).clamp(0, 1))
    model = make(dispersion=name, gate='power', gate_alpha=2.0)
    assert torch.allclose(model.confidence(logits),
                          fn(logits.softmax(-1)).clamp(0, 1).pow(2))


def test_mlp_gate_with_features_and_double_softmax():
    model = make(gate_in_features=F_IN)
    model.eval()
    x, ei, _ = random_graph()
    logits = torch.randn(60, C) * 5
    d = model.dispersions(logits)
    expected = model.gate(torch.cat([d, x], dim=-1))
    assert torch.equal(model.confidence(logits, x), expected)
    with pytest.raises(ValueError, match="'x' is required"):
        model.confidence(logits)
    # The double softmax (official Mowst* test path) flattens p: a one-hot
    # prediction no longer has dispersion 1.
    big = torch.tensor([[50.0, 0.0, 0.0]])
    assert model.dispersions(big).min().item() == pytest.approx(1, abs=1e-6)
    assert model.dispersions(big, double_softmax=True).max().item() < 0.3


# 3/4 -------------------------------------------------------------------
def hand_losses(w, s, conf, y):
    lw = F.cross_entropy(w, y, reduction='none')
    ls = F.cross_entropy(s, y, reduction='none')
    mowst = (conf * lw + (1 - conf) * ls).mean()
    mix = conf[:, None] * w.softmax(-1) + (1 - conf[:, None]) * s.softmax(-1)
    star = -mix[torch.arange(y.numel()), y].log().mean()
    return mowst, star, lw.mean(), ls.mean()


def test_loss_matches_hand_formula_and_limits():
    torch.manual_seed(1)
    w, s = torch.randn(40, C), torch.randn(40, C)
    conf, y = torch.rand(40), torch.randint(0, C, (40, ))
    m, st = make(), make(variant='mowst_star')
    hm, hs, lw, ls = hand_losses(w, s, conf, y)
    assert m.loss(m.make_output(w, s, conf), y).item() == pytest.approx(
        hm.item(), rel=1e-6)
    assert st.loss(st.make_output(w, s, conf), y).item() == pytest.approx(
        hs.item(), rel=1e-6)
    idx = torch.arange(0, 40, 3)
    hm_idx = hand_losses(w[idx], s[idx], conf[idx], y[idx])[0]
    assert m.loss(m.make_output(w, s, conf), y, idx).item() == \
        pytest.approx(hm_idx.item(), rel=1e-6)
    for model in (m, st):
        one = model.make_output(w, s, torch.ones(40))
        zero = model.make_output(w, s, torch.zeros(40))
        assert model.loss(one, y).item() == pytest.approx(lw.item(),
                                                          rel=1e-6)
        assert model.loss(zero, y).item() == pytest.approx(ls.item(),
                                                           rel=1e-6)


def test_gate_constant_through_forward():
    x, ei, y = random_graph()
    for value, key in ((1.0, 'weak'), (0.0, 'strong')):
        for variant in ('mowst', 'mowst_star'):
            model = make(gate=ConstGate(value), variant=variant)
            out = model(x, ei)
            logits = out.weak_logits if key == 'weak' else out.strong_logits
            assert model.loss(out, y).item() == pytest.approx(
                F.cross_entropy(logits, y).item(), rel=1e-5)


def test_star_logit_mix():
    model = make(variant='mowst_star', star_mix='logit')
    w, s, conf = torch.randn(10, C), torch.randn(10, C), torch.rand(10)
    out = model.make_output(w, s, conf)
    c = conf[:, None]
    assert torch.allclose(out.log_probs, (c * w + (1 - c) * s).log_softmax(-1))


def test_mowst_loss_upper_bounds_star_loss():
    m, st = make(), make(variant='mowst_star')
    for seed in range(20):
        torch.manual_seed(seed)
        w, s = 3 * torch.randn(30, C), 3 * torch.randn(30, C)
        conf, y = torch.rand(30), torch.randint(0, C, (30, ))
        a = m.loss(m.make_output(w, s, conf), y, reduction='none')
        b = st.loss(st.make_output(w, s, conf), y, reduction='none')
        assert bool((a >= b - 1e-6).all())  # Jensen, per node


# 5 ---------------------------------------------------------------------
def test_gradient_with_respect_to_confidence():
    m = make()
    torch.manual_seed(2)
    w, s, y = torch.randn(20, C), torch.randn(20, C), torch.randint(0, C,
                                                                      (20, ))
    conf = torch.rand(20).requires_grad_()
    mask = torch.zeros(20, dtype=torch.bool)
    mask[:8] = True
    m.loss(m.make_output(w, s, conf), y, mask).backward()
    lw = F.cross_entropy(w, y, reduction='none')
    ls = F.cross_entropy(s, y, reduction='none')
    expected = torch.where(mask, (lw - ls) / 8, torch.zeros(20))
    assert torch.allclose(conf.grad, expected, atol=1e-6)


@pytest.mark.parametrize('detach', [True, False])
def test_weak_logit_gradient(detach):
    n = 12
    x, ei, y = random_graph(n, 30)
    weak = FreeLogits(n, C)
    model = make(weak=weak, detach_dispersion=detach)
    model.eval()  # no dropout / batch statistics in the gate
    out = model(x, ei)
    loss = model.loss(out, y)
    loss.backward()
    p = out.weak_logits.detach().softmax(-1)
    ce_grad = (p - F.one_hot(y, C)) / n
    expected = out.conf.detach()[:, None] * ce_grad
    if detach:
        assert torch.allclose(weak.z.grad, expected, atol=1e-6)
    else:
        assert not torch.allclose(weak.z.grad, expected, atol=1e-4)


# 6 ---------------------------------------------------------------------
def test_turn_isolation():
    x, ei, y = random_graph()
    model = make()
    weak_ids = {id(p) for p in model.weak_parameters()}
    strong_ids = {id(p) for p in model.strong_parameters()}
    assert not weak_ids & strong_ids
    assert weak_ids | strong_ids == {id(p) for p in model.parameters()}
    assert {id(p) for p in model.gate.parameters()} <= weak_ids
    for own, other in ((model.weak_parameters, model.strong_parameters),
                       (model.strong_parameters, model.weak_parameters)):
        before = [p.detach().clone() for p in other()]
        mine = [p.detach().clone() for p in own()]
        opt = torch.optim.AdamW(own(), lr=0.1, weight_decay=0.1)
        opt.zero_grad()
        model.loss(model(x, ei), y).backward()
        opt.step()
        assert all(torch.equal(a, b) for a, b in zip(before, other()))
        assert any(not torch.equal(a, b) for a, b in zip(mine, own()))


# 7 ---------------------------------------------------------------------
def test_sample_routing_rule():
    x, ei, _ = random_graph()
    model = make()
    pred = model.predict(x, ei, generator=torch.Generator().manual_seed(3))
    q = torch.rand(60, generator=torch.Generator().manual_seed(3))
    assert torch.equal(pred.used_strong, q >= pred.conf)
    model.eval()
    with torch.no_grad():
        weak = model.weak(x).argmax(-1)
        strong = model.strong(x, ei).argmax(-1)
    assert torch.equal(pred.pred, torch.where(pred.used_strong, strong, weak))
    assert bool(pred.strong_logits[~pred.used_strong].isnan().all())


def test_sample_fraction_matches_mean_confidence():
    n = 20000
    x = torch.randn(n, F_IN)
    ei = torch.empty(2, 0, dtype=torch.long)
    # conf = variance dispersion of random weak logits: varies per node.
    model = make(weak=FreeLogits(n, C, seed=4), dispersion='variance',
                 gate='identity')
    pred = model.predict(x, ei, generator=torch.Generator().manual_seed(0))
    frac_weak = 1 - pred.used_strong.double().mean().item()
    mean_c = pred.conf.double().mean().item()
    sigma = math.sqrt((pred.conf * (1 - pred.conf)).double().sum().item()) / n
    assert abs(frac_weak - mean_c) < 4 * sigma
    assert 0.05 < mean_c < 0.95


def test_conf_one_never_calls_strong_and_zero_equals_strong():
    x, ei, _ = random_graph()
    model = make(strong=Raising(), gate=ConstGate(1.0), strong_num_hops=2)
    pred = model.predict(x, ei, generator=torch.Generator().manual_seed(0))
    assert not bool(pred.used_strong.any())
    assert pred.num_strong_nodes_computed == 0
    model.eval()
    assert torch.equal(pred.pred, model.weak(x).argmax(-1))

    model = make(gate=ConstGate(0.0))
    pred = model.predict(x, ei, generator=torch.Generator().manual_seed(0))
    model.eval()
    assert bool(pred.used_strong.all())
    assert torch.equal(pred.pred, model.strong(x, ei).argmax(-1))
    assert pred.num_strong_nodes_computed == 60


# 8/9 -------------------------------------------------------------------
def brute_force_khop(targets, hops, edge_index, n):
    reach = set(targets.tolist())
    frontier = set(reach)
    src, dst = edge_index.tolist()
    for _ in range(hops):
        new = {s for s, d in zip(src, dst) if d in frontier} - reach
        reach |= new
        frontier = new
    return reach


def spread_gate(n):
    # Free weak logits and C = D_var: confidences spread over [0, 1].
    return dict(weak=FreeLogits(n, C, seed=7), dispersion='variance',
                gate='identity')


def strongs():
    torch.manual_seed(5)
    return {
        'sage': (GraphSAGE(F_IN, 16, 2, C), 2, {}),
        'gin': (GIN(F_IN, 16, 2, C), 2, {}),
        'gat': (GAT(F_IN, 8, 2, C, heads=2), 2, {}),
        'gcn_extra_hop': (GCN(F_IN, 16, 2, C), 3,
                          dict(gcn_subgraph='extra_hop')),
        'gcn_prenormalize': (GCN(F_IN, 16, 2, C), 2,
                             dict(gcn_subgraph='prenormalize')),
        'gcn_auto': (GCN(F_IN, 16, 2, C), 2, {}),
        'user_gnn': (Counting(), 2, {}),
    }


@pytest.mark.parametrize('name', list(strongs()))
def test_subgraph_inference_is_exact(name):
    strong, hops, kwargs = strongs()[name]
    x, ei, _ = random_graph(200, 300, seed=6)
    model = make(strong=strong, **spread_gate(200), **kwargs)
    model.eval()
    with torch.no_grad():
        full = model.strong(x, ei)
    pred = model.predict(x, ei, mode='threshold', threshold=0.15)
    used = pred.used_strong
    assert 0 < int(used.sum()) < 200
    assert torch.allclose(pred.strong_logits[used], full[used], atol=1e-5)
    reach = brute_force_khop(pred.index[used], hops, ei, 200)
    assert pred.num_strong_nodes_computed == len(reach) < 200
    if name == 'user_gnn':
        assert strong.seen[-1] == len(reach)


def in_edges(targets, edge_index, self_loops=False):
    # GCN's normalisation replaces existing self-loops by one per node.
    into = torch.isin(edge_index[1], targets)
    if not self_loops:
        return int(into.sum())
    return int((into & (edge_index[0] != edge_index[1])).sum()) + \
        targets.numel()


@pytest.mark.parametrize('name', ['sage', 'gin', 'gat', 'gcn_auto'])
def test_trimmed_layers_compute_only_what_the_next_layer_reads(name):
    # Dense enough that the 2-hop set is (nearly) the whole graph: the
    # saving then comes from the trimming (the last layer sees only the
    # edges into the routed nodes, the first only those into their 1-hop
    # set).
    strong, hops, _ = strongs()[name]
    x, ei, _ = random_graph(200, 1500, seed=3)
    model = make(strong=strong, trim_layers=True, **spread_gate(200))
    model.eval()
    with torch.no_grad():
        full = model.strong(x, ei)
    seen = []
    handles = [
        conv.register_forward_pre_hook(
            lambda m, args: seen.append((args[0].size(0), args[1].size(1))))
        for conv in model.strong.convs
    ]
    pred = model.predict(x, ei, mode='threshold', threshold=0.02)
    for h in handles:
        h.remove()
    used = pred.used_strong
    assert 0 < int(used.sum()) < 40
    assert torch.allclose(pred.strong_logits[used], full[used], atol=1e-5)
    act = pred.index[used]
    one_hop = torch.tensor(sorted(brute_force_khop(act, 1, ei, 200)))
    two_hop = brute_force_khop(act, 2, ei, 200)
    assert one_hop.numel() < len(two_hop)
    assert pred.num_strong_nodes_computed == len(two_hop)
    loops = name == 'gcn_auto'  # pre-normalised edges: with self-loops
    assert seen[0] == (len(two_hop), in_edges(one_hop, ei, loops))
    assert seen[1] == (one_hop.numel(), in_edges(act, ei, loops))

    # trim_layers=False runs both layers on the whole graph, same logits.
    strong, _, _ = strongs()[name]
    model = make(strong=strong, trim_layers=False, **spread_gate(200))
    untrimmed = model.predict(x, ei, mode='threshold', threshold=0.02)
    assert torch.equal(untrimmed.used_strong, used)
    assert torch.allclose(untrimmed.strong_logits[used],
                          pred.strong_logits[used], atol=1e-5)


def test_trimming_falls_back_where_it_does_not_apply():
    x, ei, _ = random_graph(200, 300, seed=6)
    # jk='cat' concatenates every layer's output: no trimming, still exact.
    torch.manual_seed(5)
    jk = GraphSAGE(F_IN, 16, 2, C, jk='cat')
    # A subclass with its own forward is treated as a user GNN.
    class MySAGE(GraphSAGE):
        def forward(self, x, edge_index):
            return super().forward(x, edge_index)
    for strong in (jk, MySAGE(F_IN, 16, 2, C)):
        model = make(strong=strong, **spread_gate(200))
        model.eval()
        with torch.no_grad():
            full = model.strong(x, ei)
        pred = model.predict(x, ei, mode='threshold', threshold=0.15)
        used = pred.used_strong
        assert torch.allclose(pred.strong_logits[used], full[used],
                              atol=1e-5)
    with pytest.raises(ValueError, match="'trim_layers' must be True, "):
        make(trim_layers='yes')


def conv_inputs(model, x, ei, threshold):
    seen = []
    handles = [
        conv.register_forward_pre_hook(
            lambda m, args: seen.append((args[0].size(0), args[1].size(1))))
        for conv in model.strong.convs
    ]
    pred = model.predict(x, ei, mode='threshold', threshold=threshold)
    for h in handles:
        h.remove()
    return pred, seen


def test_auto_trimming_follows_the_cost_model():
    g = torch.Generator().manual_seed(2)
    x = torch.randn(400, 64, generator=g)
    ei = torch.randint(0, 400, (2, 1200), generator=g)
    # 64-wide first layer, 2-class last layer, 1-hop set ~ the whole graph
    # (mean degree 100): trimming would only save the cheap last layer.
    dense_ei = torch.randint(0, 400, (2, 40000), generator=g)
    torch.manual_seed(5)
    model = Mowst(MLP([64, 16, 2]), GraphSAGE(64, 64, 2, 2), 2,
                  trim_layers='auto',
                  gate=FixedConf(torch.rand(400, generator=g)))
    pred, seen = conv_inputs(model, x, dense_ei, 0.05)
    assert 0 < int(pred.used_strong.sum()) < 40
    assert seen[1][1] == dense_ei.size(1)  # untrimmed: all edges again
    # Sparse graph, few routed nodes: trimming pays off.
    pred, seen = conv_inputs(model, x, ei, 0.05)
    act = pred.index[pred.used_strong]
    assert seen[1][1] == in_edges(act, ei)
    with torch.no_grad():
        model.eval()
        for graph in (dense_ei, ei):
            ref = model.strong(x, graph)
            pred = model.predict(x, graph, mode='threshold', threshold=0.05)
            used = pred.used_strong
            assert torch.allclose(pred.strong_logits[used], ref[used],
                                  atol=1e-5)


def test_nearly_whole_khop_set_runs_the_whole_graph():
    # A k-hop set of >= 90% of the nodes: the strong expert runs on the
    # whole graph (no induced copy) and the report says so.
    from pyg_ext.nn.models.mowst_inference import FULL_GRAPH_SHARE
    x, ei, _ = random_graph(200, 300, seed=6)
    for threshold in (0.15, 0.3, 0.45, 0.6):
        strong = Counting()
        model = make(strong=strong, **spread_gate(200))
        model.eval()
        with torch.no_grad():
            full = model.strong(x, ei)
        pred = model.predict(x, ei, mode='threshold', threshold=threshold)
        used = pred.used_strong
        assert torch.allclose(pred.strong_logits[used], full[used],
                              atol=1e-5)
        reach = len(brute_force_khop(pred.index[used], 2, ei, 200))
        if reach >= FULL_GRAPH_SHARE * 200:
            assert pred.num_strong_nodes_computed == 200
            assert strong.seen[-1] == 200
            break
        assert pred.num_strong_nodes_computed == reach == strong.seen[-1]
    else:
        raise AssertionError('no threshold reached 90% of the nodes')


def test_all_nodes_routed_normalises_once_and_restores():
    x, ei, _ = random_graph(200, 300, seed=6)
    torch.manual_seed(5)
    model = make(strong=GCN(F_IN, 16, 2, C), gate=ConstGate(0.0))
    model.eval()
    with torch.no_grad():
        full = model.strong(x, ei)
    pred = model.predict(x, ei, mode='threshold', threshold=0.5)
    assert bool(pred.used_strong.all())
    assert torch.allclose(pred.strong_logits, full, atol=1e-5)
    assert all(conv.normalize for conv in model.strong.convs)


def test_all_targets_routed_with_an_index_and_none():
    # Every target routed: the strong output is used as is (index=None), or
    # computed on the targets' k-hop subgraph (an index, here with a
    # duplicate); an empty index routes nothing.
    x, ei, _ = random_graph(200, 300, seed=6)
    torch.manual_seed(5)
    model = make(strong=GCN(F_IN, 16, 2, C), gate=ConstGate(0.0))
    model.eval()
    with torch.no_grad():
        full = model.strong(x, ei)
    for idx in (None, torch.tensor([4, 4, 17, 199])):
        pred = model.predict(x, ei, mode='threshold', threshold=0.5,
                             index=idx)
        ref = full if idx is None else full[idx]
        assert bool(pred.used_strong.all())
        assert torch.allclose(pred.strong_logits, ref, atol=1e-5)
        assert torch.equal(pred.pred, pred.strong_logits.argmax(-1))
        expect = 200 if idx is None else len(
            brute_force_khop(idx, 2, ei, 200))  # pre-normalised: L hops
        assert pred.num_strong_nodes_computed == expect
    empty = model.predict(x, ei, mode='threshold', threshold=0.5,
                          index=torch.tensor([], dtype=torch.long))
    assert empty.pred.numel() == 0 and empty.num_strong_nodes_computed == 0


def test_naive_khop_gcn_is_not_exact():
    # Without the extra hop GCN's normalisation of the outermost nodes is
    # wrong: this is why the model adds one.
    x, ei, _ = random_graph(200, 300, seed=6)
    torch.manual_seed(5)
    model = make(strong=GCN(F_IN, 16, 2, C), strong_num_hops=2,
                 gcn_subgraph='extra_hop', **spread_gate(200))
    model.eval()
    with torch.no_grad():
        full = model.strong(x, ei)
    pred = model.predict(x, ei, mode='threshold', threshold=0.15)
    used = pred.used_strong
    assert not torch.allclose(pred.strong_logits[used], full[used],
                              atol=1e-5)


def test_cached_gcn_is_rejected():
    x, ei, _ = random_graph()
    model = make(strong=GCN(F_IN, 16, 2, C, cached=True))
    with pytest.raises(ValueError, match='cached=True'):
        model.predict(x, ei)
    with pytest.raises(ValueError, match='cached=True'):
        model.predict(x, ei, mode='threshold', index=torch.arange(5))
    # The full-graph mixture is fine with a cache.
    model.predict(x, ei, mode='mixture')


def test_nothing_activated_costs_nothing_and_index():
    x, ei, _ = random_graph()
    model = make()
    pred = model.predict(x, ei, mode='threshold', threshold=0.0)
    assert pred.num_strong_nodes_computed == 0
    assert not bool(pred.used_strong.any())
    idx = torch.tensor([3, 7, 11])
    sub = model.predict(x, ei, mode='mixture', index=idx)
    whole = model.predict(x, ei, mode='mixture')
    assert torch.equal(sub.pred, whole.pred[idx])
    assert torch.allclose(sub.strong_logits, whole.strong_logits[idx],
                          atol=1e-5)
    mask = torch.zeros(60, dtype=torch.bool)
    mask[idx] = True
    assert torch.equal(model.predict(x, ei, mode='mixture', index=mask).pred,
                       sub.pred)


def test_khop_in_subgraph_matches_brute_force():
    x, ei, _ = random_graph(100, 250, seed=9)
    targets = torch.tensor([0, 5, 17])
    for hops in range(4):
        subset, sub_ei, mapping, mask = khop_in_subgraph(targets, hops, ei,
                                                         100)
        assert set(subset.tolist()) == brute_force_khop(targets, hops, ei,
                                                        100)
        assert torch.equal(subset[mapping], targets)
        assert torch.equal(subset[sub_ei], ei[:, mask])


# 10 --------------------------------------------------------------------
def test_expected_accuracy_matches_monte_carlo():
    x, ei, y = random_graph(300, 900, seed=10)
    model = make(dispersion='variance', gate='identity')
    accs = []
    for seed in range(300):
        pred = model.predict(x, ei, generator=torch.Generator().manual_seed(
            seed))
        accs.append((pred.pred == y).double().mean().item())
    model.eval()
    with torch.no_grad():
        out = model(x, ei)
    wc = out.weak_logits.argmax(-1) == y
    sc = out.strong_logits.argmax(-1) == y
    exact = Mowst.expected_accuracy(out.conf, wc, sc)
    c = out.conf.double()
    sigma = math.sqrt((c * (1 - c) * (wc.double() - sc.double())**2).sum()
                      .item()) / 300 / math.sqrt(300)
    mc = sum(accs) / len(accs)
    assert abs(mc - exact) < 3 * sigma + 1e-12
    # Closed form on a hand-made case.
    assert Mowst.expected_accuracy(
        torch.tensor([1.0, 0.0, 0.25]), torch.tensor([True, False, True]),
        torch.tensor([False, True, False])) == pytest.approx(
            (1 + 1 + 0.25) / 3)


# 11 --------------------------------------------------------------------
def test_star_mixture_inference():
    x, ei, _ = random_graph()
    model = make(variant='mowst_star')
    g = torch.Generator().manual_seed(0)
    state = g.get_state()
    pred = model.predict(x, ei, mode='mixture', generator=g)
    assert torch.equal(g.get_state(), state)  # no sampling
    model.eval()
    with torch.no_grad():
        w, s = model.weak(x), model.strong(x, ei)
        c = model.confidence(w)[:, None]
    mix = c * w.softmax(-1) + (1 - c) * s.softmax(-1)
    assert torch.equal(pred.pred, mix.argmax(-1))
    assert bool(pred.used_strong.all())
    assert torch.equal(model.predict(x, ei, mode='mixture').pred, pred.pred)


# 12 --------------------------------------------------------------------
def test_determinism_and_train_mode_restored():
    x, ei, _ = random_graph()
    a, b = make(), make()
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    a.train()
    pa = a.predict(x, ei, generator=torch.Generator().manual_seed(1))
    pb = b.predict(x, ei, generator=torch.Generator().manual_seed(1))
    assert a.training
    assert torch.equal(pa.pred, pb.pred)
    assert torch.equal(pa.used_strong, pb.used_strong)


def test_reset_parameters_and_pickling():
    model = make()
    before = [p.detach().clone() for p in model.parameters()]
    torch.manual_seed(123)
    model.reset_parameters()
    assert all(not torch.equal(a, b)
               for a, b in zip(before, model.parameters()) if a.dim() > 1)
    buf = io.BytesIO()
    torch.save(model, buf)
    buf.seek(0)
    clone = torch.load(buf, weights_only=False)
    x, ei, _ = random_graph()
    model.eval()
    clone.eval()
    assert torch.equal(model(x, ei).log_probs, clone(x, ei).log_probs)


# bad input -------------------------------------------------------------
def test_class_count_mismatch():
    with pytest.raises(ValueError, match='strong expert outputs 4 classes'):
        Mowst(MLP([F_IN, 8, C]), GraphSAGE(F_IN, 8, 2, 4), C)
    with pytest.raises(ValueError, match='weak expert outputs 2 classes'):
        Mowst(MLP([F_IN, 8, 2]), GraphSAGE(F_IN, 8, 2, C), C)

    class NoAttr(torch.nn.Module):  # class count only visible at run time
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(F_IN, 4)

        def forward(self, x):
            return self.lin(x)

    model = Mowst(NoAttr(), GraphSAGE(F_IN, 8, 2, C), C)
    x, ei, _ = random_graph()
    with pytest.raises(ValueError, match='weak expert returned 4 classes'):
        model(x, ei)


@pytest.mark.parametrize('kwargs,match', [
    (dict(dispersion='kurtosis'), "unknown dispersion 'kurtosis'"),
    (dict(dispersion=()), 'non-empty'),
    (dict(gate='softmax'), "unknown gate 'softmax'"),
    (dict(gate='identity'), 'exactly one dispersion'),
    (dict(variant='moe'), "'variant'"),
    (dict(star_mix='avg'), "'star_mix'"),
    (dict(gate_layers=0), "'gate_layers'"),
    (dict(gate_dropout=1.0), "'gate_dropout'"),
    (dict(strong_num_hops=-1), "'strong_num_hops'"),
    (dict(gcn_subgraph='magic'), "'gcn_subgraph'"),
])
def test_bad_constructor_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make(**kwargs)


def test_bad_types():
    with pytest.raises(TypeError, match="'weak' must be a torch.nn.Module"):
        Mowst(lambda x: x, GraphSAGE(F_IN, 8, 2, C), C)
    with pytest.raises(ValueError, match="'num_classes'"):
        Mowst(MLP([F_IN, 8, C]), GraphSAGE(F_IN, 8, 2, C), 1)


@pytest.mark.parametrize('threshold', [-0.1, 1.5, float('nan'), '0.5'])
def test_threshold_outside_unit_interval(threshold):
    x, ei, _ = random_graph()
    with pytest.raises(ValueError, match="'threshold' must be a number in"):
        make().predict(x, ei, mode='threshold', threshold=threshold)


def test_bad_mode_and_graph():
    x, ei, _ = random_graph()
    model = make()
    with pytest.raises(ValueError, match="'mode' must be one of"):
        model.predict(x, ei, mode='vote')
    bad = ei.clone()
    bad[0, 0] = 60
    with pytest.raises(ValueError, match="'x' has 60 nodes"):
        model(x, bad)
    with pytest.raises(ValueError, match="'x' has 60 nodes"):
        model.predict(x, bad)
    with pytest.raises(ValueError, match=r"\[2, E\]"):
        model(x, ei.t())
    with pytest.raises(ValueError, match="'x' must be a 2-D"):
        model(x[0], ei)
    with pytest.raises(ValueError, match="'index'"):
        model.predict(x, ei, index=torch.tensor([60]))
    with pytest.raises(ValueError, match="gate_in_features=4"):
        make(gate_in_features=4)(x, ei)
    with pytest.raises(ValueError, match='no MessagePassing'):
        make(strong=Raising()).predict(x, ei, mode='threshold',
                                       threshold=1.0, index=torch.arange(5))


def test_experts_are_not_reinitialised_by_the_constructor():
    torch.manual_seed(0)
    weak, strong = MLP([F_IN, 16, C]), GraphSAGE(F_IN, 16, 2, C)
    before = [p.detach().clone() for p in list(weak.parameters()) +
              list(strong.parameters())]
    model = Mowst(weak, strong, C)
    after = list(model.weak.parameters()) + list(model.strong.parameters())
    assert all(torch.equal(a, b) for a, b in zip(before, after))


@pytest.mark.parametrize('mode', ['extra_hop', 'prenormalize'])
def test_subgraph_inference_with_edge_weights(mode):
    x, ei, _ = random_graph(200, 300, seed=6)
    w = torch.rand(ei.size(1), generator=torch.Generator().manual_seed(1))
    torch.manual_seed(5)
    model = make(strong=GCN(F_IN, 16, 2, C), gcn_subgraph=mode,
                 **spread_gate(200))
    model.eval()
    with torch.no_grad():
        full = model.strong(x, ei, edge_weight=w)
    pred = model.predict(x, ei, mode='threshold', threshold=0.15,
                         edge_weight=w)
    used = pred.used_strong
    assert 0 < int(used.sum()) < 200
    assert torch.allclose(pred.strong_logits[used], full[used], atol=1e-5)
    # The normalisation is switched back on after the call.
    assert all(conv.normalize for conv in model.strong.convs)
    with pytest.raises(ValueError, match="'edge_weight' has 3 rows"):
        model.predict(x, ei, mode='threshold', threshold=0.15,
                      edge_weight=w[:3])
