r"""Contextual stochastic block model (CSBM) graphs.

:func:`csbm_graph` draws one graph; the registered dataset ``csbm`` wraps it
with seeded random train/val/test masks and is the embedded default dataset of
the main command (it needs no data root).
"""
import math
from dataclasses import dataclass
from typing import List, Optional, Tuple

import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.utils import coalesce

from pyg_ext.registry import register_dataset
from pyg_ext.utils.validation import check_float, check_int

__all__ = [
    'csbm_graph',
    'random_split_masks',
    'CSBMOptions',
    'load_csbm',
]

DEGREE_CONVENTIONS = ('adarc', 'expected')
DEGREE_DISTRIBUTIONS = ('poisson', 'powerlaw')


def _class_blocks(num_nodes: int, num_classes: int) -> Tensor:
    r"""Contiguous, balanced class blocks: block index of every node."""
    return torch.arange(num_nodes) * num_classes // num_nodes


def _bernoulli_positions(total: int, p: float,
                         generator: torch.Generator) -> Tensor:
    r"""Positions of the successes of ``total`` independent Bernoulli(p)
    trials, drawn by geometric skipping (exact, O(total * p) memory)."""
    if total <= 0 or p <= 0.0:
        return torch.empty(0, dtype=torch.long)
    if p >= 1.0:
        return torch.arange(total)
    log_q = math.log1p(-p)
    chunks, pos = [], -1
    while True:
        mean = (total - pos - 1) * p
        k = int(mean + 6 * math.sqrt(mean) + 16)
        u = torch.rand(k, generator=generator, dtype=torch.float64)
        # Geometric(p) on {1, 2, ...}: gaps between consecutive successes.
        gaps = torch.floor(torch.log1p(-u) / log_q).long() + 1
        cand = pos + torch.cumsum(gaps, 0)
        chunks.append(cand[cand < total])
        if cand[-1] >= total:
            break
        pos = int(cand[-1])
    return torch.cat(chunks)


def _sample_block(rows: Tensor, cols: Tensor, p: float, diagonal: bool,
                  generator: torch.Generator) -> Tensor:
    r"""Independent Bernoulli(p) edges between node sets ``rows`` x ``cols``
    (for a diagonal block, every unordered pair once)."""
    nr, nc = rows.numel(), cols.numel()
    pos = _bernoulli_positions(nr * nc, p, generator)
    r, c = pos // nc, pos % nc
    if diagonal:  # one cell (r < c) per unordered pair; no self loops
        keep = r < c
        r, c = r[keep], c[keep]
    return torch.stack([rows[r], cols[c]], dim=0)


def _sample_block_dc(rows: Tensor, cols: Tensor, theta: Tensor, p: float,
                     diagonal: bool, generator: torch.Generator) -> Tensor:
    r"""Degree-corrected block: a Poisson number of edges with endpoints drawn
    proportionally to the node weights ``theta`` (mean 1 per class), then
    duplicates and self loops are removed (Karrer & Newman, 2011)."""
    nr, nc = rows.numel(), cols.numel()
    num_pairs = nr * (nr - 1) / 2 if diagonal else nr * nc
    lam = torch.tensor(float(num_pairs * p), dtype=torch.float64)
    m = int(torch.poisson(lam, generator=generator))
    if m == 0:
        return torch.empty(2, 0, dtype=torch.long)
    r = torch.multinomial(theta[rows], m, replacement=True,
                          generator=generator)
    c = torch.multinomial(theta[cols], m, replacement=True,
                          generator=generator)
    edges = torch.stack([rows[r], cols[c]], dim=0)
    return edges[:, edges[0] != edges[1]]


