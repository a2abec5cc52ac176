r"""TEDDY vs random pruning vs UGS over the graph-lottery-ticket sweep.

Graph sparsity 1 - 0.95^k and weight sparsity 1 - 0.9^k for k = 1..levels
(the official README's rates), on a Planetoid graph (public split,
row-normalised features as in the official code) or, without data, on a
synthetic CSBM graph.

    python examples/teddy.py --epochs 5 --levels 3            # quick run
    python examples/teddy.py --dataset citeseer --model gin \
        --epochs 100 --hidden 64 --out runs/teddy_citeseer_gin.json

With ``--out``, every sweep is checkpointed next to it
(``<out>.<method>.ckpt.pt``, every 50 epochs and after every training):
re-running the same command resumes where it stopped, with the same numbers.
"""
import argparse
import json
import os
import sys
import time

import torch

from pyg_ext.fit import fit_random_prune, fit_teddy, fit_ugs
from pyg_ext.nn.models.teddy import TeddyGAT, TeddyGCN, TeddyGIN
from pyg_ext.train.checkpoint import atomic_write_json
from pyg_ext.utils import teddy_schedule

MODELS = {'gcn': TeddyGCN, 'gin': TeddyGIN, 'gat': TeddyGAT}


def load_data(name: str, root: str):
    import torch_geometric.transforms as T
    if name != 'csbm' and root and os.path.isdir(
            os.path.join(root, 'planetoid')):
        from pyg_ext.datasets.planetoid import load_planetoid
        return T.NormalizeFeatures()(load_planetoid(root, name))
    if name != 'csbm':
        print(f'no data root with planetoid/ found ({root!r}): using a '
              f'synthetic CSBM graph instead', file=sys.stderr)
    from pyg_ext.datasets.csbm import load_csbm
    data = load_csbm(num_classes=3, seed=0)
    for key in ('train_mask', 'val_mask', 'test_mask'):
        data[key] = data[key].view(-1)
    return data


