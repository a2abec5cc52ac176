r"""Bad input to every public :mod:`pyg_ext.influence` entry point: a
:class:`ValueError`/:class:`TypeError` naming the argument, no other
exception, no return value, no crash (numba-backed cases run in a
subprocess), and nothing unbounded; plus the valid edge cases."""
import math
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyg_ext.influence import (RRSets, cim_local_baseline, cim_mg_greedy,
                               cim_rr_greedy, cim_rr_opim_plus, degree_scores,
                               estimate_spread, exact_spread,
                               hetero_im_rerank, hetero_ir_scores, imm,
                               imm_sample_sizes, max_coverage, opim, opim_c,
                               opim_c_sample_sizes, pagerank_scores, prepare,
                               sample_rr_sets, set_num_threads, top_k)

EI = torch.tensor([[0, 1, 2, 3, 0], [1, 2, 3, 0, 2]])  # node 4 isolated
N = 5
G = prepare(EI, N)
RR = sample_rr_sets(G, n=50, seed=0)
CFG = settings(max_examples=12, deadline=None, derandomize=True,
               suppress_health_check=list(HealthCheck))

nan, inf = float('nan'), float('inf')
not_int = st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                    st.booleans(), st.text(max_size=2),
                    st.just([1]), st.just(torch.tensor([1.5])))
not_real = st.one_of(st.booleans(), st.text(max_size=2), st.just([0.1]),
                     st.just(object()))
bad_unit = st.one_of(st.floats().filter(lambda x: not 0 < x < 1),
                     st.just(nan), st.just(inf), not_real)
bad_prob = st.one_of(st.floats().filter(lambda x: not 0 <= x <= 1),
                     st.just(nan), st.just(-inf), not_real)
bad_text = st.text(max_size=6).filter(
    lambda x: x not in ('IC', 'LT', 'ic', 'lt', 'wc', 'uniform', 'given',
                        'keep', 'remove', 'error', 'tight', 'vanilla',
                        'auto', 'subsim', 'mc', 'rr', 'mg'))
bad_ids = st.one_of(
    st.just([0.5, 1.0]), st.just(torch.tensor([0.0, 1.0])),
    st.just(torch.tensor([True, False])),  # a bool mask of the wrong length
    st.lists(st.integers(N, 10**6), min_size=1, max_size=3),
    st.lists(st.integers(-10**6, -1), min_size=1, max_size=3),
    st.just([[0, 1], [1, 2]]), st.just('0'), st.just([0, 'a']))
bad_pos_int = st.one_of(not_int, st.integers(-10**6, 0))


def check(fn, name, *args, **kw):
    r"""Calls and asserts a clear error that names :obj:`name`."""
    with pytest.raises((ValueError, TypeError)) as info:
        fn(*args, **kw)
    assert name in str(info.value), (name, str(info.value))


# -- graphs and RR sets --------------------------------------------------
@CFG
@given(bad=st.one_of(
    st.just(EI.float()), st.just(EI.bool()), st.just(EI.t()),
    st.just(EI[0]), st.just('edges'), st.just(EI.t().reshape(-1, 2)[:3]),
    st.just(torch.tensor([[0, -1], [1, 2]])),
    st.just(torch.tensor([[0, 9], [1, 2]]))))
def test_prepare_edge_index(bad):
    check(prepare, 'edge_index', bad, N)


@CFG
@given(bad=st.one_of(not_int, st.integers(-5, 3)))
def test_prepare_num_nodes(bad):
    with pytest.raises((ValueError, TypeError)) as info:
        prepare(EI, bad)
    assert 'num_nodes' in str(info.value) or 'edge_index' in str(info.value)


@CFG
@given(bad=st.one_of(
    st.floats().filter(lambda x: not 0 <= x <= 1).map(
        lambda x: torch.tensor([0.5, 0.5, x, 0.5, 0.5])),
    st.sampled_from([nan, inf]).map(
        lambda x: torch.tensor([0.5, 0.5, x, 0.5, 0.5])),
    st.just(torch.ones(4)), st.just(torch.ones(5, 1)),
    st.just(torch.ones(5, dtype=torch.bool)), st.just('probs'),
    st.just(True)))