def _check_csbm(num_nodes, num_features, mu, delta_mu, degree, homophily,
                degree_convention, num_classes, degree_distribution,
                power_law_exponent, seed) -> Tuple[float, float]:
    r"""The argument checks of :func:`csbm_graph` (also run by
    :class:`CSBMOptions`, so that a config fails before any work); returns
    the within- and between-class edge probabilities."""
    check_int('num_nodes', num_nodes, 1)
    check_int('seed', seed, 0, allow_none=True)
    check_int('num_features', num_features, 1)
    check_int('num_classes', num_classes, 2)
    check_float('mu', mu)
    check_float('delta_mu', delta_mu)
    check_float('degree', degree)
    check_float('homophily', homophily)
    if num_nodes < num_classes:
        raise ValueError(f"'num_nodes' ({num_nodes}) must be >= "
                         f"'num_classes' ({num_classes})")
    if num_classes > 2 and num_features < num_classes:
        raise ValueError(f"'num_features' ({num_features}) must be >= "
                         f"'num_classes' ({num_classes}) for more than two "
                         f"classes (one feature direction per class)")
    if degree < 0:
        raise ValueError(f"'degree' must be >= 0, got {degree}")
    if not 0.0 <= homophily <= 1.0:
        raise ValueError(f"'homophily' must be in [0, 1], got {homophily}")
    if degree_convention not in DEGREE_CONVENTIONS:
        raise ValueError(f"'degree_convention' must be one of "
                         f"{DEGREE_CONVENTIONS}, got {degree_convention!r}")
    if degree_distribution not in DEGREE_DISTRIBUTIONS:
        raise ValueError(f"'degree_distribution' must be one of "
                         f"{DEGREE_DISTRIBUTIONS}, got "
                         f"{degree_distribution!r}")
    check_float('power_law_exponent', power_law_exponent)
    if power_law_exponent <= 2:  # checked even when unused
        raise ValueError(f"'power_law_exponent' must be > 2 (finite mean "
                         f"degree), got {power_law_exponent}")

    n, C = num_nodes, num_classes
    d_eff = degree / 2 if degree_convention == 'adarc' else degree
    p_in = C * d_eff * homophily / n
    p_out = C * d_eff * (1 - homophily) / ((C - 1) * n)
    if degree_distribution == 'poisson' and max(p_in, p_out) > 1:
        raise ValueError(
            f"'degree' ({degree}) is too large for {n} nodes: the edge "
            f"probabilities (p_in={p_in:.3g}, p_out={p_out:.3g}) exceed 1")
    return p_in, p_out


