r"""Runs a function in several local processes joined by torch.distributed
(gloo on 127.0.0.1), the way torchrun would: each process gets RANK,
WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT. Bounded in time; every
process ends by itself (or is killed at the timeout)."""
import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

TESTS = str(Path(__file__).resolve().parent)
REPO = str(Path(__file__).resolve().parents[1])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def run_ranks(body: str, world: int = 2, timeout: float = 120.0,
              env: dict = None, expect_ok: bool = True):
    r"""Runs :obj:`body` (Python source using RANK etc.; it should print
    one JSON line prefixed ``RESULT:``) in :obj:`world` processes. Returns
    a list of (returncode, result or None, stderr) per rank."""
    port = free_port()
    script = textwrap.dedent(body)
    procs = []
    for r in range(world):
        e = dict(os.environ, RANK=str(r), WORLD_SIZE=str(world),
                 LOCAL_RANK=str(r), MASTER_ADDR='127.0.0.1',
                 MASTER_PORT=str(port), OMP_NUM_THREADS='1',
                 PYTHONPATH=os.pathsep.join([REPO, TESTS,
                                             os.environ.get('PYTHONPATH',
                                                            '')]))
        e.update(env or {})
        procs.append(subprocess.Popen([sys.executable, '-c', script],
                                      stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, env=e,
                                      text=True))
    out = []
    for p in procs:
        try:
            so, se = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            raise
        res = None
        for line in so.splitlines():
            if line.startswith('RESULT:'):
                res = json.loads(line[len('RESULT:'):])
        out.append((p.returncode, res, se))
    if expect_ok:
        for rc, res, se in out:
            assert rc == 0, se[-3000:]
    return out
