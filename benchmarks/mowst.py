r"""Accuracy benchmark of Mowst / Mowst* against their experts on real data.

Runs MLP, GCN, GraphSAGE (the ``supervised`` method) and Mowst-GCN,
Mowst*-GCN, Mowst-SAGE through the loop on the given datasets and prints a
markdown table of test accuracy (mean +- std over splits x seeds); Mowst's
number is the exact expected accuracy of its random routing (Algorithm 1).

    nice -n 10 python benchmarks/mowst.py --data-root ../shared/datasets \
        --datasets cora citeseer --splits 0 1 2 --runs 1

The official code's Penn94 settings for GCN (README: Mowst*, GCN pre-trained,
hidden 64, 2 layers, lr 0.1 (pre-training), lr_gate 0.01 (joint), weight
decay 1e-3, dropout 0.1, gate dropout 0.5, every dropout switched to 0.5 after
pre-training) on the Facebook100 colleges:

    nice -n 10 python benchmarks/mowst.py --data-root ../shared/datasets \
        --datasets fb100_reed98 fb100_amherst41 --models GCN Mowst*-GCN \
        --lr 0.1 --lr-gate 0.01 --weight-decay 1e-3 --dropout 0.1 \
        --gate-dropout 0.5 --dropout-after-pretrain 0.5 --epochs 500 \
        --patience 100 --out penn94.jsonl

Results are appended to ``--out`` (JSON lines) as they finish, so a partial
run is still usable; ``--table-only`` re-prints the table from that file.
"""
import argparse
import json
import os
import tempfile
import time

import torch

MODELS = {
    'MLP': dict(model='mlp', method={'name': 'supervised'}),
    'GCN': dict(model='gcn', method={'name': 'supervised'}),
    'GraphSAGE': dict(model='sage', method={'name': 'supervised'}),
    'Mowst-GCN': dict(model='gcn', method={'name': 'mowst'}),
    'Mowst*-GCN': dict(model='gcn', method={'name': 'mowst_star'}),
    'Mowst-SAGE': dict(model='sage', method={'name': 'mowst'}),
    'Mowst*-SAGE': dict(model='sage', method={'name': 'mowst_star'}),
}
# Datasets with one (public) split: seeds instead of splits.
SINGLE_SPLIT = {'cora', 'citeseer', 'feature_structure'}
DATASETS = ['cora', 'citeseer', 'fb100_reed98', 'fb100_amherst41',
            'chameleon', 'fb100_johnshopkins55', 'squirrel']


def make_config(dataset, name, args):
    spec = MODELS[name]
    method = dict(spec['method'])
    if method['name'] == 'mowst':
        method.update(pretrain='strong', pretrain_epochs=args.epochs,
                      turn_epochs=args.turn_epochs,
                      turn_patience=args.turn_patience,
                      max_rounds=args.max_rounds,
                      big_patience=args.big_patience)
    elif method['name'] == 'mowst_star':
        method.update(pretrain='strong', pretrain_epochs=args.epochs)
        if args.lr_gate is not None:
            method['lr_gate'] = args.lr_gate
    if method['name'] in ('mowst', 'mowst_star'):
        method['gate_dropout'] = args.gate_dropout
        method['dropout_after_pretrain'] = args.dropout_after_pretrain
        method['use_features'] = args.gate_features
    single = dataset in SINGLE_SPLIT
    train = dict(epochs=args.epochs,
                 runs=args.single_split_runs if single else args.runs,
                 patience=args.patience, lr=args.lr,
                 weight_decay=args.weight_decay, optimizer='adamw',
                 checkpoint_every=0)
    if args.splits is not None and not single:
        train['splits'] = args.splits
    return {
        'name': f'{dataset}-{name}',
        'task': {'name': 'node_classification'},
        'dataset': {'name': dataset},
        'model': {'name': spec['model'], 'hidden_channels': args.hidden,
                  'num_layers': 2, 'dropout': args.dropout},
        'method': method,
        'train': train,
    }


