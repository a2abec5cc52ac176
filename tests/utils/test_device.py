from dataclasses import dataclass

import pytest
import torch
from torch_geometric.data import Data

from pyg_ext.utils.device import (data_device, module_device, move_to,
                                  place, resolve_device)


def test_resolve_device():
    assert resolve_device('cpu') == torch.device('cpu')
    expected = 'cuda' if torch.cuda.is_available() else 'cpu'
    assert resolve_device('auto').type == expected
    assert resolve_device(None).type == expected
    with pytest.raises(ValueError, match=r"train.device: unknown device "
                       r"'gpu0'"):
        resolve_device('gpu0', 'train.device')
    with pytest.raises(TypeError, match='device'):
        resolve_device(1.5)


@pytest.mark.skipif(torch.cuda.is_available(), reason='needs a machine '
                    'without CUDA')
def test_cuda_without_cuda_is_a_clear_error():
    with pytest.raises(ValueError, match=r"--device: 'cuda' was requested "
                       r"but CUDA is not available"):
        resolve_device('cuda', '--device')
    with pytest.raises(ValueError, match='CUDA is not available'):
        resolve_device('cuda:1')


@dataclass
class Box:
    a: torch.Tensor
    b: list
    name: str = 'x'


def test_move_to_nested_structures(device):
    x = Data(x=torch.ones(3, 2), edge_index=torch.tensor([[0], [1]]))
    obj = {'d': x, 'l': [torch.zeros(2), (torch.ones(1), 'keep')],
           'box': Box(torch.ones(2), [torch.zeros(1)]), 'n': 3}
    out = move_to(obj, 'meta')
    assert out['d'].x.device.type == 'meta'
    assert out['l'][0].device.type == 'meta'
    assert out['l'][1][0].device.type == 'meta' and out['l'][1][1] == 'keep'
    assert out['box'].a.device.type == 'meta'
    assert out['box'].b[0].device.type == 'meta' and out['n'] == 3
    assert data_device(out) == torch.device('meta')
    assert data_device(obj) == torch.device('cpu')
    assert data_device({'n': 1}) is None
    back = move_to(obj['box'].a, device)
    assert back.device.type == device.type


def test_place_moves_or_rejects_with_both_devices():
    model = torch.nn.Linear(2, 2)
    data = Data(x=torch.ones(3, 2))
    m, d, dev = place(model, data)
    assert dev == torch.device('cpu') and d is data
    meta_model = torch.nn.Linear(2, 2).to('meta')
    with pytest.raises(ValueError, match=r"'data' is on cpu but the model "
                       r"is on meta"):
        place(meta_model, data)
    m, d, dev = place(model, data, device='meta')
    assert module_device(m).type == 'meta' and d.x.device.type == 'meta'
