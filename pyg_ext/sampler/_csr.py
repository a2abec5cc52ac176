r"""Vectorised pieces shared by the samplers (internal): segment ranges and
uniform draws without replacement, one row per query, no Python loop over
the queries."""
from typing import Optional

import torch
from torch import Tensor


def segment_arange(count: Tensor) -> Tensor:
    r"""``cat([arange(c) for c in count])`` without a Python loop."""
    total = int(count.sum())
    if total == 0:
        return count.new_zeros(0)
    start = torch.cumsum(count, 0) - count
    return torch.arange(total, device=count.device) - torch.repeat_interleave(
        start, count)


def floyd_sample(n: Tensor, k: int,
                 generator: Optional[torch.Generator] = None) -> Tensor:
    r"""Draws, for every row :math:`i`, :math:`k` distinct integers uniformly
    from :math:`\{0, \dots, n_i - 1\}` (every :math:`k`-subset equally
    likely) by Robert Floyd's algorithm, vectorised over the rows: the loop
    runs over :math:`k` only. Requires :math:`n_i \ge k`.

    Returns a :obj:`[len(n), k]` tensor in the order of the draws (column
    :math:`j` draws from :math:`\{0, \dots, n_i - k + j\}` and takes
    :math:`n_i - k + j` itself if the draw repeats an earlier column).
    :obj:`generator=None` draws from torch's default generator.
    """
    chosen = torch.empty(n.numel(), k, dtype=torch.long, device=n.device)
    for j in range(k):
        m = n - k + j  # draw from [0, m]
        r = (torch.rand(n.numel(), generator=generator, dtype=torch.float64,
                        device=n.device) *
             (m + 1).double()).long().clamp(max=m)
        dup = (chosen[:, :j] == r.view(-1, 1)).any(1) if j else \
            torch.zeros_like(r, dtype=torch.bool)
        chosen[:, j] = torch.where(dup, m, r)
    return chosen
