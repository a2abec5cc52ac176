import math

import pytest
import torch
from torch_geometric.utils import (erdos_renyi_graph, is_undirected,
                                   to_dense_adj, to_undirected)

from pyg_ext.utils import (teddy_distillation_loss, teddy_edge_score,
                           teddy_keep_mask, teddy_node_score, teddy_schedule)


def complete(n):
    idx = torch.arange(n)
    row, col = torch.meshgrid(idx, idx, indexing='ij')
    mask = row != col
    return torch.stack([row[mask], col[mask]])


def cycle(n):
    src = torch.arange(n)
    return to_undirected(torch.stack([src, (src + 1) % n]))


def star(n):
    leaves = torch.arange(1, n + 1)
    return to_undirected(torch.stack([torch.zeros(n, dtype=torch.long),
                                      leaves]))


P4 = torch.tensor([[0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2]])


# 1. closed forms ----------------------------------------------------------
def test_k4_and_cycle_closed_forms():
    assert torch.allclose(teddy_edge_score(complete(4)).double(),
                          torch.full((12, ), 1 / 27, dtype=torch.float64))
    assert torch.allclose(teddy_edge_score(cycle(5)).double(),
                          torch.full((10, ), 1 / 8, dtype=torch.float64))
    # d-regular: node score d^{-3/2}
    assert torch.allclose(teddy_node_score(complete(6)),
                          torch.full((6, ), 5**-1.5))


@pytest.mark.parametrize('n', [2, 3, 5, 10])
def test_star_closed_form(n):
    score = teddy_edge_score(star(n))
    assert torch.allclose(score.double(),
                          torch.full((2 * n, ), n**-1.5, dtype=torch.float64))
    node = teddy_node_score(star(n))
    assert math.isclose(float(node[0]), 1 / n, rel_tol=1e-6)
    assert torch.allclose(node[1:], torch.full((n, ), n**-0.5))


def test_path_p4_closed_form():
    score = teddy_edge_score(P4).double()
    mid = ((1 + 2**-0.5) / 4)**2
    end = 2**-0.5 * (1 + 2**-0.5) / 4
    assert abs(mid - 0.18213835) < 1e-8 and abs(end - 0.30177670) < 1e-8
    expected = torch.tensor([end, end, mid, mid, end, end],
                            dtype=torch.float64)
    assert torch.allclose(score, expected, atol=1e-7)
    # The middle edge goes first.
    keep = teddy_keep_mask(P4, 1 / 3)
    assert keep.tolist() == [True, True, False, False, True, True]


def test_score_self_loops_gat_variant():
    # K4 + I: every degree is 4, so T = 4^{-3} = 1/64.
    score = teddy_edge_score(complete(4), add_self_loops=True)
    assert torch.allclose(score.double(),
                          torch.full((12, ), 1 / 64, dtype=torch.float64))
    # Same as scoring a graph that already holds the loops.
    loops = torch.arange(4).repeat(2, 1)
    ei = torch.cat([complete(4), loops], dim=1)
    assert torch.allclose(teddy_edge_score(ei)[:12], score)


def test_isolated_nodes_and_empty_graph():
    node = teddy_node_score(P4, num_nodes=6)
    assert node[4] == 0 and node[5] == 0
    empty = torch.empty(2, 0, dtype=torch.long)
    assert teddy_edge_score(empty, 3).numel() == 0
    assert teddy_keep_mask(empty, 0.5, 3).numel() == 0


# 2. dense reference ------------------------------------------------------
def dense_scores(ei, n, self_loops=False):
    A = to_dense_adj(ei, max_num_nodes=n)[0].double().clamp(max=1)
    if self_loops:
        A = A + torch.diag((A.diagonal() == 0).double())
    d = A.sum(1)
    inv = torch.where(d > 0, 1 / d, torch.zeros_like(d))
    inv_sqrt = torch.where(d > 0, d.rsqrt(), torch.zeros_like(d))
    g = inv * inv * (A @ inv_sqrt)
    T = torch.outer(g, g)
    return g, T[ei[0], ei[1]]


