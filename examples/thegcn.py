r"""THeGCN on an event stream, end to end, without the config loop.

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
import time

import torch
from tqdm.auto import tqdm

from pyg_ext.datasets.temporal import load_tgn_format, synthetic_event_stream
from pyg_ext.train.tasks.temporal import (TemporalLinkPrediction,
                                          TemporalLinkPredictionOptions,
                                          TemporalNodeClassification,
                                          TemporalNodeClassificationOptions)
from pyg_ext.utils import temporal_edge_heterophily
from pyg_ext.zoo.thegcn import THeGCNOptions, build_thegcn, gate_statistics


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
    p.add_argument('--no-progress', action='store_true')
    args = p.parse_args()
    torch.manual_seed(args.seed)
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
        task = TemporalNodeClassification(TemporalNodeClassificationOptions(
            num_neighbors=args.num_neighbors or [50],
            batch_size=args.batch_size))
    else:
        task = TemporalLinkPrediction(TemporalLinkPredictionOptions(
            num_neighbors=args.num_neighbors or [10], batch_size=200,
            mrr_negatives=20, mrr_max_queries=1000))
    data = task.build(graph)
    in_ch, out_ch = task.model_channels(data)
    featureless = bool((graph.x == 0).all())
    model = build_thegcn(in_ch, out_ch, THeGCNOptions(
        hidden_channels=args.hidden, time_dim=args.time_dim,
        edge_dim=graph.msg.size(1), use_time=not args.no_time,
        use_edge_attr=not featureless, fixed_gate=args.fixed_gate,
        num_nodes=graph.num_nodes if featureless else 0))
    head = task.make_head(data, out_ch)
    params = list(model.parameters()) + (list(head.parameters())
                                         if head is not None else [])
    opt = torch.optim.Adam(params, lr=args.lr, weight_decay=5e-4)
    gen = torch.Generator().manual_seed(args.seed)
    best, best_test = -1.0, None
    for epoch in tqdm(range(args.epochs), disable=args.no_progress):
        model.train()
        t0 = time.perf_counter()
        losses = []
        for idx in task.train_batches(data, gen):
            opt.zero_grad()
            loss = task.batch_loss(model, head, data, idx, gen)
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
        model.eval()
        out = {s: task.predict(model, head, data, s) for s in ('val',
                                                                'test')}
        m = task.compute_metrics(out, data)
        if m[f'val_{task.metric}'] > best:
            best, best_test = m[f'val_{task.metric}'], m
        tqdm.write(f'epoch {epoch:3d} loss {sum(losses) / len(losses):.4f} '
                   f'val {m[f"val_{task.metric}"]:.4f} test '
                   f'{m[f"test_{task.metric}"]:.4f} '
                   f'({time.perf_counter() - t0:.1f} s)')
    print('best validation epoch:',
          {k: round(v, 4) for k, v in best_test.items()
           if k.startswith('test')})
    if args.task == 'node':
        print('mean learned TMP gate (g > 0.5 low-pass, < 0.5 high-pass):',
              gate_statistics(model, task, data, 'val'))


if __name__ == '__main__':
    main()
