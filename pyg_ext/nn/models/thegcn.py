r"""THeGCN: a temporal (TMP) block and static (SMP) blocks over a sampled
temporal subgraph, with a TGAT-initialised cosine time encoding."""
from typing import List, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import Embedding, Linear, Module, ModuleList, Parameter

from pyg_ext.nn._checks import (check_channels, check_dropout,
                                 check_forward, check_ids_first_call)
from pyg_ext.nn.conv.thegcn_conv import THeGCNConv
from pyg_ext.utils.validation import check_float, check_int

__all__ = ['CosineTimeEncoder', 'THeGCN']


class CosineTimeEncoder(Module):
    r"""The functional time encoding from the `"Inductive Representation
    Learning on Temporal Graphs" <https://arxiv.org/abs/2002.07962>`_ paper
    (TGAT), with the fixed initialisation of TGAT's and DyGLib's code
    (``1 / 10 ** np.linspace(0, 9, d)``):

    .. math::
        \phi(\Delta t) = \cos(\boldsymbol{\omega} \Delta t + \mathbf{b}),
        \quad \omega_k = 10^{-9 (k - 1) / (d - 1)} \; (k = 1, \ldots, d),
        \quad \mathbf{b} = 0,

    frozen by default (as in `GraphMixer <https://arxiv.org/abs/2302.11636>`_
    and DyGLib's ``parameter_requires_grad=False``), learnable with
    :obj:`learnable=True`.

    :math:`\Delta t` is read in the stream's own time unit, without
    rescaling: the frequencies span :math:`1` to :math:`10^{-9}` per unit,
    i.e. periods from :math:`2\pi` units to :math:`6 \cdot 10^9` units,
    which covers second-resolution streams (UCI-Msg: gaps up to
    :math:`1.6 \cdot 10^7` s). A frozen encoder is what keeps training on
    raw seconds stable: a learnable frequency moved by an Adam step of
    :math:`10^{-3}` shifts the phase of a :math:`\Delta t = 10^5` s gap by
    100 rad, which re-shuffles the encoding (see ``docs/thegcn.md``).

    Args:
        out_channels (int): The encoding size :math:`d`.
        learnable (bool, optional): Learn :math:`\boldsymbol{\omega}` and
            :math:`\mathbf{b}`. (default: :obj:`False`)
    """
    def __init__(self, out_channels: int, learnable: bool = False):
        super().__init__()
        check_int('out_channels', out_channels, low=1)
        if not isinstance(learnable, bool):
            raise TypeError(f"'learnable' must be a bool, got "
                            f"{type(learnable).__name__}")
        self.out_channels = out_channels
        self.learnable = learnable
        self.weight = Parameter(torch.empty(out_channels),
                                requires_grad=learnable)
        self.bias = Parameter(torch.empty(out_channels),
                              requires_grad=learnable)
        self.reset_parameters()

    def reset_parameters(self):
        with torch.no_grad():
            self.weight.copy_(1.0 / 10**torch.linspace(
                0, 9, self.out_channels, device=self.weight.device,
                dtype=torch.float64).to(self.weight.dtype))
            self.bias.zero_()

    def forward(self, dt: Tensor) -> Tensor:
        return torch.cos(dt.to(self.weight.dtype).view(-1, 1) * self.weight +
                         self.bias)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.out_channels}, '
                f'learnable={self.learnable})')


