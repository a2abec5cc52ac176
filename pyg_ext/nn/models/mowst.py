r"""Mowst and Mowst*: a mixture of a weak expert (an MLP on a node's own
features) and a strong expert (any GNN), mixed or routed by the weak expert's
confidence, from the `"Mixture of Weak & Strong Experts on Graphs"
<https://arxiv.org/abs/2311.05185>`_ paper (ICLR 2024; official code:
`facebookresearch/mowst-gnn <https://github.com/facebookresearch/mowst-gnn>`_).

The maths (dispersion, mixture, losses, expected accuracy) are the pure
functions of :mod:`pyg_ext.utils.mixture`; the exact subgraph inference
behind :meth:`Mowst.predict` lives in
:mod:`pyg_ext.nn.models.mowst_inference`.
"""
import inspect
from dataclasses import dataclass
from typing import Dict, Iterator, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import Parameter

from pyg_ext.nn._checks import value_check_done, value_check_due
from pyg_ext.nn.models import mowst_checks as checks
# The option names, importable from here as before the split.
from pyg_ext.nn.models.mowst_checks import (  # noqa: F401
    GATES, STAR_MIXES, VARIANTS)
from pyg_ext.nn.models.mowst_inference import (MowstPrediction,
                                               graph_level_module,
                                               mowst_predict)
from pyg_ext.utils.mixture import (dispersion_features, expected_accuracy,
                                   mixture_log_probs, mowst_loss)

__all__ = [
    'Mowst',
    'MowstOutput',
    'GateMLP',
]


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


