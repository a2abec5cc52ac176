r"""Mini-batch neighbour sampling without pyg-lib: throughput of
:class:`pyg_ext.sampler.NeighborSampler` and a mini-batch GraphSAGE epoch
through PyG's :class:`~torch_geometric.loader.NeighborLoader` fed by it,
1 thread.

No PyG sampler runs here (PyG's ``NeighborSampler``/``NeighborLoader`` and the
older ``torch_geometric.loader.NeighborSampler`` need pyg-lib or
torch-sparse), so the anchor measured in the same process is a full-batch
GraphSAGE training epoch on the same graph (the same model, through a
``torch.sparse_csr`` adjacency: the ``edge_index`` path would materialise
E x 256 message tensors), interleaved round by round with the mini-batch
epoch (order shuffled per round).

Graphs (random, generated here with a fixed seed; "undirected" edges are
stored in both directions, as PyG does):

* ``arxiv``: 169,343 nodes, 2.4M undirected edges (4.8M directed), 128
  features, 40 classes, 90,941 training seeds (ogbn-arxiv's split size);
* ``products``: 2,449,029 nodes, 61,859,140 undirected edges (123.7M
  directed), 100 features, 47 classes, 196,615 training seeds
  (ogbn-products' split size); no full-batch anchor (its activations alone
  need tens of GB), one round.

Model: PyG's ``GraphSAGE`` (3 layers, hidden 256, dropout 0.5, Adam) as in
OGB's GraphSAGE examples, fan-out [15, 10, 5], batch 1024, shuffled seeds,
``trim_to_layer`` (``num_sampled_nodes_per_hop``). Reported: sampler build
time, sampled nodes/s of the sampler alone and of the loader (sampling +
feature slicing), seconds per mini-batch epoch, its ratio to the full-batch
epoch, and the process' peak RSS.

    OMP_NUM_THREADS=1 python benchmarks/sampler.py --graph arxiv --rounds 1
    OMP_NUM_THREADS=1 python benchmarks/sampler.py --graph products \
        --train-batches 5

A mini-batch epoch touches nearly the whole arxiv-size random graph per
batch (about 164k of its 169k nodes: a random graph has no locality), so it
costs far more than one full-batch epoch; the sampler's own share is small
(see the sampler-alone and loader lines).
"""
import argparse
import random
import resource
import statistics
import time

import torch
import torch.nn.functional as F
from torch_geometric.data import Data
from torch_geometric.nn.models import GraphSAGE
from torch_geometric.utils import to_torch_csr_tensor

from pyg_ext.sampler import NeighborSampler, neighbor_loader

GRAPHS = {
    # nodes, undirected edges, features, classes, training seeds
    'arxiv': (169_343, 2_400_000, 128, 40, 90_941),
    'products': (2_449_029, 61_859_140, 100, 47, 196_615),
}


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def rss_gib() -> float:
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**30


def make_graph(name: str) -> Data:
    n, e, f, c, n_train = GRAPHS[name]
    g = torch.Generator().manual_seed(0)
    # filled in place: no [2, 2E] temporaries (products: 2 GB each)
    edge_index = torch.empty(2, 2 * e, dtype=torch.long)
    torch.randint(0, n, (e, ), generator=g, out=edge_index[0, :e])
    torch.randint(0, n, (e, ), generator=g, out=edge_index[1, :e])
    edge_index[0, e:] = edge_index[1, :e]
    edge_index[1, e:] = edge_index[0, :e]
    x = torch.randn(n, f, generator=g)
    y = torch.randint(0, c, (n, ), generator=g)
    train = torch.randperm(n, generator=g)[:n_train]
    return Data(x=x, y=y, edge_index=edge_index, train_idx=train,
                num_classes=c)


def sampler_throughput(sampler, seeds, batch_size):
    gen = torch.Generator().manual_seed(1)
    order = seeds[torch.randperm(seeds.numel(), generator=gen)]
    t0 = time.perf_counter()
    nodes = edges = 0
    for i in range(0, order.numel(), batch_size):
        out = sampler.sample(order[i:i + batch_size])
        nodes += out.node.numel()
        edges += out.row.numel()
    return time.perf_counter() - t0, nodes, edges


def loader_throughput(loader):
    t0 = time.perf_counter()
    nodes = edges = 0
    for batch in loader:
        nodes += batch.num_nodes
        edges += batch.num_edges
    return time.perf_counter() - t0, nodes, edges


def minibatch_epoch(model, opt, loader, max_batches=None, progress=0):
    r"""Returns (seconds, batches run): the first :obj:`max_batches` of
    an epoch (all when :obj:`None`), sampling included; prints the time
    and peak RSS every :obj:`progress` batches (0: never)."""
    model.train()
    t0 = time.perf_counter()
    n = 0
    for batch in loader:
        if max_batches is not None and n == max_batches:
            break
        n += 1
        opt.zero_grad()
        bs = batch.batch_size
        out = model(batch.x, batch.edge_index,
                    num_sampled_nodes_per_hop=batch.num_sampled_nodes,
                    num_sampled_edges_per_hop=batch.num_sampled_edges)[:bs]
        F.cross_entropy(out, batch.y[:bs]).backward()
        opt.step()
        if progress and n % progress == 0:
            import resource
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            print(f'  {n} batches: {time.perf_counter() - t0:.0f} s; peak '
                  f'RSS {peak / 2**20:.2f} GiB', flush=True)
    return time.perf_counter() - t0, n