@pytest.mark.parametrize('self_loops', [False, True])
def test_dense_reference(self_loops):
    torch.manual_seed(12345)
    ei = erdos_renyi_graph(60, 0.1)
    n = 63  # a few isolated nodes
    g_ref, t_ref = dense_scores(ei, n, self_loops)
    g = teddy_node_score(ei, n, add_self_loops=self_loops)
    t = teddy_edge_score(ei, n, add_self_loops=self_loops)
    assert torch.allclose(g.double(), g_ref, atol=1e-6)
    assert torch.allclose(t.double(), t_ref, atol=1e-6)
    # Float64 in, float64 out.
    t64 = teddy_edge_score(ei, n, edge_weight=torch.ones(ei.size(1),
                                                         dtype=torch.float64),
                           add_self_loops=self_loops)
    assert t64.dtype == torch.float64
    assert torch.allclose(t64, t_ref, atol=1e-12)


def test_weighted_dense_reference_and_duplicates():
    torch.manual_seed(1)
    ei = erdos_renyi_graph(30, 0.2)
    w = torch.rand(ei.size(1), dtype=torch.float64) + 0.5
    ei, w = to_undirected(ei, w, reduce='max')
    A = to_dense_adj(ei, edge_attr=w, max_num_nodes=30)[0]
    d = A.sum(1)
    inv = torch.where(d > 0, 1 / d, torch.zeros_like(d))
    g = inv * inv * (A @ torch.where(d > 0, d.rsqrt(), torch.zeros_like(d)))
    assert torch.allclose(teddy_node_score(ei, 30, w), g)
    # Unsorted input with a duplicated edge behaves as its coalesced form.
    perm = torch.randperm(ei.size(1))
    dup = torch.cat([P4, P4[:, :2]], dim=1)[:, torch.tensor(
        [7, 3, 0, 5, 6, 1, 2, 4])]
    assert torch.allclose(teddy_edge_score(dup),
                          teddy_edge_score(P4)[[1, 3, 0, 5, 0, 1, 2, 4]])
    assert torch.allclose(teddy_edge_score(ei[:, perm], 30, w[perm]),
                          teddy_edge_score(ei, 30, w)[perm])


# 3. symmetry, 4. permutation equivariance -----------------------------------
def test_symmetry_and_permutation_equivariance():
    torch.manual_seed(3)
    n = 40
    ei = erdos_renyi_graph(n, 0.15)
    score = teddy_edge_score(ei, n)
    pos = {(int(u), int(v)): i for i, (u, v) in enumerate(ei.t())}
    for (u, v), i in pos.items():
        assert score[i] == score[pos[(v, u)]]
    perm = torch.randperm(n)  # old id i -> new id perm[i]
    ei2 = perm[ei]
    assert torch.allclose(teddy_edge_score(ei2, n), score)
    assert torch.allclose(teddy_node_score(ei2, n)[perm],
                          teddy_node_score(ei, n))


# 5. exact count, 6. undirected preserved, 7. self-loops ---------------------
@pytest.mark.parametrize('p', [0.0, 0.05, 0.3, 0.5, 0.9, 0.33])
def test_exact_count_and_undirected(p):
    torch.manual_seed(0)
    n = 50
    ei = erdos_renyi_graph(n, 0.1)
    loops = torch.arange(0, n, 7).repeat(2, 1)
    ei = torch.cat([ei, loops], dim=1)
    e_und = int((ei[0] < ei[1]).sum())
    keep = teddy_keep_mask(ei, p, n)
    out = ei[:, keep]
    n_loops = loops.size(1)
    assert out.size(1) == 2 * (e_und - math.floor(p * e_und)) + n_loops
    assert is_undirected(out, num_nodes=n)
    assert bool(keep[-n_loops:].all())  # loops kept
    # Odd "2 E p / 2" counts still give a symmetric graph.
    assert is_undirected(ei[:, teddy_keep_mask(ei, 0.51, n)], num_nodes=n)


