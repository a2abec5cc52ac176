r"""The UGS baseline (unified graph sparsification) from the `"A Unified
Lottery Ticket Hypothesis for Graph Neural Networks"
<https://arxiv.org/abs/2102.06790>`_ paper, as run by the TEDDY baselines,
as a schedule on the training engine (see :mod:`pyg_ext.fit.teddy`)."""
import math
from typing import Callable, Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.func import functional_call

from pyg_ext.fit.teddy import (Levels, _document, _engine, _fresh,
                               _level_row,
                               _result, _setup, _Split, _split_flat, _stored,
                               _timed, _trainer, graph_sparsity_of,
                               train_sparse)
from pyg_ext.utils.l0 import l0_keep_count
from pyg_ext.utils.training import FitResult, state_snapshot

__all__ = ['fit_ugs']


class _UGSMasks(torch.nn.Module):
    r"""The trainable masks: one entry per column of ``edge_index`` (a
    level trains the entries of its remaining edges) and one per entry of
    every weight matrix. Fixed shapes, so the engine checkpoints them."""
    def __init__(self, num_edges: int, shapes, device):
        super().__init__()
        self.edge = torch.nn.Parameter(torch.ones(num_edges, device=device))
        self.weights = torch.nn.ParameterList(
            torch.nn.Parameter(torch.ones(s, device=device)) for s in shapes)


def _check_edge_weight_used(model: torch.nn.Module, data) -> None:
    r"""UGS trains its edge mask through ``edge_weight``: a model that
    ignores it would train no edge mask. One probe at entry in training
    mode (TeddyGAT prunes attention with it only there), on every node's
    output (a training node may be isolated), leaving the random state and
    the model's state as they were."""
    ei = data.edge_index
    if ei.size(1) == 0:
        return
    device = ei.device
    before = state_snapshot(model)
    devices = [device] if device.type == 'cuda' else []
    with torch.random.fork_rng(devices=devices):
        was_training = model.training
        model.train()
        w = torch.ones(ei.size(1), device=device, requires_grad=True)
        loss = model(data.x, ei, w).square().sum()
        grad = None
        if loss.requires_grad:
            grad, = torch.autograd.grad(loss, w, allow_unused=True)
        model.train(was_training)
    model.load_state_dict(before)
    if grad is None or not bool((grad != 0).any()):
        raise ValueError(
            "UGS: the model ignores 'edge_weight' (the edge mask gets no "
            "gradient); use a backbone whose forward(x, edge_index, "
            "edge_weight) uses it, e.g. TeddyGCN / TeddyGIN / TeddyGAT")


def _prune(edge_keep: Tensor, w_keep: List[Tensor], m_edge: Tensor,
           m_w: List[Tensor], non_loop: Tensor, p_g: float, p_w: float,
           wparams: List[Tensor]) -> Tuple[Tensor, List[Tensor]]:
    r"""Prunes the smallest-|mask| remaining non-loop edge entries and
    weight entries (global over the weight matrices) down to the level's
    targets; :obj:`m_edge` holds the masks of the remaining edges."""
    n_edges = int(non_loop.sum())
    n_keep_target = n_edges - int(math.floor(p_g * n_edges + 1e-9))
    kept_idx = edge_keep.nonzero().view(-1)
    cand = non_loop[kept_idx]
    n_cut = max(0, int(cand.sum()) - n_keep_target)
    edge_keep = edge_keep.clone()
    if n_cut > 0:
        cidx = cand.nonzero().view(-1)
        order = torch.sort(m_edge[cidx], stable=True).indices[:n_cut]
        edge_keep[kept_idx[cidx[order]]] = False
    numel = sum(p.numel() for p in wparams)
    flat_m = torch.cat([m.reshape(-1) for m in m_w])
    flat_keep = torch.cat([m.reshape(-1) for m in w_keep])
    n_cut = int(flat_keep.sum()) - l0_keep_count(numel, p_w)
    if n_cut > 0:
        alive = flat_keep.nonzero().view(-1)
        order = torch.sort(flat_m[alive], stable=True).indices[:n_cut]
        flat_keep = flat_keep.clone()
        flat_keep[alive[order]] = False
    return edge_keep, _split_flat(flat_keep, wparams)


