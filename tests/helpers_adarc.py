r"""Shared helpers of the AdaRC tests (dense references, tiny graphs)."""
import torch
import torch.nn.functional as F

EDGE_INDEX = torch.tensor([[0, 1, 1, 2, 2, 3, 0, 4, 3, 5],
                           [1, 0, 2, 1, 3, 2, 4, 0, 5, 3]])


def dense_gcn_adj(edge_index, num_nodes, edge_weight=None):
    A = torch.zeros(num_nodes, num_nodes)
    w = torch.ones(edge_index.size(1)) if edge_weight is None else edge_weight
    A.index_put_((edge_index[1], edge_index[0]), w, accumulate=True)
    A = A + torch.eye(num_nodes)
    d = A.sum(1).pow(-0.5)
    return d.view(-1, 1) * A * d.view(1, -1)


def dense_hop_sum(h, A_hat, gamma):
    out, cur = gamma[0] * h, h
    for k in range(1, gamma.numel()):
        cur = A_hat @ cur
        out = out + gamma[k] * cur
    return out


def eval_hidden(model, x):
    r"""ReLU(BN(lin1 x)) in eval mode."""
    return F.relu(model.bn1(model.lin1(x)))


def train_full(model, data, epochs=100, lr=0.01, weight_decay=5e-4,
               mask=None):
    opt = torch.optim.Adam(model.parameters(), lr=lr,
                           weight_decay=weight_decay)
    for _ in range(epochs):
        model.train()
        opt.zero_grad()
        out = model(data.x, data.edge_index)
        idx = slice(None) if mask is None else mask
        F.cross_entropy(out[idx], data.y[idx]).backward()
        opt.step()
    model.eval()
    return model


def accuracy(logits, y):
    return (logits.argmax(-1) == y).float().mean().item()