def test_self_loops_can_be_pruned_when_asked():
    ei = torch.cat([P4, torch.tensor([[0, 3], [0, 3]])], dim=1)
    # With the loops every degree is 2, so all scores tie at 1/8 and the
    # 5 candidates go in (min, max) order: (0,0), (0,1), (1,2), (2,3), (3,3).
    assert torch.allclose(teddy_edge_score(ei), torch.full((8, ), 1 / 8))
    keep = teddy_keep_mask(ei, 0.999, keep_self_loops=False)  # 4 pruned
    assert keep.tolist() == [False] * 7 + [True]
    keep = teddy_keep_mask(ei, 0.999)  # loops protected: 3 pairs, 2 pruned
    assert keep.tolist() == [False, False, False, False, True, True, True,
                             True]


# 9. determinism and tie-break ---------------------------------------------
def test_tie_break_lowest_canonical_pair_first():
    # K4: all scores tie, so pairs go in (u, v) order: (0,1), (0,2), ...
    ei = complete(4)
    keep = teddy_keep_mask(ei, 2 / 6 + 1e-6)
    removed = {tuple(sorted(e)) for e in ei[:, ~keep].t().tolist()}
    assert removed == {(0, 1), (0, 2)}
    assert torch.equal(keep, teddy_keep_mask(ei, 2 / 6 + 1e-6))
    # The input order does not matter.
    perm = torch.randperm(ei.size(1))
    assert torch.equal(teddy_keep_mask(ei[:, perm], 2 / 6 + 1e-6),
                       keep[perm])


# 10. nesting -------------------------------------------------------------
def test_nested_masks():
    torch.manual_seed(5)
    ei = erdos_renyi_graph(80, 0.08)
    prev = torch.ones(ei.size(1), dtype=torch.bool)
    for count in ('undirected', 'entries'):
        for p, _ in teddy_schedule(20):
            keep = teddy_keep_mask(ei, p, 80, count=count)
            assert not bool((keep & ~prev).any())
            prev = keep
        prev = torch.ones(ei.size(1), dtype=torch.bool)


def test_ranking_matches_full_sort_reference():
    torch.manual_seed(7)
    n = 70
    ei = erdos_renyi_graph(n, 0.1)
    score = teddy_edge_score(ei, n).double()
    pairs = sorted({(min(u, v), max(u, v), float(s))
                    for (u, v), s in zip(ei.t().tolist(), score.tolist())},
                   key=lambda t: (t[2], t[0], t[1]))
    for p in (0.1, 0.45, 0.8):
        k = math.floor(p * len(pairs) + 1e-9)
        gone = {(u, v) for u, v, _ in pairs[:k]}
        keep = teddy_keep_mask(ei, p, n)
        got = {tuple(sorted(e)) for e in ei[:, ~keep].t().tolist()}
        assert got == gone


# 11. p = 0 and invalid p ---------------------------------------------------
def test_zero_sparsity_is_identity_and_invalid_raise():
    assert bool(teddy_keep_mask(P4, 0.0).all())
    for bad in (1.0, -0.1, 1.5, float('nan')):
        with pytest.raises(ValueError, match='sparsity'):
            teddy_keep_mask(P4, bad)
    with pytest.raises(TypeError, match='sparsity'):
        teddy_keep_mask(P4, '0.5')
    with pytest.raises(ValueError, match='count'):
        teddy_keep_mask(P4, 0.5, count='pairs')


