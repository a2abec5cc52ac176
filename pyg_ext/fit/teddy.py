r"""The graph-lottery-ticket pipelines of the `"TEDDY: Trimming Edges with
Degree-based Discrimination strategY" <https://arxiv.org/abs/2402.01261>`_
paper as schedules on the training engine
(:class:`~pyg_ext.utils.training.Trainer`): TEDDY (one-shot degree-based edge
pruning, :math:`\ell_0`-projected weights, distillation from a dense
teacher) and its baselines, random pruning and UGS (iterative magnitude
pruning of trainable edge and weight masks with rewinding).

Every training is one named engine phase (``'teacher'``, ``'level3'``,
``'level3/mask'``), so a sweep checkpoints and resumes like any other
method, mid-level or between levels, with the numbers of an uninterrupted
run: every training starts from the same stored initial weights and the
same seed, and the values computed between trainings (the teacher's logits,
the random orders, the UGS masks) are kept in the checkpointed schedule
state.
"""
import copy
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from pyg_ext.fit.supervised import (check_fit_args, check_model,
                                    check_node_model)
from pyg_ext.utils.device import place
from pyg_ext.utils.l0 import (L0ProjectedOptimizer, l0_keep_count,
                              weight_sparsity)
from pyg_ext.utils.sparsify import (check_sparsity, teddy_distillation_loss,
                                    teddy_edge_score, teddy_keep_mask)
from pyg_ext.utils.training import FitResult, PhaseResult, Trainer, \
    state_snapshot
from pyg_ext.utils.validation import (check_bool, check_choice,
                                      check_edge_values, check_float,
                                      check_graph, check_labels)

__all__ = ['fit_teddy', 'fit_random_prune', 'train_sparse',
           'graph_sparsity_of', 'prepare_sweep_data']

Levels = Sequence[Tuple[float, float]]
SPLITS = ('train', 'val', 'test')
SPLIT_MASKS = ('train_mask', 'val_mask', 'test_mask')
COUNT_RULES = ('undirected', 'entries')


# Entry checks (once, never in a step) -----------------------------------
def _check_levels(levels: Levels) -> List[Tuple[float, float]]:
    if isinstance(levels, (str, bytes)) or not hasattr(levels, '__len__'):
        raise TypeError(f"'levels' must be a list of (graph_sparsity, "
                        f"weight_sparsity) pairs, got "
                        f"{type(levels).__name__}")
    if len(levels) == 0:
        raise ValueError("'levels' must hold at least one (graph_sparsity, "
                         "weight_sparsity) pair")
    out = []
    for i, lv in enumerate(levels):
        if not hasattr(lv, '__len__') or len(lv) != 2:
            raise ValueError(f"levels[{i}] must be a pair (graph_sparsity, "
                             f"weight_sparsity), got {lv!r}")
        out.append((check_sparsity(lv[0], f'levels[{i}][0]'),
                    check_sparsity(lv[1], f'levels[{i}][1]')))
    return out


def _generator(generator: Optional[torch.Generator],
               device: torch.device) -> torch.Generator:
    if generator is None:  # the documented default: seed 0
        return torch.Generator(device=device).manual_seed(0)
    return generator


def _setup(model, data, device, generator, levels, epochs, lr, weight_decay,
           optimizer, engine, **numbers):
    r"""The shared entry of the sweeps: every argument and data check once,
    before any work; placement, generator and base seed."""
    check_model(model)
    levels = _check_levels(levels)
    check_fit_args(epochs, lr, weight_decay, optimizer, generator=generator,
                   **engine)
    for name, value in numbers.items():
        check_float(name, value, 0.0)
    if data is None:
        raise TypeError("'data' must be a graph, got None")
    model, data, device = place(model, data, device)
    check_graph(data, labels=True, masks=SPLIT_MASKS,
                nonempty=('train_mask', 'val_mask'))
    check_labels('data.y', data.y, data.num_nodes,
                 check_node_model(model, data, device),
                 data.train_mask | data.val_mask | data.test_mask)
    gen = _generator(generator, device)
    return model, data, device, gen, levels


