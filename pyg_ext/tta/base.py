r"""Base test-time adaptation (TTA) methods that AdaRC (`"AdaRC: Mitigating
Graph Structure Shifts during Test-Time" <https://arxiv.org/abs/2410.06976>`_,
official code `github.com/baowenxuan/Matcha
<https://github.com/baowenxuan/Matcha>`_) composes with.

Every base is a callable ``base(model, data) -> logits`` that may freely
modify :obj:`model` (AdaRC always hands it a deep copy). ``data`` has ``x``
and ``edge_index``; models follow the ``featurize``/``classify`` convention
of :class:`~pyg_ext.nn.models.GPRGNN` where a base needs it (T3A, LAME).
"""
from typing import Any, Callable, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from pyg_ext.utils.validation import check_float, check_int

__all__ = [
    'ERMBase',
    'TentBase',
    'T3ABase',
    'LAMEBase',
    'softmax_entropy',
    'linear_classifier_weight',
    'resolve_base',
    'BASES',
]


def softmax_entropy(logits: Tensor) -> Tensor:
    r"""Entropy of the softmax of every row of :obj:`logits`."""
    return -(logits.softmax(dim=-1) * logits.log_softmax(dim=-1)).sum(-1)


def _forward(model: torch.nn.Module, data: Any) -> Tensor:
    return model(data.x, data.edge_index)


def _require(model: torch.nn.Module, names, who: str) -> None:
    missing = [n for n in names if not callable(getattr(model, n, None))]
    if missing:
        raise TypeError(f"{who} needs a model with "
                        f"{' and '.join(m + '()' for m in missing)} (the "
                        f"featurizer/classifier split of GPRGNN); "
                        f"{type(model).__name__} has none")


@torch.no_grad()
def linear_classifier_weight(model: torch.nn.Module,
                             num_features: int) -> Tensor:
    r"""The weight :math:`\mathbf{W} \in \mathbb{R}^{C \times D}` of an affine
    ``model.classify``, read off as ``classify(I) - classify(0)``."""
    ref = next(model.parameters(), None)
    kw = {} if ref is None else dict(dtype=ref.dtype, device=ref.device)
    eye = torch.eye(num_features, **kw)
    zero = torch.zeros(1, num_features, **kw)
    return (model.classify(eye) - model.classify(zero)).t()


class ERMBase:
    r"""No adaptation: the logits of the model in evaluation mode."""
    def __call__(self, model: torch.nn.Module, data: Any) -> Tensor:
        model.eval()
        with torch.no_grad():
            return _forward(model, data)

    def __repr__(self) -> str:
        return 'ERMBase()'


class TentBase:
    r"""Tent from the `"Tent: Fully Test-time Adaptation by Entropy
    Minimization" <https://arxiv.org/abs/2006.10726>`_ paper, as the AdaRC
    code runs it on graphs: only the BatchNorm affine parameters are trained,
    BatchNorm uses the statistics of the test graph (running statistics are
    dropped), and :obj:`steps` full-graph SGD steps on the mean prediction
    entropy are taken before predicting. Dropout stays off (evaluation mode).

    Args:
        lr (float, optional): SGD learning rate. (default: :obj:`0.1`,
            the official CSBM script)
        steps (int, optional): Number of entropy steps. (default: :obj:`10`)
    """
    def __init__(self, lr: float = 0.1, steps: int = 10):
        self.lr = check_float('lr', lr, 0.0, low_open=True)
        self.steps = check_int('steps', steps, 0)

    def __call__(self, model: torch.nn.Module, data: Any) -> Tensor:
        if data.x.size(0) < 2:  # metadata: BatchNorm needs a batch
            raise ValueError(f"TentBase: 'data' has {data.x.size(0)} node(s);"
                             f" BatchNorm on the test graph's statistics "
                             f"needs at least 2")
        model.eval()
        model.requires_grad_(False)
        params = []
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.requires_grad_(True)
                m.track_running_stats = False
                m.running_mean = None
                m.running_var = None
                m.num_batches_tracked = None
                params += [p for p in m.parameters()]
        if not params:
            raise ValueError(f"TentBase needs BatchNorm layers with affine "
                             f"parameters to adapt; {type(model).__name__} "
                             f"has none")
        opt = torch.optim.SGD(params, lr=self.lr)
        with torch.enable_grad():
            for _ in range(self.steps):
                opt.zero_grad()
                loss = softmax_entropy(_forward(model, data)).mean()
                loss.backward()
                opt.step()
        with torch.no_grad():
            return _forward(model, data)

    def __repr__(self) -> str:
        return f'TentBase(lr={self.lr}, steps={self.steps})'


