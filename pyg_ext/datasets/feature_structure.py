r"""A synthetic "feature nodes vs structure nodes" graph (the setting that
motivates Mowst, `"Mixture of Weak & Strong Experts on Graphs"
<https://arxiv.org/abs/2311.05185>`_): half of the nodes are predictable from their own features only, the
other half only from their neighbours.

* *Feature nodes*: features are a class mean plus Gaussian noise; their
  in-edges come from uniformly random nodes (neighbours carry no label
  information).
* *Structure nodes*: pure-noise features; their in-edges come from feature
  nodes of the same class.

So an MLP suits the feature nodes, a GNN suits the structure nodes, and a
mixture of the two (Mowst) should beat both.
"""
from dataclasses import dataclass

import torch
from torch_geometric.data import Data

from pyg_ext.registry import register_dataset
from pyg_ext.utils.validation import check_float, check_int

__all__ = ['feature_structure_graph', 'FeatureStructureOptions',
           'load_feature_structure']


def _check_fraction(name, value):
    return check_float(name, value, 0.0, 1.0, low_open=True, high_open=True)


def _check_args(num_nodes, num_classes, num_features, degree, signal, noise,
                feature_fraction, train_ratio, val_ratio, seed) -> None:
    r"""The argument checks of :func:`feature_structure_graph` (also run by
    :class:`FeatureStructureOptions`)."""
    check_int('num_nodes', num_nodes, 4)
    check_int('num_classes', num_classes, 2)
    check_int('num_features', num_features, 1)
    check_int('degree', degree, 1)
    check_int('seed', seed, 0)
    _check_fraction('feature_fraction', feature_fraction)
    _check_fraction('train_ratio', train_ratio)
    _check_fraction('val_ratio', val_ratio)
    if train_ratio + val_ratio >= 1:
        raise ValueError(f"'train_ratio' + 'val_ratio' must be < 1, got "
                         f"{train_ratio} + {val_ratio}")
    check_float('signal', signal)
    check_float('noise', noise, 0.0)


def feature_structure_graph(num_nodes: int = 2000, num_classes: int = 4,
                            num_features: int = 32, degree: int = 5,
                            signal: float = 3.0, noise: float = 1.0,
                            feature_fraction: float = 0.5,
                            train_ratio: float = 0.5, val_ratio: float = 0.25,
                            seed: int = 0) -> Data:
    r"""Draws a feature-vs-structure graph.

    Args:
        num_nodes (int): Number of nodes.
        num_classes (int): Number of classes (uniform labels).
        num_features (int): Feature size.
        degree (int): In-degree of every node (sources drawn with
            replacement; duplicate edges are kept).
        signal (float): Norm of the class means of the feature nodes
            (each class mean is a random Gaussian direction of this norm
            times :math:`\sqrt{F}`-normalised).
        noise (float): Standard deviation of the feature noise.
        feature_fraction (float): Fraction of feature nodes.
        train_ratio, val_ratio (float): Random split fractions (rest: test).
        seed (int): Seed.

    Returns:
        :class:`torch_geometric.data.Data` with :obj:`x`, :obj:`edge_index`
        (directed, source to target), :obj:`y`, :obj:`node_type` (0: feature
        node, 1: structure node) and 1-D :obj:`train_mask`, :obj:`val_mask`,
        :obj:`test_mask`.

    Example:
        >>> data = feature_structure_graph(100, num_classes=2, seed=0)
        >>> data.num_nodes, int(data.node_type.sum())
        (100, 50)
    """
    _check_args(num_nodes, num_classes, num_features, degree, signal, noise,
                feature_fraction, train_ratio, val_ratio, seed)
    g = torch.Generator().manual_seed(int(seed))
    N, C = num_nodes, num_classes
    y = torch.randint(0, C, (N, ), generator=g)
    n_feat = int(round(feature_fraction * N))
    node_type = torch.ones(N, dtype=torch.long)
    node_type[torch.randperm(N, generator=g)[:n_feat]] = 0
    is_feat = node_type == 0
    if any(int((is_feat & (y == c)).sum()) == 0 for c in range(C)):
        raise ValueError("some class has no feature node; increase "
                         "'num_nodes' or 'feature_fraction'")

    means = torch.randn(C, num_features, generator=g)
    means = signal * means / means.norm(dim=-1, keepdim=True)
    x = noise * torch.randn(N, num_features, generator=g)
    x[is_feat] += means[y[is_feat]]

    dst = torch.arange(N).repeat_interleave(degree)
    src = torch.randint(0, N, (N * degree, ), generator=g)
    # Structure nodes draw their sources among same-class feature nodes.
    for c in range(C):
        pool = (is_feat & (y == c)).nonzero().view(-1)
        sel = (~is_feat[dst]) & (y[dst] == c)
        k = int(sel.sum())
        src[sel] = pool[torch.randint(0, pool.numel(), (k, ), generator=g)]
    edge_index = torch.stack([src, dst], dim=0)

    perm = torch.randperm(N, generator=g)
    n_train, n_val = int(round(train_ratio * N)), int(round(val_ratio * N))
    masks = torch.zeros(3, N, dtype=torch.bool)
    masks[0, perm[:n_train]] = True
    masks[1, perm[n_train:n_train + n_val]] = True
    masks[2, perm[n_train + n_val:]] = True
    return Data(x=x, edge_index=edge_index, y=y, node_type=node_type,
                train_mask=masks[0], val_mask=masks[1], test_mask=masks[2])


@dataclass
class FeatureStructureOptions:
    r"""Options of the ``feature_structure`` dataset (see
    :func:`feature_structure_graph`)."""
    num_nodes: int = 2000
    num_classes: int = 4
    num_features: int = 32
    degree: int = 5
    signal: float = 3.0
    noise: float = 1.0
    feature_fraction: float = 0.5
    seed: int = 0

    def __post_init__(self):
        _check_args(self.num_nodes, self.num_classes, self.num_features,
                    self.degree, self.signal, self.noise,
                    self.feature_fraction, 0.5, 0.25, self.seed)


@register_dataset('feature_structure', options=FeatureStructureOptions,
                  description='Synthetic feature-nodes vs structure-nodes '
                  'graph (the Mowst setting); needs no data root.')
def load_feature_structure(root: str = None, **options) -> Data:
    r"""Loads the synthetic feature-vs-structure graph (ignores
    :obj:`root`)."""
    return feature_structure_graph(**options)
