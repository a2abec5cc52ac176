r"""TGN as a stream model: PyG's :class:`TGNMemory`,
:class:`LastNeighborLoader` and a graph-attention embedding, wrapped so that
one module owns (and moves) all of its state."""
from typing import Optional, Tuple

import torch
from torch import Tensor
from torch.nn import Linear, Module
from torch_geometric.nn import TransformerConv
from torch_geometric.nn.models.tgn import (IdentityMessage, LastAggregator,
                                           LastNeighborLoader, TGNMemory)

from pyg_ext.nn.models.thegcn import CosineTimeEncoder

__all__ = ['TGNModel']


TIME_ENCODERS = ('tgat', 'linear')


class _Memory(TGNMemory):
    # PyG reads the device from ``time_enc.lin``, which only its own
    # TimeEncoder has; the memory buffer is always there.
    @property
    def device(self) -> torch.device:
        return self.memory.device


class _GraphAttentionEmbedding(Module):
    r"""The embedding module of PyG's ``examples/tgn.py``: one
    :class:`~torch_geometric.nn.conv.TransformerConv` (2 heads) whose edge
    features are :math:`[\phi(t^-_j - t_{ij}) \,\Vert\, \mathbf{e}_{ij}]`,
    with :math:`t^-_j` the last memory update of the source node and
    :math:`\phi` the memory's time encoder (shared)."""
    def __init__(self, in_channels: int, out_channels: int, msg_dim: int,
                 time_enc: Module):
        super().__init__()
        self.time_enc = time_enc
        self.conv = TransformerConv(in_channels, out_channels // 2, heads=2,
                                    dropout=0.1,
                                    edge_dim=msg_dim + time_enc.out_channels)

    def forward(self, x: Tensor, last_update: Tensor, edge_index: Tensor,
                t: Tensor, msg: Tensor) -> Tensor:
        rel_t = (last_update[edge_index[0]] - t).to(x.dtype)
        rel_t_enc = self.time_enc(rel_t)
        return self.conv(x, edge_index, torch.cat([rel_t_enc, msg], dim=-1))


