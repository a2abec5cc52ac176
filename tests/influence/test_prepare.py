import numpy as np
import pytest
import torch

from pyg_ext.influence import DiffusionGraph, opim_c, prepare
from pyg_ext.influence.rr import block_seeds


def reference_prepare(ei, n, model, probs, weighting, p, self_loops):
    r"""The previous implementation (two ``np.lexsort`` calls), kept here
    as the reference for the counting-sort version."""
    ei = ei.astype(np.int64)
    m = ei.shape[1]
    if weighting == 'uniform':
        probs = np.full(m, float(p))
    loops = ei[0] == ei[1]
    if self_loops == 'remove' and loops.any():
        ei = ei[:, ~loops]
        if probs is not None:
            probs = probs[~loops]
        m = ei.shape[1]
    src, dst = ei[0], ei[1]
    indeg = np.bincount(dst, minlength=n)
    if weighting == 'wc':
        probs = 1.0 / indeg[dst].astype(np.float64)
    order = np.lexsort((src, -probs, dst))
    in_ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(indeg, out=in_ptr[1:])
    order_f = np.lexsort((dst, src))
    out_ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=out_ptr[1:])
    return dict(in_ptr=in_ptr, in_src=src[order], in_p=probs[order],
                out_ptr=out_ptr, out_dst=dst[order_f], out_p=probs[order_f],
                src_f=src[order_f])


def random_edges(rng, n, m, loops=True):
    # duplicates and self-loops on purpose; the top ids stay isolated
    hi = max(1, n - 3)
    ei = rng.integers(0, hi, size=(2, m))
    if m and loops:
        ei[1, :m // 10] = ei[0, :m // 10]
    if m > 4:
        ei[:, -3:] = ei[:, :3]  # exact duplicates
    return ei


@pytest.mark.parametrize('weighting', ['wc', 'uniform', 'given'])
@pytest.mark.parametrize('model', ['IC', 'LT'])
def test_counting_sort_equals_lexsort_reference(weighting, model):
    rng = np.random.default_rng(0)
    for trial in range(25):
        n = int(rng.integers(1, 40))
        m = int(rng.integers(0, 150))
        ei = random_edges(rng, n, m)
        probs = None
        if weighting == 'given':
            probs = rng.choice([0.05, 0.1, 0.2, 0.5], size=m)
            if model == 'LT':
                tot = np.bincount(ei[1], weights=probs, minlength=n)
                probs = probs / np.maximum(tot[ei[1]], 1.0)
        loops = 'remove' if trial % 2 else 'keep'
        p = 1 / (m + 1) if model == 'LT' else 0.3
        g = prepare(torch.from_numpy(ei), n, model=model,
                    probs=None if probs is None else torch.from_numpy(probs),
                    weighting=weighting, p=p, self_loops=loops)
        ref = reference_prepare(ei, n, model, probs, weighting, p, loops)
        assert np.array_equal(g.in_ptr, ref['in_ptr'])
        assert np.array_equal(g.in_src, ref['in_src'])
        assert np.array_equal(g.in_p, ref['in_p'].astype(np.float32))
        assert np.array_equal(g.out_ptr, ref['out_ptr'])
        assert np.array_equal(g.out_dst, ref['out_dst'])
        # duplicate arcs may list their probabilities in another order
        key = np.lexsort((g.out_p, g.out_dst, np.repeat(np.arange(n),
                                                        np.diff(g.out_ptr))))
        rkey = np.lexsort((ref['out_p'], ref['out_dst'], ref['src_f']))
        assert np.array_equal(g.out_p[key],
                              ref['out_p'][rkey].astype(np.float32))
        indeg = np.diff(g.in_ptr)
        for v in range(n):
            seg = g.in_p[g.in_ptr[v]:g.in_ptr[v + 1]]
            assert g.equal[v] == (indeg[v] > 0 and (seg == seg[0]).all())
            if indeg[v]:
                if seg[0] < 1:
                    assert g.logq[v] == pytest.approx(
                        np.log1p(-float(seg[0])))
                else:
                    assert g.logq[v] == -1e300
                cum = np.cumsum(seg.astype(np.float64))
                assert np.allclose(g.in_cum[g.in_ptr[v]:g.in_ptr[v + 1]],
                                   cum, atol=1e-6)


def test_prepared_graph_is_at_most_16_bytes_per_arc():
    rng = np.random.default_rng(1)
    n, m = 20000, 200000
    g = prepare(torch.from_numpy(rng.integers(0, n, size=(2, m))), n)
    assert g.in_src.dtype == np.int32 and g.in_p.dtype == np.float32
    assert g.nbytes / g.num_edges <= 12  # reverse CSR + per-node data
    g.out_ptr  # the forward CSR, built on first use
    assert g.nbytes / g.num_edges <= 20
    assert not g.in_src.flags.writeable and not g.out_dst.flags.writeable


def test_cache_round_trip(tmp_path):
    rng = np.random.default_rng(2)
    ei = torch.from_numpy(rng.integers(0, 500, size=(2, 3000)))
    path = tmp_path / 'g.bin'
    g = prepare(ei, 500, model='LT', cache=path)
    assert path.exists()
    stamp = path.stat().st_mtime_ns
    h = prepare(ei, 500, model='LT', cache=path)  # loaded, not rewritten
    assert path.stat().st_mtime_ns == stamp
    for a in ('in_ptr', 'in_src', 'in_p', 'equal', 'logq', 'in_cum'):
        assert np.array_equal(getattr(g, a), getattr(h, a))
    assert h.model == 'LT' and h.num_nodes == 500
    assert torch.equal(opim_c(g, k=5, seed=0).seeds,
                       opim_c(h, k=5, seed=0).seeds)
    # other options or edges: rebuilt and rewritten
    h2 = prepare(ei, 500, model='IC', cache=path)
    assert h2.model == 'IC' and path.stat().st_mtime_ns != stamp
    ei2 = ei.clone()
    ei2[0, 0] = (ei2[0, 0] + 1) % 500
    h3 = prepare(ei2, 500, model='IC', cache=path)
    assert not np.array_equal(h3.in_src, h2.in_src) or \
        not np.array_equal(h3.in_ptr, h2.in_ptr)
    # explicit save / load, also memory-mapped
    g.save(tmp_path / 'x.bin')
    for mmap in (False, True):
        x = DiffusionGraph.load(tmp_path / 'x.bin', mmap=mmap)
        assert np.array_equal(x.in_src, g.in_src) and x.model == 'LT'


def test_corrupt_cache_is_rejected(tmp_path):
    g = prepare(torch.tensor([[0, 1, 2], [1, 2, 0]]), 3)
    path = tmp_path / 'g.bin'
    g.save(path)
    raw = bytearray(path.read_bytes())
    (tmp_path / 'short.bin').write_bytes(bytes(raw[:-8]))
    with pytest.raises(ValueError, match='truncated'):
        DiffusionGraph.load(tmp_path / 'short.bin')
    head = DiffusionGraph.read_header(path)
    off = head['_start'] + head['arrays']['in_src'][2]
    raw[off:off + 4] = np.int32(7).tobytes()  # node id 7 >= n
    (tmp_path / 'bad.bin').write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="'in_src' must hold node ids"):
        DiffusionGraph.load(tmp_path / 'bad.bin')
    (tmp_path / 'junk.bin').write_bytes(b'not a graph at all')
    with pytest.raises(ValueError, match='not a pyg_ext DiffusionGraph'):
        DiffusionGraph.load(tmp_path / 'junk.bin')
    # a corrupt cache file is rebuilt by prepare()
    ei = torch.tensor([[0, 1, 2], [1, 2, 0]])
    g2 = prepare(ei, 3, cache=tmp_path / 'junk.bin')
    assert np.array_equal(g2.in_src, g.in_src)


