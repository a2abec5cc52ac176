r"""Influence maximisation over a torch.distributed group: 2 gloo processes
on localhost give the one-process result (seeds, RR-set counts, bounds)
with both distributed greedies; ranks split the RR sets; ranks that
disagree on their arguments fail on every rank; bad group options are
refused by name."""

import inspect

import numpy as np
import pytest
import torch

from helpers_dist import run_ranks
from pyg_ext.influence import (cim_rr_greedy, cim_rr_opim_plus, imm, opim,
                               opim_c)
from pyg_ext.utils.distributed import DistributedError



def pack_result(r):
    r"""The fields of an IM result that the ranks and one process must
    share (also pasted into the worker script)."""
    out = {k: getattr(r, k) for k in ('spread_est', 'num_rr_sets', 'alpha',
                                      'sigma_lower', 'iterations')
           if hasattr(r, k)}
    out['seeds'] = r.seeds.tolist()
    for k in ('sigma_upper_opt', 'lower_bound_opt', 'sigma_upper', 'chi'):
        if hasattr(r, k):
            out[k] = getattr(r, k)
    if hasattr(r, 'pairs'):
        out['pairs'] = r.pairs.tolist()
    return out


# the same graph in the workers and here: 600 nodes, 3000 random arcs
GRAPH = '''
import json, os
import numpy as np, torch
import torch.distributed as dist
from pyg_ext.influence import (imm, opim, opim_c, cim_rr_opim_plus,
                               cim_rr_greedy)
rng = np.random.default_rng(0)
ei = torch.from_numpy(rng.integers(0, 600, size=(2, 3000)))
dist.init_process_group('gloo')
rank = dist.get_rank()

PACK

def pack(r):
    out = pack_result(r)
    out['world_size'] = r.world_size
    out['comm'] = r.info.get('comm')
    return out
'''.replace('PACK', inspect.getsource(pack_result))


def calls():
    rng = np.random.default_rng(0)
    ei = torch.from_numpy(rng.integers(0, 600, size=(2, 3000)))
    return ei, {
        'imm': lambda **kw: imm(ei, 600, k=5, eps=0.3, seed=1, **kw),
        'opim_c': lambda **kw: opim_c(ei, 600, k=5, eps=0.2, seed=3, **kw),
        'cim': lambda **kw: cim_rr_opim_plus(ei, 600, aps=[0, 1, 2, 3], k=2,
                                             eps=0.2, seed=5, **kw),
        'cim_mg': lambda **kw: cim_rr_opim_plus(
            ei, 600, aps=[0, 1, 2, 3], k=2, eps=0.2, seed=5, selector='mg',
            **kw),
        'opim': lambda **kw: opim(ei, 600, k=5, num_rr_sets=9000, seed=2,
                                  **kw),
        'imm_reuse': lambda **kw: imm(ei, 600, k=5, eps=0.3, seed=4,
                                      reuse_samples=True, **kw),
        'cim_rr_greedy': lambda **kw: cim_rr_greedy(
            ei, 600, aps=[0, 1, 2], k=2, num_rr_sets=9000, seed=6, **kw),
    }


# leave the group together: a gloo process that exits with its group alive
# can abort ("terminate called without an active exception")
END = '''
dist.barrier()
dist.destroy_process_group()
'''

WORKER = GRAPH + '''
PAIRED = ('opim_c', 'opim', 'cim', 'cim_mg')
calls = {
    'imm': lambda **kw: imm(ei, 600, k=5, eps=0.3, seed=1, **kw),
    'opim_c': lambda **kw: opim_c(ei, 600, k=5, eps=0.2, seed=3, **kw),
    'cim': lambda **kw: cim_rr_opim_plus(ei, 600, aps=[0, 1, 2, 3], k=2,
                                         eps=0.2, seed=5, **kw),
    'cim_mg': lambda **kw: cim_rr_opim_plus(
        ei, 600, aps=[0, 1, 2, 3], k=2, eps=0.2, seed=5, selector='mg', **kw),
    'opim': lambda **kw: opim(ei, 600, k=5, num_rr_sets=9000, seed=2, **kw),
    'imm_reuse': lambda **kw: imm(ei, 600, k=5, eps=0.3, seed=4,
                                  reuse_samples=True, **kw),
    'cim_rr_greedy': lambda **kw: cim_rr_greedy(
        ei, 600, aps=[0, 1, 2], k=2, num_rr_sets=9000, seed=6, **kw),
}
res = {}
for name, fn in calls.items():
    for mode in ('allreduce', 'gather'):
        res[name + '/' + mode] = pack(fn(distributed=True, dist_greedy=mode))
        if name in PAIRED:  # 'auto' = 'split' on two ranks (OPIM-C with
            # the gather greedy: 'overlap'); the other placements
            res[name + ':shared/' + mode] = pack(fn(
                distributed=True, dist_greedy=mode, dist_place='shared'))
        if name == 'opim_c':
            res[name + ':split/' + mode] = pack(fn(
                distributed=True, dist_greedy=mode, dist_place='split'))
# an explicit group (not the default one), greedy chosen by 'auto'
res['opim_c/auto'] = pack(calls['opim_c'](group=dist.new_group([0, 1])))
'''