def table(rows, models, datasets):
    lines = ['| model | ' + ' | '.join(datasets) + ' |',
             '|---' * (len(datasets) + 1) + '|']
    for m in models:
        cells = []
        for d in datasets:
            r = rows.get((d, m))
            cells.append('-' if r is None else
                         f"{100 * r['mean']:.2f} ± {100 * r['std']:.2f}")
        lines.append(f'| {m} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data-root', default=os.environ.get('PYG_EXT_DATA'))
    parser.add_argument('--datasets', nargs='+', default=DATASETS)
    parser.add_argument('--models', nargs='+', choices=list(MODELS),
                        default=[m for m in MODELS if m != 'Mowst*-SAGE'])
    parser.add_argument('--splits', nargs='+', type=int, default=[0, 1, 2])
    parser.add_argument('--runs', type=int, default=1)
    parser.add_argument('--single-split-runs', type=int, default=3,
                        help='seeds on the public-split datasets')
    parser.add_argument('--epochs', type=int, default=200)
    parser.add_argument('--patience', type=int, default=50)
    parser.add_argument('--turn-epochs', type=int, default=100)
    parser.add_argument('--turn-patience', type=int, default=20)
    parser.add_argument('--max-rounds', type=int, default=5)
    parser.add_argument('--big-patience', type=int, default=2)
    parser.add_argument('--hidden', type=int, default=64)
    parser.add_argument('--dropout', type=float, default=0.5)
    parser.add_argument('--lr', type=float, default=0.01)
    parser.add_argument('--weight-decay', type=float, default=5e-4)
    parser.add_argument('--lr-gate', type=float, default=None,
                        help="Mowst*'s joint learning rate (default: --lr)")
    parser.add_argument('--gate-dropout', type=float, default=0.5)
    parser.add_argument('--gate-features', action='store_true',
                        help="append node features to the gate input (the "
                        "official '--original_data true')")
    parser.add_argument('--dropout-after-pretrain', type=float, default=None,
                        help='switch every dropout to this value after '
                        'pre-training (official: the gate dropout)')
    parser.add_argument('--out', default='mowst_bench.jsonl')
    parser.add_argument('--table-only', action='store_true')
    args = parser.parse_args()
    torch.set_num_threads(1)

    from pyg_ext.train.runner import run

    rows = {}
    if os.path.exists(args.out):
        with open(args.out) as f:
            for line in f:
                r = json.loads(line)
                rows[(r['dataset'], r['model'])] = r
    if not args.table_only:
        if not args.data_root or not os.path.isdir(args.data_root):
            raise SystemExit('--data-root (or $PYG_EXT_DATA) must point at '
                             'the shared datasets folder')
        for dataset in args.datasets:
            for name in args.models:
                if (dataset, name) in rows:
                    continue
                cfg = make_config(dataset, name, args)
                t0 = time.perf_counter()
                with tempfile.TemporaryDirectory() as tmp:
                    out = run(cfg, run_dir=os.path.join(tmp, 'run'),
                              quiet=True, data_root=args.data_root)
                acc = out['summary']['test_accuracy']
                r = {'dataset': dataset, 'model': name, 'mean': acc['mean'],
                     'std': acc['std'], 'n': acc['n'],
                     'seconds': time.perf_counter() - t0}
                for key in ('test_strong_fraction', 'test_confidence'):
                    if key in out['summary']:
                        r[key] = out['summary'][key]['mean']
                rows[(dataset, name)] = r
                with open(args.out, 'a') as f:
                    f.write(json.dumps(r) + '\n')
                print(f"{dataset:22s} {name:11s} {100 * r['mean']:.2f} ± "
                      f"{100 * r['std']:.2f}  (n={r['n']}, "
                      f"{r['seconds']:.0f} s)", flush=True)
    datasets = [d for d in args.datasets
                if any((d, m) in rows for m in args.models)]
    print(table(rows, args.models, datasets))


if __name__ == '__main__':
    main()
