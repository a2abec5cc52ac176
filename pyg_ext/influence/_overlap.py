r"""OPIM-C's rounds on two ranks with ``dist_place='overlap'``: rank 0
holds :math:`R_1` and runs the greedy, rank 1 holds :math:`R_2`; rank 1
also samples the last blocks of each round's :math:`R_1` sets and sends
them to rank 0 while rank 0 samples its own, then samples its
:math:`R_2` sets while rank 0 runs the greedy. Point-to-point messages
only: per round the share (if any), the seeds and rank 1's count.
"""
import os
import queue
import threading
import time
from concurrent.futures import Future
from typing import Optional, Tuple

import numpy as np
import torch
import torch.distributed as dist

from pyg_ext.influence import _kernels as K
from pyg_ext.influence._dist import Ctx
from pyg_ext.influence.rr import num_blocks

# rank 1's share of each round's R1 blocks as a fixed fraction
# (tests); None balances it from the timings of the round before
SHARE: Optional[float] = None
_T_SEEDS, _T_REP, _T_HEAD, _T_PAY = 11, 12, 13, 14  # point-to-point tags
_OK, _BOUND = 0, 1
_HEAD = 10  # int64 fields of the seeds message before the seeds

_BOUND_MSG = ('another rank of the process group stopped sampling RR sets '
              'at its memory bound; pass a larger max_memory or relax the '
              'accuracy')


def overlap_rounds(ctx: Ctx, samplers, thetas, k: int, cand: np.ndarray,
                   check, enough):
    r"""The rounds of OPIM-C on two ranks with ``dist_place='overlap'``.

    Round :math:`i` grows :math:`R_1` and :math:`R_2` to ``thetas[i - 1]``
    sets, rank 0 runs the greedy on :math:`R_1`, rank 1 counts the sets of
    :math:`R_2` the seeds cover, and the rounds stop at the first where
    ``enough(theta, cov1, upper, cov2)``. Rank 0 samples the first blocks
    of each round's :math:`R_1` sets, rank 1 the last ``m`` (sent to rank
    0 while it samples its own) and then its :math:`R_2` sets while rank 0
    runs the greedy; rank 1 sets the next round's ``m`` from both ranks'
    timings (:func:`_next_share`) and sends it with its count.
    Every block is sampled from its own seed, so rank 0's :math:`R_1` and
    rank 1's :math:`R_2` are the one-process collections, set by set.
    ``check(theta, avg_size)`` runs on both ranks before a round (the same
    numbers, so both raise together); a memory bound reached while
    sampling is told to the other rank in the next message.

    Returns ``(i, theta, seeds, cov1, upper, cov2)`` on both ranks;
    :attr:`Ctx.held` is then rank 0's :math:`R_1` and rank 1's
    :math:`R_2`.
    """
    first = SHARE is not None
    ctx.mode = 'gather'  # the one-process greedy on rank 0's R_1
    out = (_overlap0 if ctx.rank == 0 else _overlap1)(
        ctx, samplers, list(thetas), k, cand, check, enough,
        _share(num_blocks(thetas[0]), SHARE if first else 0.0))
    return out


def _share(nb: int, frac: float) -> int:
    return min(nb, max(0, int(round(nb * frac))))


def _send(ctx: Ctx, buf: np.ndarray, dst: int, tag: int) -> None:
    t0 = time.perf_counter()
    dist.send(torch.from_numpy(buf), group=ctx.group, group_dst=dst, tag=tag)
    ctx.seconds += time.perf_counter() - t0
    ctx.bytes += buf.nbytes


def _recv(ctx: Ctx, buf: np.ndarray, src: int, tag: int) -> np.ndarray:
    t0 = time.perf_counter()
    dist.recv(torch.from_numpy(buf), group=ctx.group, group_src=src, tag=tag)
    ctx.seconds += time.perf_counter() - t0
    return buf


_JOBS: Optional[Tuple[int, queue.SimpleQueue]] = None  # (pid, queue)


def _worker(jobs: queue.SimpleQueue) -> None:
    while True:
        fn, fut = jobs.get()
        try:
            fut.set_result(fn())
        except BaseException as e:  # handed to the caller by the future
            fut.set_exception(e)