SPLIT = '''
from pyg_ext.influence import _dist as D
from pyg_ext.influence.graph import as_graph
from pyg_ext.influence.rr import RRSampler
g = as_graph(ei, 600, None, None, None, None, None)
ctx = D.setup('t', None, True, 'allreduce', {}, g)
col = D.collection(ctx, RRSampler(g, 7, 0))
for t in (5000, 9000, 17001):  # uneven blocks, several rounds
    col.grow(t)
sets = sorted(tuple(sorted(col.rr[i].tolist())) for i in range(len(col.rr)))
res['split'] = {'local': len(col.rr), 'total': len(col), 'sets': sets}
# dist_place='split': rank 0 samples all of R1 (stream 0), rank 1 all of R2
ctx = D.setup('t2', None, True, 'gather', {}, g, 'split')
r1, r2 = D.pair(ctx, [RRSampler(g, 7, s) for s in (0, 1)])
for t in (5000, 9000, 17001):
    D.grow_all((r1, r2), t)
res['place'] = {'held': [len(r1.rr), len(r2.rr)], 'total': [len(r1), len(r2)],
                'entries': [r1.entries, r2.entries],
                'sets': [sorted(tuple(sorted(c.rr[i].tolist()))
                                for i in range(len(c.rr))) for c in (r1, r2)]}
'''


OVERLAP = '''
import hashlib
from pyg_ext.influence import _dist as D
from pyg_ext.influence import _overlap as O


def digest(rr):
    h = hashlib.sha256()
    for a in (rr._ptr, rr._nodes, rr._roots):
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


# rank 1's share of each round's R1 blocks: none, half, all (rank 0 then
# samples none), and the default balance from the ranks' timings
ov = {}
for share in (0.0, 0.5, 1.0, None):
    O.SHARE = share
    for eps, seed in ((0.2, 3), (0.05, 7)):
        r = opim_c(ei, 600, k=5, eps=eps, seed=seed, distributed=True,
                   dist_place='overlap')
        ov[f'{share}/{eps}/{seed}'] = dict(pack(r), place=r.info['comm'][
            'dist_place'], bytes=r.info['comm']['greedy_bytes'])
# the driver alone: rank 0 ends with exactly the one-process R1 (sets in
# block order, with their roots), rank 1 with R2
O.SHARE = 0.5
ctx = D.setup('t3', None, True, 'gather', {}, g, 'overlap', overlap=True)
seen = []
out = O.overlap_rounds(ctx, [RRSampler(g, 7, s) for s in (0, 1)],
                       [5000, 9000, 17001], 5, np.ones(600, np.uint8),
                       lambda t, a: seen.append([t, a]), lambda *a: False)
res['held'] = dict(digest=digest(ctx.held), size=len(ctx.held), seen=seen,
                   out=[out[0], out[1], out[2].tolist(), *out[3:]])
# a collection past its memory bound while sampling: every rank raises
# (rank 0's own part, after rank 1's share, on rank 1 alone), and the
# group is still in step for the next call
bound = {}
for share in (0.0, 0.5, 1.0):
    O.SHARE = share
    try:
        opim_c(ei, 600, k=5, eps=0.05, seed=7, weighting='uniform', p=0.5,
               max_memory=200_000, distributed=True, dist_place='overlap')
        bound[str(share)] = None
    except ValueError as e:
        bound[str(share)] = str(e)
    bound[f'{share}/after'] = pack(opim_c(ei, 600, k=5, eps=0.2, seed=3,
                                          distributed=True))
O.SHARE = None
res['overlap'] = ov
res['bound'] = bound
'''


