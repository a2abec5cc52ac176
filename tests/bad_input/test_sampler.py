r"""Bad input of :class:`~pyg_ext.sampler.NeighborSampler` and
:class:`~pyg_ext.sampler.TemporalNeighborSampler`: seed ids, fan-outs,
time windows and node counts are refused with a message naming the
argument; one huge id without ``num_nodes`` is refused before any buffer is
sized. Valid edge cases (a seed without neighbours, one node) sample."""
import pytest
import torch

import helpers_bad_input as H
from pyg_ext.sampler import NeighborSampler, TemporalNeighborSampler

NAN, INF = float('nan'), float('inf')
SRC = torch.tensor([0, 1, 2, 3, 1, 2, 3, 4])
DST = torch.tensor([1, 2, 3, 4, 0, 1, 2, 3])
EI = torch.stack([SRC, DST])
T = torch.arange(8, dtype=torch.float)


def neighbor(seed=torch.tensor([0, 1]), **kw):
    args = dict(data=EI, num_neighbors=[2, 2], num_nodes=5)
    args.update(kw)
    return NeighborSampler(**args).sample(seed)


def temporal(seed_nodes=torch.tensor([0, 1]),
             seed_times=torch.tensor([5.0, 9.0]), **kw):
    args = dict(src=SRC, dst=DST, t=T, num_nodes=5, num_neighbors=[2])
    args.update(kw)
    return TemporalNeighborSampler(**args).sample(seed_nodes, seed_times)


@pytest.mark.parametrize('kw,names', [
    (dict(seed=torch.tensor([0, 5])), ["'seed'"]),
    (dict(seed=torch.tensor([-1])), ["'seed'"]),
    (dict(seed=torch.tensor([0.0, 1.0])), ["'seed'"]),
    (dict(seed=torch.tensor([[0, 1]])), ["'seed'"]),
    (dict(num_neighbors=[]), ["'num_neighbors'"]),
    (dict(num_neighbors=[-2]), ["'num_neighbors'"]),
    (dict(num_neighbors=[0.5]), ["'num_neighbors'"]),
    (dict(num_nodes=3), ["'num_nodes'"]),
    (dict(num_nodes=-1), ["'num_nodes'"]),
    (dict(data=EI.float()), ["'edge_index'"]),
    (dict(data=EI.t().contiguous()), ["'edge_index'"]),
    (dict(data=torch.tensor([[0], [-1]])), ["'edge_index'"]),
    # 2**40 nodes would size terabyte buffers: refused, naming num_nodes.
    (dict(data=torch.tensor([[0], [2**40]]), num_nodes=None),
     ["'num_nodes'"]),
], ids=lambda v: str(v)[:40] if isinstance(v, dict) else None)
def test_neighbor_sampler(kw, names):
    H.assert_clear(lambda: neighbor(**kw), names)


@pytest.mark.parametrize('kw,names', [
    (dict(seed_nodes=torch.tensor([0, 5])), ["'seed_nodes'"]),
    (dict(seed_nodes=torch.tensor([-1, 0])), ["'seed_nodes'"]),
    (dict(seed_nodes=torch.tensor([0.0, 1.0])), ["'seed_nodes'"]),
    (dict(seed_times=torch.tensor([1.0])), ["'seed_times'"]),
    (dict(seed_times=torch.tensor([NAN, 1.0])), ["'seed_times'"]),
    (dict(num_neighbors=[-2]), ["'num_neighbors'"]),
    (dict(num_neighbors=[1.5]), ["'num_neighbors'"]),
    (dict(time_window=0.0), ["'time_window'"]),
    (dict(time_window=-1.0), ["'time_window'"]),
    (dict(time_window=NAN), ["'time_window'"]),
    (dict(time_window=INF), ["'time_window'"]),
    (dict(time_window='1'), ["'time_window'"]),
    (dict(num_nodes=3), ["'num_nodes'"]),
    (dict(t=torch.full_like(T, NAN)), ["'t'"]),
    (dict(t=T[:3]), ["'t'"]),
    (dict(src=SRC.float()), ["'src'"]),
    (dict(src=torch.tensor([0]), dst=torch.tensor([2**40]),
          t=torch.tensor([1.0]), num_nodes=None), ["'num_nodes'"]),
], ids=lambda v: str(v)[:40] if isinstance(v, dict) else None)
def test_temporal_sampler(kw, names):
    H.assert_clear(lambda: temporal(**kw), names)


def test_valid_edge_cases():
    out = neighbor(seed=torch.tensor([4]), data=torch.tensor([[0], [1]]))
    assert out.node.tolist() == [4]  # a seed without in-neighbours
    out = neighbor(seed=torch.tensor([0]), data=torch.empty(
        2, 0, dtype=torch.long), num_nodes=1)
    assert out.node.tolist() == [0]
    sub = temporal(seed_times=torch.tensor([0.0, 0.0]))
    assert sub.edge_index.numel() == 0  # nothing happened before t = 0
    sub = temporal(time_window=1.5)
    assert (sub.dt <= 1.5).all() and (sub.dt >= 0).all()
