r"""Compiled (numba) kernels on RR collections: the node -> RR inverted
index, coverage counts, greedy maximum coverage with the OPIM-C prefix
upper bound, the CIM greedies and HeteroIM's re-ranking greedy.

Every kernel takes the collection as flat arrays (``ptr`` int64,
``nodes`` int32, ``node_ptr`` int64, ``node_rr`` int32) and touches only
the RR sets it covers after an O(n) set-up, so a later distributed version
can run it on all-reduced marginal coverage counts.
"""
import heapq

import numpy as np
from numba import njit

from pyg_ext.influence._prep import bucket_ptr
from pyg_ext.influence._rng import randint, rng_state

__all__ = []


@njit(cache=True)
def inverted_index(ptr, nodes, n):
    r"""Node -> RR-set ids by counting sort: ``(node_ptr int64[n+1],
    node_rr int32[total])``, RR ids ascending within a node (at most
    :math:`2^{31} - 1` sets)."""
    node_ptr = np.zeros(n + 1, dtype=np.int64)
    for i in range(nodes.shape[0]):
        node_ptr[nodes[i] + 1] += 1
    for v in range(n):
        node_ptr[v + 1] += node_ptr[v]
    fill = node_ptr[:-1].copy()
    node_rr = np.empty(nodes.shape[0], dtype=np.int32)
    for r in range(ptr.shape[0] - 1):
        for i in range(ptr[r], ptr[r + 1]):
            v = nodes[i]
            node_rr[fill[v]] = r
            fill[v] += 1
    return node_ptr, node_rr


@njit(cache=True)
def compact_ids(nodes, n):
    r"""The distinct nodes of a collection, ascending (``touched``
    int32[m]), and its entries relabelled to their positions in it: a
    collection of few, small RR sets on a large graph (the greedy's set-up
    then costs O(m), not O(n)). Ascending order keeps the tie rule (the
    smallest node id) of :func:`greedy_max_cover`."""
    stamp = np.zeros(n, dtype=np.uint8)
    m = 0
    for i in range(nodes.shape[0]):
        v = nodes[i]
        if stamp[v] == 0:
            stamp[v] = 1
            m += 1
    touched = np.empty(m, dtype=np.int32)
    remap = np.empty(n, dtype=np.int32)  # read at touched nodes only
    j = 0
    for v in range(n):
        if stamp[v]:
            touched[j] = v
            remap[v] = j
            j += 1
    out = np.empty(nodes.shape[0], dtype=np.int32)
    for i in range(nodes.shape[0]):
        out[i] = remap[nodes[i]]
    return touched, out


@njit(cache=True)
def count_covered(ptr, nodes, seed_mask):
    r"""Number of RR sets that contain a node of :obj:`seed_mask`."""
    total = 0
    for r in range(ptr.shape[0] - 1):
        for i in range(ptr[r], ptr[r + 1]):
            if seed_mask[nodes[i]]:
                total += 1
                break
    return total


