r"""The gated low/high-pass temporal message passing of THeGCN."""
from typing import Optional, Tuple, Union

import torch
from torch import Tensor
from torch.nn import Linear, ReLU, Sequential
from torch_geometric.nn.conv import MessagePassing

from pyg_ext.nn._checks import check_dropout, check_ids_first_call
from pyg_ext.utils.validation import check_int

__all__ = ['THeGCNConv']


class THeGCNConv(MessagePassing):
    r"""The temporal (TMP) / static (SMP) message-passing block from the
    `"THeGCN: Temporal Heterophilic Graph Convolutional Network"
    <https://arxiv.org/abs/2412.16435>`_ paper (equations reconstructed from
    secondary sources; see ``docs/thegcn.md``).

    Every edge :math:`j \to i` gets a learned low-pass weight :math:`g_{ij}`
    and a high-pass weight :math:`1 - g_{ij}`; mixing the low-pass filter
    :math:`\mathbf{I} + \bar{\mathbf{A}}` and the high-pass filter
    :math:`\mathbf{I} - \bar{\mathbf{A}}` gives

    .. math::
        g_{ij} &= \sigma\left(\mathrm{MLP}\left([\mathbf{x}_j \,\Vert\,
        \mathbf{x}_i \,\Vert\, \mathbf{e}_{ij} \,\Vert\,
        \phi(\Delta t_{ij})]\right)\right)

        \mathbf{x}^{\prime}_i &= \mathbf{x}_i + \mathrm{AGG}_{j \in
        \mathcal{N}(i)} \left(2 g_{ij} - 1\right) \odot \mathbf{x}_j,

    so :math:`g = 1` is pure smoothing (:math:`\mathbf{x}_i +
    \mathrm{mean}_j \mathbf{x}_j`), :math:`g = 0` pure sharpening and
    :math:`g = 0.5` the identity. Without edge attributes and time encodings
    (:obj:`edge_dim = time_dim = 0`) this is the static (SMP) block.

    Args:
        channels (int): Size of each input sample.
        edge_dim (int, optional): Edge-attribute size fed to the gate.
            (default: :obj:`0`)
        time_dim (int, optional): Time-encoding size fed to the gate.
            (default: :obj:`0`)
        gate (str, optional): :obj:`"scalar"` (one gate per edge) or
            :obj:`"channel"` (one gate per edge and channel).
            (default: :obj:`"scalar"`)
        gate_act (str, optional): :obj:`"sigmoid"` (:math:`g \in (0, 1)`) or
            :obj:`"tanh"` (:math:`g = \tanh(\cdot) \in (-1, 1)`, the
            coefficient :math:`2g - 1` then lies in :math:`(-3, 1)`).
            (default: :obj:`"sigmoid"`)
        gate_hidden (int, optional): Hidden size of a two-layer gate MLP
            (:obj:`None`: a single linear layer, as FAGCN's attention
            vector). (default: :obj:`None`)
        aggr (str, optional): :obj:`"mean"` or :obj:`"sum"`.
            (default: :obj:`"mean"`)
        root_weight (bool, optional): Add the root term :math:`\mathbf{x}_i`.
            (default: :obj:`True`)
        out_channels (int, optional): If set, a final linear map to this size.
            (default: :obj:`None`)
        dropout (float, optional): Dropout on the coefficients
            :math:`2g - 1` during training. (default: :obj:`0.0`)
        **kwargs (optional): Additional arguments of
            :class:`torch_geometric.nn.conv.MessagePassing`.

    Shapes:
        - **input:**
          node features :math:`(|\mathcal{V}|, F)`,
          edge indices :math:`(2, |\mathcal{E}|)`,
          edge features :math:`(|\mathcal{E}|, D)` *(optional)*,
          time encodings :math:`(|\mathcal{E}|, T)` *(optional)*,
          gate override: a float or :math:`(|\mathcal{E}|)`,
          :math:`(|\mathcal{E}|, 1)` or :math:`(|\mathcal{E}|, F)`
          *(optional)*
        - **output:** node features :math:`(|\mathcal{V}|, F_{out})`, and
          with :obj:`return_gate=True` the gates :math:`(|\mathcal{E}|, 1)` or
          :math:`(|\mathcal{E}|, F)`

    .. note::
        :meth:`forward` checks metadata only (dtype, dim, sizes) and never
        reads a value, so it forces no host sync on an accelerator. Check the
        ids of hand-built graphs once, at data-setup time, with
        :meth:`validate_inputs`.

    .. note::
        For an example, see ``examples/thegcn.py``.
    """
    #: Node-id value check of :meth:`forward`: ``'once'`` (first call),
    #: ``'always'`` or ``'never'`` (see :doc:`/contract`).
    validate = 'once'

    def __init__(self, channels: int, edge_dim: int = 0, time_dim: int = 0,
                 gate: str = 'scalar', gate_act: str = 'sigmoid',
                 gate_hidden: Optional[int] = None, aggr: str = 'mean',
                 root_weight: bool = True,
                 out_channels: Optional[int] = None, dropout: float = 0.0,
                 **kwargs):
        for name, v, lo in (('channels', channels, 1),
                            ('edge_dim', edge_dim, 0),
                            ('time_dim', time_dim, 0)):
            if not isinstance(v, int) or isinstance(v, bool) or v < lo:
                raise ValueError(f"'{name}' must be an int >= {lo}, got "
                                 f"{v!r}")
        check_int('gate_hidden', gate_hidden, low=1, allow_none=True)
        check_int('out_channels', out_channels, low=1, allow_none=True)
        check_dropout(dropout=dropout)
        if gate not in ('scalar', 'channel'):
            raise ValueError(f"'gate' must be 'scalar' or 'channel', got "
                             f"{gate!r}")
        if gate_act not in ('sigmoid', 'tanh'):
            raise ValueError(f"'gate_act' must be 'sigmoid' or 'tanh', got "
                             f"{gate_act!r}")
        if aggr not in ('mean', 'sum'):
            raise ValueError(f"'aggr' must be 'mean' or 'sum', got {aggr!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"'dropout' must be in [0, 1), got {dropout!r}")
        super().__init__(aggr=aggr, **kwargs)
        self.channels = channels
        self.edge_dim = edge_dim
        self.time_dim = time_dim
        self.gate = gate
        self.gate_act = gate_act
        self.gate_hidden = gate_hidden
        self.root_weight = root_weight
        self.out_channels = out_channels
        self.dropout = dropout

        in_gate = 2 * channels + edge_dim + time_dim
        out_gate = 1 if gate == 'scalar' else channels
        if gate_hidden is None:
            self.gate_mlp = Linear(in_gate, out_gate)
        else:
            self.gate_mlp = Sequential(Linear(in_gate, gate_hidden), ReLU(),
                                       Linear(gate_hidden, out_gate))
        self.lin = None if out_channels is None else Linear(
            channels, out_channels)
        self.reset_parameters()

    def reset_parameters(self):
        super().reset_parameters()
        for m in self.gate_mlp.modules():
            if isinstance(m, Linear):
                m.reset_parameters()
        if self.lin is not None:
            self.lin.reset_parameters()

    @staticmethod
    def validate_inputs(edge_index: Tensor, num_nodes: int) -> None:
        r"""Checks once, at data-setup time, that every id in
        :obj:`edge_index` lies in :obj:`[0, num_nodes)`. :meth:`forward`
        only checks metadata (dtype, dim, sizes), so that it never reads
        values and never forces a host sync on an accelerator; subgraphs
        built by :class:`pyg_ext.sampler.TemporalNeighborSampler` are valid
        by construction.

        Args:
            edge_index (torch.Tensor): Edge indices :math:`[2, |\mathcal{E}|]`.
            num_nodes (int): Number of nodes (:obj:`x.size(0)`).

        Raises:
            ValueError: If an id is negative or :math:`\geq` :obj:`num_nodes`.
        """
        if not isinstance(edge_index, Tensor) or edge_index.dim() != 2 or \
                edge_index.size(0) != 2:
            raise ValueError(f"'edge_index' must have shape [2, num_edges], "
                             f"got {tuple(getattr(edge_index, 'shape', ()))}")
        if edge_index.is_floating_point() or edge_index.dtype == torch.bool:
            raise TypeError(f"'edge_index' must be an integer tensor, got "
                            f"{edge_index.dtype}")
        if edge_index.numel() and (int(edge_index.min()) < 0
                                   or int(edge_index.max()) >= num_nodes):
            raise ValueError(f"'edge_index' ids must lie in [0, {num_nodes}),"
                             f" got ids in [{int(edge_index.min())}, "
                             f"{int(edge_index.max())}]")

    def compute_gate(self, x: Tensor, edge_index: Tensor,
                     edge_attr: Optional[Tensor] = None,
                     time_enc: Optional[Tensor] = None) -> Tensor:
        r"""The gates :math:`g_{ij}` of every edge."""
        parts = [None, None]  # x_j and x_i, gathered lazily below
        for name, v, d in (('edge_attr', edge_attr, self.edge_dim),
                           ('time_enc', time_enc, self.time_dim)):
            if d == 0:
                if v is not None:
                    raise ValueError(f"'{name}' was given but the layer was "
                                     f"built with {name.replace('_enc', '')}"
                                     f"_dim=0")
                continue
            if v is None:
                raise ValueError(f"'{name}' of shape [num_edges, {d}] is "
                                 f"required (the layer was built with "
                                 f"{'edge' if name == 'edge_attr' else 'time'}"
                                 f"_dim={d})")
            if v.dim() == 1 and d == 1:
                v = v.view(-1, 1)
            if v.dim() != 2 or v.size(0) != edge_index.size(1) or \
                    v.size(1) != d:
                raise ValueError(f"'{name}' must have shape "
                                 f"[{edge_index.size(1)}, {d}], got "
                                 f"{tuple(v.shape)}")
            parts.append(v.to(x.dtype))
        if isinstance(self.gate_mlp, Linear):
            # A linear gate splits over its inputs: project the nodes first
            # and gather per edge (same value, far fewer FLOPs than
            # concatenating [x_j, x_i, ...] for every edge).
            C = self.channels
            W, b = self.gate_mlp.weight, self.gate_mlp.bias
            z = (x @ W[:, :C].t())[edge_index[0]] + \
                (x @ W[:, C:2 * C].t())[edge_index[1]] + b
            off = 2 * C
            for v in parts[2:]:
                z = z + v @ W[:, off:off + v.size(1)].t()
                off += v.size(1)
        else:
            parts[0], parts[1] = x[edge_index[0]], x[edge_index[1]]
            z = self.gate_mlp(torch.cat(parts, dim=-1))
        return torch.sigmoid(z) if self.gate_act == 'sigmoid' else torch.tanh(
            z)

    def forward(
        self,
        x: Tensor,
        edge_index: Tensor,
        edge_attr: Optional[Tensor] = None,
        time_enc: Optional[Tensor] = None,
        gate: Optional[Union[float, Tensor]] = None,
        return_gate: bool = False,
    ) -> Union[Tensor, Tuple[Tensor, Tensor]]:
        if not isinstance(x, Tensor) or x.dim() != 2 or \
                x.size(1) != self.channels:
            raise ValueError(f"'x' must have shape [num_nodes, "
                             f"{self.channels}], got "
                             f"{tuple(getattr(x, 'shape', ()))}")
        if not isinstance(edge_index, Tensor) or edge_index.dim() != 2 or \
                edge_index.size(0) != 2:
            raise ValueError(f"'edge_index' must have shape [2, num_edges], "
                             f"got {tuple(getattr(edge_index, 'shape', ()))}")
        if not x.is_floating_point():
            raise TypeError(f"'x' must be a floating-point tensor, got "
                            f"{x.dtype}")
        if edge_index.is_floating_point() or edge_index.dtype == torch.bool:
            raise TypeError(f"'edge_index' must be an integer tensor, got "
                            f"{edge_index.dtype}")
        # The id range is a value check (a host sync on an accelerator):
        # done on the first call only (`validate`, see
        # `pyg_ext.nn._checks.check_ids_first_call`), at data-setup time by
        # `validate_inputs`, or by the sampler that built the subgraph.
        check_ids_first_call(self, edge_index, x.size(0))
        E = edge_index.size(1)
        if gate is None:
            g = self.compute_gate(x, edge_index, edge_attr, time_enc)
        elif isinstance(gate, (int, float)) and not isinstance(gate, bool):
            g = x.new_full((E, 1), float(gate))
        elif isinstance(gate, Tensor):
            g = gate.to(x.dtype)
            if g.dim() == 1:
                g = g.view(-1, 1)
            if g.dim() != 2 or g.size(0) != E or g.size(1) not in (
                    1, self.channels):
                raise ValueError(f"'gate' must have shape [{E}], [{E}, 1] or "
                                 f"[{E}, {self.channels}], got "
                                 f"{tuple(gate.shape)}")
        else:
            raise TypeError(f"'gate' must be None, a float or a tensor, got "
                            f"{type(gate).__name__}")
        coef = 2.0 * g - 1.0
        if self.dropout > 0 and self.training:
            coef = torch.nn.functional.dropout(coef, p=self.dropout)
        out = self.propagate(edge_index, x=x, coef=coef)
        if self.root_weight:
            out = out + x
        if self.lin is not None:
            out = self.lin(out)
        return (out, g) if return_gate else out

    def message(self, x_j: Tensor, coef: Tensor) -> Tensor:
        return coef * x_j

    def __repr__(self) -> str:
        out = self.channels if self.out_channels is None else \
            self.out_channels
        return (f'{self.__class__.__name__}({self.channels}, {out}, '
                f'gate={self.gate!r})')
