r"""Speed/memory benchmark of Mowst inference and training.

1. ``predict`` wall time divided by one full-graph forward of the strong
   expert (measured in the same process, interleaved round by round), for
   routed fractions 5%, 20%, 50% and 100%, with the number of nodes the strong expert actually computed.
   Target: ratio <= 0.3 + 0.7 * (computed nodes / all nodes).
2. Training step time of Mowst (a weak-turn and a strong-turn step of
   :func:`fit_mowst`) and of Mowst* (a joint step) divided by a step of the
   GNN alone (train forward/backward + eval forward). Target: <= 2.5.
3. Peak resident memory of the process (target <= 4 GiB on the arxiv-size
   graph).

    nice -n 10 python benchmarks/mowst_inference.py --graph random
    nice -n 10 python benchmarks/mowst_inference.py --graph cora \
        --data-root ../shared/datasets

``--graph random`` is an arxiv-size random graph: 169,343 nodes, 2.4M
undirected edges (4.8M directed), 128 features, 40 classes.
"""
import argparse
import os
import random
import resource
import time

import torch
import torch.nn.functional as F
from torch_geometric.nn.models import GCN, MLP

from pyg_ext.nn.models import Mowst


class FixedGate(torch.nn.Module):
    r"""Confidences fixed per node, so that ``threshold=f`` routes a
    fraction ~f of the nodes to the strong expert."""
    def __init__(self, conf):
        super().__init__()
        self.register_buffer('conf', conf)

    def forward(self, inp):
        return self.conf[:inp.size(0)]


def load_graph(args):
    if args.graph == 'random':
        g = torch.Generator().manual_seed(0)
        n, e = 169_343, 2_400_000
        src = torch.randint(0, n, (e, ), generator=g)
        dst = torch.randint(0, n, (e, ), generator=g)
        ei = torch.cat([torch.stack([src, dst]), torch.stack([dst, src])], 1)
        x = torch.randn(n, 128, generator=g)
        y = torch.randint(0, 40, (n, ), generator=g)
        return x, ei, y, 40
    from pyg_ext.registry import DATASETS
    from pyg_ext.train.plugins import load_plugins
    load_plugins()
    data = DATASETS.get(args.graph).obj(root=args.data_root)
    if getattr(data, 'x', None) is None:
        # A real structure without node features (e.g. NetHEPT): random
        # features and labels as for the random graph; timing depends only
        # on the structure and the feature width. Undirected, as a GCN
        # would use it.
        from torch_geometric.utils import to_undirected
        g = torch.Generator().manual_seed(0)
        n = data.num_nodes
        ei = to_undirected(data.edge_index, num_nodes=n)
        return (torch.randn(n, args.num_features, generator=g), ei,
                torch.randint(0, 40, (n, ), generator=g), 40)
    y = data.y.view(-1)
    return data.x, data.edge_index, y, int(y.max()) + 1


def timeit(fn, repeat):
    fn()  # warm-up
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return median(ts)


def median(ts):
    ts = sorted(ts)
    return ts[len(ts) // 2]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--graph', default='random',
                        help="'random' (arxiv-size) or a registered dataset")
    parser.add_argument('--data-root', default=os.environ.get('PYG_EXT_DATA'))
    parser.add_argument('--hidden', type=int, default=64)
    parser.add_argument('--num-features', type=int, default=128,
                        help='feature width for a real graph without '
                        'features (e.g. nethept)')
    parser.add_argument('--num-layers', type=int, default=2)
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--no-training', action='store_true',
                        help='skip the training-step timings')
    parser.add_argument('--no-inference', action='store_true',
                        help='skip the predict timings (run training alone, '
                        'so the peak memory is that of training)')
    parser.add_argument('--gcn-subgraph', default='auto',
                        choices=['auto', 'extra_hop', 'prenormalize'])
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)

    x, ei, y, c = load_graph(args)
    n = x.size(0)
    print(f'graph={args.graph} nodes={n} directed_edges={ei.size(1)} '
          f'features={x.size(1)} classes={c} hidden={args.hidden} '
          f'layers={args.num_layers}')
    strong = GCN(x.size(1), args.hidden, args.num_layers, c)
    weak = MLP([x.size(1)] + [args.hidden] * (args.num_layers - 1) + [c])
    conf = torch.rand(n, generator=torch.Generator().manual_seed(1))
    model = Mowst(weak, strong, c, gate=FixedGate(conf),
                  gcn_subgraph=args.gcn_subgraph).eval()

    if not args.no_inference:
        run_inference(args, model, strong, x, ei, n)
    if args.no_training:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        print(f'peak resident memory: {peak:.2f} GiB (target <= 4 GiB)')
        return
    run_training(args, x, ei, y, c, n)


