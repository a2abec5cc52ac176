r"""Compiled (numba) kernels that build and check the graph and RR-set
arrays: O(n + m) counting sorts (no ``lexsort``), per-node flags, and the
range/monotonicity checks that run before any other kernel reads
user-supplied arrays."""
import math

import numpy as np
from numba import njit

__all__ = []

# prepare(): how the per-edge probability is given
W_GIVEN = 0  # an explicit float64 array
W_WC = 1  # 1 / indeg(target)
W_UNIFORM = 2  # one constant


@njit(cache=True)
def bucket_ptr(keys, n):
    r"""CSR pointer of a counting sort: ``ptr[v + 1] - ptr[v]`` is the
    number of entries of :obj:`keys` (ints in ``[0, n)``) equal to ``v``."""
    ptr = np.zeros(n + 1, dtype=np.int64)
    for i in range(keys.shape[0]):
        ptr[keys[i] + 1] += 1
    for v in range(n):
        ptr[v + 1] += ptr[v]
    return ptr


@njit(cache=True)
def _isort(a, lo, hi):
    # insertion sort of a[lo:hi] (short in-lists)
    for i in range(lo + 1, hi):
        x = a[i]
        j = i - 1
        while j >= lo and a[j] > x:
            a[j + 1] = a[j]
            j -= 1
        a[j + 1] = x


@njit(cache=True)
def reverse_csr(src, dst, n, mode, probs, const):
    r"""Reverse CSR sorted by target, then source: one stable counting sort
    by target (sequential reads), then each in-list sorted by source in
    cache. With ``mode == W_GIVEN`` the in-lists are sorted as edge ids by
    (source, input position) and the float64 probabilities are returned in
    ``p64`` (``in_p`` is left for the caller to fill after
    :func:`sort_unequal`); otherwise ``in_p`` is filled and ``p64`` is
    empty.

    Returns ``(in_ptr int64[n+1], in_src int32[m], in_p float32[m],
    p64 float64[m or 0])``.
    """
    m = src.shape[0]
    in_ptr = bucket_ptr(dst, n)
    fill = in_ptr[:-1].copy()
    in_src = np.empty(m, dtype=np.int32)
    in_p = np.empty(m, dtype=np.float32)
    given = mode == W_GIVEN
    p64 = np.empty(m if given else 0, dtype=np.float64)
    if not given:
        for e in range(m):
            v = dst[e]
            j = fill[v]
            fill[v] = j + 1
            in_src[j] = src[e]
        for v in range(n):
            s = in_ptr[v]
            t = in_ptr[v + 1]
            if t - s <= 32:
                _isort(in_src, s, t)
            else:
                in_src[s:t] = np.sort(in_src[s:t])
            if mode == W_WC:
                x = np.float32(1.0 / (t - s)) if t > s else np.float32(0)
            else:
                x = np.float32(const)
            for j in range(s, t):
                in_p[j] = x
        return in_ptr, in_src, in_p, p64
    eid = np.empty(m, dtype=np.int64)
    for e in range(m):
        v = dst[e]
        j = fill[v]
        fill[v] = j + 1
        eid[j] = e
    for v in range(n):
        s = in_ptr[v]
        t = in_ptr[v + 1]
        if 1 < t - s <= 32:  # stable insertion sort by source
            for i in range(s + 1, t):
                x = eid[i]
                sx = src[x]
                j = i - 1
                while j >= s and src[eid[j]] > sx:
                    eid[j + 1] = eid[j]
                    j -= 1
                eid[j + 1] = x
        elif t - s > 32:
            # stable by source; ids are ascending, so ties keep input order
            key = np.empty(t - s, dtype=np.int64)
            for j in range(s, t):
                key[j - s] = np.int64(src[eid[j]]) * m + eid[j]
            key.sort()
            for j in range(s, t):
                eid[j] = key[j - s] % m
        for j in range(s, t):
            e = eid[j]
            in_src[j] = src[e]
            p64[j] = probs[e]
    return in_ptr, in_src, in_p, p64


@njit(cache=True)
def sort_unequal(in_ptr, in_src, p64):
    r"""Within every in-list whose probabilities differ, stable-sorts by
    probability descending (the in-list is already sorted by source, so
    ties stay by source). In place."""
    n = in_ptr.shape[0] - 1
    for v in range(n):
        s = in_ptr[v]
        t = in_ptr[v + 1]
        if t - s < 2:
            continue
        same = True
        for j in range(s + 1, t):
            if p64[j] != p64[s]:
                same = False
                break
        if same:
            continue
        if t - s <= 32:  # stable insertion sort, probability descending
            for i in range(s + 1, t):
                x = p64[i]
                u = in_src[i]
                j = i - 1
                while j >= s and p64[j] < x:
                    p64[j + 1] = p64[j]
                    in_src[j + 1] = in_src[j]
                    j -= 1
                p64[j + 1] = x
                in_src[j + 1] = u
            continue
        order = np.argsort(-p64[s:t], kind='mergesort')
        ps = p64[s:t][order]
        us = in_src[s:t][order]
        p64[s:t] = ps
        in_src[s:t] = us


@njit(cache=True)
def lt_totals_max(in_ptr, p64):
    r"""``(node, total)`` of the node with the largest in-weight sum."""
    n = in_ptr.shape[0] - 1
    best = -1
    bestv = 0.0
    for v in range(n):
        tot = 0.0
        for j in range(in_ptr[v], in_ptr[v + 1]):
            tot += p64[j]
        if best < 0 or tot > bestv:
            best = v
            bestv = tot
    return best, bestv


