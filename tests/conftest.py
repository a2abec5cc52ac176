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
