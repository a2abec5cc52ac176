r"""Influence-maximisation benchmarks: quality on NetHEPT / ego-Facebook,
RR-set and Monte-Carlo throughput against a pure-Python baseline run in this
process, CIM on scinet, the 2-thread speed-up, and (``--section cpp``)
pyg_ext against the published C++ codes OPIM v1.1 (github.com/tangj90/OPIM)
and SUBSIM (github.com/qtguo/subsim) and the pynetim package, each
implementation in its own process, interleaved.

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/influence.py --section all
    OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python benchmarks/influence.py \
        --section mc_compare   # needs the `bench` extra (cynetdiff, ndlib)
    python benchmarks/influence.py --section throughput --quick
    OPIM_BIN=... SUBSIM_BIN=... python benchmarks/influence.py --section cpp
    OPIM_BIN=... python benchmarks/influence.py --section prep
    python benchmarks/influence.py --section scale   # 100M arcs, ~2.2 GiB peak

Reference figures quoted for the throughput section were measured with the
C++ codes on a 2-core machine of this class (see docs/benchmarks.md): OPIM
0.88 M RR sets/s on NetHEPT IC-WC (index included), 62 K/s on BA-100K
IC-WC, 87 K/s LT-WC; CyNetDiff 2,455 MC simulations/s on NetHEPT with 50
seeds (NDlib 4.1/s). ``--section cpp`` measures the C++ codes itself; see
docs/influence.md for how to build them and convert the graphs.
"""
import argparse
import os
import random
import time
from collections import deque

import numpy as np
import torch

from pyg_ext.datasets.snap import (load_ego_facebook, load_email_eu,
                                   load_nethept, load_scinet)
from pyg_ext.influence import (cim_local_baseline, cim_rr_opim_plus,
                               degree_scores, estimate_spread, imm, opim_c,
                               pagerank_scores, prepare, sample_rr_sets,
                               top_k)

REF_RR = {'nethept-IC': 0.88e6, 'ba100k-IC': 62e3, 'ba100k-LT': 87e3}
REF_MC_CYNETDIFF = 2455.0


def python_rr_sets(g, count, seed=0):
    r"""Pure-Python reverse BFS (dict/list based, as in HIM's
    ``HeteroIM.py``): the baseline for the compiled sampler."""
    rng = random.Random(seed)
    in_ptr, in_src, in_p = (g.in_ptr.tolist(), g.in_src.tolist(),
                            g.in_p.tolist())
    n = g.num_nodes
    out = []
    for _ in range(count):
        root = rng.randrange(n)
        seen = {root}
        q = deque([root])
        while q:
            w = q.popleft()
            for j in range(in_ptr[w], in_ptr[w + 1]):
                u = in_src[j]
                if u not in seen and rng.random() < in_p[j]:
                    seen.add(u)
                    q.append(u)
        out.append(list(seen))
    return out


def python_mc(g, seeds, runs, seed=0):
    rng = random.Random(seed)
    out_ptr, out_dst, out_p = (g.out_ptr.tolist(), g.out_dst.tolist(),
                               g.out_p.tolist())
    total = 0
    for _ in range(runs):
        active = set(seeds)
        q = deque(seeds)
        while q:
            u = q.popleft()
            for j in range(out_ptr[u], out_ptr[u + 1]):
                v = out_dst[j]
                if v not in active and rng.random() < out_p[j]:
                    active.add(v)
                    q.append(v)
        total += len(active)
    return total / runs


def ba100k():
    import networkx as nx
    G = nx.barabasi_albert_graph(100000, 5, seed=0)
    e = np.array(G.edges(), dtype=np.int64).T
    ei = torch.from_numpy(np.concatenate([e, e[::-1]], axis=1).copy())
    return ei, 100000


class Clock:
    r"""Process CPU time for single-thread rates (the 2-core machine is
    shared, so wall time mostly measures the neighbours), wall time for the
    multi-thread speed-up."""
    def __init__(self, wall=False):
        self.fn = time.perf_counter if wall else time.process_time

    def __enter__(self):
        self.t = self.fn()
        return self

    def __exit__(self, *args):
        self.dt = self.fn() - self.t


def rr_rate(g, count, method='auto', threads=1, seed=1, wall=False):
    with Clock(wall=wall) as c:
        rr = sample_rr_sets(g, n=count, seed=seed, method=method,
                            num_threads=threads)
        rr.index()
    return count / c.dt, rr


