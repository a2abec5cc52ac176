r"""The ``pyg-ext`` command.

* ``pyg-ext list``: every registered dataset, model, method and task.
* ``pyg-ext run CONFIG [--set key=value ...]``: one experiment, or a suite
  (a YAML with ``experiments:``).
* ``pyg-ext run --resume RUN_DIR``: continue an interrupted run.
* ``pyg-ext main``: the main job on embedded synthetic data (offline).
* ``pyg-ext plot RUN_DIR``: PNG plots of a run directory.

A config error (an unknown key, a value of the wrong type or out of its
range, malformed YAML, an empty section) ends the command with exit code 2
and one line on stderr naming the dotted key; ``--debug`` also prints the
traceback. Any other error exits with code 1, in one line as well.
"""
import argparse
import os
import shlex
import sys
import traceback
from importlib import resources
from typing import List, Optional

__all__ = ['main', 'build_parser']

KIND_TITLES = (('dataset', 'Datasets'), ('model', 'Models'),
               ('method', 'Methods'), ('task', 'Tasks'))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='pyg-ext', description='pyg_ext: one loop for THeGCN, AdaRC, '
        'Mowst, TEDDY and RR-set influence maximisation.')
    parser.add_argument('--debug', action='store_true',
                        help='print the traceback of an error')
    sub = parser.add_subparsers(dest='command', required=True)

    def debug(p):  # also accepted after the command
        p.add_argument('--debug', action='store_true',
                       default=argparse.SUPPRESS,
                       help='print the traceback of an error')

    p = sub.add_parser('list', help='list registered names by kind')
    p.add_argument('kind', nargs='?', choices=[k for k, _ in KIND_TITLES])
    debug(p)

    def common(p):
        p.add_argument('--set', dest='overrides', action='append', default=[],
                       metavar='KEY=VALUE',
                       help='override a config key (repeatable)')
        p.add_argument('--data-root', default=None,
                       help='data root (default: $PYG_EXT_DATA or ./datasets)')
        p.add_argument('--run-dir', default=None,
                       help='run directory (must not exist yet)')
        p.add_argument('--quiet', action='store_true',
                       help='no progress bars')
        p.add_argument('--device', default=None,
                       help="device for every run: 'auto' (CUDA when "
                       "available), 'cpu', 'cuda', 'cuda:N' (sets "
                       "train.device)")
        debug(p)

    p = sub.add_parser('run', help='run an experiment or suite config')
    p.add_argument('config', nargs='?', help='YAML config or suite')
    p.add_argument('--resume', metavar='RUN_DIR', default=None,
                   help='continue an interrupted run directory')
    p.add_argument('--only', action='append', default=None, metavar='NAME',
                   help='suite: run only this experiment (repeatable)')
    p.add_argument('--shard', default=None, metavar='I/N',
                   help='compute only runs i, i+N, ... into the shared '
                   '--run-dir (job arrays; torchrun spreads runs itself)')
    common(p)

    p = sub.add_parser('main', help='the main job on embedded synthetic data')
    p.add_argument('--only', action='append', default=None, metavar='NAME',
                   help='run only this experiment (repeatable)')
    common(p)

    p = sub.add_parser('plot', help='write PNG plots of a run directory')
    p.add_argument('run_dir')
    p.add_argument('--out', default=None, help='output folder')
    debug(p)
    return parser


def _cmd_list(kind: Optional[str]) -> None:
    from pyg_ext.registry import REGISTRIES
    from pyg_ext.train.plugins import load_plugins
    load_plugins()
    for k, title in KIND_TITLES:
        if kind and kind != k:
            continue
        reg = REGISTRIES[k]
        print(f'{title} ({len(reg)}):')
        width = max([len(e.name) for e in reg] + [4])
        for e in reg:
            print(f'  {e.name:<{width}}  {e.description}')
        print()


def _print_table(table: str, run_dir: str) -> None:
    print()
    print(table)
    print(f'Results written to {run_dir}')


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    device = getattr(args, 'device', None)
    try:
        return _main(args, argv, device)
    except KeyboardInterrupt:
        print('pyg-ext: interrupted', file=sys.stderr)
        return 130
    except Exception as e:
        from pyg_ext.train.config import ConfigError
        usage = isinstance(e, (ConfigError, FileNotFoundError,
                               FileExistsError, ValueError, TypeError))
        if args.debug:
            traceback.print_exc()
        msg = str(e).splitlines()[0] if str(e).strip() else ''
        if not usage:
            msg = f'{type(e).__name__}: {msg}' if msg else type(e).__name__
            if not args.debug:
                msg += ' (run with --debug for the traceback)'
        elif not msg:
            msg = type(e).__name__
        if device is not None and 'train.device' in msg:
            msg = msg.replace('train.device', 'train.device (--device)', 1)
        print(f'pyg-ext: error: {msg}', file=sys.stderr)
        return 2 if usage else 1


def _main(args, argv, device) -> int:
    from pyg_ext.train.config import ConfigError
    if device is not None:
        args.overrides = list(args.overrides) + [f'train.device={device}']
    if args.command == 'list':
        _cmd_list(args.kind)
        return 0
    if args.command == 'plot':
        from pyg_ext.train.plots import plot_run
        for path in plot_run(args.run_dir, args.out):
            print(path)
        return 0

    from pyg_ext.train import runner
    if args.command == 'main':
        cfg = resources.files('pyg_ext') / 'configs' / 'main.yaml'
        with resources.as_file(cfg) as path:
            out = runner.run_suite(path, args.overrides, args.run_dir,
                                   args.quiet, args.data_root,
                                   only=args.only)
        _print_table(out['table'], out['run_dir'])
        return 0

    # run
    if args.resume:
        extra = [o for o in args.overrides
                 if not o.startswith('train.device=')]
        if args.config or extra or args.run_dir or args.only or args.shard:
            raise ConfigError('--resume takes no CONFIG, --set, --run-dir '
                              "or --only: the run directory's saved "
                              'config is used (only --device may change)')
        out = runner.resume(args.resume, args.quiet, args.data_root,
                            device=device)
    elif args.config is None:
        raise ConfigError('run: give a CONFIG file or --resume RUN_DIR')
    elif not os.path.exists(args.config):
        raise FileNotFoundError(f"config file '{args.config}' not found")
    elif runner.is_suite(args.config):
        if args.shard:
            raise ConfigError('--shard runs one experiment config; for a '
                              'suite use --only NAME per job')
        out = runner.run_suite(args.config, args.overrides, args.run_dir,
                               args.quiet, args.data_root, only=args.only)
    else:
        out = runner.run(args.config, args.overrides, args.run_dir,
                         args.quiet, args.data_root,
                         command=shlex.join(['pyg-ext'] + list(
                             sys.argv[1:] if argv is None else argv)),
                         shard=args.shard)
    from pyg_ext.utils.distributed import get_rank
    if get_rank() != 0:
        return 0
    if out.get('pending_runs'):
        print(f"shard done: {out['num_runs']} run(s) finished, "
              f"{out['pending_runs']} still with other shards; the last "
              f"shard writes the summary into {out['run_dir']}")
        return 0
    if 'table' in out:
        _print_table(out['table'], out['run_dir'])
    else:
        _print_table(runner.results_table([out]), out['run_dir'])
    return 0


if __name__ == '__main__':
    sys.exit(main())
