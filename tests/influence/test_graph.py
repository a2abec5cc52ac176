import networkx as nx
import numpy as np
import pytest
import torch

from pyg_ext.influence import prepare
from helpers_im import DIAMOND, PATH


def test_wc_sums_to_one_per_node():
    rng = np.random.default_rng(0)
    ei = torch.from_numpy(rng.integers(0, 30, size=(2, 200)))
    g = prepare(ei, 30, self_loops='remove')
    indeg = g.in_degree()
    sums = np.add.reduceat(g.in_p, g.in_ptr[:-1][indeg > 0])
    assert np.allclose(sums, 1.0)
    # every in-edge of v has probability 1/indeg(v)
    assert np.allclose(g.prob, 1.0 / indeg[g.dst])
    # WC nodes all qualify for the geometric skip
    assert (g.equal[indeg > 0] == 1).all() and (g.equal[indeg == 0] == 0).all()


def test_wc_counts_self_loops_when_kept():
    ei = torch.tensor([[0, 1, 1], [1, 1, 2]])
    g = prepare(ei, 3)
    assert np.allclose(g.prob, [0.5, 0.5, 1.0])
    g2 = prepare(ei, 3, self_loops='remove')
    assert np.allclose(g2.prob, [1.0, 1.0])


def test_reverse_and_forward_csr():
    g = prepare(DIAMOND, 4, weighting='uniform', p=0.3)
    assert g.in_ptr.tolist() == [0, 0, 1, 2, 4]
    assert g.in_src.tolist() == [0, 0, 1, 2]
    assert g.out_ptr.tolist() == [0, 2, 3, 4, 4]
    assert g.out_dst.tolist() == [1, 2, 3, 3]
    assert np.allclose(g.in_p, 0.3)
    assert np.allclose(g.in_cum, [0.3, 0.3, 0.3, 0.6])


def test_networkx_input_matches_edge_index():
    G = nx.DiGraph()
    G.add_edges_from([(0, 1, {'p': 0.2}), (1, 2, {'p': 0.7})])
    g = prepare(G)
    assert g.num_nodes == 3
    assert g.src.tolist() == [0, 1] and np.allclose(g.prob, [0.2, 0.7])
    U = nx.Graph([(0, 1)])
    gu = prepare(U)
    assert sorted(zip(gu.src.tolist(), gu.dst.tolist())) == [(0, 1), (1, 0)]


@pytest.mark.parametrize('probs', [[0.5, 1.5], [-0.1, 0.5], [float('nan'),
                                                             0.5]])
def test_bad_probabilities(probs):
    with pytest.raises(ValueError, match="'probs' must lie in"):
        prepare(PATH, 3, probs=torch.tensor(probs))


def test_bad_inputs():
    with pytest.raises(ValueError, match='LT in-weights'):
        prepare(DIAMOND, 4, model='LT', probs=torch.tensor([0.5, 0.5, 0.6,
                                                            0.6]))
    with pytest.raises(ValueError, match='num_nodes'):
        prepare(torch.zeros(2, 0, dtype=torch.long), 0)
    with pytest.raises(ValueError, match='self-loops'):
        prepare(torch.tensor([[0, 1], [0, 0]]), 2, self_loops='error')
    with pytest.raises(ValueError, match="'self_loops'"):
        prepare(PATH, 3, self_loops='drop')
    with pytest.raises(ValueError, match="'model'"):
        prepare(PATH, 3, model='SIR')
    with pytest.raises(ValueError, match="'weighting'"):
        prepare(PATH, 3, weighting='trivalency')
    with pytest.raises(ValueError, match='outside'):
        prepare(PATH, 2)
    with pytest.raises(ValueError, match=r'shape \[2, m\]'):
        prepare(torch.tensor([0, 1, 2]), 3)
    with pytest.raises(TypeError, match='integer'):
        prepare(PATH.float(), 3)
    with pytest.raises(ValueError, match='one value per edge'):
        prepare(PATH, 3, probs=torch.tensor([0.5]))
    with pytest.raises(ValueError, match="'p' must lie"):
        prepare(PATH, 3, weighting='uniform', p=2.0)


def test_lt_accepts_weights_summing_to_one():
    g = prepare(DIAMOND, 4, model='LT', probs=torch.tensor([1.0, 1.0, 0.5,
                                                            0.5]))
    assert g.model == 'LT'
