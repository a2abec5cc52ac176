import networkx as nx
import numpy as np
import pytest
import torch

from pyg_ext.influence import degree_scores, pagerank_scores, top_k


def test_degree_and_top_k():
    ei = torch.tensor([[0, 0, 0, 1, 1, 2], [1, 2, 3, 2, 3, 3]])
    s = degree_scores(ei, 4)
    assert s.tolist() == [3, 2, 1, 0]
    assert top_k(s, 2).tolist() == [0, 1]
    assert top_k(torch.tensor([1.0, 2, 2, 0]), 2).tolist() == [1, 2]
    assert top_k(s, 1, candidates=[2, 3]).tolist() == [2]
    with pytest.raises(ValueError, match='exceeds'):
        top_k(s, 5)


def test_pagerank_matches_networkx_on_reversed_graph():
    rng = np.random.default_rng(0)
    ei = torch.from_numpy(rng.integers(0, 30, size=(2, 120)))
    ei = ei[:, ei[0] != ei[1]]
    ours = pagerank_scores(ei, 30, damping=0.85, self_loops='remove')
    G = nx.MultiDiGraph()
    G.add_nodes_from(range(30))
    # WC weights 1/indeg(v) on the reversed edge v -> u
    indeg = torch.bincount(ei[1], minlength=30)
    for u, v in ei.t().tolist():
        G.add_edge(v, u, weight=1.0 / indeg[v].item())
    ref = nx.pagerank(G, alpha=0.85, weight='weight', tol=1e-12)
    assert np.allclose(ours.numpy(), [ref[i] for i in range(30)], atol=1e-6)