def plot(paths, out):
    r"""One panel per result file: test accuracy vs graph sparsity."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    runs = [json.load(open(p)) for p in paths]
    fig, axes = plt.subplots(1, len(runs), figsize=(4 * len(runs), 3.2),
                             squeeze=False)
    style = {'teddy': ('TEDDY', 'C3', 'o'), 'ugs': ('UGS', 'C0', 's'),
             'random': ('random', 'C7', '^'),
             # optional ablations merged into a result file by hand
             'teddy_nodistill': ('TEDDY w/o distill', 'C1', 'x'),
             'teddy_randscore': ('TEDDY, random edges', 'C2', '+')}
    for ax, res in zip(axes[0], runs):
        cfg = res['config']
        for key, (label, color, marker) in style.items():
            if key not in res:
                continue
            lv = res[key]['levels']
            ax.plot([100 * r['graph_sparsity'] for r in lv],
                    [100 * r['test_accuracy'] for r in lv], marker=marker,
                    ms=3, lw=1, color=color, label=label)
        if 'teddy' in res:
            ax.axhline(100 * res['teddy']['dense']['test_accuracy'],
                       color='k', ls='--', lw=1, label='dense')
        ax.set_title(f"{cfg['dataset']} / {cfg['model'].upper()}", fontsize=10)
        ax.set_xlabel('graph sparsity (%)')
        ax.set_ylabel('test accuracy (%)')
        ax.grid(alpha=0.3)
    for ax in axes[0]:
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    print(f'wrote {out}')


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--dataset', default='cora',
                   choices=['cora', 'citeseer', 'pubmed', 'csbm'])
    p.add_argument('--data-root', default=os.environ.get('PYG_EXT_DATA'))
    p.add_argument('--model', default='gcn', choices=sorted(MODELS))
    p.add_argument('--hidden', type=int, default=512)
    p.add_argument('--epochs', type=int, default=200)
    p.add_argument('--levels', type=int, default=20)
    p.add_argument('--graph-rate', type=float, default=0.05)
    p.add_argument('--weight-rate', type=float, default=0.1)
    p.add_argument('--lamb', type=float, default=10.0)
    p.add_argument('--no-distill', action='store_true',
                   help='TEDDY without the distillation term (ablation)')
    p.add_argument('--random-score', action='store_true',
                   help='TEDDY pipeline with a random (symmetric) edge score '
                   'instead of the degree score (ablation)')
    p.add_argument('--lr', type=float, default=0.01)
    p.add_argument('--weight-decay', type=float, default=5e-4)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--methods', default='teddy,random,ugs')
    p.add_argument('--out', default=None, help='JSON result file')
    p.add_argument('--no-progress', action='store_true')
    p.add_argument('--device', default=None,
                   help="e.g. 'cuda' (default: the CPU)")
    p.add_argument('--dense-features', action='store_true',
                   help='keep x dense (default: sparse CSR for GCN/GIN)')
    p.add_argument('--plot', nargs='+', default=None, metavar='JSON',
                   help='only plot these result files (to --plot-out)')
    p.add_argument('--plot-out', default='teddy_sweep.png')
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    if args.plot:
        return plot(args.plot, args.plot_out)

    data = load_data(args.dataset, args.data_root)
    if args.model == 'gat':
        from torch_geometric.transforms import AddRemainingSelfLoops
        data = AddRemainingSelfLoops()(data)  # official: loops before scoring
    num_features = data.num_features
    if args.model != 'gat' and not args.dense_features:
        # Bag-of-words features are ~1% dense: a sparse CSR product is ~10x
        # cheaper on CPU and gives the same numbers (up to float round-off).
        data.x = data.x.to_sparse_csr()
    levels = teddy_schedule(args.levels, args.graph_rate, args.weight_rate)
    num_classes = int(data.y.max()) + 1

    fits = {'teddy': fit_teddy, 'random': fit_random_prune, 'ugs': fit_ugs}
    results = {'config': vars(args), 'levels': levels}
    for name in args.methods.split(','):
        torch.manual_seed(args.seed)  # same init for every method
        model = MODELS[args.model](num_features, args.hidden,
                                   num_classes)
        kwargs = dict(epochs=args.epochs, lr=args.lr,
                      weight_decay=args.weight_decay,
                      generator=torch.Generator().manual_seed(args.seed),
                      progress=not args.no_progress, device=args.device,
                      checkpoint=None if args.out is None else
                      f'{args.out}.{name}.ckpt.pt', checkpoint_every=50)
        if name == 'teddy':
            kwargs['lamb'] = args.lamb
            kwargs['distill'] = not args.no_distill
            if args.random_score:
                ei = data.edge_index
                g = torch.Generator().manual_seed(args.seed)
                lo = torch.minimum(ei[0], ei[1])
                hi = torch.maximum(ei[0], ei[1])
                _, inv = torch.unique(lo * data.num_nodes + hi,
                                      return_inverse=True)
                pair = torch.rand(int(inv.max()) + 1, generator=g,
                                  dtype=torch.float64)
                kwargs['edge_score'] = pair[inv]
        t0 = time.perf_counter()
        res = {k: v for k, v in fits[name](model, data, levels, **kwargs)
               .extras.items() if k in ('levels', 'dense')}
        res['wall_seconds_this_call'] = time.perf_counter() - t0
        results[name] = res
        if 'dense' in res:
            print(f"dense: test {res['dense']['test_accuracy']:.4f}")
        for lv in res['levels']:
            print(f"{name:6s} k={lv['level']:2d} graph "
                  f"{lv['graph_sparsity']:.3f} weight "
                  f"{lv['weight_sparsity']:.3f}  test "
                  f"{lv['test_accuracy']:.4f}")
    if args.out:
        atomic_write_json(args.out, results)


if __name__ == '__main__':
    main()
