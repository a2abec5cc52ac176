r"""Several processes through torch.distributed (gloo, spawned with
torch.multiprocessing on this machine): 1 process against 2.

    OMP_NUM_THREADS=1 python benchmarks/distributed.py --section burn
    OMP_NUM_THREADS=1 python benchmarks/distributed.py --section latency
    OMP_NUM_THREADS=1 python benchmarks/distributed.py --section im
    OMP_NUM_THREADS=1 python benchmarks/distributed.py --section im \
        --graphs chunglu --eps 0.3          # 1M nodes, ~10M arcs
    OMP_NUM_THREADS=1 python benchmarks/distributed.py --section ddp

* ``burn``: the ceiling: a pure-Python busy loop in 1 process, then the
  same loop in each of 2 processes at once; ``2 * t1 / t2`` is the most any
  2-process code can gain on this machine right now (other users' load
  included).
* ``latency``: the wall time of one small collective (all-reduce,
  all-gather, broadcast, a send/recv ping-pong, barrier) between 2 gloo
  processes.
* ``im``: RR sampling (a fixed number of RR sets, index excluded) and
  ``opim_c`` end to end (k = 50, IC-WC) on BA-100K
  (``networkx.barabasi_albert_graph(100000, 5, seed=0)``, both directions)
  and a Chung-Lu power-law graph (gamma = 2.5, 1M nodes, ~10M arcs); 2
  processes with both distributed greedies and both placements of the two
  collections (``dist_place``), with the communication per greedy step;
  ``opim_c`` times are the median of ``--reps`` calls (seeds 0, 1, ...).
  The 1-process baseline runs on rank 0 of the same launch (rank 1 waits
  in a barrier), taking turns with the 2-process configurations in blocks
  of 5 calls. Every 2-process result is checked equal to the 1-process
  one.
* ``ddp``: one mini-batch epoch (GraphSAGE and GCN, fan-out [15, 10],
  batch 1024) on an arxiv-size random graph (169,343 nodes, 1,166,243
  undirected edges, 128 features, 40 classes), 1 vs 2 processes, and the
  bytes DDP all-reduces per step (counted by a communication hook).

Every number is printed with the 1-minute load average (``/proc/loadavg``)
taken just before it.
"""
import argparse
import json
import os
import socket
import tempfile
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp


def load() -> float:
    with open('/proc/loadavg') as f:
        return float(f.read().split()[0])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _entry(rank, world, port, fn, args, out):
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank), MASTER_ADDR='127.0.0.1',
                      MASTER_PORT=str(port), OMP_NUM_THREADS='1')
    torch.set_num_threads(1)
    if world > 1:
        dist.init_process_group('gloo')
    res = fn(rank, world, *args)
    with open(os.path.join(out, f'{rank}.json'), 'w') as f:
        json.dump(res, f)
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()


def launch(fn, world, *args):
    r"""Runs ``fn(rank, world, *args)`` in :obj:`world` spawned processes
    and returns rank 0's JSON result."""
    with tempfile.TemporaryDirectory() as out:
        mp.spawn(_entry, args=(world, free_port(), fn, args, out),
                 nprocs=world, join=True)
        with open(os.path.join(out, '0.json')) as f:
            return json.load(f)


def sync(world):
    if world > 1:
        dist.barrier()


# --- burn -----------------------------------------------------------------

def _burn(rank, world, n):
    sync(world)
    t0 = time.perf_counter()
    x = 0
    for i in range(n):
        x += i & 7
    t = time.perf_counter() - t0
    if world > 1:
        a = torch.tensor([t])
        dist.all_reduce(a, op=dist.ReduceOp.MAX)
        t = float(a[0])
    return {'seconds': t}


def section_burn(n=30_000_000):
    l1 = load()
    t1 = launch(_burn, 1, n)['seconds']
    l2 = load()
    t2 = launch(_burn, 2, n)['seconds']
    print(f'| CPU burn ceiling | {t1:.2f} s (load {l1:.2f}) | {t2:.2f} s '
          f'(load {l2:.2f}) | {2 * t1 / t2:.2f}x |', flush=True)
    return 2 * t1 / t2


# --- latency --------------------------------------------------------------