def section_throughput(root, quick):
    print('\n## RR-set throughput (single thread, after JIT warm-up; '
          'index included; rates from process CPU time)\n')
    print('| graph | sampler | RR sets | RR sets/s | vs reference C++ | '
          'vs pure Python |')
    print('|---|---|---|---|---|---|')
    count = 100_000 if quick else 400_000
    graphs = []
    d = load_nethept(root)
    graphs.append(('nethept', d.edge_index, d.num_nodes))
    if not quick:
        graphs.append(('ba100k', *ba100k()))
    for name, ei, n in graphs:
        for model in ('IC', 'LT'):
            g = prepare(ei, n, model=model)
            sample_rr_sets(g, n=10, seed=0)  # warm-up
            base_n = 2000 if name == 'ba100k' else 20000
            if model == 'IC':
                with Clock() as c:
                    python_rr_sets(g, base_n)
                py_rate = base_n / c.dt
            methods = ('vanilla', 'subsim') if model == 'IC' else ('auto', )
            for meth in methods:
                c = count if name == 'nethept' else count // 4
                rate, rr = rr_rate(g, c, meth)
                ref = REF_RR.get(f'{name}-{model}')
                rs = f'{rate / ref:.2f}x' if ref else '-'
                ps = f'{rate / py_rate:.0f}x' if model == 'IC' else '-'
                print(f'| {name} {model}-WC | {meth} | {c:,} | {rate:,.0f} | '
                      f'{rs} | {ps} |')

    print('\n## Monte-Carlo simulations/s (NetHEPT IC-WC, 50 OPIM-C seeds)\n')
    g = prepare(d.edge_index, d.num_nodes)
    seeds = opim_c(g, k=50, seed=0).seeds
    estimate_spread(g, seeds=seeds, num_samples=10, seed=0)
    runs = 2000 if quick else 10000
    with Clock() as c:
        est = estimate_spread(g, seeds=seeds, num_samples=runs, seed=1)
    ours = runs / c.dt
    with Clock() as c:
        py = python_mc(g, seeds.tolist(), 300, seed=1)
    py_rate = 300 / c.dt
    print('| simulator | sims/s | spread |\n|---|---|---|')
    print(f'| pyg_ext (numba) | {ours:,.0f} | {est.mean:.1f} |')
    print(f'| pure Python (this process) | {py_rate:,.0f} | {py:.1f} |')
    print(f'| CyNetDiff (reference figure) | {REF_MC_CYNETDIFF:,.0f} | - |')
    print(f'\nratio vs pure Python: {ours / py_rate:.0f}x; vs CyNetDiff '
          f'reference: {ours / REF_MC_CYNETDIFF:.2f}x')
    for model in ('LT', ):
        gl = prepare(d.edge_index, d.num_nodes, model=model)
        estimate_spread(gl, seeds=seeds, num_samples=10, seed=0)
        with Clock() as c:
            e = estimate_spread(gl, seeds=seeds, num_samples=runs, seed=1)
        print(f'LT MC: {runs / c.dt:,.0f} sims/s, '
              f'spread {e.mean:.1f}')


def _cynetdiff_ic(g, seeds, rng_seed):
    r"""CyNetDiff's IC model on pyg_ext's own out-CSR and edge
    probabilities (same graph, same WC weights, same seeds)."""
    from cynetdiff.models import IndependentCascadeModel
    starts = np.asarray(g.out_ptr)[:-1].astype(np.uint32)
    edges = np.asarray(g.out_dst).astype(np.uint32)
    probs = np.asarray(g.out_p).astype(np.float32)
    model = IndependentCascadeModel(starts, edges, activation_probs=probs,
                                    rng=rng_seed)
    model.set_seeds([int(s) for s in seeds])
    return model


def _cynetdiff_runs(model, runs):
    out = np.empty(runs)
    for i in range(runs):
        model.reset_model()
        model.advance_until_completion()
        out[i] = model.get_num_activated_nodes()
    return out


def _ndlib_ic(g, seeds, rng_seed):
    r"""NDlib's ``IndependentCascadesModel`` with every edge's threshold
    set to pyg_ext's probability (NDlib activates when U <= threshold)."""
    import networkx as nx
    import ndlib.models.ModelConfig as mc
    import ndlib.models.epidemics as ep
    G = nx.DiGraph()
    G.add_nodes_from(range(g.num_nodes))
    src = np.repeat(np.arange(g.num_nodes), np.diff(np.asarray(g.out_ptr)))
    dst, p = np.asarray(g.out_dst), np.asarray(g.out_p)
    G.add_edges_from(zip(src.tolist(), dst.tolist()))
    model = ep.IndependentCascadesModel(G, seed=rng_seed)
    cfg = mc.Configuration()
    for u, v, q in zip(src.tolist(), dst.tolist(), p.tolist()):
        cfg.add_edge_configuration('threshold', (u, v), q)
    cfg.add_model_initial_configuration('Infected', [int(s) for s in seeds])
    model.set_initial_status(cfg)
    return model


def _ndlib_runs(model, seeds, runs):
    seeds = [int(s) for s in seeds]
    out = np.empty(runs)
    for i in range(runs):
        model.reset(seeds)
        while True:
            it = model.iteration(node_status=False)
            if it['iteration'] > 0 and it['node_count'][1] == 0:
                break
        out[i] = it['node_count'][2]
    return out


