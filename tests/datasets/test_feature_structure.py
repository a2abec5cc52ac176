import pytest
import torch

from pyg_ext.datasets.feature_structure import feature_structure_graph
from pyg_ext.registry import DATASETS


def test_structure_of_the_graph():
    data = feature_structure_graph(400, num_classes=3, num_features=6,
                                   degree=4, signal=2.0, noise=0.5, seed=1)
    src, dst = data.edge_index
    is_feat = data.node_type == 0
    assert int(is_feat.sum()) == 200
    # Every node has exactly `degree` in-edges.
    assert torch.equal(torch.bincount(dst, minlength=400),
                       torch.full((400, ), 4))
    # Structure nodes only receive edges from same-class feature nodes.
    to_struct = ~is_feat[dst]
    assert bool(is_feat[src[to_struct]].all())
    assert torch.equal(data.y[src[to_struct]], data.y[dst[to_struct]])
    # Feature nodes receive edges from anywhere: some from structure nodes
    # and some from other classes.
    to_feat = is_feat[dst]
    assert bool((~is_feat[src[to_feat]]).any())
    assert bool((data.y[src[to_feat]] != data.y[dst[to_feat]]).any())
    # Masks partition the nodes.
    total = data.train_mask.long() + data.val_mask.long() + \
        data.test_mask.long()
    assert torch.equal(total, torch.ones(400, dtype=torch.long))
    assert int(data.train_mask.sum()) == 200


def test_features_carry_the_class_only_on_feature_nodes():
    data = feature_structure_graph(4000, num_classes=2, num_features=4,
                                   signal=2.0, noise=1.0, seed=0)
    feat = data.node_type == 0
    m0 = data.x[feat & (data.y == 0)].mean(0)
    m1 = data.x[feat & (data.y == 1)].mean(0)
    assert (m0 - m1).norm().item() > 1.0  # class means of norm 2 each
    assert m0.norm().item() == pytest.approx(2.0, abs=0.15)
    s0 = data.x[~feat & (data.y == 0)].mean(0)
    s1 = data.x[~feat & (data.y == 1)].mean(0)
    assert (s0 - s1).norm().item() < 0.2  # pure noise
    assert data.x[~feat].std().item() == pytest.approx(1.0, abs=0.05)


def test_seeded_and_registered():
    a = feature_structure_graph(100, seed=3)
    b = feature_structure_graph(100, seed=3)
    c = feature_structure_graph(100, seed=4)
    assert torch.equal(a.x, b.x) and torch.equal(a.edge_index, b.edge_index)
    assert not torch.equal(a.x, c.x)
    entry = DATASETS.get('feature_structure')
    d = entry.obj(root='/nonexistent', num_nodes=100, seed=3)
    assert torch.equal(d.x, a.x)


@pytest.mark.parametrize('kwargs,err,match', [
    (dict(num_nodes=2), ValueError, "'num_nodes'"),
    (dict(num_classes=1.5), TypeError, "'num_classes' must be an int"),
    (dict(feature_fraction=1.0), ValueError, "'feature_fraction'"),
    (dict(train_ratio=0.8, val_ratio=0.3), ValueError, 'must be < 1'),
    (dict(noise=-1.0), ValueError, "'noise'"),
    (dict(num_nodes=6, num_classes=5), ValueError, 'no feature node'),
])
def test_bad_input(kwargs, err, match):
    with pytest.raises(err, match=match):
        feature_structure_graph(**kwargs)