class T3ABase:
    r"""T3A from the `"Test-Time Classifier Adjustment Module for Model-Agnostic
    Domain Generalization" <https://openreview.net/forum?id=e_yvNqkJKAW>`_
    paper, as the AdaRC code runs it: the support set is the classifier's
    weight rows (warm-up) plus the target representations, each labelled by
    the classifier's argmax; per class the :obj:`filter_k` lowest-entropy
    supports are kept; the prototypes are the sums of the L2-normalised
    supports and the logits are :math:`\mathbf{z} \cdot
    \mathrm{normalize}(\text{prototype})`.

    Args:
        filter_k (int, optional): Supports kept per class (:obj:`-1`: all).
            (default: :obj:`-1`; the official CSBM script uses :obj:`2000`)
    """
    def __init__(self, filter_k: int = -1):
        check_int('filter_k', filter_k, -1)
        if filter_k == 0:
            raise ValueError("'filter_k' must be -1 (all) or an int >= 1, "
                             "got 0")
        self.filter_k = filter_k

    @torch.no_grad()
    def __call__(self, model: torch.nn.Module, data: Any) -> Tensor:
        _require(model, ('featurize', 'classify'), 'T3ABase')
        model.eval()
        z = model.featurize(data.x, data.edge_index)
        weight = linear_classifier_weight(model, z.size(1))
        supports = torch.cat([weight, z], dim=0)
        logits = model.classify(supports)
        num_classes = logits.size(1)
        labels = logits.argmax(dim=1)
        onehot = F.one_hot(labels, num_classes).to(z.dtype)
        if self.filter_k != -1:
            # Rank every support within its class by (entropy, position) and
            # zero the weight of those beyond filter_k (no per-class
            # selection, whose size would depend on the values).
            ent = softmax_entropy(logits)
            order = torch.sort(ent, stable=True).indices
            order = order[torch.sort(labels[order], stable=True).indices]
            counts = onehot.sum(dim=0).long()
            start = torch.cumsum(counts, 0) - counts  # first slot per class
            rank = torch.empty_like(order)
            rank[order] = torch.arange(order.numel(), device=order.device) - \
                start[labels[order]]
            onehot = onehot * (rank < self.filter_k).to(z.dtype).view(-1, 1)
        protos = F.normalize(supports, dim=1).t() @ onehot  # [D, C]
        return z @ F.normalize(protos, dim=0)

    def __repr__(self) -> str:
        return f'T3ABase(filter_k={self.filter_k})'


class LAMEBase:
    r"""LAME from the `"Parameter-free Online Test-time Adaptation"
    <https://arxiv.org/abs/2201.05718>`_ paper: the model's probabilities
    :math:`\mathbf{p}` are refined by Laplacian-regularised maximum likelihood
    with a kNN affinity :math:`\mathbf{W}` on the L2-normalised
    representations (as the third-party ``Matcha_LAME`` adapter):

    .. math::
        \mathbf{y}_i \leftarrow \mathrm{softmax}\Big(\log\mathbf{p}_i +
        \lambda \sum_j W_{ij}\mathbf{y}_j\Big),

    iterated at most :obj:`steps` times (stopping when the energy changes by
    less than :math:`10^{-8}` relative; the stop is applied on the device by
    freezing :math:`\mathbf{y}`, so no iteration waits for a host read).
    Returns :math:`\log\mathbf{y}`.

    Args:
        k (int, optional): Neighbours of the kNN affinity. (default: :obj:`5`)
        steps (int, optional): Maximum iterations. (default: :obj:`50`)
        bound_lambda (float, optional): :math:`\lambda`. (default: :obj:`1.0`)
        chunk_size (int, optional): Rows per block of the kNN search.
            (default: :obj:`2048`)
    """
    def __init__(self, k: int = 5, steps: int = 50, bound_lambda: float = 1.0,
                 chunk_size: int = 2048):
        self.k = check_int('k', k, 1)
        self.steps = check_int('steps', steps, 1)
        self.bound_lambda = check_float('bound_lambda', bound_lambda, 0.0)
        self.chunk_size = check_int('chunk_size', chunk_size, 1)

    def knn(self, feats: Tensor) -> Tensor:
        r"""Indices [N, k] of the k nearest other nodes (cosine)."""
        n = feats.size(0)
        k = min(self.k, n - 1)
        out = []
        for start in range(0, n, self.chunk_size):
            sim = feats[start:start + self.chunk_size] @ feats.t()
            rows = torch.arange(start, min(start + self.chunk_size, n),
                                device=feats.device)
            sim[torch.arange(rows.numel(), device=feats.device),
                rows] = -float('inf')
            out.append(sim.topk(k, dim=1).indices)
        return torch.cat(out, dim=0)

    @torch.no_grad()
    def __call__(self, model: torch.nn.Module, data: Any) -> Tensor:
        _require(model, ('featurize', 'classify'), 'LAMEBase')
        model.eval()
        z = model.featurize(data.x, data.edge_index)
        logits = model.classify(z)
        if z.size(0) < 2:
            return logits
        log_p = logits.log_softmax(dim=-1)
        nbr = self.knn(F.normalize(z, dim=1))
        y = log_p.exp()
        # The stopping rule is applied on the device: once the energy has
        # converged, y is frozen (the same result as breaking out of the
        # loop, without a host read per iteration).
        done = torch.zeros((), dtype=torch.bool, device=y.device)
        energy_old = None
        for _ in range(self.steps):
            pairwise = self.bound_lambda * y[nbr].sum(dim=1)
            y_new = torch.softmax(log_p + pairwise, dim=-1)
            energy = (y_new * (y_new.clamp_min(1e-30).log() - log_p) -
                      self.bound_lambda * y_new * y_new[nbr].sum(dim=1)).sum()
            y = torch.where(done, y, y_new)
            if energy_old is not None:
                done = done | ((energy - energy_old).abs() <=
                               1e-8 * energy_old.abs())
            energy_old = energy
        return y.clamp_min(1e-30).log()

    def __repr__(self) -> str:
        return f'LAMEBase(k={self.k}, steps={self.steps})'


BASES = {'erm': ERMBase, 'tent': TentBase, 't3a': T3ABase, 'lame': LAMEBase}


def resolve_base(base: Union[None, str, Callable]) -> Callable:
    r"""``None``/``'erm'``, ``'tent'``, ``'t3a'``, ``'lame'`` (default
    options) or any callable ``(model_copy, data) -> logits``."""
    if base is None:
        return ERMBase()
    if isinstance(base, str):
        if base.lower() not in BASES:
            raise ValueError(f"'base_tta' must be one of {sorted(BASES)} or "
                             f"a callable, got {base!r}")
        return BASES[base.lower()]()
    if not callable(base):
        raise TypeError(f"'base_tta' must be a name or a callable "
                        f"(model, data) -> logits, got "
                        f"{type(base).__name__}")
    return base
