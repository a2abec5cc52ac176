import os
import sys
from pathlib import Path

import pytest
import torch

# The shared data folder sits beside the checkout (CI) unless PYG_EXT_DATA
# says otherwise.
_default = Path(__file__).resolve().parents[2] / 'shared' / 'datasets'
if not os.environ.get('PYG_EXT_DATA') and _default.is_dir():
    os.environ['PYG_EXT_DATA'] = str(_default)

torch.set_num_threads(1)

# Device-sensitive tests run on $PYG_EXT_TEST_DEVICE (default: cpu), e.g.
# PYG_EXT_TEST_DEVICE=cuda pytest
TEST_DEVICE = torch.device(os.environ.get('PYG_EXT_TEST_DEVICE') or 'cpu')
if TEST_DEVICE.type == 'cuda' and not torch.cuda.is_available():
    raise pytest.UsageError('PYG_EXT_TEST_DEVICE=cuda but CUDA is not '
                            'available')
# Shared test helpers (tests/helpers_*.py) import by module name.
sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture
def data_root():
    root = os.environ.get('PYG_EXT_DATA')
    if not root or not os.path.isdir(root):
        pytest.skip('the shared data folder ($PYG_EXT_DATA) is not available')
    return root


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    # Processed files of every test go to one session-wide temp cache.
    cache = tmp_path_factory.getbasetemp() / 'pyg_ext_cache'
    monkeypatch.setenv('PYG_EXT_CACHE', str(cache))


@pytest.fixture
def device() -> torch.device:
    r"""The device of the device-sensitive tests ($PYG_EXT_TEST_DEVICE)."""
    return TEST_DEVICE