# 12. official entry count -------------------------------------------------
@pytest.mark.parametrize('p', [0.05, 0.1, 0.3, 0.55])
def test_entries_count_matches_official(p):
    torch.manual_seed(9)
    n = 40
    ei = erdos_renyi_graph(n, 0.12)
    loops = torch.arange(0, n, 5).repeat(2, 1)
    ei = torch.cat([ei, loops], dim=1)
    nnz = ei.size(1)
    keep = teddy_keep_mask(ei, p, n, count='entries')
    assert int((~keep).sum()) == int(p * nnz)
    assert bool(keep[-loops.size(1):].all())
    # The removed entries are the lowest-scoring ones.
    score = teddy_edge_score(ei, n)
    assert float(score[~keep].max()) <= float(score[keep & (ei[0] != ei[1])]
                                              .min())


# bad inputs ---------------------------------------------------------------
def test_directed_graph_raises_unless_allowed():
    ei = torch.tensor([[0, 1, 2], [1, 2, 0]])
    with pytest.raises(ValueError, match='undirected'):
        teddy_edge_score(ei)
    with pytest.raises(ValueError, match='undirected'):
        teddy_keep_mask(ei, 0.3)
    # Escape hatch: in-degree over the target index.
    node = teddy_node_score(ei, allow_directed=True)
    assert torch.allclose(node, torch.ones(3))
    keep = teddy_keep_mask(ei, 0.34, allow_directed=True)
    assert int((~keep).sum()) == 1
    # Asymmetric weights also count as directed.
    with pytest.raises(ValueError, match='undirected'):
        teddy_edge_score(P4, edge_weight=torch.arange(6.0) + 1)


def test_bad_edge_index_raises():
    with pytest.raises(TypeError, match='integer'):
        teddy_edge_score(P4.float())
    with pytest.raises(ValueError, match='range'):
        teddy_edge_score(P4, num_nodes=3)
    with pytest.raises(ValueError, match='range'):
        teddy_edge_score(torch.tensor([[0, -1], [-1, 0]]))
    with pytest.raises(ValueError, match='shape'):
        teddy_edge_score(torch.tensor([0, 1, 2]))
    with pytest.raises(TypeError, match='edge_index'):
        teddy_edge_score([[0, 1], [1, 0]])
    with pytest.raises(ValueError, match='score'):
        teddy_keep_mask(P4, 0.5, score=torch.ones(5))


def test_schedule():
    lv = teddy_schedule()
    assert len(lv) == 20
    graph = [round(100 * g, 2) for g, _ in lv]
    assert graph[:4] == [5.0, 9.75, 14.26, 18.55]
    assert graph[-1] == 64.15
    assert math.isclose(lv[-1][1], 1 - 0.9**20)
    with pytest.raises(ValueError, match='num_levels'):
        teddy_schedule(0)
    with pytest.raises(ValueError, match='graph_rate'):
        teddy_schedule(3, graph_rate=1.0)


# 14. distillation ---------------------------------------------------------
def test_distillation_loss():
    torch.manual_seed(0)
    z = torch.randn(5, 3)
    assert float(teddy_distillation_loss(z, z)) == pytest.approx(0, abs=1e-7)
    s = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
    t = torch.tensor([[2.0, 0.0], [0.0, 0.0]])
    # Hand computation: KL(p_t || p_s) per row, summed, divided by N = 2.
    pt0 = torch.tensor([math.e**2, 1.0]) / (math.e**2 + 1)
    kl0 = float((pt0 * (pt0 / 0.5).log()).sum())
    ps1 = torch.tensor([math.e, 1.0]) / (math.e + 1)
    kl1 = float((0.5 * (0.5 / ps1).log()).sum())
    assert float(teddy_distillation_loss(s, t)) == pytest.approx(
        (kl0 + kl1) / 2, rel=1e-6)
    # Equals torch's kl_div(sum) / N; the teacher gets no gradient.
    s.requires_grad_(True)
    t.requires_grad_(True)
    loss = teddy_distillation_loss(s, t)
    ref = torch.nn.functional.kl_div(s.log_softmax(-1), t.softmax(-1),
                                     reduction='sum') / 2
    assert float(loss.detach()) == pytest.approx(float(ref.detach()),
                                                 rel=1e-6)
    loss.backward()
    assert t.grad is None and s.grad is not None
    with pytest.raises(ValueError, match='shape'):
        teddy_distillation_loss(torch.zeros(3, 2), torch.zeros(3, 3))


