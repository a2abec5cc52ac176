import os
from pathlib import Path

import numpy as np
import pytest
import torch

from pyg_ext.datasets import DatasetNotFoundError
from pyg_ext.datasets.temporal import (TemporalGraph, load_jodie,
                                       load_tgn_format,
                                       synthetic_event_stream)
from pyg_ext.registry import DATASETS
from pyg_ext.utils import temporal_edge_heterophily


def write_jodie(root: Path, name='wikipedia'):
    d = root / 'temporal' / 'jodie'
    d.mkdir(parents=True)
    lines = ['user_id,item_id,timestamp,state_label,comma_separated_list_of_'
             'features']
    rows = [(0, 0, 0.0, 0, 0.1, 0.2), (1, 0, 5.0, 0, 0.3, 0.4),
            (0, 1, 9.0, 1, 0.5, 0.6), (2, 1, 12.0, 0, 0.7, 0.8)]
    lines += [','.join(str(v) for v in r) for r in rows]
    (d / f'{name}.csv').write_text('\n'.join(lines) + '\n')


def test_jodie_offline(tmp_path):
    write_jodie(tmp_path / 'data')
    g = load_jodie(str(tmp_path / 'data'), 'wikipedia',
                   cache_dir=str(tmp_path / 'cache'))
    assert isinstance(g, TemporalGraph)
    # items are offset by max(user) + 1 = 3 (PyG's process())
    assert g.events.src.tolist() == [0, 1, 0, 2]
    assert g.events.dst.tolist() == [3, 3, 4, 4]
    assert g.events.t.tolist() == [0, 5, 9, 12]
    assert g.event_y.tolist() == [0, 0, 1, 0]
    assert torch.allclose(g.msg[2], torch.tensor([0.5, 0.6]))
    assert g.num_nodes == 5 and g.x.shape == (5, 1)
    # nothing was written into the data root
    files = sorted(p.name for p in (tmp_path / 'data').rglob('*'))
    assert files == ['jodie', 'temporal', 'wikipedia.csv']
    assert any((tmp_path / 'cache').rglob('data.pt'))
    # a second load reads the cache
    g2 = load_jodie(str(tmp_path / 'data'), 'wikipedia',
                    cache_dir=str(tmp_path / 'cache'))
    assert torch.equal(g2.events.dst, g.events.dst)


def test_jodie_missing_and_bad_name(tmp_path):
    with pytest.raises(DatasetNotFoundError, match=r'snap.stanford.edu/jodie/'
                       r'mooc.csv'):
        load_jodie(str(tmp_path), 'mooc', cache_dir=str(tmp_path / 'c'))
    with pytest.raises(ValueError, match="'name'"):
        load_jodie(str(tmp_path), 'twitter', cache_dir=str(tmp_path / 'c'))


def write_tgn(d: Path, name='toy'):
    d.mkdir(parents=True)
    (d / f'ml_{name}.csv').write_text(
        ',u,i,ts,label,idx\n0,1,2,0.0,0.0,1\n1,3,1,4.0,1.0,2\n'
        '2,2,3,4.0,0.0,3\n')
    ef = np.zeros((4, 2))
    ef[1:] = [[1, 1], [2, 2], [3, 3]]
    np.save(d / f'ml_{name}.npy', ef)
    nf = np.arange(4 * 3, dtype=np.float64).reshape(4, 3)
    np.save(d / f'ml_{name}_node.npy', nf)