def run_inference(args, model, strong, x, ei, n):
    fracs = (0.05, 0.2, 0.5, 1.0)
    out = {}

    def full():
        strong(x, ei)

    def pred(frac):
        p = model.predict(x, ei, mode='threshold', threshold=frac)
        out[frac] = (p.strong_fraction, p.num_strong_nodes_computed)

    # Interleaved: each round times one full forward and predict at every
    # fraction, in a shuffled (seeded) order, so slow drifts of the machine
    # (other jobs, memory bandwidth, allocator state) hit baseline and
    # predict alike. The ratio is the median over rounds of predict / the
    # full forward of the same round.
    t_full, t_pred = [], {f: [] for f in fracs}
    jobs = [None] + list(fracs)
    rng = random.Random(0)
    with torch.no_grad():
        full()  # warm-up
        for f in fracs:
            pred(f)
        for _ in range(args.repeat):
            rng.shuffle(jobs)
            for f in jobs:
                t0 = time.perf_counter()
                full() if f is None else pred(f)
                dt = time.perf_counter() - t0
                (t_full if f is None else t_pred[f]).append(dt)
    print(f'full-graph strong forward: {median(t_full):.3f} s (median of '
          f'{args.repeat} interleaved rounds)')
    print_table(fracs, out, t_full, t_pred, n)


def print_table(fracs, out, t_full, t_pred, n):
    r"""The predict table: per routed fraction the computed share, the
    median time, the median of the per-round ratios to the full forward
    and the target :math:`0.3 + 0.7 \cdot` computed share."""
    print('| routed | computed nodes | predict (s) | ratio | target | ok |')
    print('|---|---|---|---|---|---|')
    for f in fracs:
        share, computed = out[f]
        comp = computed / n
        ratio = median([a / b for a, b in zip(t_pred[f], t_full)])
        target = 0.3 + 0.7 * comp
        print(f'| {100 * share:.1f}% | {100 * comp:.1f}% | '
              f'{median(t_pred[f]):.3f} | {ratio:.2f} | {target:.2f} | '
              f"{'yes' if ratio <= target else 'NO'} |", flush=True)


def run_training(args, x, ei, y, c, n):
    train_mask = torch.rand(n, generator=torch.Generator().manual_seed(2)) \
        < 0.5
    gnn = GCN(x.size(1), args.hidden, args.num_layers, c)
    opt = torch.optim.Adam(gnn.parameters(), lr=0.01)

    def gnn_step():
        gnn.train()
        opt.zero_grad()
        F.cross_entropy(gnn(x, ei)[train_mask], y[train_mask]).backward()
        opt.step()
        gnn.eval()
        with torch.no_grad():
            gnn(x, ei)

    mowst = Mowst(MLP([x.size(1), args.hidden, c]),
                  GCN(x.size(1), args.hidden, args.num_layers, c), c)
    star = Mowst(MLP([x.size(1), args.hidden, c]),
                 GCN(x.size(1), args.hidden, args.num_layers, c), c,
                 variant='mowst_star')
    opt_w = torch.optim.Adam(mowst.weak_parameters(), lr=0.01)
    opt_s = torch.optim.Adam(mowst.strong_parameters(), lr=0.01)
    opt_j = torch.optim.Adam(star.parameters(), lr=0.01)
    with torch.no_grad():
        mowst.eval()
        frozen_s = mowst.strong_forward(x, ei)
        frozen_w = mowst.weak_forward(x)
        frozen_c = mowst.confidence(frozen_w)

    def weak_step():  # as in fit_mowst: strong output cached per turn
        mowst.train()
        opt_w.zero_grad()
        w = mowst.weak_forward(x)
        out = mowst.make_output(w, frozen_s, mowst.confidence(w))
        mowst.loss(out, y, train_mask).backward()
        opt_w.step()
        mowst.eval()
        with torch.no_grad():
            w = mowst.weak_forward(x)
            mowst.make_output(w, frozen_s, mowst.confidence(w))

    def strong_step():
        mowst.train()
        opt_s.zero_grad()
        s = mowst.strong_forward(x, ei)
        out = mowst.make_output(frozen_w, s, frozen_c)
        mowst.loss(out, y, train_mask).backward()
        opt_s.step()
        mowst.eval()
        with torch.no_grad():
            mowst.make_output(frozen_w, mowst.strong_forward(x, ei),
                              frozen_c)

    def star_step():
        star.train()
        opt_j.zero_grad()
        star.loss(star(x, ei), y, train_mask).backward()
        opt_j.step()
        star.eval()
        with torch.no_grad():
            star(x, ei)

    t_gnn = timeit(gnn_step, args.repeat)
    t_w = timeit(weak_step, args.repeat)
    t_s = timeit(strong_step, args.repeat)
    t_j = timeit(star_step, args.repeat)
    print(f'GNN step {t_gnn:.3f} s | Mowst weak-turn step {t_w:.3f} s '
          f'({t_w / t_gnn:.2f}x) | Mowst strong-turn step {t_s:.3f} s '
          f'({t_s / t_gnn:.2f}x) | Mowst* joint step {t_j:.3f} s '
          f'({t_j / t_gnn:.2f}x); target <= 2.5x')
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f'peak resident memory: {peak:.2f} GiB (target <= 4 GiB)')


if __name__ == '__main__':
    main()