def fit_ugs(model: torch.nn.Module, data, levels: Levels, *,
            epochs: int = 200, lr: float = 0.01, weight_decay: float = 5e-4,
            optimizer: str = 'adam', lambda_edge: float = 1e-6,
            lambda_weight: float = 1e-5, device=None,
            generator: Optional[torch.Generator] = None, checkpoint=None,
            checkpoint_every: int = 10, progress: bool = True,
            desc: str = '', on_epoch: Optional[Callable] = None,
            interrupt: Optional[Callable[[int], None]] = None
            ) -> FitResult:
    r"""The UGS baseline (unified graph sparsification) from the `"A
    Unified Lottery Ticket Hypothesis for Graph Neural Networks"
    <https://arxiv.org/abs/2102.06790>`_ paper, as run by the TEDDY
    baselines. Per level :math:`k`:

    1. phase ``'level<k>/mask'`` ("get-mask"): from the rewound initial
       weights (seed :math:`s + 1000 + k - 1`), train edge and
       weight-matrix masks, started at the fixed masks times
       :math:`1 \pm 10^{-5}` noise, with L1 penalties (:obj:`lambda_edge`,
       :obj:`lambda_weight`); at its best-validation epoch prune the
       smallest-magnitude masks until the level's target sparsities are
       reached (iterative: each level prunes from what is left);
    2. phase ``'level<k>'`` ("fix-mask"): train from the rewound weights
       (seed :math:`s`) with the masks fixed; its best-validation epoch is
       reported.

    Edge masks are per directed entry (self-loops never pruned), passed to
    the model as ``edge_weight``; weight masks cover the 2-D weight
    matrices only. Model selection is strict (``>``, as the baseline
    scripts).

    Args:
        model (torch.nn.Module): A model whose ``forward(x, edge_index,
            edge_weight)`` uses :obj:`edge_weight` (e.g.
            :class:`~pyg_ext.nn.models.TeddyGCN`); checked once at entry.
        data, levels, epochs, lr, weight_decay, optimizer: As in
            :func:`~pyg_ext.fit.fit_teddy`.
        lambda_edge (float): L1 weight on the edge mask.
            (default: :obj:`1e-6`, the README's)
        lambda_weight (float): L1 weight on the weight masks.
            (default: :obj:`1e-5`, the README's)
    """
    model, data, device, gen, levels = _setup(
        model, data, device, generator, levels, epochs, lr, weight_decay,
        optimizer, _engine(checkpoint_every, progress, desc, on_epoch,
                           interrupt),
        lambda_edge=lambda_edge, lambda_weight=lambda_weight)
    split = _Split(data)
    _check_edge_weight_used(model, data)
    ei, x, y, train_idx = data.edge_index, data.x, data.y, split.idx['train']
    non_loop = ei[0] != ei[1]
    params = dict(model.named_parameters())
    names = [n for n, p in params.items() if p.requires_grad and p.dim() == 2]
    wparams = [params[n] for n in names]
    masks = _UGSMasks(ei.size(1), [p.shape for p in wparams], device)
    seed = gen.initial_seed()
    sweep = dict(fit='fit_ugs', levels=levels, epochs=epochs, lr=lr,
                 weight_decay=weight_decay, optimizer=optimizer, seed=seed,
                 lambda_edge=lambda_edge, lambda_weight=lambda_weight)
    trainer = _trainer(sweep, {'model': model, 'masks': masks}, device, gen,
                       checkpoint, checkpoint_every, progress, desc, on_epoch,
                       interrupt)
    init = trainer.memo('init', lambda: state_snapshot(model))
    kw = dict(init=init, seed=seed, epochs=epochs, lr=lr,
              weight_decay=weight_decay, optimizer=optimizer, split=split)
    pruned = (torch.ones(ei.size(1), dtype=torch.bool, device=device),
              [torch.ones_like(p, dtype=torch.bool) for p in wparams], 0.0)
    rows = []
    for k, (p_g, p_w) in enumerate(levels, 1):
        fix, get = f'level{k}', f'level{k}/mask'
        if trainer.done(fix):  # its masks are not needed any more
            gs = trainer.memo(f'level{k}/graph_sparsity', _missing)
            ph = _stored(trainer, fix)
            rows.append(_level_row(trainer, k, p_g, p_w, ph, gs, [get]))
            continue
        if k > 1:
            pruned = trainer.memo(f'level{k - 1}/pruned', _missing)
        edge_keep = pruned[0].to(device)
        w_keep = [m.to(device) for m in pruned[1]]
        keep_idx = edge_keep.nonzero().view(-1)
        sub = ei[:, keep_idx]
        fixed = [m.to(torch.float32) for m in w_keep]

        def forward(m_edge: Tensor) -> Tensor:
            over = {n: params[n] * m * f
                    for n, m, f in zip(names, masks.weights, fixed)}
            return functional_call(model, over, (x, sub, m_edge))

        if not trainer.done(get):
            opt = trainer.optimizer(
                get, list(model.parameters()) + [masks.edge] +
                list(masks.weights), optimizer, lr, weight_decay)

            @torch.no_grad()
            def init_masks():
                noise = 2 * torch.rand(keep_idx.numel(), device=device) - 1
                masks.edge[keep_idx] = 1.0 + 1e-5 * noise
                for m, w, p in zip(masks.weights, w_keep, wparams):
                    m.copy_(w.float() * (1.0 + 1e-5 *
                                         (2 * torch.rand_like(p) - 1)))

            _fresh(trainer, get, model, init, seed + 1000 + k - 1,
                   init_masks)

            def step(epoch: int) -> Tensor:
                model.train()
                m_edge = masks.edge[keep_idx]
                out = forward(m_edge)
                loss = F.cross_entropy(out[train_idx], y[train_idx])
                loss = loss + lambda_edge * m_edge.abs().sum() + \
                    lambda_weight * sum(m.abs().sum() for m in masks.weights)
                return trainer.backward(opt, loss)

            @torch.no_grad()
            def evaluate(epoch: int) -> Dict[str, float]:
                model.eval()
                return split.accuracies(forward(masks.edge[keep_idx]), y)

            trainer.phase(get, _timed(trainer, get, step),
                          _timed(trainer, get, evaluate), epochs=epochs,
                          monitor='val_accuracy', mode='max', ties='first',
                          snapshot=['masks'])
            trainer.drop_optimizer(get)

        def prune():  # from the get-mask phase's best-validation masks
            with torch.no_grad():
                keep, w = _prune(
                    edge_keep, w_keep, masks.edge.abs()[keep_idx],
                    [(m * f).abs() for m, f in zip(masks.weights, fixed)],
                    non_loop, p_g, p_w, wparams)
            return keep, w, graph_sparsity_of(ei, keep)

        pruned = trainer.memo(f'level{k}/pruned', prune)
        gs = trainer.memo(f'level{k}/graph_sparsity', lambda: pruned[2])
        ph = train_sparse(trainer, fix, model, data,
                          ei[:, pruned[0].to(device)],
                          weight_masks=[m.to(device) for m in pruned[1]],
                          mask_params=wparams, ties='first', **kw)
        # Level k-1's masks are needed until level k's training is done.
        trainer.forget(f'level{k - 1}/pruned')
        rows.append(_level_row(trainer, k, p_g, p_w, ph, gs, [get]))
    pruned = trainer.memo(f'level{len(levels)}/pruned', _missing)
    return _result(trainer, rows, ph, edge_mask=pruned[0].to(device),
                   weight_masks=[m.to(device) for m in pruned[1]])


_document(fit_ugs, r"""
        Besides, ``weight_masks`` (the sparsest level's masks of the weight
        matrices).
""")


def _missing():
    raise RuntimeError('fit_ugs: the checkpoint lacks a value it should hold '
                       '(written by another version?)')
