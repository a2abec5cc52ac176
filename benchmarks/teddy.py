r"""TEDDY speed and memory.

1. Scoring + keep mask on an ogbn-arxiv-size random undirected graph
   (169,343 nodes, ~2.4M directed entries): wall time, peak extra memory
   against the size of ``edge_index`` (O(N + E); the paper's dense
   ``T = g g^T`` would need N^2 floats), and the time ratio to PyG's
   ``coalesce`` of the same ``edge_index`` (an O(E log E) baseline run in the
   same process). A half-size graph shows the linear scaling.
2. Wall time to produce all tickets of the sweep, TEDDY vs UGS vs random
   pruning, same backbone and same epochs, in the same process.

    OMP_NUM_THREADS=1 MALLOC_MMAP_THRESHOLD_=131072 \
        nice python benchmarks/teddy.py --epochs 50

(``MALLOC_MMAP_THRESHOLD_`` makes glibc return every large buffer to the OS,
so the peak-RSS numbers are not hidden by allocator reuse.)
"""
import argparse
import os
import statistics
import time

import torch
from torch_geometric.utils import coalesce, to_undirected

from pyg_ext.utils import teddy_edge_score, teddy_keep_mask, teddy_schedule


def _rss_kb(field: str) -> int:
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    return -1


def _reset_peak() -> bool:
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')  # resets VmHWM (peak RSS) on Linux
        return True
    except OSError:
        return False


def random_graph(num_nodes: int, num_pairs: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, num_nodes, (2, num_pairs), generator=g)
    ei = ei[:, ei[0] != ei[1]]
    return to_undirected(ei, num_nodes=num_nodes)


def time_it(fn, repeat: int):
    r"""(min wall, median wall, min CPU) seconds; CPU time (this process)
    is the robust number on a shared machine."""
    times, cpu = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        fn()
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return min(times), statistics.median(times), min(cpu)


def bench_score(num_nodes: int, num_pairs: int, repeat: int) -> None:
    ei = random_graph(num_nodes, num_pairs)
    E = ei.size(1)
    ei_mb = ei.numel() * 8 / 2**20
    teddy_keep_mask(ei, 0.5, num_nodes)  # warm-up (lazy imports)
    t_score = time_it(lambda: teddy_edge_score(ei, num_nodes), repeat)
    t_mask = time_it(lambda: teddy_keep_mask(ei, 0.5, num_nodes), repeat)
    t_base = time_it(lambda: coalesce(ei, num_nodes=num_nodes), repeat)
    peak_mb = float('nan')
    if _reset_peak():
        base = _rss_kb('VmRSS')
        teddy_keep_mask(ei, 0.5, num_nodes)
        peak_mb = (_rss_kb('VmHWM') - base) / 1024
    dense_gb = num_nodes**2 * 4 / 2**30
    print(f'N={num_nodes:,} E={E:,} (edge_index {ei_mb:.0f} MB)')
    print(f'  teddy_edge_score        CPU {t_score[2]:.3f} s  wall min '
          f'{t_score[0]:.3f} s  median {t_score[1]:.3f} s')
    print(f'  teddy_keep_mask (p=0.5) CPU {t_mask[2]:.3f} s  wall min '
          f'{t_mask[0]:.3f} s  median {t_mask[1]:.3f} s   (score + mask)')
    print(f'  PyG coalesce baseline   CPU {t_base[2]:.3f} s  -> keep_mask / '
          f'coalesce CPU = {t_mask[2] / t_base[2]:.2f}x')
    print(f'  peak extra RSS of keep_mask: {peak_mb:.0f} MB = '
          f'{peak_mb / ei_mb:.1f}x edge_index (dense N x N float32 T would '
          f'be {dense_gb:.0f} GB)')
    return t_mask[2], peak_mb


def bench_tickets(epochs: int, levels: int, hidden: int, root) -> None:
    import torch_geometric.transforms as T
    from pyg_ext.fit import fit_random_prune, fit_teddy, fit_ugs
    from pyg_ext.nn.models.teddy import TeddyGCN
    if root and os.path.isdir(os.path.join(root, 'planetoid')):
        from pyg_ext.datasets.planetoid import load_planetoid
        data = T.NormalizeFeatures()(load_planetoid(root, 'cora'))
        name = 'Cora'
    else:
        from pyg_ext.datasets.csbm import load_csbm
        data = load_csbm(num_nodes=2000, num_classes=3)
        for k in ('train_mask', 'val_mask', 'test_mask'):
            data[k] = data[k].view(-1)
        name = 'CSBM (no data root)'
    nf = data.num_features
    data.x = data.x.to_sparse_csr()
    schedule = teddy_schedule(levels)
    secs = {}
    for label, fit in (('teddy', fit_teddy), ('ugs', fit_ugs),
                       ('random', fit_random_prune)):
        torch.manual_seed(0)
        model = TeddyGCN(nf, hidden, int(data.y.max()) + 1)
        t, c = time.perf_counter(), time.process_time()
        fit(model, data, schedule, epochs=epochs, progress=False,
            generator=torch.Generator().manual_seed(0))
        secs[label] = (time.perf_counter() - t, time.process_time() - c)
    print(f'{levels} tickets on {name}, GCN hidden {hidden}, {epochs} epochs '
          f'per training:')
    for k, (w, c) in secs.items():
        print(f'  {k:6s} wall {w:7.1f} s  CPU {c:7.1f} s')
    print(f'  UGS / TEDDY ratio: wall {secs["ugs"][0] / secs["teddy"][0]:.2f}x'
          f', CPU {secs["ugs"][1] / secs["teddy"][1]:.2f}x (all {levels} '
          f'tickets; trainings: TEDDY {levels + 1}, UGS {2 * levels})')
    print(f'  single ticket at level {levels}: UGS needs {levels + 1} '
          f'trainings vs TEDDY 2 -> ~{(levels + 1) / 2:.1f}x by count')


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--num-nodes', type=int, default=169_343)
    p.add_argument('--num-pairs', type=int, default=1_200_000)
    p.add_argument('--repeat', type=int, default=3)
    p.add_argument('--epochs', type=int, default=50)
    p.add_argument('--levels', type=int, default=20)
    p.add_argument('--hidden', type=int, default=64)
    p.add_argument('--data-root', default=os.environ.get('PYG_EXT_DATA'))
    p.add_argument('--skip-tickets', action='store_true')
    args = p.parse_args()
    torch.set_num_threads(1)
    t_half, m_half = bench_score(args.num_nodes, args.num_pairs // 2,
                                 args.repeat)
    t_full, m_full = bench_score(args.num_nodes, args.num_pairs, args.repeat)
    print(f'scaling E x2: time x{t_full / t_half:.2f}, memory '
          f'x{m_full / m_half:.2f}')
    if not args.skip_tickets:
        bench_tickets(args.epochs, args.levels, args.hidden, args.data_root)


if __name__ == '__main__':
    main()