def fullbatch_epoch(model, opt, data, adj_t):
    model.train()
    t0 = time.perf_counter()
    opt.zero_grad()
    out = model(data.x, adj_t)[data.train_idx]
    F.cross_entropy(out, data.y[data.train_idx]).backward()
    opt.step()
    return time.perf_counter() - t0


def make_model(data, hidden):
    torch.manual_seed(0)
    model = GraphSAGE(data.num_features, hidden, 3, data.num_classes,
                      dropout=0.5)
    return model, torch.optim.Adam(model.parameters(), lr=0.003)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--graph', choices=sorted(GRAPHS), default='arxiv')
    parser.add_argument('--rounds', type=int, default=None,
                        help='interleaved rounds (default: 3 arxiv, '
                        '1 products)')
    parser.add_argument('--batch-size', type=int, default=1024)
    parser.add_argument('--num-neighbors', type=int, nargs='+',
                        default=[15, 10, 5])
    parser.add_argument('--hidden', type=int, default=256)
    parser.add_argument('--no-train', action='store_true',
                        help='sampling throughput only')
    parser.add_argument('--train-batches', type=int, default=None,
                        help='time only the first N training batches of '
                        'each mini-batch epoch and extrapolate to the epoch '
                        '(default: the whole epoch)')
    args = parser.parse_args()
    rounds = args.rounds or (3 if args.graph == 'arxiv' else 1)
    print(f'torch {torch.__version__}, {torch.get_num_threads()} thread(s)')

    t0 = time.perf_counter()
    data = make_graph(args.graph)
    print(f'{args.graph}: {data.num_nodes:,} nodes, {data.num_edges:,} '
          f'directed edges, generated in {time.perf_counter() - t0:.1f} s, '
          f'RSS {rss_gib():.2f} GiB')

    t0 = time.perf_counter()
    gen = torch.Generator().manual_seed(0)
    loader = neighbor_loader(data, args.num_neighbors, args.batch_size,
                             input_nodes=data.train_idx, shuffle=True,
                             generator=gen, backend='pyg_ext')
    sampler = loader.node_sampler  # one CSR for every measurement
    assert isinstance(sampler, NeighborSampler)
    print(f'NeighborSampler built in {time.perf_counter() - t0:.1f} s, RSS '
          f'{rss_gib():.2f} GiB (peak {peak_rss_gib():.2f} GiB)')

    dt, nodes, edges = sampler_throughput(sampler, data.train_idx,
                                          args.batch_size)
    nb = -(-data.train_idx.numel() // args.batch_size)
    print(f'sampler alone: {nb} batches in {dt:.1f} s, {nodes / dt:,.0f} '
          f'sampled nodes/s, {edges / dt:,.0f} sampled edges/s, '
          f'{nodes / nb:,.0f} nodes and {edges / nb:,.0f} edges per batch')

    dt, nodes, edges = loader_throughput(loader)
    print(f'loader (sampling + slicing x, y): {dt:.1f} s per epoch, '
          f'{nodes / dt:,.0f} sampled nodes/s; RSS {rss_gib():.2f} GiB '
          f'(peak {peak_rss_gib():.2f} GiB)')
    if args.no_train:
        return

    mini_model, mini_opt = make_model(data, args.hidden)

    def mini_side():
        dt, n = minibatch_epoch(mini_model, mini_opt, loader,
                                args.train_batches)
        return dt * len(loader) / n  # the epoch (extrapolated if partial)

    sides = {'mini': mini_side}
    if args.graph == 'arxiv':
        # adj_t[i, j] = 1 for an edge j -> i (SAGEConv's sparse input)
        adj_t = to_torch_csr_tensor(data.edge_index.flip(0),
                                    size=(data.num_nodes, data.num_nodes))
        full_model, full_opt = make_model(data, args.hidden)
        sides['full'] = lambda: fullbatch_epoch(full_model, full_opt, data,
                                                adj_t)
    times = {k: [] for k in sides}
    rng = random.Random(0)
    for r in range(rounds):
        order = list(sides)
        rng.shuffle(order)
        for k in order:
            times[k].append(sides[k]())
        print(f'round {r}: ' + ', '.join(f'{k} {times[k][-1]:.2f} s'
                                         for k in sides) +
              f'; peak RSS {peak_rss_gib():.2f} GiB')
    mini = statistics.median(times['mini'])
    part = '' if args.train_batches is None else \
        f', extrapolated from {args.train_batches} of {len(loader)} batches'
    print(f'mini-batch GraphSAGE epoch ({args.num_neighbors}, batch '
          f'{args.batch_size}, hidden {args.hidden}{part}): median '
          f'{mini:.1f} s ({mini / len(loader):.2f} s per batch)')
    if 'full' in times:
        full = statistics.median(times['full'])
        ratios = [m / f for m, f in zip(times['mini'], times['full'])]
        print(f'full-batch epoch (torch.sparse_csr): median {full:.2f} s; '
              f'mini/full per round {[round(v, 1) for v in ratios]}, '
              f'median {statistics.median(ratios):.1f}x')
    print(f'peak RSS {peak_rss_gib():.2f} GiB')


if __name__ == '__main__':
    main()
