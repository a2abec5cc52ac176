r"""Scale benchmarks of issue 13 (sparse adjacency, products-size runs),
side by side in one process, 1 thread.

Sections (``--section``):

* ``loop``: an arxiv-size random graph (169,343 nodes, 2.4M undirected
  edges, 128 features, 40 classes): one full-batch training step of the
  loop's registered models through ``edge_index`` and through the CSR
  adjacency the loop builds (``dataset.adjacency: csr``, and what ``auto``
  picks), equal logits checked, the ratio reported (target: >= 3x).
* ``products``: an ogbn-products-size random graph (2,449,029 nodes,
  61,859,140 undirected edges, 100 features, 47 classes): a full-batch GCN
  (hidden 128, 3 layers) training epoch through the CSR adjacency with its
  peak RSS (target <= 16 GiB) and the edge_index path's message memory
  estimated; a mini-batch GraphSAGE epoch sample ([15, 10, 5], batch 1024)
  through :class:`pyg_ext.sampler.NeighborSampler` with sampled nodes/s
  and peak RSS (target <= 8 GiB).
* ``layers``: one training step (forward, loss on every node, backward,
  Adam step) of every static model of :mod:`pyg_ext.nn` through
  ``edge_index`` and through a ``torch.sparse_csr`` ``adj_t`` (as
  ``T.ToSparseTensor(layout=torch.sparse_csr)`` builds it), interleaved,
  on an arxiv-size random graph (169,343 nodes, 1.2M random pairs
  symmetrised, 128 features, 40 classes, hidden 64), equal logits checked
  first; the median CPU time per layout (robust to other processes on the
  cores) and the ratio. ``--no-models``: the kernels only (CSR product,
  message passing, the custom SpMM's value gradient); ``--models`` picks
  models by name; ``--quick`` a small graph.
* ``mowst``: the loop's Mowst training steps (strong turn, weak turn, one
  round, the Mowst* joint step) through ``edge_index`` and the CSR.
* ``hops``: GPRGNN and LearnableAPPNP through edge-wise message passing
  (the official codes' form), our ``edge_index`` input (an internal CSR)
  and a CSR ``adj_t``.

    OMP_NUM_THREADS=1 python benchmarks/scale.py --section loop
    OMP_NUM_THREADS=1 python benchmarks/scale.py --section products
    OMP_NUM_THREADS=1 python benchmarks/scale.py --section layers
    OMP_NUM_THREADS=1 python benchmarks/scale.py --section mowst
    OMP_NUM_THREADS=1 python benchmarks/scale.py --section hops
"""
import argparse
import os
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

SECTIONS = {}


def section(name):
    def register(fn):
        SECTIONS[name] = fn
        return fn
    return register


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def rss_gib() -> float:
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**30


def make_graph(name: str, dedupe: bool = True):
    r"""The random graph of ``benchmarks/sampler.py`` (same seed and sizes),
    with its few duplicate edges removed when :obj:`dedupe` (so that the
    loop's ``auto`` may pick the CSR)."""
    from sampler import make_graph as _make
    data = _make(name)
    if dedupe:
        from torch_geometric.utils import coalesce
        data.edge_index = coalesce(data.edge_index, num_nodes=data.num_nodes)
    return data


def _median(xs):
    import statistics
    return statistics.median(xs)


