r"""Mowst and Mowst*: a mixture of a weak expert (an MLP on a node's own
features) and a strong expert (any GNN), mixed or routed by the weak expert's
confidence."""
import inspect
import math
from contextlib import contextmanager
from dataclasses import dataclass
from typing import (Any, Dict, Iterator, List, Optional, Sequence, Tuple,
                    Union)

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import Parameter

from pyg_ext.utils.dispersion import DISPERSIONS

__all__ = [
    'Mowst',
    'MowstOutput',
    'MowstPrediction',
    'GateMLP',
    'khop_in_subgraph',
]

VARIANTS = ('mowst', 'mowst_star')
GATES = ('mlp', 'identity', 'power')
STAR_MIXES = ('prob', 'logit')
MODES = ('sample', 'threshold', 'mixture')
GCN_SUBGRAPH = ('auto', 'extra_hop', 'prenormalize')
# Subgraph inference runs the whole graph instead once the k-hop set holds
# at least this share of the nodes (the induced copy would cost more).
FULL_GRAPH_SHARE = 0.9
_EDGE_KWARGS = ('edge_weight', 'edge_attr', 'edge_type')


@dataclass
class MowstOutput:
    r"""The full-batch output of :class:`Mowst`.

    Attributes:
        weak_logits (torch.Tensor): Weak expert logits :obj:`[N, C]`.
        strong_logits (torch.Tensor): Strong expert logits :obj:`[N, C]`.
        conf (torch.Tensor): Confidence :math:`C(\mathbf{p}_v)` :obj:`[N]`.
        log_probs (torch.Tensor): Log-probabilities of the model's predictive
            distribution :obj:`[N, C]`: :math:`\log(C\mathbf{p} + (1 - C)
            \mathbf{p}')` (the distribution of the random routing of Mowst and
            Mowst*'s output), or :math:`\log\mathrm{softmax}(C\mathbf{z} +
            (1 - C)\mathbf{z}')` for Mowst* with :obj:`star_mix='logit'`.
    """
    weak_logits: Tensor
    strong_logits: Tensor
    conf: Tensor
    log_probs: Tensor


@dataclass
class MowstPrediction:
    r"""The result of :meth:`Mowst.predict` for the target nodes.

    Attributes:
        pred (torch.Tensor): Predicted classes :obj:`[T]`.
        used_strong (torch.Tensor): Whether each target used the strong
            expert :obj:`[T]` (all :obj:`True` in :obj:`'mixture'` mode).
        conf (torch.Tensor): Confidence of each target :obj:`[T]`.
        weak_logits (torch.Tensor): Weak expert logits :obj:`[T, C]`.
        strong_logits (torch.Tensor): Strong expert logits :obj:`[T, C]`,
            :obj:`NaN` on rows where the strong expert was not used.
        index (torch.Tensor): The target node indices :obj:`[T]`.
        num_strong_nodes_computed (int): How many nodes the strong expert
            actually ran on (size of the k-hop subgraph; 0 if no target was
            routed to it).
    """
    pred: Tensor
    used_strong: Tensor
    conf: Tensor
    weak_logits: Tensor
    strong_logits: Tensor
    index: Tensor
    num_strong_nodes_computed: int

    @property
    def strong_fraction(self) -> float:
        r"""Fraction of targets routed to the strong expert."""
        n = self.used_strong.numel()
        return float(self.used_strong.sum()) / n if n > 0 else 0.0


class GateMLP(torch.nn.Module):
    r"""The learned confidence function :math:`G` of Mowst: an MLP (linear,
    BatchNorm, ReLU, dropout) with one output and a sigmoid, as in the official
    code's ``GateMLP``.

    Args:
        in_channels (int): Input size (number of dispersions, plus the number
            of node features if they are appended).
        hidden_channels (int): Hidden size.
        num_layers (int): Number of linear layers (:obj:`1`: logistic
            regression on the input).
        dropout (float): Dropout probability.
    """
    def __init__(self, in_channels: int, hidden_channels: int = 64,
                 num_layers: int = 2, dropout: float = 0.5):
        super().__init__()
        self.in_channels = in_channels
        self.hidden_channels = hidden_channels
        self.num_layers = num_layers
        self.dropout = dropout
        self.lins = torch.nn.ModuleList()
        self.norms = torch.nn.ModuleList()
        dims = [in_channels] + [hidden_channels] * (num_layers - 1) + [1]
        for i in range(num_layers):
            self.lins.append(torch.nn.Linear(dims[i], dims[i + 1]))
            if i < num_layers - 1:
                self.norms.append(torch.nn.BatchNorm1d(dims[i + 1]))
        self.reset_parameters()

    def reset_parameters(self):
        for lin in self.lins:
            lin.reset_parameters()
        for norm in self.norms:
            norm.reset_parameters()

    def forward(self, x: Tensor) -> Tensor:
        for i, lin in enumerate(self.lins[:-1]):
            x = lin(x)
            x = self.norms[i](x)
            x = x.relu()
            x = F.dropout(x, p=self.dropout, training=self.training)
        return torch.sigmoid(self.lins[-1](x)).view(-1)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.in_channels}, '
                f'{self.hidden_channels}, num_layers={self.num_layers})')


def _src_dst(edge_index: Tensor, flow: str) -> Tuple[Tensor, Tensor]:
    if flow == 'source_to_target':
        return edge_index[0], edge_index[1]
    if flow == 'target_to_source':
        return edge_index[1], edge_index[0]
    raise ValueError(f"'flow' must be 'source_to_target' or "
                     f"'target_to_source', got {flow!r}")


def _khop_dist(index: Tensor, num_hops: int, edge_index: Tensor,
               num_nodes: int, flow: str) -> Tensor:
    r"""In-hop distance of every node to :obj:`index` (:obj:`-1` beyond
    :obj:`num_hops`)."""
    src, dst = _src_dst(edge_index, flow)
    dist = torch.full((num_nodes, ), -1, dtype=torch.long,
                      device=index.device)
    dist[index] = 0
    frontier = dist == 0
    for hop in range(1, num_hops + 1):
        reached = torch.zeros_like(frontier)
        reached[src[frontier[dst]]] = True
        frontier = reached & (dist < 0)
        if not bool(frontier.any()):
            break
        dist[frontier] = hop
    return dist