# under torchrun on GPUs the default group is NCCL, which cannot move the
# CPU arrays of IM: the default group's gloo twin is used (here the default
# group only claims to be NCCL); an explicit non-gloo group is refused
NCCL = '''
real = dist.get_backend
dist.get_backend = lambda g=None: 'nccl' if g in (
    None, dist.group.WORLD) else real(g)
try:
    r = opim_c(ei, 600, k=5, eps=0.2, seed=3, distributed=True)
    res['nccl'] = dict(pack(r), twin=len(__import__(
        'pyg_ext.utils.distributed', fromlist=['_GLOO'])._GLOO))
    try:
        opim_c(ei, 600, k=5, eps=0.2, seed=3, group=dist.group.WORLD)
        res['nccl_group'] = None
    except ValueError as e:
        res['nccl_group'] = str(e)
finally:
    dist.get_backend = real
'''


MISMATCH = '''
from pyg_ext.utils.distributed import DistributedError
try:
    opim_c(ei, 600, k=5 + rank, eps=0.2, seed=3, distributed=True)
    msg = None
except DistributedError as e:
    msg = str(e)
res['mismatch'] = msg
print('RESULT:' + json.dumps(res))
'''


@pytest.fixture(scope='module')
def ranks():
    r"""One 2-process run of every distributed check (the start-up of the
    processes dominates)."""
    out = run_ranks(WORKER + SPLIT + OVERLAP + NCCL + MISMATCH, world=2,
                    timeout=300)
    return out[0][1], out[1][1]


def pack(r):
    return pack_result(r)


def test_two_ranks_equal_one_process_with_both_greedies(ranks):
    r0, r1 = ({k: v for k, v in r.items() if '/' in k} for r in ranks)
    assert r0 == {k: dict(v, comm=r1[k]['comm']) for k, v in r1.items()}
    _, fns = calls()
    for key, got in r0.items():
        name, mode = key.split('/')
        name, _, place = name.partition(':')
        if name in ('opim_c', 'opim', 'cim', 'cim_mg'):
            auto = 'overlap' if name == 'opim_c' and mode != 'allreduce' \
                else 'split'
            assert got['comm']['dist_place'] == (place or auto), key
        one = pack(fns[name]())
        assert got['world_size'] == 2
        assert {k: v for k, v in got.items()
                if k not in ('world_size', 'comm')} == one, key
        comm = got['comm']
        assert comm['greedy_bytes'] > 0 and comm['greedy_steps'] > 0
        if mode != 'auto':
            assert comm['dist_greedy'] == mode
        else:
            assert comm['dist_greedy'] in ('allreduce', 'gather')
    # several rounds, so the incremental gather and the doubling both ran
    assert r0['opim_c:shared/gather']['iterations'] >= 2
    # split on two ranks: the gather greedy moves no RR set, only the
    # broadcast of the result (2k + 1 int64 per greedy call)
    split, shared = (r0[f'opim_c{p}/gather']['comm']
                     for p in (':split', ':shared'))
    k, calls_ = 5, r0['opim_c:split/gather']['iterations']
    assert split['greedy_bytes'] == calls_ * (2 * k + 1) * 8
    assert shared['greedy_bytes'] > split['greedy_bytes']
    assert len(r0['cim/allreduce']['pairs'][0]) >= 4  # every AP got one


def test_ranks_split_the_rr_sets_into_the_one_process_sample(ranks):
    from pyg_ext.influence.graph import as_graph
    from pyg_ext.influence.rr import RRSampler
    a, b = ranks[0]['split'], ranks[1]['split']
    assert a['total'] == b['total'] == 17001
    assert a['local'] + b['local'] == 17001
    assert min(a['local'], b['local']) > 4000  # both ranks sampled
    ei, _ = calls()
    g = as_graph(ei, 600, None, None, None, None, None)
    s = RRSampler(g, 7, 0)
    rr = s.new(0)
    for t in (5000, 9000, 17001):
        s.grow(rr, t)
    one = sorted(tuple(sorted(rr[i].tolist())) for i in range(len(rr)))
    both = sorted([tuple(x) for x in a['sets']] +
                  [tuple(x) for x in b['sets']])
    assert both == one


def test_split_placement_keeps_each_collection_on_its_own_rank(ranks):
    from pyg_ext.influence.graph import as_graph
    from pyg_ext.influence.rr import RRSampler
    a, b = ranks[0]['place'], ranks[1]['place']
    assert a['held'] == [17001, 0] and b['held'] == [0, 17001]
    assert a['total'] == b['total'] == [17001, 17001]
    assert a['entries'] == b['entries']
    ei, _ = calls()
    g = as_graph(ei, 600, None, None, None, None, None)
    for stream, held in ((0, a), (1, b)):
        s = RRSampler(g, 7, stream)
        rr = s.new(0)
        for t in (5000, 9000, 17001):
            s.grow(rr, t)
        assert held['entries'][stream] == rr._size
        one = sorted(tuple(sorted(rr[i].tolist())) for i in range(len(rr)))
        assert [tuple(x) for x in held['sets'][stream]] == one


