r"""Fixtures for the real-data loader tests (no autouse fixture here)."""
import os
from pathlib import Path

import pytest


def snapshot(root):
    r"""Every path below :obj:`root` with (size, mtime_ns, mode): a change of
    any file or folder of the data root shows up as a difference."""
    root = Path(root)
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            out[str(p.relative_to(root))] = (st.st_size, st.st_mtime_ns,
                                             st.st_mode)
    st = root.stat()
    out['.'] = (st.st_mtime_ns, st.st_mode)
    return out


@pytest.fixture
def untouched(data_root):
    r"""Asserts that the test leaves the real data root byte-for-byte (size,
    mtime, mode) unchanged and adds no file to it."""
    before = snapshot(data_root)
    yield data_root
    after = snapshot(data_root)
    added = sorted(set(after) - set(before))
    changed = sorted(k for k in before if after.get(k) != before[k])
    assert not added and not changed, (
        f'data root modified: added {added[:5]}, changed {changed[:5]}')


@pytest.fixture
def take_snapshot():
    r"""The :func:`snapshot` function, for tests on their own data roots."""
    return snapshot


@pytest.fixture
def cache_root():
    return Path(os.environ['PYG_EXT_CACHE'])