def test_constructor_validates_and_sorts():
    ptr = np.array([0, 0, 3])
    src = np.array([0, 0, 0], dtype=np.int32)
    g = DiffusionGraph(2, 'IC', ptr, src, np.array([0.1, 0.5, 0.3],
                                                   dtype=np.float32))
    assert g.in_p.tolist() == pytest.approx([0.5, 0.3, 0.1])
    with pytest.raises(ValueError, match="'in_ptr' must end"):
        DiffusionGraph(2, 'IC', np.array([0, 0, 2]), src, np.ones(3))
    with pytest.raises(ValueError, match="'in_src' must hold node ids"):
        DiffusionGraph(2, 'IC', ptr, np.array([0, 5, 0]), np.ones(3))
    with pytest.raises(ValueError, match="'in_ptr' must be non-decreasing"):
        DiffusionGraph(2, 'IC', np.array([0, 4, 3]), src, np.ones(3))
    with pytest.raises(ValueError, match="'in_p' must lie in"):
        DiffusionGraph(2, 'IC', ptr, src, np.array([0.1, np.nan, 0.2]))
    with pytest.raises(ValueError, match="'in_ptr' must have"):
        DiffusionGraph(3, 'IC', ptr, src, np.ones(3))
    with pytest.raises(ValueError, match='LT in-weights'):
        DiffusionGraph(2, 'LT', ptr, src, np.full(3, 0.5))
    with pytest.raises(TypeError, match="'in_src' must have dtype"):
        DiffusionGraph(2, 'IC', ptr, src.astype(float), np.ones(3))


def test_block_seeds_equal_numpy_seed_sequence():
    rng = np.random.default_rng(3)
    for t in range(200):
        root = int(rng.integers(0, 2**63 - 1)) if t % 2 else t
        stream, first = int(rng.integers(0, 12)), int(rng.integers(0, 10**6))
        got = block_seeds(root, stream, first, 2)
        for j in range(2):
            a, b = np.random.SeedSequence(
                entropy=root, spawn_key=(stream, first + j)).generate_state(
                    2, dtype=np.uint32).tolist()
            assert got[j] == ((a & 0x7FFFFFFF) << 32) | b
