import torch
from torch_geometric.data import Data

from pyg_ext.registry import DATASETS


def toy_graph(num_nodes=120, num_splits=2, seed=0):
    r"""Two noisy classes on a homophilous random graph with S random splits."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(num_nodes) % 2
    x = torch.randn(num_nodes, 8, generator=g) + y.view(-1, 1) * 0.5
    src = torch.randint(0, num_nodes, (4 * num_nodes, ), generator=g)
    dst = torch.randint(0, num_nodes, (4 * num_nodes, ), generator=g)
    keep = (y[src] == y[dst]) | (torch.rand(src.numel(), generator=g) < 0.2)
    ei = torch.stack([src[keep], dst[keep]])
    ei = torch.cat([ei, ei.flip(0)], 1)
    masks = [torch.zeros(num_nodes, num_splits, dtype=torch.bool)
             for _ in range(3)]
    for s in range(num_splits):
        p = torch.randperm(num_nodes, generator=g)
        masks[0][p[:num_nodes // 2], s] = True
        masks[1][p[num_nodes // 2:3 * num_nodes // 4], s] = True
        masks[2][p[3 * num_nodes // 4:], s] = True
    return Data(x=x, edge_index=ei, y=y, train_mask=masks[0],
                val_mask=masks[1], test_mask=masks[2])


def register_toy(name='test_toy'):
    if name not in DATASETS:
        DATASETS.register(name, lambda root: toy_graph(),
                          description='test graph')
    return name
