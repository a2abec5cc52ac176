r"""A bad-input sweep of the :mod:`pyg_ext.nn` layers/models and the
:mod:`pyg_ext.sampler` samplers (a script, not collected by pytest).

Constructor hyper-parameters (channels, K, alpha/theta, dropout,
gate_hidden, time_dim, fixed_gate, Mowst's gate options), forward metadata
(dtype, dim, size mismatches, ids >= N where a layer builds its own CSR),
Mowst's loss and predict, and the samplers' entry arguments (seed ids,
num_neighbors, time_window, num_nodes). Every case runs in a forked child
with a timeout and a memory cap and is classified as in
``tests/bad_input/sweep.py`` (clear / unclear / silent / crash).

Run from the repository root::

    PYTHONPATH=$PWD python tests/bad_input/sweep_nn.py [--part nn|sampler]
        [--only ENTRY] [-v]
"""
import argparse
import os
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from sweep import run_case  # noqa: E402

NAN, INF = float('nan'), float('inf')
BAD_POS_INT = (0, -1, 2.5, True, NAN, '3', None)
BAD_NONNEG_INT = (-1, 2.5, True, NAN, '3', None)
BAD_DROPOUT = (-0.1, 1.0, 1.5, NAN, INF, '0.5', None)
BAD_UNIT_OPEN = (0.0, 1.0, -0.5, 1.5, NAN, INF, '0.1', None)

CASES = {}  # part -> entry -> [(label, fn, names, kind)]


def case(part, entry, label, fn, names, kind='bad'):
    CASES.setdefault(part, {}).setdefault(entry, []).append(
        (label, fn, tuple(names), kind))


def graph(n=6, f=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, f, generator=g)
    src = torch.arange(n)
    ei = torch.stack([torch.cat([src, (src + 1) % n]),
                      torch.cat([(src + 1) % n, src])])
    return x, ei


def _ctor_cases(part, entry, cls, base, bad):
    for arg, values in bad.items():
        for v in values:
            kw = dict(base)
            kw[arg] = v

            def fn(kw=kw):
                return cls(**kw)
            case(part, entry, f'{arg}={v!r}', fn, [f"'{arg}'"])
    case(part, entry, 'valid', lambda: cls(**base), [], 'valid')


def _forward_cases(part, entry, build, call, any_width=False):
    r"""Metadata errors every forward(x, edge_index) must name. A
    parameter-free propagation (:obj:`any_width`) takes features of any
    width (and 1-D signals): those two cases are valid for it."""
    x, ei = graph()
    n = x.size(0)
    bad = {
        'x 1-D': (x[:, 0], ei, ("'x'", 'x')),
        'x int': (x.long(), ei, ("'x'", 'x', 'dtype')),
        'x wrong width': (torch.randn(n, 7), ei, ("'x'", 'x')),
        'edge_index float': (x, ei.float(), ("'edge_index'",)),
        'edge_index [E,2]': (x, ei.t().contiguous(), ("'edge_index'",)),
        'edge_index 1-D': (x, ei[0], ("'edge_index'",)),
        'edge_index id >= N': (x, torch.cat([ei, torch.tensor([[0], [n]])],
                                            1), ("'edge_index'",)),
        'edge_index id 10**6': (x, torch.cat([ei, torch.tensor([[0], [10**6]])
                                              ], 1), ("'edge_index'",)),
        'edge_index negative': (x, torch.cat([ei, torch.tensor([[0], [-3]])],
                                             1), ("'edge_index'",)),
    }
    for label, (xx, ee, names) in bad.items():
        def fn(xx=xx, ee=ee):
            torch.manual_seed(0)
            return call(build(), xx, ee)
        kind = 'valid' if any_width and label in ('x 1-D', 'x wrong width') \
            else 'bad'
        case(part, entry, f'forward {label}', fn, names, kind)

    def ok():
        torch.manual_seed(0)
        return call(build(), x, ei)
    case(part, entry, 'forward valid', ok, [], 'valid')


