r"""THeGCN on an event stream, end to end, without the config loop: one
call to :func:`pyg_ext.fit.fit_thegcn`.

Node classification on a synthetic stream whose heterophily switches over
time (default), or link prediction on UCI-Msg when ``--task link`` and the
data root holds ``temporal/uci`` (falls back to a synthetic stream offline).

    python examples/thegcn.py --epochs 20
    python examples/thegcn.py --task link --data-root ../shared/datasets --epochs 3

The same experiments through the loop: ``pyg-ext run
pyg_ext/configs/thegcn_synthetic.yaml`` and ``pyg_ext/configs/thegcn_uci.yaml``.
"""
import argparse
import os

import torch

from pyg_ext.datasets.temporal import load_tgn_format, synthetic_event_stream
from pyg_ext.fit import (TemporalLinkPredictionTask,
                         TemporalNodeClassificationTask, fit_thegcn)
from pyg_ext.nn.models import THeGCN
from pyg_ext.utils import temporal_edge_heterophily
from pyg_ext.utils.checkpoint import seed_everything


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--task', choices=['node', 'link'], default='node')
    p.add_argument('--data-root', default=os.environ.get('PYG_EXT_DATA'))
    p.add_argument('--epochs', type=int, default=60)
    p.add_argument('--lr', type=float, default=0.01)
    p.add_argument('--hidden', type=int, default=32)
    p.add_argument('--time-dim', type=int, default=16)
    p.add_argument('--num-neighbors', type=int, nargs='+', default=None,
                   help='fan-out per hop (default: [50] node, [10] link)')
    p.add_argument('--batch-size', type=int, default=32)
    p.add_argument('--no-time', action='store_true')
    p.add_argument('--fixed-gate', type=float, default=None)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--device', default='auto',
                   help="'auto' (CUDA when available), 'cpu', 'cuda'")
    p.add_argument('--no-progress', action='store_true')
    args = p.parse_args()
    seed_everything(args.seed)
    torch.set_num_threads(1)

    uci = args.data_root and os.path.exists(
        os.path.join(args.data_root, 'temporal', 'uci'))
    if args.task == 'link' and uci:
        graph = load_tgn_format(args.data_root)
    else:
        if args.task == 'link':
            print('UCI-Msg not found: using a synthetic stream')
        graph = synthetic_event_stream(num_nodes=500,
                                       num_events=15000 if args.task == 'node'
                                       else 3000,
                                       p_cross=0.1, p_cross_after=0.9,
                                       switch_time=0.5, feature_noise=1.5,
                                       seed=args.seed)
    print(graph)
    ev = graph.events
    if graph.y is not None:
        for lo, hi in ((0., 500.), (500., 1000.)):
            h = temporal_edge_heterophily(ev.src, ev.dst, ev.t, graph.y,
                                          t_start=lo, t_end=hi,
                                          reduction='edge')
            print(f'temporal edge heterophily in [{lo:.0f}, {hi:.0f}): '
                  f'{float(h):.3f}')

    if args.task == 'node':
        task = TemporalNodeClassificationTask(
            num_neighbors=args.num_neighbors or [50],
            batch_size=args.batch_size)
        out_channels = int(graph.y.max()) + 1
    else:
        task = TemporalLinkPredictionTask(
            num_neighbors=args.num_neighbors or [10], batch_size=200,
            mrr_negatives=20, mrr_max_queries=1000, embedding_dim=64)
        out_channels = task.options.embedding_dim
    featureless = bool((graph.x == 0).all())
    msg = getattr(graph.events, 'msg', None)
    model = THeGCN(graph.x.size(1), args.hidden, out_channels,
                   edge_dim=0 if msg is None else msg.size(1),
                   time_dim=args.time_dim, use_time=not args.no_time,
                   use_edge_attr=not featureless,
                   fixed_gate=args.fixed_gate,
                   num_nodes=graph.num_nodes if featureless else None)

    def log(phase, epoch, m):
        print(f'epoch {epoch:3d} loss {m["train_loss"]:.4f} val '
              f'{m[f"val_{task.metric}"]:.4f} test '
              f'{m[f"test_{task.metric}"]:.4f}')

    res = fit_thegcn(model, graph, task, epochs=args.epochs, lr=args.lr,
                     weight_decay=5e-4, patience=None, device=args.device,
                     generator=torch.Generator().manual_seed(args.seed),
                     progress=not args.no_progress, on_epoch=log)
    print(f'best validation epoch {res.best_epoch}:',
          {k: round(v, 4) for k, v in res.metrics.items()
           if k.startswith('test')})
    if 'gate_same_class' in res.metrics:
        print('mean learned TMP gate (g > 0.5 low-pass, < 0.5 high-pass): '
              f"same-class events {res.metrics['gate_same_class']:.3f}, "
              f"cross-class events {res.metrics['gate_cross_class']:.3f}")


if __name__ == '__main__':
    main()
