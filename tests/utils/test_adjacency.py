import pytest
import torch
from torch_geometric.nn.conv.gcn_conv import gcn_norm
from torch_geometric.utils import to_dense_adj

from pyg_ext.utils.adjacency import csr_adjacency, gcn_norm_csr


def test_csr_adjacency_is_the_transposed_adjacency():
    ei = torch.tensor([[0, 2, 2, 1, 3], [1, 0, 1, 2, 3]])
    adj_t, dup = csr_adjacency(ei, 5)
    assert not dup
    assert adj_t.layout == torch.sparse_csr and adj_t.shape == (5, 5)
    dense = torch.zeros(5, 5)
    dense[ei[1], ei[0]] = 1.0  # [target, source]
    assert torch.equal(adj_t.to_dense(), dense)
    # columns sorted within each row, one entry per edge
    assert adj_t.crow_indices().tolist() == [0, 1, 3, 4, 5, 5]
    assert adj_t.col_indices().tolist() == [2, 0, 2, 1, 3]


def test_csr_adjacency_reports_duplicates():
    ei = torch.tensor([[0, 0, 1], [1, 1, 0]])
    adj_t, dup = csr_adjacency(ei, 2)
    assert dup and adj_t.values().numel() == 3
    assert not csr_adjacency(ei[:, 1:], 2)[1]
    assert not csr_adjacency(ei[:, :0], 2)[1]


@pytest.mark.parametrize('improved', [False, True])
@pytest.mark.parametrize('loops', [False, True])
def test_gcn_norm_csr_matches_pyg_edge_index_path(improved, loops):
    torch.manual_seed(0)
    n = 30
    ei = torch.unique(torch.randint(0, n - 2, (2, 120)), dim=1)  # 2 isolated
    ei = ei[:, ei[0] != ei[1]]
    if loops:  # existing self-loops keep their weight on both paths
        ei = torch.cat([ei, torch.tensor([[1, 4], [1, 4]])], 1)
    # explicit unit weights: without them PyG's edge_index path gives the
    # added loops weight 1 even with improved=True
    ref_ei, ref_w = gcn_norm(ei, torch.ones(ei.size(1)), n, improved, True)
    ref = to_dense_adj(ref_ei.flip(0), edge_attr=ref_w, max_num_nodes=n)[0]
    adj_t, _ = csr_adjacency(ei, n)
    out = gcn_norm_csr(adj_t, add_self_loops=True, improved=improved)
    assert out.layout == torch.sparse_csr
    assert torch.allclose(out.to_dense(), ref, atol=1e-6)
    assert out.crow_indices()[-1] == ref_ei.size(1)


def test_gcn_norm_csr_without_loops_and_dtype():
    ei = torch.tensor([[0, 1, 1], [1, 0, 2]])
    adj_t, _ = csr_adjacency(ei, 3)
    out = gcn_norm_csr(adj_t, add_self_loops=False, dtype=torch.float64)
    assert out.dtype == torch.float64
    # in-degrees 1, 1, 1: every weight 1/sqrt(1 * 1) = 1 (node 2 has no
    # out-edge, so its column is empty)
    assert out.to_dense().tolist() == [[0, 1, 0], [1, 0, 0], [0, 1, 0]]