def prepare_sweep_data(data, model: Optional[torch.nn.Module] = None, *,
                       symmetrize: bool = False, self_loops: bool = False,
                       sparse_features: bool = False):
    r"""The loop's preparation of a graph for a sweep, on its own device:
    make it undirected (:obj:`symmetrize`), add the missing self-loops
    (:obj:`self_loops`, the official GAT script's scoring graph) and, for
    the :class:`~pyg_ext.nn.models.TeddyGCN` / :class:`TeddyGIN` backbones,
    turn features that are at most 10% dense into a sparse CSR tensor
    (:obj:`sparse_features`: the same numbers up to float round-off, ~10x
    faster on bag-of-words features). The input is not changed."""
    from torch_geometric.utils import is_undirected, to_undirected
    if symmetrize and not is_undirected(data.edge_index,
                                        num_nodes=data.num_nodes):
        data = data.clone()
        data.edge_index = to_undirected(data.edge_index,
                                        num_nodes=data.num_nodes)
    if self_loops:
        from torch_geometric.transforms import AddRemainingSelfLoops
        data = AddRemainingSelfLoops()(data.clone())
    if sparse_features and model is not None:
        from pyg_ext.nn.models.teddy import TeddyGCN, TeddyGIN
        if isinstance(model, (TeddyGCN, TeddyGIN)) and \
                data.x.layout == torch.strided and \
                float((data.x != 0).float().mean()) <= 0.1:
            data = copy.copy(data)
            data.x = data.x.to_sparse_csr()
    return data


# One training ----------------------------------------------------------
def _accuracy(logits: Tensor, y: Tensor, idx: Tensor, n: int) -> float:
    if n == 0:
        return float('nan')
    return float((logits[idx].argmax(-1) == y[idx]).float().mean())


class _Split:
    r"""Index tensors of the splits (no boolean-mask indexing, which syncs
    on a GPU, inside a step) and their sizes, read once."""
    def __init__(self, data):
        self.idx = {s: data[f'{s}_mask'].nonzero().view(-1) for s in SPLITS}
        self.n = {s: self.idx[s].numel() for s in SPLITS}

    def accuracies(self, out: Tensor, y: Tensor) -> Dict[str, float]:
        return {f'{s}_accuracy': _accuracy(out, y, self.idx[s], self.n[s])
                for s in ('val', 'test', 'train')}


def graph_sparsity_of(edge_index: Tensor, keep: Tensor) -> float:
    r"""Fraction of non-loop entries of :obj:`edge_index` removed by
    :obj:`keep`."""
    non_loop = edge_index[0] != edge_index[1]
    total = int(non_loop.sum())
    return 0.0 if total == 0 else 1.0 - int((keep & non_loop).sum()) / total


def _timed(trainer: Trainer, name: str, fn: Callable) -> Callable:
    r"""``fn`` whose wall time adds up in the checkpointed schedule state
    (a resumed phase keeps the seconds already spent)."""
    def run(epoch):
        t = time.perf_counter()
        try:
            return fn(epoch)
        finally:
            secs = trainer.state.setdefault('seconds', {})
            secs[name] = secs.get(name, 0.0) + time.perf_counter() - t
    return run


def _seconds(trainer: Trainer, *names: str) -> float:
    secs = trainer.state.get('seconds', {})
    return sum(secs.get(n, 0.0) for n in names)


def _fresh(trainer: Trainer, name: str, model: torch.nn.Module,
           init: Dict[str, Tensor], seed: int, then=None) -> None:
    r"""Rewinds :obj:`model` to the shared initial weights and re-seeds, once
    per phase: a phase resumed from its own checkpoint skips it."""
    def fresh():
        model.load_state_dict(init)
        torch.manual_seed(seed % 2**64)
        if then is not None:
            then()
        return True
    trainer.memo(f'{name}/fresh', fresh)