@section('loop')
def loop_section(args, rest):
    r"""Training step of the loop's registered models, edge_index vs the
    CSR the loop builds, on the arxiv-size graph."""
    import random
    import tempfile
    import time

    import torch.nn.functional as F

    from pyg_ext.registry import DATASETS, METHODS, MODELS, TASKS
    from pyg_ext.train import load_config, load_plugins
    from pyg_ext.train.adjacency import attach_adjacency, supports_adj_t

    p = argparse.ArgumentParser()
    p.add_argument('--models', default='gcn,sage')
    p.add_argument('--hidden', type=int, default=64)
    p.add_argument('--layers', type=int, default=2)
    a = p.parse_args(rest)
    load_plugins()
    t0 = time.perf_counter()
    data = make_graph('arxiv')
    n = data.num_nodes
    train = torch.zeros(n, dtype=torch.bool)
    train[data.train_idx] = True
    data.train_mask = data.val_mask = data.test_mask = train
    print(f'arxiv-size graph: {n:,} nodes, {data.num_edges:,} directed '
          f'edges (duplicates removed), generated in '
          f'{time.perf_counter() - t0:.1f} s')
    if 'bench_arxiv' not in DATASETS:
        DATASETS.register('bench_arxiv', lambda root: data,
                          description='benchmark graph')
    with tempfile.TemporaryDirectory() as cache:
        os.environ['PYG_EXT_CACHE'] = cache
        for name in a.models.split(','):
            cfg = load_config({
                'dataset': {'name': 'bench_arxiv'},
                'model': {'name': name, 'hidden_channels': a.hidden,
                          'num_layers': a.layers}})
            task = TASKS.get(cfg.task.name).obj(cfg.task.options)
            method = METHODS.get(cfg.method.name).obj(cfg.method.options)
            times = []
            for _ in range(2):  # the first run of the cache builds the CSR
                t0 = time.perf_counter()
                sparse, layout = attach_adjacency(cfg, task, method, data)
                times.append(time.perf_counter() - t0)
            print(f'{name}: dataset.adjacency=auto -> {layout}; load-time '
                  f'attach {times[0]:.2f} s, again {times[1]:.2f} s (the '
                  f'first model builds the CSR, later loads read the cache)')
            if layout != 'csr':
                print(f'  {name}: no CSR path (supports_adj_t='
                      f'{supports_adj_t(MODELS.get(name).obj)}), skipped')
                continue
            torch.manual_seed(0)
            model = MODELS.get(name).obj(data.num_features, 40,
                                         cfg.model.options)
            opt = torch.optim.Adam(model.parameters(), lr=0.01)
            model.eval()
            with torch.no_grad():
                diff = (model(data.x, data.edge_index) -
                        model(data.x, sparse.adj_t)).abs().max().item()

            def step(adj):
                model.train()
                t = time.perf_counter()
                opt.zero_grad()
                out = model(data.x, adj)
                F.cross_entropy(out[train], data.y[train]).backward()
                opt.step()
                return time.perf_counter() - t

            sides = {'edge_index': data.edge_index, 'csr': sparse.adj_t}
            res = {k: [] for k in sides}
            step(sparse.adj_t)  # warm-up (and the normalisation memo)
            rng = random.Random(0)
            for r in range(args.rounds):
                order = list(sides)
                rng.shuffle(order)
                for k in order:
                    res[k].append(step(sides[k]))
            ratios = [e / c for e, c in zip(res['edge_index'], res['csr'])]
            print(f'  {name} (hidden {a.hidden}, {a.layers} layers) training '
                  f'step: edge_index {_median(res["edge_index"]):.2f} s, csr '
                  f'{_median(res["csr"]):.2f} s (median of {args.rounds}), '
                  f'ratio per round {[round(v, 2) for v in ratios]}, median '
                  f'{_median(ratios):.2f}x; max |logit diff| {diff:.1e}; '
                  f'peak RSS {peak_rss_gib():.2f} GiB')


