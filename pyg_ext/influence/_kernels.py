r"""Compiled (numba) kernels for RR sets, coverage, greedy selection and
Monte-Carlo diffusion.

Every random kernel works on one *block* and owns its generator
(xoshiro256+ seeded by splitmix64 from the block's seed), so the output of
a block never depends on which thread runs it or how many threads there
are. Arrays are flat and contiguous: ``in_ptr`` (int64), ``in_src``
(int32), ``in_p`` (float64) form the reverse CSR; RR sets are ``(ptr
int64, nodes int32)``.
"""
import heapq
import math

import numpy as np
from numba import njit

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


# --- in-kernel generator: xoshiro256+ (top 53 bits), seeded by splitmix64.
# About 10x cheaper per draw than numba's np.random (Mersenne Twister).
@njit(cache=True, inline='always')
def _rotl(x, k):
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@njit(cache=True)
def rng_state(seed):
    r"""Four xoshiro256 words from a 63-bit seed via splitmix64."""
    s = np.empty(4, dtype=np.uint64)
    z = np.uint64(seed)
    for i in range(4):
        z = z + np.uint64(0x9E3779B97F4A7C15)
        x = z
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        s[i] = x ^ (x >> np.uint64(31))
    return s


@njit(cache=True, inline='always')
def rand(s):
    r"""Uniform float in [0, 1)."""
    s0 = s[0]
    s1 = s[1]
    s2 = s[2]
    s3 = s[3]
    result = s0 + s3
    t = s1 << np.uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, 45)
    s[0] = s0
    s[1] = s1
    s[2] = s2
    s[3] = s3
    return (result >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True, inline='always')
def randint(s, m):
    r"""Uniform int in [0, m) (53-bit resolution)."""
    return min(int(rand(s) * m), m - 1)


@njit(cache=True, nogil=True)
def rr_block(in_ptr, in_src, in_p, in_cum, equal, logq, n, num_sets, seed,
             lt, method, excluded, root_pool, fixed_roots, stop_mask):
    r"""Samples :obj:`num_sets` RR sets.

    Args:
        lt (bool): Linear threshold (reverse random walk) instead of IC.
        method (int): :data:`VANILLA` or :data:`SUBSIM` (IC only).
        excluded (uint8[n]): Nodes that are removed from the graph (a root in
            it gives an empty set; an in-neighbour in it is never entered).
        root_pool (int32[*]): If non-empty, roots are drawn uniformly from it.
        fixed_roots (int32[*]): If non-empty, the roots (``num_sets`` of them).
        stop_mask (uint8[*]): If non-empty, a set stops as soon as it reaches
            a node in the mask (used by the stopping-rule estimator).

    Returns:
        ``(sizes int64[num_sets], nodes int32[total], roots int32[num_sets],
        hit uint8[num_sets])``; ``hit`` flags sets that reached
        :obj:`stop_mask`.
    """
    rs = rng_state(seed)
    stamp = np.zeros(n, dtype=np.int32)
    sizes = np.zeros(num_sets, dtype=np.int64)
    roots = np.empty(num_sets, dtype=np.int32)
    hit = np.zeros(num_sets, dtype=np.uint8)
    buf = np.empty(max(16, 4 * num_sets), dtype=np.int32)
    use_stop = stop_mask.shape[0] > 0
    top = 0
    for r in range(num_sets):
        tag = r + 1
        if fixed_roots.shape[0] > 0:
            root = fixed_roots[r]
        elif root_pool.shape[0] > 0:
            root = root_pool[randint(rs, root_pool.shape[0])]
        else:
            root = randint(rs, n)
        roots[r] = root
        if excluded[root]:
            continue
        start = top
        if top + 1 > buf.shape[0]:
            buf = _grow(buf, top + 1)
        buf[top] = root
        top += 1
        stamp[root] = tag
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
                if stamp[u] == tag or excluded[u]:
                    break
                stamp[u] = tag
                if top + 1 > buf.shape[0]:
                    buf = _grow(buf, top + 1)
                buf[top] = u
                top += 1
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
                    if stamp[u] != tag and not excluded[u]:
                        stamp[u] = tag
                        if top + 1 > buf.shape[0]:
                            buf = _grow(buf, top + 1)
                        buf[top] = u
                        top += 1
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
                    q = in_p[s + i]
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
                    if stamp[u] == tag or excluded[u]:
                        continue
                    stamp[u] = tag
                    if top + 1 > buf.shape[0]:
                        buf = _grow(buf, top + 1)
                    buf[top] = u
                    top += 1
                    if use_stop and stop_mask[u]:
                        hit[r] = 1
                        done = True
            else:
                for j in range(s, s + d):
                    u = in_src[j]
                    if stamp[u] == tag or excluded[u]:
                        continue
                    if rand(rs) < in_p[j]:
                        stamp[u] = tag
                        if top + 1 > buf.shape[0]:
                            buf = _grow(buf, top + 1)
                        buf[top] = u
                        top += 1
                        if use_stop and stop_mask[u]:
                            hit[r] = 1
                            done = True
                            break
        sizes[r] = top - start
    return sizes, buf[:top].copy(), roots, hit


