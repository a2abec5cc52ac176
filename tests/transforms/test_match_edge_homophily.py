import pytest
import torch
from torch_geometric.data import Data
from torch_geometric.utils import homophily, is_undirected

from pyg_ext.datasets.csbm import csbm_graph
from pyg_ext.transforms import MatchEdgeHomophily, match_edge_homophily_mask


def official_kept_columns(edge_index, y, h, seed):
    # The reference rule, written out as in the AdaRC code (global RNG).
    homo = y[edge_index[0]] == y[edge_index[1]]
    idx_homo, idx_hete = homo.nonzero().view(-1), (~homo).nonzero().view(-1)
    n_homo, n_hete = len(idx_homo), len(idx_hete)
    cur = n_homo / (n_homo + n_hete)
    if h > cur:
        target, untouched, keep = idx_hete, idx_homo, int(n_homo / h) - n_homo
    else:
        target, untouched = idx_homo, idx_hete
        keep = int(n_hete / (1 - h)) - n_hete
    state = torch.get_rng_state()
    torch.manual_seed(seed)
    kept = target[torch.randperm(len(target))[:keep]]
    torch.set_rng_state(state)
    return set(torch.cat([kept, untouched]).tolist())


@pytest.mark.parametrize('h_src, h_tgt', [(0.8, 0.2), (0.8, 0.5), (0.3, 0.7)])
def test_matches_official_rule_and_reaches_target(h_src, h_tgt):
    data = csbm_graph(1000, 4, degree=10, homophily=h_src, seed=0)
    mask = match_edge_homophily_mask(data.edge_index, data.y, h_tgt, seed=42)
    ref = official_kept_columns(data.edge_index, data.y, h_tgt, 42)
    assert set(mask.nonzero().view(-1).tolist()) == ref
    out = MatchEdgeHomophily(h_tgt, seed=42)(data)
    assert abs(homophily(out.edge_index, out.y) - h_tgt) < 0.005
    # edges are only dropped, never added, and the order is preserved
    assert torch.equal(out.edge_index, data.edge_index[:, mask])


def test_edge_attributes_stay_aligned_and_input_untouched():
    data = csbm_graph(300, 4, degree=10, homophily=0.8, seed=0)
    E = data.edge_index.size(1)
    data.edge_attr = torch.arange(E).float().view(-1, 1)
    data.edge_weight = torch.arange(E).float()
    out = MatchEdgeHomophily(0.2)(data)
    assert data.edge_index.size(1) == E  # input not modified
    kept = out.edge_attr.view(-1).long()
    assert torch.equal(out.edge_index, data.edge_index[:, kept])
    assert torch.equal(out.edge_weight, out.edge_attr.view(-1))


def test_seeded_and_global_rng_untouched():
    data = csbm_graph(300, 4, degree=10, homophily=0.8, seed=0)
    torch.manual_seed(0)
    r = torch.rand(2)
    torch.manual_seed(0)
    a = MatchEdgeHomophily(0.3, seed=1)(data)
    assert torch.equal(torch.rand(2), r)
    b = MatchEdgeHomophily(0.3, seed=1)(data)
    c = MatchEdgeHomophily(0.3, seed=2)(data)
    assert torch.equal(a.edge_index, b.edge_index)
    assert not torch.equal(a.edge_index, c.edge_index)


def test_undirected_mode_keeps_symmetry():
    data = csbm_graph(500, 4, degree=10, homophily=0.8, seed=0)
    out = MatchEdgeHomophily(0.2, undirected=True)(data)
    assert is_undirected(out.edge_index, num_nodes=500)
    assert abs(homophily(out.edge_index, out.y) - 0.2) < 0.01
    directed = MatchEdgeHomophily(0.2)(data)
    assert not is_undirected(directed.edge_index, num_nodes=500)


def test_extremes_and_equal_target():
    ei = torch.tensor([[0, 0, 1, 2], [1, 2, 3, 3]])
    y = torch.tensor([0, 0, 1, 1])
    data = Data(edge_index=ei, y=y, num_nodes=4)
    assert MatchEdgeHomophily(0.0)(data).edge_index.tolist() == [[0, 1],
                                                                  [2, 3]]
    assert MatchEdgeHomophily(1.0)(data).edge_index.tolist() == [[0, 2],
                                                                  [1, 3]]
    assert torch.equal(MatchEdgeHomophily(0.5)(data).edge_index, ei)


def test_bad_inputs_and_repr():
    with pytest.raises(ValueError, match='target'):
        MatchEdgeHomophily(1.5)
    with pytest.raises(ValueError, match='target'):
        MatchEdgeHomophily(-0.1)
    with pytest.raises(TypeError, match='seed'):
        MatchEdgeHomophily(0.2, seed=1.5)
    with pytest.raises(ValueError, match='data.y'):
        MatchEdgeHomophily(0.2)(Data(edge_index=torch.zeros(2, 1).long(),
                                     num_nodes=1))
    assert repr(MatchEdgeHomophily(0.2)) == \
        'MatchEdgeHomophily(target=0.2, seed=42)'