def _nn():
    from pyg_ext.nn.conv import GPRProp, HopAggregation, THeGCNConv
    from pyg_ext.nn.models import (FAGCN, GPRGNN, THeGCN, CosineTimeEncoder,
                                   LearnableAPPNP, LearnableGCNII, Mowst,
                                   TeddyGAT, TeddyGCN, TeddyGIN, TGNModel,
                                   WeightedJKNet)
    ch = dict(in_channels=4, hidden_channels=8, out_channels=3)
    chans = {'in_channels': (0, -2, 2.5, True, None, '4'),
             'hidden_channels': BAD_POS_INT, 'out_channels': BAD_POS_INT}
    P = 'nn'
    _ctor_cases(P, 'GPRGNN', GPRGNN, ch, dict(
        chans, K=BAD_NONNEG_INT, alpha=(-0.5, 1.5, NAN, INF, '0.1', None),
        dropout=BAD_DROPOUT, dprate=BAD_DROPOUT,
        init=('ppr', None, 3), gamma=([NAN] * 10, [1.0] * 3, 'abc')))
    _ctor_cases(P, 'GPRProp', GPRProp, dict(K=3), dict(
        K=BAD_NONNEG_INT, alpha=(-0.5, 1.5, NAN, INF, '0.1', None),
        init=('ppr', None)))
    _ctor_cases(P, 'LearnableAPPNP', LearnableAPPNP, ch, dict(
        chans, K=BAD_POS_INT, alpha=BAD_UNIT_OPEN, dropout=BAD_DROPOUT))
    _ctor_cases(P, 'LearnableGCNII', LearnableGCNII, ch, dict(
        chans, num_layers=BAD_POS_INT, alpha=BAD_UNIT_OPEN,
        theta=(0.0, -1.0, NAN, INF, '0.5', None), dropout=BAD_DROPOUT))
    _ctor_cases(P, 'WeightedJKNet', WeightedJKNet, ch, dict(
        chans, num_layers=BAD_POS_INT, dropout=BAD_DROPOUT,
        jk_init=('max', None)))
    _ctor_cases(P, 'FAGCN', FAGCN, ch, dict(
        chans, num_layers=BAD_NONNEG_INT, dropout=BAD_DROPOUT,
        eps=(NAN, INF, '0.3', None)))  # any finite eps, as PyG's FAConv
    for name, cls in (('TeddyGCN', TeddyGCN), ('TeddyGIN', TeddyGIN),
                      ('TeddyGAT', TeddyGAT)):
        _ctor_cases(P, name, cls, ch, dict(
            chans, num_layers=BAD_POS_INT, dropout=BAD_DROPOUT))
    _ctor_cases(P, 'THeGCNConv', THeGCNConv, dict(channels=4, time_dim=2),
                dict(channels=BAD_POS_INT, edge_dim=BAD_NONNEG_INT,
                     time_dim=BAD_NONNEG_INT, gate_hidden=(0, -1, 2.5, '8'),
                     out_channels=(0, -1, 2.5), dropout=BAD_DROPOUT,
                     gate=('vector', None), aggr=('max', None)))
    _ctor_cases(P, 'THeGCN', THeGCN, dict(ch, time_dim=4), dict(
        chans, time_dim=BAD_NONNEG_INT, edge_dim=BAD_NONNEG_INT,
        num_smp_layers=BAD_NONNEG_INT, gate_hidden=(0, -1, 2.5, '8'),
        dropout=BAD_DROPOUT, fixed_gate=(NAN, INF, -0.1, 1.5, '0.5'),
        num_nodes=(0, -1, 2.5)))
    _ctor_cases(P, 'CosineTimeEncoder', CosineTimeEncoder,
                dict(out_channels=4), dict(out_channels=BAD_POS_INT))
    _ctor_cases(P, 'TGNModel', TGNModel, dict(
        in_channels=4, out_channels=2, num_nodes=6, msg_dim=3, memory_dim=4,
        time_dim=4, embedding_dim=4, neighbor_size=2), dict(
        in_channels=BAD_NONNEG_INT, out_channels=BAD_POS_INT,
        num_nodes=BAD_POS_INT, msg_dim=BAD_NONNEG_INT,
        memory_dim=BAD_POS_INT, time_dim=BAD_POS_INT,
        embedding_dim=BAD_POS_INT, neighbor_size=BAD_POS_INT))

    def fwd(m, x, ei):
        m.eval()
        return m(x, ei)
    for name, build in (
            ('GPRGNN', lambda: GPRGNN(**ch, K=2)),
            ('LearnableAPPNP', lambda: LearnableAPPNP(**ch, K=2)),
            ('LearnableGCNII', lambda: LearnableGCNII(**ch, num_layers=2)),
            ('WeightedJKNet', lambda: WeightedJKNet(**ch)),
            ('FAGCN', lambda: FAGCN(**ch)),
            ('TeddyGCN', lambda: TeddyGCN(**ch)),
            ('TeddyGIN', lambda: TeddyGIN(**ch)),
            ('TeddyGAT', lambda: TeddyGAT(**ch, heads=2)),
            ('THeGCNConv', lambda: THeGCNConv(4)),
            ('THeGCN', lambda: THeGCN(4, 8, 3, time_dim=0))):
        _forward_cases(P, name, build, fwd)
    _forward_cases(P, 'GPRProp', lambda: GPRProp(K=2), fwd, True)
    _forward_cases(P, 'GPRProp(normalize=False)',
                   lambda: GPRProp(K=2, normalize=False), fwd, True)

    def hop(m, x, ei):
        return m(x, ei, torch.tensor([0.5, 0.3, 0.2]))
    _forward_cases(P, 'HopAggregation(normalize=False)',
                   lambda: HopAggregation(normalize=False), hop, True)

    # Mowst ---------------------------------------------------------------
    from torch_geometric.nn import MLP, GCN

    def mowst(**kw):
        torch.manual_seed(0)
        return Mowst(MLP([4, 8, 3]), GCN(4, 8, 2, 3), num_classes=3, **kw)
    base_bad = dict(num_classes=(0, -1, 2.5, None),
                    gate_hidden=BAD_POS_INT, gate_layers=BAD_POS_INT,
                    gate_dropout=BAD_DROPOUT,
                    gate_alpha=(0.0, -1.0, NAN, INF, '1', None),
                    variant=('mowst2', None), dispersion=('foo', 3),
                    gate=('tree', 3), star_mix=('foo', None),
                    strong_num_hops=(-1, 2.5),
                    gcn_subgraph=('foo', None),
                    trim_layers=('foo', 3))
    for arg, values in base_bad.items():
        for v in values:
            case(P, 'Mowst', f'{arg}={v!r}', lambda a=arg, v=v: mowst(
                **{a: v}), [f"'{arg}'"])
    case(P, 'Mowst', 'weak=None', lambda: Mowst(None, GCN(4, 8, 2, 3), 3),
         ["'weak'"])
    case(P, 'Mowst', 'valid', lambda: mowst(), [], 'valid')
    x, ei = graph()
    y = torch.tensor([0, 1, 2, 0, 1, 2])

    def loss(y=y, index=None, reduction='mean'):
        m = mowst()
        return m.loss(m(x, ei), y, index=index, reduction=reduction)
    for label, kw, names in (
            ('y out of range', dict(y=y + 3), ("'y'",)),
            ('y negative', dict(y=-y - 1), ("'y'",)),
            ('y float', dict(y=y.float()), ("'y'",)),
            ('y short', dict(y=y[:4]), ("'y'",)),
            ('y 2-D', dict(y=y.view(2, 3)), ("'y'",)),
            ('index oob', dict(index=torch.tensor([0, 9])), ("'index'",)),
            ('index float', dict(index=torch.tensor([0., 1.])),
             ("'index'",)),
            ('index bool short', dict(index=torch.tensor([True, False])),
             ("'index'",)),
            ('reduction', dict(reduction='avg'), ("'reduction'",))):
        case(P, 'Mowst.loss', label, lambda kw=kw: loss(**kw), names)
    case(P, 'Mowst.loss', 'valid', lambda: loss(), [], 'valid')

    def predict(**kw):
        m = mowst().eval()
        args = dict(x=x, edge_index=ei)
        args.update(kw)
        return m.predict(**args)
    for label, kw, names in (
            ('mode', dict(mode='vote'), ("'mode'",)),
            ('threshold nan', dict(threshold=NAN), ("'threshold'",)),
            ('threshold 2', dict(threshold=2.0), ("'threshold'",)),
            ('index oob', dict(index=torch.tensor([0, 99])), ("'index'",)),
            ('index float', dict(index=torch.tensor([0.5])), ("'index'",)),
            ('x nan', dict(x=torch.full((6, 4), NAN)), ("'x'",)),
            ('edge_index oob', dict(edge_index=torch.tensor([[0], [9]])),
             ("'edge_index'",)),
            ('generator', dict(generator=3), ("'generator'",))):
        case(P, 'Mowst.predict', label, lambda kw=kw: predict(**kw), names)
    case(P, 'Mowst.predict', 'valid', lambda: predict().pred, [], 'valid')


