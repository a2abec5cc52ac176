import numpy as np

from pyg_ext.influence._kernels import _topk_sum, count_covered


def test_topk_sum_matches_sort():
    rng = np.random.default_rng(0)
    for _ in range(500):
        m = int(rng.integers(0, 40))
        k = int(rng.integers(1, 12))
        v = rng.integers(0, 6, size=m).astype(np.int64)
        assert _topk_sum(v.copy(), k) == np.sort(v)[::-1][:k].sum()


def test_count_covered():
    ptr = np.array([0, 2, 2, 5], dtype=np.int64)
    nodes = np.array([0, 1, 2, 3, 1], dtype=np.int32)
    mask = np.zeros(4, np.uint8)
    mask[1] = 1
    assert count_covered(ptr, nodes, mask) == 2  # set 1 is empty