def test_prepare_probs(bad):
    check(prepare, 'probs', EI, N, probs=bad)


@CFG
@given(bad=bad_prob, name=st.sampled_from(['p']))
def test_prepare_uniform_p(bad, name):
    check(prepare, name, EI, N, weighting='uniform', p=bad)


@CFG
@given(bad=bad_text, name=st.sampled_from(['model', 'weighting',
                                          'self_loops']))
def test_prepare_choices(bad, name):
    check(prepare, name, EI, N, **{name: bad})


@pytest.mark.parametrize('ptr,nodes,roots,name', [
    ([0, 2, 3], [0, 9, 1], [0, 1], "'nodes'"),  # id >= num_nodes
    ([0, 2, 3], [0, -1, 1], [0, 1], "'nodes'"),  # negative id
    ([0, 2, 1], [0, 1, 1], [0, 1], "'ptr'"),  # not monotone
    ([0, 2, 7], [0, 1, 1], [0, 1], "'ptr'"),  # past the end
    ([1, 2, 3], [0, 1, 1], [0, 1], "'ptr'"),  # does not start at 0
    ([0, 2, 3], [0, 0, 1], [0, 1], 'repeats'),  # a set repeats a node
    ([0, 2, 3], [0, 1, 1], [0], "'roots'"),  # wrong length
    ([0, 2, 3], [0, 1, 1], [0, 7], "'roots'"),
    ([0.0, 2, 3], [0, 1, 1], [0, 1], "'ptr'"),  # float
    ([[0, 2, 3]], [0, 1, 1], [0, 1], "'ptr'"),  # 2-D
])
def test_malformed_rr_sets(ptr, nodes, roots, name):
    check(RRSets, name, np.asarray(ptr), np.asarray(nodes),
          np.asarray(roots), N)


def test_rr_sets_methods():
    check(RR.coverage, 'seeds', [0.5])
    check(RR.coverage, 'seeds', [N])
    check(RR.estimate, 'alpha', [0], alpha=1.5)
    check(RR.append, 'nodes', [1], [N + 3], [0])
    check(RR.__getitem__, 'i', 10**6)
    with pytest.raises(AttributeError):
        RR.num_nodes = 10**6
    with pytest.raises(AttributeError):
        G.num_nodes = 10**6
    with pytest.raises(ValueError):
        G.in_src[0] = 10**6  # read-only


# -- sampling and selection ----------------------------------------------
@CFG
@given(bad=st.one_of(not_int, st.integers(-10**6, -1)))
def test_sample_rr_sets_n(bad):
    check(sample_rr_sets, "'n'", G, n=bad)


@CFG
@given(bad=bad_ids, name=st.sampled_from(['exclude', 'roots']))
def test_sample_rr_sets_ids(bad, name):
    kw = {name: bad}
    check(sample_rr_sets, name, G, n=2, **kw)


@CFG
@given(rr=st.one_of(st.just([0, 1]), st.just(G), st.just(None)),
       k=st.just(1))
def test_max_coverage_rr(rr, k):
    check(max_coverage, "'rr'", rr, k)


@CFG
@given(bad=st.one_of(not_int, st.integers(-10, 0), st.integers(N + 1, 99)))
def test_k_everywhere(bad):
    check(max_coverage, "'k'", RR, bad)
    check(opim_c, "'k'", G, k=bad)
    check(imm, "'k'", G, k=bad)
    check(opim, "'k'", G, k=bad, num_rr_sets=10)


@CFG
@given(bad=bad_ids)
def test_candidates(bad):
    check(max_coverage, 'candidates', RR, 1, candidates=bad)
    check(opim_c, 'candidates', G, k=1, candidates=bad)


@CFG
@given(bad=bad_unit)
def test_eps_delta(bad):
    check(opim_c, "'eps'", G, k=1, eps=bad)
    check(imm, "'eps'", G, k=1, eps=bad)
    check(opim_c, "'delta'", G, k=1, delta=bad)
    check(opim, "'delta'", G, k=1, num_rr_sets=10, delta=bad)
    check(opim_c_sample_sizes, "'eps'", 100, 5, eps=bad)
    check(imm_sample_sizes, "'eps'", 100, 5, eps=bad)