def section_mc_compare(root, quick):
    r"""Monte-Carlo IC simulations/s of pyg_ext vs CyNetDiff and NDlib run
    in this process on the same graph, probabilities (WC) and seeds."""
    from pyg_ext.influence import set_num_threads
    set_num_threads(1)
    d = load_nethept(root)
    g = prepare(d.edge_index, d.num_nodes)
    seeds = opim_c(g, k=50, seed=0).seeds
    runs = 2000 if quick else 10000
    nd_runs = 5 if quick else 20
    print('\n## Monte-Carlo IC simulations/s in this process (NetHEPT '
          f'IC-WC, 50 OPIM-C seeds, single thread after warm-up; load '
          f'average {os.getloadavg()[0]:.1f})\n')
    rows = []
    estimate_spread(g, seeds=seeds, num_samples=10, seed=0, num_threads=1)
    with Clock() as c, Clock(wall=True) as w:
        est = estimate_spread(g, seeds=seeds, num_samples=runs, seed=1,
                              num_threads=1)
    rows.append(('pyg_ext (numba)', runs, runs / c.dt, runs / w.dt,
                 est.mean, est.std / np.sqrt(runs)))
    try:
        import cynetdiff  # noqa: F401
    except ImportError:
        print('cynetdiff not installed: skipped (pip install -e .[bench])')
    else:
        model = _cynetdiff_ic(g, seeds, 1)
        _cynetdiff_runs(model, 10)  # warm-up
        with Clock() as c, Clock(wall=True) as w:
            x = _cynetdiff_runs(model, runs)
        from importlib.metadata import version
        rows.append((f'CyNetDiff {version("cynetdiff")} (reset_model + '
                     'advance_until_completion)', runs, runs / c.dt,
                     runs / w.dt, x.mean(), x.std(ddof=1) / np.sqrt(runs)))
    try:
        import ndlib  # noqa: F401
    except ImportError:
        print('ndlib not installed: skipped (pip install -e .[bench])')
    else:
        model = _ndlib_ic(g, seeds, 1)
        _ndlib_runs(model, seeds, 1)  # warm-up
        with Clock() as c, Clock(wall=True) as w:
            x = _ndlib_runs(model, seeds, nd_runs)
        from importlib.metadata import version
        rows.append((f'NDlib {version("ndlib")} (iteration() loop)',
                     nd_runs, nd_runs / c.dt, nd_runs / w.dt, x.mean(),
                     x.std(ddof=1) / np.sqrt(nd_runs)))
    ours, m0, s0 = rows[0][2], rows[0][4], rows[0][5]
    print('| simulator | runs | sims/s (CPU) | sims/s (wall) | '
          'pyg_ext / this | mean spread ± s.e. | z vs pyg_ext |')
    print('|---|---|---|---|---|---|---|')
    for name, r, cpu, wall, m, se in rows:
        z = (m - m0) / np.sqrt(se ** 2 + s0 ** 2) if se != s0 else 0.0
        print(f'| {name} | {r:,} | {cpu:,.1f} | {wall:,.1f} | '
              f'{ours / cpu:.2f}x | {m:.1f} ± {se:.1f} | {z:+.2f} |')


def section_threads(root, quick):
    print('\n## 2-thread speed-up of RR sampling (identical results; wall '
          f'time, load average {os.getloadavg()[0]:.1f})\n')
    d = load_nethept(root)
    graphs = [('nethept', prepare(d.edge_index, d.num_nodes))]
    if not quick:
        ei, n = ba100k()
        graphs.append(('ba100k', prepare(ei, n)))
    print('| graph | RR sets | 1 thread (sets/s) | 2 threads (sets/s) | '
          'speed-up | identical |\n|---|---|---|---|---|---|')
    for name, g in graphs:
        count = 400_000 if name == 'nethept' else 100_000
        if quick:
            count //= 4
        sample_rr_sets(g, n=10, seed=0, num_threads=2)
        r1, a = rr_rate(g, count, threads=1, seed=3, wall=True)
        r2, b = rr_rate(g, count, threads=2, seed=3, wall=True)
        same = torch.equal(a.ptr, b.ptr) and torch.equal(a.nodes, b.nodes)
        print(f'| {name} | {count:,} | {r1:,.0f} | {r2:,.0f} | '
              f'{r2 / r1:.2f}x | {same} |')


def section_quality(root, quick):
    print('\n## Seed quality (eps = 0.1, delta = 1/n, MC evaluation)\n')
    mc = 2000 if quick else 10000
    print(f'| graph | k | method | spread (MC {mc}) | seconds | RR sets | '
          f'alpha |\n|---|---|---|---|---|---|---|')
    cases = [('nethept', 'IC'), ('nethept', 'LT'), ('ego_facebook', 'IC')]
    ks = (10, 50) if quick else (1, 10, 50)
    for name, model in cases:
        d = load_nethept(root) if name == 'nethept' else \
            load_ego_facebook(root)
        g = prepare(d.edge_index, d.num_nodes, model=model)
        opim_c(g, k=1, seed=0)  # warm-up
        for k in ks:
            rows = []
            t = time.process_time()
            r = opim_c(g, k=k, eps=0.1, seed=0)
            rows.append(('opim_c', r.seeds, time.process_time() - t,
                         r.num_rr_sets, f'{r.alpha:.3f}'))
            if not quick or k <= 10:
                t = time.process_time()
                r = imm(g, k=k, eps=0.1, seed=0)
                rows.append(('imm', r.seeds, time.process_time() - t,
                             r.num_rr_sets, '-'))
            for mname, fn in (('degree', degree_scores),
                              ('pagerank', pagerank_scores)):
                t = time.process_time()
                s = top_k(fn(g), k)
                rows.append((mname, s, time.process_time() - t, 0, '-'))
            for mname, s, sec, nrr, a in rows:
                e = estimate_spread(g, seeds=s, num_samples=mc, seed=99)
                print(f'| {name} {model}-WC | {k} | {mname} | {e.mean:,.1f} '
                      f'± {e.ci_high - e.mean:.1f} | {sec:.3f} | {nrr:,} | '
                      f'{a} |')


