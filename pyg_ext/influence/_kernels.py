r"""Compiled (numba) kernels for RR-set sampling and Monte-Carlo
diffusion.

Every random kernel works on one *block* and owns its generator
(xoshiro256+ seeded by splitmix64 from the block's seed), so the output of
a block never depends on which thread runs it or how many threads there
are. Arrays are flat and contiguous: ``in_ptr`` (int64), ``in_src``
(int32), ``in_p`` (float32) form the reverse CSR; RR sets are ``(ptr
int64, nodes int32)``. The greedy / coverage kernels live in
:mod:`pyg_ext.influence._greedy` (re-exported here).
"""
import math

import numpy as np
from numba import njit

from pyg_ext.influence._greedy import (  # noqa: F401
    _topk_sum, cim_greedy_rr, compact_ids, count_covered, greedy_max_cover,
    hetero_im_kernel, inverted_index, random_feasible_size)
from pyg_ext.influence._rng import rand, randint, rng_state

__all__ = []

# Sampling methods for IC in-edges.
VANILLA = 0  # one coin per in-edge
SUBSIM = 1  # geometric skip on nodes whose in-edges share one probability
# nodes with unequal in-probabilities and more in-edges than this use the
# heterogeneous (sorted, proposal-rate) subset sampler under SUBSIM
SKEW_MIN_DEG = 8


@njit(cache=True)
def _grow(buf, size):
    out = np.empty(max(2 * buf.shape[0], size), dtype=buf.dtype)
    out[:buf.shape[0]] = buf
    return out


@njit(cache=True, inline='always')
def _push(buf, top, u, stamp):
    # marks u visited and appends it to the growing RR-set buffer
    stamp[u] = 1
    if top + 1 > buf.shape[0]:
        buf = _grow(buf, top + 1)
    buf[top] = u
    return buf, top + 1


@njit(cache=True, nogil=True)
def rr_block(in_ptr, in_src, in_p, in_cum, equal, logq, n, num_sets, seed,
             lt, method, excluded, root_pool, fixed_roots, stop_mask, stamp):
    r"""Samples :obj:`num_sets` RR sets.

    Args:
        lt (bool): Linear threshold (reverse random walk) instead of IC.
        method (int): :data:`VANILLA` or :data:`SUBSIM` (IC only).
        excluded (uint8[n] or empty): Nodes that are removed from the graph
            (a root in it gives an empty set; an in-neighbour in it is never
            entered).
        root_pool (int32[*]): If non-empty, roots are drawn uniformly from it.
        fixed_roots (int32[*]): If non-empty, the roots (``num_sets`` of them).
        stop_mask (uint8[*]): If non-empty, a set stops as soon as it reaches
            a node in the mask (used by the stopping-rule estimator).
        stamp (uint8[n]): All-zero visited flags (one workspace per
            thread), reset for the touched nodes after every set, so no O(n)
            array is cleared per block and the flags stay small in cache.

    Returns:
        ``(sizes int64[num_sets], nodes int32[total], roots int32[num_sets],
        hit uint8[num_sets])``; ``hit`` flags sets that reached
        :obj:`stop_mask`; ``nodes`` may be a view of a larger buffer.
    """
    rs = rng_state(seed)
    use_ex = excluded.shape[0] > 0
    sizes = np.zeros(num_sets, dtype=np.int64)
    roots = np.empty(num_sets, dtype=np.int32)
    hit = np.zeros(num_sets, dtype=np.uint8)
    buf = np.empty(max(16, 4 * num_sets), dtype=np.int32)
    use_stop = stop_mask.shape[0] > 0
    top = 0
    last = 0
    for r in range(num_sets):
        for i in range(last, top):  # clear the previous set's flags
            stamp[buf[i]] = 0
        last = top
        if fixed_roots.shape[0] > 0:
            root = fixed_roots[r]
        elif root_pool.shape[0] > 0:
            root = root_pool[randint(rs, root_pool.shape[0])]
        else:
            root = randint(rs, n)
        roots[r] = root
        if use_ex and excluded[root]:
            continue
        start = top
        buf, top = _push(buf, top, root, stamp)
        if use_stop and stop_mask[root]:
            hit[r] = 1
            sizes[r] = top - start
            continue
        head = start
        done = False
        while head < top and not done:
            w = buf[head]
            head += 1
            s = in_ptr[w]
            d = in_ptr[w + 1] - s
            if d == 0:
                continue
            if lt:
                x = rand(rs)
                if x >= in_cum[s + d - 1]:
                    break
                lo = 0
                hi = d - 1
                while lo < hi:  # first j with cum[j] > x
                    mid = (lo + hi) // 2
                    if in_cum[s + mid] > x:
                        hi = mid
                    else:
                        lo = mid + 1
                u = in_src[s + lo]
                if stamp[u] or (use_ex and excluded[u]):
                    break
                buf, top = _push(buf, top, u, stamp)
                if use_stop and stop_mask[u]:
                    hit[r] = 1
                    break
                continue
            if method == SUBSIM and equal[w]:
                lq = logq[w]
                if lq == 0.0:  # p == 0
                    continue
                if lq < -700.0:  # p == 1: every in-edge is live
                    i = 0
                else:
                    g = math.log(1.0 - rand(rs)) / lq
                    i = d if g >= d else int(g)
                while i < d:
                    u = in_src[s + i]
                    if not stamp[u] and not (use_ex and excluded[u]):
                        buf, top = _push(buf, top, u, stamp)
                        if use_stop and stop_mask[u]:
                            hit[r] = 1
                            done = True
                            break
                    if lq < -700.0:
                        i += 1
                    else:
                        g = math.log(1.0 - rand(rs)) / lq
                        i = d if g >= d - i - 1 else i + 1 + int(g)
            elif method == SUBSIM and d > SKEW_MIN_DEG:
                # heterogeneous subset sampling (in-list sorted by p desc):
                # coins while p >= 0.1, then geometric proposals at rate
                # q = p_i accepted with p_j / q (exact per-edge law)
                i = 0
                while i < d and not done:
                    q = float(in_p[s + i])
                    if q <= 0.0:
                        break
                    if q >= 0.1:
                        j = i
                        take = rand(rs) < q
                    else:
                        g = math.log(1.0 - rand(rs)) / math.log1p(-q)
                        if g >= d - i:
                            break
                        j = i + int(g)
                        take = rand(rs) * q < in_p[s + j]
                    i = j + 1
                    if not take:
                        continue
                    u = in_src[s + j]
                    if stamp[u] or (use_ex and excluded[u]):
                        continue
                    buf, top = _push(buf, top, u, stamp)
                    if use_stop and stop_mask[u]:
                        hit[r] = 1
                        done = True
            else:
                for j in range(s, s + d):
                    u = in_src[j]
                    if stamp[u] or (use_ex and excluded[u]):
                        continue
                    if rand(rs) < in_p[j]:
                        buf, top = _push(buf, top, u, stamp)
                        if use_stop and stop_mask[u]:
                            hit[r] = 1
                            done = True
                            break
        sizes[r] = top - start
    for i in range(last, top):
        stamp[buf[i]] = 0
    return sizes, buf[:top], roots, hit


