r"""A tiny node-classification graph shared by the TEDDY tests."""
import torch
import torch.nn.functional as F
from torch_geometric.data import Data
from torch_geometric.utils import erdos_renyi_graph


def tiny_data(n=60, seed=0, classes=3):
    torch.manual_seed(seed)
    y = torch.arange(n) % classes
    ei = erdos_renyi_graph(n, 0.12)
    x = torch.randn(n, 12) * 0.5 + F.one_hot(y, 12).float()
    perm = torch.randperm(n)
    masks = [torch.zeros(n, dtype=torch.bool) for _ in range(3)]
    masks[0][perm[:n // 2]] = True
    masks[1][perm[n // 2:3 * n // 4]] = True
    masks[2][perm[3 * n // 4:]] = True
    return Data(x=x, y=y, edge_index=ei, train_mask=masks[0],
                val_mask=masks[1], test_mask=masks[2])