@section('products')
def products_section(args, rest):
    r"""Products-size graph: a mini-batch GraphSAGE epoch sample through
    :class:`pyg_ext.sampler.NeighborSampler` (run first: its peak RSS is
    the process' peak at that point), then a full-batch GCN training epoch
    through the CSR the loop builds (the edge list is dropped first: the
    CSR path does not need it)."""
    import gc
    import time

    import torch.nn.functional as F

    from pyg_ext.registry import MODELS
    from pyg_ext.train import load_config, load_plugins
    from pyg_ext.utils.adjacency import csr_adjacency
    from sampler import make_model, minibatch_epoch, neighbor_loader

    p = argparse.ArgumentParser()
    p.add_argument('--part', choices=('mini', 'full', 'both', 'predict'),
                   default='both',
                   help="'predict': Mowst predict at 5/20/50/100 %% routed "
                   "against one full forward of its strong expert (a "
                   "GCN through the CSR)")
    p.add_argument('--rounds', type=int, default=1,
                   help='interleaved rounds of the predict part')
    p.add_argument('--train-batches', type=int, default=5)
    p.add_argument('--hidden', type=int, default=128)
    p.add_argument('--layers', type=int, default=3)
    p.add_argument('--graph', default='products',
                   help='arxiv: a quick check of this section')
    p.add_argument('--max-gib', type=float, default=None,
                   help='address-space limit of this process (a '
                   'MemoryError here instead of the OOM killer elsewhere)')
    a = p.parse_args(rest)
    if a.max_gib:
        lim = int(a.max_gib * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (lim, lim))
    load_plugins()
    t0 = time.perf_counter()
    data = make_graph(a.graph, dedupe=False)
    n, e = data.num_nodes, data.num_edges
    print(f'{a.graph}-size graph: {n:,} nodes, {e:,} directed edges, '
          f'generated in {time.perf_counter() - t0:.1f} s, RSS '
          f'{rss_gib():.2f} GiB')
    if a.part in ('mini', 'both'):
        t0 = time.perf_counter()
        loader = neighbor_loader(data, [15, 10, 5], 1024,
                                 input_nodes=data.train_idx, shuffle=True,
                                 generator=torch.Generator().manual_seed(0),
                                 backend='pyg_ext')
        print(f'NeighborSampler built in {time.perf_counter() - t0:.1f} s')
        model, opt = make_model(data, 256)
        nodes = []
        t0 = time.perf_counter()
        count = 0
        for batch in loader:
            if count == a.train_batches:
                break
            nodes.append(batch.num_nodes)
            count += 1
        t_sample = time.perf_counter() - t0
        del batch  # not alive while training
        dt, nb = minibatch_epoch(model, opt, loader, a.train_batches,
                                 progress=10)
        print(f'mini-batch GraphSAGE (3 x 256, [15, 10, 5], batch 1024): '
              f'{sum(nodes) / t_sample:,.0f} sampled nodes/s (loader, '
              f'{sum(nodes) / len(nodes):,.0f} nodes per batch); '
              f'{dt / nb:.2f} s per training batch, epoch of {len(loader)} '
              f'batches ~ {dt / nb * len(loader) / 60:.1f} min '
              f'(extrapolated from {nb}); peak RSS {peak_rss_gib():.2f} GiB')
        del loader, model, opt
        gc.collect()
    if a.part == 'predict':
        return mowst_predict_part(a, data)
    if a.part in ('full', 'both'):
        t0 = time.perf_counter()
        adj_t, dup = csr_adjacency(data.edge_index, n)
        print(f'CSR adj_t built in {time.perf_counter() - t0:.1f} s '
              f'(duplicate edges: {dup}); RSS {rss_gib():.2f} GiB, peak '
              f'{peak_rss_gib():.2f} GiB')
        data.edge_index = None
        gc.collect()
        cfg = load_config({'model': {'name': 'gcn', 'hidden_channels':
                                     a.hidden, 'num_layers': a.layers}})
        torch.manual_seed(0)
        model = MODELS.get('gcn').obj(data.num_features, 47,
                                      cfg.model.options)
        opt = torch.optim.Adam(model.parameters(), lr=0.01)
        train = torch.zeros(n, dtype=torch.bool)
        train[data.train_idx] = True
        for epoch in range(2):  # the first one also normalises once
            t0 = time.perf_counter()
            model.train()
            opt.zero_grad()
            out = model(data.x, adj_t)
            F.cross_entropy(out[train], data.y[train]).backward()
            opt.step()
            print(f'full-batch GCN ({a.layers} x {a.hidden}) training epoch '
                  f'{epoch} through the CSR: {time.perf_counter() - t0:.1f} '
                  f's; RSS {rss_gib():.2f} GiB, peak {peak_rss_gib():.2f} '
                  f'GiB')
            del out
        # edge_index path: each GCNConv gathers x_j [E', C] and weights it
        # into a second [E', C] message tensor (E' = E + N self-loops)
        ep = e + n
        per = ep * a.hidden * 4 / 2**30
        print(f'edge_index path (estimate): {ep:,} messages per layer; x_j '
              f'and the weighted messages at hidden {a.hidden} are '
              f'{per:.1f} GiB each, {2 * per:.0f} GiB live in the first '
              f'layer alone, {2 * per / 16:.0f}x the 16 GiB budget')


