r"""Several processes in the loop: run sharding (--shard and torchrun),
data-parallel mini-batches under torchrun (2 gloo processes on localhost),
rank-0-only writes, killed shards and ranks resumed."""
import json

import pytest

from helpers_dist import run_ranks
from helpers_loop import register_toy
from pyg_ext.train import load_plugins, run
from pyg_ext.train.config import ConfigError
from pyg_ext.train.parallel import parse_shard

load_plugins()
TOY = register_toy()


def cfg(**train):
    return {'name': 'par', 'dataset': {'name': TOY},
            'model': {'name': 'gcn', 'hidden_channels': 8},
            'train': {'epochs': 6, 'runs': 3, 'checkpoint_every': 2,
                      'patience': None, **train}}


def strip(summary):
    s = {k: v for k, v in summary.items() if k not in ('seconds',
                                                         'run_dir')}
    return json.loads(json.dumps(s))


def runs(d):
    return {p.name: json.loads(p.read_text())
            for p in sorted((d / 'runs').iterdir())}


def test_parse_shard():
    assert parse_shard('1/4') == (1, 4)
    for bad in ('4/4', '-1/2', 'a/b', '1', '0/0'):
        with pytest.raises(ConfigError, match='--shard'):
            parse_shard(bad)


def test_job_array_shards_merge_to_the_serial_summary(tmp_path):
    serial = run(cfg(), run_dir=tmp_path / 'serial', quiet=True)
    d = tmp_path / 'sharded'
    first = run(cfg(), run_dir=d, quiet=True, shard='1/2')
    assert first['pending_runs'] == 3 and first['num_runs'] == 3
    assert not (d / 'summary.json').exists()
    last = run(cfg(), run_dir=d, quiet=True, shard='0/2')
    assert strip(last) == strip(serial)
    saved = json.loads((d / 'summary.json').read_text())
    assert strip(saved) == strip(json.loads(
        (tmp_path / 'serial/summary.json').read_text()))
    by = runs(d)
    # each run file records who computed it; metrics equal the serial run
    for name, r in runs(tmp_path / 'serial').items():
        assert by[name]['metrics'] == r['metrics']
        assert by[name]['world_size'] == 2
    assert {r['rank'] for r in by.values()} == {0, 1}
    with pytest.raises(ConfigError, match='holds another config'):
        run(cfg(epochs=7), run_dir=d, quiet=True, shard='0/2')
    with pytest.raises(ConfigError, match='--shard needs --run-dir'):
        run(cfg(), quiet=True, shard='0/2')


class Killed(Exception):
    pass


def test_killed_shard_resumes_without_losing_anything(tmp_path):
    serial = run(cfg(), run_dir=tmp_path / 'serial', quiet=True)
    d = tmp_path / 'sharded'
    n = {'c': 0}

    def boom(epoch):
        n['c'] += 1
        if n['c'] == 6 + 3:  # mid second run of shard 0, after a checkpoint
            raise Killed
    with pytest.raises(Killed):
        run(cfg(), run_dir=d, quiet=True, shard='0/2', interrupt=boom)
    done = set(runs(d))
    assert len(done) == 1 and list((d / 'checkpoints').iterdir())
    mtimes = {p.name: p.stat().st_mtime_ns for p in (d / 'runs').iterdir()}
    run(cfg(), run_dir=d, quiet=True, shard='1/2')
    out = run(cfg(), run_dir=d, quiet=True, shard='0/2')  # resumed
    for name, t in mtimes.items():  # finished runs were not recomputed
        assert (d / 'runs' / name).stat().st_mtime_ns == t
    assert strip(out) == strip(serial)


BODY = """
    import json, os, sys
    from helpers_loop import register_toy
    from pyg_ext.train import load_plugins, run, resume
    load_plugins(); toy = register_toy()
    cfg = {cfg!r}
    cfg['dataset'] = {{'name': toy}}
    rank = int(os.environ['RANK'])
    kill = {kill!r}
    n = {{'c': 0}}
    def hook(epoch):
        n['c'] += 1
        if kill and rank == kill[0] and n['c'] == kill[1]:
            os._exit(3)
    if {resume!r}:
        out = resume({run_dir!r}, quiet=True)
    else:
        out = run(cfg, run_dir={run_dir!r}, quiet=True, interrupt=hook)
    print('RESULT:' + json.dumps({{k: v for k, v in out.items()
                                   if k != 'seconds'}}))
"""


def body(c, run_dir, kill=None, resume=False):
    return BODY.format(cfg=c, run_dir=str(run_dir), kill=kill, resume=resume)


def test_torchrun_spreads_full_batch_runs_over_ranks(tmp_path):
    serial = run(cfg(), run_dir=tmp_path / 'serial', quiet=True)
    out = run_ranks(body(cfg(), tmp_path / 'tr'), world=2)
    r0 = out[0][1]
    assert strip(r0) == strip(serial)
    by = runs(tmp_path / 'tr')
    assert sorted(r['rank'] for r in by.values()) == [0, 0, 0, 1, 1, 1]
    assert all(r['world_size'] == 2 for r in by.values())
    assert (tmp_path / 'tr/summary.json').exists()


def test_torchrun_rank_killed_mid_run_and_resumed(tmp_path):
    serial = run(cfg(), run_dir=tmp_path / 'serial', quiet=True)
    d = tmp_path / 'tr'
    # rank 1 dies in its second run (after a checkpoint); rank 0 fails at
    # the barrier instead of hanging
    out = run_ranks(body(cfg(), d, kill=(1, 6 + 5)), world=2, timeout=120,
                    expect_ok=False)
    assert out[1][0] == 3 and out[0][0] != 0
    assert not (d / 'summary.json').exists()
    out = run_ranks(body(cfg(), d, resume=True), world=2)
    assert strip(out[0][1]) == strip(serial)


def mb_cfg(**train):
    c = cfg(**train)
    c['model'] = {'name': 'sage', 'hidden_channels': 8, 'dropout': 0.0}
    c['task'] = {'name': 'node_classification', 'num_neighbors': [-1, -1]}
    c['train'].update(batch_size=16, runs=1)
    return c


def test_torchrun_ddp_equals_one_process_and_rank0_writes(tmp_path):
    one = run(mb_cfg(), run_dir=tmp_path / 'one', quiet=True)
    out = run_ranks(body(mb_cfg(), tmp_path / 'ddp'), world=2)
    _close(out[0][1]['summary'], one['summary'])
    got, ref = runs(tmp_path / 'ddp'), runs(tmp_path / 'one')
    assert set(got) == set(ref) and len(got) == 2  # 2 splits
    for name, r in got.items():
        assert r['rank'] == 0 and r['world_size'] == 2
        for k, v in ref[name]['metrics'].items():
            assert r['metrics'][k] == pytest.approx(v, abs=1e-4), k


def _close(a, b):
    for k in a:
        assert a[k]['mean'] == pytest.approx(b[k]['mean'], abs=1e-4), k
    return True


def test_ddp_needs_minibatches_and_full_batch_methods_refuse_batches(
        tmp_path):
    c = cfg(distributed='ddp')
    out = run_ranks(body(c, tmp_path / 'x'), world=2, expect_ok=False)
    assert all(rc != 0 and "train.distributed='ddp' needs mini-batches"
               in err for rc, _, err in out)
    c = cfg(batch_size=8)
    c['method'] = {'name': 'teddy'}
    c['model'] = {'name': 'teddy_gcn'}
    with pytest.raises(ConfigError, match="method 'teddy' trains "
                       "full-batch"):
        run(c, run_dir=tmp_path / 'y', quiet=True)