@CFG
@given(bad=st.one_of(st.floats(max_value=0.0), st.just(nan), not_real))
def test_imm_ell(bad):
    check(imm, "'ell'", G, k=1, ell=bad)


@CFG
@given(bad=bad_text, name=st.sampled_from(['bound', 'method']))
def test_im_choices(bad, name):
    check(opim_c, name, G, k=1, **{name: bad})


@CFG
@given(bad=bad_pos_int, name=st.sampled_from(
    ['max_rr_sets', 'max_memory', 'num_threads']))
def test_limits(bad, name):
    check(opim_c, name, G, k=1, **{name: bad})


@CFG
@given(bad=st.one_of(st.floats(), st.text(max_size=2),
                     st.integers(-10, -1)))
def test_seed(bad):
    check(opim_c, "'seed'", G, k=1, seed=bad)
    check(sample_rr_sets, "'seed'", G, n=2, seed=bad)


@CFG
@given(name=st.sampled_from(['distributed', 'num_workers', 'weights',
                             'rank']))
def test_unknown_keywords_are_errors(name):
    for graph in (G, EI):
        check(opim_c, name, graph, N if graph is EI else None, k=1,
              **{name: True})
        check(imm, name, graph, k=1, **{name: True})
        check(estimate_spread, name, graph, seeds=[0], **{name: 1})


def test_options_on_a_prepared_graph_are_errors():
    check(opim_c, "'probs'", G, k=1, probs=torch.ones(5))
    check(opim_c, "'self_loops'", G, k=1, self_loops='remove')
    check(opim_c, "'num_nodes'", G, 7, k=1)
    check(opim_c, 'model', G, k=1, model='LT')
    check(prepare, "'num_nodes'", G, 9)


# -- spread estimation -----------------------------------------------------
@CFG
@given(bad=bad_ids)
def test_seeds(bad):
    check(estimate_spread, 'seeds', G, seeds=bad)
    if bad != [[0, 1], [1, 2]]:  # several seed sets are valid here
        check(exact_spread, 'seeds', G, seeds=bad)


@CFG
@given(bad=bad_pos_int)
def test_num_samples(bad):
    check(estimate_spread, 'num_samples', G, seeds=[0], num_samples=bad)


@CFG
@given(bad=bad_unit, name=st.sampled_from(['rel_eps', 'alpha', 'delta']))
def test_spread_units(bad, name):
    check(estimate_spread, name, G, seeds=[0], method='rr', **{name: bad})


@CFG
@given(bad=bad_text)
def test_spread_method(bad):
    check(estimate_spread, 'method', G, seeds=[0], method=bad)


# -- unbounded requests are refused up front -------------------------------
def test_unbounded_requests_are_refused():
    cases = [
        (opim, dict(k=1, num_rr_sets=10**14), 'num_rr_sets'),
        (opim, dict(k=1, num_rr_sets=10**8, max_memory=2**20),
         'max_memory'),
        (sample_rr_sets, dict(n=2**40), 'n'),
        (sample_rr_sets, dict(n=10**8, max_memory=2**20), 'max_memory'),
        (estimate_spread, dict(seeds=[0], num_samples=10**12),
         'max_samples'),
        (estimate_spread, dict(seeds=[0], method='rr', rel_eps=1e-9),
         'rel_eps'),
        (imm, dict(k=1, eps=1e-7), 'eps'),
        (opim_c, dict(k=1, max_rr_sets=10, eps=0.01), 'max_rr_sets'),
        (cim_rr_greedy, dict(aps=[0], k=1, num_rr_sets=10**14),
         'num_rr_sets'),
        (cim_mg_greedy, dict(aps=[0], k=1, oracle='mc', num_mc=10**13),
         'num_mc'),
    ]
    for fn, kw, name in cases:
        check(fn, name, G, **kw)
    big = torch.stack([torch.arange(40) % 7, (torch.arange(40) + 1) % 7])
    check(exact_spread, 'max_worlds', big, 7, [0], max_worlds=2**70)
    check(exact_spread, 'max_worlds', big, 7, [0])
    check(hetero_im_rerank, "'eps'", EI, N, [0], torch.full((5, ), 0.5),
          eps=1e-6, max_memory=2**20)


