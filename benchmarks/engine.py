r"""Overhead of the training engine (:class:`pyg_ext.utils.training.Trainer`)
against a bare PyTorch loop doing the same work, in the same process,
interleaved round by round (the order of the two sides is shuffled per
round), 1 thread.

Two workloads per graph, each the same on both sides:

* ``step``: training steps only (forward, loss, backward, optimizer step);
  the engine runs one phase without evaluation;
* ``step+eval``: a training step and an evaluation (eval-mode forward,
  validation accuracy read on the host, best-epoch tracking) every epoch;
  the engine also keeps a best-state snapshot when the score improves.

Graphs: Cora (from the data root) and an arxiv-size random graph (169,343
nodes, 2.4M undirected edges = 4.8M directed, 128 features, 40 classes).
Target: the engine's median ratio <= 1.03.

    OMP_NUM_THREADS=1 python benchmarks/engine.py --data-root ../shared/datasets
    OMP_NUM_THREADS=1 python benchmarks/engine.py --graphs random --rounds 5
"""
import argparse
import os
import random
import statistics
import time

import torch
import torch.nn.functional as F
from torch_geometric.nn.models import GCN

from pyg_ext.utils.training import Trainer


def load(name, data_root):
    if name == 'random':
        g = torch.Generator().manual_seed(0)
        n, e = 169_343, 2_400_000
        src = torch.randint(0, n, (e, ), generator=g)
        dst = torch.randint(0, n, (e, ), generator=g)
        ei = torch.cat([torch.stack([src, dst]), torch.stack([dst, src])], 1)
        x = torch.randn(n, 128, generator=g)
        y = torch.randint(0, 40, (n, ), generator=g)
        perm = torch.randperm(n, generator=g)
        tm = torch.zeros(n, dtype=torch.bool)
        vm = torch.zeros(n, dtype=torch.bool)
        tm[perm[:n // 2]] = True
        vm[perm[n // 2:3 * n // 4]] = True
        return x, ei, y, tm, vm, 40
    from pyg_ext.datasets.planetoid import load_planetoid
    data = load_planetoid(root=data_root, name='Cora')
    m = data.train_mask
    tm = m if m.dim() == 1 else m[:, 0]
    vm = data.val_mask if data.val_mask.dim() == 1 else data.val_mask[:, 0]
    return (data.x, data.edge_index, data.y, tm, vm,
            int(data.y.max()) + 1)


def make(x, c):
    torch.manual_seed(0)
    model = GCN(x.size(1), 64, 2, c, dropout=0.5)
    return model, torch.optim.Adam(model.parameters(), lr=0.01,
                                   weight_decay=5e-4)


def bare(model, opt, x, ei, y, tm, vm, epochs, evaluate):
    best = None
    for _ in range(epochs):
        model.train()
        opt.zero_grad()
        loss = F.cross_entropy(model(x, ei)[tm], y[tm])
        loss.backward()
        opt.step()
        if evaluate:
            model.eval()
            with torch.no_grad():
                pred = model(x, ei).argmax(-1)
            acc = float((pred[vm] == y[vm]).float().mean())
            _ = float(loss.detach())
            if best is None or acc > best:
                best = acc


def engine(model, opt, x, ei, y, tm, vm, epochs, evaluate):
    tr = Trainer(model, progress=False)

    def step(epoch):
        model.train()
        return tr.backward(opt, F.cross_entropy(model(x, ei)[tm], y[tm]))

    @torch.no_grad()
    def ev(epoch):
        model.eval()
        pred = model(x, ei).argmax(-1)
        return {'val_accuracy': float((pred[vm] == y[vm]).float().mean())}

    if evaluate:
        tr.phase('train', step, ev, epochs=epochs, monitor='val_accuracy')
    else:
        tr.phase('train', step, epochs=epochs)


def fixed_overhead(epochs: int = 20000, rounds: int = 5):
    r"""The engine's own cost per epoch (microseconds): a phase whose step
    does nothing but return a loss tensor, against a bare loop doing the
    same, best of several rounds (robust to other load on the machine)."""
    model = torch.nn.Linear(1, 1)
    loss = torch.zeros(())
    best = {'bare': float('inf'), 'engine': float('inf'),
            'engine+eval': float('inf')}
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(epochs):
            _ = loss.detach()
        best['bare'] = min(best['bare'], time.perf_counter() - t)
        tr = Trainer(model, progress=False)
        t = time.perf_counter()
        tr.phase('p', lambda e: loss, epochs=epochs)
        best['engine'] = min(best['engine'], time.perf_counter() - t)
        tr = Trainer(model, progress=False)
        t = time.perf_counter()
        tr.phase('p', lambda e: loss, lambda e: {'v': 0.5}, epochs=epochs,
                 monitor='v')
        best['engine+eval'] = min(best['engine+eval'],
                                  time.perf_counter() - t)
    return {k: 1e6 * (v - best['bare']) / epochs for k, v in best.items()
            if k != 'bare'}


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--graphs', nargs='+', default=['cora', 'random'])
    p.add_argument('--data-root', default=os.environ.get('PYG_EXT_DATA'))
    p.add_argument('--rounds', type=int, default=7)
    p.add_argument('--epochs', type=int, default=0,
                   help='epochs per side and round (0: 50 on Cora, 3 on '
                   'the random graph)')
    args = p.parse_args()
    torch.set_num_threads(1)
    rng = random.Random(0)
    print(f'load: {os.getloadavg()[0]:.2f}; torch {torch.__version__}, '
          f'{torch.get_num_threads()} thread(s)')
    print('| graph | workload | epochs x rounds | bare s/epoch (wall) | '
          'engine / bare (wall, median) | engine / bare (CPU, median) |')
    print('|---|---|---|---|---|---|')
    for name in args.graphs:
        x, ei, y, tm, vm, c = load(name, args.data_root)
        epochs = args.epochs or (50 if name != 'random' else 3)
        for evaluate in (False, True):
            sides = {'bare': bare, 'engine': engine}
            for fn in sides.values():  # warm-up
                fn(*make(x, c), x, ei, y, tm, vm, 1, evaluate)
            wall = {k: [] for k in sides}
            cpu = {k: [] for k in sides}
            for _ in range(args.rounds):
                order = list(sides)
                rng.shuffle(order)
                for k in order:
                    model, opt = make(x, c)
                    t, u = time.perf_counter(), time.process_time()
                    sides[k](model, opt, x, ei, y, tm, vm, epochs, evaluate)
                    wall[k].append(time.perf_counter() - t)
                    cpu[k].append(time.process_time() - u)
            rw = statistics.median(e / b for e, b in zip(wall['engine'],
                                                         wall['bare']))
            rc = statistics.median(e / b for e, b in zip(cpu['engine'],
                                                         cpu['bare']))
            per = statistics.median(wall['bare']) / epochs
            print(f"| {name} | {'step+eval' if evaluate else 'step'} | "
                  f'{epochs} x {args.rounds} | {per:.4f} | {rw:.3f} | '
                  f'{rc:.3f} |', flush=True)
    us = fixed_overhead()
    print(f"\nengine's own cost per epoch: {us['engine']:.1f} us without "
          f"evaluation, {us['engine+eval']:.1f} us with a (free) evaluation "
          f"and best-epoch tracking")
    print(f'load: {os.getloadavg()[0]:.2f}')


if __name__ == '__main__':
    main()
