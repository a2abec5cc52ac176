r"""The graph-lottery-ticket pipelines: TEDDY (one-shot degree-based edge
pruning + :math:`\ell_0`-projected weights + distillation from a dense
teacher) and its baselines, random pruning and UGS (iterative magnitude
pruning of trainable edge and weight masks with rewinding).

Every ``fit_*`` function sweeps a list of ``(graph_sparsity,
weight_sparsity)`` levels and can resume: it takes the ``state`` dict it
hands to ``on_level`` after every finished level, and skips the levels that
``state`` already holds. Every training starts from the same initial
weights and the same seed, so a resumed sweep gives identical numbers.
"""
import copy
import math
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.data import Data

from pyg_ext.utils.l0 import (L0ProjectedOptimizer, l0_keep_count,
                              project_l0_, weight_sparsity)
from pyg_ext.utils.sparsify import (check_sparsity, teddy_distillation_loss,
                                    teddy_edge_score, teddy_keep_mask)

__all__ = ['train_sparse', 'fit_teddy', 'fit_random_prune', 'fit_ugs',
           'graph_sparsity_of']

Levels = Sequence[Tuple[float, float]]


def _check_data(data: Data) -> None:
    for key in ('x', 'edge_index', 'y', 'train_mask', 'val_mask',
                'test_mask'):
        if getattr(data, key, None) is None:
            raise ValueError(f"data has no '{key}'")
    for key in ('train_mask', 'val_mask', 'test_mask'):
        if data[key].dim() != 1:
            raise ValueError(f"'{key}' must be 1-D [N] (select one split "
                             f"first), got shape {tuple(data[key].shape)}")


def _check_levels(levels: Levels) -> List[Tuple[float, float]]:
    out = []
    for i, lv in enumerate(levels):
        if len(lv) != 2:
            raise ValueError(f"levels[{i}] must be a pair (graph_sparsity, "
                             f"weight_sparsity), got {lv!r}")
        out.append((check_sparsity(lv[0], f'levels[{i}][0]'),
                    check_sparsity(lv[1], f'levels[{i}][1]')))
    return out


def _accuracy(logits: Tensor, y: Tensor, mask: Tensor) -> float:
    if int(mask.sum()) == 0:
        return float('nan')
    return float((logits[mask].argmax(-1) == y[mask]).float().mean())


def graph_sparsity_of(edge_index: Tensor, keep: Tensor) -> float:
    r"""Fraction of non-loop entries of :obj:`edge_index` removed by
    :obj:`keep`."""
    non_loop = edge_index[0] != edge_index[1]
    total = int(non_loop.sum())
    return 0.0 if total == 0 else 1.0 - int((keep & non_loop).sum()) / total


def train_sparse(model: torch.nn.Module, data: Data, edge_index: Tensor,
                 edge_weight: Optional[Tensor] = None, *, epochs: int = 200,
                 lr: float = 0.01, weight_decay: float = 5e-4,
                 teacher_logits: Optional[Tensor] = None, lamb: float = 0.0,
                 l0_sparsity: float = 0.0,
                 weight_masks: Optional[List[Tensor]] = None,
                 mask_params: Optional[List[Tensor]] = None,
                 ties_later: bool = True, return_logits: bool = False,
                 ) -> Dict[str, Any]:
    r"""One full-batch training run with best-validation model selection.

    Per epoch: loss :math:`\mathrm{CE}(\text{train}) + \lambda \cdot`
    :func:`~pyg_ext.utils.teddy_distillation_loss` (if a teacher is given),
    an Adam step, then either the :math:`\ell_0` projection to
    :obj:`l0_sparsity` (TEDDY's PGD) or the fixed :obj:`weight_masks` on
    :obj:`mask_params` (random pruning / UGS), then evaluation. Returns the
    validation / test accuracy at the best-validation epoch.
    """
    opt = torch.optim.Adam(model.parameters(), lr=lr,
                           weight_decay=weight_decay)
    if l0_sparsity > 0:
        opt = L0ProjectedOptimizer(opt, model, l0_sparsity)

    def apply_masks():
        if weight_masks is not None:
            with torch.no_grad():
                for p, m in zip(mask_params, weight_masks):
                    p.masked_fill_(~m, 0.0)

    apply_masks()
    best = {'val_accuracy': -1.0, 'test_accuracy': float('nan'),
            'best_epoch': -1, 'weight_sparsity': 0.0}
    best_logits = None
    for epoch in range(epochs):
        model.train()
        opt.zero_grad()
        out = model(data.x, edge_index, edge_weight)
        loss = F.cross_entropy(out[data.train_mask], data.y[data.train_mask])
        if teacher_logits is not None and lamb > 0:
            loss = loss + lamb * teddy_distillation_loss(out, teacher_logits)
        loss.backward()
        opt.step()
        apply_masks()
        model.eval()
        with torch.no_grad():
            out = model(data.x, edge_index, edge_weight)
        val = _accuracy(out, data.y, data.val_mask)
        better = val >= best['val_accuracy'] if ties_later else \
            val > best['val_accuracy']
        if better:
            best = {
                'val_accuracy': val,
                'test_accuracy': _accuracy(out, data.y, data.test_mask),
                'train_accuracy': _accuracy(out, data.y, data.train_mask),
                'best_epoch': epoch,
                'weight_sparsity': weight_sparsity(
                    model if mask_params is None else mask_params),
            }
            if return_logits:
                best_logits = out.detach().clone()
    if return_logits:
        best['logits'] = best_logits
    return best