def _background(fn) -> Future:
    r"""Runs :obj:`fn` in this process's one helper thread; returns its
    future. The thread is started once and is a daemon: a receive left
    waiting by an interrupted call does not hold the process at exit
    (starting a thread per round costs a scheduler tick when the cores
    are busy)."""
    global _JOBS
    if _JOBS is None or _JOBS[0] != os.getpid():  # none yet, or forked
        _JOBS = (os.getpid(), queue.SimpleQueue())
        threading.Thread(target=_worker, args=(_JOBS[1], ), daemon=True,
                         name='pyg_ext-rr').start()
    fut: Future = Future()
    _JOBS[1].put((fn, fut))
    return fut


def _receive(ctx: Ctx) -> Future:
    r"""Receives rank 1's share of a round's :math:`R_1` blocks (a head
    ``[sets, entries]``, then one int32 payload ``sizes | nodes | roots``)
    in the helper thread while the caller samples; a future of ``(sets,
    entries, payload)``."""
    def run():
        head = np.zeros(2, dtype=np.int64)
        dist.recv(torch.from_numpy(head), group=ctx.group, group_src=1,
                  tag=_T_HEAD)
        ns, ne = int(head[0]), int(head[1])
        pay = np.empty(2 * ns + ne, dtype=np.int32)
        dist.recv(torch.from_numpy(pay), group=ctx.group, group_src=1,
                  tag=_T_PAY)
        return ns, ne, pay
    return _background(run)


def _stamp(ctx: Ctx) -> Tuple[int, int]:
    return ctx.bytes, int(ctx.seconds * 1e6)


def _overlap0(ctx, samplers, thetas, k, cand, check, enough, m):
    s1 = samplers[0]
    rr = ctx.held = s1.new(0)
    msg = np.zeros(_HEAD + k, dtype=np.int64)
    rep = np.zeros(5, dtype=np.int64)
    sampled = [0, 0.0]  # this rank's R_1 sets and seconds, all rounds
    for i, theta in enumerate(thetas, 1):
        check(theta, rr._size / len(rr) if len(rr) else 1.0)
        sizes, seeds = s1.plan(theta - len(rr))
        own = sizes.shape[0] - m
        # rank 1's blocks arrive while this rank samples its own: a thread
        # waits for them (a message that waits for a busy main thread can
        # cost a scheduler tick, 4 ms, on a machine with few cores)
        share = _receive(ctx) if m else None
        err = None
        t0 = time.perf_counter()
        try:
            s1.sample(rr, sizes[:own], seeds[:own])
        except ValueError as e:
            err = e
        sampled[0] += int(sizes[:own].sum())
        sampled[1] += time.perf_counter() - t0
        if m:  # rank 1's blocks come after this rank's, as in one process
            t0 = time.perf_counter()
            ns, ne, pay = share.result()
            ctx.seconds += time.perf_counter() - t0
            if err is None:
                rr._append(pay[:ns], pay[ns:ns + ne], pay[ns + ne:])
                try:
                    s1.check_bytes(rr)
                except ValueError as e:
                    err = e
        if err is not None:
            msg[0] = _BOUND
            _send(ctx, msg, 1, _T_SEEDS)
            raise err
        t0 = time.perf_counter()
        seeds_, gains, upper = rr.max_cover(k, cand)
        t_greedy = time.perf_counter() - t0
        cov1 = int(gains.sum())
        ctx.steps += k
        # rank 1 sets the next round's share from both ranks' timings
        mine = _stamp(ctx)
        msg[:_HEAD] = (_OK, cov1, upper, len(rr), rr._size,
                       sampled[0], int(sampled[1] * 1e6),
                       int(t_greedy * 1e6), *mine)
        msg[_HEAD:] = seeds_
        _send(ctx, msg, 1, _T_SEEDS)
        _recv(ctx, rep, 1, _T_REP)
        if rep[0] != _OK:
            raise ValueError(_BOUND_MSG)
        cov2, m = int(rep[1]), int(rep[4])
        ctx.stamps = np.array([mine, rep[2:4]], dtype=np.int64)
        if enough(theta, cov1, upper, cov2):
            break
    return i, theta, seeds_, cov1, int(upper), cov2