def test_overlap_equals_one_process_whatever_rank_1_samples(ranks):
    r"""dist_place='overlap': rank 1 samples none, half, all or a
    timing-balanced share of rank 0's R1 blocks; the result is the
    one-process one every time, on both ranks."""
    a, b = ranks[0]['overlap'], ranks[1]['overlap']
    sent = {key: got['bytes'] for key, got in a.items()}
    for key, got in a.items():
        share, eps, seed = key.split('/')
        one = pack(opim_c(calls()[0], 600, k=5, eps=float(eps),
                          seed=int(seed)))
        other = b[key]
        assert got.pop('comm') == other.pop('comm'), key
        assert got.pop('place') == other.pop('place') == 'overlap'
        assert got.pop('world_size') == other.pop('world_size') == 2
        assert got.pop('bytes') == other.pop('bytes')
        assert got == other == one, key
        if share == '1.0':  # all of R1 crossed the wire: more bytes
            assert sent[key] > sent[f'0.0/{eps}/{seed}']
    assert a['0.0/0.05/7']['iterations'] >= 3  # several rounds


def test_overlap_keeps_r1_on_rank_0_and_r2_on_rank_1_set_by_set(ranks):
    import hashlib
    from pyg_ext.influence.graph import as_graph
    from pyg_ext.influence.rr import RRSampler
    ei, _ = calls()
    g = as_graph(ei, 600, None, None, None, None, None)
    one, avg = [], []
    for stream in (0, 1):
        s = RRSampler(g, 7, stream)
        rr = s.new(0)
        for t in (5000, 9000, 17001):
            if stream == 0:
                avg.append([t, rr._size / len(rr) if len(rr) else 1.0])
            s.grow(rr, t)
        h = hashlib.sha256()
        for x in (rr._ptr, rr._nodes, rr._roots):
            h.update(np.ascontiguousarray(x).tobytes())
        one.append((h.hexdigest(), rr))
    h0, h1 = ranks[0]['held'], ranks[1]['held']
    assert (h0['digest'], h0['size']) == (one[0][0], 17001)
    assert (h1['digest'], h1['size']) == (one[1][0], 17001)
    # the memory check before each round saw the one-process averages
    assert h0['seen'] == h1['seen'] == avg
    # the last round's greedy on R1 and its coverage on R2
    r1, r2 = one[0][1], one[1][1]
    seeds, gains, upper = r1.max_cover(5, np.ones(600, np.uint8))
    mask = np.zeros(600, np.uint8)
    mask[seeds] = 1
    cov2 = sum(bool(mask[r2[i].numpy()].any()) for i in range(len(r2)))
    want = [3, 17001, seeds.tolist(), int(gains.sum()), int(upper), cov2]
    assert h0['out'] == h1['out'] == want


def test_overlap_memory_bound_fails_on_every_rank_and_leaves_the_group_in_step(
        ranks):
    a, b = ranks[0]['bound'], ranks[1]['bound']
    _, fns = calls()
    after = pack(fns['opim_c']())
    for share in ('0.0', '0.5', '1.0'):
        for res in (a, b):
            assert res[share] is not None and 'memory bound' in res[share]
            got = dict(res[f'{share}/after'])
            assert got.pop('world_size') == 2
            got.pop('comm')
            assert got == after


def test_a_default_nccl_group_runs_on_its_gloo_twin(ranks):
    _, fns = calls()
    one = pack(fns['opim_c']())
    for res in ranks:
        got = dict(res['nccl'])
        assert got.pop('twin') == 1  # created once
        assert got.pop('world_size') == 2
        got.pop('comm')
        assert got == one
        assert "'group' must be a gloo process group" in res['nccl_group']
        assert "'nccl'" in res['nccl_group']


THREE = GRAPH + '''
res = {}
try:  # two ranks only
    opim_c(ei, 600, k=5, eps=0.2, seed=3, distributed=True,
           dist_place='overlap')
    res['overlap'] = None
except ValueError as e:
    res['overlap'] = str(e)
for place in ('auto', 'split', 'shared'):
    for mode in ('gather', 'allreduce'):
        r = opim_c(ei, 600, k=5, eps=0.2, seed=3, distributed=True,
                   dist_greedy=mode, dist_place=place)
        res[place + '/' + mode] = dict(pack(r),
                                       place=r.info['comm']['dist_place'])
print('RESULT:' + json.dumps(res))
''' + END


