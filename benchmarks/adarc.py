r"""AdaRC benchmarks: speed/memory and the experiment tables of issue 5.

    python benchmarks/adarc.py speed                    # CSBM full size + arxiv-size graph
    python benchmarks/adarc.py csbm --seeds 3           # CSBM shift table
    python benchmarks/adarc.py twitch --seeds 2         # Twitch-E DE -> X
    python benchmarks/adarc.py syncora --seeds 3        # Syn-Cora-style
    python benchmarks/adarc.py ablation --seeds 3       # PIC vs entropy vs PL; gamma vs all
    python benchmarks/adarc.py backbones --seeds 2      # GPRGNN / APPNP / JKNet / GCNII

Every table prints mean +- std over seeds in Markdown. Use --quick for a
fast smoke run. Real data come from --data-root (default: $PYG_EXT_DATA).
"""
import argparse
import copy
import json
import os
import resource
import statistics
import time
from typing import Dict, List, Optional

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from pyg_ext.datasets import CSBMStructureShift, csbm_graph
from pyg_ext.nn.models import GPRGNN
from pyg_ext.tta import AdaRC, ERMBase, LAMEBase, T3ABase, TentBase


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pretrain(pair, epochs, seed, hidden=32, K=9, lr=0.01, wd=5e-4,
             progress=False):
    src = pair.source
    torch.manual_seed(seed)
    model = GPRGNN(pair.num_features, hidden, pair.num_classes, K=K)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=wd)
    for _ in tqdm(range(epochs), leave=False, disable=not progress,
                  desc='pretrain'):
        model.train()
        opt.zero_grad()
        out = model(src.x, src.edge_index)
        F.cross_entropy(out[src.train_mask],
                        src.y[src.train_mask]).backward()
        opt.step()
    return model.eval()


def acc(logits, data) -> float:
    m = data.test_mask
    return float((logits.argmax(-1)[m] == data.y[m]).float().mean())


def make_bases(args) -> Dict[str, object]:
    return {'erm': ERMBase(), 'tent': TentBase(lr=0.1, steps=10),
            't3a': T3ABase(filter_k=args.t3a_filter_k), 'lame': LAMEBase()}


def evaluate(model, pair, bases, steps, **ada_kw) -> Dict[str, float]:
    out = {}
    for name, base in bases.items():
        out[name] = acc(base(copy.deepcopy(model), pair.target), pair.target)
        ada = AdaRC(model, base_tta=base, steps=steps, **ada_kw)
        out[name + '+AdaRC'] = acc(ada.adapt(pair.target), pair.target)
    return out


def load_jsonl(path: Optional[str]) -> Dict[str, Dict]:
    r"""Results of finished (setting, seed) units from ``--out``."""
    if not path or not os.path.exists(path):
        return {}
    out = {}
    with open(path) as f:
        for line in f:
            if line.strip():
                rec = json.loads(line)
                out[rec['key']] = rec['result']
    return out


def append_jsonl(path: Optional[str], key: str, result: Dict) -> None:
    r"""One line per finished unit, flushed, so an interrupted run
    resumes with ``--out`` pointing at the same file."""
    if not path:
        return
    with open(path, 'a') as f:
        f.write(json.dumps({'key': key, 'result': result}) + '\n')
        f.flush()
        os.fsync(f.fileno())


def fmt(vals: List[float]) -> str:
    m = statistics.mean(vals) * 100
    s = statistics.stdev(vals) * 100 if len(vals) > 1 else 0.0
    return f'{m:.2f} ± {s:.2f}'


def table(columns: Dict[str, List[Dict[str, float]]], rows: List[str]):
    cols = list(columns)
    print('| method | ' + ' | '.join(cols) + ' |')
    print('|---|' + '---|' * len(cols))
    for r in rows:
        print(f'| {r} | ' + ' | '.join(
            fmt([res[r] for res in columns[c]]) for c in cols) + ' |')


def cmd_csbm(args):
    bases = {k: v for k, v in make_bases(args).items()
             if k in args.bases.split(',')}
    settings = args.settings.split(',')
    columns: Dict[str, List[Dict[str, float]]] = {}
    done = load_jsonl(args.out)
    for setting in settings:
        for seed in range(args.seeds):
            key = f'csbm/{setting}/{seed}'
            if key in done:  # finished in an earlier, interrupted run
                for col, res in done[key].items():
                    columns.setdefault(col, []).append(res)
                continue
            t0 = time.perf_counter()
            row = {}
            ds = CSBMStructureShift(setting, 0.0, args.num_nodes,
                                    args.num_features, args.mu,
                                    seed=2 * seed)
            model = pretrain(ds.pair(), args.epochs, seed,
                             progress=args.progress)
            for shift in (0.0, 0.02):
                pair = CSBMStructureShift(setting, shift, args.num_nodes,
                                          args.num_features, args.mu,
                                          seed=2 * seed).pair()
                col = setting + (' +attr' if shift else '')
                row[col] = evaluate(model, pair, bases, args.steps)
                columns.setdefault(col, []).append(row[col])
            append_jsonl(args.out, key, row)
            print(f'[{setting} seed {seed}: {time.perf_counter() - t0:.0f}s] '
                  + json.dumps(row), flush=True)
    rows = [r for b in bases for r in (b, b + '+AdaRC')]
    table(columns, rows)