def section_cim(root, quick):
    for gname in ('scinet', 'email_eu'):
        _cim_table(root, quick, gname)


def _cim_table(root, quick, gname):
    if gname == 'scinet':
        d = load_scinet(root)
        sets = d.ap_sets[-1:] if quick else d.ap_sets
        what = 'its AP sets'
    else:  # 5 % random APs, as in the CIM paper's setup
        d = load_email_eu(root)
        rng = np.random.default_rng(0)
        sets = [torch.from_numpy(np.sort(rng.choice(d.num_nodes, 50,
                                                    replace=False)))]
        what = '50 random APs (5 %, seed 0)'
    print(f'\n## CIM on {gname} with {what} (IC-WC from the full graph, '
          'eps = 0.1, delta = 1/n; spread = MC on the passive graph)\n')
    g = prepare(d.edge_index, d.num_nodes)
    mc = 2000 if quick else 10000
    cim_rr_opim_plus(g, aps=sets[0], k=2, seed=0)  # warm-up
    cim_rr_opim_plus(g, aps=sets[0], k=2, seed=0, selector='mg')
    print(f'| |A| | k | method | spread (MC {mc}) | distinct seeds | RR sets |'
          f' seconds | alpha |\n|---|---|---|---|---|---|---|---|')
    for aps in sets:
        for k in (2, 10):
            rows = []
            for name, kw in (('RR-OPIM+', {}),
                             ('RR-OPIM (vanilla)', dict(bound='vanilla')),
                             ('MG-OPIM', dict(bound='vanilla',
                                              selector='mg'))):
                t = time.process_time()
                r = cim_rr_opim_plus(g, aps=aps, k=k, eps=0.1, seed=0, **kw)
                rows.append((name, r.seeds, time.process_time() - t,
                             r.num_rr_sets,
                             f'{r.alpha:.3f}'))
            for name, fn in (('Degree (local)', degree_scores),
                             ('PageRank (local)', lambda x: pagerank_scores(
                                 x, damping=0.8))):
                t = time.process_time()
                r = cim_local_baseline(g, aps=aps, k=k, scores=fn(g))
                rows.append((name, r.seeds, time.process_time() - t, 0, '-'))
            for name, s, sec, nrr, a in rows:
                e = estimate_spread(g, seeds=s, exclude=aps, num_samples=mc,
                                    seed=99)
                print(f'| {len(aps)} | {k} | {name} | {e.mean:.1f} | '
                      f'{len(s)} | {nrr:,} | {sec:.3f} | {a} |')


def section_opim_timing(root, quick):
    print('\n## OPIM-C k=50 eps=0.1 on NetHEPT IC-WC (after warm-up)\n')
    d = load_nethept(root)
    g = prepare(d.edge_index, d.num_nodes)
    opim_c(g, k=50, seed=0)
    times = []
    for s in range(3 if quick else 5):
        with Clock() as c:
            r = opim_c(g, k=50, eps=0.1, seed=s)
        times.append(c.dt)
        e = estimate_spread(g, seeds=r.seeds, method='rr', seed=7)
        print(f'seed {s}: {times[-1]:.3f} s, 2 x {r.num_rr_sets // 2:,} RR '
              f'sets, iteration {r.iterations}/{r.info["sizes"]["i_max"]}, '
              f'alpha {r.alpha:.3f}, spread (RR +-1% estimator) {e.mean:.1f}')
    print(f'median {np.median(times):.3f} s (process CPU time)')