def _latency(rank, world, n=300):
    a = torch.zeros(3, dtype=torch.int64)
    got = [torch.zeros(3, dtype=torch.int64) for _ in range(world)]

    def ping():
        if rank == 0:
            dist.send(a, 1)
            dist.recv(a, 1)
        elif rank == 1:
            dist.recv(a, 0)
            dist.send(a, 0)
    out = {}
    for name, fn in (('all_reduce', lambda: dist.all_reduce(a)),
                     ('all_gather', lambda: dist.all_gather(got, a)),
                     ('broadcast', lambda: dist.broadcast(a, 0)),
                     ('send + recv (ping-pong)', ping),
                     ('barrier', dist.barrier)):
        for _ in range(20):
            fn()
        dist.barrier()
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        out[name] = (time.perf_counter() - t0) / n
    return out


def section_latency():
    r"""Wall time of one small collective (3 int64) between 2 local gloo
    processes: what every round of a distributed OPIM-C pays."""
    out = launch(_latency, 2)
    print('| collective, 3 int64, 2 gloo processes | microseconds |')
    print('|---|---|')
    for name, t in out.items():
        print(f'| {name} | {t * 1e6:.0f} |', flush=True)


# --- im -------------------------------------------------------------------

def ba_graph(path):
    import networkx as nx
    g = nx.barabasi_albert_graph(100000, 5, seed=0)
    e = np.asarray(g.edges, dtype=np.int64).T
    np.save(path, np.concatenate([e, e[::-1]], axis=1))
    return 100000


def chung_lu(path, n=1_000_000, m=10_000_000, gamma=2.5, seed=0):
    r"""Directed Chung-Lu: both endpoints of each of :obj:`m` arcs drawn
    with probability proportional to :math:`w_i \propto (i + i_0)^{-1 /
    (\gamma - 1)}` (a power-law degree sequence of exponent gamma);
    self-loops dropped."""
    rng = np.random.default_rng(seed)
    w = (np.arange(n) + 10.0)**(-1.0 / (gamma - 1))
    cdf = np.cumsum(w / w.sum())
    src = np.searchsorted(cdf, rng.random(m)).clip(max=n - 1)
    dst = np.searchsorted(cdf, rng.random(m)).clip(max=n - 1)
    keep = src != dst
    np.save(path, np.stack([src[keep], dst[keep]]).astype(np.int64))
    return n


def _im(rank, world, path, n, num_rr, k, eps, configs, reps):
    r"""In 2 processes: the 1-process call on rank 0 (rank 1 waits in a
    barrier, which sleeps) and every 2-process configuration take turns,
    in blocks of 5 calls (seeds 0-4, then 5-9, ...), so the baseline and
    the 2-process runs see the same machine (this VM's speed drifts by
    20 % within minutes). Blocks rather than single calls: a rank that
    slept through a 1-process call starts the next 2-process call on a
    cold core (about 20 % slower on this VM when every call alternates)."""
    from pyg_ext.influence import _dist as D
    from pyg_ext.influence import opim_c, prepare
    from pyg_ext.influence.rr import RRSampler
    ei = torch.from_numpy(np.load(path))
    g = prepare(ei, n, weighting='wc')
    group = dist.group.WORLD
    for rep in range(2):  # compile the kernels; warm the allocator
        for mode, place in configs:
            opim_c(g, k=k, eps=eps, seed=100 + rep, group=group,
                   dist_greedy=mode, dist_place=place)
        sync(world)
        if rank == 0:
            opim_c(g, k=k, eps=eps, seed=100 + rep)
        sync(world)
    out = {'arcs': int(ei.shape[1])}
    ctx = D.setup('bench', group, False, 'allreduce', {})
    t1, t2 = [], []
    for rep in range(3):
        sync(world)
        if rank == 0:
            t0 = time.perf_counter()
            RRSampler(g, rep, 0).new(num_rr)
            t1.append(time.perf_counter() - t0)
        sync(world)
        t0 = time.perf_counter()
        col = D.collection(ctx, RRSampler(g, rep, 0))
        col.grow(num_rr)
        sync(world)
        t2.append(time.perf_counter() - t0)
        out['local_sets'] = len(col.rr)
        del col
    out['sample_s'] = (float(np.median(t1)) if t1 else 0.0,
                       float(np.median(t2)))
    times = {key: [] for key in ['one'] + [f'{m}/{p}' for m, p in configs]}
    first = {}
    block = 5  # each key runs 5 calls in a row (see the docstring)
    for first_rep in range(0, reps, block):
        for key, rep in ((key, rep) for key in times for rep in range(
                first_rep, min(first_rep + block, reps))):
            sync(world)
            t0 = time.perf_counter()
            if key == 'one':
                if rank == 0:
                    r = opim_c(g, k=k, eps=eps, seed=rep)
            else:
                mode, place = key.split('/')
                r = opim_c(g, k=k, eps=eps, seed=rep, group=group,
                           dist_greedy=mode, dist_place=place)
            sync(world)
            times[key].append(time.perf_counter() - t0)
            if rep == 0 and (rank == 0 or key != 'one'):
                first[key] = r
    for key, ts in times.items():
        if key not in first:
            continue
        r = first[key]
        out[key] = dict(
            seconds=float(np.median(ts)), min_s=min(ts), times=ts,
            seeds=r.seeds.tolist(), num_rr_sets=r.num_rr_sets,
            alpha=r.alpha, comm=r.info.get('comm'))
    return out


