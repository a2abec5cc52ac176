import copy
import math
import pickle

import pytest
import torch
from torch_geometric.data import Data
from torch_geometric.utils import erdos_renyi_graph, is_undirected

from pyg_ext.transforms import TEDDY
from pyg_ext.utils import teddy_keep_mask


def make_data(seed=0, n=40, loops=True):
    torch.manual_seed(seed)
    ei = erdos_renyi_graph(n, 0.15)
    if loops:
        ei = torch.cat([ei, torch.arange(0, n, 9).repeat(2, 1)], dim=1)
    E = ei.size(1)
    return Data(x=torch.randn(n, 5), y=torch.randint(0, 3, (n, )),
                edge_index=ei, edge_attr=torch.randn(E, 3),
                edge_weight=torch.rand(E), num_nodes=n)


def test_repr_and_bad_args():
    assert repr(TEDDY(0.5)) == 'TEDDY(sparsity=0.5)'
    assert repr(TEDDY(0.3, score_self_loops=True, count='entries')) == \
        "TEDDY(sparsity=0.3, score_self_loops=True, count='entries')"
    for bad in (1.0, -0.2, 2):
        with pytest.raises(ValueError, match='sparsity'):
            TEDDY(bad)
    with pytest.raises(TypeError, match='sparsity'):
        TEDDY(None)
    with pytest.raises(ValueError, match='count'):
        TEDDY(0.1, count='both')


@pytest.mark.parametrize('p', [0.0, 0.05, 0.3, 0.5, 0.9])
def test_exact_count_undirected_loops_kept(p):
    data = make_data()
    ei = data.edge_index
    e_und = int((ei[0] < ei[1]).sum())
    n_loops = int((ei[0] == ei[1]).sum())
    out = TEDDY(p)(data)
    assert out.num_edges == 2 * (e_und - math.floor(p * e_und)) + n_loops
    assert is_undirected(out.edge_index, num_nodes=data.num_nodes)
    assert int((out.edge_index[0] == out.edge_index[1]).sum()) == n_loops
    assert out.num_nodes == data.num_nodes


def test_edge_aligned_attributes_and_input_untouched():
    data = make_data()
    before = copy.deepcopy(data)
    out = TEDDY(0.4, store_mask=True)(data)
    mask = out.teddy_edge_mask
    assert torch.equal(mask, teddy_keep_mask(data.edge_index, 0.4,
                                             data.num_nodes))
    assert torch.equal(out.edge_index, data.edge_index[:, mask])
    assert torch.equal(out.edge_attr, data.edge_attr[mask])
    assert torch.equal(out.edge_weight, data.edge_weight[mask])
    assert torch.equal(out.x, data.x) and torch.equal(out.y, data.y)
    for key in ('edge_index', 'edge_attr', 'edge_weight', 'x'):
        assert torch.equal(data[key], before[key])
    assert 'teddy_edge_mask' not in data


def test_features_are_never_read_and_determinism():
    data = make_data()
    other = copy.copy(data)
    other.x = torch.randn_like(data.x) * 100
    other.y = torch.zeros_like(data.y)
    a, b, c = TEDDY(0.35)(data), TEDDY(0.35)(data), TEDDY(0.35)(other)
    assert torch.equal(a.edge_index, b.edge_index)
    assert torch.equal(a.edge_index, c.edge_index)
    no_x = Data(edge_index=data.edge_index, num_nodes=data.num_nodes)
    assert torch.equal(TEDDY(0.35)(no_x).edge_index, a.edge_index)


def test_nesting_and_identity():
    data = make_data(seed=3)
    assert torch.equal(TEDDY(0.0)(data).edge_index, data.edge_index)
    prev = None
    for p in (0.05, 0.2, 0.5, 0.8):
        mask = TEDDY(p, store_mask=True)(data).teddy_edge_mask
        if prev is not None:
            assert not bool((mask & ~prev).any())
        prev = mask


def test_entries_and_gat_variant_and_functional():
    data = make_data(seed=1)
    nnz = data.num_edges
    out = TEDDY(0.3, count='entries')(data)
    assert nnz - out.num_edges == int(0.3 * nnz)
    # GAT variant scores A + I; on a graph holding no loops the result must
    # equal scoring the same graph with all loops added, restricted back.
    plain = make_data(seed=2, loops=False)
    n = plain.num_nodes
    looped = copy.copy(plain)
    looped.edge_index = torch.cat([plain.edge_index,
                                   torch.arange(n).repeat(2, 1)], dim=1)
    # its edge-level tensors no longer match the new edges (now refused)
    del looped.edge_weight, looped.edge_attr
    m1 = TEDDY(0.4, score_self_loops=True, store_mask=True)(plain)
    m2 = TEDDY(0.4, store_mask=True)(looped)
    assert torch.equal(m1.teddy_edge_mask,
                       m2.teddy_edge_mask[:plain.num_edges])
    # Registered as a functional transform name.
    from torch_geometric.data.datapipes import functional_transform  # noqa
    assert pickle.loads(pickle.dumps(TEDDY(0.2))).sparsity == 0.2


def test_directed_input_raises():
    data = Data(edge_index=torch.tensor([[0, 1], [1, 2]]), num_nodes=3)
    with pytest.raises(ValueError, match='undirected'):
        TEDDY(0.5)(data)
    out = TEDDY(0.5, allow_directed=True)(data)
    assert out.num_edges == 1
    with pytest.raises(ValueError, match='range'):
        TEDDY(0.5)(Data(edge_index=torch.tensor([[0, 5], [5, 0]]),
                        num_nodes=3))
    with pytest.raises(ValueError, match='edge_index'):
        TEDDY(0.5)(Data(x=torch.ones(3, 1)))