class GateMLP(torch.nn.Module):
    r"""The learned confidence function :math:`G` of Mowst: an MLP (linear,
    BatchNorm, ReLU, dropout) with one output and a sigmoid, as the
    ``GateMLP`` of the `official code
    <https://github.com/facebookresearch/mowst-gnn>`_.

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


class Mowst(torch.nn.Module):
    r"""The Mowst and Mowst* models from the `"Mixture of Weak & Strong
    Experts on Graphs" <https://arxiv.org/abs/2311.05185>`_ paper (ICLR 2024;
    official code: `facebookresearch/mowst-gnn
    <https://github.com/facebookresearch/mowst-gnn>`_).

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
            as the official Mowst* test code does; only for exact
            reproduction. (default: :obj:`False`)
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

    :meth:`forward`, :meth:`loss` and the other training-path methods check
    metadata only (dtype, dim, sizes, devices) and read no tensor value back
    to the host, except that :meth:`forward` checks the node indices of each
    new :obj:`edge_index` once (see its :obj:`validate` argument).
    :meth:`validate_inputs` checks every value once, at data-setup time;
    :meth:`predict` calls it unless :obj:`validate=False`.

    .. note::
        For an example of using Mowst, see `examples/mowst.py
        <https://github.com/pyg-ext/pyg_ext/blob/main/examples/mowst.py>`_;
        the alternating and joint training schedules are
        :func:`pyg_ext.fit.fit_mowst` and
        :func:`pyg_ext.fit.fit_mowst_star`.
    """
    #: Label value check of :meth:`loss`: ``'once'`` (first call),
    #: ``'always'`` or ``'never'``.
    validate = 'once'

    supports_adj_t = True

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
        dispersion = checks.check_init_args(
            weak, strong, num_classes, variant, dispersion, star_mix,
            gcn_subgraph, trim_layers, strong_num_hops, gate_in_features)
        self.gate_type = checks.check_gate_args(
            gate, dispersion, gate_hidden, gate_layers, gate_dropout,
            gate_alpha, gate_in_features)

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
        # edge_index tensors already value-checked by forward (weakly held).
        self._checked_graphs = checks.CheckedGraphs()
        if self.gate_type == 'custom':
            self.gate = gate
        elif self.gate_type == 'mlp':
            self.gate = GateMLP(len(dispersion) + (gate_in_features or 0),
                                gate_hidden, gate_layers, gate_dropout)
            # A second draw, as before the split: seeded runs stay the same.
            # The experts are used as given (they may be pre-trained).
            self.gate.reset_parameters()
        else:
            self.gate = None

    def __setstate__(self, state):
        super().__setstate__(state)
        if '_checked_graphs' not in self.__dict__:  # pickled before it
            self._checked_graphs = checks.CheckedGraphs()

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

    # Checks -------------------------------------------------------------
    def _check_graph(self, x: Tensor, edge_index: Tensor) -> None:
        checks.check_graph(x, edge_index, self.gate_in_features)

    def _check_logits(self, logits: Tensor, name: str, n: int) -> None:
        if logits.dim() != 2 or logits.size(0) != n:
            raise ValueError(f"the {name} expert must return [N, C] logits "
                             f"with N={n}, got shape {tuple(logits.shape)}")
        if logits.size(1) != self.num_classes:
            raise ValueError(
                f"the {name} expert returned {logits.size(1)} classes but "
                f"'num_classes' is {self.num_classes}; both experts must "
                f"predict the same {self.num_classes} classes")

    def _check_confidence(self, conf: Tensor) -> None:
        checks.check_confidence(self.gate_type, conf)

    def validate_inputs(self, x: Tensor, edge_index: Tensor,
                        y: Optional[Tensor] = None,
                        masks: Optional[Dict[str, Optional[Tensor]]] = None,
                        **kwargs) -> None:
        r"""Checks the values of a graph once, at data-setup time, so that the
        training steps need not: node indices of :obj:`edge_index` in
        :math:`[0, N)`, labels in :math:`[0, C)` on the labelled nodes, node
        masks / indices of the right size and range, edge-level keyword
        arguments with one row per edge, and every tensor (and the model) on
        :obj:`x`'s device. Reads the values back to the host in one go.

        Args:
            x (torch.Tensor): Node features :obj:`[N, F]`.
            edge_index (torch.Tensor): Edges :obj:`[2, E]` or an adj_t.
            y (torch.Tensor, optional): Class labels :obj:`[N]`, checked on
                the nodes of :obj:`masks` (all nodes without masks).
            masks (dict, optional): Named boolean node masks :obj:`[N]` or
                node index tensors (e.g. :obj:`{'train_mask': ...}`); the name
                is used in error messages, :obj:`None` values are skipped.
            **kwargs: The strong expert's keyword arguments (e.g.
                :obj:`edge_weight`).

        Raises:
            ValueError: naming the argument at fault.
            TypeError: for a wrong dtype.
        """
        checks.validate_inputs(self, x, edge_index, y, masks, kwargs)
        if y is not None:  # the labels are checked: loss need not again
            value_check_done(self)

    # Forward ------------------------------------------------------------
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
        (:func:`pyg_ext.utils.dispersion_features`; detached if
        :obj:`detach_dispersion`)."""
        d = dispersion_features(weak_logits, self.dispersion, double_softmax)
        return d.detach() if self.detach_dispersion else d

    def confidence(self, weak_logits: Tensor, x: Optional[Tensor] = None,
                   double_softmax: bool = False) -> Tensor:
        r"""The confidence :math:`C_v = G(D(\mathbf{p}_v))` :obj:`[N]`.

        A custom gate's output must lie in :math:`[0, 1]`; it is checked by
        :meth:`predict` (not in training steps, which read no values).

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
        return c

    def mixture_log_probs(self, weak_logits: Tensor, strong_logits: Tensor,
                          conf: Tensor) -> Tensor:
        r"""Log-probabilities of the mixed prediction :obj:`[N, C]`
        (:func:`pyg_ext.utils.mixture_log_probs`; logits are mixed only for
        Mowst* with :obj:`star_mix='logit'`)."""
        mix = 'logit' if (self.variant == 'mowst_star'
                          and self.star_mix == 'logit') else 'prob'
        return mixture_log_probs(weak_logits, strong_logits, conf, mix)

    def make_output(self, weak_logits: Tensor, strong_logits: Tensor,
                    conf: Tensor) -> MowstOutput:
        r"""Bundles expert outputs into a :class:`MowstOutput`."""
        return MowstOutput(weak_logits, strong_logits, conf,
                           self.mixture_log_probs(weak_logits, strong_logits,
                                                  conf))

    def forward(self, x: Tensor, edge_index: Tensor, *,
                validate: Optional[bool] = None, **kwargs) -> MowstOutput:
        r"""Runs both experts on the whole graph (training and full-batch
        evaluation).

        Args:
            x (torch.Tensor): Node features :obj:`[N, F]`.
            edge_index (torch.Tensor or SparseTensor): Edges :obj:`[2, E]`
                or a sparse :obj:`adj_t` (row = target), passed on to the
                strong expert (which must support it).
            validate (bool, optional): Whether to check that the node indices
                of :obj:`edge_index` lie in :math:`[0, N)` (a host read).
                :obj:`None` checks each :obj:`edge_index` tensor once (again
                after an in-place change), so training steps on one graph
                read no values; :obj:`True` checks every call, :obj:`False`
                never. (default: :obj:`None`)
            **kwargs: Passed to the strong expert (e.g. :obj:`edge_weight`).
        """
        self._check_graph(x, edge_index)
        if validate is None or validate:
            checks.check_edge_values(x, edge_index, self._checked_graphs,
                                     use_cache=not validate)
        weak_logits = self.weak_forward(x)
        strong_logits = self.strong_forward(x, edge_index, **kwargs)
        conf = self.confidence(weak_logits, x)
        return self.make_output(weak_logits, strong_logits, conf)

    # Loss and metrics ---------------------------------------------------
    def loss(self, out: MowstOutput, y: Tensor,
             index: Optional[Tensor] = None, reduction: str = 'mean',
             ) -> Tensor:
        r"""The training loss over the nodes :obj:`index` (all nodes if
        :obj:`None`; a boolean mask or indices): Eq. 1 for Mowst,
        :math:`\frac{1}{|\mathcal{V}_L|}\sum_v C_v \ell(\mathbf{p}_v, y_v) +
        (1 - C_v)\ell(\mathbf{p}'_v, y_v)`
        (:func:`pyg_ext.utils.mowst_loss`), and the negative log-likelihood
        of the mixture (Eq. 3) for Mowst*.

        With a boolean mask and :obj:`reduction='mean'` or :obj:`'sum'` the
        loss is a masked sum over all nodes, so the mask's size is never read
        back to the host (the labels of unmasked nodes are not used).

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
        checks.check_loss_args(out, y, index)
        if not y.is_meta and value_check_due(self):  # first call only
            checks.check_loss_values(y, index, self.num_classes)
            value_check_done(self)
        masked = (index is not None and index.dtype == torch.bool
                  and reduction != 'none')
        if masked:
            if index.shape != y.shape:
                raise ValueError(f"boolean 'index' must have the shape of "
                                 f"'y' {tuple(y.shape)}, got "
                                 f"{tuple(index.shape)}")
            y = torch.where(index, y, 0)  # any valid label off the mask
        elif index is not None:
            y = y[index]
            out = MowstOutput(*(t[index] for t in (
                out.weak_logits, out.strong_logits, out.conf,
                out.log_probs)))
        if self.variant == 'mowst':
            per_node = mowst_loss(out.weak_logits, out.strong_logits,
                                  out.conf, y, reduction='none')
        else:
            per_node = F.nll_loss(out.log_probs, y, reduction='none')
        if masked:
            total = torch.where(index, per_node, 0.0).sum()
            return total if reduction == 'sum' else total / index.sum()
        if reduction == 'none':
            return per_node
        return per_node.sum() if reduction == 'sum' else per_node.mean()

    @staticmethod
    def expected_accuracy(conf: Tensor, weak_correct: Tensor,
                          strong_correct: Tensor) -> float:
        r"""The exact expected accuracy of the random routing (Algorithm 1),
        :math:`\frac{1}{N}\sum_v C_v\,\mathbb{1}[\text{weak correct}] +
        (1 - C_v)\,\mathbb{1}[\text{strong correct}]`, as a float (one host
        read; :func:`pyg_ext.utils.expected_accuracy` returns the tensor).
        The official code estimates it by 50 Monte-Carlo draws."""
        if conf.numel() == 0:
            return float('nan')
        return float(expected_accuracy(conf, weak_correct, strong_correct))

    # Inference ------------------------------------------------------------
    def _graph_level_module(self) -> Optional[str]:
        return graph_level_module(self.strong)

    def predict(self, x: Tensor, edge_index: Tensor, mode: str = 'sample',
                threshold: float = 0.5,
                generator: Optional[torch.Generator] = None,
                index: Optional[Tensor] = None, validate: bool = True,
                **kwargs) -> MowstPrediction:
        r"""Inference (the model is put in eval mode for the call).

        The weak expert runs on the target nodes; the strong expert runs only
        on the k-hop subgraph of the targets routed to it, giving the same
        logits as a full-graph run for those nodes (see
        :mod:`pyg_ext.nn.models.mowst_inference`).

        Args:
            x (torch.Tensor): Node features :obj:`[N, F]`.
            edge_index (torch.Tensor): Edges :obj:`[2, E]` or an adj_t.
            mode (str, optional): :obj:`'sample'` (Algorithm 1: draw
                :math:`q_v \sim U[0, 1]`, weak expert iff :math:`q_v < C_v`),
                :obj:`'threshold'` (deterministic deployment rule, not in the
                paper or the official code: strong expert iff
                :math:`C_v < \tau`) or :obj:`'mixture'` (argmax of the mixture;
                Mowst*'s rule, both experts run). (default: :obj:`'sample'`)
            threshold (float, optional): :math:`\tau \in [0, 1]`.
                (default: :obj:`0.5`)
            generator (torch.Generator, optional): For the draws; on
                :obj:`x`'s device.
            index (torch.Tensor, optional): Target nodes (indices or a boolean
                mask) on :obj:`x`'s device; all nodes if :obj:`None`.
            validate (bool, optional): Check the values of the inputs first
                (:meth:`validate_inputs`) and a custom gate's confidences.
                (default: :obj:`True`)
            **kwargs: Passed to the strong expert (:obj:`edge_weight`,
                :obj:`edge_attr` are subset with the edges).
        """
        return mowst_predict(self, x, edge_index, mode, threshold, generator,
                             index, validate, kwargs)

    def __repr__(self) -> str:
        gate = self.gate_type if self.gate_type != 'custom' else \
            self.gate.__class__.__name__
        return (f'{self.__class__.__name__}(variant={self.variant!r}, '
                f'weak={self.weak.__class__.__name__}, '
                f'strong={self.strong.__class__.__name__}, '
                f'num_classes={self.num_classes}, gate={gate!r}, '
                f'dispersion={self.dispersion!r})')
