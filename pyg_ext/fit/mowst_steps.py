r"""The training steps of the Mowst schedules (:mod:`pyg_ext.fit.mowst`),
full-batch or in neighbour-sampled mini-batches, on one process or data
parallel.

In mini-batches both experts see the same batch: the weak expert (an MLP)
reads the seed nodes' features, the strong expert the sampled subgraph,
and the confidence, the routing loss and the mixture are computed per seed
node. The frozen expert of a Mowst turn is computed once per turn on the
whole graph (evaluation mode, no gradient) and read at the seeds' ids, as
in full-batch training. Data-parallel Mowst all-reduces the gradients of
the trained parameters after each backward (the turns call the experts
directly, which a :class:`~torch.nn.parallel.DistributedDataParallel`
wrapper would not see); the seed losses are scaled by :math:`W/|B|` as in
:mod:`pyg_ext.fit.minibatch`, so the result equals one process.
"""
from typing import Callable, Dict, Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from pyg_ext.fit.minibatch import MiniBatchConfig, MiniBatchRunner
from pyg_ext.fit.supervised import node_adj
from pyg_ext.utils.distributed import get_rank, get_world_size

__all__ = ['MowstSteps', 'turn_output']


def turn_output(model, x: Tensor, edge_index, kw: Dict, weak_turn: bool,
                frozen: Tensor = None, frozen_w: Tensor = None,
                frozen_c: Tensor = None):
    r"""The full-batch output of a Mowst turn: the weak expert and the gate
    against the frozen strong logits, or the strong expert against the
    frozen weak logits and confidence."""
    if weak_turn:
        w = model.weak_forward(x)
        return model.make_output(w, frozen, model.confidence(w, x))
    s = model.strong_forward(x, edge_index, **kw)
    return model.make_output(frozen_w, s, frozen_c)


class MowstSteps:
    r"""Builds the ``step(epoch)`` functions of the pre-training, the two
    turns and the joint phase.

    Args:
        trainer (Trainer): The engine.
        model (Mowst): The model (on the training device).
        data (Data): The graph (on the training device).
        kw (dict): Extra inputs of the strong expert (full-batch only).
        mb (MiniBatchConfig, optional): Mini-batch options.
        generator (torch.Generator, optional): The epoch permutations
            (mini-batches).
        group (optional): A :mod:`torch.distributed` group (mini-batches).
    """
    def __init__(self, trainer, model, data, kw: Dict, mb:
                 Optional[MiniBatchConfig], generator, group=None):
        self.trainer, self.model, self.data, self.kw = trainer, model, data, kw
        self.mb, self.group = mb, group
        self.runner = None
        if mb is not None:
            host = data if data.x.device.type == 'cpu' else data.cpu()
            self.runner = MiniBatchRunner(
                host, mb, host.train_mask.nonzero().view(-1), trainer.device,
                generator, get_rank(group), get_world_size(group), group)

    # one optimisation ---------------------------------------------------
    def _optimize(self, opt: torch.optim.Optimizer, loss: Tensor) -> None:
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if self.group is not None:
            import torch.distributed as dist
            W = get_world_size(self.group)
            for g in opt.param_groups:
                for p in g['params']:
                    # the same parameters take part on every rank (same
                    # code path); None stays None, as on one process
                    if p.grad is not None:
                        dist.all_reduce(p.grad, group=self.group)
                        p.grad /= W
        opt.step()

    def _full(self, module, opt, loss_fn: Callable[[], Tensor]
              ) -> Callable[[int], Tensor]:
        r"""A full-batch ``step(epoch)``: one optimisation of
        ``loss_fn()`` with :obj:`module` in training mode."""
        def step(epoch: int) -> Tensor:
            module.train()
            loss = loss_fn()
            self._optimize(opt, loss)
            return loss.detach()
        return step

    def _epoch(self, opt, seed_loss: Callable) -> Callable[[int], Tensor]:
        r"""``seed_loss(batch) -> (summed loss of the seeds)``."""
        model, runner = self.model, self.runner

        def batch_step(batch) -> Tensor:
            loss = seed_loss(batch)
            self._optimize(opt, loss * runner.scale(batch))
            return loss.detach()

        def step(epoch: int) -> Tensor:
            model.train()
            return runner.run_epoch(batch_step)
        return step

    # the phases -----------------------------------------------------------
    def pretrain(self, name: str, opt) -> Callable[[int], Tensor]:
        r"""Cross-entropy of one expert alone."""
        model, data, kw = self.model, self.data, self.kw
        if self.runner is None:
            tm, y = data.train_mask, data.y
            fwd = (lambda: model.weak_forward(data.x)) if name == 'weak' \
                else (lambda: model.strong_forward(data.x, node_adj(data),
                                                   **kw))
            module = model.weak if name == 'weak' else model.strong
            return self._full(module, opt,
                              lambda: F.cross_entropy(fwd()[tm], y[tm]))

        def seed_loss(b):
            bs = b.batch_size
            out = model.weak_forward(b.x[:bs]) if name == 'weak' else \
                model.strong_forward(b.x, b.edge_index)[:bs]
            return F.cross_entropy(out, b.y[:bs], reduction='sum')
        return self._epoch(opt, seed_loss)

    def turn(self, weak_turn: bool, opt, frozen: Tensor = None,
             frozen_w: Tensor = None, frozen_c: Tensor = None
             ) -> Callable[[int], Tensor]:
        r"""A Mowst turn: the weak expert and gate (strong frozen), or the
        strong expert (weak and gate frozen)."""
        model, data, kw = self.model, self.data, self.kw
        if self.runner is None:
            x, ei, y, tm = data.x, node_adj(data), data.y, data.train_mask
            return self._full(model, opt, lambda: model.loss(turn_output(
                model, x, ei, kw, weak_turn, frozen, frozen_w, frozen_c),
                y, tm))

        def seed_loss(b):
            bs = b.batch_size
            ids = b.n_id[:bs]
            if weak_turn:
                xs = b.x[:bs]
                w = model.weak_forward(xs)
                out = model.make_output(w, frozen[ids],
                                        model.confidence(w, xs))
            else:
                s = model.strong_forward(b.x, b.edge_index)[:bs]
                out = model.make_output(frozen_w[ids], s, frozen_c[ids])
            return model.loss(out, b.y[:bs], reduction='sum')
        return self._epoch(opt, seed_loss)

    def joint(self, opt) -> Callable[[int], Tensor]:
        r"""Mowst*: both experts and the gate on the mixture loss."""
        model, data, kw = self.model, self.data, self.kw
        if self.runner is None:
            x, ei, y, tm = data.x, node_adj(data), data.y, data.train_mask
            return self._full(model, opt,
                              lambda: model.loss(model(x, ei, **kw), y, tm))

        def seed_loss(b):
            bs = b.batch_size
            xs = b.x[:bs]
            w = model.weak_forward(xs)
            s = model.strong_forward(b.x, b.edge_index)[:bs]
            out = model.make_output(w, s, model.confidence(w, xs))
            return model.loss(out, b.y[:bs], reduction='sum')
        return self._epoch(opt, seed_loss)