def paired(one, two) -> float:
    r"""The median over the repetitions of the 1-process time over the
    2-process time measured right after it."""
    return float(np.median(np.asarray(one['times']) /
                           np.asarray(two['times'])))


def _size(b):
    return f'{b:,} B' if b < 10_000 else f'{b / 1e3:,.1f} KB'


def section_im(graphs, num_rr, k, eps, modes, places, reps):
    rows = []
    configs = [(m, p) for p in places for m in modes]
    with tempfile.TemporaryDirectory() as tmp:
        for name in graphs:
            path = os.path.join(tmp, name + '.npy')
            n = ba_graph(path) if name == 'ba' else chung_lu(path)
            l2 = load()
            two = launch(_im, 2, path, n, num_rr, k, eps, configs, reps)
            o = two['one']
            for key in (f'{m}/{p}' for m, p in configs):
                t = two[key]
                assert t['seeds'] == o['seeds'] and \
                    t['num_rr_sets'] == o['num_rr_sets'] and \
                    t['alpha'] == o['alpha'], (name, key)
            label = {'ba': 'BA-100K', 'chunglu': 'Chung-Lu 1M'}[name]
            print(f'\n{label}: {two["arcs"]:,} '
                  f'arcs (load {l2:.2f}); 2-process results equal the '
                  f'1-process ones; 1 process (rank 0 alone, rank 1 '
                  f'asleep in a barrier) and 2 processes interleaved; '
                  f'opim_c: median (min) of {reps} calls, seeds '
                  f'0-{reps - 1}', flush=True)
            print('| measurement | 1 process | 2 processes | speed-up '
                  '(of the medians; median of the paired ratios) |')
            print('|---|---|---|---|')
            s1, s2 = two['sample_s']
            print(f'| RR sampling, {num_rr:,} sets (median of 3) | '
                  f'{s1:.2f} s ({num_rr / s1 / 1e3:.0f} K/s) | {s2:.2f} s '
                  f'({num_rr / s2 / 1e3:.0f} K/s; '
                  f'{two["local_sets"]:,} sets on rank 0) | {s1 / s2:.2f}x |')
            for m, p in configs:
                t = two[f'{m}/{p}']
                c = t['comm']
                what = m if m != 'auto' else f'auto = {c["dist_greedy"]}'
                where = p if p != 'auto' else f'auto = {c["dist_place"]}'
                print(f'| opim_c k={k} eps={eps} ({o["num_rr_sets"]:,} RR '
                      f'sets), greedy {what}, place {where} | '
                      f'{o["seconds"] * 1e3:.1f} ms ({o["min_s"] * 1e3:.1f}) '
                      f'| {t["seconds"] * 1e3:.1f} ms '
                      f'({t["min_s"] * 1e3:.1f}; '
                      f'{_size(c["bytes_per_greedy_step"])} per '
                      f'greedy step, {c["greedy_steps"]} steps, '
                      f'{c["comm_seconds_per_rank"] * 1e3:.1f} ms in greedy '
                      f'comm) | {o["seconds"] / t["seconds"]:.2f}x '
                      f'(paired: {paired(o, t):.2f}x) |', flush=True)
            rows.append((name, two))
    return rows


# --- ddp ------------------------------------------------------------------

def arxiv_like(path, n=169_343, m=1_166_243, f=128, c=40, seed=0):
    g = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, n, (2, m), generator=g)
    ei = torch.cat([ei, ei.flip(0)], 1)
    x = torch.randn(n, f, generator=g)
    y = torch.randint(0, c, (n, ), generator=g)
    torch.save({'ei': ei, 'x': x, 'y': y}, path)