def csbm_graph(
    num_nodes: int = 5000,
    num_features: int = 2000,
    mu: float = 0.03,
    delta_mu: float = 0.0,
    degree: float = 5.0,
    homophily: float = 0.8,
    degree_convention: str = 'adarc',
    num_classes: int = 2,
    degree_distribution: str = 'poisson',
    power_law_exponent: float = 2.5,
    seed: Optional[int] = None,
) -> Data:
    r"""Draws a graph from the contextual stochastic block model (CSBM) as
    used in the `"AdaRC: Mitigating Graph Structure Shifts during Test-Time"
    <https://arxiv.org/abs/2410.06976>`_ paper (official ``csbm_gen.py``),
    generalised to :math:`C` classes and power-law degrees.

    Nodes are split into :math:`C` contiguous, balanced class blocks. For
    :math:`C = 2` (the paper's setting) the first half of the nodes has label
    :math:`1` and mean :math:`+\mu`, the second half label :math:`0` and mean
    :math:`-\mu`:

    .. math::
        \mathbf{x}_i = (\pm\mu + \Delta\mu)\,\mathbf{u} +
        \boldsymbol{\varepsilon}_i / \sqrt{p}, \qquad
        \mathbf{u} = \mathbf{1}_p / \sqrt{p}, \quad
        \boldsymbol{\varepsilon}_i \sim \mathcal{N}(\mathbf{0}, \mathbf{I}_p).

    For :math:`C > 2`, class :math:`c` (nodes of block :math:`c`, label
    :math:`c`) has mean :math:`\mu\,\mathbf{v}_c + \Delta\mu\,\mathbf{u}`,
    where :math:`\mathbf{v}_c` are orthonormal (normalised indicators of
    :math:`C` disjoint blocks of feature coordinates), so every class mean has
    norm :math:`\mu` as for :math:`C = 2` and class means are
    :math:`\sqrt{2}\mu` apart.

    Every unordered pair :math:`\{i, j\}` is an edge independently with
    probability :math:`p_\mathrm{in}` (same class) or :math:`p_\mathrm{out}`
    (different classes):

    .. math::
        p_\mathrm{in} = \frac{C\,d'\,h}{n}, \qquad
        p_\mathrm{out} = \frac{C\,d'\,(1 - h)}{(C - 1)\,n},

    with :math:`d' = d/2` for :obj:`degree_convention="adarc"` and
    :math:`d' = d` for :obj:`"expected"`. For :math:`C = 2` and ``"adarc"``
    this is exactly the official :math:`p_\mathrm{in} = dh/n`,
    :math:`p_\mathrm{out} = d(1-h)/n`, whose realised mean degree is
    :math:`\approx d/2` (not :math:`d`); ``"expected"`` gives mean degree
    :math:`\approx d`. The expected edge homophily is :math:`h` in both.

    With :obj:`degree_distribution="powerlaw"`, a degree-corrected SBM is used
    instead: each node gets a weight :math:`\theta_i` drawn from a Pareto law
    with density :math:`\propto \theta^{-\gamma}` (:obj:`power_law_exponent`
    :math:`\gamma`), normalised to mean 1 within its class; each class pair
    gets a Poisson number of edges with the same mean as above and endpoints
    drawn proportionally to :math:`\theta`; multi-edges and self loops are then
    removed, so hubs lose a few edges and the mean degree ends slightly below
    the target (homophily is kept in expectation).

    Args:
        num_nodes (int, optional): Number of nodes :math:`n`.
            (default: :obj:`5000`)
        num_features (int, optional): Number of features :math:`p`.
            (default: :obj:`2000`)
        mu (float, optional): Class-mean magnitude :math:`\mu`.
            (default: :obj:`0.03`)
        delta_mu (float, optional): Attribute shift :math:`\Delta\mu` added to
            every class mean along :math:`\mathbf{u}`. (default: :obj:`0.0`)
        degree (float, optional): Degree parameter :math:`d`.
            (default: :obj:`5.0`)
        homophily (float, optional): Target edge homophily :math:`h \in [0,1]`.
            (default: :obj:`0.8`)
        degree_convention (str, optional): ``"adarc"`` (official; mean degree
            :math:`\approx d/2`) or ``"expected"`` (mean degree
            :math:`\approx d`). (default: :obj:`"adarc"`)
        num_classes (int, optional): Number of classes :math:`C`.
            (default: :obj:`2`)
        degree_distribution (str, optional): ``"poisson"`` (plain SBM,
            independent edges) or ``"powerlaw"`` (degree-corrected SBM).
            (default: :obj:`"poisson"`)
        power_law_exponent (float, optional): Tail exponent
            :math:`\gamma > 2` for ``"powerlaw"``. (default: :obj:`2.5`)
        seed (int, optional): Seed of a private generator (the global RNG is
            untouched); :obj:`None` draws from the global RNG.
            (default: :obj:`None`)

    Returns:
        :class:`torch_geometric.data.Data` with ``x`` [n, p], ``edge_index``
        (undirected, coalesced, no self loops) and ``y`` [n].

    Example:
        >>> data = csbm_graph(200, 20, degree=10, homophily=0.9, seed=0)
        >>> data.x.shape, int(data.y.sum())
        (torch.Size([200, 20]), 100)
    """
    p_in, p_out = _check_csbm(num_nodes, num_features, mu, delta_mu, degree,
                              homophily, degree_convention, num_classes,
                              degree_distribution, power_law_exponent, seed)
    n, C = num_nodes, num_classes

    gen = None
    if seed is not None:
        gen = torch.Generator().manual_seed(int(seed))
    else:
        gen = torch.Generator().manual_seed(
            int(torch.randint(0, 2**62, (1, ))))

    block = _class_blocks(n, C)
    y = (1 - block) if C == 2 else block

    # Features.
    u = torch.full((num_features, ), 1.0 / math.sqrt(num_features))
    if C == 2:
        means = torch.stack([(-mu + delta_mu) * u, (mu + delta_mu) * u])
    else:
        coord_block = _class_blocks(num_features, C)
        v = torch.nn.functional.one_hot(coord_block, C).t().float()
        v = v / v.sum(dim=1, keepdim=True).sqrt()
        means = mu * v + delta_mu * u
    noise = torch.randn(n, num_features, generator=gen)
    x = means[y] + noise / math.sqrt(num_features)

    # Edges, block by block.
    members: List[Tensor] = [(block == c).nonzero().view(-1) for c in range(C)]
    theta = None
    if degree_distribution == 'powerlaw':
        uu = torch.rand(n, generator=gen, dtype=torch.float64)
        theta = (1 - uu).pow(-1.0 / (power_law_exponent - 1))
        for idx in members:
            theta[idx] = theta[idx] / theta[idx].mean()
    parts = []
    for a in range(C):
        for b in range(a, C):
            p = p_in if a == b else p_out
            if theta is None:
                parts.append(
                    _sample_block(members[a], members[b], p, a == b, gen))
            else:
                parts.append(
                    _sample_block_dc(members[a], members[b], theta, p, a == b,
                                     gen))
    edge_index = torch.cat(parts, dim=1) if parts else torch.empty(
        2, 0, dtype=torch.long)
    edge_index = torch.cat([edge_index, edge_index.flip(0)], dim=1)
    edge_index = coalesce(edge_index, num_nodes=n)
    return Data(x=x, edge_index=edge_index, y=y, num_nodes=n)


