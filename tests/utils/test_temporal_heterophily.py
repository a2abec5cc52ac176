import math

import pytest
import torch
from torch_geometric.utils import homophily

from pyg_ext.utils import LabelEvents, label_at, temporal_edge_heterophily


def toy():
    # events: (0,1,t=1) (0,2,t=2) (1,2,t=3) (2,3,t=5) (0,1,t=5)
    src = torch.tensor([0, 0, 1, 2, 0])
    dst = torch.tensor([1, 2, 2, 3, 1])
    t = torch.tensor([1., 2., 3., 5., 5.])
    return src, dst, t


def test_static_hand_values():
    src, dst, t = toy()
    y = torch.tensor([0, 1, 1, 0])
    h = temporal_edge_heterophily(src, dst, t, y, reduction='none')
    # node 0: nbrs 1,2,1 -> all differ -> 1; node 1: 0,2,0 -> 2/3;
    # node 2: 0,1,3 -> 2/3; node 3: 2 -> 1
    assert torch.allclose(h, torch.tensor([1., 2 / 3, 2 / 3, 1.]))
    assert torch.isclose(temporal_edge_heterophily(src, dst, t, y),
                         h.mean())
    # window [2, 5): events (0,2,2) (1,2,3) only; node 3 undefined
    h = temporal_edge_heterophily(src, dst, t, y, t_start=2, t_end=5,
                                  reduction='none')
    assert h[0] == 1 and h[1] == 0 and h[2] == 0.5 and math.isnan(h[3])
    # boundaries: start is inclusive, end exclusive
    h = temporal_edge_heterophily(src, dst, t, y, t_start=5, t_end=5.5,
                                  reduction='none')
    assert h[3] == 1 and h[1] == 1 and h[2] == 1 and h[0] == 1
    assert torch.isnan(temporal_edge_heterophily(src, dst, t, y, t_start=4,
                                                 t_end=5))
    # directed: only events into the node
    h = temporal_edge_heterophily(src, dst, t, y, undirected=False,
                                  reduction='none')
    assert math.isnan(h[0]) and h[1] == 1 and h[2] == 0.5 and h[3] == 1


def test_multiplicity_counts():
    src = torch.tensor([0, 0, 0, 2])
    dst = torch.tensor([1, 1, 1, 0])
    t = torch.tensor([0., 1., 2., 3.])
    y = torch.tensor([0, 1, 0])
    h = temporal_edge_heterophily(src, dst, t, y, reduction='none')
    assert torch.isclose(h[0], torch.tensor(3 / 4))


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_edge_reduction_equals_one_minus_pyg_homophily(seed):
    g = torch.Generator().manual_seed(seed)
    src = torch.randint(0, 30, (200, ), generator=g)
    dst = torch.randint(0, 30, (200, ), generator=g)
    t = torch.rand(200, generator=g).sort().values
    y = torch.randint(0, 3, (30, ), generator=g)
    h = temporal_edge_heterophily(src, dst, t, y, reduction='edge')
    ref = 1 - homophily(torch.stack([src, dst]), y, method='edge')
    assert abs(float(h) - ref) < 1e-6
    h_dir = temporal_edge_heterophily(src, dst, t, y, reduction='edge',
                                      undirected=False)
    assert abs(float(h_dir) - ref) < 1e-6


def test_label_timeline():
    src, dst, t = toy()
    # node 1 switches 0 -> 1 at time 4; node 2 has label 1 from time 0,
    # node 0 label 0 from time 0, node 3 label 0 from time 0.
    le = LabelEvents(node=torch.tensor([0, 1, 2, 3, 1]),
                     time=torch.tensor([0., 0., 0., 0., 4.]),
                     y=torch.tensor([0, 0, 1, 0, 1]))
    assert label_at(le, torch.tensor([1, 1, 1, 3]),
                    torch.tensor([3.9, 4., 9., -1.])).tolist() == [0, 1, 1,
                                                                   -1]
    # target label at t_end=6: y = [0, 1, 1, 0]
    # node 0, neighbour labels at event time: 1@1 -> 0, 2@2 -> 1, 1@5 -> 1
    h = temporal_edge_heterophily(src, dst, t, label_events=le, t_end=6.,
                                  reduction='none')
    assert torch.isclose(h[0], torch.tensor(2 / 3))
    # node 1 (label 1 at t=6): nbrs 0@1 (0), 2@3 (1), 0@5 (0) -> 2/3
    assert torch.isclose(h[1], torch.tensor(2 / 3))
    hq = temporal_edge_heterophily(src, dst, t, label_events=le, t_end=6.,
                                   neighbor_label_at='query',
                                   reduction='none')
    assert hq[0] == 1.0  # all neighbours read at t=6 have label 1
    # target read at t_end=3.5: node 1 still 0: nbrs 0@1 (0), 2@3 (1) -> 1/2
    h = temporal_edge_heterophily(src, dst, t, label_events=le, t_end=3.5,
                                  reduction='none')
    assert torch.isclose(h[1], torch.tensor(0.5))


def test_node_subset_and_unlabelled():
    src, dst, t = toy()
    y = torch.tensor([0, 1, -1, 0])
    h = temporal_edge_heterophily(src, dst, t, y, reduction='none')
    assert math.isnan(h[2])
    assert h[0] == 1.0  # the unlabelled neighbour 2 is skipped
    # node 3's only neighbour is unlabelled -> NaN, skipped by the nan-mean
    assert torch.isnan(temporal_edge_heterophily(src, dst, t, y,
                                                 node=torch.tensor([3])))
    sub = temporal_edge_heterophily(src, dst, t, y, node=torch.tensor([0, 3]))
    assert torch.isclose(sub, torch.tensor(1.0))
    sub = temporal_edge_heterophily(src, dst, t, y, node=torch.tensor([0, 1]))
    assert torch.isclose(sub, torch.tensor(1.0))


def test_bad_inputs():
    src, dst, t = toy()
    y = torch.tensor([0, 1, 1, 0])
    with pytest.raises(ValueError, match="same length"):
        temporal_edge_heterophily(src[:3], dst, t, y)
    with pytest.raises(ValueError, match="non-negative"):
        temporal_edge_heterophily(src, dst, t - 3, y)
    with pytest.raises(ValueError, match="out of range"):
        temporal_edge_heterophily(src, dst, t, y, num_nodes=3)
    with pytest.raises(ValueError, match="'y' has 3 entries"):
        temporal_edge_heterophily(src, dst, t, y[:3])
    with pytest.raises(TypeError, match="'src' must be an integer"):
        temporal_edge_heterophily(src.float(), dst, t, y)
    with pytest.raises(ValueError, match="reduction"):
        temporal_edge_heterophily(src, dst, t, y, reduction='mean')
    with pytest.raises(ValueError, match="neighbor_label_at"):
        temporal_edge_heterophily(src, dst, t, y, neighbor_label_at='now')
    with pytest.raises(ValueError, match="exactly one"):
        temporal_edge_heterophily(src, dst, t)
    with pytest.raises(TypeError, match="t_end"):
        temporal_edge_heterophily(src, dst, t, y, t_end=torch.tensor(3.))
    with pytest.raises(ValueError, match="t_start"):
        temporal_edge_heterophily(src, dst, t, y, t_start=4., t_end=1.)