# --- pyg_ext vs the C++ codes (OPIM, SUBSIM) and pynetim ---------------------
def chung_lu(num_nodes, avg_degree, gamma=2.5, seed=0, chunk=1 << 24):
    r"""A seeded Chung-Lu power-law graph: ``num_nodes * avg_degree / 2``
    undirected edges whose endpoints are drawn with weight
    :math:`w_i \propto (i + 1)^{-1/(\gamma - 1)}`, self-loops and duplicates
    dropped, node ids randomly permuted, both directions. Returns int32
    ``[2, m]`` (about ``num_nodes * avg_degree`` arcs)."""
    rng = np.random.default_rng(seed)
    w = np.arange(1, num_nodes + 1, dtype=np.float64)**(-1.0 / (gamma - 1))
    cdf = np.cumsum(w)
    cdf /= cdf[-1]
    del w
    left = int(num_nodes * avg_degree / 2)
    keys = []
    while left > 0:
        c = min(chunk, left)
        left -= c
        u = np.searchsorted(cdf, rng.random(c), side='right')
        v = np.searchsorted(cdf, rng.random(c), side='right')
        keep = u != v
        u, v = u[keep], v[keep]
        keys.append(np.minimum(u, v) * num_nodes + np.maximum(u, v))
        del u, v, keep
    del cdf
    k = np.unique(np.concatenate(keys))
    del keys
    perm = rng.permutation(num_nodes).astype(np.int32)
    u = perm[k // num_nodes]
    v = perm[k % num_nodes]
    del k
    m = u.shape[0]
    ei = np.empty((2, 2 * m), dtype=np.int32)
    ei[0, :m], ei[0, m:], ei[1, :m], ei[1, m:] = u, v, v, u
    return ei


def write_cpp_graph(prefix, ei, num_nodes):
    r"""Writes the reverse graph in the binary format that OPIM
    (``-func=0``) and SUBSIM (``-func=format``) produce: a serialised
    ``vector<vector<pair<uint32, float>>>`` (uint64 ``n``, then per node
    uint64 ``d`` and ``d`` pairs (source, 1/d)), in-lists sorted by source,
    plus SUBSIM's ``.probdist`` file (2 = WC). Byte-identical to SUBSIM's
    ``-func=format -pdist=wc`` on the same edge list."""
    src = np.asarray(ei[0]).astype(np.int64)
    dst = np.asarray(ei[1]).astype(np.int64)
    order = np.lexsort((src, dst))
    s, d = src[order], dst[order]
    del src, order
    indeg = np.bincount(dst, minlength=num_nodes).astype(np.int64)
    del dst
    ptr = np.r_[0, np.cumsum(indeg)]
    m = s.shape[0]
    out = np.empty(1 + num_nodes + m, dtype=np.uint64)
    out[0] = num_nodes
    out[1 + np.arange(num_nodes) + ptr[:-1]] = indeg
    p = (np.float32(1.0) / indeg[d].astype(np.float32)).view(np.uint32)
    out[2 + d + np.arange(m)] = s.astype(np.uint64) | (
        p.astype(np.uint64) << np.uint64(32))
    out.tofile(prefix + '.vec.rvs.graph')
    with open(prefix + '.probdist', 'w') as f:
        f.write('2')


def _worker(args):
    r"""One pyg_ext (or pynetim) run in its own process: prints a JSON line
    with the selection time, preparation time, RR sets and seeds."""
    import json
    import resource
    from pyg_ext.influence import DiffusionGraph, warmup
    kind = args.worker
    if kind == 'pyg_ext':
        warmup()
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    ei = np.load(args.edges, mmap_mode='r')
    out = dict(rss_base=base)
    if kind == 'pyg_ext':
        t = time.perf_counter()
        if args.cache:
            g = DiffusionGraph.load(args.cache)
            if args.model != g.model:
                g = g.with_model(args.model)
        else:
            g = prepare(torch.from_numpy(np.ascontiguousarray(ei)),
                        args.nodes, model=args.model)
        out['prep'] = time.perf_counter() - t
        del ei
        t = time.perf_counter()
        r = opim_c(g, k=args.k, eps=0.1, seed=args.seed, method=args.method)
        out['time'] = time.perf_counter() - t
        out.update(rr_sets=r.num_rr_sets, seeds=r.seeds.tolist(),
                   graph_bytes=g.nbytes, num_edges=g.num_edges)
    else:  # pynetim
        out.update(_pynetim_run(ei, args))
    print('RESULT ' + json.dumps(out), flush=True)


def _pynetim_run(ei, args):
    r"""pynetim's ``OPIMCAlgorithm`` (C++ behind pybind11) on the same arcs
    and WC probabilities."""
    from pynetim import IMGraph, OPIMCAlgorithm
    t = time.perf_counter()
    src, dst = np.asarray(ei[0]), np.asarray(ei[1])
    indeg = np.bincount(dst, minlength=args.nodes)
    g = IMGraph(list(zip(src.tolist(), dst.tolist())),
                weights=(1.0 / indeg[dst]).tolist(), directed=True,
                renumber=False)
    prep = time.perf_counter() - t
    del src, dst, indeg
    algo = OPIMCAlgorithm(g, args.model, random_seed=args.seed)
    t = time.perf_counter()
    seeds = sorted(int(v) for v in algo.run(k=args.k, epsilon=0.1))
    return dict(prep=prep, time=time.perf_counter() - t, seeds=seeds,
                rr_sets=-1)


def _run(cmd, cwd=None):
    r"""Runs :obj:`cmd`; returns ``(stdout, peak RSS in bytes)`` of that
    process alone. GNU ``time`` reports it when present (a child forked
    from this big Python process would otherwise inherit its high-water
    mark); else ``os.wait4``."""
    import re
    import shutil
    import subprocess
    gnu_time = shutil.which('time') if os.path.exists('/usr/bin/time') \
        else None
    full = (['/usr/bin/time', '-f', 'PEAK_RSS_KB %M'] if gnu_time else
            []) + list(cmd)
    proc = subprocess.Popen(full, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, cwd=cwd, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise RuntimeError(f'{cmd[0]} failed ({code}):\n{out[-2000:]}')
    found = re.findall(r'PEAK_RSS_KB (\d+)', out)
    rss = int(found[-1]) * 1024 if found else usage.ru_maxrss * 1024
    return out, rss


def _run_cpp(binary, kind, work, name, model, k):
    import re
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        if kind == 'OPIM':
            cmd = [binary, '-func=1', f'-dir={work}', f'-gname={name}',
                   '-alg=opim-c', '-mode=2', f'-seedsize={k}', '-eps=0.1',
                   f'-model={model}', '-pdist=WC', f'-outpath={tmp}']
        else:
            cmd = [binary, '-func=im', f'-dir={work}', f'-gname={name}',
                   f'-seedsize={k}', '-eps=0.1', f'-outpath={tmp}']
        out, rss = _run(cmd)
        files = os.listdir(os.path.join(tmp, 'seed'))
        seeds = [int(x) for x in open(os.path.join(tmp, 'seed', files[0]))
                 .read().split()]
    sec = float(re.search(r'Time \(sec\): ([0-9.eE+-]+)', out).group(1))
    rr = int(re.search(r'\|#RR sets: (\d+)', out).group(1))
    return dict(time=sec, rr_sets=rr, seeds=seeds, rss=rss)


def _run_ours(work, name, n, model, k, seed, method='auto', kind='pyg_ext'):
    import json
    import sys
    cmd = [sys.executable, os.path.abspath(__file__), '--worker', kind,
           '--edges', os.path.join(work, name + '.npy'), '--nodes', str(n),
           '--model', model, '--k', str(k), '--seed', str(seed),
           '--method', method]
    out, rss = _run(cmd)
    line = [x for x in out.splitlines() if x.startswith('RESULT ')][-1]
    res = json.loads(line[7:])
    res['rss'] = rss
    return res


def cpp_graphs(root, work, quick):
    r"""The three graphs of the comparison, written once to :obj:`work`
    as ``.npy`` edges and in the C++ binary format."""
    import networkx as nx
    graphs = []
    d = load_nethept(root)
    graphs.append(('nethept', d.edge_index.numpy().astype(np.int32),
                   d.num_nodes))
    G = nx.barabasi_albert_graph(100000, 5, seed=0)
    e = np.array(G.edges(), dtype=np.int32).T
    graphs.append(('ba100k', np.ascontiguousarray(np.concatenate(
        [e, e[::-1]], axis=1)), 100000))
    if not quick:
        graphs.append(('chunglu1m', None, 1_000_000))
    os.makedirs(work, exist_ok=True)
    out = []
    for name, ei, n in graphs:
        path = os.path.join(work, name + '.npy')
        if not os.path.exists(path):
            if ei is None:
                ei = chung_lu(n, 10.23, seed=0)
            np.save(path, ei)
            write_cpp_graph(os.path.join(work, name), ei, n)
        m = np.load(path, mmap_mode='r').shape[1]
        out.append((name, n, m))
    return out


def section_cpp(root, quick, reps=None, work=None):
    r"""opim_c against OPIM-C (OPIM v1.1, tight bound ``-mode=2``) and
    SUBSIM, k = 50, eps = 0.1, delta = 1/n, WC, each run in its own
    process, implementations interleaved in every round; MC spreads of
    every seed set by the same estimator (10,000 IC simulations, the same
    simulation seed)."""
    opim_bin, subsim_bin = os.environ.get('OPIM_BIN'), os.environ.get(
        'SUBSIM_BIN')
    work = work or os.environ.get('PYG_EXT_CPP_WORK',
                                  '/tmp/pyg_ext_im_cpp')
    reps = reps or int(os.environ.get('PYG_EXT_CPP_REPS', 3 if quick else 5))
    only = os.environ.get('PYG_EXT_CPP_GRAPHS')
    try:
        import pynetim  # noqa: F401
        has_pynetim = hasattr(pynetim, 'OPIMCAlgorithm')
    except ImportError:
        has_pynetim = False
        print('pynetim not installed: skipped (pip install -e .[bench])')
    graphs = cpp_graphs(root, work, quick)
    print(f'\n## pyg_ext vs C++ (k = 50, eps = 0.1, delta = 1/n, WC; '
          f'median of {reps} interleaved rounds; load average '
          f'{os.getloadavg()[0]:.2f} at start)\n')
    if not (opim_bin or subsim_bin):
        print('OPIM_BIN / SUBSIM_BIN not set: only pyg_ext runs '
              '(see docs/influence.md for the build steps)')
    rows = []
    for name, n, m in graphs:
        if only and name not in only.split(','):
            continue
        for model in ('IC', 'LT') if name == 'nethept' else ('IC', ):
            impls = []
            if opim_bin:
                impls.append(('OPIM C++', lambda s, md=model: _run_cpp(
                    opim_bin, 'OPIM', work, name, md, 50)))
            if subsim_bin and model == 'IC':
                impls.append(('SUBSIM C++', lambda s: _run_cpp(
                    subsim_bin, 'SUBSIM', work, name, 'IC', 50)))
            impls.append(('pyg_ext opim_c()', lambda s, md=model: _run_ours(
                work, name, n, md, 50, s)))
            if model == 'IC':
                impls.append(("pyg_ext opim_c(method='vanilla')",
                              lambda s: _run_ours(work, name, n, 'IC', 50, s,
                                                  'vanilla')))
            if has_pynetim:
                impls.append(('pynetim OPIMCAlgorithm',
                              lambda s, md=model: _run_ours(
                                  work, name, n, md, 50, s, kind='pynetim')))
            results = {lab: [] for lab, _ in impls}
            for r in range(reps):
                order = impls if r % 2 == 0 else impls[::-1]
                for lab, fn in order:
                    results[lab].append(fn(r))
            rows.append((name, n, m, model, results))
            for lab, v in results.items():  # raw, before the MC scoring
                print(f'raw {name} {model} {lab}: times '
                      f'{[round(x["time"], 4) for x in v]} rr '
                      f'{[x["rr_sets"] for x in v]} rss_MiB '
                      f'{[x["rss"] >> 20 for x in v]}', flush=True)
            _print_cpp_rows(rows[-1:], work)
    return rows


_GRAPHS = {}


def _mc_spread(work, name, n, model, seed_sets):
    r"""Mean MC spread of several seed sets (the same estimator and
    simulation seed for every implementation): 10,000 IC/LT simulations
    per set on NetHEPT, 1,000 on BA-100K, 20 on the 10M-arc graph (whose
    cascades reach ~1.4 * 10^5 nodes and take ~0.5 s each)."""
    key = (name, model)
    if key not in _GRAPHS:
        _GRAPHS.clear()
        ei = np.load(os.path.join(work, name + '.npy'))
        _GRAPHS[key] = prepare(torch.from_numpy(ei), n, model=model)
    g = _GRAPHS[key]
    runs = 20 if g.num_edges > 5_000_000 else (
        1000 if g.num_edges > 100_000 else 10000)
    vals = [estimate_spread(g, seeds=s, num_samples=runs, seed=12345).mean
            for s in seed_sets]
    return float(np.mean(vals)), float(np.std(vals)), runs


def _print_cpp_rows(rows, work):
    print('| graph | model | implementation | time (median, s) | runs (s) | '
          'ratio vs fastest C++ | RR sets (median run) | MC spread (mean '
          '± sd over the runs\' seed sets) | spread vs best C++ | peak RSS '
          '(MiB) | prep (s) |')
    print('|---|---|---|---|---|---|---|---|---|---|---|')
    for name, n, m, model, results in rows:
        cpp = [np.median([x['time'] for x in v]) for lab, v in
               results.items() if 'C++' in lab]
        best = min(cpp) if cpp else None
        spreads = {lab: _mc_spread(work, name, n, model,
                                   [x['seeds'] for x in runs])
                   for lab, runs in results.items()}
        cpp_sp = [v[0] for lab, v in spreads.items() if 'C++' in lab]
        best_sp = max(cpp_sp) if cpp_sp else None
        for lab, runs in results.items():
            ts = [x['time'] for x in runs]
            med = float(np.median(ts))
            i = int(np.argsort(ts)[len(ts) // 2])
            mean, sd, sims = spreads[lab]
            ratio = f'{med / best:.2f}x' if best else '-'
            sp = f'{100 * (mean / best_sp - 1):+.2f} %' if best_sp else '-'
            prep = np.median([x.get('prep', float('nan')) for x in runs])
            rr = runs[i]['rr_sets']
            rss = f'{np.median([x["rss"] for x in runs]) / 2**20:,.0f}'
            if 'rss_base' in runs[0]:
                base = np.median([x['rss_base'] for x in runs]) / 2**20
                rss += f' ({base:,.0f} after imports)'
            print(f'| {name} ({n:,} nodes, {m:,} arcs) | {model} | {lab} | '
                  f'{med:.4f} | {", ".join(f"{t:.4f}" for t in ts)} | '
                  f'{ratio} | {rr:,} | {mean:,.1f} ± {sd:.1f} ({sims:,} '
                  f'sims) | {sp} | {rss} | {prep:.3f} |' if rr >= 0 else
                  f'| {name} ({n:,} nodes, {m:,} arcs) | {model} | {lab} | '
                  f'{med:.4f} | {", ".join(f"{t:.4f}" for t in ts)} | '
                  f'{ratio} | - | {mean:,.1f} ± {sd:.1f} ({sims:,} sims) | '
                  f'{sp} | {rss} | {prep:.3f} |', flush=True)


def section_scale(root, quick):
    r"""A seeded 100M-arc Chung-Lu graph (10M nodes, generated in a child
    process and stored as ``.npy``), then ``opim_c(k=50)`` in another
    process: preparation + selection time and that process's peak RSS."""
    import sys
    work = os.environ.get('PYG_EXT_CPP_WORK', '/tmp/pyg_ext_im_cpp')
    os.makedirs(work, exist_ok=True)
    n, deg = (1_000_000, 10.23) if quick else (10_000_000, 10.23)
    name = f'chunglu{n // 10**6}m'
    path = os.path.join(work, name + '.npy')
    if not os.path.exists(path):
        t = time.perf_counter()
        _run([sys.executable, os.path.abspath(__file__), '--worker', 'gen',
              '--edges', path, '--nodes', str(n)])
        print(f'generated {path} in {time.perf_counter() - t:.1f} s')
    res = _run_ours(work, name, n, 'IC', 50, 0)
    m = np.load(path, mmap_mode='r').shape[1]
    print(f'\n## opim_c(k=50) on a {m:,}-arc Chung-Lu graph ({n:,} nodes)'
          f'\n\npreparation {res["prep"]:.2f} s, opim_c {res["time"]:.2f} s,'
          f' total {res["prep"] + res["time"]:.2f} s; {res["rr_sets"]:,} RR '
          f'sets; prepared graph {res["graph_bytes"] / m:.2f} B/arc; peak '
          f'RSS {res["rss"] / 2**30:.2f} GiB (after imports '
          f'{res["rss_base"] / 2**30:.2f} GiB); load average '
          f'{os.getloadavg()[0]:.2f}')


def _lexsort_prepare(ei, n):
    r"""The previous preparation (two ``np.lexsort`` calls, float64
    probabilities, edge list kept): the anchor of ``--section prep``."""
    src, dst = ei[0].astype(np.int32), ei[1].astype(np.int32)
    indeg = np.bincount(dst, minlength=n)
    probs = 1.0 / indeg[dst].astype(np.float64)
    order = np.lexsort((src, -probs, dst))
    in_src, in_p = src[order], probs[order]
    order_f = np.lexsort((dst, src))
    out_dst, out_p = dst[order_f], probs[order_f]
    arrays = (src, dst, probs, in_src, in_p, out_dst, out_p,
              np.cumsum(in_p))
    return sum(a.nbytes for a in arrays) + 3 * 8 * (n + 1)


def section_prep(root, quick):
    r"""Graph preparation, bytes per arc and the binary cache on the
    Chung-Lu graph of ``--section cpp`` (10.2M arcs), against the previous
    lexsort preparation run in this process and OPIM's own binary load."""
    import re
    import tempfile
    from pyg_ext.influence import DiffusionGraph
    work = os.environ.get('PYG_EXT_CPP_WORK', '/tmp/pyg_ext_im_cpp')
    name = 'ba100k' if quick else 'chunglu1m'
    n = 100000 if quick else 1_000_000
    cpp_graphs(root, work, quick)
    ei = torch.from_numpy(np.load(os.path.join(work, name + '.npy')).astype(
        np.int64))
    m = ei.shape[1]
    prepare(ei[:, :10], n)
    reps = 3
    t_new, t_old, t_load, t_fwd = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'g.bin')
        for _ in range(reps):
            with Clock(wall=True) as c:
                old_bytes = _lexsort_prepare(ei.numpy(), n)
            t_old.append(c.dt)
            with Clock(wall=True) as c:
                g = prepare(ei, n)
            t_new.append(c.dt)
            rev_bytes = g.nbytes
            with Clock(wall=True) as c:
                g.out_ptr
            t_fwd.append(c.dt)
            g.save(path)
            with Clock(wall=True) as c:
                DiffusionGraph.load(path)
            t_load.append(c.dt)
        all_bytes = g.nbytes
    print(f'\n## Preparation of {name} ({n:,} nodes, {m:,} arcs, int64 '
          f'edge_index; wall time, median of {reps}; load average '
          f'{os.getloadavg()[0]:.2f})\n')
    print('| step | seconds | per 10M arcs | bytes per arc |')
    print('|---|---|---|---|')
    per = 1e7 / m
    for lab, ts, b in (('previous: two np.lexsort', t_old, old_bytes),
                       ('prepare() (counting sort)', t_new, rev_bytes),
                       ('+ forward CSR (first MC use)', t_fwd, all_bytes),
                       ('DiffusionGraph.load (binary cache)', t_load,
                        rev_bytes)):
        print(f'| {lab} | {np.median(ts):.3f} | {np.median(ts) * per:.3f} | '
              f'{b / m:.2f} |')
    print(f'\nprepare() is {np.median(t_old) / np.median(t_new):.1f}x '
          f'faster than the lexsort preparation')
    opim_bin = os.environ.get('OPIM_BIN')
    if opim_bin:
        loads = []
        for _ in range(reps):
            # an unknown -alg loads the graph and runs nothing else
            out, _ = _run([opim_bin, '-func=1', f'-dir={work}',
                           f'-gname={name}', '-alg=load-only', '-pdist=WC',
                           f'-outpath={tempfile.gettempdir()}'])
            loads.append(float(re.search(
                r'Graph loaded for RIS! total time used \(sec\): ([0-9.]+)',
                out).group(1)))
        print(f'OPIM C++ binary graph load: {np.median(loads):.3f} s '
              f'(ours {np.median(t_load):.3f} s, '
              f'{np.median(t_load) / np.median(loads):.2f}x)')

SECTIONS = {
    'throughput': section_throughput,
    'mc_compare': section_mc_compare,
    'opim': section_opim_timing,
    'threads': section_threads,
    'quality': section_quality,
    'cim': section_cim,
    'cpp': section_cpp,
    'prep': section_prep,
    'scale': section_scale,
}


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--section', default='all',
                   choices=list(SECTIONS) + ['all'])
    p.add_argument('--data-root', default=os.environ.get('PYG_EXT_DATA'))
    p.add_argument('--quick', action='store_true')
    p.add_argument('--worker', help=argparse.SUPPRESS)
    for opt, typ in (('--edges', str), ('--nodes', int), ('--model', str),
                     ('--k', int), ('--seed', int), ('--method', str),
                     ('--cache', str)):
        p.add_argument(opt, type=typ, help=argparse.SUPPRESS)
    args = p.parse_args()
    torch.set_num_threads(1)
    if args.worker == 'gen':
        np.save(args.edges, chung_lu(args.nodes, 10.23, seed=0))
        return
    if args.worker:
        return _worker(args)
    names = [n for n in SECTIONS if n not in ('cpp', 'prep', 'scale')] \
        if args.section == 'all' else [args.section]
    for name in names:
        SECTIONS[name](args.data_root, args.quick)


if __name__ == '__main__':
    main()
