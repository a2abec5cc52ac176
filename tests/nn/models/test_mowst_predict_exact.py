r"""Exactness of Mowst.predict's strong-expert subgraph (trimmed,
untrimmed, whole-graph paths) on small graphs, against a full-graph forward
of the same expert."""
import pytest
import torch
from torch_geometric.nn import GCNConv, SAGEConv
from torch_geometric.nn.models import GAT, GCN, GIN, MLP, GraphSAGE

from pyg_ext.nn.models import Mowst

from helpers_mowst import FixedConf

N = 40


class GCNThenSAGE(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.c1, self.c2 = GCNConv(4, 8), SAGEConv(8, 3)

    def forward(self, x, edge_index, edge_weight=None):
        return self.c2(self.c1(x, edge_index, edge_weight).relu(), edge_index)


def graph(seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(N, 4, generator=g), torch.randint(0, N, (2, 60),
                                                         generator=g)


def routed_logits(strong, routed, index=None, graph_kw=None, **kw):
    x, ei = graph()
    model = Mowst(MLP([4, 8, 3]), strong, 3,
                  gate=FixedConf(torch.where(routed, 0.0, 1.0)), **kw).eval()
    with torch.no_grad():
        full = strong(x, ei, **(graph_kw or {}))
    p = model.predict(x, ei, mode='threshold', index=index,
                      **(graph_kw or {}))
    u = p.used_strong
    return p.strong_logits[u], full[p.index[u]]


FEW = torch.zeros(N, dtype=torch.bool)
FEW[[0, 3, 7]] = True
ALL = torch.ones(N, dtype=torch.bool)


@pytest.mark.parametrize('routed', [FEW, ALL], ids=['few', 'all'])
def test_gcn_mixed_with_other_convs_is_exact(routed):
    torch.manual_seed(0)
    got, ref = routed_logits(GCNThenSAGE().eval(), routed)
    assert torch.allclose(got, ref, atol=1e-5)


def test_prenormalize_all_routed_with_edge_attr_does_not_raise():
    torch.manual_seed(0)
    got, ref = routed_logits(GCN(4, 8, 2, 3), ALL,
                             graph_kw={'edge_attr': torch.rand(60, 2)},
                             gcn_subgraph='prenormalize')
    assert torch.allclose(got, ref, atol=1e-5)


@pytest.mark.parametrize('trim', [True, False])
@pytest.mark.parametrize('num_layers', [1, 2, 3])
@pytest.mark.parametrize('make,kw', [
    (GCN, dict(improved=True)), (GCN, dict(add_self_loops=False)),
    (GCN, dict(flow='target_to_source')), (GraphSAGE, dict(norm='batch')),
    (GIN, {}), (GAT, dict(heads=2, edge_dim=5)),
])
def test_trimmed_variants_are_exact(make, kw, num_layers, trim):
    torch.manual_seed(1)
    strong = make(4, 8, num_layers, 3, **kw).eval()
    gk = {'edge_attr': torch.rand(60, 5)} if 'edge_dim' in kw else \
        {'edge_weight': torch.rand(60)} if make is GCN else {}
    got, ref = routed_logits(strong, FEW, graph_kw=gk, trim_layers=trim,
                             index=torch.tensor([0, 0, 3, 7, 7, 9]))
    assert torch.allclose(got, ref, atol=1e-5)


@pytest.mark.parametrize('strong', [
    lambda: GCN(4, 8, 2, 3, norm='layer_norm'),  # PyG's mode='graph'
    lambda: GCN(4, 8, 2, 3, norm='graph_norm'),
    lambda: GraphSAGE(4, 8, 2, 3, aggr='lstm'),
], ids=['layer_norm_graph', 'graph_norm', 'sage_lstm'])
def test_graph_level_modules_run_on_the_whole_graph(strong):
    # Their node outputs depend on the whole graph: a subgraph would be off
    # (by 3e-2 for the graph LayerNorm), so predict runs the whole graph and
    # reports N computed nodes.
    torch.manual_seed(2)
    strong = strong().eval()
    x, ei = graph()
    ei = ei[:, torch.argsort(ei[1], stable=True)]  # LSTM needs it sorted
    model = Mowst(MLP([4, 8, 3]), strong, 3,
                  gate=FixedConf(torch.where(FEW, 0.0, 1.0))).eval()
    assert model._graph_level_module() is not None
    with torch.no_grad():
        full = strong(x, ei)
    p = model.predict(x, ei, mode='threshold')
    assert p.num_strong_nodes_computed == N
    assert torch.allclose(p.strong_logits[FEW], full[FEW], atol=1e-5)
    model = Mowst(MLP([4, 8, 3]), GCN(4, 8, 2, 3, norm='batch_norm'), 3)
    assert model._graph_level_module() is None