class TGNModel(Module):
    r"""The Temporal Graph Network from the `"Temporal Graph Networks for Deep
    Learning on Dynamic Graphs" <https://arxiv.org/abs/2006.10637>`_ paper,
    assembled as in PyG's `examples/tgn.py
    <https://github.com/pyg-team/pytorch_geometric/blob/master/examples/
    tgn.py>`_:

    * a :class:`~torch_geometric.nn.models.tgn.TGNMemory` (GRU memory
      :math:`\mathbf{s}_i`, :class:`IdentityMessage`,
      :class:`LastAggregator`),
    * a :class:`~torch_geometric.nn.models.tgn.LastNeighborLoader` that
      keeps the :obj:`neighbor_size` latest neighbours of every node,
    * a graph-attention embedding (one
      :class:`~torch_geometric.nn.conv.TransformerConv` with 2 heads) over
      those neighbours and a linear output layer:

    .. math::
        \mathbf{h}_j &= \mathbf{s}_j \; (+ \mathbf{W}_x \mathbf{x}_j
        \text{ if } F_{in} > 0), \qquad
        \mathbf{e}_{ij} = \left[\phi(t^-_j - t_{ij}) \,\Vert\,
        \mathbf{m}_{ij}\right]

        \mathbf{z}_i &= \mathbf{W}_1 \mathbf{h}_i +
        \mathop{\Vert}_{k=1}^{2} \sum_{j \in \mathcal{N}_K(i)}
        \alpha^{(k)}_{i,j} \left(\mathbf{W}^{(k)}_2 \mathbf{h}_j +
        \mathbf{W}^{(k)}_e \mathbf{e}_{ij}\right), \qquad
        \mathbf{y}_i = \mathbf{W}_{out} \mathbf{z}_i,

    with :math:`\mathbf{s}_j` the memory, :math:`t^-_j` its last update,
    :math:`\mathbf{m}_{ij}` the raw event message, :math:`\phi` the
    memory's time encoder, :math:`\mathcal{N}_K(i)` the :math:`K`
    latest neighbours and :math:`\alpha^{(k)}` the attention of
    :class:`~torch_geometric.nn.conv.TransformerConv`'s head :math:`k`.

    It is a *stream model* (:obj:`stream_model = True`): bind an event
    stream with :meth:`reset_state`, then, in chronological batches, read
    embeddings with :meth:`embed_nodes` (from the state before the batch)
    and feed the batch's events with :meth:`update`; the events must be the
    stream's, in order, from the first one (the neighbour buffer numbers
    them as it receives them).

    The module owns all of its state: :meth:`to` / :meth:`cuda` move the
    memory, its message store, the neighbour buffer and the bound stream
    (PyG's loader and message store are plain tensors that
    :meth:`torch.nn.Module.to` alone would leave behind).

    Args:
        in_channels (int): Node feature size (:obj:`0`: no features).
        out_channels (int): Output size.
        num_nodes (int): Number of nodes of the stream.
        msg_dim (int): Size of the raw event messages (edge attributes);
            :obj:`0` stores one constant zero column instead.
        memory_dim (int, optional): Memory size. (default: :obj:`100`)
        time_dim (int, optional): Time-encoding size. (default: :obj:`100`)
        embedding_dim (int, optional): Embedding size (even: two heads of
            :obj:`embedding_dim // 2`). (default: :obj:`100`)
        neighbor_size (int, optional): Number of latest neighbours kept per
            node. (default: :obj:`10`)
        time_encoder (str, optional): :obj:`"tgat"` (a
            :class:`~pyg_ext.nn.models.CosineTimeEncoder`: TGAT's fixed
            frequencies :math:`\omega_k = 10^{-9 (k-1)/(d-1)}`, as in
            DyGLib's TGN) or :obj:`"linear"` (PyG's :obj:`TimeEncoder`,
            :math:`\cos(\mathrm{Linear}(1, d)(\Delta t))` with a random
            initialisation, always learnable). (default: :obj:`"tgat"`)
        time_learnable (bool, optional): Learn the TGAT frequencies (only
            with :obj:`time_encoder="tgat"`). (default: :obj:`False`)

    .. note::
        PyG's learnable :obj:`"linear"` encoder on raw second gaps
        (:math:`\Delta t \approx 10^5` on UCI-Msg) is re-shuffled by Adam
        at :obj:`lr=1e-3` and the model can collapse (test AP near 40); the
        frozen TGAT encoder (default) does not (``docs/thegcn.md``).

    .. note::
        Event times are stored as integers (:obj:`t.long()`), as
        :class:`TGNMemory` requires.

    .. note::
        Host syncs per batch remain inside PyG's components and cannot be
        removed without rewriting them: :class:`TGNMemory` keeps its message
        store in a Python dict indexed through :obj:`.tolist()`, and
        :class:`LastNeighborLoader` and :meth:`embed_nodes` need
        :func:`torch.unique` / boolean masks, whose output sizes depend on
        the data. This wrapper adds none of its own.

    .. note::
        In this package TGN is the stream baseline of the temporal
        benchmarks; see ``docs/thegcn.md``.
    """
    stream_model = True

    # Temporal subgraphs with edge times: no sparse adj_t path.
    supports_adj_t = False

    def __init__(self, in_channels: int, out_channels: int, num_nodes: int,
                 msg_dim: int, memory_dim: int = 100, time_dim: int = 100,
                 embedding_dim: int = 100, neighbor_size: int = 10,
                 time_encoder: str = 'tgat', time_learnable: bool = False):
        super().__init__()
        for name, v, lo in (('in_channels', in_channels, 0),
                            ('out_channels', out_channels, 1),
                            ('num_nodes', num_nodes, 1),
                            ('msg_dim', msg_dim, 0),
                            ('memory_dim', memory_dim, 1),
                            ('time_dim', time_dim, 1),
                            ('embedding_dim', embedding_dim, 2),
                            ('neighbor_size', neighbor_size, 1)):
            if not isinstance(v, int) or isinstance(v, bool) or v < lo:
                raise ValueError(f"'{name}' must be an int >= {lo}, got "
                                 f"{v!r}")
        if time_encoder not in TIME_ENCODERS:
            raise ValueError(f"'time_encoder' must be one of {TIME_ENCODERS}"
                             f", got {time_encoder!r}")
        if not isinstance(time_learnable, bool):
            raise TypeError(f"'time_learnable' must be a bool, got "
                            f"{type(time_learnable).__name__}")
        if time_learnable and time_encoder != 'tgat':
            raise ValueError("'time_learnable' only applies to "
                             "time_encoder='tgat' (PyG's 'linear' encoder "
                             "is always learnable)")
        if embedding_dim % 2:
            raise ValueError(f"'embedding_dim' must be even (two attention "
                             f"heads), got {embedding_dim}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.num_nodes = num_nodes
        self.msg_dim = msg_dim
        self.memory_dim = memory_dim
        self.time_dim = time_dim
        self.embedding_dim = embedding_dim
        self.neighbor_size = neighbor_size
        self.time_encoder = time_encoder
        self.time_learnable = time_learnable
        # TGNMemory's message store cannot hold 0-column messages: streams
        # without edge attributes get one constant zero column.
        raw_msg_dim = max(msg_dim, 1)
        self.memory = _Memory(num_nodes, raw_msg_dim, memory_dim, time_dim,
                              message_module=IdentityMessage(
                                  raw_msg_dim, memory_dim, time_dim),
                              aggregator_module=LastAggregator())
        if time_encoder == 'tgat':
            self.memory.time_enc = CosineTimeEncoder(time_dim, time_learnable)
        self.lin_x = Linear(in_channels, memory_dim) if in_channels else None
        self.gnn = _GraphAttentionEmbedding(memory_dim, embedding_dim,
                                            raw_msg_dim, self.memory.time_enc)
        self.lin_out = Linear(embedding_dim, out_channels)
        self.loader = LastNeighborLoader(num_nodes, size=neighbor_size)
        # Global id -> row of the embedded subgraph (like the loader's own
        # map), so that no id-dependent size is read on the host.
        self.register_buffer('_pos', torch.zeros(num_nodes, dtype=torch.long),
                             persistent=False)
        self._stream: Optional[Tuple[Optional[Tensor], Tensor, Tensor]] = None

    @property
    def device(self) -> torch.device:
        return self._pos.device

    def reset_parameters(self):
        self.memory.reset_parameters()
        for m in (self.lin_x, self.gnn.conv, self.lin_out):
            if m is not None:
                m.reset_parameters()

    def train(self, mode: bool = True):
        # Entering eval mode flushes TGNMemory's message store into the
        # memory; without grad, so that no stale autograd graph stays
        # attached to the memory buffer (it would block copy.deepcopy).
        with torch.no_grad():
            return super().train(mode)

    def _apply(self, fn, recurse: bool = True):
        super()._apply(fn, recurse)
        # State PyG keeps outside parameters and buffers: the neighbour
        # buffer, the memory's message store and the bound stream. Shared
        # tensors (the store's many empty entries) are converted once.
        done = {}

        def conv(v):
            if v is None:
                return None
            if id(v) not in done:
                done[id(v)] = fn(v)
            return done[id(v)]

        ld = self.loader
        ld.neighbors, ld.e_id, ld._assoc = (conv(ld.neighbors),
                                            conv(ld.e_id), conv(ld._assoc))
        for store in (self.memory.msg_s_store, self.memory.msg_d_store):
            for k, v in store.items():
                store[k] = tuple(conv(u) for u in v)
        if self._stream is not None:
            self._stream = tuple(conv(u) for u in self._stream)
        return self

    def _check_device(self, **tensors: Tensor) -> None:
        for name, v in tensors.items():
            if v.device != self.device:
                raise ValueError(f"'{name}' is on {v.device} but the model is "
                                 f"on {self.device}: move the batch to the "
                                 f"model's device first")

    def reset_state(self, x: Optional[Tensor], t: Tensor, msg: Tensor):
        r"""Empties the memory and the neighbour buffer and binds the event
        stream: node features :obj:`x` :math:`[N, F]` (or :obj:`None` when
        :obj:`in_channels = 0`), event times :obj:`t` :math:`[E]` and
        messages :obj:`msg` :math:`[E, D]`. They are copied once to the
        model's device if they are elsewhere (data-setup time)."""
        if self.lin_x is not None and (x is None or x.dim() != 2
                                       or x.size(1) != self.in_channels):
            raise ValueError(f"'x' must have shape [num_nodes, "
                             f"{self.in_channels}], got "
                             f"{None if x is None else tuple(x.shape)}")
        if msg.dim() != 2 or msg.size(0) != t.numel() or \
                msg.size(1) != self.msg_dim:
            raise ValueError(f"'msg' must have shape [{t.numel()}, "
                             f"{self.msg_dim}], got {tuple(msg.shape)}")
        self.memory.reset_state()
        self.loader.reset_state()
        dev = self.device
        if msg.size(1) == 0:
            msg = msg.new_zeros(msg.size(0), 1, device=dev)
        x = x.to(dev) if self.lin_x is not None else None
        self._stream = (x, t.to(dev).long(), msg.to(dev))

    def embed_nodes(self, nodes: Tensor) -> Tensor:
        r"""Output :math:`[|\text{nodes}|, F_{out}]` for :obj:`nodes` (on the
        model's device; repeats allowed) from the current state, i.e. before
        any event of the current batch."""
        if self._stream is None:
            raise RuntimeError("call 'reset_state(x, t, msg)' before "
                               "'embed_nodes'")
        self._check_device(nodes=nodes)
        x, t_all, msg_all = self._stream
        # unique: the loader needs each queried node once (a repeat would
        # duplicate its neighbours' edges in the attention).
        n_id, edge_index, e_id = self.loader(torch.unique(nodes))
        z, last_update = self.memory(n_id)
        if self.lin_x is not None:
            z = z + self.lin_x(x[n_id])
        z = self.gnn(z, last_update, edge_index, t_all[e_id], msg_all[e_id])
        # The loader returns the queried ids among their neighbours, sorted:
        # map every queried node to its row.
        self._pos[n_id] = torch.arange(n_id.numel(), device=n_id.device)
        return self.lin_out(z[self._pos[nodes]])

    def update(self, src: Tensor, dst: Tensor, t: Tensor, msg: Tensor):
        r"""Feeds the next events of the bound stream (in order) to the memory
        and the neighbour buffer."""
        self._check_device(src=src, dst=dst, t=t, msg=msg)
        if msg.size(1) == 0:
            msg = msg.new_zeros(msg.size(0), 1)
        self.memory.update_state(src, dst, t.long(), msg)
        self.loader.insert(src, dst)

    def detach_state(self):
        r"""Detaches the memory from the autograd graph (after a step)."""
        self.memory.detach()

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.in_channels}, '
                f'{self.out_channels}, num_nodes={self.num_nodes}, '
                f'memory_dim={self.memory_dim})')