def cmd_twitch(args):
    from pyg_ext.datasets import twitch_shift
    bases = {k: v for k, v in make_bases(args).items()
             if k in args.bases.split(',')}
    columns: Dict[str, List[Dict[str, float]]] = {}
    models = {}
    done = load_jsonl(args.out)
    for target in args.targets.split(','):
        for h in (None, 0.2):
            pair = twitch_shift(args.data_root, 'DE', target,
                                target_homophily=h)
            col = f"{target} {'natural' if h is None else 'h=0.2'}"
            for seed in range(args.seeds):
                key = f'twitch/{col}/{seed}'
                if key in done:
                    columns.setdefault(col, []).append(done[key])
                    continue
                if seed not in models:
                    models[seed] = pretrain(pair, args.epochs, seed,
                                            hidden=args.hidden, K=args.K,
                                            progress=args.progress)
                res = evaluate(models[seed], pair, bases, args.steps)
                append_jsonl(args.out, key, res)
                columns.setdefault(col, []).append(res)
            print(f'[{target} h={h} done]', flush=True)
    table(columns, [r for b in bases for r in (b, b + '+AdaRC')])


def cmd_syncora(args):
    from pyg_ext.datasets import syn_cora_shift
    bases = {k: v for k, v in make_bases(args).items()
             if k in args.bases.split(',')}
    columns: Dict[str, List[Dict[str, float]]] = {}
    for seed in range(args.seeds):
        pair = syn_cora_shift(args.data_root, seed=seed + 1)
        model = pretrain(pair, args.epochs, seed, progress=args.progress)
        columns.setdefault('Syn-Cora h0.8->0.2', []).append(
            evaluate(model, pair, bases, args.steps))
        src_pair = type(pair)(pair.source, pair.source, 'no shift')
        src_pair.target.test_mask = pair.target.test_mask
        columns.setdefault('no shift (h0.8 test nodes)', []).append(
            evaluate(model, src_pair, bases, args.steps))
    table(columns, [r for b in bases for r in (b, b + '+AdaRC')])


def cmd_ablation(args):
    columns: Dict[str, List[Dict[str, float]]] = {}
    for setting in args.settings.split(','):
        for seed in range(args.seeds):
            pair = CSBMStructureShift(setting, 0.0, args.num_nodes,
                                      args.num_features, args.mu,
                                      seed=2 * seed).pair()
            model = pretrain(pair, args.epochs, seed, progress=args.progress)
            res = {'ERM (no adaptation)': acc(
                model(pair.target.x, pair.target.edge_index), pair.target)}
            for loss in ('pic', 'entropy', 'pl'):
                ada = AdaRC(model, steps=args.steps, loss=loss)
                res[f'gamma, {loss}'] = acc(ada.adapt(pair.target),
                                            pair.target)
            for lr in (1.0, 0.01):
                ada = AdaRC(model, hop_params=list(model.parameters()),
                            steps=args.steps, lr=lr)
                res[f'all parameters, pic, lr={lr}'] = acc(
                    ada.adapt(pair.target), pair.target)
            columns.setdefault(setting, []).append(res)
    table(columns, list(columns[next(iter(columns))][0]))


def cmd_backbones(args):
    from pyg_ext.nn.models import LearnableAPPNP, LearnableGCNII, \
        WeightedJKNet
    makers = {
        'GPRGNN (K=9)': lambda f, c: GPRGNN(f, 32, c, K=9),
        'APPNP, learnable alpha (K=10)': lambda f, c: LearnableAPPNP(
            f, 32, c, K=10, alpha=0.1),
        'JKNet, weighted sum (L=2)': lambda f, c: WeightedJKNet(
            f, 32, c, num_layers=2),
        'GCNII, learnable alpha_l (L=4)': lambda f, c: LearnableGCNII(
            f, 32, c, num_layers=4),
    }
    columns: Dict[str, List[Dict[str, float]]] = {}
    for setting in args.settings.split(','):
        for seed in range(args.seeds):
            pair = CSBMStructureShift(setting, 0.0, args.num_nodes,
                                      args.num_features, args.mu,
                                      seed=2 * seed).pair()
            res = {}
            for name, make in makers.items():
                torch.manual_seed(seed)
                model = make(pair.num_features, pair.num_classes)
                opt = torch.optim.Adam(model.parameters(), lr=0.01,
                                       weight_decay=5e-4)
                src = pair.source
                for _ in range(args.epochs):
                    model.train()
                    opt.zero_grad()
                    F.cross_entropy(model(src.x, src.edge_index),
                                    src.y).backward()
                    opt.step()
                model.eval()
                with torch.no_grad():
                    res[name] = acc(model(pair.target.x,
                                          pair.target.edge_index),
                                    pair.target)
                ada = AdaRC(model, steps=args.steps)
                res[name + ' +AdaRC'] = acc(ada.adapt(pair.target),
                                            pair.target)
            columns.setdefault(setting, []).append(res)
            print(f'[{setting} seed {seed}]', flush=True)
    table(columns, list(columns[next(iter(columns))][0]))


