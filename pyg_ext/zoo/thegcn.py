r"""THeGCN in the loop: the ``thegcn`` model, the ``fagcn`` and ``tgn``
baselines and the ``temporal`` method that trains any of them (and any
static model such as ``gcn`` / ``gprgnn``) on the temporal tasks of
:mod:`pyg_ext.train.tasks.temporal` with :func:`pyg_ext.fit.fit_thegcn`."""
from dataclasses import dataclass
from typing import Any, Dict, Optional

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import Linear
from torch_geometric.nn import FAConv, TransformerConv
from torch_geometric.nn.models.tgn import (IdentityMessage, LastAggregator,
                                           LastNeighborLoader, TGNMemory)

from pyg_ext.fit.thegcn import fit_thegcn
from pyg_ext.nn.models.thegcn import THeGCN
from pyg_ext.registry import register_method, register_model
from pyg_ext.train.config import ModelOptions
from pyg_ext.train.method import Method, RunContext

__all__ = [
    'THeGCNOptions', 'FAGCNOptions', 'TGNOptions', 'FAGCN', 'TGNModel',
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
                  fixed_gate=options.fixed_gate, num_nodes=num_nodes)


# FAGCN -----------------------------------------------------------------------
class FAGCN(torch.nn.Module):
    r"""FAGCN (`"Beyond Low-frequency Information in Graph Convolutional
    Networks" <https://arxiv.org/abs/2101.00797>`_) from PyG's
    :class:`~torch_geometric.nn.conv.FAConv`: ``lin_in -> ReLU -> L x FAConv
    (with the initial residual eps * x_0) -> lin_out``."""
    def __init__(self, in_channels: int, hidden_channels: int,
                 out_channels: int, num_layers: int = 2, dropout: float = 0.5,
                 eps: float = 0.3):
        super().__init__()
        self.dropout = dropout
        self.lin_in = Linear(in_channels, hidden_channels)
        self.convs = torch.nn.ModuleList([
            FAConv(hidden_channels, eps=eps, dropout=dropout)
            for _ in range(num_layers)
        ])
        self.lin_out = Linear(hidden_channels, out_channels)
        self.reset_parameters()

    def reset_parameters(self):
        self.lin_in.reset_parameters()
        self.lin_out.reset_parameters()
        for c in self.convs:
            c.reset_parameters()

    def forward(self, x: Tensor, edge_index: Tensor, **kwargs) -> Tensor:
        x = F.dropout(x, p=self.dropout, training=self.training)
        h = x0 = F.relu(self.lin_in(x))
        h = F.dropout(h, p=self.dropout, training=self.training)
        for conv in self.convs:
            h = conv(h, x0, edge_index)
        h = F.dropout(h, p=self.dropout, training=self.training)
        return self.lin_out(h)


@dataclass
class FAGCNOptions(ModelOptions):
    eps: float = 0.3


@register_model('fagcn', options=FAGCNOptions,
                description='FAGCN (PyG FAConv) with an initial residual')
def build_fagcn(in_channels: int, out_channels: int, options: FAGCNOptions):
    return FAGCN(in_channels, options.hidden_channels, out_channels,
                 options.num_layers, options.dropout, options.eps)


# TGN -------------------------------------------------------------------------
class _GraphAttentionEmbedding(torch.nn.Module):
    def __init__(self, in_channels, out_channels, msg_dim, time_enc):
        super().__init__()
        self.time_enc = time_enc
        self.conv = TransformerConv(in_channels, out_channels // 2, heads=2,
                                    dropout=0.1,
                                    edge_dim=msg_dim + time_enc.out_channels)

    def forward(self, x, last_update, edge_index, t, msg):
        rel_t = (last_update[edge_index[0]] - t).to(x.dtype)
        rel_t_enc = self.time_enc(rel_t)
        return self.conv(x, edge_index, torch.cat([rel_t_enc, msg], dim=-1))


