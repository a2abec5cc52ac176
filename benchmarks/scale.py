r"""Scale benchmarks (issue 13), one section per question.

    OMP_NUM_THREADS=1 python benchmarks/scale.py --section layers            # arxiv-size graph
    OMP_NUM_THREADS=1 python benchmarks/scale.py --section layers --quick    # smoke run
    OMP_NUM_THREADS=1 python benchmarks/scale.py --section layers --no-models  # kernels only

``--section layers``: one training step (forward, cross-entropy on every
node, backward, Adam step) of each static model through ``edge_index`` and
through a ``torch.sparse_csr`` ``adj_t`` (as
``T.ToSparseTensor(layout=torch.sparse_csr)`` builds it), interleaved in one
process on one thread, on a random graph of ogbn-arxiv's size (169,343 nodes,
about 2.4M directed edges after symmetrisation, 128 features, 40 classes,
hidden 64). Before timing, both inputs are checked to give the same logits
(eval mode). Prints a Markdown table: the median CPU time of a step per
layout (the process runs one thread, so CPU time is robust to other
processes sharing the cores), their ratio edge_index / csr, and the ratio of
median wall times.
"""
import argparse
import resource
import statistics
import time
from typing import Callable, Dict, List, Tuple

import torch
import torch.nn.functional as F
import torch_geometric.transforms as T
from torch_geometric.data import Data
from torch_geometric.nn.models import GCN, MLP
from torch_geometric.utils import remove_self_loops, to_undirected

from pyg_ext.nn.models import (FAGCN, GPRGNN, LearnableAPPNP, LearnableGCNII,
                               Mowst, TeddyGAT, TeddyGCN, TeddyGIN,
                               WeightedJKNet)


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def random_graph(num_nodes: int, num_pairs: int, num_features: int,
                 num_classes: int, seed: int = 0) -> Data:
    g = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, num_nodes, (2, num_pairs), generator=g)
    ei = to_undirected(remove_self_loops(ei)[0], num_nodes=num_nodes)
    x = torch.randn(num_nodes, num_features, generator=g)
    y = torch.randint(0, num_classes, (num_nodes, ), generator=g)
    return Data(x=x, y=y, edge_index=ei, num_nodes=num_nodes)