# -- CIM, HeteroIM, baselines ---------------------------------------------
@CFG
@given(bad=st.one_of(bad_ids, st.just([0, 0]), st.just([])))
def test_aps(bad):
    for fn in (cim_rr_opim_plus, cim_rr_greedy, cim_mg_greedy):
        check(fn, 'aps', G, aps=bad, k=1)


@CFG
@given(bad=st.one_of(st.floats(0.5, 10), st.floats(-10, 0), st.just(nan),
                     not_real))
def test_rr_opim_plus_eps_below_one_half(bad):
    check(cim_rr_opim_plus, "'eps'", G, aps=[0], k=1, eps=bad)


@CFG
@given(bad=bad_text, name=st.sampled_from(['oracle']))
def test_cim_choices(bad, name):
    check(cim_rr_greedy, name, G, aps=[0], k=1, **{name: bad})
    check(cim_rr_opim_plus, 'selector', G, aps=[0], k=1, selector=bad)


@CFG
@given(bad=st.one_of(st.just(torch.full((5, ), nan)), st.just(torch.ones(3)),
                     st.just(torch.ones(5, dtype=torch.bool)),
                     st.just(None), st.just(torch.ones(5, 2))))
def test_scores(bad):
    check(cim_local_baseline, 'scores', G, aps=[0], k=1, scores=bad)
    if bad is not None and bad.shape != (3, ):  # 3 scores are valid there
        check(top_k, 'scores', bad, 1)


@CFG
@given(bad=st.one_of(bad_prob.map(lambda x: torch.tensor(
    [0.5, 0.5, x if isinstance(x, float) else 2.0, 0.5, 0.5],
    dtype=torch.float64)),
    st.just(torch.ones(3)), st.just(torch.ones(5, dtype=torch.bool))))
def test_hetero_P(bad):
    check(hetero_ir_scores, "'P'", EI, bad)
    check(hetero_im_rerank, "'P'", EI, N, [0], bad)


def test_hetero_other_arguments():
    P = torch.full((5, ), 0.5)
    check(hetero_ir_scores, "'U'", EI, P, U=torch.ones(3), num_nodes=N)
    check(hetero_ir_scores, "'U'", EI, P, U=torch.full((5, ), nan))
    check(hetero_ir_scores, "'capacity'", EI, P, capacity=0)
    check(hetero_ir_scores, "'capacity'", EI, P, capacity=2.5)
    check(hetero_ir_scores, 'edge_index', EI.t(), P)
    check(hetero_ir_scores, 'edge_index', EI.float(), P)
    check(hetero_im_rerank, 'inviters', EI, N, [], P)
    check(hetero_im_rerank, 'inviters', EI, N, [0.5], P)
    check(hetero_im_rerank, 'inviters', EI, N, [9], P)
    check(hetero_im_rerank, "'k'", EI, N, [0], P, k=0)
    check(hetero_im_rerank, "'eps'", EI, N, [0], P, eps=0)
    check(hetero_im_rerank, "'delta'", EI, N, [0], P, delta=1.0)
    check(hetero_im_rerank, "'rr'", EI, N, [0], P, rr=[1, 2])
    check(hetero_im_rerank, "'rr'", EI, N, [0], P,
          rr=sample_rr_sets(prepare(EI, 7), n=3, seed=0))
    check(hetero_im_rerank, 'edge_index', G, N, [0], P)


def test_baseline_arguments():
    check(degree_scores, "'weighted'", G, weighted='yes')
    check(pagerank_scores, "'damping'", G, damping=1.0)
    check(pagerank_scores, "'damping'", G, damping=nan)
    check(pagerank_scores, "'max_iter'", G, max_iter=0)
    check(pagerank_scores, "'tol'", G, tol=-1.0)
    check(top_k, "'k'", torch.ones(5), 0)
    check(top_k, 'candidates', torch.ones(5), 1, candidates=[0.5])
    check(set_num_threads, 'num_threads', 0)
    check(set_num_threads, 'num_threads', 1.5)