class TGNModel(torch.nn.Module):
    r"""TGN as in PyG's ``examples/tgn.py``: :class:`TGNMemory` (GRU memory,
    :class:`IdentityMessage`, :class:`LastAggregator`), a
    :class:`LastNeighborLoader` of the :obj:`neighbor_size` latest
    neighbours and one :class:`TransformerConv` (2 heads) embedding; node
    features, when present, are added to the memory through a linear map.
    The stream is replayed in chronological batches by :func:`replay_stream`
    (a stream model: ``stream_model = True``)."""
    stream_model = True

    def __init__(self, in_channels: int, out_channels: int, num_nodes: int,
                 msg_dim: int, memory_dim: int = 100, time_dim: int = 100,
                 embedding_dim: int = 100, neighbor_size: int = 10):
        super().__init__()
        self.num_nodes = num_nodes
        self.msg_dim = msg_dim
        # TGNMemory's message store cannot hold 0-column messages: streams
        # without edge attributes get one constant zero column.
        msg_dim = max(msg_dim, 1)
        self.memory = TGNMemory(num_nodes, msg_dim, memory_dim, time_dim,
                                message_module=IdentityMessage(
                                    msg_dim, memory_dim, time_dim),
                                aggregator_module=LastAggregator())
        self.lin_x = Linear(in_channels, memory_dim) if in_channels else None
        self.gnn = _GraphAttentionEmbedding(memory_dim, embedding_dim, msg_dim,
                                            self.memory.time_enc)
        self.lin_out = Linear(embedding_dim, out_channels)
        self.neighbor_size = neighbor_size
        self.loader = LastNeighborLoader(num_nodes, size=neighbor_size)
        self._stream = None

    def reset_parameters(self):
        self.memory.reset_parameters()
        for m in (self.lin_x, self.gnn.conv, self.lin_out):
            if m is not None:
                m.reset_parameters()

    def reset_state(self, x: Tensor, t: Tensor, msg: Tensor):
        r"""Empties the memory and neighbour buffer and binds the stream."""
        self.memory.reset_state()
        self.loader.reset_state()
        if msg.size(1) == 0:
            msg = msg.new_zeros(msg.size(0), 1)
        self._stream = (x, t.long(), msg)

    def embed_nodes(self, nodes: Tensor) -> Tensor:
        r"""Output for :obj:`nodes` from the current state (before any event
        of the current batch)."""
        x, t_all, msg_all = self._stream
        n_id, inv = torch.unique(nodes, return_inverse=True)
        n_id, edge_index, e_id = self.loader(n_id)
        z, last_update = self.memory(n_id)
        if self.lin_x is not None:
            z = z + self.lin_x(x[n_id])
        z = self.gnn(z, last_update, edge_index, t_all[e_id], msg_all[e_id])
        # loader(n_id) keeps the queried ids first only if they are sorted
        # and unique: map back explicitly.
        pos = torch.empty(int(n_id.max()) + 1, dtype=torch.long)
        pos[n_id] = torch.arange(n_id.numel())
        uniq = torch.unique(nodes)
        return self.lin_out(z[pos[uniq]])[inv]

    def update(self, src: Tensor, dst: Tensor, t: Tensor, msg: Tensor):
        if msg.size(1) == 0:
            msg = msg.new_zeros(msg.size(0), 1)
        self.memory.update_state(src, dst, t.long(), msg)
        self.loader.insert(src, dst)

    def detach_state(self):
        self.memory.detach()


@dataclass
class TGNOptions(ModelOptions):
    r"""Options of ``tgn``: ``num_nodes``/``msg_dim = -1`` are taken from the
    dataset; ``hidden_channels`` is the memory, time and embedding size."""
    hidden_channels: int = 100
    num_nodes: int = -1
    msg_dim: int = -1
    neighbor_size: int = 10


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
                    options.msg_dim, h, h, h, options.neighbor_size)


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
