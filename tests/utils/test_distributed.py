import pytest

from helpers_dist import run_ranks
from pyg_ext.utils.distributed import (DistributedError, agree,
                                       all_reduce_floats, get_rank,
                                       get_world_size, init_distributed,
                                       resolve_group)


def test_single_process_defaults(monkeypatch):
    for v in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'):
        monkeypatch.delenv(v, raising=False)
    assert (get_rank(), get_world_size()) == (0, 1)
    agree('x', {'k': 1})  # nothing to compare
    assert all_reduce_floats({'a': 2.0}) == {'a': 2.0}
    assert resolve_group() is None
    with pytest.raises(DistributedError, match='RANK, WORLD_SIZE, '
                       'MASTER_ADDR, MASTER_PORT are not set'):
        init_distributed()
    with pytest.raises(DistributedError, match='WORLD_SIZE'):
        resolve_group(distributed=True)


def test_two_ranks_reduce_and_agree():
    out = run_ranks("""
        import json, os
        from pyg_ext.utils.distributed import *
        init_distributed('gloo')
        r = get_rank()
        m = all_reduce_floats({'loss': float(r + 1), 'n': 1.0}, 'mean')
        s = all_reduce_floats({'n': 1.0}, 'sum')
        agree('fit', {'k': 5, 'eps': 0.1})
        err = None
        try:
            agree('opim_c', {'k': 5 + r, 'eps': 0.1})
        except DistributedError as e:
            err = str(e)
        print('RESULT:' + json.dumps([m, s, err, broadcast_object(r)]))
    """)
    for rank, (rc, (m, s, err, b), _) in enumerate(out):
        assert m == {'loss': 1.5, 'n': 1.0} and s == {'n': 2.0}
        assert err is not None and 'opim_c' in err and "k" in err
        assert b == 0