def test_three_ranks_equal_one_process_with_either_placement():
    r"""An odd group: 'auto' shares both collections; 'split' puts R1 on
    ranks 0-1 (gathered from rank 1) and R2 on rank 2."""
    out = run_ranks(THREE, world=3, timeout=300)
    _, fns = calls()
    one = pack(fns['opim_c']())
    for _, res, _ in out:
        assert "'overlap' runs on a group of 2 ranks, got 3" in \
            res.pop('overlap')
        for key, got in res.items():
            place = key.split('/')[0]
            assert got.pop('place') == ('shared' if place == 'auto'
                                        else place)
            assert got.pop('world_size') == 3
            got.pop('comm')
            assert got == one, key


def test_ranks_with_different_arguments_fail_on_every_rank(ranks):
    for res in ranks:
        msg = res['mismatch']
        assert msg is not None and 'different arguments' in msg and \
            '(k;' in msg


def test_bad_distributed_options_are_refused_by_name(monkeypatch):
    ei, fns = calls()
    with pytest.raises(TypeError, match='bogus'):
        opim_c(ei, 600, k=5, bogus=1)
    with pytest.raises(TypeError, match='bogus'):
        imm(ei, 600, k=5, bogus=1)
    with pytest.raises(TypeError, match="'group'"):
        fns['opim_c'](group='world')
    with pytest.raises(ValueError, match="'dist_greedy'"):
        fns['imm'](dist_greedy='ring')
    for name in ('opim_c', 'opim', 'cim'):
        with pytest.raises(ValueError, match="'dist_place'"):
            fns[name](dist_place='half')
    with pytest.raises(TypeError, match='dist_place'):
        fns['imm'](dist_place='split')  # one collection: no such option
    for name in ('opim', 'cim'):  # 'overlap' is OPIM-C's rounds
        with pytest.raises(ValueError, match="'dist_place'"):
            fns[name](dist_place='overlap')
    with pytest.raises(ValueError, match="dist_place='overlap'.*"
                       "dist_greedy='allreduce'"):
        fns['opim_c'](dist_place='overlap', dist_greedy='allreduce')
    with pytest.raises((TypeError, ValueError), match="'distributed'"):
        fns['cim'](distributed=1)
    for v in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'):
        monkeypatch.delenv(v, raising=False)
    with pytest.raises(DistributedError, match='MASTER_ADDR'):
        fns['opim_c'](distributed=True)
    assert fns['opim_c']().world_size == 1
    with pytest.raises(TypeError, match='bogus'):
        opim(ei, 600, k=5, bogus=None)


def test_auto_greedy_picks_the_smaller_volume():
    from pyg_ext.influence._dist import auto_greedy
    # BA-100K-like: 50 steps of 400 KB against ~100 KB of new RR sets
    assert auto_greedy(2, 100_000, 50, 20_000, 60_000) == 'gather'
    # few nodes, huge RR sets: the counts are cheaper
    assert auto_greedy(2, 1_000, 5, 10**7, 10**9) == 'allreduce'
    # the boundary: equal volumes go to gather
    n, steps = 1000, 9
    red = 2 * 4 * n * (steps + 1)
    assert auto_greedy(2, n, steps, 0, red // 2) == 'gather'
    assert auto_greedy(2, n, steps, 0, red // 2 + 1) == 'allreduce'


def test_topk_sum_equals_sorting_with_ties_and_large_inputs():
    from pyg_ext.influence._dist import _topk_sum
    rng = np.random.default_rng(0)
    for m, k, hi in ((3, 5, 4), (100, 7, 3), (5000, 50, 2), (20000, 50, 40),
                     (9000, 1, 1000), (6000, 6000, 9)):
        v = rng.integers(0, hi, m)
        assert _topk_sum(v, k) == int(np.sort(v)[::-1][:k].sum()), (m, k)
    assert _topk_sum(np.zeros(10000, dtype=np.int64), 50) == 0


def test_graph_fingerprint_sees_one_moved_arc_and_a_changed_probability():
    from pyg_ext.influence import prepare
    from pyg_ext.influence._dist import graph_fingerprint
    ei, _ = calls()
    base = graph_fingerprint(prepare(ei, 600))
    assert graph_fingerprint(prepare(ei.clone(), 600)) == base
    moved = ei.clone()
    moved[0, 7] = (moved[0, 7] + 1) % 600
    assert graph_fingerprint(prepare(moved, 600)) != base
    assert graph_fingerprint(prepare(ei, 600, weighting='uniform',
                                     p=0.2)) != base
    assert graph_fingerprint(prepare(ei, 601)) != base
