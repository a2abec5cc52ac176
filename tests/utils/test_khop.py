import doctest
from collections import deque

import pytest
import torch

import pyg_ext.utils.khop as khop
from pyg_ext.utils import induced_subgraph, khop_distance, khop_in_subgraph


def random_graph(n, e, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, n, (2, e), generator=g)


def bfs_distance(targets, hops, edge_index, n, flow='source_to_target'):
    r"""Reverse breadth-first search from every target, one node at a
    time."""
    src, dst = edge_index.tolist()
    if flow == 'target_to_source':
        src, dst = dst, src
    into = {v: [] for v in range(n)}
    for s, d in zip(src, dst):
        into[d].append(s)
    dist = [-1] * n
    queue = deque()
    for t in targets:
        if dist[t] < 0:
            dist[t] = 0
            queue.append(t)
    while queue:
        v = queue.popleft()
        if dist[v] == hops:
            continue
        for u in into[v]:
            if dist[u] < 0:
                dist[u] = dist[v] + 1
                queue.append(u)
    return dist


def test_doctests():
    res = doctest.testmod(khop, extraglobs={'torch': torch})
    assert res.attempted >= 3 and res.failed == 0


@pytest.mark.parametrize('flow', ['source_to_target', 'target_to_source'])
def test_khop_distance_matches_bfs(device, flow):
    for seed, (n, e) in enumerate([(30, 40), (100, 250), (60, 600)]):
        ei = random_graph(n, e, seed)
        targets = torch.tensor([0, 5, 5, n - 1])  # with a duplicate
        for hops in range(5):
            got = khop_distance(targets.to(device), hops, ei.to(device), n,
                                flow)
            assert got.device == ei.to(device).device
            assert got.tolist() == bfs_distance(targets.tolist(), hops, ei, n,
                                                flow)


def test_khop_in_subgraph_matches_brute_force(device):
    n = 80
    ei = random_graph(n, 200, 7)
    targets = torch.tensor([3, 11, 42])
    for hops in range(4):
        subset, sub_ei, mapping, edge_mask = khop_in_subgraph(
            targets.to(device), hops, ei.to(device), n)
        reach = {v for v, d in enumerate(bfs_distance(targets.tolist(), hops,
                                                      ei, n)) if d >= 0}
        assert subset.tolist() == sorted(reach)
        assert subset[mapping].cpu().tolist() == targets.tolist()
        kept = [i for i, (s, d) in enumerate(ei.t().tolist())
                if s in reach and d in reach]
        assert edge_mask.nonzero().view(-1).cpu().tolist() == kept
        assert torch.equal(subset[sub_ei].cpu(), ei[:, kept])


def test_induced_subgraph_brute_force(device):
    n = 40
    ei = random_graph(n, 120, 2)
    mask = torch.rand(n, generator=torch.Generator().manual_seed(0)) < 0.5
    subset, sub_ei, relabel, edge_mask = induced_subgraph(mask.to(device),
                                                          ei.to(device))
    keep = mask.nonzero().view(-1).tolist()
    assert subset.tolist() == keep
    assert relabel.tolist() == [keep.index(v) if v in keep else -1
                                for v in range(n)]
    pairs = [(keep.index(s), keep.index(d)) for s, d in ei.t().tolist()
             if s in keep and d in keep]
    assert [tuple(e) for e in sub_ei.t().tolist()] == pairs
    assert int(edge_mask.sum()) == len(pairs)


def test_bad_input():
    ei = random_graph(10, 20, 0)
    with pytest.raises(ValueError, match="'flow' must be one of"):
        khop_distance(torch.tensor([0]), 1, ei, 10, flow='both')
    with pytest.raises(ValueError, match="'num_hops' must be an int >= 0"):
        khop_distance(torch.tensor([0]), -1, ei, 10)
    with pytest.raises(ValueError, match=r"\[2, E\]"):
        khop_distance(torch.tensor([0]), 1, ei.t(), 10)
    with pytest.raises(TypeError, match="'index' must be an integer"):
        khop_distance(torch.tensor([True]), 1, ei, 10)
    with pytest.raises(ValueError, match="'index' is on meta but "
                       "'edge_index' is on cpu"):
        khop_distance(torch.tensor([0], device='meta'), 1, ei, 10)
    with pytest.raises(TypeError, match="'node_mask' must be a 1-D boolean"):
        induced_subgraph(torch.tensor([0, 1]), ei)