def mowst_predict_part(a, data):
    r"""Mowst ``predict`` (threshold routing by fixed confidences, as
    ``benchmarks/mowst_inference.py``) at 5/20/50/100 %% routed against one
    full-graph forward of the strong expert, both through the CSR; the
    ratio is that of each round, interleaved (shuffled order)."""
    import gc
    import random
    import time

    from torch_geometric.nn.models import MLP

    from mowst_inference import FixedGate, print_table
    from pyg_ext.nn.models import Mowst
    from pyg_ext.registry import MODELS
    from pyg_ext.train import load_config
    from pyg_ext.utils.adjacency import csr_adjacency

    n = data.num_nodes
    t0 = time.perf_counter()
    adj_t, _ = csr_adjacency(data.edge_index, n)
    data.edge_index = None
    gc.collect()
    print(f'CSR adj_t built in {time.perf_counter() - t0:.1f} s; RSS '
          f'{rss_gib():.2f} GiB')
    cfg = load_config({'model': {'name': 'gcn', 'hidden_channels':
                                 a.hidden, 'num_layers': a.layers}})
    torch.manual_seed(0)
    strong = MODELS.get('gcn').obj(data.num_features, 47, cfg.model.options)
    weak = MLP([data.num_features, a.hidden, 47])
    conf = torch.rand(n, generator=torch.Generator().manual_seed(1))
    model = Mowst(weak, strong, 47, gate=FixedGate(conf)).eval()
    strong.eval()
    fracs = (0.05, 0.2, 0.5, 1.0)
    jobs = [None] + list(fracs)
    t_full, t_pred, info = [], {f: [] for f in fracs}, {}
    rng = random.Random(0)
    with torch.no_grad():
        t0 = time.perf_counter()
        strong(data.x, adj_t)  # the first call also normalises once
        print(f'first strong forward (with the one-time normalisation): '
              f'{time.perf_counter() - t0:.1f} s; peak '
              f'{peak_rss_gib():.2f} GiB', flush=True)
        for _ in range(a.rounds):
            rng.shuffle(jobs)
            for f in jobs:
                t0 = time.perf_counter()
                if f is None:
                    strong(data.x, adj_t)
                else:
                    pr = model.predict(data.x, adj_t, mode='threshold',
                                       threshold=f)
                    info[f] = (pr.strong_fraction, pr.num_strong_nodes_computed)
                dt = time.perf_counter() - t0
                (t_full if f is None else t_pred[f]).append(dt)
                print(f'  {"full forward" if f is None else f"predict {f}"}: '
                      f'{dt:.1f} s; peak {peak_rss_gib():.2f} GiB', flush=True)
    print(f'full-graph strong forward: {sorted(t_full)[len(t_full) // 2]:.1f}'
          f' s (median of {a.rounds})')
    print_table(fracs, info, t_full, t_pred, n)
    print(f'peak RSS {peak_rss_gib():.2f} GiB')


