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