def _next_share(thetas, i, own, greedy, other) -> int:
    r"""Rank 1's blocks of round :obj:`i` + 1. With :math:`b_0, b_1` the
    seconds per set of the sampling so far on ranks 0 and 1 (``own`` and
    ``other``: ``(sets, seconds)`` summed over the rounds), :math:`G` this
    round's greedy time scaled to the next round's sets and :math:`n` its
    new sets, rank 1 takes the :math:`x` sets that balance :math:`(n - x)
    b_0 + G = (n + x) b_1`."""
    if i >= len(thetas):
        return 0
    n = thetas[i] - thetas[i - 1]
    nb = num_blocks(n)
    if SHARE is not None:
        return _share(nb, SHARE)
    if min(own) <= 0:
        return 0
    b0 = own[1] / own[0]
    # a speed measured on less than 2 ms of sampling is mostly noise
    b1 = other[1] / other[0] if min(own[1], other[1]) >= 2e-3 else b0
    g = greedy * thetas[i] / thetas[i - 1]
    x = (n * (b0 - b1) + g) / (b0 + b1)
    # above one half rank 1 would sample more R_1 sets than rank 0 on top
    # of all of R_2: only a much faster rank 1 could want that
    return _share(nb, min(max(x / n, 0.0), 0.5))


def _overlap1(ctx, samplers, thetas, k, cand, check, enough, m):
    s1, s2 = samplers
    rr2 = ctx.held = s2.new(0)
    msg = np.zeros(_HEAD + k, dtype=np.int64)
    rep = np.zeros(5, dtype=np.int64)
    sampled = [0, 0.0]  # this rank's R_2 sets and seconds, all rounds
    n1 = e1 = 0  # rank 0's R_1 (sets, entries) after the round before
    for i, theta in enumerate(thetas, 1):
        check(theta, e1 / n1 if n1 else 1.0)
        sizes, seeds = s1.plan(theta - n1)
        sent = []
        if m:
            nb = sizes.shape[0]
            part = s1.new(0)
            for o in s1._run(sizes[nb - m:], seeds[nb - m:]):
                part._append(o[0], o[1], o[2])
            pay = np.concatenate([part.sizes().astype(np.int32), part._nodes,
                                  part._roots])
            head = np.array([len(part), part._size], dtype=np.int64)
            sent = [(dist.isend(torch.from_numpy(b), group=ctx.group,
                                group_dst=0, tag=t), b)
                    for b, t in ((head, _T_HEAD), (pay, _T_PAY))]
            ctx.bytes += head.nbytes + pay.nbytes
        err = None
        before = len(rr2)
        t0 = time.perf_counter()
        try:
            s2.fill(rr2, theta - len(rr2))
        except ValueError as e:
            err = e
        sampled[0] += len(rr2) - before
        sampled[1] += time.perf_counter() - t0
        _recv(ctx, msg, 0, _T_SEEDS)
        for w, _ in sent:  # rank 0 took them before it sent the seeds
            w.wait()
        if msg[0] != _OK:
            raise ValueError(_BOUND_MSG)
        if err is not None:
            rep[0] = _BOUND
            _send(ctx, rep, 0, _T_REP)
            raise err
        cov1, upper, n1, e1, own_sets, own_us, greedy_us = (
            int(v) for v in msg[1:8])
        theirs = msg[8:10].copy()
        seeds_ = msg[_HEAD:].copy()
        cover = np.zeros(rr2.num_nodes, dtype=np.uint8)
        cover[seeds_] = 1
        cov2 = int(K.count_covered(rr2._ptr, rr2._nodes, cover))
        ctx.steps += k
        m = _next_share(thetas, i, (own_sets, own_us / 1e6), greedy_us / 1e6,
                        tuple(sampled))
        mine = _stamp(ctx)
        ctx.stamps = np.array([theirs, mine], dtype=np.int64)
        rep[:] = (_OK, cov2, *mine, m)
        _send(ctx, rep, 0, _T_REP)
        if enough(theta, cov1, upper, cov2):
            break
    return i, theta, seeds_, cov1, upper, cov2
