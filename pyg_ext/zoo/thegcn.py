r"""THeGCN in the loop: the ``thegcn`` model, the ``fagcn`` and ``tgn``
baselines and the ``temporal`` method that trains any of them (and any
static model such as ``gcn`` / ``gprgnn``) on the temporal tasks of
:mod:`pyg_ext.train.tasks.temporal` with :func:`pyg_ext.fit.fit_thegcn`."""
from dataclasses import dataclass
from typing import Any, Dict, Optional

import torch

from pyg_ext.fit.thegcn import fit_thegcn
from pyg_ext.nn.models.edgebank import EdgeBank
from pyg_ext.nn.models.fagcn import FAGCN
from pyg_ext.nn.models.tgn import TGNModel
from pyg_ext.nn.models.thegcn import THeGCN
from pyg_ext.registry import register_method, register_model
from pyg_ext.train.config import ModelOptions
from pyg_ext.train.method import Method, RunContext

__all__ = [
    'THeGCNOptions', 'FAGCNOptions', 'TGNOptions', 'EdgeBankOptions',
    'FAGCN', 'TGNModel', 'EdgeBank',
    'TemporalMethod', 'TemporalMethodOptions',
]


# THeGCN ----------------------------------------------------------------------
@dataclass
class THeGCNOptions(ModelOptions):
    r"""Options of the ``thegcn`` model (see :class:`~pyg_ext.nn.models.
    THeGCN`). ``num_layers`` is the number of SMP blocks :math:`L`;
    ``edge_dim = -1`` takes the dataset's edge-attribute size;
    ``num_nodes = -1`` adds a node-id embedding sized for the dataset
    (``0``: none)."""
    hidden_channels: int = 64
    num_layers: int = 1
    dropout: float = 0.1
    time_dim: int = 100
    edge_dim: int = -1
    gate: str = 'scalar'
    gate_act: str = 'sigmoid'
    gate_hidden: Optional[int] = None
    use_time: bool = True
    use_edge_attr: bool = True
    fixed_gate: Optional[float] = None
    num_nodes: int = 0
    time_learnable: bool = False

    def __post_init__(self):
        if self.gate not in ('scalar', 'channel'):
            raise ValueError(f"model.gate: expected 'scalar' or 'channel', "
                             f"got {self.gate!r}")
        if self.gate_act not in ('sigmoid', 'tanh'):
            raise ValueError(f"model.gate_act: expected 'sigmoid' or 'tanh', "
                             f"got {self.gate_act!r}")


@register_model('thegcn', options=THeGCNOptions,
                description='THeGCN: gated low/high-pass temporal message '
                'passing on sampled event subgraphs (arXiv 2412.16435)')
def build_thegcn(in_channels: int, out_channels: int,
                 options: THeGCNOptions) -> THeGCN:
    edge_dim = max(options.edge_dim, 0)
    num_nodes = options.num_nodes if options.num_nodes > 0 else None
    return THeGCN(in_channels, options.hidden_channels, out_channels,
                  edge_dim=edge_dim, time_dim=options.time_dim,
                  num_smp_layers=options.num_layers, gate=options.gate,
                  gate_act=options.gate_act, gate_hidden=options.gate_hidden,
                  dropout=options.dropout, use_time=options.use_time,
                  use_edge_attr=options.use_edge_attr,
                  fixed_gate=options.fixed_gate, num_nodes=num_nodes,
                  time_learnable=options.time_learnable)


# FAGCN -----------------------------------------------------------------------
@dataclass
class FAGCNOptions(ModelOptions):
    eps: float = 0.3


@register_model('fagcn', options=FAGCNOptions,
                description='FAGCN (PyG FAConv) with an initial residual')
def build_fagcn(in_channels: int, out_channels: int, options: FAGCNOptions):
    return FAGCN(in_channels, options.hidden_channels, out_channels,
                 options.num_layers, options.dropout, options.eps)


build_fagcn.model_class = FAGCN  # the loop reads FAGCN.supports_adj_t


# TGN -------------------------------------------------------------------------
@dataclass
class TGNOptions(ModelOptions):
    r"""Options of ``tgn``: ``num_nodes``/``msg_dim = -1`` are taken from the
    dataset; ``hidden_channels`` is the memory, time and embedding size;
    ``time_encoder`` is ``'tgat'`` (fixed TGAT frequencies, frozen unless
    ``time_learnable``) or ``'linear'`` (PyG's learnable encoder)."""
    hidden_channels: int = 100
    num_nodes: int = -1
    msg_dim: int = -1
    neighbor_size: int = 10
    time_encoder: str = 'tgat'
    time_learnable: bool = False

    def __post_init__(self):
        super().__post_init__()
        if self.time_encoder not in ('tgat', 'linear'):
            raise ValueError(f"model.time_encoder: expected 'tgat' or "
                             f"'linear', got {self.time_encoder!r}")