def _stored(trainer: Trainer, name: str) -> PhaseResult:
    r"""The stored result of the finished phase :obj:`name`."""
    return trainer.phase(name, lambda epoch: None, epochs=0)


def train_sparse(trainer: Trainer, name: str, model: torch.nn.Module, data,
                 edge_index: Tensor, edge_weight: Optional[Tensor] = None, *,
                 init: Dict[str, Tensor], seed: int, epochs: int = 200,
                 lr: float = 0.01, weight_decay: float = 5e-4,
                 optimizer: str = 'adam',
                 teacher_logits: Optional[Tensor] = None, lamb: float = 0.0,
                 l0_sparsity: float = 0.0,
                 weight_masks: Optional[List[Tensor]] = None,
                 mask_params: Optional[List[Tensor]] = None,
                 ties: str = 'last', split: Optional[_Split] = None
                 ) -> PhaseResult:
    r"""One full-batch training of the sweeps as the phase :obj:`name` of
    :obj:`trainer`, from the initial weights :obj:`init` after
    ``torch.manual_seed(seed)``, for exactly :obj:`epochs` epochs (no early
    stopping, as the official code), with best-validation model selection
    (:obj:`ties`: ``'last'`` = ``>=`` as TEDDY's ``main_teddy.py``,
    ``'first'`` = ``>`` as the baseline scripts); the best weights are
    restored at the end.

    Per epoch: loss :math:`\mathrm{CE}(\text{train}) + \lambda \cdot`
    :func:`~pyg_ext.utils.teddy_distillation_loss` (if a teacher is given),
    an optimizer step, then either the :math:`\ell_0` projection to
    :obj:`l0_sparsity` (:class:`~pyg_ext.utils.L0ProjectedOptimizer`,
    TEDDY's PGD) or the fixed :obj:`weight_masks` on :obj:`mask_params`
    (random pruning / UGS), then evaluation (``val/test/train_accuracy``
    and ``weight_sparsity``).

    Args:
        trainer (Trainer): The engine running the schedule.
        name (str): The phase name (a finished phase returns its stored
            result at once).
        model, data: The model and the graph (``data.x``, ``data.y``).
        edge_index (torch.Tensor): The (pruned) graph to train on.
        edge_weight (torch.Tensor, optional): Edge weights passed to the
            model.
        init (dict): The shared initial state dict (rewinding).
        seed (int): The seed applied before the training.
        teacher_logits (torch.Tensor, optional): :math:`\mathbf{Z}^t` for
            the distillation term with weight :obj:`lamb`.
        l0_sparsity (float): Target sparsity of the :math:`\ell_0`
            projection of all trainable parameters (:obj:`0`: none).
        weight_masks (list of torch.Tensor, optional): Fixed boolean keep
            masks of :obj:`mask_params`.
        ties (str): ``'last'`` or ``'first'`` (see above).
        split (optional): The split indices (computed from :obj:`data` if
            not given).
    """
    if trainer.done(name):
        return _stored(trainer, name)
    split = split or _Split(data)
    y, train_idx = data.y, split.idx['train']
    opt = trainer.optimizer(name, model.parameters(), optimizer, lr,
                            weight_decay)
    if l0_sparsity > 0:
        opt = L0ProjectedOptimizer(opt, model, l0_sparsity)
    drop = None if weight_masks is None else [~m for m in weight_masks]

    @torch.no_grad()
    def apply_masks():
        if drop is not None:
            for p, m in zip(mask_params, drop):
                p.masked_fill_(m, 0.0)

    _fresh(trainer, name, model, init, seed, apply_masks)
    distill = teacher_logits is not None and lamb > 0

    def step(epoch: int) -> Tensor:
        model.train()
        out = model(data.x, edge_index, edge_weight)
        loss = F.cross_entropy(out[train_idx], y[train_idx])
        if distill:
            loss = loss + lamb * teddy_distillation_loss(out, teacher_logits)
        loss = trainer.backward(opt, loss)
        apply_masks()
        return loss

    @torch.no_grad()
    def evaluate(epoch: int) -> Dict[str, float]:
        model.eval()
        res = split.accuracies(model(data.x, edge_index, edge_weight), y)
        res['weight_sparsity'] = weight_sparsity(
            model if mask_params is None else mask_params)
        return res

    ph = trainer.phase(name, _timed(trainer, name, step),
                       _timed(trainer, name, evaluate), epochs=epochs,
                       monitor='val_accuracy', mode='max', ties=ties,
                       snapshot=['model'])
    trainer.drop_optimizer(name)
    return ph


