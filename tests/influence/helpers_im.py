r"""Tiny graphs with known answers for the influence tests."""
import itertools

import numpy as np
import torch

PATH = torch.tensor([[0, 1], [1, 2]])  # a -> b -> c
DIAMOND = torch.tensor([[0, 0, 1, 2], [1, 2, 3, 3]])  # s->a, s->b, a->t, b->t
STAR = torch.tensor([[0] * 10, list(range(1, 11))])  # centre 0 -> 10 leaves


def random_graph(rng, n, m, p_low=0.1, p_high=0.9):
    r"""A random simple directed graph without self-loops."""
    pairs = [(u, v) for u in range(n) for v in range(n) if u != v]
    idx = rng.choice(len(pairs), size=m, replace=False)
    ei = torch.tensor([pairs[i] for i in idx]).t().contiguous()
    probs = torch.tensor(rng.uniform(p_low, p_high, size=m))
    return ei, probs


def ancestors(ei, n, v):
    r"""Nodes that can reach v (v included)."""
    out = {v}
    frontier = [v]
    src, dst = ei[0].tolist(), ei[1].tolist()
    while frontier:
        w = frontier.pop()
        for a, b in zip(src, dst):
            if b == w and a not in out:
                out.add(a)
                frontier.append(a)
    return out


def brute_force_opt(spread_fn, candidates, k):
    best, arg = -1.0, None
    for s in itertools.combinations(candidates, k):
        val = spread_fn(list(s))
        if val > best:
            best, arg = val, s
    return best, arg
