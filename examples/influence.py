r"""Influence maximisation with RR sets: OPIM-C and IMM against degree and
PageRank seeds, then capacity-constrained IM (RR-OPIM+) on scinet's active
participants.

    python examples/influence.py                        # NetHEPT if found
    python examples/influence.py --dataset synthetic --quick
    python examples/influence.py --dataset nethept --model LT --k 50

Runs offline: without the data folder ($PYG_EXT_DATA or --data-root) it
falls back to a synthetic Barabási–Albert graph.
"""
import argparse
import os
import time

import torch

from pyg_ext.datasets import DatasetNotFoundError
from pyg_ext.datasets.snap import (load_ego_facebook, load_email_eu,
                                   load_im_synthetic, load_nethept,
                                   load_scinet)
from pyg_ext.influence import (cim_local_baseline, cim_rr_opim_plus,
                               degree_scores, estimate_spread, imm, opim_c,
                               pagerank_scores, prepare, top_k, warmup)

LOADERS = {'nethept': load_nethept, 'email_eu': load_email_eu,
           'ego_facebook': load_ego_facebook, 'scinet': load_scinet}


def load(name, root):
    if name != 'synthetic':
        try:
            return LOADERS[name](root)
        except DatasetNotFoundError as e:
            print(f'{e}\n-> falling back to the synthetic graph')
    return load_im_synthetic(num_nodes=5000, m=3, seed=0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--dataset', default='nethept',
                        choices=list(LOADERS) + ['synthetic'])
    parser.add_argument('--data-root', default=os.environ.get('PYG_EXT_DATA'))
    parser.add_argument('--model', default='IC', choices=['IC', 'LT'])
    parser.add_argument('--k', type=int, default=50)
    parser.add_argument('--eps', type=float, default=0.1)
    parser.add_argument('--mc', type=int, default=10000,
                        help='Monte-Carlo runs of the final evaluation')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--quick', action='store_true',
                        help='k=10, eps=0.3, 1,000 MC runs, no IMM')
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.quick:
        args.k, args.eps, args.mc = min(args.k, 10), 0.3, 1000

    data = load(args.dataset, args.data_root)
    warmup()  # compile / load the numba kernels before timing
    g = prepare(data.edge_index, data.num_nodes, model=args.model)
    print(f'{data.name}: {g} (WC weights)')

    rows = []
    t = time.perf_counter()
    r = opim_c(g, k=args.k, eps=args.eps, model=args.model, seed=args.seed)
    rows.append(('opim_c', r.seeds, time.perf_counter() - t, r.num_rr_sets,
                 r.alpha))
    if not args.quick:
        t = time.perf_counter()
        r = imm(g, k=args.k, eps=args.eps, model=args.model, seed=args.seed)
        rows.append(('imm', r.seeds, time.perf_counter() - t, r.num_rr_sets,
                     None))
    for name, fn in (('degree', degree_scores), ('pagerank',
                                                 pagerank_scores)):
        t = time.perf_counter()
        rows.append((name, top_k(fn(g), args.k), time.perf_counter() - t, 0,
                     None))
    print(f'\n| method | spread (MC, {args.mc} runs) | seconds | RR sets | '
          f'alpha |\n|---|---|---|---|---|')
    for name, seeds, sec, nrr, alpha in rows:
        est = estimate_spread(g, seeds=seeds, num_samples=args.mc,
                              seed=args.seed + 1)
        a = '-' if alpha is None else f'{alpha:.3f}'
        print(f'| {name} | {est.mean:.1f} ± {(est.ci_high - est.mean):.1f} '
              f'| {sec:.3f} | {nrr} | {a} |')

    if getattr(data, 'ap_sets', None) is None and args.dataset != 'scinet':
        try:
            data = load_scinet(args.data_root)
        except DatasetNotFoundError:
            data = load_im_synthetic(num_nodes=2000, m=3, seed=0)
    if getattr(data, 'ap_sets', None) is None:
        return
    aps = data.ap_sets[-1]
    g = prepare(data.edge_index, data.num_nodes)
    print(f'\nCIM on {data.name}: {len(aps)} active participants, k=2')
    res = cim_rr_opim_plus(g, aps=aps, k=2, eps=0.1, seed=args.seed)
    loc = cim_local_baseline(g, aps=aps, k=2, scores=degree_scores(g))
    for name, seeds in (('rr_opim_plus', res.seeds), ('local degree',
                                                       loc.seeds)):
        est = estimate_spread(g, seeds=seeds, exclude=aps,
                              num_samples=args.mc, seed=args.seed + 1)
        print(f'{name}: {len(seeds)} distinct seeds, spread on the passive '
              f'graph {est.mean:.1f}')
    print(f'RR-OPIM+ certificate alpha = {res.alpha:.3f}, '
          f'{res.num_rr_sets} RR sets, {res.seconds:.3f} s')


if __name__ == '__main__':
    main()