def _check_splits(num_nodes, num_splits, train_ratio, val_ratio,
                  seed) -> None:
    r"""The argument checks of :func:`random_split_masks`."""
    check_int('num_nodes', num_nodes, 1)
    check_int('num_splits', num_splits, 1)
    check_int('seed', seed, 0)
    check_float('train_ratio', train_ratio)
    check_float('val_ratio', val_ratio)
    if not (0 < train_ratio < 1 and 0 <= val_ratio < 1
            and train_ratio + val_ratio < 1):
        raise ValueError(f"'train_ratio' ({train_ratio}) and 'val_ratio' "
                         f"({val_ratio}) must be in (0, 1) / [0, 1) with a "
                         f"sum < 1 (the rest is the test set)")


def random_split_masks(num_nodes: int, num_splits: int = 1,
                       train_ratio: float = 0.5, val_ratio: float = 0.25,
                       seed: int = 0) -> Tuple[Tensor, Tensor, Tensor]:
    r"""Seeded random node splits.

    Split :math:`s` permutes the nodes with seed ``seed + s`` and takes the
    first ``round(train_ratio * n)`` nodes for training, the next
    ``round(val_ratio * n)`` for validation and the rest for testing.

    Returns:
        ``(train_mask, val_mask, test_mask)``, each a bool tensor of shape
        [num_nodes, num_splits].
    """
    _check_splits(num_nodes, num_splits, train_ratio, val_ratio, seed)
    n_train = int(round(train_ratio * num_nodes))
    n_val = int(round(val_ratio * num_nodes))
    masks = torch.zeros(3, num_nodes, num_splits, dtype=torch.bool)
    for s in range(num_splits):
        g = torch.Generator().manual_seed(int(seed) + s)
        perm = torch.randperm(num_nodes, generator=g)
        masks[0, perm[:n_train], s] = True
        masks[1, perm[n_train:n_train + n_val], s] = True
        masks[2, perm[n_train + n_val:], s] = True
    return masks[0], masks[1], masks[2]


@dataclass
class CSBMOptions:
    r"""Options of the ``csbm`` dataset (see :func:`csbm_graph`).

    The defaults give a small, fast graph (1000 nodes, 256 features, 2
    classes, edge homophily 0.85, mean degree about 5) whose features are only
    weakly informative (per-direction SNR :math:`\mu\sqrt{p} = 0.4`), so that
    a 2-layer GCN clearly beats an MLP. Splits: 50% train / 25% validation /
    25% test, drawn with seed ``seed + s`` for split ``s``.
    """
    num_nodes: int = 1000
    num_features: int = 256
    num_classes: int = 2
    mu: float = 0.025
    delta_mu: float = 0.0
    degree: float = 10.0
    homophily: float = 0.85
    degree_convention: str = 'adarc'
    degree_distribution: str = 'poisson'
    power_law_exponent: float = 2.5
    num_splits: int = 1
    train_ratio: float = 0.5
    val_ratio: float = 0.25
    seed: int = 0

    def __post_init__(self):
        _check_csbm(self.num_nodes, self.num_features, self.mu,
                    self.delta_mu, self.degree, self.homophily,
                    self.degree_convention, self.num_classes,
                    self.degree_distribution, self.power_law_exponent,
                    self.seed)
        _check_splits(self.num_nodes, self.num_splits, self.train_ratio,
                      self.val_ratio, self.seed)


@register_dataset('csbm', options=CSBMOptions,
                  description='Synthetic CSBM graph (no data root needed; '
                  'the main command default)')
def load_csbm(root: Optional[str] = None, num_nodes: int = 1000,
              num_features: int = 256, num_classes: int = 2,
              mu: float = 0.025, delta_mu: float = 0.0, degree: float = 10.0,
              homophily: float = 0.85, degree_convention: str = 'adarc',
              degree_distribution: str = 'poisson',
              power_law_exponent: float = 2.5, num_splits: int = 1,
              train_ratio: float = 0.5, val_ratio: float = 0.25,
              seed: int = 0) -> Data:
    r"""A synthetic CSBM node-classification graph with seeded random
    train/val/test masks of shape [N, num_splits] (:obj:`root` is ignored)."""
    data = csbm_graph(num_nodes=num_nodes, num_features=num_features, mu=mu,
                      delta_mu=delta_mu, degree=degree, homophily=homophily,
                      degree_convention=degree_convention,
                      num_classes=num_classes,
                      degree_distribution=degree_distribution,
                      power_law_exponent=power_law_exponent, seed=seed)
    tr, va, te = random_split_masks(num_nodes, num_splits, train_ratio,
                                    val_ratio, seed=seed)
    data.train_mask, data.val_mask, data.test_mask = tr, va, te
    return data
