import copy
from typing import Any, Callable, Dict, Iterable, List, Optional, Union

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import Parameter
from tqdm.auto import tqdm

from pyg_ext.tta.base import BASES, resolve_base, softmax_entropy
from pyg_ext.tta.pic import pic_loss
from pyg_ext.utils.device import place
from pyg_ext.utils.validation import (check_bool, check_choice, check_float,
                                      check_graph, check_int,
                                      check_model_input)

__all__ = ['AdaRC', 'resolve_hop_parameters']

OPTIMIZERS = ('sgd', 'momentum', 'adam', 'adamw')
LOSSES = ('pic', 'entropy', 'pl')


def resolve_hop_parameters(
        model: torch.nn.Module,
        hop_params: Union[None, Iterable[Parameter], Iterable[str]] = None
) -> List[Parameter]:
    r"""The parameters AdaRC adapts: ``model.hop_parameters()`` when
    :obj:`hop_params` is :obj:`None`; else the given parameters (which must
    belong to :obj:`model`) or every parameter whose name contains one of the
    given substrings."""
    if hop_params is None:
        fn = getattr(model, 'hop_parameters', None)
        if not callable(fn):
            raise TypeError(
                f"{type(model).__name__} has no hop_parameters() method: "
                f"AdaRC needs the hop-aggregation parameters (e.g. GPRGNN's "
                f"gamma); pass 'hop_params' (parameters or name substrings)")
        params = list(fn())
    else:
        if isinstance(hop_params, (str, Parameter)):
            hop_params = [hop_params]
        if not hasattr(hop_params, '__iter__'):
            raise TypeError(f"'hop_params' must be None, a list of "
                            f"parameters or a list of name substrings, got "
                            f"{type(hop_params).__name__}")
        hop_params = list(hop_params)
        if all(isinstance(h, str) for h in hop_params):
            params = [p for n, p in model.named_parameters()
                      if any(h in n for h in hop_params)]
            if not params:
                names = [n for n, _ in model.named_parameters()]
                raise ValueError(f"no parameter of {type(model).__name__} "
                                 f"matches 'hop_params' {hop_params}; its "
                                 f"parameters are {names}")
        elif all(isinstance(h, Tensor) for h in hop_params):
            own = {id(p) for p in model.parameters()}
            for h in hop_params:
                if id(h) not in own:
                    raise ValueError("every tensor in 'hop_params' must be a "
                                     "parameter of the model")
            params = hop_params
        else:
            raise TypeError("'hop_params' must be None, a list of parameters "
                            "or a list of name substrings")
    if not params:
        raise ValueError(f"{type(model).__name__} has no hop parameters to "
                         f"adapt (hop_parameters() is empty)")
    if not all(p.is_floating_point() for p in params):
        raise TypeError("hop parameters must be floating point")
    return params