def _sampler():
    from pyg_ext.sampler import NeighborSampler, TemporalNeighborSampler
    P = 'sampler'
    x, ei = graph()

    def ns(seed=torch.tensor([0, 1]), **kw):
        args = dict(data=ei, num_neighbors=[2, 2], num_nodes=6)
        args.update(kw)
        return NeighborSampler(**args).sample(seed)
    for label, kw, names in (
            ('seed oob', dict(seed=torch.tensor([0, 6])), ("'seed'",)),
            ('seed negative', dict(seed=torch.tensor([-1])), ("'seed'",)),
            ('seed float', dict(seed=torch.tensor([0.0, 1.0])), ("'seed'",)),
            ('seed 2-D', dict(seed=torch.tensor([[0, 1]])), ("'seed'",)),
            ('seed list', dict(seed=[0, 1]), ("'seed'",)),
            ('num_neighbors []', dict(num_neighbors=[]),
             ("'num_neighbors'",)),
            ('num_neighbors [-2]', dict(num_neighbors=[-2]),
             ("'num_neighbors'",)),
            ('num_neighbors [0.5]', dict(num_neighbors=[0.5]),
             ("'num_neighbors'",)),
            ('num_neighbors None', dict(num_neighbors=None),
             ("'num_neighbors'",)),
            ('num_nodes too small', dict(num_nodes=3), ("'num_nodes'",)),
            ('num_nodes 0', dict(num_nodes=0), ("'num_nodes'",)),
            ('num_nodes -1', dict(num_nodes=-1), ("'num_nodes'",)),
            ('edge_index float', dict(data=ei.float()), ("'edge_index'",
                                                        "'data'")),
            ('edge_index [E,2]', dict(data=ei.t().contiguous()),
             ("'edge_index'", "'data'")),
            ('edge_index negative', dict(data=torch.tensor([[0], [-1]])),
             ("'edge_index'", "'data'")),
            ('huge id, no num_nodes', dict(
                data=torch.tensor([[0], [2**40]]), num_nodes=None),
             ("'edge_index'", "'data'", "'num_nodes'")),
            ('generator', dict(generator=3), ("'generator'",))):
        case(P, 'NeighborSampler', label, lambda kw=kw: ns(**kw), names)
    case(P, 'NeighborSampler', 'valid', lambda: ns().node, [], 'valid')

    src, dst = ei
    t = torch.arange(src.numel(), dtype=torch.float)

    def tns(seed_nodes=torch.tensor([0, 1]),
            seed_times=torch.tensor([5.0, 9.0]), **kw):
        args = dict(src=src, dst=dst, t=t, num_nodes=6, num_neighbors=[2])
        args.update(kw)
        return TemporalNeighborSampler(**args).sample(seed_nodes, seed_times)
    for label, kw, names in (
            ('seed oob', dict(seed_nodes=torch.tensor([0, 6])),
             ("'seed_nodes'",)),
            ('seed negative', dict(seed_nodes=torch.tensor([-1, 0])),
             ("'seed_nodes'",)),
            ('seed float', dict(seed_nodes=torch.tensor([0.0, 1.0])),
             ("'seed_nodes'",)),
            ('seed_times short', dict(seed_times=torch.tensor([1.0])),
             ("'seed_times'",)),
            ('seed_times nan', dict(seed_times=torch.tensor([NAN, 1.0])),
             ("'seed_times'",)),
            ('num_neighbors []', dict(num_neighbors=[]),
             ("'num_neighbors'",)),
            ('num_neighbors [-2]', dict(num_neighbors=[-2]),
             ("'num_neighbors'",)),
            ('num_neighbors [1.5]', dict(num_neighbors=[1.5]),
             ("'num_neighbors'",)),
            ('time_window 0', dict(time_window=0.0), ("'time_window'",)),
            ('time_window -1', dict(time_window=-1.0), ("'time_window'",)),
            ('time_window nan', dict(time_window=NAN), ("'time_window'",)),
            ('time_window inf', dict(time_window=INF), ("'time_window'",)),
            ('time_window str', dict(time_window='1'), ("'time_window'",)),
            ('num_nodes too small', dict(num_nodes=3), ("'num_nodes'",)),
            ('num_nodes 0', dict(num_nodes=0), ("'num_nodes'",)),
            ('t nan', dict(t=torch.full_like(t, NAN)), ("'t'",)),
            ('t short', dict(t=t[:3]), ("'t'",)),
            ('dst short', dict(dst=dst[:3]), ("'dst'", "'src'")),
            ('src float', dict(src=src.float()), ("'src'",)),
            ('strategy', dict(strategy='oldest'), ("'strategy'",)),
            ('anchor', dict(anchor='leaf'), ("'anchor'",)),
            ('max_events 0', dict(max_events=0), ("'max_events'",)),
            ('huge id, no num_nodes', dict(
                src=torch.tensor([0]), dst=torch.tensor([2**40]),
                t=torch.tensor([1.0]), num_nodes=None),
             ("'dst'", "'src'", "'num_nodes'"))):
        case(P, 'TemporalNeighborSampler', label, lambda kw=kw: tns(**kw),
             names)
    case(P, 'TemporalNeighborSampler', 'valid', lambda: tns().n_id, [],
         'valid')


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--part', choices=('nn', 'sampler'), action='append',
                   default=None)
    p.add_argument('--only', action='append', default=None)
    p.add_argument('--timeout', type=float, default=60.0)
    p.add_argument('-v', '--verbose', action='store_true')
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    _nn()
    _sampler()
    parts = args.part or ['nn', 'sampler']
    keys = ('clear', 'silent', 'unclear', 'crash')
    totals, vtotals = defaultdict(int), defaultdict(int)
    print(f"{'entry point':<34} {'bad':>4} " + ' '.join(
        f'{k:>8}' for k in keys) + '   valid ok/total', flush=True)
    for part in parts:
        for entry, cases in CASES[part].items():
            if args.only and not any(o in entry for o in args.only):
                continue
            counts, vcounts = defaultdict(int), defaultdict(int)
            for label, fn, names, kind in cases:
                status, detail = run_case(fn, names, kind, args.timeout)
                tgt = (vcounts, vtotals) if kind.startswith('valid') else \
                    (counts, totals)
                for c in tgt:
                    c[status] += 1
                if args.verbose and status not in ('clear', 'ok'):
                    print(f'  [{status}] {entry}: {label}: {detail}',
                          flush=True)
            n, nv = sum(counts.values()), sum(vcounts.values())
            print(f'{entry:<34} {n:>4} ' + ' '.join(
                f'{100 * counts[k] / max(n, 1):>7.0f}%' for k in keys) +
                f'   {vcounts["ok"]}/{nv}', flush=True)
    n, nv = sum(totals.values()), sum(vtotals.values())
    print(f"{'TOTAL':<34} {n:>4} " + ' '.join(
        f'{100 * totals[k] / max(n, 1):>7.1f}%' for k in keys) +
        f'   {vtotals["ok"]}/{nv}')
    print('counts: ' + ', '.join(f'{k}={totals[k]}' for k in keys))
    return 0


if __name__ == '__main__':
    os.environ.setdefault('MPLBACKEND', 'Agg')
    sys.exit(main())