def test_tgn_format(tmp_path):
    write_tgn(tmp_path / 'data' / 'temporal' / 'toy')
    g = load_tgn_format(str(tmp_path / 'data'), prefix='toy',
                        folder='temporal/toy',
                        cache_dir=str(tmp_path / 'cache'))
    assert g.events.src.tolist() == [0, 2, 1]
    assert g.events.dst.tolist() == [1, 0, 2]
    assert g.events.t.dtype == torch.long and g.events.t.tolist() == [0, 4, 4]
    assert g.msg.tolist() == [[1, 1], [2, 2], [3, 3]]
    assert g.event_y.tolist() == [0, 1, 0]
    assert g.x.tolist() == [[3, 4, 5], [6, 7, 8], [9, 10, 11]]
    assert g.num_nodes == 3
    g2 = load_tgn_format(str(tmp_path / 'data'), 'toy', 'temporal/toy',
                         cache_dir=str(tmp_path / 'cache'))
    assert torch.equal(g2.msg, g.msg)
    with pytest.raises(DatasetNotFoundError, match='ml_nope.csv'):
        load_tgn_format(str(tmp_path / 'data'), 'nope', 'temporal/toy')


def test_uci_msg_real():
    root = os.environ.get('PYG_EXT_DATA')
    if not root or not (Path(root) / 'temporal' / 'uci').exists():
        pytest.skip('PYG_EXT_DATA with temporal/uci is not available')
    g = load_tgn_format(root)
    assert g.num_events == 59834
    # ids 1..1900 in the file (0 is padding) -> 0..1899
    assert g.num_nodes == 1900 and g.x.shape == (1900, 100)
    assert max(int(g.events.src.max()), int(g.events.dst.max())) == 1899
    t = g.events.t
    assert bool((t[1:] >= t[:-1]).all()) and int(t[0]) == 0
    assert int(g.events.src.min()) >= 0


def test_synthetic_dialled_heterophily():
    g = synthetic_event_stream(num_nodes=300, num_events=20000, p_cross=0.9,
                               seed=1)
    ev = g.events
    h = temporal_edge_heterophily(ev.src, ev.dst, ev.t, g.y,
                                  reduction='edge')
    assert abs(float(h) - 0.9) < 0.02
    g = synthetic_event_stream(num_nodes=300, num_events=20000, p_cross=0.1,
                               p_cross_after=0.9, switch_time=0.5,
                               time_span=100., seed=2)
    ev = g.events
    early = temporal_edge_heterophily(ev.src, ev.dst, ev.t, g.y, t_end=50.,
                                      reduction='edge')
    late = temporal_edge_heterophily(ev.src, ev.dst, ev.t, g.y, t_start=50.,
                                     reduction='edge')
    assert abs(float(early) - 0.1) < 0.02 and abs(float(late) - 0.9) < 0.02
    assert bool((ev.src != ev.dst).all())
    assert torch.equal(ev.y, g.y[ev.src])
    # reproducible, and x / y live outside the event object
    g2 = synthetic_event_stream(num_nodes=300, num_events=20000, p_cross=0.1,
                                p_cross_after=0.9, switch_time=0.5,
                                time_span=100., seed=2)
    assert torch.equal(g2.events.dst, ev.dst) and torch.equal(g2.x, g.x)
    assert 'x' not in g.events.keys()
    gi = synthetic_event_stream(num_events=50, integer_time=True)
    assert gi.events.t.dtype == torch.long


def test_synthetic_bad_inputs_and_registration():
    with pytest.raises(ValueError, match="'p_cross'"):
        synthetic_event_stream(p_cross=1.5)
    with pytest.raises(ValueError, match="'num_classes'"):
        synthetic_event_stream(num_classes=1)
    with pytest.raises(ValueError, match="'num_nodes'"):
        synthetic_event_stream(num_nodes=3, num_classes=4)
    for name in ('jodie', 'tgn_format', 'temporal_synthetic'):
        assert name in DATASETS
    g = DATASETS.get('temporal_synthetic').obj(root=None, num_events=10)
    assert g.num_events == 10


def test_temporal_graph_validation():
    g = synthetic_event_stream(num_events=20)
    with pytest.raises(ValueError, match="'x'"):
        TemporalGraph(g.events, g.x[:5], g.num_nodes)
    with pytest.raises(ValueError, match="out of range"):
        TemporalGraph(g.events, g.x[:5], 5)