def _progress(iterable, enabled: bool, desc: str):
    if not enabled:
        return iterable
    from tqdm.auto import tqdm
    return tqdm(iterable, desc=desc, leave=False)


def _init_state(model: torch.nn.Module,
                state: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    state = {} if state is None else state
    if 'init' not in state:
        state['init'] = copy.deepcopy(model.state_dict())
    else:
        model.load_state_dict(state['init'])
    state.setdefault('levels', [])
    return state


def _fresh(model: torch.nn.Module, state: Dict[str, Any], seed: int):
    model.load_state_dict(state['init'])
    torch.manual_seed(seed)


def fit_teddy(model: torch.nn.Module, data: Data, levels: Levels, *,
              epochs: int = 200, lr: float = 0.01,
              weight_decay: float = 5e-4, lamb: float = 10.0,
              distill: bool = True, count: str = 'undirected',
              score_self_loops: bool = False, seed: int = 0,
              edge_score: Optional[Tensor] = None, progress: bool = False,
              state: Optional[Dict[str, Any]] = None,
              on_level: Optional[Callable[[Dict[str, Any]], None]] = None,
              ) -> Dict[str, Any]:
    r"""The TEDDY pipeline from the `"TEDDY: Trimming Edges with
    Degree-based Discrimination strategY" <https://arxiv.org/abs/2402.01261>`_
    paper.

    1. Score every edge once on the full graph
       (:func:`~pyg_ext.utils.teddy_edge_score`).
    2. Train the dense teacher (CE only) from the initial weights of
       :obj:`model`; its best-validation logits on all nodes are
       :math:`\mathbf{Z}^t`, its test accuracy the dense reference.
    3. For each level :math:`(p_g, p_\theta)`: keep the edges of
       :func:`~pyg_ext.utils.teddy_keep_mask` (nested across levels), reload
       the same initial weights and seed, and train with CE
       :math:`+ \lambda \cdot \mathrm{KL}` and
       :class:`~pyg_ext.utils.L0ProjectedOptimizer`.

    Args:
        model (torch.nn.Module): ``model(x, edge_index, edge_weight=None)``;
            its current weights are the shared initialisation.
        data (torch_geometric.data.Data): Undirected graph with ``x``, ``y``
            and 1-D ``train_mask`` / ``val_mask`` / ``test_mask``.
        levels (list of (float, float)): ``(graph, weight)`` sparsities, e.g.
            :func:`~pyg_ext.utils.teddy_schedule`.
        epochs (int): Epochs per training. (default: :obj:`200`)
        lr (float): Adam learning rate. (default: :obj:`0.01`)
        weight_decay (float): Adam (coupled L2) weight decay.
            (default: :obj:`5e-4`)
        lamb (float): Distillation weight :math:`\lambda`.
            (default: :obj:`10.0`, the README's)
        distill (bool): Use distillation. (default: :obj:`True`)
        count (str): Edge count rule of
            :func:`~pyg_ext.utils.teddy_keep_mask`.
            (default: :obj:`'undirected'`)
        score_self_loops (bool): GAT-variant scoring. (default: :obj:`False`)
        seed (int): Seed applied before every training. (default: :obj:`0`)
        edge_score (torch.Tensor, optional): Replace the TEDDY score by this
            per-edge score (equal in both directions), e.g. a random one for
            an ablation of the edge criterion. (default: :obj:`None`)
        progress (bool): Show a progress bar. (default: :obj:`False`)
        state (dict, optional): A state from a previous call's
            :obj:`on_level` to resume from.
        on_level (callable, optional): Called with the state after the
            teacher and after every level (e.g. to checkpoint it).

    Returns:
        ``{'dense': {...}, 'levels': [{'graph_sparsity', 'weight_sparsity',
        'val_accuracy', 'test_accuracy', ...}, ...], 'seconds': float}``.
    """
    _check_data(data)
    levels = _check_levels(levels)
    state = _init_state(model, state)
    t_start = time.perf_counter()
    ei = data.edge_index
    if edge_score is not None:
        state['score'] = edge_score
    if 'score' not in state:
        state['score'] = teddy_edge_score(ei, data.num_nodes,
                                          add_self_loops=score_self_loops)
    score = state['score']
    if 'dense' not in state:
        _fresh(model, state, seed)
        t0 = time.perf_counter()
        res = train_sparse(model, data, ei, epochs=epochs, lr=lr,
                           weight_decay=weight_decay, ties_later=True,
                           return_logits=True)
        state['teacher_logits'] = res.pop('logits')
        res['seconds'] = time.perf_counter() - t0
        state['dense'] = res
        if on_level is not None:
            on_level(state)
    teacher = state['teacher_logits'] if distill else None
    todo = range(len(state['levels']), len(levels))
    for k in _progress(todo, progress, 'TEDDY levels'):
        p_g, p_w = levels[k]
        t0 = time.perf_counter()
        keep = teddy_keep_mask(ei, p_g, data.num_nodes, score=score,
                               count=count)
        _fresh(model, state, seed)
        res = train_sparse(model, data, ei[:, keep], epochs=epochs, lr=lr,
                           weight_decay=weight_decay, teacher_logits=teacher,
                           lamb=lamb, l0_sparsity=p_w, ties_later=True)
        res.update(level=k + 1, target_graph_sparsity=p_g,
                   target_weight_sparsity=p_w,
                   graph_sparsity=graph_sparsity_of(ei, keep),
                   seconds=time.perf_counter() - t0)
        state['levels'].append(res)
        if on_level is not None:
            on_level(state)
    return {'dense': state['dense'], 'levels': state['levels'][:len(levels)],
            'seconds': time.perf_counter() - t_start}


def _weight_params(model: torch.nn.Module) -> List[Tensor]:
    r"""The weight matrices (2-D parameters) UGS masks."""
    return [p for p in model.parameters() if p.requires_grad and p.dim() == 2]


def fit_random_prune(model: torch.nn.Module, data: Data, levels: Levels, *,
                     epochs: int = 200, lr: float = 0.01,
                     weight_decay: float = 5e-4, seed: int = 0,
                     progress: bool = False,
                     state: Optional[Dict[str, Any]] = None,
                     on_level: Optional[Callable[[Dict[str, Any]], None]]
                     = None) -> Dict[str, Any]:
    r"""Random pruning baseline: at level :math:`(p_g, p_\theta)` remove
    :math:`\lfloor p_g E_\mathrm{und} \rfloor` undirected edges (both
    directions) and :math:`\lceil p_\theta n_\Theta \rceil` parameter entries
    uniformly at random, then train with CE from the shared initialisation
    with the weight mask fixed. One random order of edges and of weights is
    drawn from :obj:`seed` and cut at every level, so masks are nested.
    Self-loops are never removed. Arguments as in :func:`fit_teddy`."""
    _check_data(data)
    levels = _check_levels(levels)
    state = _init_state(model, state)
    t_start = time.perf_counter()
    ei = data.edge_index
    gen = torch.Generator().manual_seed(seed)
    # A random score gives a random, nested, symmetric pair order.
    row, col = ei
    N = data.num_nodes
    lo, hi = torch.minimum(row, col), torch.maximum(row, col)
    pair, inv = torch.unique(lo * N + hi, return_inverse=True)
    pair_score = torch.rand(pair.numel(), generator=gen, dtype=torch.float64)
    score = pair_score[inv]
    params = [p for p in model.parameters() if p.requires_grad]
    numel = sum(p.numel() for p in params)
    w_order = torch.randperm(numel, generator=gen)
    todo = range(len(state['levels']), len(levels))
    for k in _progress(todo, progress, 'random levels'):
        p_g, p_w = levels[k]
        t0 = time.perf_counter()
        keep = teddy_keep_mask(ei, p_g, N, score=score)
        n_zero = numel - l0_keep_count(numel, p_w)
        flat = torch.ones(numel, dtype=torch.bool)
        flat[w_order[:n_zero]] = False
        masks, off = [], 0
        for p in params:
            masks.append(flat[off:off + p.numel()].view_as(p))
            off += p.numel()
        _fresh(model, state, seed)
        res = train_sparse(model, data, ei[:, keep], epochs=epochs, lr=lr,
                           weight_decay=weight_decay, weight_masks=masks,
                           mask_params=params, ties_later=False)
        res.update(level=k + 1, target_graph_sparsity=p_g,
                   target_weight_sparsity=p_w,
                   graph_sparsity=graph_sparsity_of(ei, keep),
                   seconds=time.perf_counter() - t0)
        state['levels'].append(res)
        if on_level is not None:
            on_level(state)
    return {'levels': state['levels'][:len(levels)],
            'seconds': time.perf_counter() - t_start}


def _ugs_mask_training(model, data, ei, edge_keep, weight_masks, *, epochs,
                       lr, weight_decay, lambda_edge, lambda_weight):
    r"""UGS "get-mask" training: trainable edge and weight masks (started at
    the fixed masks times :math:`1 \pm 10^{-5}` noise) with an L1 penalty;
    returns the masks' magnitudes at the best-validation epoch."""
    from torch.func import functional_call
    names = [n for n, p in model.named_parameters()
             if p.requires_grad and p.dim() == 2]
    params = dict(model.named_parameters())
    E = int(edge_keep.sum())
    sub = ei[:, edge_keep]
    m_edge = torch.nn.Parameter(
        1.0 + 1e-5 * (2 * torch.rand(E) - 1))
    m_w = [torch.nn.Parameter(
        weight_masks[i].float() * (1.0 + 1e-5 * (2 * torch.rand_like(
            params[n]) - 1))) for i, n in enumerate(names)]
    opt = torch.optim.Adam(list(model.parameters()) + [m_edge] + m_w, lr=lr,
                           weight_decay=weight_decay)
    fixed = [m.to(torch.float32) for m in weight_masks]

    def forward():
        over = {n: params[n] * m * f for n, m, f in zip(names, m_w, fixed)}
        return functional_call(model, over, (data.x, sub, m_edge))

    best_val, best = -1.0, None
    for epoch in range(epochs):
        model.train()
        opt.zero_grad()
        out = forward()
        loss = F.cross_entropy(out[data.train_mask], data.y[data.train_mask])
        loss = loss + lambda_edge * m_edge.abs().sum() + lambda_weight * sum(
            m.abs().sum() for m in m_w)
        loss.backward()
        if epoch == 0 and (m_edge.grad is None or not bool(
                (m_edge.grad != torch.sign(m_edge.detach()) * lambda_edge)
                .any())) and E > 0:
            raise ValueError(
                "UGS: the model ignores 'edge_weight' (the edge mask gets no "
                "gradient); use a backbone whose forward(x, edge_index, "
                "edge_weight) uses it, e.g. TeddyGCN / TeddyGIN / TeddyGAT")
        opt.step()
        model.eval()
        with torch.no_grad():
            out = forward()
        val = _accuracy(out, data.y, data.val_mask)
        if val > best_val:
            best_val = val
            best = (m_edge.detach().abs().clone(),
                    [(m.detach() * f).abs().clone() for m, f in
                     zip(m_w, fixed)])
    return best


def fit_ugs(model: torch.nn.Module, data: Data, levels: Levels, *,
            epochs: int = 200, lr: float = 0.01, weight_decay: float = 5e-4,
            lambda_edge: float = 1e-6, lambda_weight: float = 1e-5,
            seed: int = 0, progress: bool = False,
            state: Optional[Dict[str, Any]] = None,
            on_level: Optional[Callable[[Dict[str, Any]], None]] = None,
            ) -> Dict[str, Any]:
    r"""The UGS baseline (unified graph sparsification) from the `"A Unified
    Lottery Ticket Hypothesis for Graph Neural Networks"
    <https://arxiv.org/abs/2102.06790>`_ paper, as run by the TEDDY
    baselines: per round, a "get-mask" training from the rewound initial
    weights learns edge and weight-matrix masks with L1 penalties
    (:obj:`lambda_edge`, :obj:`lambda_weight`); at its best-validation epoch
    the smallest-magnitude masks are pruned until the target sparsities of
    the level are reached (iterative: each round prunes from what is left),
    and a "fix-mask" training from the rewound weights gives the reported
    accuracy. Edge masks are per directed entry (self-loops never pruned);
    weight masks cover the 2-D weight matrices only.

    The model must accept ``edge_weight`` (e.g.
    :class:`~pyg_ext.nn.models.TeddyGCN`). Other arguments as in
    :func:`fit_teddy`.
    """
    _check_data(data)
    levels = _check_levels(levels)
    state = _init_state(model, state)
    t_start = time.perf_counter()
    ei = data.edge_index
    non_loop = ei[0] != ei[1]
    n_edges = int(non_loop.sum())
    wparams = _weight_params(model)
    numel = sum(p.numel() for p in wparams)
    if 'edge_keep' not in state:
        state['edge_keep'] = torch.ones(ei.size(1), dtype=torch.bool)
        state['weight_masks'] = [torch.ones_like(p, dtype=torch.bool)
                                 for p in wparams]
    todo = range(len(state['levels']), len(levels))
    for k in _progress(todo, progress, 'UGS rounds'):
        p_g, p_w = levels[k]
        t0 = time.perf_counter()
        edge_keep, w_masks = state['edge_keep'], state['weight_masks']
        _fresh(model, state, seed + 1000 + k)
        m_edge, m_w = _ugs_mask_training(
            model, data, ei, edge_keep, w_masks, epochs=epochs, lr=lr,
            weight_decay=weight_decay, lambda_edge=lambda_edge,
            lambda_weight=lambda_weight)
        # Edges: prune the smallest-|mask| remaining non-loop entries.
        n_keep_target = n_edges - int(math.floor(p_g * n_edges + 1e-9))
        kept_idx = edge_keep.nonzero().view(-1)
        cand = non_loop[kept_idx]
        n_cut = max(0, int(cand.sum()) - n_keep_target)
        edge_keep = edge_keep.clone()
        if n_cut > 0:
            cidx = cand.nonzero().view(-1)
            order = torch.sort(m_edge[cidx], stable=True).indices[:n_cut]
            edge_keep[kept_idx[cidx[order]]] = False
        # Weights: prune the smallest-|mask| remaining entries globally.
        n_w_target = l0_keep_count(numel, p_w)
        flat_m = torch.cat([m.reshape(-1) for m in m_w])
        flat_keep = torch.cat([m.reshape(-1) for m in w_masks])
        n_cut = int(flat_keep.sum()) - n_w_target
        if n_cut > 0:
            alive = flat_keep.nonzero().view(-1)
            order = torch.sort(flat_m[alive], stable=True).indices[:n_cut]
            flat_keep = flat_keep.clone()
            flat_keep[alive[order]] = False
        new_masks, off = [], 0
        for p in wparams:
            new_masks.append(flat_keep[off:off + p.numel()].view_as(p))
            off += p.numel()
        # Fix-mask training from the rewound weights.
        _fresh(model, state, seed)
        res = train_sparse(model, data, ei[:, edge_keep], epochs=epochs,
                           lr=lr, weight_decay=weight_decay,
                           weight_masks=new_masks, mask_params=wparams,
                           ties_later=False)
        res.update(level=k + 1, target_graph_sparsity=p_g,
                   target_weight_sparsity=p_w,
                   graph_sparsity=graph_sparsity_of(ei, edge_keep),
                   seconds=time.perf_counter() - t0)
        state['edge_keep'], state['weight_masks'] = edge_keep, new_masks
        state['levels'].append(res)
        if on_level is not None:
            on_level(state)
    return {'levels': state['levels'][:len(levels)],
            'seconds': time.perf_counter() - t_start}