@njit(cache=True)
def check_graph(in_ptr, in_src, in_p, n):
    r"""Validates a reverse CSR. Returns ``(code, where, value)``:
    0 ok; 1 ``in_ptr[0] != 0``; 2 ``in_ptr`` decreases at ``where``;
    3 ``in_ptr[n] != len(in_src)``; 4 ``in_src[where]`` out of range;
    5 ``in_p[where]`` not finite or outside [0, 1]; 6 in-list of node
    ``where`` not sorted by probability (descending) although unequal."""
    m = in_src.shape[0]
    if in_ptr[0] != 0:
        return 1, 0, float(in_ptr[0])
    for v in range(n):
        if in_ptr[v + 1] < in_ptr[v]:
            return 2, v, float(in_ptr[v + 1])
    if in_ptr[n] != m:
        return 3, n, float(in_ptr[n])
    for j in range(m):
        u = in_src[j]
        if u < 0 or u >= n:
            return 4, j, float(u)
    for j in range(m):
        x = in_p[j]
        if not (x >= 0.0 and x <= 1.0):  # also catches NaN
            return 5, j, float(x)
    for v in range(n):
        for j in range(in_ptr[v] + 1, in_ptr[v + 1]):
            if in_p[j] > in_p[j - 1]:
                return 6, v, float(in_p[j])
    return 0, 0, 0.0


@njit(cache=True)
def node_flags(in_ptr, in_p, lt):
    r"""Per-node sampling data derived from the stored (float32)
    probabilities: ``equal`` (uint8, all in-probabilities equal: the
    geometric skip applies), ``logq`` (float64, ``log(1 - p)`` of the first
    in-edge, ``-1e300`` for p = 1), LT cumulative in-weights ``in_cum``
    (float32, empty unless :obj:`lt`) and the largest per-node in-weight
    sum (float64)."""
    n = in_ptr.shape[0] - 1
    m = in_p.shape[0]
    equal = np.zeros(n, dtype=np.uint8)
    logq = np.zeros(n, dtype=np.float64)
    in_cum = np.empty(m if lt else 0, dtype=np.float32)
    worst = 0.0
    for v in range(n):
        s = in_ptr[v]
        t = in_ptr[v + 1]
        if t == s:
            continue
        p0 = in_p[s]
        eq = True
        tot = 0.0
        for j in range(s, t):
            x = in_p[j]
            if x != p0:
                eq = False
            tot += float(x)
            if lt:
                in_cum[j] = tot
        if tot > worst:
            worst = tot
        equal[v] = 1 if eq else 0
        q = 1.0 - float(p0)
        logq[v] = math.log(q) if q > 0.0 else -1e300
    return equal, logq, in_cum, worst


@njit(cache=True)
def forward_csr(in_ptr, in_src, in_p, n):
    r"""Forward CSR from the reverse one by one counting sort (targets
    ascending within a source): ``(out_ptr int64, out_dst int32,
    out_p float32)``."""
    m = in_src.shape[0]
    out_ptr = bucket_ptr(in_src, n)
    fill = out_ptr[:-1].copy()
    out_dst = np.empty(m, dtype=np.int32)
    out_p = np.empty(m, dtype=np.float32)
    for v in range(n):
        for j in range(in_ptr[v], in_ptr[v + 1]):
            u = in_src[j]
            i = fill[u]
            fill[u] = i + 1
            out_dst[i] = v
            out_p[i] = in_p[j]
    return out_ptr, out_dst, out_p


@njit(cache=True)
def int_range(a):
    r"""``(min, max)`` of an integer array (``(0, -1)`` if empty)."""
    if a.shape[0] == 0:
        return 0, -1
    lo = a[0]
    hi = a[0]
    for i in range(a.shape[0]):
        x = a[i]
        if x < lo:
            lo = x
        elif x > hi:
            hi = x
    return lo, hi


@njit(cache=True)
def check_rr(ptr, nodes, roots, n):
    r"""Validates flat RR sets. Returns ``(code, where, value)``:
    0 ok; 1 ``ptr[0] != 0``; 2 ``ptr`` decreases at ``where``;
    3 ``ptr[-1] != len(nodes)``; 4 ``nodes[where]`` out of range;
    5 ``roots[where]`` out of range; 6 set ``where`` repeats node
    ``value``."""
    theta = ptr.shape[0] - 1
    if ptr[0] != 0:
        return 1, 0, ptr[0]
    for r in range(theta):
        if ptr[r + 1] < ptr[r]:
            return 2, r, ptr[r + 1]
    if ptr[theta] != nodes.shape[0]:
        return 3, theta, ptr[theta]
    for i in range(nodes.shape[0]):
        v = nodes[i]
        if v < 0 or v >= n:
            return 4, i, np.int64(v)
    for i in range(roots.shape[0]):
        v = roots[i]
        if v < 0 or v >= n:
            return 5, i, np.int64(v)
    stamp = np.zeros(n, dtype=np.int64)
    for r in range(theta):
        for i in range(ptr[r], ptr[r + 1]):
            v = nodes[i]
            if stamp[v] == r + 1:
                return 6, r, np.int64(v)
            stamp[v] = r + 1
    return 0, 0, np.int64(0)