# --section layers ---------------------------------------------------------
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
                                          gcn_norm_values)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(data.num_nodes, F_hidden, generator=g)
    grad = torch.randn(data.num_nodes, F_hidden, generator=g)
    s, v = gcn_norm_values(*csr_of(adj_t))
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


@section('layers')
def layers_section(args, rest):
    r"""One training step of every static model through ``edge_index`` and
    a ``torch.sparse_csr`` ``adj_t``, interleaved (``--rounds`` steps per
    layout, median CPU time), and the kernels underneath."""
    p = argparse.ArgumentParser(prog='scale.py --section layers')
    p.add_argument('--models', nargs='*', default=None,
                   help='substrings of model names to run (default: all)')
    p.add_argument('--no-models', action='store_true',
                   help='only the kernel timings')
    p.add_argument('--quick', action='store_true',
                   help='a small graph (smoke run)')
    a = p.parse_args(rest)
    a.repeats = args.rounds
    args = a
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



# --section mowst ----------------------------------------------------------
@section('mowst')
def mowst_section(args, rest):
    r"""The loop's Mowst training steps (:class:`pyg_ext.fit.mowst_steps.
    MowstSteps`, the code ``fit_mowst`` / ``fit_mowst_star`` run) through
    ``edge_index`` and through the CSR the loop builds, on the arxiv-size
    graph: a strong turn (the GNN expert trained, the weak expert and gate
    frozen), a weak turn (the MLP and the gate; no graph), one round (one
    step of each turn) and the Mowst* joint step (both experts and the
    gate). Steps interleaved, shuffled order per round, CPU time per step
    (single thread), median; equal mixture log-probabilities checked."""
    import random
    import tempfile

    from pyg_ext.fit.mowst_steps import MowstSteps
    from pyg_ext.registry import DATASETS, METHODS, MODELS, TASKS
    from pyg_ext.train import load_config, load_plugins
    from pyg_ext.train.adjacency import attach_adjacency

    p = argparse.ArgumentParser(prog='scale.py --section mowst')
    p.add_argument('--hidden', type=int, default=64)
    p.add_argument('--layers', type=int, default=2)
    p.add_argument('--dropout', type=float, default=0.5)
    p.add_argument('--quick', action='store_true',
                   help='a small graph (smoke run)')
    a = p.parse_args(rest)
    load_plugins()
    from sampler import GRAPHS
    GRAPHS.setdefault('quick', (5_000, 40_000, 128, 40, 2_000))
    data = make_graph('quick' if a.quick else 'arxiv')
    n = data.num_nodes
    train = torch.zeros(n, dtype=torch.bool)
    train[data.train_idx] = True
    data.train_mask = data.val_mask = data.test_mask = train
    print(f'graph: {n:,} nodes, {data.num_edges:,} directed '
          f'edges, {data.num_features} features, 40 classes, '
          f'{int(train.sum()):,} training nodes')
    if 'bench_arxiv' not in DATASETS:
        DATASETS.register('bench_arxiv', lambda root: data,
                          description='benchmark graph')
    size = {'hidden_channels': a.hidden, 'num_layers': a.layers,
            'dropout': a.dropout}
    with tempfile.TemporaryDirectory() as cache:
        os.environ['PYG_EXT_CACHE'] = cache
        cfg = load_config({'dataset': {'name': 'bench_arxiv'},
                           'method': {'name': 'mowst'},
                           'model': dict(name='gcn', **size)})
        task = TASKS.get(cfg.task.name).obj(cfg.task.options)
        method = METHODS.get(cfg.method.name).obj(cfg.method.options)
        sparse, layout = attach_adjacency(cfg, task, method, data)
    print(f'method mowst, model gcn: dataset.adjacency=auto -> {layout}')
    assert layout == 'csr', layout
    torch.manual_seed(0)
    strong = MODELS.get('gcn').obj(data.num_features, 40, cfg.model.options)
    mlp = load_config({'model': dict(name='mlp', **size)}).model.options
    weak = MODELS.get('mlp').obj(data.num_features, 40, mlp)
    model = Mowst(weak, strong, 40, gate_hidden=a.hidden,
                  gate_layers=a.layers)
    print(f'Mowst: weak {type(weak).__name__}, strong '
          f'{type(strong).__name__} ({a.layers} x {a.hidden}), '
          f'{sum(p.numel() for p in model.parameters()):,} parameters')
    graphs = {'edge_index': data, 'csr': sparse}
    model.eval()
    with torch.no_grad():
        outs = [model(d.x, d.adj_t if k == 'csr' else d.edge_index)
                for k, d in graphs.items()]
        diff = float((outs[0].log_probs - outs[1].log_probs).abs().max())
        frozen_w = model.weak_forward(data.x)
        frozen_c = model.confidence(frozen_w, data.x)
        frozen = model.strong_forward(sparse.x, sparse.adj_t)
    print(f'max |mixture log-prob diff| edge_index vs csr: {diff:.1e}')
    opt = {k: torch.optim.Adam(ps, lr=0.01) for k, ps in (
        ('weak', list(model.weak_parameters())),
        ('strong', list(model.strong_parameters())),
        ('joint', list(model.parameters())))}
    kinds = ('strong turn', 'weak turn', 'Mowst* joint')
    steps = {}
    for lay, d in graphs.items():
        ms = MowstSteps(None, model, d, {}, None, None)
        steps[lay] = {
            'strong turn': ms.turn(False, opt['strong'], frozen_w=frozen_w,
                                   frozen_c=frozen_c),
            'weak turn': ms.turn(True, opt['weak'], frozen=frozen),
            'Mowst* joint': ms.joint(opt['joint'])}
    for lay in graphs:  # warm-up (the normalisation memo of each layout)
        for k in kinds:
            steps[lay][k](0)
    cpu = {(lay, k): [] for lay in graphs for k in kinds}
    wall = {(lay, k): [] for lay in graphs for k in kinds}
    jobs = [(lay, k) for lay in graphs for k in kinds]
    rng = random.Random(0)
    for _ in range(args.rounds):
        rng.shuffle(jobs)
        for job in jobs:
            c, t = time.process_time(), time.perf_counter()
            steps[job[0]][job[1]](0)
            cpu[job].append(time.process_time() - c)
            wall[job].append(time.perf_counter() - t)
    med = {j: statistics.median(v) for j, v in cpu.items()}
    wmed = {j: statistics.median(v) for j, v in wall.items()}
    print('\n| step | CPU s, edge_index | CPU s, csr | edge_index / csr '
          '(CPU) | (wall) |')
    print('|---|---|---|---|---|')
    rows = [(k, (k, )) for k in kinds] + [
        ('Mowst round (one step of each turn)', ('strong turn', 'weak turn'))]
    for name, parts in rows:
        e, c = (sum(med[(lay, k)] for k in parts) for lay in graphs)
        we, wc = (sum(wmed[(lay, k)] for k in parts) for lay in graphs)
        print(f'| {name} | {e:.2f} | {c:.2f} | **{e / c:.2f}×** | '
              f'{we / wc:.2f}× |')
    print(f'\n(per-step CPU s: {({f"{j[0]}/{j[1]}": [round(x, 2) for x in v] for j, v in cpu.items()})}; '
          f'peak RSS {peak_rss_gib():.2f} GiB)')