class THeGCN(Module):
    r"""The THeGCN model from the `"THeGCN: Temporal Heterophilic Graph
    Convolutional Network" <https://arxiv.org/abs/2412.16435>`_ paper
    (a reconstruction; see ``docs/thegcn.md`` for every design choice).

    On a sampled temporal subgraph (see
    :class:`pyg_ext.sampler.TemporalNeighborSampler`) it computes

    1. :math:`\mathbf{h} = \mathbf{W}_{in} \mathbf{x}` (plus a node-id
       embedding when :obj:`num_nodes` is given),
    2. one temporal block (TMP, a :class:`~pyg_ext.nn.conv.THeGCNConv` whose
       gate sees :math:`[\mathbf{h}_j, \mathbf{h}_i, \mathbf{e}_{ij},
       \phi(\Delta t_{ij})]`) over all sampled events,
    3. :obj:`num_smp_layers` static blocks (ReLU, dropout, SMP) over the
       same events,
    4. an MLP classifier on the seeds (the first :obj:`batch_size` nodes).

    Args:
        in_channels (int): Node feature size (:obj:`0`: no features, needs
            :obj:`num_nodes`).
        hidden_channels (int): Hidden size.
        out_channels (int): Output size.
        edge_dim (int, optional): Edge attribute size. (default: :obj:`0`)
        time_dim (int, optional): Time encoding size. (default: :obj:`100`)
        num_smp_layers (int, optional): Number :math:`L` of static blocks.
            (default: :obj:`1`)
        gate (str, optional): :obj:`"scalar"` or :obj:`"channel"`.
            (default: :obj:`"scalar"`)
        gate_act (str, optional): :obj:`"sigmoid"` or :obj:`"tanh"`.
            (default: :obj:`"sigmoid"`)
        gate_hidden (int, optional): Hidden size of the gate MLPs.
            (default: :obj:`None`)
        dropout (float, optional): Dropout. (default: :obj:`0.1`)
        use_time (bool, optional): Feed :math:`\phi(\Delta t)` to the TMP
            gate (ablation switch). (default: :obj:`True`)
        use_edge_attr (bool, optional): Feed edge attributes to the TMP
            gate (ablation switch). (default: :obj:`True`)
        fixed_gate (float, optional): Fix every gate to this value
            (:obj:`1.0`: low-pass only, :obj:`0.0`: high-pass only).
            (default: :obj:`None`)
        num_nodes (int, optional): If set, add a learnable node-id embedding
            (transductive; for featureless streams). (default: :obj:`None`)
        time_learnable (bool, optional): Learn the time encoder's
            frequencies (:class:`CosineTimeEncoder`; frozen by default).
            (default: :obj:`False`)

    .. note::
        The model is device-generic and its :meth:`forward` reads no value
        (no host sync): move the sampled subgraph to the model's device with
        :meth:`pyg_ext.sampler.TemporalSubgraph.to`, and check hand-built
        inputs once with :meth:`validate_inputs`.

    .. note::
        For an example, see ``examples/thegcn.py``.
    """
    #: Node-id value check of :meth:`forward`: ``'once'`` (first call),
    #: ``'always'`` or ``'never'`` (see :doc:`/contract`).
    validate = 'once'

    temporal = True  # consumes sampled temporal subgraphs

    # Temporal subgraphs with edge times: no sparse adj_t path.
    supports_adj_t = False

    def __init__(self, in_channels: int, hidden_channels: int,
                 out_channels: int, edge_dim: int = 0, time_dim: int = 100,
                 num_smp_layers: int = 1, gate: str = 'scalar',
                 gate_act: str = 'sigmoid', gate_hidden: Optional[int] = None,
                 dropout: float = 0.1, use_time: bool = True,
                 use_edge_attr: bool = True,
                 fixed_gate: Optional[float] = None,
                 num_nodes: Optional[int] = None,
                 time_learnable: bool = False):
        super().__init__()
        check_int('in_channels', in_channels, low=0)
        check_int('num_nodes', num_nodes, low=1, allow_none=True)
        check_channels(hidden_channels=hidden_channels,
                       out_channels=out_channels)
        # time_dim=0 switches the time encoding off; a negative size is an
        # error (it used to switch it off silently).
        check_int('edge_dim', edge_dim, low=0)
        check_int('time_dim', time_dim, low=0)
        check_int('num_smp_layers', num_smp_layers, low=0)
        check_int('gate_hidden', gate_hidden, low=1, allow_none=True)
        check_dropout(dropout=dropout)
        check_float('fixed_gate', fixed_gate, low=0.0, high=1.0,
                    allow_none=True)
        if not isinstance(time_learnable, bool):
            raise TypeError(f"'time_learnable' must be a bool, got "
                            f"{type(time_learnable).__name__}")
        if in_channels == 0 and not num_nodes:
            raise ValueError(f"'in_channels' must be >= 1 (or 0 together with"
                             f" 'num_nodes'), got {in_channels!r}")
        if num_smp_layers < 0:
            raise ValueError(f"'num_smp_layers' must be >= 0, got "
                             f"{num_smp_layers!r}")
        if fixed_gate is not None and not isinstance(fixed_gate,
                                                     (int, float)):
            raise TypeError(f"'fixed_gate' must be None or a float, got "
                            f"{type(fixed_gate).__name__}")
        self.in_channels = in_channels
        self.hidden_channels = hidden_channels
        self.out_channels = out_channels
        self.edge_dim = edge_dim
        self.time_dim = time_dim
        self.num_smp_layers = num_smp_layers
        self.dropout = dropout
        self.use_time = use_time and time_dim > 0
        self.use_edge_attr = use_edge_attr and edge_dim > 0
        self.fixed_gate = fixed_gate
        self.num_nodes = num_nodes
        self.time_learnable = time_learnable

        self.lin_in = Linear(in_channels, hidden_channels) \
            if in_channels > 0 else None
        self.emb = Embedding(num_nodes, hidden_channels) if num_nodes else None
        self.time_enc = CosineTimeEncoder(time_dim, time_learnable) \
            if self.use_time else None
        self.tmp = THeGCNConv(hidden_channels,
                              edge_dim=edge_dim if self.use_edge_attr else 0,
                              time_dim=time_dim if self.use_time else 0,
                              gate=gate, gate_act=gate_act,
                              gate_hidden=gate_hidden)
        self.smps = ModuleList([
            THeGCNConv(hidden_channels, gate=gate, gate_act=gate_act,
                       gate_hidden=gate_hidden)
            for _ in range(num_smp_layers)
        ])
        self.lin_hidden = Linear(hidden_channels, hidden_channels)
        self.lin_out = Linear(hidden_channels, out_channels)
        self.reset_parameters()

    def reset_parameters(self):
        for m in (self.lin_in, self.emb, self.time_enc, self.tmp,
                  self.lin_hidden, self.lin_out, *self.smps):
            if m is not None:
                m.reset_parameters()

    def validate_inputs(self, x: Optional[Tensor], edge_index: Tensor,
                        dt: Optional[Tensor] = None,
                        n_id: Optional[Tensor] = None) -> None:
        r"""Checks the values of one (sub)graph once, at data-setup time:
        :obj:`edge_index` ids lie in :obj:`[0, num_local_nodes)`, :obj:`dt`
        has no NaN and :obj:`n_id` fits the node-id embedding.
        :meth:`forward` only checks metadata (dtype, dim, sizes) so that it
        never forces a host sync; subgraphs built by
        :class:`pyg_ext.sampler.TemporalNeighborSampler` are valid by
        construction and need no check.

        Args:
            x (torch.Tensor, optional): Local node features (or :obj:`None`
                for a featureless model).
            edge_index (torch.Tensor): Local edge indices.
            dt (torch.Tensor, optional): Relative event times.
            n_id (torch.Tensor, optional): Global node ids of the local nodes.
        """
        if x is not None:
            num_local = x.size(0)
        elif n_id is not None:
            num_local = n_id.numel()
        else:
            raise ValueError("'x' or 'n_id' is needed to know the number of "
                             "local nodes")
        if x is not None and n_id is not None and n_id.numel() != num_local:
            raise ValueError(f"'n_id' must have one entry per row of 'x' "
                             f"({num_local}), got {n_id.numel()}")
        THeGCNConv.validate_inputs(edge_index, num_local)
        if dt is not None and dt.is_floating_point() and bool(
                torch.isnan(dt).any()):
            raise ValueError("'dt' contains NaN")
        if self.emb is not None and n_id is not None and n_id.numel() and (
                int(n_id.min()) < 0 or int(n_id.max()) >= self.num_nodes):
            raise ValueError(f"'n_id' must lie in [0, {self.num_nodes}) (the "
                             f"node-id embedding), got ids in "
                             f"[{int(n_id.min())}, {int(n_id.max())}]")

    def embed(self, x: Optional[Tensor], edge_index: Tensor,
              edge_attr: Optional[Tensor] = None, dt: Optional[Tensor] = None,
              batch_size: Optional[int] = None, n_id: Optional[Tensor] = None,
              return_gates: bool = False
              ) -> Union[Tensor, Tuple[Tensor, List[Tensor]]]:
        r"""The seed representations before the classifier."""
        h = 0
        if self.lin_in is not None:
            if x is None or x.dim() != 2 or x.size(1) != self.in_channels:
                raise ValueError(f"'x' must have shape [num_nodes, "
                                 f"{self.in_channels}], got "
                                 f"{None if x is None else tuple(x.shape)}")
            h = self.lin_in(x)
        if self.emb is not None:
            if n_id is None:
                raise ValueError("'n_id' (global node ids) is required when "
                                 "the model has a node-id embedding")
            h = h + self.emb(n_id)
        E = edge_index.size(1)
        te = None
        if self.use_time:
            if dt is None or dt.numel() != E:
                raise ValueError(f"'dt' (relative event times) of shape "
                                 f"[{E}] is required when use_time=True")
            te = self.time_enc(dt)
        ea = None
        if self.use_edge_attr:
            if edge_attr is None:
                raise ValueError(f"'edge_attr' of shape [{E}, "
                                 f"{self.edge_dim}] is required when "
                                 f"use_edge_attr=True and edge_dim > 0")
            ea = edge_attr
        gates = []
        h, g = self.tmp(h, edge_index, ea, te, gate=self.fixed_gate,
                        return_gate=True)
        gates.append(g)
        for conv in self.smps:
            h = F.dropout(F.relu(h), p=self.dropout, training=self.training)
            h, g = conv(h, edge_index, gate=self.fixed_gate, return_gate=True)
            gates.append(g)
        if batch_size is not None:
            h = h[:batch_size]
        return (h, gates) if return_gates else h

    def forward(self, x: Optional[Tensor], edge_index: Tensor,
                edge_attr: Optional[Tensor] = None,
                dt: Optional[Tensor] = None,
                batch_size: Optional[int] = None,
                n_id: Optional[Tensor] = None, return_gates: bool = False
                ) -> Union[Tensor, Tuple[Tensor, List[Tensor]]]:
        r"""Logits of the first :obj:`batch_size` nodes (all nodes if
        :obj:`None`); with :obj:`return_gates`, also the gates of the TMP
        block and of every SMP block."""
        if x is not None:
            check_forward(x, edge_index, self.in_channels, module=self)
        elif n_id is not None and isinstance(edge_index, Tensor):
            check_ids_first_call(self, edge_index, n_id.numel())
        out = self.embed(x, edge_index, edge_attr, dt, batch_size, n_id,
                         return_gates)
        h, gates = out if return_gates else (out, None)
        h = F.dropout(F.relu(h), p=self.dropout, training=self.training)
        h = F.relu(self.lin_hidden(h))
        h = F.dropout(h, p=self.dropout, training=self.training)
        h = self.lin_out(h)
        return (h, gates) if return_gates else h

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.in_channels}, '
                f'{self.out_channels}, num_smp_layers={self.num_smp_layers})')
