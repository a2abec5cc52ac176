r"""Mowst / Mowst*: a weak MLP and a strong GNN mixed by the MLP's confidence
("Mixture of Weak & Strong Experts on Graphs", ICLR 2024).

Trains Mowst (alternating turns) or Mowst* (joint) with a GCN, GraphSAGE,
GIN or GAT strong expert, then runs Algorithm 1 inference, which computes
the GNN only on the k-hop subgraph of the nodes routed to it.

    python examples/mowst.py                         # synthetic graph
    python examples/mowst.py --dataset cora --data-root ../shared/datasets
    python examples/mowst.py --variant mowst_star --backbone sage --epochs 50

Without a data root (or ``--dataset feature_structure``) it uses the
synthetic "feature nodes vs structure nodes" graph, where half of the nodes
are predictable from their features and half only from their neighbours.
"""
import argparse
import os

import torch
from torch_geometric.nn.models import GAT, GCN, GIN, MLP, GraphSAGE

from pyg_ext.datasets.feature_structure import feature_structure_graph
from pyg_ext.fit import fit_mowst
from pyg_ext.nn.models import Mowst

BACKBONES = {
    'gcn': lambda i, h, L, c, d: GCN(i, h, L, c, dropout=d),
    'sage': lambda i, h, L, c, d: GraphSAGE(i, h, L, c, dropout=d),
    'gin': lambda i, h, L, c, d: GIN(i, h, L, c, dropout=d),
    'gat': lambda i, h, L, c, d: GAT(i, max(h // 8, 1), L, c, dropout=d,
                                     heads=8),
}


def load(args):
    if args.dataset != 'feature_structure':
        root = args.data_root
        if root and os.path.isdir(root):
            from pyg_ext.registry import DATASETS
            from pyg_ext.train.plugins import load_plugins
            load_plugins()
            data = DATASETS.get(args.dataset).obj(root=root)
            if data.train_mask.dim() == 2:  # fixed splits: take the first
                for key in ('train_mask', 'val_mask', 'test_mask'):
                    data[key] = data[key][:, 0]
            data.y = data.y.view(-1)
            return data
        print(f"no data root ({root!r}): using the synthetic "
              f"feature_structure graph instead of '{args.dataset}'")
    return feature_structure_graph(2000, num_classes=4, num_features=32,
                                   signal=3.0, seed=args.seed)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--dataset', default='feature_structure')
    parser.add_argument('--data-root', default=os.environ.get('PYG_EXT_DATA'))
    parser.add_argument('--variant', default='mowst',
                        choices=['mowst', 'mowst_star'])
    parser.add_argument('--backbone', default='gcn', choices=list(BACKBONES))
    parser.add_argument('--hidden', type=int, default=64)
    parser.add_argument('--num-layers', type=int, default=2)
    parser.add_argument('--dropout', type=float, default=0.5)
    parser.add_argument('--lr', type=float, default=0.01)
    parser.add_argument('--weight-decay', type=float, default=5e-4)
    parser.add_argument('--epochs', type=int, default=200,
                        help='pre-training epochs and max steps per turn '
                        '(Mowst) / max epochs (Mowst*)')
    parser.add_argument('--patience', type=int, default=30)
    parser.add_argument('--rounds', type=int, default=10)
    parser.add_argument('--pretrain', default='strong',
                        choices=['none', 'weak', 'strong', 'both'])
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--progress', action='store_true')
    parser.add_argument('--device', default='auto',
                        help="'auto' (CUDA when available), 'cpu', 'cuda'")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)

    data = load(args)
    c = int(data.y.max()) + 1
    f = data.num_features
    weak = MLP([f] + [args.hidden] * (args.num_layers - 1) + [c],
               dropout=args.dropout)
    strong = BACKBONES[args.backbone](f, args.hidden, args.num_layers, c,
                                      args.dropout)
    model = Mowst(weak, strong, c, variant=args.variant,
                  gate_hidden=args.hidden, gate_layers=args.num_layers)
    print(model)
    common = dict(lr=args.lr, weight_decay=args.weight_decay,
                  pretrain=args.pretrain, pretrain_epochs=args.epochs,
                  pretrain_patience=args.patience, max_epochs=args.epochs,
                  patience=args.patience, progress=args.progress,
                  device=args.device)
    if args.variant == 'mowst':
        common.update(max_rounds=args.rounds, big_patience=3)
    # one entry, two schedules (variant= defaults to the model's)
    res = fit_mowst(model, data, variant=args.variant, **common)
    m = res['metrics']
    print(f"weak expert test acc   {m['test_weak_accuracy']:.4f}")
    print(f"strong expert test acc {m['test_strong_accuracy']:.4f}")
    print(f"{args.variant} test acc {m['test_accuracy']:.4f} "
          f"(Mowst: exact expected accuracy of the random routing)")

    mode = 'sample' if args.variant == 'mowst' else 'mixture'
    gen = torch.Generator().manual_seed(args.seed)
    pred = model.predict(data.x, data.edge_index, mode=mode, generator=gen,
                         index=data.test_mask)
    acc = (pred.pred == data.y[pred.index]).float().mean().item()
    print(f"predict(mode='{mode}') on test nodes: acc {acc:.4f}, "
          f"{100 * pred.strong_fraction:.1f}% routed to the GNN, which ran "
          f"on {pred.num_strong_nodes_computed} of {data.num_nodes} nodes")
    if hasattr(data, 'node_type'):
        model.eval()
        with torch.no_grad():
            conf = model(data.x, data.edge_index).conf
        print(f"mean confidence: feature nodes "
              f"{conf[data.node_type == 0].mean():.3f}, structure nodes "
              f"{conf[data.node_type == 1].mean():.3f}")


if __name__ == '__main__':
    main()