@register_model('tgn', options=TGNOptions,
                description='TGN from PyG TGNMemory + LastNeighborLoader + '
                'TransformerConv (PyG examples/tgn.py)')
def build_tgn(in_channels: int, out_channels: int, options: TGNOptions):
    if options.num_nodes < 1 or options.msg_dim < 0:
        raise ValueError(f"model.num_nodes / model.msg_dim must be set (or "
                         f"-1 for the 'temporal' method to fill them from "
                         f"the dataset), got {options.num_nodes}, "
                         f"{options.msg_dim}")
    h = options.hidden_channels
    return TGNModel(in_channels, out_channels, options.num_nodes,
                    options.msg_dim, h, h, h, options.neighbor_size,
                    time_encoder=options.time_encoder,
                    time_learnable=options.time_learnable)


# EdgeBank ---------------------------------------------------------------------
@dataclass
class EdgeBankOptions(ModelOptions):
    r"""Options of ``edgebank`` (temporal link prediction only; nothing is
    trained): ``memory`` is ``'unlimited'`` (EdgeBank :math:`_\infty`) or
    ``'time_window'`` (EdgeBank :math:`_{tw}`, pairs seen in the last
    ``time_window`` time units; ``-1``: the duration of the test period,
    the paper's *tw-ts*). ``undirected`` treats (u, v) and (v, u) as one
    pair. ``hidden_channels``/``num_layers``/``dropout`` are unused."""
    memory: str = 'unlimited'
    time_window: float = -1.0
    undirected: bool = False

    def __post_init__(self):
        super().__post_init__()
        if self.memory not in ('unlimited', 'time_window'):
            raise ValueError(f"model.memory: expected 'unlimited' or "
                             f"'time_window', got {self.memory!r}")
        if self.memory == 'time_window' and not (
                self.time_window == -1 or self.time_window > 0):
            raise ValueError(f"model.time_window: expected a window > 0 (or "
                             f"-1: the duration of the test period), got "
                             f"{self.time_window!r}")


@register_model('edgebank', options=EdgeBankOptions,
                description='EdgeBank (Poursafaei et al., NeurIPS 2022): '
                'a pair is predicted iff it interacted before (parameter-free'
                ' temporal link-prediction baseline)')
def build_edgebank(in_channels: int, out_channels: int,
                   options: EdgeBankOptions) -> EdgeBank:
    if options.memory == 'unlimited':
        return EdgeBank(None, undirected=options.undirected)
    if options.time_window == -1:
        raise ValueError("model.time_window=-1 (the test period) is filled "
                         "in by the 'temporal' method from the dataset; "
                         "give a window > 0 to build EdgeBank by hand")
    return EdgeBank(options.time_window, undirected=options.undirected)


# the method -------------------------------------------------------------------
@dataclass
class TemporalMethodOptions:
    r"""Args:
        ssl_weight (float): Weight of the self-supervised link loss that
            trains a stream model's memory on node tasks.
        max_train_batches (int, optional): Cap on training steps per epoch
            (temporal models).
        gate_stats (bool): Report the mean learned TMP gate on same- vs
            cross-class events (THeGCN with static labels).
    """
    ssl_weight: float = 1.0
    max_train_batches: Optional[int] = None
    gate_stats: bool = True


@register_method('temporal')
class TemporalMethod(Method):
    r"""Mini-batch training for the temporal tasks with early stopping on the
    validation metric (:func:`pyg_ext.fit.fit_thegcn`): temporal models on
    sampled subgraphs, stream models (TGN) by chronological replay, static
    models full-batch on the static projection. Resumable from
    checkpoints."""
    Options = TemporalMethodOptions

    def run(self, ctx: RunContext) -> Dict[str, Any]:
        task, data, t, o = ctx.task, ctx.data, ctx.train, self.options
        opts = ctx.config.model.options
        auto = task.auto_options(data)
        overrides = {k: v for k, v in auto.items()
                     if opts is not None and getattr(opts, k, None) == -1}
        model = ctx.build_model(**overrides)
        task.check_model(model, data)
        _, out_ch = ctx.channels or task.model_channels(data)
        head = task.make_head(data, out_ch)
        if head is not None:
            head = head.to(ctx.device)
        res = fit_thegcn(
            model, data, task, head=head, epochs=t.epochs, lr=t.lr,
            weight_decay=t.weight_decay, optimizer=t.optimizer,
            patience=t.patience, eval_every=t.eval_every,
            max_train_batches=o.max_train_batches, ssl_weight=o.ssl_weight,
            gate_stats=o.gate_stats,
            generator=torch.Generator().manual_seed(ctx.seed),
            checkpoint=ctx.checkpoint, progress=ctx.progress, desc=ctx.desc,
            interrupt=ctx.interrupt)
        out = res.to_dict()
        out.pop('head', None)
        return out