class AdaRC(torch.nn.Module):
    r"""AdaRC, the test-time adaptation to graph structure shift from the
    `"AdaRC: Mitigating Graph Structure Shifts during Test-Time"
    <https://arxiv.org/abs/2410.06976>`_ paper (published as *Matcha*;
    official code: `github.com/baowenxuan/Matcha
    <https://github.com/baowenxuan/Matcha>`_): only
    the hop-aggregation parameters :math:`\gamma` of a pretrained GNN are
    adapted, by minimising the prediction-informed clustering loss
    (:func:`~pyg_ext.tta.pic_loss`) of the model's representation against the
    soft predictions of any base TTA method.

    Each of the :obj:`steps` rounds (Algorithm 1, as the official code runs
    it):

    .. math::
        \hat{\mathbf{Y}} &= \mathrm{softmax}(B(\mathrm{copy}(f_\gamma, g),
        \mathbf{X}, \mathbf{A})) \quad \text{(detached)} \\
        \gamma &\leftarrow \gamma - \eta \nabla_\gamma
        \mathcal{L}_\mathrm{PIC}(f_\gamma(\mathbf{X}, \mathbf{A}),
        \hat{\mathbf{Y}})

    The model stays in evaluation mode (BatchNorm uses its source running
    statistics, no dropout); every parameter except the hop parameters is
    frozen (and the ``requires_grad`` flags are restored afterwards); the base
    TTA runs on a fresh deep copy each round, so its own updates (e.g. Tent's
    BatchNorm changes) never reach the model.

    Args:
        model (torch.nn.Module): The pretrained model, with ``featurize``
            (unless :obj:`featurizer` is given) and ``hop_parameters()``
            (unless :obj:`hop_params` is given).
        hop_params (list, optional): The parameters to adapt, or substrings of
            their names. (default: :obj:`None`: ``model.hop_parameters()``)
        base_tta (str or callable, optional): ``"erm"``, ``"tent"``,
            ``"t3a"``, ``"lame"``, a base instance (e.g.
            :class:`~pyg_ext.tta.TentBase`) or any callable
            ``(model_copy, data) -> logits``. (default: :obj:`None` = ERM)
        lr (float, optional): Learning rate :math:`\eta`. (default: :obj:`1.0`)
        steps (int, optional): Number of rounds :math:`R`. (default: :obj:`50`)
        optimizer (str, optional): ``"sgd"`` (official), ``"momentum"`` (SGD
            with momentum 0.9), ``"adam"`` or ``"adamw"``.
            (default: :obj:`"sgd"`)
        featurizer (callable, optional): ``(model, data) -> Z``.
            (default: :obj:`None`: ``model.featurize(data.x,
            data.edge_index)``)
        final_pass (bool, optional): Return the base-TTA prediction of an extra
            pass with the final :math:`\gamma`. :obj:`False` returns the
            prediction made at the start of the last round (after
            :math:`R-1` updates), the number the official code reports.
            (default: :obj:`True`)
        episodic (bool, optional): Every :meth:`adapt` starts from the
            pre-adaptation hop parameters and leaves the model as it was
            before the call (the adapted values are kept in
            :attr:`adapted_state`); with :obj:`False` the adapted values stay
            in the model and the next call continues from them.
            (default: :obj:`True`)
        loss (str, optional): ``"pic"`` (the paper), or the ablations
            ``"entropy"`` (mean prediction entropy of the model) and ``"pl"``
            (cross-entropy to the base's hard pseudo-labels).
            (default: :obj:`"pic"`)
        mask (Tensor, optional): Restrict the PIC loss to these nodes (bool
            :math:`[N]` or an index; checked once per :meth:`adapt`).
            (default: :obj:`None`: all nodes, as the official code)
        progress (bool, optional): Show a progress bar. (default: :obj:`False`)

    Attributes:
        history (dict): Per round: ``'loss'``, ``'hop_params'`` (list of the
            flattened hop parameters before the update),
            ``'pseudo_label_change'`` (fraction of nodes whose base prediction
            changed since the previous round); kept on the device during
            :meth:`adapt` and read on the host once at its end, so the rounds
            themselves never wait for the device.

    .. note::
        See `examples/adarc.py`.
    """
    def __init__(self, model: torch.nn.Module,
                 hop_params: Union[None, Iterable[Parameter],
                                   Iterable[str]] = None,
                 base_tta: Union[None, str, Callable] = None, lr: float = 1.0,
                 steps: int = 50, optimizer: str = 'sgd',
                 featurizer: Optional[Callable] = None,
                 final_pass: bool = True, episodic: bool = True,
                 loss: str = 'pic', mask: Optional[Tensor] = None,
                 progress: bool = False):
        super().__init__()
        if not isinstance(model, torch.nn.Module):
            raise TypeError(f"'model' must be a torch.nn.Module, got "
                            f"{type(model).__name__}")
        check_float('lr', lr, 0.0, low_open=True)
        check_int('steps', steps, 1)
        check_choice('optimizer', optimizer, OPTIMIZERS)
        check_choice('loss', loss, LOSSES)
        for name, flag in (('final_pass', final_pass),
                           ('episodic', episodic), ('progress', progress)):
            check_bool(name, flag)
        if featurizer is None and not callable(getattr(model, 'featurize',
                                                       None)):
            raise TypeError(f"{type(model).__name__} has no featurize() "
                            f"method: AdaRC needs the representation before "
                            f"the classifier; pass 'featurizer'")
        if featurizer is not None and not callable(featurizer):
            raise TypeError("'featurizer' must be callable (model, data) -> Z")
        self.model = model
        self.hop_params = resolve_hop_parameters(model, hop_params)
        self.base_tta = resolve_base(base_tta)
        self.lr = float(lr)
        self.steps = steps
        self.optimizer = optimizer
        self.featurizer = featurizer
        self.final_pass = final_pass
        self.episodic = episodic
        self.loss = loss
        self.mask = mask
        self.progress = progress
        self.initial_state = [p.detach().clone() for p in self.hop_params]
        self.adapted_state: Optional[List[Tensor]] = None
        self.history: Dict[str, list] = {}

    def reset(self) -> None:
        r"""Restores the hop parameters saved when AdaRC was built."""
        with torch.no_grad():
            for p, v in zip(self.hop_params, self.initial_state):
                p.copy_(v)

    def _make_optimizer(self) -> torch.optim.Optimizer:
        if self.optimizer == 'sgd':
            return torch.optim.SGD(self.hop_params, lr=self.lr)
        if self.optimizer == 'momentum':
            return torch.optim.SGD(self.hop_params, lr=self.lr, momentum=0.9)
        if self.optimizer == 'adam':
            return torch.optim.Adam(self.hop_params, lr=self.lr)
        return torch.optim.AdamW(self.hop_params, lr=self.lr)

    def _featurize(self, data: Any) -> Tensor:
        if self.featurizer is not None:
            return self.featurizer(self.model, data)
        return self.model.featurize(data.x, data.edge_index)

    def _base(self, data: Any) -> Tensor:
        logits = self.base_tta(copy.deepcopy(self.model), data)
        if not isinstance(logits, Tensor) or logits.dim() != 2:
            raise TypeError(f"the base TTA must return logits [N, C], got "
                            f"{getattr(logits, 'shape', type(logits))}")
        return logits.detach()

    def _prepare_mask(self, N: int, device: torch.device
                      ) -> Optional[Tensor]:
        r"""Checks :attr:`mask` against the graph's :obj:`N` nodes and turns
        it into an index on :obj:`device` (once per :meth:`adapt`)."""
        mask = self.mask
        if mask is None:
            return None
        if not isinstance(mask, Tensor):
            raise TypeError(f"'mask' must be a tensor, got "
                            f"{type(mask).__name__}")
        mask = mask.to(device)
        if mask.dtype == torch.bool:
            if mask.shape != (N, ):
                raise ValueError(f"a bool 'mask' must have shape [N] = "
                                 f"[{N}], got {tuple(mask.shape)}")
            mask = mask.nonzero().view(-1)
        elif mask.dtype.is_floating_point or mask.dim() != 1:
            raise TypeError(f"'mask' must be a bool [N] mask or a 1-D index "
                            f"tensor, got {mask.dtype} of shape "
                            f"{tuple(mask.shape)}")
        elif mask.numel() > 0:
            lo, hi = (int(v) for v in torch.aminmax(mask))
            if lo < 0 or hi >= N:
                raise ValueError(f"'mask' holds node indices outside [0, "
                                 f"{N}): got values in [{lo}, {hi}]")
        if mask.numel() == 0:
            raise ValueError("'mask' selects no rows (empty graph or empty "
                             "mask)")
        return mask

    def _check_data(self, data: Any) -> Optional[int]:
        r"""The entry checks of :meth:`adapt`, once: the graph the built-in
        featurizer and bases read (``data.x``, ``data.edge_index``); returns
        its number of nodes (:obj:`None` when a custom featurizer and base
        read something else)."""
        if data is None:
            raise TypeError("'data' must be a graph (e.g. a torch_geometric "
                            "Data with 'x' and 'edge_index'), got None")
        builtin = isinstance(self.base_tta, tuple(BASES.values()))
        if self.featurizer is None or builtin:
            N = check_graph(data)
            place(self.model, data)  # one device (the message names both)
            check_model_input(self.model, data.x)
            return N
        return None

    def _objective(self, z: Tensor, prob: Tensor,
                   mask: Optional[Tensor]) -> Tensor:
        if self.loss == 'pic':
            # prob is a softmax (valid by construction) and the mask was
            # checked once by _prepare_mask: no per-step value checks.
            return pic_loss(z, prob, mask, validate=False)
        logits = self.model.classify(z)
        if mask is not None:
            logits, prob = logits[mask], prob[mask]
        if self.loss == 'entropy':
            return softmax_entropy(logits).mean()
        return F.cross_entropy(logits, prob.argmax(dim=-1))

    def adapt(self, data: Any) -> Tensor:
        r"""Adapts the hop parameters on :obj:`data` (no labels used) and
        returns the base-TTA logits on all nodes."""
        model = self.model
        N = self._check_data(data)
        mask = None if N is None else self._prepare_mask(N, data.x.device)
        if self.episodic:
            self.reset()
        was_training = model.training
        flags = [(p, p.requires_grad) for p in model.parameters()]
        hop_ids = {id(p) for p in self.hop_params}
        # Collected as device tensors, read on the host once at the end.
        losses, hops, changes = [], [], []
        try:
            model.eval()
            for p, _ in flags:
                p.requires_grad_(id(p) in hop_ids)
            opt = self._make_optimizer()
            prev = None
            logits = None
            for step in tqdm(range(self.steps), desc='AdaRC', leave=False,
                             disable=not self.progress):
                opt.zero_grad()
                logits = self._base(data)
                prob = logits.softmax(dim=-1)
                pred = prob.argmax(dim=-1)
                with torch.enable_grad():
                    z = self._featurize(data)
                    if step == 0 and N is None:
                        mask = self._prepare_mask(z.size(0), z.device)
                    loss = self._objective(z, prob, mask)
                    if not loss.requires_grad:
                        raise ValueError(
                            f"the {self.loss} loss does not depend on the "
                            f"adapted parameters (e.g. classifier weights "
                            f"with loss='pic', which only sees the "
                            f"representation); choose featurizer parameters")
                    loss.backward()
                hops.append(
                    torch.cat([p.detach().reshape(-1).clone()
                               for p in self.hop_params]))
                opt.step()
                losses.append(loss.detach())
                changes.append(
                    torch.full((), float('nan'), device=pred.device)
                    if prev is None else (pred != prev).float().mean())
                prev = pred
            if self.final_pass:
                logits = self._base(data)
        finally:
            opt_params = self.hop_params
            for p in opt_params:
                p.grad = None
            for p, flag in flags:
                p.requires_grad_(flag)
            model.train(was_training)
        self.adapted_state = [p.detach().clone() for p in self.hop_params]
        self.history = {
            'loss': torch.stack(losses).cpu().tolist(),
            'hop_params': list(torch.stack(hops).cpu().unbind(0)),
            'pseudo_label_change': torch.stack(changes).cpu().tolist(),
            'final_hop_params': torch.cat(
                [v.reshape(-1) for v in self.adapted_state]).cpu(),
        }
        if self.episodic:
            self.reset()
        return logits

    def forward(self, data: Any) -> Tensor:
        r"""Alias of :meth:`adapt`."""
        return self.adapt(data)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({type(self.model).__name__}, '
                f'base_tta={self.base_tta!r}, lr={self.lr}, '
                f'steps={self.steps}, optimizer={self.optimizer!r})')