def _khop_mask(index: Tensor, num_hops: int, edge_index: Tensor,
               num_nodes: int, flow: str) -> Tensor:
    r"""Boolean mask of the nodes within :obj:`num_hops` in-hops."""
    return _khop_dist(index, num_hops, edge_index, num_nodes, flow) >= 0


def _induced(visited: Tensor, edge_index: Tensor, flow: str,
             ) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    src, dst = _src_dst(edge_index, flow)
    subset = visited.nonzero().view(-1)
    edge_mask = visited[src] & visited[dst]
    relabel = torch.full((visited.numel(), ), -1, dtype=torch.long,
                         device=visited.device)
    relabel[subset] = torch.arange(subset.numel(), device=visited.device)
    return subset, relabel[edge_index[:, edge_mask]], relabel, edge_mask


def khop_in_subgraph(index: Tensor, num_hops: int, edge_index: Tensor,
                     num_nodes: int, flow: str = 'source_to_target',
                     ) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    r"""The subgraph induced by every node from which :obj:`index` can be
    reached by message passing in at most :obj:`num_hops` steps.

    Like :func:`torch_geometric.utils.k_hop_subgraph` with
    :obj:`relabel_nodes=True`, but each hop only expands the new frontier.

    Returns:
        (subset, sub_edge_index, mapping, edge_mask): the nodes (sorted), the
        relabelled induced edges, the positions of :obj:`index` in
        :obj:`subset`, and the boolean edge mask.

    Example:
        >>> edge_index = torch.tensor([[0, 1, 2], [1, 2, 3]])
        >>> subset, sub_ei, mapping, _ = khop_in_subgraph(
        ...     torch.tensor([3]), 2, edge_index, 4)
        >>> subset.tolist(), sub_ei.tolist(), mapping.tolist()
        ([1, 2, 3], [[0, 1], [1, 2]], [2])
    """
    visited = _khop_mask(index, num_hops, edge_index, num_nodes, flow)
    subset, sub_edge_index, relabel, edge_mask = _induced(
        visited, edge_index, flow)
    return subset, sub_edge_index, relabel[index], edge_mask


def _needs_edge_index(module: torch.nn.Module) -> bool:
    # True when forward's second positional parameter is required.
    try:
        params = list(inspect.signature(module.forward).parameters.values())
    except (TypeError, ValueError):
        return False
    pos = [
        p for p in params
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    return len(pos) >= 2 and pos[1].default is inspect.Parameter.empty


def _accepts_kwarg(module: torch.nn.Module, name: str) -> bool:
    try:
        params = inspect.signature(module.forward).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind == p.VAR_KEYWORD
                                 for p in params.values())


def _out_channels(module: torch.nn.Module) -> Optional[int]:
    for attr in ('out_channels', 'num_classes'):
        val = getattr(module, attr, None)
        if isinstance(val, int):
            return val
    return None