def _ddp(rank, world, path, model_name, num_seeds, batch_size):
    import torch.nn.functional as F
    from torch.nn.parallel import DistributedDataParallel
    from torch_geometric.data import Data
    from torch_geometric.nn import GCN, GraphSAGE

    from pyg_ext.fit.minibatch import MiniBatchConfig, MiniBatchRunner
    d = torch.load(path)
    data = Data(x=d['x'], edge_index=d['ei'], y=d['y'])
    torch.manual_seed(0)
    cls = GraphSAGE if model_name == 'sage' else GCN
    model = cls(128, 256, 2, 40)
    group = dist.group.WORLD if world > 1 else None
    gen = torch.Generator().manual_seed(0)
    runner = MiniBatchRunner(data, MiniBatchConfig(batch_size, [15, 10]),
                             torch.arange(num_seeds), torch.device('cpu'),
                             gen, rank, world, group)
    net, sent = model, [0, 0]
    from torch.distributed.algorithms.ddp_comm_hooks import default_hooks
    if group is not None:
        net = DistributedDataParallel(model, process_group=group)

        def hook(state, bucket):
            sent[0] += bucket.buffer().numel() * bucket.buffer().element_size()
            if bucket.is_last():
                sent[1] += 1
            return default_hooks.allreduce_hook(state, bucket)
        net.register_comm_hook(None, hook)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)

    def step(batch):
        opt.zero_grad()
        bs = batch.batch_size
        out = net(batch.x, batch.edge_index)[:bs]
        loss = F.cross_entropy(out, batch.y[:bs], reduction='sum')
        (loss * runner.scale(batch)).backward()
        opt.step()
        return loss.detach()
    model.train()
    sync(world)
    t0 = time.perf_counter()
    runner.run_epoch(step)
    sync(world)
    return dict(seconds=time.perf_counter() - t0,
                bucket_bytes_per_step=sent[0] / max(sent[1], 1),
                params=sum(p.numel() for p in model.parameters()))


def section_ddp(num_seeds, batch_size):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'arxiv_like.pt')
        arxiv_like(path)
        print('| model | 1 process | 2 processes | speed-up | DDP bytes per '
              'step |')
        print('|---|---|---|---|---|')
        for name in ('sage', 'gcn'):
            l1 = load()
            one = launch(_ddp, 1, path, name, num_seeds, batch_size)
            l2 = load()
            two = launch(_ddp, 2, path, name, num_seeds, batch_size)
            b = two['bucket_bytes_per_step']
            print(f'| {name} ({one["params"]:,} parameters) | '
                  f'{one["seconds"]:.1f} s (load {l1:.2f}) | '
                  f'{two["seconds"]:.1f} s (load {l2:.2f}) | '
                  f'{one["seconds"] / two["seconds"]:.2f}x | {b / 1e6:.2f} MB '
                  f'of gradients all-reduced (a ring sends 2(W-1)/W of it '
                  f'from each rank) |', flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--section',
                    choices=['burn', 'latency', 'im', 'ddp', 'all'],
                    default='all')
    ap.add_argument('--graphs', default='ba',
                    help="comma-separated: ba, chunglu (default: ba)")
    ap.add_argument('--num-rr', type=int, default=400_000)
    ap.add_argument('--k', type=int, default=50)
    ap.add_argument('--eps', type=float, default=0.1)
    ap.add_argument('--modes', default='auto,allreduce,gather',
                    help='distributed greedies to time (2 processes)')
    ap.add_argument('--places', default='auto,split,shared',
                    help='placements of the two OPIM-C collections')
    ap.add_argument('--reps', type=int, default=20,
                    help='opim_c calls per configuration (median)')
    ap.add_argument('--num-seeds', type=int, default=20_480,
                    help='training seeds per DDP epoch')
    ap.add_argument('--batch-size', type=int, default=1024)
    a = ap.parse_args()
    print(f'load before: {open("/proc/loadavg").read().strip()}; '
          f'{os.cpu_count()} cores')
    if a.section in ('burn', 'all'):
        print('| measurement | 1 process | 2 processes | ceiling |')
        print('|---|---|---|---|')
        section_burn()
    if a.section in ('latency', 'all'):
        section_latency()
    if a.section in ('im', 'all'):
        section_im(a.graphs.split(','), a.num_rr, a.k, a.eps,
                   a.modes.split(','), a.places.split(','), a.reps)
    if a.section in ('ddp', 'all'):
        section_ddp(a.num_seeds, a.batch_size)
        if a.section == 'ddp':
            section_burn()


if __name__ == '__main__':
    main()