def _row(ph: PhaseResult, seconds: float, **extra) -> Dict[str, Any]:
    r"""A row of the per-level table: the best-validation epoch's numbers."""
    m = ph.best_metrics
    row = {k: float(m[k]) for k in ('val_accuracy', 'test_accuracy',
                                    'train_accuracy', 'weight_sparsity')
           if k in m}
    row.update(best_epoch=ph.best_epoch, seconds=seconds, **extra)
    return row


def _level_row(trainer, k, p_g, p_w, ph, graph_sparsity,
               names=()) -> Dict[str, Any]:
    return _row(ph, _seconds(trainer, f'level{k}', *names), level=k,
                target_graph_sparsity=p_g, target_weight_sparsity=p_w,
                graph_sparsity=graph_sparsity)


def _result(trainer: Trainer, rows: List[Dict[str, Any]], last: PhaseResult,
            dense: Optional[Dict[str, Any]] = None, **extras) -> FitResult:
    metrics: Dict[str, float] = {}
    for r in rows:
        for key in ('test_accuracy', 'val_accuracy', 'graph_sparsity',
                    'weight_sparsity'):
            metrics[f"level{r['level']}_{key}"] = r[key]
    for key in ('val_accuracy', 'test_accuracy', 'graph_sparsity',
                'weight_sparsity'):
        metrics[key] = rows[-1][key]
    metrics['mean_test_accuracy'] = sum(r['test_accuracy']
                                        for r in rows) / len(rows)
    metrics['train_seconds'] = sum(r['seconds'] for r in rows)
    if dense is not None:
        metrics['dense_test_accuracy'] = dense['test_accuracy']
        metrics['dense_val_accuracy'] = dense['val_accuracy']
        metrics['train_seconds'] += dense['seconds']
        extras['dense'] = dense
    return trainer.result(metrics, last.history, last.best_epoch,
                          levels=rows, **extras)


def _trainer(sweep, modules, device, gen, checkpoint, checkpoint_every,
             progress, desc, on_epoch, interrupt) -> Trainer:
    trainer = Trainer(modules, device=device, checkpoint=checkpoint,
                      checkpoint_every=checkpoint_every,
                      generators={'generator': gen}, progress=progress,
                      desc=desc, on_epoch=on_epoch, interrupt=interrupt)
    # A checkpoint resumes only the sweep that wrote it.
    saved = trainer.memo('sweep', lambda: sweep)
    diff = sorted(k for k in set(saved) | set(sweep)
                  if saved.get(k) != sweep.get(k))
    if diff:
        raise ValueError(f"'checkpoint' {trainer.ckpt.path} holds another "
                         f"sweep (it differs in {diff}); pass the same "
                         f"arguments to resume it, or a new path")
    return trainer


