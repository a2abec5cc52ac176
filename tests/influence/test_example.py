import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_example_runs_offline(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    env.pop('PYG_EXT_DATA', None)
    out = subprocess.run(
        [sys.executable, str(ROOT / 'examples' / 'influence.py'),
         '--dataset', 'synthetic', '--quick', '--mc', '200'],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert out.returncode == 0, out.stderr
    assert '| opim_c |' in out.stdout and 'RR-OPIM+ certificate' in out.stdout