# --section hops --------------------------------------------------------------
def _message_passing(prop) -> None:
    r"""Makes a :class:`~pyg_ext.nn.conv.gpr_prop.HopAggregation` propagate
    by edge-wise message passing (``x_j * w`` per edge, then a scatter-add:
    the form of the official GPRGNN/APPNP code and PyG's ``APPNP``), the
    path it takes itself only for learnable edge weights."""
    from pyg_ext.nn.conv.gpr_prop import gcn_norm_fixed_size

    def norm(edge_index, edge_weight, num_nodes, dtype):
        ei, w = gcn_norm_fixed_size(edge_index, edge_weight, num_nodes,
                                    prop.add_self_loops, prop.flow, dtype)
        return ('mp', ei, w)
    prop.norm = norm


@section('hops')
def hops_section(args, rest):
    r"""The hop-aggregation models (GPRGNN, LearnableAPPNP, K = 10): one
    training step through edge-wise message passing (the official codes'
    form), through our ``edge_index`` input (an internal CSR built once)
    and through a ``torch.sparse_csr`` ``adj_t``, on the graph of
    ``--section layers``; equal logits checked; CPU time, median."""
    import copy
    p = argparse.ArgumentParser(prog='scale.py --section hops')
    p.add_argument('--quick', action='store_true')
    a = p.parse_args(rest)
    n, pairs, F_in = (5_000, 40_000, 32) if a.quick else \
        (169_343, 1_200_000, 128)
    H, C = 64, 40
    data = random_graph(n, pairs, F_in, C)
    adj_t = T.ToSparseTensor(layout=torch.sparse_csr)(data.clone()).adj_t
    print(f'graph: {n:,} nodes, {data.edge_index.size(1):,} directed edges, '
          f'{F_in} features, {C} classes, hidden {H}')
    builders = {
        'GPRGNN (K=10)': lambda: GPRGNN(F_in, H, C, K=10, alpha=0.1),
        'LearnableAPPNP (K=10)': lambda: LearnableAPPNP(F_in, H, C)}
    rows = []
    for name, build in builders.items():
        torch.manual_seed(0)
        model = build()
        ref = copy.deepcopy(model)
        for m in ref.modules():
            if hasattr(m, 'hop_sum'):
                _message_passing(m)
        variants = {'message passing': (ref, data.edge_index),
                    'edge_index': (model, data.edge_index),
                    'csr': (model, adj_t)}
        opts = {k: torch.optim.Adam(m.parameters(), lr=0.01)
                for k, (m, _) in variants.items()}
        with torch.no_grad():
            outs = {k: m.eval()(data.x, g) for k, (m, g) in variants.items()}
        diff = max(float((outs[k] - outs['csr']).abs().max())
                   for k in outs)
        cpu = {k: [] for k in variants}
        for r in range(args.rounds + 1):
            for k, (m, g) in variants.items():
                m.train()
                c = time.process_time()
                opts[k].zero_grad()
                _loss(m(data.x, g), data.y).backward()
                opts[k].step()
                if r:  # the first round is a warm-up
                    cpu[k].append(time.process_time() - c)
        med = {k: statistics.median(v) for k, v in cpu.items()}
        row = (f'| {name} | {med["message passing"]:.2f} | '
               f'{med["edge_index"]:.2f} | {med["csr"]:.2f} | '
               f'**{med["message passing"] / med["csr"]:.2f}×** | '
               f'{med["edge_index"] / med["csr"]:.2f}× | {diff:.1e} |')
        rows.append(row)
        print(row, cpu, flush=True)
    print('\n| model | CPU s / step, message passing | our edge_index | csr '
          '| message passing / csr | edge_index / csr | max abs logit diff |')
    print('|---|---|---|---|---|---|---|')
    print('\n'.join(rows))
    print(f'\npeak RSS {peak_rss_gib():.2f} GiB')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--section', choices=sorted(SECTIONS),
                        required=True)
    parser.add_argument('--rounds', type=int, default=3)
    args, rest = parser.parse_known_args(argv)
    torch.set_num_threads(1)
    print(f'torch {torch.__version__}, {torch.get_num_threads()} thread(s)')
    SECTIONS[args.section](args, rest)


if __name__ == '__main__':
    main()