_COMMON_ARGS = r"""
        device (str or torch.device, optional): Move the model and the data
            there (default: the model's device; the data must be on it).
        generator (torch.Generator, optional): The base seed of every
            training is ``generator.initial_seed()`` (dropout and the
            initialisation use torch's global generator, re-seeded before
            every training); random pruning draws its orders from it.
            (default: a generator on the data's device seeded :obj:`0`)
        checkpoint (str or Checkpointer, optional): Resumable state: an
            interrupted sweep resumes, mid-level or between levels, with the
            numbers of an uninterrupted one.
        checkpoint_every (int): Epochs between checkpoints within a
            training (each training also checkpoints when it ends).
        progress (bool): Show a progress bar per training.
        desc (str): Progress-bar label.
        on_epoch (callable, optional): ``on_epoch(phase, epoch, metrics)``.
        interrupt (callable, optional): Called after every epoch (test
            hook).

    Raises:
        ValueError, TypeError: For a bad argument or data value, before any
            training (as :func:`~pyg_ext.fit.fit_supervised`).

    Returns:
        FitResult: ``metrics`` with ``val_accuracy`` / ``test_accuracy`` /
        ``graph_sparsity`` / ``weight_sparsity`` of the sparsest level,
        ``mean_test_accuracy``, ``level<k>_*`` for every level and
        ``train_seconds``; ``history`` and ``best_epoch`` of the sparsest
        level's training; extras ``levels`` (one row per level: ``level``,
        ``target_graph_sparsity``, ``target_weight_sparsity``,
        ``graph_sparsity``, ``weight_sparsity``, ``val_accuracy``,
        ``test_accuracy``, ``train_accuracy``, ``best_epoch``, ``seconds``)
        and ``edge_mask`` (the sparsest level's kept edges, bool
        ``[num_edges]``). :obj:`model` ends with the sparsest ticket's
        best-validation weights.
"""


def _engine(checkpoint_every, progress, desc, on_epoch, interrupt):
    return dict(checkpoint_every=checkpoint_every, progress=progress,
                desc=desc, on_epoch=on_epoch, interrupt=interrupt)


def _document(fn: Callable, returns_extra: str) -> None:
    r"""Appends the arguments and the result shared by the sweeps to
    :obj:`fn`'s docstring."""
    fn.__doc__ = (fn.__doc__.rstrip() + '\n' + _COMMON_ARGS.lstrip('\n') +
                  returns_extra.lstrip('\n'))