@njit(cache=True, nogil=True)
def rr_blocks(in_ptr, in_src, in_p, in_cum, equal, logq, n, block_sizes,
              seeds, lt, method, excluded, root_pool, stop_mask, stamp):
    r"""Runs :func:`rr_block` for consecutive blocks (sizes and seeds given)
    in one compiled call and concatenates their outputs in block order, so
    that splitting a request into many small blocks costs no Python
    overhead per block."""
    total = 0
    for b in range(block_sizes.shape[0]):
        total += block_sizes[b]
    sizes = np.empty(total, dtype=np.int64)
    roots = np.empty(total, dtype=np.int32)
    hit = np.empty(total, dtype=np.uint8)
    nodes = np.empty(max(16, 4 * total), dtype=np.int32)
    no_roots = np.empty(0, dtype=np.int32)
    off = 0
    top = 0
    for b in range(block_sizes.shape[0]):
        m = block_sizes[b]
        s, nd, rt, h = rr_block(in_ptr, in_src, in_p, in_cum, equal, logq,
                                n, m, seeds[b], lt, method, excluded,
                                root_pool, no_roots, stop_mask, stamp)
        sizes[off:off + m] = s
        roots[off:off + m] = rt
        hit[off:off + m] = h
        t = nd.shape[0]
        if top + t > nodes.shape[0]:
            nodes = _grow(nodes, top + t)
        nodes[top:top + t] = nd
        top += t
        off += m
    return sizes, nodes[:top], roots, hit


@njit(cache=True, nogil=True)
def mc_block(out_ptr, out_dst, out_p, n, seeds, num_sims, seed, lt,
             excluded):
    r"""Forward IC/LT simulations from :obj:`seeds`; returns the number of
    active nodes per simulation (float64[num_sims]). LT thresholds are drawn
    lazily for the touched nodes only."""
    rs = rng_state(seed)
    stamp = np.zeros(n, dtype=np.int32)
    tstamp = np.zeros(n, dtype=np.int32)
    thr = np.zeros(n, dtype=np.float64)
    acc = np.zeros(n, dtype=np.float64)
    queue = np.empty(n, dtype=np.int32)
    out = np.empty(num_sims, dtype=np.float64)
    for sim in range(num_sims):
        tag = sim + 1
        top = 0
        for i in range(seeds.shape[0]):
            v = seeds[i]
            if stamp[v] != tag and not excluded[v]:
                stamp[v] = tag
                queue[top] = v
                top += 1
        head = 0
        while head < top:
            u = queue[head]
            head += 1
            for j in range(out_ptr[u], out_ptr[u + 1]):
                v = out_dst[j]
                if stamp[v] == tag or excluded[v]:
                    continue
                if lt:
                    if tstamp[v] != tag:
                        tstamp[v] = tag
                        thr[v] = 1.0 - rand(rs)
                        acc[v] = 0.0
                    acc[v] += out_p[j]
                    if acc[v] >= thr[v]:
                        stamp[v] = tag
                        queue[top] = v
                        top += 1
                elif rand(rs) < out_p[j]:
                    stamp[v] = tag
                    queue[top] = v
                    top += 1
        out[sim] = top
    return out


