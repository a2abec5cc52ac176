r"""Influence-maximisation benchmarks (issue 7): quality on NetHEPT /
ego-Facebook, RR-set and Monte-Carlo throughput against a pure-Python
baseline run in this process and against the spec's reference figures, CIM
on scinet, and the 2-thread speed-up.

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/influence.py --section all
    OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python benchmarks/influence.py \
        --section mc_compare   # needs the `bench` extra (cynetdiff, ndlib)
    python benchmarks/influence.py --section throughput --quick

Reference figures (spec §2.2/§3, C++ codes on a 2-core machine of this
class): OPIM C++ 0.88 M RR sets/s on NetHEPT IC-WC (index included), 62 K/s
on BA-100K IC-WC, 87 K/s LT-WC; OPIM-C k=50 eps=0.1 on NetHEPT 0.03-0.04 s
with 2 x 18,240 RR sets and spread 1,244-1,255; IMM-sized greedy ~1,295;
CyNetDiff 2,455 MC simulations/s on NetHEPT with 50 seeds (NDlib 4.1/s).
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
    print(f'| CyNetDiff (spec reference) | {REF_MC_CYNETDIFF:,.0f} | - |')
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


SECTIONS = {
    'throughput': section_throughput,
    'mc_compare': section_mc_compare,
    'opim': section_opim_timing,
    'threads': section_threads,
    'quality': section_quality,
    'cim': section_cim,
}


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--section', default='all',
                   choices=list(SECTIONS) + ['all'])
    p.add_argument('--data-root', default=os.environ.get('PYG_EXT_DATA'))
    p.add_argument('--quick', action='store_true')
    args = p.parse_args()
    torch.set_num_threads(1)
    names = list(SECTIONS) if args.section == 'all' else [args.section]
    for name in names:
        SECTIONS[name](args.data_root, args.quick)


if __name__ == '__main__':
    main()