# -- valid edge cases -------------------------------------------------------
def test_valid_edge_cases():
    empty = torch.zeros(2, 0, dtype=torch.long)
    g0 = prepare(empty, 3)  # zero edges
    r = opim_c(g0, k=3, seed=0)  # k = n
    assert sorted(r.seeds.tolist()) == [0, 1, 2]
    assert estimate_spread(g0, seeds=[1], num_samples=5, seed=0).mean == 1.0
    assert exact_spread(g0, seeds=[0, 2]) == 2.0
    r = imm(g0, k=1, seed=0)  # every RR set is its root alone
    assert len(r.seeds) == 1 and 0 < r.spread_est <= 3
    g1 = prepare(torch.zeros(2, 0, dtype=torch.long), 1)  # one node
    for fn in (opim_c, imm):
        assert fn(g1, k=1, seed=0).seeds.tolist() == [0]
    assert opim(g1, k=1, num_rr_sets=5, seed=0).seeds.tolist() == [0]
    assert estimate_spread(g1, seeds=[0], method='rr', seed=0).mean == 1.0
    r = opim_c(G, k=N, seed=0)  # k = n with an isolated node
    assert sorted(r.seeds.tolist()) == list(range(N))
    rr = RRSets([0], [], [], 4)  # no RR sets at all
    seeds, cov, upper = max_coverage(rr, 2)
    assert seeds.tolist() == [0, 1] and cov == 0 and upper == 0
    assert len(sample_rr_sets(G, n=0, seed=0)) == 0
    s = hetero_ir_scores(empty, torch.zeros(0), num_nodes=3)
    assert s.shape == (0, )


# -- no crash: the numba-backed cases in a subprocess -----------------------
CRASH_SCRIPT = textwrap.dedent('''
    import numpy as np, torch
    from pyg_ext.influence import (RRSets, DiffusionGraph, max_coverage,
                                   opim_c, prepare, sample_rr_sets,
                                   estimate_spread)
    bad_rr = [([0, 2, 3], [0, 10**6, 1], [0, 1]),
              ([0, 2, 3], [0, -5, 1], [0, 1]),
              ([0, 5, 3], [0, 1, 1], [0, 1]),
              ([0, 2, 10**9], [0, 1, 1], [0, 1]),
              ([0, -4, 3], [0, 1, 1], [0, 1])]
    ok = 0
    for ptr, nodes, roots in bad_rr:
        try:
            rr = RRSets(np.array(ptr), np.array(nodes), np.array(roots), 5)
            max_coverage(rr, 2)
        except (ValueError, TypeError):
            ok += 1
    ip = np.array([0, 1, 2, 3])
    bad_g = [(2, ip, np.array([0, 1, 2], np.int32)),  # n disagrees
             (3, ip, np.array([0, 7, 2], np.int32)),
             (3, np.array([0, 5, 2, 3]), np.array([0, 1, 2], np.int32)),
             (3, np.array([0, 1, 2, 9]), np.array([0, 1, 2], np.int32))]
    for n, ptr, src in bad_g:
        try:
            g = DiffusionGraph(n, 'IC', ptr, src, np.full(3, 0.5))
            opim_c(g, k=1, seed=0)
            estimate_spread(g, seeds=[0], num_samples=10)
        except (ValueError, TypeError):
            ok += 1
    g = prepare(torch.tensor([[0, 1], [1, 2]]), 3)
    for bad in ([7], [-1]):
        try:
            estimate_spread(g, seeds=bad, num_samples=10)
        except ValueError:
            ok += 1
    print('OK', ok)
''')


def test_no_crash_in_numba_kernels():
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(
        [os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__))))] + sys.path)
    out = subprocess.run([sys.executable, '-c', CRASH_SCRIPT], env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert 'OK 11' in out.stdout, out.stdout + out.stderr[-2000:]
