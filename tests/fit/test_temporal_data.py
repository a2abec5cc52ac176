r"""TemporalTaskData on a device (with its host copy), moving sampled
subgraphs, and the replay plan of stream models."""
import dataclasses

import torch
from torch_geometric.data import TemporalData

from pyg_ext.datasets.temporal import TemporalGraph, synthetic_event_stream
from pyg_ext.fit import (TemporalLinkPredictionTask,
                         TemporalNodeClassificationTask)
from pyg_ext.fit.temporal_data import move_subgraph
from pyg_ext.fit.temporal_replay import replay_plan


def hand_stream(msg=True):
    ev = TemporalData(src=torch.tensor([0, 1, 2, 0, 3, 1]),
                      dst=torch.tensor([1, 2, 3, 2, 0, 3]),
                      t=torch.tensor([1, 2, 4, 4, 7, 9]))
    if msg:
        ev.msg = torch.arange(12.).view(6, 2)
    return TemporalGraph(ev, torch.eye(4), 4, y=torch.tensor([0, 1, 0, 1]))


def tensors(obj, prefix=''):
    r"""Every tensor reachable in a TemporalTaskData, by name."""
    if isinstance(obj, torch.Tensor):
        yield prefix, obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from tensors(v, f'{prefix}.{k}')
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            yield from tensors(v, f'{prefix}[{i}]')
    elif isinstance(obj, TemporalData):
        for k, v in obj.to_dict().items():
            yield from tensors(v, f'{prefix}.{k}')
    elif dataclasses.is_dataclass(obj):
        for f in dataclasses.fields(obj):
            if f.name not in ('cache', 'host'):
                yield from tensors(getattr(obj, f.name), f'{prefix}.{f.name}')


def test_to_device_keeps_a_host_copy():
    task = TemporalLinkPredictionTask(mrr_negatives=2, mrr_max_queries=0)
    data = task.build(synthetic_event_stream(num_nodes=30, num_events=200,
                                             seed=1))
    sampler = task.sampler(data)
    moved = task.to(data, 'meta')
    names = dict(tensors(moved))
    # everything a model reads moved: events, features, labels, queries,
    # split and the fixed negatives
    assert {'.graph.events.src', '.graph.x', '.q_node', '.q_dst',
            '.split.val', '.negatives.test.mrr_dst'} <= set(names)
    assert {t.device.type for t in names.values()} == {'meta'}
    for name, t in tensors(data):
        assert names[name].shape == t.shape and names[name].dtype == t.dtype
    # no edge attributes: an explicit [E, 0] msg on the device
    assert moved.msg.shape == (200, 0) and moved.msg.device.type == 'meta'
    # the host copy (with the sampler) is the original object
    assert moved.host is data and moved.on_host() is data
    assert task.sampler(moved) is sampler
    assert moved.to('cpu') is data and data.to('cpu') is data
    assert moved.to('meta') is moved
    assert data.graph.x.device.type == 'cpu'  # the input is not changed


def test_node_split_of_moved_data():
    task = TemporalNodeClassificationTask(num_splits=2)
    data = task.build(synthetic_event_stream(num_nodes=30, num_events=200))
    moved = task.to(data, 'meta')
    s1 = task.get_split(moved, 1)
    ref = task.get_split(data, 1)
    assert s1.split_seed == 1 and s1.split['val'].device.type == 'meta'
    assert torch.equal(s1.on_host().split['val'], ref.split['val'])
    assert not torch.equal(ref.split['val'], data.split['val'])


def test_move_subgraph():
    task = TemporalNodeClassificationTask(num_neighbors=[2, 2])
    data = task.build(hand_stream())
    sub = task.sampler(data).sample(torch.tensor([3, 1]),
                                    torch.tensor([8, 10]))
    assert move_subgraph(sub, 'cpu') is sub
    out = move_subgraph(sub, 'meta')
    assert out.batch_size == sub.batch_size == 2
    for f in dataclasses.fields(sub):
        v = getattr(sub, f.name)
        if isinstance(v, torch.Tensor):
            assert getattr(out, f.name).device.type == 'meta', f.name
            assert getattr(out, f.name).shape == v.shape
            assert v.device.type == 'cpu'


def test_replay_plan_known_answer():
    # events at t = 1 2 | 4 4 | 7 9 in batches of 2; a query at time q is
    # answered before the batch holding the first event with t >= q
    task = TemporalLinkPredictionTask(batch_size=2, mrr_negatives=0,
                                      val_ratio=0.3, test_ratio=0.3)
    data = task.build(hand_stream())
    data.q_time = torch.tensor([1, 2, 3, 4, 8, 10])
    data.split = {'train': torch.tensor([0, 1, 2]),
                  'val': torch.tensor([3, 4]), 'test': torch.tensor([5])}
    data.negatives = {}
    plan = replay_plan(task, data, ['train', 'val', 'test'])
    # buckets: q=1 -> event 0 (batch 0); 2 -> 1 (0); 3 -> 2 (1); 4 -> 2 (1);
    # 8 -> 5 (2); 10 -> 6 = end of stream (batch 3, after every event)
    assert plan['num_batches'] == 4
    assert plan['qidx'].tolist() == [0, 1, 2, 3, 4, 5]
    assert plan['bounds'] == [0, 2, 4, 5, 6]
    assert plan['last'] == 3
    train = replay_plan(task, data, ['train'])
    assert train['bounds'] == [0, 2, 3, 3, 3] and train['last'] == 1
    assert replay_plan(task, data, ['train']) is train  # cached