@njit(cache=True)
def _topk_sum(vals, k):
    r"""Sum of the :obj:`k` largest entries (in-place quickselect; cheaper
    to compile than ``np.partition``)."""
    m = vals.shape[0]
    if m <= k:
        return vals.sum()
    lo = 0
    hi = m - 1
    t = k - 1  # want vals[0:k] = the k largest (descending partition)
    while lo < hi:
        pivot = vals[(lo + hi) // 2]
        i = lo
        j = hi
        while i <= j:
            while vals[i] > pivot:
                i += 1
            while vals[j] < pivot:
                j -= 1
            if i <= j:
                tmp = vals[i]
                vals[i] = vals[j]
                vals[j] = tmp
                i += 1
                j -= 1
        if t <= j:
            hi = j
        elif t >= i:
            lo = i
        else:
            break
    return vals[:k].sum()


@njit(cache=True, inline='always')
def _key(c, v):
    # larger key = larger coverage, then smaller node id
    return (np.int64(c) << 32) | (np.int64(0xFFFFFFFF) - v)


@njit(cache=True)
def _sift_down(heap, h, i):
    x = heap[i]
    while True:
        c = 2 * i + 1
        if c >= h:
            break
        if c + 1 < h and heap[c + 1] > heap[c]:
            c += 1
        if heap[c] <= x:
            break
        heap[i] = heap[c]
        i = c
    heap[i] = x


@njit(cache=True)
def greedy_max_cover(ptr, nodes, node_ptr, node_rr, n, k, cand_mask):
    r"""Greedy maximum coverage with the prefix upper bound, at a cost per
    step proportional to the RR sets it covers.

    The argmax comes from a lazy max-heap (CELF-style: keys are stale upper
    bounds of the coverages, refreshed when they reach the top), which
    returns exactly the largest coverage with the smallest node id. The
    top-:obj:`k` sum of the current coverages is kept exact at O(1) per
    decrement by an array of the candidates sorted by coverage with the
    start of every coverage block (OPIM's ``max_cover_topk`` structure):
    a decremented node swaps with the first node of its block.

    Returns ``(seeds int64[k], gains int64[k], upper int64)``, where
    ``upper = min_{i=0..k} [Λ(S_i) + top-k sum of the marginal coverages
    of the unselected candidates after S_i]``.
    """
    num_sets = ptr.shape[0] - 1
    cov = np.zeros(n, dtype=np.int32)
    nc = 0
    maxdeg = 0
    for v in range(n):
        if cand_mask[v]:
            c = node_ptr[v + 1] - node_ptr[v]
            cov[v] = c
            nc += 1
            if c > maxdeg:
                maxdeg = c
    # candidates sorted by coverage (counting sort); start[d] = first
    # position of coverage d
    start = np.zeros(maxdeg + 2, dtype=np.int64)
    for v in range(n):
        if cand_mask[v]:
            start[cov[v] + 1] += 1
    for d in range(maxdeg + 1):
        start[d + 1] += start[d]
    fill = start[:maxdeg + 1].copy()
    order = np.empty(nc, dtype=np.int32)
    pos = np.full(n, -1, dtype=np.int32)
    heap = np.empty(nc, dtype=np.int64)
    h = 0
    for v in range(n):
        if cand_mask[v]:
            i = fill[cov[v]]
            fill[cov[v]] = i + 1
            order[i] = v
            pos[v] = i
            if cov[v] > 0:
                heap[h] = _key(cov[v], v)
                h += 1
    for i in range(h // 2 - 1, -1, -1):
        _sift_down(heap, h, i)
    size = nc
    topsum = np.int64(0)
    for i in range(max(size - k, 0), size):
        topsum += cov[order[i]]
    covered = np.zeros(num_sets, dtype=np.uint8)
    seeds = np.empty(k, dtype=np.int64)
    gains = np.zeros(k, dtype=np.int64)
    total = np.int64(0)
    upper = topsum
    zp = 0
    for it in range(k):
        best = -1
        while h > 0:
            key = heap[0]
            v = np.int64(0xFFFFFFFF) - (key & np.int64(0xFFFFFFFF))
            c = cov[v]
            if c == (key >> 32):
                best = v
                h -= 1
                heap[0] = heap[h]
                _sift_down(heap, h, 0)
                break
            if c > 0:
                heap[0] = _key(c, v)
            else:
                h -= 1
                heap[0] = heap[h]
            _sift_down(heap, h, 0)
        if best < 0:  # every unselected candidate has coverage 0
            while not (cand_mask[zp] and pos[zp] >= 0):
                zp += 1
            best = zp
        c = cov[best]
        # remove best from the sorted array: it has the largest coverage,
        # so it can swap with the last element of the top block
        p = pos[best]
        last = size - 1
        w = order[last]
        order[p] = w
        pos[w] = p
        order[last] = best
        topsum -= c
        if last - k >= 0:
            topsum += cov[order[last - k]]
        size = last
        pos[best] = -1
        cov[best] = 0
        seeds[it] = best
        gains[it] = c
        total += c
        lo = max(size - k, 0)
        for j in range(node_ptr[best], node_ptr[best + 1]):
            r = node_rr[j]
            if covered[r]:
                continue
            covered[r] = 1
            for i in range(ptr[r], ptr[r + 1]):
                u = nodes[i]
                d = cov[u]
                if d <= 0:  # a seed or a non-candidate
                    continue
                pu = pos[u]
                s = start[d]
                w = order[s]
                order[pu] = w
                pos[w] = pu
                order[s] = u
                pos[u] = s
                start[d] = s + 1
                cov[u] = d - 1
                if s >= lo:
                    topsum -= 1
        if total + topsum < upper:
            upper = total + topsum
    return seeds, gains, upper


@njit(cache=True)
def _cover_node(v, ptr, nodes, node_ptr, node_rr, covered, cov):
    gain = 0
    for j in range(node_ptr[v], node_ptr[v + 1]):
        r = node_rr[j]
        if covered[r]:
            continue
        covered[r] = 1
        gain += 1
        for i in range(ptr[r], ptr[r + 1]):
            cov[nodes[i]] -= 1
    return gain


@njit(cache=True)
def _phi_bound(total, cov, cand_ptr, cand_nodes, selected, k):
    r""":math:`\Lambda(S) + \sum_{u \in A}` (top-k marginal coverages in
    :math:`C_u`), over *every* AP: the optimum may use the capacity of APs
    that the greedy has already filled."""
    s = total
    for a in range(cand_ptr.shape[0] - 1):
        m = cand_ptr[a + 1] - cand_ptr[a]
        vals = np.empty(m, dtype=np.int64)
        c = 0
        for i in range(cand_ptr[a], cand_ptr[a + 1]):
            v = cand_nodes[i]
            if not selected[v]:
                vals[c] = cov[v]
                c += 1
        s += _topk_sum(vals[:c], k)
    return s


@njit(cache=True)
def cim_greedy_rr(ptr, nodes, node_ptr, node_rr, n, cand_ptr, cand_nodes, k,
                  round_robin):
    r"""CIM greedy on the RR coverage oracle.

    ``cand_ptr``/``cand_nodes`` list C_u per AP (AP order = input order).
    ``round_robin=True``: RR-Greedy (Alg. 2); else MG-Greedy (Alg. 1).
    Returns ``(ap_idx int64[s], seed int64[s], coverage, tight_bound)``,
    where ``tight_bound = min_t Λ^φ(S_t)`` over the states before each round
    (RR-Greedy) or every ``d`` picks (MG-Greedy).
    """
    d = cand_ptr.shape[0] - 1
    num_sets = ptr.shape[0] - 1
    cov = np.empty(n, dtype=np.int64)
    for v in range(n):
        cov[v] = node_ptr[v + 1] - node_ptr[v]
    covered = np.zeros(num_sets, dtype=np.uint8)
    selected = np.zeros(n, dtype=np.uint8)
    count = np.zeros(d, dtype=np.int64)
    active = np.ones(d, dtype=np.uint8)
    for a in range(d):
        if cand_ptr[a + 1] == cand_ptr[a] or k == 0:
            active[a] = 0
    cap = d * k
    out_a = np.empty(cap, dtype=np.int64)
    out_v = np.empty(cap, dtype=np.int64)
    s = 0
    total = 0
    bound = np.int64(np.iinfo(np.int64).max)
    if round_robin:
        while True:
            any_active = False
            for a in range(d):
                if active[a]:
                    any_active = True
                    break
            if not any_active:
                break
            b = _phi_bound(total, cov, cand_ptr, cand_nodes, selected, k)
            if b < bound:
                bound = b
            for a in range(d):
                if not active[a]:
                    continue
                best = -1
                bestc = -1
                for i in range(cand_ptr[a], cand_ptr[a + 1]):
                    v = cand_nodes[i]
                    if not selected[v] and cov[v] > bestc:
                        bestc = cov[v]
                        best = v
                if best < 0:
                    active[a] = 0
                    continue
                selected[best] = 1
                total += _cover_node(best, ptr, nodes, node_ptr, node_rr,
                                     covered, cov)
                out_a[s] = a
                out_v[s] = best
                s += 1
                count[a] += 1
                if count[a] >= k:
                    active[a] = 0
    else:
        picks = 0
        while True:
            if picks % max(d, 1) == 0:
                b = _phi_bound(total, cov, cand_ptr, cand_nodes, selected, k)
                if b < bound:
                    bound = b
            best = -1
            besta = -1
            bestc = -1
            for a in range(d):
                if not active[a]:
                    continue
                found = False
                for i in range(cand_ptr[a], cand_ptr[a + 1]):
                    v = cand_nodes[i]
                    if selected[v]:
                        continue
                    found = True
                    if cov[v] > bestc:
                        bestc = cov[v]
                        best = v
                        besta = a
                if not found:
                    active[a] = 0
            if best < 0:
                break
            selected[best] = 1
            total += _cover_node(best, ptr, nodes, node_ptr, node_rr, covered,
                                 cov)
            out_a[s] = besta
            out_v[s] = best
            s += 1
            picks += 1
            count[besta] += 1
            if count[besta] >= k:
                active[besta] = 0
    return out_a[:s].copy(), out_v[:s].copy(), total, bound


@njit(cache=True)
def hetero_im_kernel(ptr, nodes, node_ptr, node_rr, n, cand, inviter_mask,
                     in_ptr, in_src):
    r"""HeteroIM (``HeteroIM.py`` of the authors' code): lazy-heap greedy over all candidates with rerank
    scores. Returns ``(order int64[c], pair_u, pair_v, pair_score)``."""
    num_sets = ptr.shape[0] - 1
    cov = np.empty(n, dtype=np.int64)
    for v in range(n):
        cov[v] = node_ptr[v + 1] - node_ptr[v]
    maxc = 0
    heap = [(np.int64(0), np.int64(0))]
    heap.pop()
    for i in range(cand.shape[0]):
        v = cand[i]
        if cov[v] > maxc:
            maxc = cov[v]
        heap.append((-cov[v], np.int64(v)))
    heapq.heapify(heap)
    covered = np.zeros(num_sets, dtype=np.uint8)
    counter = np.zeros(n, dtype=np.int64)
    pu = []
    pv = []
    ps = []
    order = np.empty(cand.shape[0], dtype=np.int64)
    c = 0
    while len(heap) > 0:
        key, v = heapq.heappop(heap)
        if -key != cov[v]:
            heapq.heappush(heap, (-cov[v], v))
            continue
        order[c] = v
        c += 1
        # count uncovered RR sets containing both an inviter u and v
        for j in range(in_ptr[v], in_ptr[v + 1]):
            counter[in_src[j]] = 0
        for j in range(node_ptr[v], node_ptr[v + 1]):
            r = node_rr[j]
            if covered[r]:
                continue
            for i in range(ptr[r], ptr[r + 1]):
                counter[nodes[i]] += 1
        for j in range(in_ptr[v], in_ptr[v + 1]):
            u = in_src[j]
            if not inviter_mask[u] or u == v or counter[u] < 0:
                continue
            score = 1.0 + counter[u]
            if score <= 1.0:
                score = -cov[v] / maxc if maxc > 0 else 0.0
            pu.append(np.int64(u))
            pv.append(v)
            ps.append(score)
            counter[u] = -(1 << 40)  # report a multi-edge once
        for j in range(in_ptr[v], in_ptr[v + 1]):
            counter[in_src[j]] = 0
        for j in range(node_ptr[v], node_ptr[v + 1]):
            r = node_rr[j]
            if covered[r]:
                continue
            covered[r] = 1
            for i in range(ptr[r], ptr[r + 1]):
                cov[nodes[i]] -= 1
    return (order[:c].copy(), np.array(pu, dtype=np.int64),
            np.array(pv, dtype=np.int64), np.array(ps, dtype=np.float64))


@njit(cache=True)
def random_feasible_size(cand_ptr, cand_nodes, n, k, seed):
    r""":math:`\chi` of RR-OPIM+: the number of distinct seeds of a random
    feasible assignment (candidates in random order, each given to a random
    AP in-neighbour with capacity left)."""
    rs = rng_state(seed)
    d = cand_ptr.shape[0] - 1
    m = cand_nodes.shape[0]
    # candidate -> APs (CSR by counting sort)
    cnt = bucket_ptr(cand_nodes, n)
    fill = cnt[:-1].copy()
    owner = np.empty(m, dtype=np.int64)
    for a in range(d):
        for i in range(cand_ptr[a], cand_ptr[a + 1]):
            v = cand_nodes[i]
            owner[fill[v]] = a
            fill[v] += 1
    nodes = np.empty(n, dtype=np.int64)
    c = 0
    for v in range(n):
        if cnt[v + 1] > cnt[v]:
            nodes[c] = v
            c += 1
    nodes = nodes[:c]
    for i in range(c - 1, 0, -1):  # Fisher-Yates
        j = randint(rs, i + 1)
        tmp = nodes[i]
        nodes[i] = nodes[j]
        nodes[j] = tmp
    cap = np.full(d, k, dtype=np.int64)
    free = np.empty(d, dtype=np.int64)
    chi = 0
    for i in range(c):
        v = nodes[i]
        f = 0
        for j in range(cnt[v], cnt[v + 1]):
            if cap[owner[j]] > 0:
                free[f] = owner[j]
                f += 1
        if f > 0:
            cap[free[randint(rs, f)]] -= 1
            chi += 1
    return chi
