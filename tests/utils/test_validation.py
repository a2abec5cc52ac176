import math

import pytest
import torch

from pyg_ext.utils.validation import (check_bool, check_choice,
                                      check_edge_index, check_finite,
                                      check_float, check_index, check_int,
                                      check_node_mask, check_probability,
                                      check_same_device, check_tensor)


def test_check_int():
    assert check_int('k', 3, low=1) == 3
    assert check_int('k', torch.tensor(4)) == 4
    assert check_int('k', None, allow_none=True) is None
    for bad, err in ((True, TypeError), (2.0, TypeError), ('3', TypeError),
                     (0, ValueError), (None, TypeError)):
        with pytest.raises(err, match="'k'"):
            check_int('k', bad, low=1)
    with pytest.raises(ValueError, match=r"'k' must be an int in \[1, 5\]"):
        check_int('k', 6, 1, 5)


def test_check_float_and_probability():
    assert check_float('lr', 1) == 1.0
    assert check_float('eps', 0.5, 0.0, 1.0, low_open=True) == 0.5
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(ValueError, match="'lr' must be a finite float"):
            check_float('lr', bad)
    with pytest.raises(TypeError, match="'lr' must be a float"):
        check_float('lr', True)
    with pytest.raises(ValueError, match=r"'eps' must be in \(0.0, 1.0\]"):
        check_float('eps', 0.0, 0.0, 1.0, low_open=True)
    with pytest.raises(ValueError, match=r"'p' must be in \[0.0, 1.0\]"):
        check_probability('p', 1.5)
    assert check_probability('p', None, allow_none=True) is None


def test_check_bool_and_choice():
    assert check_bool('b', False) is False
    with pytest.raises(TypeError, match="'b' must be a bool"):
        check_bool('b', 1)
    assert check_choice('mode', 'a', ('a', 'b')) == 'a'
    with pytest.raises(ValueError, match=r"'mode' must be one of \('a', "
                       r"'b'\), got 'c'"):
        check_choice('mode', 'c', ('a', 'b'))


def test_check_tensor_metadata():
    x = torch.zeros(3, 4)
    assert check_tensor('x', x, kind='float', shape=(None, 4)) is x
    with pytest.raises(TypeError, match="'x' must be an integer tensor"):
        check_tensor('x', x, kind='int')
    with pytest.raises(ValueError, match=r"'x' must have shape \(\*, 5\)"):
        check_tensor('x', x, shape=(None, 5))
    with pytest.raises(ValueError, match="'x' must have 1 dimension"):
        check_tensor('x', x, dim=1)
    with pytest.raises(TypeError, match="'x' must be a tensor"):
        check_tensor('x', [1, 2])
    # metadata only: works on meta tensors (no value is read)
    check_tensor('x', torch.zeros(3, 4, device='meta'), kind='float', dim=2)


def test_value_checks():
    ei = torch.tensor([[0, 1, 2], [1, 2, 0]])
    assert check_edge_index('edge_index', ei, 3) is ei
    with pytest.raises(ValueError, match=r"node ids in \[0, 2\), got values "
                       r"in \[0, 2\]"):
        check_edge_index('edge_index', ei, 2)
    with pytest.raises(ValueError, match=r"looks like \[E, 2\]"):
        check_edge_index('edge_index', ei.t(), 3)
    with pytest.raises(TypeError, match='integer tensor'):
        check_edge_index('edge_index', ei.float(), 3)
    with pytest.raises(ValueError, match=r"got values in \[-1, 1\]"):
        check_index('index', torch.tensor([-1, 1]), 3)
    check_index('index', torch.zeros(0, dtype=torch.long), 0)
    with pytest.raises(ValueError, match="'x' has 2 NaN or infinite"):
        check_finite('x', torch.tensor([1.0, math.nan, math.inf]))
    check_finite('y', torch.tensor([1, 2]))


def test_node_mask_never_reads_a_wrong_bool_as_ids():
    m = torch.tensor([True, False, True])
    assert check_node_mask('mask', m, 3) is m
    with pytest.raises(ValueError, match=r"bool mask of shape \(2,\); "
                       r"expected \[3\]"):
        check_node_mask('mask', m[:2], 3)
    idx = torch.tensor([0, 2])
    assert check_node_mask('mask', idx, 3) is idx
    with pytest.raises(TypeError, match='integer tensor'):
        check_node_mask('mask', idx.float(), 3)


def test_same_device():
    check_same_device(a=torch.zeros(1), b=torch.zeros(1), c=None)
    with pytest.raises(ValueError, match="'b' is on meta but 'a' is on cpu"):
        check_same_device(a=torch.zeros(1), b=torch.zeros(1, device='meta'))