# name -> (builder(F, H, C), edge-weight mode); 'mask': a learnable edge
# mask passed as edge_weight (UGS-style), i.e. the custom SpMM's backward
# for the values.
def _models(F_in: int, H: int, C: int) -> Dict[str, Tuple[Callable, str]]:
    return {
        'GCN (PyG, 2 layers)': (lambda: GCN(F_in, H, 2, C), ''),
        'GPRGNN (K=10)': (lambda: GPRGNN(F_in, H, C, K=10, alpha=0.1), ''),
        'LearnableAPPNP (K=10)': (lambda: LearnableAPPNP(F_in, H, C), ''),
        'LearnableGCNII (4 layers)': (lambda: LearnableGCNII(F_in, H, C),
                                      ''),
        'WeightedJKNet (2 layers)': (lambda: WeightedJKNet(F_in, H, C), ''),
        'FAGCN (2 layers)': (lambda: FAGCN(F_in, H, C), ''),
        'TeddyGCN (2 layers)': (lambda: TeddyGCN(F_in, H, C), ''),
        'TeddyGCN + learnable edge mask': (lambda: TeddyGCN(F_in, H, C),
                                           'mask'),
        'TeddyGIN': (lambda: TeddyGIN(F_in, H, C), ''),
        'TeddyGAT (8 heads x 8)': (lambda: TeddyGAT(F_in, H // 8, C,
                                                    heads=8), ''),
        'TeddyGAT + learnable edge mask': (lambda: TeddyGAT(
            F_in, H // 8, C, heads=8), 'mask'),
        'Mowst-GCN (MLP + PyG GCN)': (lambda: Mowst(
            MLP([F_in, H, C], dropout=0.5), GCN(F_in, H, 2, C, dropout=0.5),
            C), ''),
    }


def _loss(out, y):
    if hasattr(out, 'log_probs'):  # Mowst: the mixture's NLL
        return F.nll_loss(out.log_probs, y)
    return F.cross_entropy(out, y)


def _best_cpu(f, repeats: int = 3) -> float:
    f()
    out = []
    for _ in range(repeats):
        c = time.process_time()
        f()
        out.append(time.process_time() - c)
    return min(out)


def kernels(data: Data, adj_t, F_hidden: int) -> None:
    r"""The kernels under the two layouts, on the normalised graph with
    self-loops, :math:`F` = hidden: a CSR product, message passing
    (gather + ``index_add_``), and the value gradient of the custom SpMM
    (``sampled_addmm`` and the chunked edge-wise fallback)."""
    from pyg_ext.utils.sparse_adj import (_edge_dot, _value_grad, csr_of,
                                          gcn_norm_csr)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(data.num_nodes, F_hidden, generator=g)
    grad = torch.randn(data.num_nodes, F_hidden, generator=g)
    s, v = gcn_norm_csr(*csr_of(adj_t))
    A = s.matrix(v)
    ei = torch.stack([s.col, s.row])
    rows = [
        ('CSR product A @ X', lambda: A @ x),
        ('message passing: X[src] * w, index_add_ into dst',
         lambda: torch.zeros_like(x).index_add_(
             0, ei[1], x[ei[0]] * v.view(-1, 1))),
        ('value gradient, sampled_addmm', lambda: _value_grad(s, grad, x)),
        ('value gradient, chunked gather (fallback)',
         lambda: _edge_dot(grad, x, s.row, s.col)),
    ]
    print(f'kernels ({s.nnz:,} entries with self-loops x {F_hidden} '
          f'features), best of 3, CPU s:')
    for name, f in rows:
        print(f'  {name}: {_best_cpu(f):.3f} s', flush=True)
    print()


def section_layers(args) -> None:
    torch.set_num_threads(1)
    if args.quick:
        n, pairs, F_in = 5_000, 40_000, 32
    else:
        n, pairs, F_in = 169_343, 1_200_000, 128
    H, C = 64, 40
    t0 = time.perf_counter()
    data = random_graph(n, pairs, F_in, C)
    t1 = time.perf_counter()
    adj_t = T.ToSparseTensor(layout=torch.sparse_csr)(data.clone()).adj_t
    t2 = time.perf_counter()
    E = data.edge_index.size(1)
    print(f'graph: {n:,} nodes, {E:,} directed edges, {F_in} features, '
          f'{C} classes, hidden {H}; generated in {t1 - t0:.1f} s, '
          f'ToSparseTensor(csr) {t2 - t1:.1f} s\n')
    kernels(data, adj_t, H)
    if args.no_models:
        return
    # edge_index order -> CSR order, for the edge masks
    perm = torch.sort(data.edge_index[1] * n + data.edge_index[0],
                      stable=True)[1]
    names = [k for k in _models(F_in, H, C)
             if not args.models or any(m.lower() in k.lower()
                                       for m in args.models)]
    rows: List[str] = []
    for name in names:
        build, mode = _models(F_in, H, C)[name]
        torch.manual_seed(0)
        model = build()
        opt = torch.optim.Adam(model.parameters(), lr=0.01)
        mask = torch.rand(E, generator=torch.Generator().manual_seed(1))
        mask = torch.nn.Parameter(mask + 0.5) if mode == 'mask' else None
        mask_opt = torch.optim.Adam([mask], lr=0.01) if mode else None

        def inputs(layout):
            graph = data.edge_index if layout == 'edge_index' else adj_t
            if mask is None:
                return (data.x, graph)
            w = mask if layout == 'edge_index' else mask[perm]
            return (data.x, graph, w)

        model.eval()
        with torch.no_grad():
            a, b = (model(*inputs(lay)) for lay in ('edge_index', 'csr'))
            a = getattr(a, 'log_probs', a)
            b = getattr(b, 'log_probs', b)
            diff = float((a - b).abs().max())
        model.train()
        cpu = {'edge_index': [], 'csr': []}
        wall = {'edge_index': [], 'csr': []}
        for _ in range(args.repeats):
            for layout in ('edge_index', 'csr'):  # interleaved
                t, c = time.perf_counter(), time.process_time()
                opt.zero_grad()
                if mask_opt is not None:
                    mask_opt.zero_grad()
                _loss(model(*inputs(layout)), data.y).backward()
                opt.step()
                if mask_opt is not None:
                    mask_opt.step()
                cpu[layout].append(time.process_time() - c)
                wall[layout].append(time.perf_counter() - t)
        # CPU time of this (single-threaded) process: robust to other
        # processes sharing the cores; wall time for reference.
        ce, cc = (statistics.median(cpu[k]) for k in ('edge_index', 'csr'))
        we, wc = (statistics.median(wall[k]) for k in ('edge_index', 'csr'))
        row = (f'| {name} | {ce:.2f} s | {cc:.2f} s | **{ce / cc:.2f}×** | '
               f'{we / wc:.2f}× | {diff:.1e} |')
        rows.append(row)
        print(row, f'(CPU edge_index {cpu["edge_index"]}, csr {cpu["csr"]};'
              f' wall {wall["edge_index"]}, {wall["csr"]}; peak RSS '
              f'{peak_rss_gib():.2f} GiB)', flush=True)
    print('\n| model | CPU s / step, edge_index | CPU s / step, csr | '
          'edge_index / csr (CPU) | (wall) | max abs logit diff |')
    print('|---|---|---|---|---|---|')
    print('\n'.join(rows))
    print(f'\npeak RSS {peak_rss_gib():.2f} GiB')


SECTIONS = {'layers': section_layers}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--section', choices=sorted(SECTIONS),
                        required=True)
    parser.add_argument('--repeats', type=int, default=3,
                        help='timed steps per layout (median)')
    parser.add_argument('--models', nargs='*', default=None,
                        help='substrings of model names to run (default: '
                        'all)')
    parser.add_argument('--no-models', action='store_true',
                        help='layers: only the kernel timings')
    parser.add_argument('--quick', action='store_true',
                        help='a small graph (smoke run)')
    args = parser.parse_args()
    SECTIONS[args.section](args)


if __name__ == '__main__':
    main()