class Mowst(torch.nn.Module):
    r"""The Mowst and Mowst* models from the `"Mixture of Weak & Strong
    Experts on Graphs" <https://arxiv.org/abs/2311.05185>`_ paper (ICLR 2024).

    A weak expert :math:`f` (an MLP on a node's own features) gives
    :math:`\mathbf{p}_v = \mathrm{softmax}(f(\mathbf{x}_v))`, a strong expert
    :math:`g` (any GNN) gives :math:`\mathbf{p}'_v = \mathrm{softmax}(
    g(\mathbf{X}, \mathbf{A})_v)`, and the confidence
    :math:`C_v = G(D(\mathbf{p}_v)) \in [0, 1]` is a function of the weak
    expert's dispersion. Mowst (:obj:`variant='mowst'`) trains on the
    expected loss of the random routing (paper Eq. 1),

    .. math::
        \mathcal{L} = \frac{1}{|\mathcal{V}_L|}\sum_{v \in \mathcal{V}_L}
        C_v\, \ell(\mathbf{p}_v, y_v) + (1 - C_v)\, \ell(\mathbf{p}'_v, y_v),

    and at inference uses the weak expert with probability :math:`C_v` and
    the strong one otherwise (Algorithm 1); :meth:`predict` runs the strong
    expert **only** on the k-hop subgraph of the routed nodes. Mowst*
    (:obj:`variant='mowst_star'`) trains on and predicts with the mixture
    :math:`C_v\mathbf{p}_v + (1 - C_v)\mathbf{p}'_v` (Eq. 3).

    Args:
        weak (torch.nn.Module): The weak expert, :obj:`weak(x) -> [N, C]`
            logits (if its :obj:`forward` requires an :obj:`edge_index`, it is
            given an empty one: the weak expert sees only node features).
        strong (torch.nn.Module): The strong expert,
            :obj:`strong(x, edge_index, **kwargs) -> [N, C]` logits.
        num_classes (int): The number of classes :math:`C`.
        variant (str, optional): :obj:`'mowst'` or :obj:`'mowst_star'`.
            (default: :obj:`'mowst'`)
        dispersion (str or tuple of str, optional): Dispersions fed to the
            gate, from :obj:`'variance'` and :obj:`'entropy'`, both normalised
            to :math:`[0, 1]` (see
            :func:`pyg_ext.utils.dispersion.variance_dispersion`).
            (default: :obj:`('variance', 'entropy')`)
        gate (str or torch.nn.Module, optional): The function :math:`G`:
            :obj:`'mlp'` (learned :class:`GateMLP` with a sigmoid, as in the
            official code), :obj:`'identity'` (:math:`C = D`, one dispersion),
            :obj:`'power'` (:math:`C = D^\alpha`, one dispersion), or a module
            mapping the gate input :obj:`[N, k]` to confidences in
            :math:`[0, 1]` of shape :obj:`[N]` or :obj:`[N, 1]`.
            (default: :obj:`'mlp'`)
        gate_hidden (int, optional): Hidden size of the MLP gate.
            (default: :obj:`64`)
        gate_layers (int, optional): Layers of the MLP gate.
            (default: :obj:`2`)
        gate_dropout (float, optional): Dropout of the MLP gate.
            (default: :obj:`0.5`)
        gate_alpha (float, optional): The exponent :math:`\alpha` of the
            :obj:`'power'` gate. (default: :obj:`1.0`)
        gate_in_features (int, optional): If set, the node features
            (of this size) are appended to the dispersions as gate input (the
            official code's ``--original_data true``); then :math:`C` is no
            longer a function of :math:`\mathbf{p}_v` alone.
            (default: :obj:`None`)
        detach_dispersion (bool, optional): Stop the gradient from :math:`C`
            into the weak expert's logits (official code); :obj:`False` gives
            the paper's analysis, where :math:`C` is differentiable in
            :math:`\mathbf{p}_v`. (default: :obj:`True`)
        star_mix (str, optional): How Mowst* mixes: :obj:`'prob'` (paper,
            :math:`C\mathbf{p} + (1-C)\mathbf{p}'`) or :obj:`'logit'` (official
            training, :math:`\mathrm{softmax}(C\mathbf{z} + (1-C)\mathbf{z}')`).
            (default: :obj:`'prob'`)
        strong_num_hops (int, optional): Receptive field of the strong expert
            for subgraph inference. By default the number of
            :class:`~torch_geometric.nn.conv.MessagePassing` modules in
            :obj:`strong` (plus one hop for a normalising
            :class:`~torch_geometric.nn.conv.GCNConv` in
            :obj:`'extra_hop'` mode). (default: :obj:`None`)
        gcn_subgraph (str, optional): How subgraph inference stays exact for
            a normalising :class:`~torch_geometric.nn.conv.GCNConv`:
            :obj:`'extra_hop'` (one more hop), :obj:`'prenormalize'`
            (:func:`~torch_geometric.nn.conv.gcn_conv.gcn_norm` on the whole
            graph, passed as :obj:`edge_weight` with normalisation switched
            off; needs a strong expert accepting :obj:`edge_weight`) or
            :obj:`'auto'` (:obj:`'prenormalize'` when possible).
            (default: :obj:`'auto'`)
        legacy_double_softmax (bool, optional): In :meth:`predict`, compute
            the dispersion on :math:`\mathrm{softmax}(\mathrm{softmax}(z))`
            as the official Mowst* test code does (pitfall 1 of the spec);
            only for exact reproduction. (default: :obj:`False`)
        trim_layers (bool or str, optional): In subgraph inference with a
            PyG :class:`~torch_geometric.nn.models.basic_gnn.BasicGNN` strong
            expert (:class:`~torch_geometric.nn.models.GCN`,
            :class:`~torch_geometric.nn.models.GraphSAGE`,
            :class:`~torch_geometric.nn.models.GIN`,
            :class:`~torch_geometric.nn.models.GAT`, ... without
            :obj:`jk`), order the k-hop subgraph by hop and let each layer
            compute only the nodes the next layer reads (PyG's
            :func:`~torch_geometric.utils.trim_to_layer`): the last layer then
            aggregates only the edges into the routed nodes. Same logits.
            :obj:`True` always trims such experts, :obj:`False` never,
            :obj:`'auto'` trims when the edges saved (weighted by each
            layer's message width) outweigh the cost of reordering the
            subgraph. (default: :obj:`'auto'`)

    The experts are used as given (e.g. pre-trained); :meth:`reset_parameters`
    re-initialises both experts and the gate.

    .. note::
        For an example of using Mowst, see `examples/mowst.py
        <https://github.com/pyg-ext/pyg_ext/blob/main/examples/mowst.py>`_;
        the alternating and joint training schedules are
        :func:`pyg_ext.nn.models.fit_mowst` and
        :func:`pyg_ext.nn.models.fit_mowst_star`.
    """
    def __init__(
        self,
        weak: torch.nn.Module,
        strong: torch.nn.Module,
        num_classes: int,
        variant: str = 'mowst',
        dispersion: Union[str, Sequence[str]] = ('variance', 'entropy'),
        gate: Union[str, torch.nn.Module] = 'mlp',
        gate_hidden: int = 64,
        gate_layers: int = 2,
        gate_dropout: float = 0.5,
        gate_alpha: float = 1.0,
        gate_in_features: Optional[int] = None,
        detach_dispersion: bool = True,
        star_mix: str = 'prob',
        strong_num_hops: Optional[int] = None,
        gcn_subgraph: str = 'auto',
        legacy_double_softmax: bool = False,
        trim_layers: Union[bool, str] = 'auto',
    ):
        super().__init__()
        for name, mod in (('weak', weak), ('strong', strong)):
            if not isinstance(mod, torch.nn.Module):
                raise TypeError(f"'{name}' must be a torch.nn.Module, got "
                                f"{type(mod).__name__}")
        if (not isinstance(num_classes, int) or isinstance(num_classes, bool)
                or num_classes < 2):
            raise ValueError(f"'num_classes' must be an int >= 2, got "
                             f"{num_classes!r}")
        for name, mod in (('weak', weak), ('strong', strong)):
            out = _out_channels(mod)
            if out is not None and out != num_classes:
                raise ValueError(
                    f"the {name} expert outputs {out} classes but "
                    f"'num_classes' is {num_classes}; both experts must "
                    f"predict the same {num_classes} classes")
        if variant not in VARIANTS:
            raise ValueError(f"'variant' must be one of {VARIANTS}, got "
                             f"{variant!r}")
        if isinstance(dispersion, str):
            dispersion = (dispersion, )
        dispersion = tuple(dispersion)
        if len(dispersion) == 0 or len(set(dispersion)) != len(dispersion):
            raise ValueError(f"'dispersion' must be a non-empty list of "
                             f"distinct names from {tuple(DISPERSIONS)}, got "
                             f"{dispersion!r}")
        for d in dispersion:
            if d not in DISPERSIONS:
                raise ValueError(f"unknown dispersion {d!r}; expected one of "
                                 f"{tuple(DISPERSIONS)}")
        if star_mix not in STAR_MIXES:
            raise ValueError(f"'star_mix' must be one of {STAR_MIXES}, got "
                             f"{star_mix!r}")
        if gcn_subgraph not in GCN_SUBGRAPH:
            raise ValueError(f"'gcn_subgraph' must be one of {GCN_SUBGRAPH},"
                             f" got {gcn_subgraph!r}")
        if not (isinstance(trim_layers, bool) or trim_layers == 'auto'):
            raise ValueError(f"'trim_layers' must be True, False or 'auto', "
                             f"got {trim_layers!r}")
        if strong_num_hops is not None and (not isinstance(
                strong_num_hops, int) or strong_num_hops < 0):
            raise ValueError(f"'strong_num_hops' must be None or an int >= 0,"
                             f" got {strong_num_hops!r}")
        if gate_in_features is not None and (not isinstance(
                gate_in_features, int) or gate_in_features < 1):
            raise ValueError(f"'gate_in_features' must be None or an int >= "
                             f"1, got {gate_in_features!r}")

        self.weak = weak
        self.strong = strong
        self.num_classes = num_classes
        self.variant = variant
        self.dispersion = dispersion
        self.gate_hidden = gate_hidden
        self.gate_layers = gate_layers
        self.gate_dropout = gate_dropout
        self.gate_alpha = gate_alpha
        self.gate_in_features = gate_in_features
        self.detach_dispersion = detach_dispersion
        self.star_mix = star_mix
        self.strong_num_hops = strong_num_hops
        self.gcn_subgraph = gcn_subgraph
        self.legacy_double_softmax = legacy_double_softmax
        self.trim_layers = trim_layers
        self._weak_needs_edge_index = _needs_edge_index(weak)

        gate_in = len(dispersion) + (gate_in_features or 0)
        if isinstance(gate, torch.nn.Module):
            self.gate_type = 'custom'
            self.gate = gate
        elif gate == 'mlp':
            if not isinstance(gate_layers, int) or gate_layers < 1:
                raise ValueError(f"'gate_layers' must be an int >= 1, got "
                                 f"{gate_layers!r}")
            if not isinstance(gate_hidden, int) or gate_hidden < 1:
                raise ValueError(f"'gate_hidden' must be an int >= 1, got "
                                 f"{gate_hidden!r}")
            if not 0.0 <= gate_dropout < 1.0:
                raise ValueError(f"'gate_dropout' must be in [0, 1), got "
                                 f"{gate_dropout!r}")
            self.gate_type = 'mlp'
            self.gate = GateMLP(gate_in, gate_hidden, gate_layers,
                                gate_dropout)
        elif gate in ('identity', 'power'):
            if len(dispersion) != 1:
                raise ValueError(f"gate={gate!r} needs exactly one "
                                 f"dispersion, got {dispersion!r}")
            if gate_in_features is not None:
                raise ValueError(f"gate={gate!r} cannot use node features; "
                                 f"set 'gate_in_features' to None")
            if gate == 'power' and not gate_alpha > 0:
                raise ValueError(f"'gate_alpha' must be > 0, got "
                                 f"{gate_alpha!r}")
            self.gate_type = gate
            self.gate = None
        else:
            raise ValueError(f"unknown gate {gate!r}; expected one of "
                             f"{GATES} or a torch.nn.Module")
        # The experts are used as given (they may be pre-trained); only the
        # gate is initialised here. reset_parameters() resets all three.
        if self.gate_type == 'mlp':
            self.gate.reset_parameters()

    # ------------------------------------------------------------------
    def reset_parameters(self):
        r"""Resets the parameters of both experts and of the gate."""
        for mod in (self.weak, self.strong, self.gate):
            if mod is None:
                continue
            if hasattr(mod, 'reset_parameters'):
                mod.reset_parameters()
            else:
                for child in mod.modules():
                    if child is not mod and hasattr(child,
                                                    'reset_parameters'):
                        child.reset_parameters()

    def weak_parameters(self) -> Iterator[Parameter]:
        r"""Parameters of the weak expert and of the gate (the MLP turn)."""
        yield from self.weak.parameters()
        if self.gate is not None:
            yield from self.gate.parameters()

    def strong_parameters(self) -> Iterator[Parameter]:
        r"""Parameters of the strong expert (the GNN turn)."""
        yield from self.strong.parameters()

    # ------------------------------------------------------------------
    def _check_graph(self, x: Tensor, edge_index: Tensor) -> None:
        if not isinstance(x, Tensor) or x.dim() != 2:
            raise ValueError(f"'x' must be a 2-D node feature tensor [N, F],"
                             f" got {getattr(x, 'shape', type(x).__name__)}")
        if (not isinstance(edge_index, Tensor) or edge_index.dim() != 2
                or edge_index.size(0) != 2):
            raise ValueError(
                f"'edge_index' must be a [2, E] tensor, got "
                f"{getattr(edge_index, 'shape', type(edge_index).__name__)}")
        if edge_index.dtype != torch.long:
            raise TypeError(f"'edge_index' must have dtype torch.long, got "
                            f"{edge_index.dtype}")
        if edge_index.numel() > 0:
            lo, hi = int(edge_index.min()), int(edge_index.max())
            if lo < 0 or hi >= x.size(0):
                raise ValueError(
                    f"'edge_index' refers to node {hi if hi >= x.size(0) else lo}"
                    f" but 'x' has {x.size(0)} nodes; 'x' and 'edge_index' "
                    f"must describe the same graph")
        if (self.gate_in_features is not None
                and x.size(1) != self.gate_in_features):
            raise ValueError(f"'x' has {x.size(1)} features but the gate "
                             f"was built with gate_in_features="
                             f"{self.gate_in_features}")

    def _check_logits(self, logits: Tensor, name: str, n: int) -> None:
        if logits.dim() != 2 or logits.size(0) != n:
            raise ValueError(f"the {name} expert must return [N, C] logits "
                             f"with N={n}, got shape {tuple(logits.shape)}")
        if logits.size(1) != self.num_classes:
            raise ValueError(
                f"the {name} expert returned {logits.size(1)} classes but "
                f"'num_classes' is {self.num_classes}; both experts must "
                f"predict the same {self.num_classes} classes")

    def weak_forward(self, x: Tensor) -> Tensor:
        r"""The weak expert's logits; it only ever sees node features."""
        if self._weak_needs_edge_index:
            empty = torch.empty(2, 0, dtype=torch.long, device=x.device)
            out = self.weak(x, empty)
        else:
            out = self.weak(x)
        self._check_logits(out, 'weak', x.size(0))
        return out

    def strong_forward(self, x: Tensor, edge_index: Tensor,
                       **kwargs) -> Tensor:
        r"""The strong expert's logits on the given graph."""
        out = self.strong(x, edge_index, **kwargs)
        self._check_logits(out, 'strong', x.size(0))
        return out

    def dispersions(self, weak_logits: Tensor,
                    double_softmax: bool = False) -> Tensor:
        r"""The dispersions :obj:`[N, k]` of :math:`\mathrm{softmax}(z)`
        (detached if :obj:`detach_dispersion`)."""
        p = weak_logits.softmax(dim=-1)
        if double_softmax:
            p = p.softmax(dim=-1)
        d = torch.stack([DISPERSIONS[name](p) for name in self.dispersion],
                        dim=-1)
        # Round-off can leave tiny negatives for near-uniform p.
        d = d.clamp(0.0, 1.0)
        return d.detach() if self.detach_dispersion else d

    def confidence(self, weak_logits: Tensor, x: Optional[Tensor] = None,
                   double_softmax: bool = False) -> Tensor:
        r"""The confidence :math:`C_v = G(D(\mathbf{p}_v))` :obj:`[N]`.

        Args:
            weak_logits (torch.Tensor): Weak expert logits :obj:`[N, C]`.
            x (torch.Tensor, optional): Node features :obj:`[N, F]`, needed
                when :obj:`gate_in_features` is set.
            double_softmax (bool, optional): Apply softmax twice (the
                official Mowst* test path). (default: :obj:`False`)
        """
        d = self.dispersions(weak_logits, double_softmax)
        if self.gate_type == 'identity':
            return d[:, 0]
        if self.gate_type == 'power':
            return d[:, 0].pow(self.gate_alpha)
        inp = d
        if self.gate_in_features is not None:
            if x is None:
                raise ValueError("'x' is required by confidence() because "
                                 "the gate uses node features "
                                 "(gate_in_features is set)")
            inp = torch.cat([d, x.to(d.dtype)], dim=-1)
        c = self.gate(inp)
        if self.gate_type == 'custom':
            if c.dim() == 2 and c.size(1) == 1:
                c = c.view(-1)
            if c.dim() != 1 or c.size(0) != d.size(0):
                raise ValueError(f"a custom gate must return [N] or [N, 1] "
                                 f"confidences, got shape {tuple(c.shape)}")
            if c.numel() > 0 and (float(c.min()) < 0 or float(c.max()) > 1):
                raise ValueError("a custom gate must return confidences in "
                                 "[0, 1] (apply a sigmoid)")
        return c

    def mixture_log_probs(self, weak_logits: Tensor, strong_logits: Tensor,
                          conf: Tensor) -> Tensor:
        r"""Log-probabilities of the mixed prediction :obj:`[N, C]`."""
        if self.variant == 'mowst_star' and self.star_mix == 'logit':
            c = conf.unsqueeze(-1)
            return (c * weak_logits + (1 - c) * strong_logits).log_softmax(-1)
        c = conf.unsqueeze(-1)
        # log(C p + (1 - C) p') evaluated stably; log(0) = -inf is harmless
        # inside logsumexp.
        a = torch.log(c) + weak_logits.log_softmax(-1)
        b = torch.log1p(-c) + strong_logits.log_softmax(-1)
        return torch.logsumexp(torch.stack([a, b], dim=0), dim=0)

    def make_output(self, weak_logits: Tensor, strong_logits: Tensor,
                    conf: Tensor) -> MowstOutput:
        r"""Bundles expert outputs into a :class:`MowstOutput`."""
        return MowstOutput(weak_logits, strong_logits, conf,
                           self.mixture_log_probs(weak_logits, strong_logits,
                                                  conf))

    def forward(self, x: Tensor, edge_index: Tensor, **kwargs) -> MowstOutput:
        r"""Runs both experts on the whole graph (training and full-batch
        evaluation).

        Args:
            x (torch.Tensor): Node features :obj:`[N, F]`.
            edge_index (torch.Tensor): Edges :obj:`[2, E]`.
            **kwargs: Passed to the strong expert (e.g. :obj:`edge_weight`).
        """
        self._check_graph(x, edge_index)
        weak_logits = self.weak_forward(x)
        strong_logits = self.strong_forward(x, edge_index, **kwargs)
        conf = self.confidence(weak_logits, x)
        return self.make_output(weak_logits, strong_logits, conf)

    # ------------------------------------------------------------------
    @staticmethod
    def _select(t: Tensor, index: Optional[Tensor]) -> Tensor:
        return t if index is None else t[index]

    def loss(self, out: MowstOutput, y: Tensor,
             index: Optional[Tensor] = None, reduction: str = 'mean',
             ) -> Tensor:
        r"""The training loss over the nodes :obj:`index` (all nodes if
        :obj:`None`; a boolean mask or indices): Eq. 1 for Mowst,
        :math:`\frac{1}{|\mathcal{V}_L|}\sum_v C_v \ell(\mathbf{p}_v, y_v) +
        (1 - C_v)\ell(\mathbf{p}'_v, y_v)`, and the negative log-likelihood of
        the mixture (Eq. 3) for Mowst*.

        Args:
            out (MowstOutput): The output of :meth:`forward`.
            y (torch.Tensor): Labels :obj:`[N]`.
            index (torch.Tensor, optional): Which nodes to average over.
            reduction (str, optional): :obj:`'mean'`, :obj:`'sum'` or
                :obj:`'none'`. (default: :obj:`'mean'`)
        """
        if reduction not in ('mean', 'sum', 'none'):
            raise ValueError(f"'reduction' must be 'mean', 'sum' or 'none', "
                             f"got {reduction!r}")
        y = self._select(y, index)
        if self.variant == 'mowst':
            conf = self._select(out.conf, index)
            lw = F.cross_entropy(self._select(out.weak_logits, index), y,
                                 reduction='none')
            ls = F.cross_entropy(self._select(out.strong_logits, index), y,
                                 reduction='none')
            per_node = conf * lw + (1 - conf) * ls
        else:
            per_node = F.nll_loss(self._select(out.log_probs, index), y,
                                  reduction='none')
        if reduction == 'none':
            return per_node
        return per_node.sum() if reduction == 'sum' else per_node.mean()

    @staticmethod
    def expected_accuracy(conf: Tensor, weak_correct: Tensor,
                          strong_correct: Tensor) -> float:
        r"""The exact expected accuracy of the random routing (Algorithm 1),
        :math:`\frac{1}{N}\sum_v C_v\,\mathbb{1}[\text{weak correct}] +
        (1 - C_v)\,\mathbb{1}[\text{strong correct}]`; the official code
        estimates it by 50 Monte-Carlo draws."""
        if conf.numel() == 0:
            return float('nan')
        conf = conf.double()
        val = conf * weak_correct.double() + (1 - conf) * strong_correct.double()
        return float(val.mean())

    # ------------------------------------------------------------------
    def _mp_modules(self):
        from torch_geometric.nn.conv import MessagePassing
        return [m for m in self.strong.modules()
                if isinstance(m, MessagePassing)]

    def _gcn_convs(self):
        from torch_geometric.nn.conv import GCNConv
        return [m for m in self.strong.modules()
                if isinstance(m, GCNConv) and m.normalize]

    def _check_no_cached(self) -> None:
        for name, m in self.strong.named_modules():
            if getattr(m, 'cached', False) is True:
                raise ValueError(
                    f"the strong expert's module '{name}' "
                    f"({m.__class__.__name__}) has cached=True: its cache "
                    f"holds the whole graph's normalisation, so it cannot run "
                    f"on the k-hop subgraph of the routed nodes. Build it "
                    f"with cached=False, or use predict(mode='mixture') "
                    f"without 'index'")

    def _subgraph_plan(self, kwargs: Dict[str, Any]) -> Tuple[int, bool]:
        r"""(num_hops, prenormalize) for subgraph inference."""
        gcns = self._gcn_convs()
        prenorm = self._prenorm_plan(kwargs)
        if self.strong_num_hops is not None:
            return self.strong_num_hops, prenorm
        hops = len(self._mp_modules())
        if hops == 0:
            raise ValueError(
                "cannot infer the strong expert's receptive field: it has "
                "no MessagePassing modules; pass 'strong_num_hops'")
        if gcns and not prenorm:
            hops += 1  # GCN normalisation needs the degree one hop further.
        return hops, prenorm

    def _prenorm_plan(self, kwargs: Dict[str, Any],
                      strict: bool = True) -> bool:
        r"""Whether GCN normalisation is computed once on the whole graph
        and passed as :obj:`edge_weight`."""
        gcns = self._gcn_convs()
        prenorm = False
        if gcns:
            if self.gcn_subgraph == 'prenormalize':
                prenorm = True
            elif self.gcn_subgraph == 'auto':
                prenorm = True
            if prenorm:
                ok = (_accepts_kwarg(self.strong, 'edge_weight')
                      and 'edge_attr' not in kwargs
                      # The normalised edges (with self-loops) reach every
                      # layer: only exact if every layer is such a GCNConv.
                      and len(gcns) == len(self._mp_modules())
                      and len({(m.improved, m.add_self_loops, m.flow)
                               for m in gcns}) == 1)
                if not ok:
                    if strict and self.gcn_subgraph == 'prenormalize':
                        raise ValueError(
                            "gcn_subgraph='prenormalize' needs a strong "
                            "expert whose forward accepts 'edge_weight', no "
                            "'edge_attr', and GCNConv layers that agree on "
                            "'improved' and 'add_self_loops'; use "
                            "gcn_subgraph='extra_hop'")
                    prenorm = False
        return prenorm

    def _can_trim(self, hops: int, prenorm: bool,
                  kwargs: Dict[str, Any]) -> bool:
        r"""Whether :meth:`_strong_on` may use PyG's layer trimming."""
        from torch_geometric.nn.models.basic_gnn import BasicGNN
        s = self.strong
        if not (self.trim_layers and isinstance(s, BasicGNN)
                and type(s).forward is BasicGNN.forward
                and getattr(s, 'jk_mode', None) is None
                and hops == s.num_layers):
            return False
        if self._gcn_convs() and not prenorm:
            return False
        if set(kwargs) - {'edge_weight', 'edge_attr'}:
            return False  # e.g. 'batch': not trimmed by PyG
        return not (isinstance(kwargs.get('edge_weight'), Tensor)
                    and isinstance(kwargs.get('edge_attr'), Tensor))

    def _trim_pays_off(self, x: Tensor, edge_index: Tensor, dist: Tensor,
                       hops: int, flow: str, computed: int) -> bool:
        r"""Cost model for :obj:`trim_layers='auto'`, in units of one
        message element: layer :math:`\ell` moves (edges it aggregates)
        :math:`\times` (its message width); reordering the subgraph costs
        about four such units per edge plus a copy of the features when the
        untrimmed run would use them in place (the whole graph)."""
        _, dst = _src_dst(edge_index, flow)
        d_dst = dist[dst]
        per_hop = torch.bincount(d_dst[d_dst >= 0], minlength=hops + 1)
        cum = per_hop.cumsum(0).tolist()  # cum[h]: edges into hop <= h
        widths = []
        for conv in self.strong.convs:
            dims = [d for d in (getattr(conv, 'in_channels', -1),
                                getattr(conv, 'out_channels', -1) *
                                getattr(conv, 'heads', 1))
                    if isinstance(d, int) and d > 0]
            widths.append(min(dims) if dims else 1)
        E = edge_index.size(1)
        full = sum(cum[hops] * w for w in widths)
        trimmed = sum(cum[hops - 1 - i] * w for i, w in enumerate(widths))
        trimmed += 4 * E
        if computed == x.size(0):
            trimmed += x.numel() // 3
        return trimmed < 0.9 * full

    @contextmanager
    def _normalize_off(self, gcns):
        try:
            for conv in gcns:
                conv.normalize = False
            yield
        finally:
            for conv in gcns:
                conv.normalize = True

    def _prenormalize(self, x: Tensor, edge_index: Tensor,
                      kwargs: Dict[str, Any]
                      ) -> Tuple[Tensor, Dict[str, Any], List]:
        from torch_geometric.nn.conv.gcn_conv import gcn_norm
        gcns = self._gcn_convs()
        m = gcns[0]
        kwargs = dict(kwargs)
        edge_index, edge_weight = gcn_norm(
            edge_index, kwargs.pop('edge_weight', None), x.size(0),
            improved=m.improved, add_self_loops=m.add_self_loops,
            flow=m.flow, dtype=x.dtype)
        kwargs['edge_weight'] = edge_weight
        return edge_index, kwargs, gcns

    def _flow(self) -> str:
        mps = self._mp_modules()
        return mps[0].flow if mps else 'source_to_target'

    def _strong_on(self, x: Tensor, edge_index: Tensor, act: Tensor,
                   kwargs: Dict[str, Any],
                   all_nodes: bool = False) -> Tuple[Tensor, int]:
        r"""Strong logits for the nodes :obj:`act`, computed on their k-hop
        subgraph; returns (logits [len(act), C], nodes computed).
        :obj:`all_nodes=True` promises :obj:`act` is :obj:`arange(N)`."""
        N = x.size(0)
        for key in _EDGE_KWARGS:
            val = kwargs.get(key)
            if isinstance(val, Tensor) and val.size(0) != edge_index.size(1):
                raise ValueError(f"'{key}' has {val.size(0)} rows but "
                                 f"'edge_index' has {edge_index.size(1)} "
                                 f"edges")
        if all_nodes:
            return self._strong_full(x, edge_index, kwargs), N
        if act.numel() == N or self._graph_level_module() is not None:
            # Every node, or a strong expert whose node outputs depend on
            # the whole graph (exact only there).
            return self._strong_full(x, edge_index, kwargs)[act], N
        hops, prenorm = self._subgraph_plan(kwargs)
        flow = self._flow()
        # Self-loops added by the normalisation do not change reachability,
        # so the node set comes from the raw edges.
        dist = _khop_dist(act, hops, edge_index, N, flow)
        visited = dist >= 0
        computed = int(visited.sum())
        trim = self._can_trim(hops, prenorm, kwargs)
        if trim and self.trim_layers == 'auto':
            trim = self._trim_pays_off(x, edge_index, dist, hops, flow,
                                       computed)
        if not trim and computed >= FULL_GRAPH_SHARE * N:
            # (Nearly) the whole graph: copying the induced subgraph would
            # cost more than computing the few remaining nodes.
            return self._strong_full(x, edge_index, kwargs)[act], N
        gcns = []
        if prenorm:
            edge_index, kwargs, gcns = self._prenormalize(x, edge_index,
                                                          kwargs)
        if trim:
            return self._strong_trimmed(x, edge_index, act, dist, hops,
                                        kwargs, gcns, flow), computed
        subset, sub_ei, relabel, edge_mask = _induced(visited, edge_index,
                                                      flow)
        mapping = relabel[act]
        E = edge_index.size(1)
        sub_kwargs = {}
        for key, val in kwargs.items():
            if isinstance(val, Tensor) and key in _EDGE_KWARGS:
                if val.size(0) != E:
                    raise ValueError(f"'{key}' has {val.size(0)} rows but "
                                     f"'edge_index' has {E} edges")
                val = val[edge_mask]
            elif isinstance(val, Tensor) and val.dim() >= 1 and val.size(
                    0) == N:
                val = val[subset]
            sub_kwargs[key] = val
        with self._normalize_off(gcns):
            out = self.strong_forward(x[subset], sub_ei, **sub_kwargs)
        return out[mapping], computed

    def _graph_level_module(self) -> Optional[str]:
        r"""Name of a module of the strong expert whose per-node output
        depends on the whole graph (graph-level normalisation, padded
        sequence aggregation), else :obj:`None`. Subgraph inference is not
        exact with these, so :meth:`predict` runs them on the whole graph."""
        from torch_geometric.nn import aggr, norm
        graph_level = (norm.GraphNorm, norm.GraphSizeNorm, norm.PairNorm,
                       norm.MeanSubtractionNorm, aggr.LSTMAggregation,
                       aggr.GRUAggregation)
        for name, m in self.strong.named_modules():
            if (isinstance(m, graph_level)
                    or (isinstance(m, norm.LayerNorm) and m.mode == 'graph')
                    or (isinstance(m, norm.InstanceNorm)
                        and not m.track_running_stats)):
                return name or m.__class__.__name__
        return None

    def _strong_full(self, x: Tensor, edge_index: Tensor,
                     kwargs: Dict[str, Any]) -> Tensor:
        r"""One full-graph forward, with the GCN normalisation computed once
        instead of once per layer when possible."""
        if (self._prenorm_plan(kwargs, strict=False) and not any(
                getattr(m, 'cached', False) for m in self._gcn_convs())):
            edge_index, kwargs, gcns = self._prenormalize(
                x, edge_index, kwargs)
            with self._normalize_off(gcns):
                return self.strong_forward(x, edge_index, **kwargs)
        return self.strong_forward(x, edge_index, **kwargs)

    def _strong_trimmed(self, x: Tensor, edge_index: Tensor, act: Tensor,
                        dist: Tensor, hops: int, kwargs: Dict[str, Any],
                        gcns: List, flow: str) -> Tensor:
        r"""The k-hop subgraph ordered by hop distance (nodes) and by the hop
        of the receiving node (edges), run through a
        :class:`~torch_geometric.nn.models.basic_gnn.BasicGNN` with
        :obj:`num_sampled_nodes_per_hop` / :obj:`num_sampled_edges_per_hop`:
        layer :math:`\ell` only computes the nodes within
        :math:`L - \ell` hops of :obj:`act` (PyG's trim_to_layer layout)."""
        N = x.size(0)
        order = torch.cat([(dist == h).nonzero().view(-1)
                           for h in range(hops + 1)])
        nodes_per_hop = [int((dist == h).sum()) for h in range(hops + 1)]
        relabel = torch.full((N, ), -1, dtype=torch.long, device=x.device)
        relabel[order] = torch.arange(order.numel(), device=x.device)
        _, dst = _src_dst(edge_index, flow)
        d_dst = dist[dst]
        # Edges into nodes a later layer still reads: hop < L. Their
        # sources are then within L hops, i.e. in the subgraph.
        eids = [(d_dst == h).nonzero().view(-1) for h in range(hops)]
        eid = torch.cat(eids)
        edges_per_hop = [e.numel() for e in eids]
        sub_kwargs = {k: v[eid] if isinstance(v, Tensor) else v
                      for k, v in kwargs.items()}
        sub_ei = relabel[edge_index[:, eid]]
        del eids, eid, d_dst, dst  # free edge-sized temporaries first
        with self._normalize_off(gcns):
            out = self.strong(x[order], sub_ei,
                              num_sampled_nodes_per_hop=nodes_per_hop,
                              num_sampled_edges_per_hop=edges_per_hop,
                              **sub_kwargs)
        if out.dim() != 2 or out.size(0) < nodes_per_hop[0] or out.size(
                1) != self.num_classes:
            raise ValueError(f"the strong expert returned logits of shape "
                             f"{tuple(out.shape)} from a trimmed forward; "
                             f"pass trim_layers=False")
        return out[relabel[act]]

    @torch.no_grad()
    def predict(self, x: Tensor, edge_index: Tensor, mode: str = 'sample',
                threshold: float = 0.5,
                generator: Optional[torch.Generator] = None,
                index: Optional[Tensor] = None, **kwargs) -> MowstPrediction:
        r"""Inference (the model is put in eval mode for the call).

        The weak expert runs on the target nodes; the strong expert runs only
        on the k-hop subgraph of the targets routed to it, giving the same
        logits as a full-graph run for those nodes.

        Args:
            x (torch.Tensor): Node features :obj:`[N, F]`.
            edge_index (torch.Tensor): Edges :obj:`[2, E]`.
            mode (str, optional): :obj:`'sample'` (Algorithm 1: draw
                :math:`q_v \sim U[0, 1]`, weak expert iff :math:`q_v < C_v`),
                :obj:`'threshold'` (deterministic deployment rule, not in the
                paper or the official code: strong expert iff
                :math:`C_v < \tau`) or :obj:`'mixture'` (argmax of the mixture;
                Mowst*'s rule, both experts run). (default: :obj:`'sample'`)
            threshold (float, optional): :math:`\tau \in [0, 1]`.
                (default: :obj:`0.5`)
            generator (torch.Generator, optional): For the draws.
            index (torch.Tensor, optional): Target nodes (indices or a boolean
                mask); all nodes if :obj:`None`.
            **kwargs: Passed to the strong expert (:obj:`edge_weight`,
                :obj:`edge_attr` are subset with the edges).
        """
        if mode not in MODES:
            raise ValueError(f"'mode' must be one of {MODES}, got {mode!r}")
        if (isinstance(threshold, bool)
                or not isinstance(threshold, (int, float))
                or not 0.0 <= float(threshold) <= 1.0):
            raise ValueError(f"'threshold' must be a number in [0, 1], got "
                             f"{threshold!r}")
        self._check_graph(x, edge_index)
        N = x.size(0)
        if index is None:
            targets = torch.arange(N, device=x.device)
            x_t = x
        else:
            if index.dtype == torch.bool:
                if index.numel() != N:
                    raise ValueError(f"boolean 'index' must have {N} entries,"
                                     f" got {index.numel()}")
                targets = index.nonzero().view(-1)
            else:
                targets = index.view(-1).long()
                if targets.numel() and (int(targets.min()) < 0
                                        or int(targets.max()) >= N):
                    raise ValueError(f"'index' must hold node indices in "
                                     f"[0, {N})")
            x_t = x[targets]
        if mode != 'mixture' or index is not None:
            self._check_no_cached()

        was_training = self.training
        self.eval()
        try:
            weak_logits = self.weak_forward(x_t)
            conf = self.confidence(weak_logits, x_t,
                                   double_softmax=self.legacy_double_softmax)
            T = targets.numel()
            if mode == 'sample':
                q = torch.rand(T, generator=generator, device=x.device)
                used = q >= conf
            elif mode == 'threshold':
                used = conf < float(threshold)
            else:
                used = torch.ones(T, dtype=torch.bool, device=x.device)
            computed = 0
            act = targets[used]
            if act.numel() == T and T > 0:
                # Every target routed: no scatter into a NaN-filled buffer.
                logits, computed = self._strong_on(
                    x, edge_index, act, kwargs,
                    all_nodes=index is None)
                strong_logits = logits.to(weak_logits.dtype)
            else:
                strong_logits = weak_logits.new_full(weak_logits.shape,
                                                     float('nan'))
                if act.numel() > 0:
                    logits, computed = self._strong_on(x, edge_index, act,
                                                       kwargs)
                    strong_logits[used] = logits.to(strong_logits.dtype)
            if mode == 'mixture':
                pred = self.mixture_log_probs(weak_logits, strong_logits,
                                              conf).argmax(-1)
            elif act.numel() == T and T > 0:
                pred = strong_logits.argmax(-1)
            elif act.numel() > 0:
                # One argmax over the logits each node actually used.
                pred = torch.where(used.unsqueeze(-1), strong_logits,
                                   weak_logits).argmax(-1)
            else:
                pred = weak_logits.argmax(-1)
        finally:
            self.train(was_training)
        return MowstPrediction(pred, used, conf, weak_logits, strong_logits,
                               targets, computed)

    def __repr__(self) -> str:
        gate = self.gate_type if self.gate_type != 'custom' else \
            self.gate.__class__.__name__
        return (f'{self.__class__.__name__}(variant={self.variant!r}, '
                f'weak={self.weak.__class__.__name__}, '
                f'strong={self.strong.__class__.__name__}, '
                f'num_classes={self.num_classes}, gate={gate!r}, '
                f'dispersion={self.dispersion!r})')
