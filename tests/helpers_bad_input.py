r"""Shared pieces of the bad-input suite (tests/bad_input/) and of its sweep
script (tests/bad_input/sweep.py): a tiny node-classification graph, one
small model per entry point, and the *corruptions* of a graph, each with the
argument names an error message must mention."""
import copy
from typing import Callable, Dict, Sequence, Tuple

import torch
from torch_geometric.data import Data

N, F, C = 6, 4, 2


def graph(n: int = N, f: int = F, c: int = C, seed: int = 0) -> Data:
    r"""An undirected ring on :obj:`n` nodes with two chords, random
    features, balanced labels and 1-D masks (every split non-empty for
    n >= 3)."""
    g = torch.Generator().manual_seed(seed)
    src = torch.arange(n)
    dst = (src + 1) % n
    if n >= 4:
        src = torch.cat([src, torch.tensor([0, 1])])
        dst = torch.cat([dst, torch.tensor([n // 2, n // 2 + 1])])
    keep = src != dst
    src, dst = src[keep], dst[keep]
    ei = torch.stack([torch.cat([src, dst]), torch.cat([dst, src])])
    ei = torch.unique(ei, dim=1) if ei.numel() else ei
    x = torch.randn(n, f, generator=g)
    y = torch.arange(n) % c
    idx = torch.arange(n)
    return Data(x=x, edge_index=ei, y=y, train_mask=idx % 3 == 0,
                val_mask=idx % 3 == 1, test_mask=idx % 3 == 2)


def gcn(data: Data, out: int = C) -> torch.nn.Module:
    from torch_geometric.nn.models import GCN
    torch.manual_seed(0)
    return GCN(data.x.size(1) if data.x is not None else F, 8, 2, out)


def teddy_gcn(data: Data, out: int = C) -> torch.nn.Module:
    from pyg_ext.nn.models import TeddyGCN
    torch.manual_seed(0)
    return TeddyGCN(F, 8, out, 2, 0.5)


def gprgnn(data: Data = None, out: int = C) -> torch.nn.Module:
    from pyg_ext.nn.models import GPRGNN
    torch.manual_seed(0)
    return GPRGNN(F, 8, out, K=2)


def mowst(data: Data = None, variant: str = 'mowst') -> torch.nn.Module:
    from torch_geometric.nn.models import GCN, MLP
    from pyg_ext.nn.models import Mowst
    torch.manual_seed(0)
    weak = MLP([F, 8, C])
    strong = GCN(F, 8, 2, C)
    return Mowst(weak, strong, C, variant=variant, gate_hidden=8)


# Corruptions of a graph: name -> (function, names the message must hold).
def _set(key, value):
    def f(d):
        d = copy.copy(d)
        d[key] = value(d) if callable(value) else value
        return d
    return f


def _del(key):
    def f(d):
        d = copy.copy(d)
        del d[key]
        return d
    return f


def _ei(fn):
    return _set('edge_index', lambda d: fn(d.edge_index.clone()))


def _oob(ei):
    ei[1, 0] = N
    return ei


def _neg(ei):
    ei[0, 0] = -1
    return ei


def _nan_x(d):
    x = d.x.clone()
    x[1, 2] = float('nan')
    return x


def _inf_x(d):
    x = d.x.clone()
    x[0, 0] = float('inf')
    return x


def _empty(d):
    return Data(x=torch.zeros(0, F), edge_index=torch.zeros(2, 0,
                                                             dtype=torch.long),
                y=torch.zeros(0, dtype=torch.long),
                train_mask=torch.zeros(0, dtype=torch.bool),
                val_mask=torch.zeros(0, dtype=torch.bool),
                test_mask=torch.zeros(0, dtype=torch.bool))


X = ("'x'", 'data.x', "'data.x'")
EI = ("'edge_index'", 'data.edge_index')
Y = ("'y'", 'data.y')
TM = ("'train_mask'", 'data.train_mask')
VM = ("'val_mask'", 'data.val_mask')
DATA = ("'data'", 'data')

CORRUPTIONS: Dict[str, Tuple[Callable, Sequence[str]]] = {
    'x_nan': (_set('x', _nan_x), X),
    'x_inf': (_set('x', _inf_x), X),
    'x_missing': (_del('x'), X),
    'x_int': (_set('x', lambda d: d.x.long()), X),
    'x_1d': (_set('x', lambda d: d.x[:, 0]), X),
    'ei_missing': (_del('edge_index'), EI),
    'ei_out_of_range': (_ei(_oob), EI),
    'ei_negative': (_ei(_neg), EI),
    'ei_float': (_ei(lambda e: e.float()), EI),
    'ei_bool': (_ei(lambda e: e > 2), EI),
    'ei_E_by_2': (_ei(lambda e: e.t().contiguous()), EI),
    'ei_3_rows': (_ei(lambda e: torch.cat([e, e[:1]])), EI),
    'y_missing': (_del('y'), Y),
    'y_out_of_range': (_set('y', lambda d: torch.where(
        torch.arange(N) == 0, torch.tensor(7), d.y)), Y),
    'y_negative': (_set('y', lambda d: torch.where(
        torch.arange(N) == 0, torch.tensor(-3), d.y)), Y),
    'y_float': (_set('y', lambda d: d.y.float()), Y),
    'y_short': (_set('y', lambda d: d.y[:-1]), Y),
    'train_mask_missing': (_del('train_mask'), TM),
    'train_mask_short_bool': (_set('train_mask',
                                   lambda d: d.train_mask[:-1]), TM),
    'train_mask_float': (_set('train_mask',
                              lambda d: d.train_mask.float()), TM),
    'train_mask_empty': (_set('train_mask', lambda d: torch.zeros(
        N, dtype=torch.bool)), TM),
    'val_mask_short_bool': (_set('val_mask',
                                 lambda d: d.val_mask[:-2]), VM),
    'empty_graph': (_empty, ("'x'", 'data.x', 'node', "'data'", 'empty')),
    'data_none': (lambda d: None, DATA),
    'data_dict': (lambda d: {'x': d.x, 'edge_index': d.edge_index}, DATA),
    'x_float64': (_set('x', lambda d: d.x.double()), X),
    'x_no_features': (_set('x', lambda d: d.x[:, :0]), X),
    'y_2d': (_set('y', lambda d: d.y.view(-1, 1)), Y),
    'edge_weight_nan': (_set('edge_weight', lambda d: torch.full(
        (d.edge_index.size(1), ), float('nan'))), ("edge_weight", )),
    'edge_attr_short': (_set('edge_attr', lambda d: torch.ones(
        d.edge_index.size(1) - 1, 2)), ("edge_attr", )),
}


def corrupt(name: str, data: Data = None) -> Tuple[Data, Sequence[str]]:
    fn, names = CORRUPTIONS[name]
    return fn(graph() if data is None else data), names


# Bad scalars shared by the entry points' numeric options.
BAD_POSITIVE_INT = (0, -1, 2.5, True, float('nan'), '3', None)
BAD_NONNEG_INT = (-1, 2.5, True, float('nan'), '3', None)
BAD_POSITIVE_FLOAT = (0.0, -1.0, float('nan'), float('inf'), True, '1',
                      None)
BAD_NONNEG_FLOAT = (-1e-3, float('nan'), float('inf'), True, '1', None)
BAD_PROBABILITY = (-0.1, 1.5, float('nan'), float('inf'), True, '0.5', None)
BAD_BOOL = (1, 0, 'yes', None)


# Hypothesis strategies of bad inputs, and the assertion every case makes.
def strategies():
    r"""Strategies for bad scalars and graph corruptions (imported lazily so
    that the sweep script runs without hypothesis)."""
    from hypothesis import strategies as st
    nan, inf = float('nan'), float('inf')
    junk = st.one_of(st.booleans(), st.none(), st.text(max_size=3),
                     st.lists(st.integers(), max_size=2))
    s = {}
    s['positive_int'] = st.one_of(st.integers(max_value=0),
                                  st.floats(allow_nan=True), junk)
    s['nonneg_int'] = st.one_of(st.integers(max_value=-1),
                                st.floats(allow_nan=True), junk)
    s['positive_float'] = st.one_of(st.floats(max_value=0.0),
                                    st.sampled_from([nan, inf]), junk)
    s['nonneg_float'] = st.one_of(st.floats(max_value=-1e-12),
                                  st.sampled_from([nan, inf, -inf]), junk)
    s['probability'] = st.one_of(st.floats(min_value=1.0, exclude_min=True),
                                 st.floats(max_value=0.0, exclude_max=True),
                                 st.sampled_from([nan]), junk)
    s['sparsity'] = st.one_of(st.floats(min_value=1.0),
                              st.floats(max_value=0.0, exclude_max=True),
                              st.sampled_from([nan]), junk)
    s['positive_int_or_none'] = s['positive_int'].filter(
        lambda v: v is not None)
    s['positive_float_or_none'] = s['positive_float'].filter(
        lambda v: v is not None)
    s['bool'] = st.one_of(st.integers(), st.none(), st.text(max_size=3))
    s['name'] = st.one_of(st.text(max_size=6).filter(
        lambda t: t not in KNOWN_NAMES), st.integers(), st.none())
    s['corruption'] = st.sampled_from(sorted(CORRUPTIONS))
    return s


KNOWN_NAMES = {'adam', 'adamw', 'sgd', 'metric', 'loss', 'last', 'mowst',
               'mowst_star', 'none', 'weak', 'strong', 'both', 'undirected',
               'entries', 'pic', 'entropy', 'pl', 'momentum', 'erm', 'tent',
               't3a', 'lame', 'node', 'edge', 'event', 'query'}


def random_corruption(draw, data: Data = None) -> Tuple[Data, Sequence[str]]:
    r"""A graph with one drawn defect (inside a ``@composite`` strategy):
    an out-of-range or negative node id at a drawn position, NaN/inf at a
    drawn feature, a drawn label outside [0, C), a bool mask of a drawn wrong
    length, or one of :data:`CORRUPTIONS`."""
    from hypothesis import strategies as st
    d = copy.copy(graph() if data is None else data)
    E = d.edge_index.size(1)
    kind = draw(st.sampled_from(['ei_id', 'x_value', 'y_label', 'mask_len',
                                 'named']))
    if kind == 'ei_id':
        ei = d.edge_index.clone()
        bad = draw(st.one_of(st.integers(N, 10**9), st.integers(-10**9, -1)))
        ei[draw(st.integers(0, 1)), draw(st.integers(0, E - 1))] = bad
        d.edge_index = ei
        return d, EI
    if kind == 'x_value':
        x = d.x.clone()
        x[draw(st.integers(0, N - 1)), draw(st.integers(0, F - 1))] = draw(
            st.sampled_from([float('nan'), float('inf'), -float('inf')]))
        d.x = x
        return d, X
    if kind == 'y_label':
        y = d.y.clone()
        labelled = (d.train_mask | d.val_mask).nonzero().view(-1).tolist()
        y[draw(st.sampled_from(labelled))] = draw(st.one_of(
            st.integers(C, 10**6), st.integers(-10**6, -1)))
        d.y = y
        return d, Y
    if kind == 'mask_len':
        key = draw(st.sampled_from(['train_mask', 'val_mask']))
        n = draw(st.integers(0, 3 * N).filter(lambda k: k != N))
        d[key] = torch.ones(n, dtype=torch.bool)
        return d, (f"'{key}'", f'data.{key}')
    return corrupt(draw(st.sampled_from(sorted(CORRUPTIONS))), d)


def assert_clear(fn: Callable, names: Sequence[str]) -> None:
    r"""``fn()`` raises a ValueError/TypeError whose message names one of
    :obj:`names` (any other exception, or a return, fails the test)."""
    import pytest
    with pytest.raises((ValueError, TypeError)) as info:
        fn()
    msg = str(info.value)
    assert any(n in msg for n in names), f'{names} not in: {msg}'