def fit_teddy(model: torch.nn.Module, data, levels: Levels, *,
              epochs: int = 200, lr: float = 0.01,
              weight_decay: float = 5e-4, optimizer: str = 'adam',
              lamb: float = 10.0, distill: bool = True,
              count: str = 'undirected', score_self_loops: bool = False,
              edge_score: Optional[Tensor] = None, device=None,
              generator: Optional[torch.Generator] = None, checkpoint=None,
              checkpoint_every: int = 10, progress: bool = True,
              desc: str = '', on_epoch: Optional[Callable] = None,
              interrupt: Optional[Callable[[int], None]] = None
              ) -> FitResult:
    r"""The TEDDY pipeline from the `"TEDDY: Trimming Edges with
    Degree-based Discrimination strategY" <https://arxiv.org/abs/2402.01261>`_
    paper.

    1. Score every edge once on the full graph
       (:func:`~pyg_ext.utils.teddy_edge_score`).
    2. Train the dense teacher (phase ``'teacher'``, CE only) from the
       initial weights of :obj:`model`; its best-validation logits on all
       nodes are :math:`\mathbf{Z}^t`, its test accuracy the dense
       reference.
    3. For each level :math:`(p_g, p_\theta)` (phase ``'level<k>'``): keep
       the edges of :func:`~pyg_ext.utils.teddy_keep_mask` (nested across
       levels), rewind to the same initial weights and seed, and train with
       CE :math:`+ \lambda \cdot \mathrm{KL}` and
       :class:`~pyg_ext.utils.L0ProjectedOptimizer`.

    Model selection keeps the later epoch on a validation tie (``>=``, as
    the official ``main_teddy.py``).

    Args:
        model (torch.nn.Module): ``model(x, edge_index, edge_weight=None)``;
            its current weights are the shared initialisation.
        data (torch_geometric.data.Data): Undirected graph with ``x``, ``y``
            and 1-D bool ``train_mask`` / ``val_mask`` / ``test_mask``.
        levels (list of (float, float)): ``(graph, weight)`` sparsities, e.g.
            :func:`~pyg_ext.utils.teddy_schedule`.
        epochs (int): Epochs per training. (default: :obj:`200`)
        lr (float): Learning rate. (default: :obj:`0.01`)
        weight_decay (float): Weight decay (coupled L2, as torch's Adam).
            (default: :obj:`5e-4`)
        optimizer (str): ``'adam'``, ``'adamw'`` or ``'sgd'``.
            (default: :obj:`'adam'`, the official one)
        lamb (float): Distillation weight :math:`\lambda`.
            (default: :obj:`10.0`, the README's)
        distill (bool): Use distillation. (default: :obj:`True`)
        count (str): Edge count rule of
            :func:`~pyg_ext.utils.teddy_keep_mask`.
            (default: :obj:`'undirected'`)
        score_self_loops (bool): GAT-variant scoring. (default: :obj:`False`)
        edge_score (torch.Tensor, optional): Replace the TEDDY score by this
            per-edge score (equal in both directions), e.g. a random one for
            an ablation of the edge criterion. (default: :obj:`None`)
    """
    check_choice('count', count, COUNT_RULES)
    check_bool('distill', distill)
    check_bool('score_self_loops', score_self_loops)
    moved = device is not None
    model, data, device, gen, levels = _setup(
        model, data, device, generator, levels, epochs, lr, weight_decay,
        optimizer, _engine(checkpoint_every, progress, desc, on_epoch,
                           interrupt), lamb=lamb)
    ei, N = data.edge_index, data.num_nodes
    if edge_score is not None:
        if not isinstance(edge_score, Tensor) or edge_score.dim() != 1:
            raise ValueError(f"'edge_score' must be a 1-D tensor with "
                             f"{ei.size(1)} entries (one per edge), got "
                             f"{getattr(edge_score, 'shape', edge_score)!r}")
        if moved:
            edge_score = edge_score.to(device)
        elif edge_score.device != ei.device:
            raise ValueError(f"'edge_score' is on {edge_score.device} but "
                             f"the data is on {ei.device}")
        score = check_edge_values('edge_score', edge_score, ei.size(1))
        # the graph checks of the keep mask (undirected input), once here
        teddy_keep_mask(ei, 0.0, N, score=score, count=count)
    else:
        score = teddy_edge_score(ei, N, add_self_loops=score_self_loops)
    seed, split = gen.initial_seed(), _Split(data)
    sweep = dict(fit='fit_teddy', levels=levels, epochs=epochs, lr=lr,
                 weight_decay=weight_decay, optimizer=optimizer, lamb=lamb,
                 distill=distill, count=count, seed=seed,
                 score_self_loops=score_self_loops,
                 edge_score=edge_score is not None)
    trainer = _trainer(sweep, model, device, gen, checkpoint,
                       checkpoint_every, progress, desc, on_epoch, interrupt)
    init = trainer.memo('init', lambda: state_snapshot(model))
    kw = dict(init=init, seed=seed, epochs=epochs, lr=lr,
              weight_decay=weight_decay, optimizer=optimizer, split=split)

    ph = train_sparse(trainer, 'teacher', model, data, ei, ties='last', **kw)
    dense = _row(ph, _seconds(trainer, 'teacher'))
    teacher = None
    if distill:
        @torch.no_grad()
        def logits():  # the restored best-validation teacher, eval mode
            model.eval()
            return model(data.x, ei).detach()
        teacher = trainer.memo('teacher_logits', logits).to(device)

    rows = []
    for k, (p_g, p_w) in enumerate(levels, 1):
        keep = teddy_keep_mask(ei, p_g, N, score=score, count=count)
        ph = train_sparse(trainer, f'level{k}', model, data, ei[:, keep],
                          teacher_logits=teacher, lamb=lamb, l0_sparsity=p_w,
                          ties='last', **kw)
        rows.append(_level_row(trainer, k, p_g, p_w, ph,
                               graph_sparsity_of(ei, keep)))
    return _result(trainer, rows, ph, dense, score=score, edge_mask=keep)


_document(fit_teddy, r"""
        Besides, ``dense`` (the teacher's row), the metrics
        ``dense_val_accuracy`` / ``dense_test_accuracy``, and ``score`` (the
        edge score used).

    .. note::
        See `examples/teddy.py` for TEDDY against random pruning and UGS.
""")


