import os

import pytest
import torch

from pyg_ext.utils.checkpoint import (Checkpointer, _atomic_write,
                                      atomic_write_json, get_rng_state,
                                      set_rng_state)


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    path = tmp_path / 'state.json'
    atomic_write_json(path, {'a': 1})

    def half_then_fail(f):
        f.write(b'{"a": 2, "tor')
        raise KeyboardInterrupt  # killed mid-write

    with pytest.raises(KeyboardInterrupt):
        _atomic_write(path, half_then_fail)
    assert path.read_text().strip() == '{\n  "a": 1\n}'
    assert os.listdir(tmp_path) == ['state.json']  # no temp file left


def test_checkpointer_roundtrip_and_schedule(tmp_path):
    ck = Checkpointer(tmp_path / 'c.pt', every=3)
    assert ck.load() is None
    assert [e for e in range(9) if ck.due(e)] == [2, 5, 8]
    state = {'w': torch.arange(4.0), 'epoch': 5}
    ck.save(state)
    back = ck.load()
    assert torch.equal(back['w'], state['w']) and back['epoch'] == 5
    ck.clear()
    assert ck.load() is None
    assert not Checkpointer(None).due(2)
    assert not Checkpointer(tmp_path / 'x.pt', every=0).due(2)


def test_rng_state_restores_every_generator():
    import random

    import numpy as np
    state = get_rng_state()
    a = (random.random(), np.random.rand(), torch.rand(1).item())
    set_rng_state(state)
    b = (random.random(), np.random.rand(), torch.rand(1).item())
    assert a == b
