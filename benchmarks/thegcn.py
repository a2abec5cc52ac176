r"""THeGCN performance checks (ratios from one run, same process).

1. Temporal sampler throughput (sampled events per second) of the vectorised
   :class:`pyg_ext.sampler.TemporalNeighborSampler` vs a naive per-seed Python
   loop over the same time-sorted CSR (one ``searchsorted`` per seed), on
   UCI-Msg and on a 1M-event synthetic stream. Target: >= 100k events/s.
2. THeGCN training-epoch time on UCI-Msg link prediction vs the PyG TGN
   pipeline (TGNMemory + LastNeighborLoader + TransformerConv) on the same
   stream and task. Target: <= 1.5x.

Usage::

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/thegcn.py \
        --data-root ../shared/datasets
"""
import argparse
import os
import time

import torch

from pyg_ext.datasets.temporal import load_tgn_format, synthetic_event_stream
from pyg_ext.sampler import TemporalNeighborSampler


def naive_sample(s: TemporalNeighborSampler, seeds, times, k):
    r"""Per-seed Python loop, 1 hop, 'recent', strict bound: the baseline."""
    total = 0
    out = []
    for v, q in zip(seeds.tolist(), times.tolist()):
        lo, hi = int(s.rowptr[v]), int(s.rowptr[v + 1])
        ts = s.t[lo:hi]
        end = lo + int(torch.searchsorted(ts, torch.tensor(q, dtype=ts.dtype)))
        start = max(lo, end - k)
        out.append(s.e_id[start:end].flip(0))
        total += end - start
    return total, out


def bench_sampler(name, src, dst, t, num_nodes, num_seeds, gen):
    print(f'\n== sampler on {name}: {src.numel():,} events, '
          f'{num_nodes:,} nodes')
    t0 = time.perf_counter()
    s1 = TemporalNeighborSampler(src, dst, t, num_nodes=num_nodes,
                                 num_neighbors=[10])
    print(f'build (CSR + keys): {time.perf_counter() - t0:.2f} s')
    seeds = torch.randint(0, num_nodes, (num_seeds, ), generator=gen)
    times = t[torch.randint(0, t.numel(), (num_seeds, ), generator=gen)]
    rates = {}
    for hops in ([10], [10, 10]):
        s = TemporalNeighborSampler(src, dst, t, num_nodes=num_nodes,
                                    num_neighbors=hops)
        s.sample(seeds[:100], times[:100])  # warm-up
        best = float('inf')
        for _ in range(3):
            t0 = time.perf_counter()
            sub = s.sample(seeds, times)
            best = min(best, time.perf_counter() - t0)
        rate = sub.num_edges / best
        rates[str(hops)] = rate
        print(f'vectorised {hops}: {num_seeds:,} seeds -> {sub.num_edges:,} '
              f'events in {best * 1e3:.1f} ms = {rate:,.0f} events/s')
    n_naive = min(num_seeds, 2000)
    t0 = time.perf_counter()
    total, ref = naive_sample(s1, seeds[:n_naive], times[:n_naive], 10)
    dt = time.perf_counter() - t0
    naive_rate = total / dt
    # the vectorised result equals the naive one
    sub = s1.sample(seeds[:n_naive], times[:n_naive])
    eb = sub.batch[sub.edge_index[1]]
    for b in range(0, n_naive, 97):
        assert torch.equal(sub.e_id[eb == b], ref[b])
    print(f'naive per-seed loop [10]: {n_naive:,} seeds -> {total:,} events '
          f'in {dt * 1e3:.1f} ms = {naive_rate:,.0f} events/s')
    print(f'speed-up [10]: {rates["[10]"] / naive_rate:.1f}x')
    return rates, naive_rate


def bench_epoch(data_root, epochs_timed=1, max_batches=None):
    from pyg_ext.fit import TemporalLinkPredictionTask
    from pyg_ext.fit.thegcn import train_epoch
    from pyg_ext.utils.training import make_optimizer
    from pyg_ext.zoo.thegcn import (THeGCNOptions, TGNOptions, build_tgn,
                                    build_thegcn)
    g = load_tgn_format(data_root)
    task = TemporalLinkPredictionTask(num_neighbors=[10], batch_size=200,
                                      mrr_negatives=0)
    data = task.build(g)
    gen = torch.Generator().manual_seed(0)
    print(f'\n== training epoch on UCI-Msg link prediction '
          f'({data.split["train"].numel():,} training events, batch 200)')
    model = build_thegcn(g.x.size(1), 64, THeGCNOptions(
        hidden_channels=64, num_nodes=g.num_nodes, use_edge_attr=False,
        edge_dim=0))
    head = task.make_head(data, 64)
    opt = make_optimizer(list(model.parameters()) + list(head.parameters()),
                         'adam', lr=1e-3)
    task.prepare(data, 'temporal')
    t0 = time.perf_counter()
    train_epoch('temporal', model, head, task, data, opt, gen)
    t_thegcn = time.perf_counter() - t0
    n = -(-data.split['train'].numel() // 200)
    print(f'THeGCN (1 TMP + 1 SMP, 10 recent neighbours, hidden 64): '
          f'{t_thegcn:.2f} s / epoch ({n} steps)')
    tgn = build_tgn(g.x.size(1), 64, TGNOptions(
        hidden_channels=100, num_nodes=g.num_nodes, msg_dim=g.msg.size(1)))
    head = task.make_head(data, 64)
    opt = make_optimizer(list(tgn.parameters()) + list(head.parameters()),
                         'adam', lr=1e-3)
    t0 = time.perf_counter()
    train_epoch('stream', tgn, head, task, data, opt, gen)
    t_tgn = time.perf_counter() - t0
    print(f'PyG TGN pipeline (memory 100, 10 last neighbours): '
          f'{t_tgn:.2f} s / epoch')
    print(f'ratio THeGCN / TGN: {t_thegcn / t_tgn:.2f}x (target <= 1.5x)')
    return t_thegcn, t_tgn


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data-root', default=os.environ.get('PYG_EXT_DATA'))
    parser.add_argument('--num-seeds', type=int, default=20000)
    parser.add_argument('--big-events', type=int, default=1_000_000)
    parser.add_argument('--skip-epoch', action='store_true')
    args = parser.parse_args()
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(0)
    uci = None
    if args.data_root and os.path.exists(
            os.path.join(args.data_root, 'temporal', 'uci')):
        uci = load_tgn_format(args.data_root)
        ev = uci.events
        bench_sampler('UCI-Msg', ev.src, ev.dst, ev.t, uci.num_nodes,
                      args.num_seeds, gen)
    else:
        print('UCI-Msg not found (set --data-root): skipped')
    g = synthetic_event_stream(num_nodes=20000, num_events=args.big_events,
                               num_features=1, seed=0)
    ev = g.events
    bench_sampler(f'synthetic ({args.big_events:,} events)', ev.src, ev.dst,
                  ev.t, g.num_nodes, args.num_seeds, gen)
    if uci is not None and not args.skip_epoch:
        bench_epoch(args.data_root)


if __name__ == '__main__':
    main()
