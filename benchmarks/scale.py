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
* ``layers``: every layer/model through ``edge_index`` and ``adj_t``.

    OMP_NUM_THREADS=1 python benchmarks/scale.py --section loop
    OMP_NUM_THREADS=1 python benchmarks/scale.py --section products
"""
import argparse
import os
import resource

import torch

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
    p.add_argument('--part', choices=('mini', 'full', 'both'),
                   default='both')
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
        dt, nb = minibatch_epoch(model, opt, loader, a.train_batches)
        print(f'mini-batch GraphSAGE (3 x 256, [15, 10, 5], batch 1024): '
              f'{sum(nodes) / t_sample:,.0f} sampled nodes/s (loader, '
              f'{sum(nodes) / len(nodes):,.0f} nodes per batch); '
              f'{dt / nb:.2f} s per training batch, epoch of {len(loader)} '
              f'batches ~ {dt / nb * len(loader) / 60:.1f} min '
              f'(extrapolated from {nb}); peak RSS {peak_rss_gib():.2f} GiB')
        del loader, model, opt
        gc.collect()
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