def timeit(fn, reps):
    fn()
    t = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        t.append(time.perf_counter() - t0)
    return statistics.median(t)


def cmd_speed(args):
    graphs = {
        'CSBM full (n=5000, p=2000)': lambda: csbm_graph(
            5000, 2000, mu=0.03, degree=5, homophily=0.2, seed=0),
        'arxiv-size random (n=169343, p=128, C=40, E~1.17M)': lambda:
        csbm_graph(169343, 128, num_classes=40, mu=1.0, degree=7.0,
                   homophily=0.6, degree_convention='expected', seed=0),
    }
    if args.quick:
        graphs = {'CSBM small (n=2000, p=500)': lambda: csbm_graph(
            2000, 500, mu=0.06, seed=0)}
    print('| graph | forward (ms) | ERM alone (ms) | AdaRC+ERM per step (ms) '
          '| step / forward | Tent alone (ms) | AdaRC+Tent per step (ms) | '
          'overhead vs Tent | peak RSS before -> after (MB) |')
    print('|---|' + '---|' * 8)
    for name, make in graphs.items():
        data = make()
        C = int(data.y.max()) + 1
        torch.manual_seed(0)
        model = GPRGNN(data.num_features, 32, C, K=9).eval()
        with torch.no_grad():
            model.prop.gamma.copy_(torch.linspace(1, 0.1, 10))
        rss0 = peak_rss_mb()
        with torch.no_grad():
            fwd = timeit(lambda: model(data.x, data.edge_index), args.reps)
        erm = timeit(lambda: ERMBase()(copy.deepcopy(model), data),
                     args.reps)
        steps = args.steps
        ada = AdaRC(model, base_tta='erm', steps=steps)
        step = timeit(lambda: ada.adapt(data), 1) / (steps + 1)
        tent = TentBase(lr=0.1, steps=args.tent_steps)
        t_tent = timeit(lambda: tent(copy.deepcopy(model), data), 1)
        ada_t = AdaRC(model, base_tta=tent, steps=steps)
        step_t = timeit(lambda: ada_t.adapt(data), 1) / (steps + 1)
        rss1 = peak_rss_mb()
        print(f'| {name} | {fwd * 1e3:.1f} | {erm * 1e3:.1f} | '
              f'{step * 1e3:.1f} | {step / fwd:.2f} | {t_tent * 1e3:.1f} | '
              f'{step_t * 1e3:.1f} | {(step_t / t_tent - 1) * 100:+.1f}% | '
              f'{rss0:.0f} -> {rss1:.0f} |', flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('cmd', choices=['speed', 'csbm', 'twitch', 'syncora',
                                   'ablation', 'backbones'])
    p.add_argument('--seeds', type=int, default=3)
    p.add_argument('--epochs', type=int, default=500)
    p.add_argument('--steps', type=int, default=50)
    p.add_argument('--num-nodes', type=int, default=5000)
    p.add_argument('--num-features', type=int, default=2000)
    p.add_argument('--mu', type=float, default=0.03)
    p.add_argument('--settings',
                   default='homo2hetero,hetero2homo,high2low,low2high')
    p.add_argument('--bases', default='erm,tent,t3a')
    p.add_argument('--t3a-filter-k', type=int, default=2000)
    p.add_argument('--targets', default='ENGB,ES,FR,PTBR')
    p.add_argument('--hidden', type=int, default=32)
    p.add_argument('--K', type=int, default=9)
    p.add_argument('--data-root', default=os.environ.get('PYG_EXT_DATA'))
    p.add_argument('--reps', type=int, default=5)
    p.add_argument('--tent-steps', type=int, default=10)
    p.add_argument('--quick', action='store_true')
    p.add_argument('--progress', action='store_true')
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--out', default=None,
                   help='JSONL file: each finished (setting, seed) is '
                   'appended; a rerun with the same file skips them')
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    if args.quick:
        args.seeds, args.epochs, args.steps = 1, 30, 5
        args.num_nodes, args.num_features, args.mu = 500, 50, 0.19
        args.reps = 2
    {'speed': cmd_speed, 'csbm': cmd_csbm, 'twitch': cmd_twitch,
     'syncora': cmd_syncora, 'ablation': cmd_ablation,
     'backbones': cmd_backbones}[args.cmd](args)


if __name__ == '__main__':
    main()