# the reverse-entry map (a torch sort of the transposed keys) ----------------
def test_reverse_map_brute_force():
    from pyg_ext.utils.sparsify import _Graph
    torch.manual_seed(11)
    ei = to_undirected(erdos_renyi_graph(25, 0.2))
    ei = torch.cat([ei, torch.tensor([[3, 3], [3, 3]]), ei[:, :4]], dim=1)
    ei = ei[:, torch.randperm(ei.size(1))]  # unsorted, duplicates, a loop
    g = _Graph(ei, 25, None, allow_directed=False)
    entries = list(zip(g.row.tolist(), g.col.tolist()))
    pos = {e: i for i, e in enumerate(entries)}
    assert g.rev.tolist() == [pos[(v, u)] for u, v in entries]
    # Directed (or asymmetric weights): no reverse map.
    assert _Graph(torch.tensor([[0, 1], [1, 2]]), 3, None, True).rev is None
    w = torch.arange(6.0) + 1
    assert _Graph(P4, 4, w, True).rev is None
    assert _Graph(P4, 4, torch.tensor([1., 1, 2, 2, 3, 3]), False).rev \
        .tolist() == [1, 0, 3, 2, 5, 4]


# devices: every tensor on the input's device, same answers as on CPU -------
def test_scores_and_masks_on_device(device):
    torch.manual_seed(13)
    n = 60
    ei = erdos_renyi_graph(n, 0.1)
    ei = torch.cat([ei, torch.arange(0, n, 9).repeat(2, 1)], dim=1)
    ei = ei[:, torch.randperm(ei.size(1))]
    d_ei = ei.to(device)
    for kw in ({}, dict(add_self_loops=True)):
        score = teddy_edge_score(d_ei, n, **kw)
        node = teddy_node_score(d_ei, n, **kw)
        assert score.device == device and node.device == device
        assert torch.allclose(score.cpu(), teddy_edge_score(ei, n, **kw),
                              rtol=1e-6)
        assert torch.allclose(node.cpu(), teddy_node_score(ei, n, **kw),
                              rtol=1e-6)
        for count in ('undirected', 'entries'):
            for p in (0.1, 0.5, 0.83):
                keep = teddy_keep_mask(d_ei, p, n, count=count, **kw)
                assert keep.device == device and keep.dtype == torch.bool
                # The selection is deterministic given the scores: with the
                # device's scores the CPU run cuts the very same edges.
                ref = teddy_keep_mask(ei, p, n, count=count,
                                      score=score.double().cpu(), **kw)
                assert torch.equal(keep.cpu(), ref)
    w = torch.rand(ei.size(1), dtype=torch.float64)
    ei_u, w_u = to_undirected(ei, w, reduce='max')
    s = teddy_edge_score(ei_u.to(device), n, w_u.to(device))
    assert s.device == device and s.dtype == torch.float64
    assert torch.allclose(s.cpu(), teddy_edge_score(ei_u, n, w_u))
    # Directed input on the device: the same error as on CPU.
    with pytest.raises(ValueError, match='undirected'):
        teddy_edge_score(torch.tensor([[0, 1, 2], [1, 2, 0]], device=device))


def test_device_mismatch_raises():
    meta = torch.empty(6, device='meta')
    with pytest.raises(ValueError, match="'edge_weight' is on meta"):
        teddy_edge_score(P4, edge_weight=meta)
    with pytest.raises(ValueError, match="'score' is on meta"):
        teddy_keep_mask(P4, 0.5, score=meta)