@njit(cache=True)
def inverted_index(ptr, nodes, n):
    r"""Node -> RR-set ids by counting sort: ``(node_ptr int64[n+1],
    node_rr int64[total])``, RR ids ascending within a node."""
    node_ptr = np.zeros(n + 1, dtype=np.int64)
    for i in range(nodes.shape[0]):
        node_ptr[nodes[i] + 1] += 1
    for v in range(n):
        node_ptr[v + 1] += node_ptr[v]
    fill = node_ptr[:-1].copy()
    node_rr = np.empty(nodes.shape[0], dtype=np.int64)
    for r in range(ptr.shape[0] - 1):
        for i in range(ptr[r], ptr[r + 1]):
            v = nodes[i]
            node_rr[fill[v]] = r
            fill[v] += 1
    return node_ptr, node_rr


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


@njit(cache=True)
def greedy_max_cover(ptr, nodes, node_ptr, node_rr, n, k, cand_mask):
    r"""Greedy maximum coverage with the prefix upper bound (§1.3).

    Ties go to the smallest node id. Returns ``(seeds int64[k], gains
    int64[k], upper int64)`` where ``upper = min_i [Λ(S_i) + top-k sum of
    marginal coverages after S_i]`` over ``i = 0..k``.
    """
    num_sets = ptr.shape[0] - 1
    cov = np.zeros(n, dtype=np.int64)
    for v in range(n):
        if cand_mask[v]:
            cov[v] = node_ptr[v + 1] - node_ptr[v]
        else:
            cov[v] = -1
    cand = np.empty(n, dtype=np.int64)
    nc = 0
    for v in range(n):
        if cand_mask[v]:
            cand[nc] = v
            nc += 1
    cand = cand[:nc]
    covered = np.zeros(num_sets, dtype=np.uint8)
    seeds = np.empty(k, dtype=np.int64)
    gains = np.zeros(k, dtype=np.int64)
    total = 0
    upper = np.int64(np.iinfo(np.int64).max)
    vals = np.empty(nc, dtype=np.int64)
    for it in range(k + 1):
        m = 0
        for i in range(nc):
            c = cov[cand[i]]
            if c >= 0:
                vals[m] = c
                m += 1
        b = total + _topk_sum(vals[:m], k)
        if b < upper:
            upper = b
        if it == k:
            break
        best = -1
        bestc = -1
        for i in range(nc):
            v = cand[i]
            if cov[v] > bestc:
                bestc = cov[v]
                best = v
        seeds[it] = best
        gains[it] = bestc
        total += bestc
        cov[best] = -1
        for j in range(node_ptr[best], node_ptr[best + 1]):
            r = node_rr[j]
            if covered[r]:
                continue
            covered[r] = 1
            for i in range(ptr[r], ptr[r + 1]):
                u = nodes[i]
                if cov[u] > 0:
                    cov[u] -= 1
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


@njit(cache=True)
def hetero_im_kernel(ptr, nodes, node_ptr, node_rr, n, cand, inviter_mask,
                     in_ptr, in_src):
    r"""HeteroIM (§1.8): lazy-heap greedy over all candidates with rerank
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
    cnt = np.zeros(n + 1, dtype=np.int64)
    for i in range(m):
        cnt[cand_nodes[i] + 1] += 1
    for v in range(n):
        cnt[v + 1] += cnt[v]
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