def _split_flat(flat: Tensor, params: List[Tensor]) -> List[Tensor]:
    masks, off = [], 0
    for p in params:
        masks.append(flat[off:off + p.numel()].view_as(p))
        off += p.numel()
    return masks


def fit_random_prune(model: torch.nn.Module, data, levels: Levels, *,
                     epochs: int = 200, lr: float = 0.01,
                     weight_decay: float = 5e-4, optimizer: str = 'adam',
                     device=None, generator: Optional[torch.Generator] = None,
                     checkpoint=None, checkpoint_every: int = 10,
                     progress: bool = True, desc: str = '',
                     on_epoch: Optional[Callable] = None,
                     interrupt: Optional[Callable[[int], None]] = None
                     ) -> FitResult:
    r"""The random pruning baseline of the graph-lottery-ticket papers: at
    level :math:`(p_g, p_\theta)` (phase ``'level<k>'``) remove
    :math:`\lfloor p_g E_\mathrm{und} \rfloor` undirected edges (both
    directions) and :math:`\lceil p_\theta n_\Theta \rceil` parameter
    entries uniformly at random, then train with CE from the shared
    initialisation with the weight mask fixed. One random order of edges and
    one of weights are drawn from :obj:`generator` (on its device) and cut
    at every level, so masks are nested. Self-loops are never removed. Model
    selection is strict (``>``, as the baseline scripts).

    Args:
        model, data, levels, epochs, lr, weight_decay, optimizer: As in
            :func:`fit_teddy`.
    """
    model, data, device, gen, levels = _setup(
        model, data, device, generator, levels, epochs, lr, weight_decay,
        optimizer, _engine(checkpoint_every, progress, desc, on_epoch,
                           interrupt))
    ei, N = data.edge_index, data.num_nodes
    teddy_keep_mask(ei, 0.0, N)  # the graph checks (undirected), once here
    params = [p for p in model.parameters() if p.requires_grad]
    numel = sum(p.numel() for p in params)
    sweep = dict(fit='fit_random_prune', levels=levels, epochs=epochs, lr=lr,
                 weight_decay=weight_decay, optimizer=optimizer,
                 seed=gen.initial_seed())
    trainer = _trainer(sweep, model, device, gen, checkpoint,
                       checkpoint_every, progress, desc, on_epoch, interrupt)
    init = trainer.memo('init', lambda: state_snapshot(model))

    def orders():
        # A random score gives a random, nested, symmetric pair order.
        lo, hi = torch.minimum(ei[0], ei[1]), torch.maximum(ei[0], ei[1])
        pair, inv = torch.unique(lo * N + hi, return_inverse=True)
        pair_score = torch.rand(pair.numel(), generator=gen,
                                dtype=torch.float64, device=gen.device)
        return (pair_score.to(device)[inv],
                torch.randperm(numel, generator=gen, device=gen.device))

    score, w_order = (t.to(device) for t in trainer.memo('orders', orders))
    kw = dict(init=init, seed=gen.initial_seed(), epochs=epochs, lr=lr,
              weight_decay=weight_decay, optimizer=optimizer,
              split=_Split(data))
    rows = []
    for k, (p_g, p_w) in enumerate(levels, 1):
        keep = teddy_keep_mask(ei, p_g, N, score=score)
        flat = torch.ones(numel, dtype=torch.bool, device=device)
        flat[w_order[:numel - l0_keep_count(numel, p_w)]] = False
        masks = _split_flat(flat, params)
        ph = train_sparse(trainer, f'level{k}', model, data, ei[:, keep],
                          weight_masks=masks, mask_params=params,
                          ties='first', **kw)
        rows.append(_level_row(trainer, k, p_g, p_w, ph,
                               graph_sparsity_of(ei, keep)))
    return _result(trainer, rows, ph, edge_mask=keep, weight_masks=masks)


_document(fit_random_prune, r"""
        Besides, ``weight_masks`` (the sparsest level's fixed masks, one
        bool tensor per trainable parameter).
""")
