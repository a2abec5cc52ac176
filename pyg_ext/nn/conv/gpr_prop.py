import math
import warnings
import weakref
from typing import Optional, Sequence, Tuple, Union

import torch
from torch import Tensor
from torch.nn import Parameter
from torch_geometric.nn.conv import MessagePassing
from torch_geometric.nn.conv.gcn_conv import gcn_norm
from torch_geometric.typing import Adj, OptTensor
from torch_geometric.utils import is_sparse, scatter, to_torch_csr_tensor

from pyg_ext.nn._checks import check_ids_once
from pyg_ext.utils.sparse_adj import (csr_of, gcn_norm_values, is_sparse_adj,
                                      spmm)
from pyg_ext.utils.validation import check_float

__all__ = ['GPRProp', 'HopAggregation', 'gpr_init', 'gcn_norm_fixed_size']

GPR_INITS = ('PPR', 'SGC', 'NPPR', 'Random', 'WS')


class _SpMM(torch.autograd.Function):
    r"""``A @ x`` with a precomputed transpose for the backward pass (several
    times faster than autograd through a sparse CSR product)."""
    @staticmethod
    def forward(ctx, A: Tensor, A_T: Tensor, x: Tensor) -> Tensor:
        ctx.A_T = A_T
        return A @ x

    @staticmethod
    def backward(ctx, grad: Tensor):
        return None, None, ctx.A_T @ grad


def gcn_norm_fixed_size(
        edge_index: Adj, edge_weight: OptTensor = None,
        num_nodes: Optional[int] = None, add_self_loops: bool = True,
        flow: str = 'source_to_target',
        dtype: Optional[torch.dtype] = None) -> Tuple[Adj, OptTensor]:
    r"""The symmetric GCN normalisation :math:`\mathbf{\hat{D}}^{-1/2}
    (\mathbf{A} + \mathbf{I}) \mathbf{\hat{D}}^{-1/2}` of PyG's
    :func:`~torch_geometric.nn.conv.gcn_conv.gcn_norm` (with
    :obj:`improved=False`), computed without reading any tensor value on the
    host, so that it neither synchronises with a GPU nor fails on the
    :obj:`meta` device.

    PyG's version drops the existing self-loops of an :obj:`edge_index`
    tensor (a boolean selection, whose size depends on the values) before
    appending one loop per node. Here the output has a size known from the
    input's shape: the :math:`E` input entries, where existing self-loops
    keep their slot with weight :math:`0`, followed by :math:`N` self-loops
    that carry the weight of the node's existing loop (or :math:`1`), as
    PyG's :func:`~torch_geometric.utils.add_remaining_self_loops` does.
    Propagating with either result gives the same output. Sparse adjacency
    matrices are passed on to PyG's :func:`gcn_norm`.

    Args:
        edge_index (torch.Tensor or SparseTensor): The graph connectivity.
        edge_weight (torch.Tensor, optional): Edge weights.
            (default: :obj:`None`)
        num_nodes (int, optional): The number of nodes; if :obj:`None`, it is
            read from :obj:`edge_index` (a host read).
            (default: :obj:`None`)
        add_self_loops (bool, optional): Add the self-loops.
            (default: :obj:`True`)
        flow (str, optional): :obj:`"source_to_target"` or
            :obj:`"target_to_source"`. (default: :obj:`"source_to_target"`)
        dtype (torch.dtype, optional): The dtype of the weights when
            :obj:`edge_weight` is :obj:`None`. (default: :obj:`None`)

    :rtype: (:class:`torch.Tensor`, :class:`torch.Tensor`)

    Example:
        >>> edge_index = torch.tensor([[0, 1, 1], [1, 0, 1]])  # a loop at 1
        >>> ei, w = gcn_norm_fixed_size(edge_index, num_nodes=2)
        >>> ei
        tensor([[0, 1, 1, 0, 1],
                [1, 0, 1, 0, 1]])
        >>> w
        tensor([0.5000, 0.5000, 0.0000, 0.5000, 0.5000])
    """
    if not isinstance(edge_index, Tensor) or is_sparse(edge_index):
        out = gcn_norm(edge_index, edge_weight, num_nodes, False,
                       add_self_loops, flow, dtype)
        return out if isinstance(out, tuple) else (out, None)
    if flow not in ('source_to_target', 'target_to_source'):
        raise ValueError(f"'flow' must be 'source_to_target' or "
                         f"'target_to_source', got {flow!r}")
    if num_nodes is None:
        num_nodes = int(edge_index.max()) + 1 if edge_index.numel() else 0
    N, device = num_nodes, edge_index.device
    if edge_weight is None:
        edge_weight = torch.ones(edge_index.size(1), dtype=dtype,
                                 device=device)
    if add_self_loops:
        row, col = edge_index[0], edge_index[1]
        is_loop = row == col
        # Existing loop weights go to their node's slot, the rest to a spare
        # slot N that is cut off (PyG: loop_attr[row[loops]] = w[loops]).
        slot = torch.where(is_loop, row, N)
        loop_weight = edge_weight.new_ones(N + 1).scatter(
            0, slot, edge_weight)[:N]
        loop_index = torch.arange(N, device=device).view(1, -1).repeat(2, 1)
        edge_index = torch.cat([edge_index, loop_index], dim=1)
        edge_weight = torch.cat(
            [edge_weight.masked_fill(is_loop, 0.0), loop_weight])
    row, col = edge_index[0], edge_index[1]
    idx = col if flow == 'source_to_target' else row
    deg = scatter(edge_weight, idx, dim=0, dim_size=N, reduce='sum')
    deg_inv_sqrt = deg.pow(-0.5)
    deg_inv_sqrt = deg_inv_sqrt.masked_fill(deg_inv_sqrt == float('inf'), 0)
    return edge_index, deg_inv_sqrt[row] * edge_weight * deg_inv_sqrt[col]


def gpr_init(K: int, init: str = 'PPR', alpha: float = 0.1,
             gamma: Optional[Union[Sequence[float], Tensor]] = None,
             generator: Optional[torch.Generator] = None,
             device: Optional[torch.device] = None) -> Tensor:
    r"""The initial hop weights :math:`\gamma \in \mathbb{R}^{K+1}` of
    :class:`GPRProp`, following the GPR-GNN paper's initialisations.

    * ``"PPR"``: :math:`\gamma_k = \alpha(1-\alpha)^k` for :math:`k < K` and
      :math:`\gamma_K = (1-\alpha)^K` (:math:`\alpha = 1` gives
      :math:`(1, 0, \ldots, 0)`, i.e. an MLP).
    * ``"SGC"``: a one-hot vector at hop :math:`\alpha` (an integer).
    * ``"NPPR"``: :math:`\gamma_k \propto \alpha^k`, normalised to
      :math:`\|\gamma\|_1 = 1`.
    * ``"Random"``: uniform in :math:`\pm\sqrt{3/(K+1)}`, normalised to
      :math:`\|\gamma\|_1 = 1`.
    * ``"WS"``: the given :obj:`gamma`.

    The result lies on :obj:`device` (default: the :obj:`generator`'s device
    if one is given, else the default device).

    Example:
        >>> gpr_init(3, 'PPR', alpha=0.5)
        tensor([0.5000, 0.2500, 0.1250, 0.1250])
    """
    if isinstance(K, bool) or not isinstance(K, int) or K < 0:
        raise ValueError(f"'K' must be an int >= 0, got {K!r}")
    if init not in GPR_INITS:
        raise ValueError(f"'init' must be one of {GPR_INITS}, got {init!r}")
    if gamma is not None and init != 'WS':
        raise ValueError(f"'gamma' is only used with init='WS', got "
                         f"init={init!r}")
    if device is None and generator is not None:
        device = generator.device
    k = torch.arange(K + 1, dtype=torch.float, device=device)
    if init == 'PPR':
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"'alpha' must be in [0, 1] for init='PPR', "
                             f"got {alpha}")
        out = alpha * (1 - alpha)**k
        out[-1] = (1 - alpha)**K
    elif init == 'SGC':
        if int(alpha) != alpha or not 0 <= int(alpha) <= K:
            raise ValueError(f"'alpha' must be an integer hop in [0, {K}] for "
                             f"init='SGC', got {alpha}")
        out = torch.zeros(K + 1, device=device)
        out[int(alpha)] = 1.0
    elif init == 'NPPR':
        out = float(alpha)**k
        out = out / out.abs().sum()
    elif init == 'Random':
        bound = math.sqrt(3 / (K + 1))
        out = torch.rand(K + 1, generator=generator, device=device) \
            * 2 * bound - bound
        out = out / out.abs().sum()
    else:  # 'WS'
        if gamma is None:
            raise ValueError("init='WS' needs the hop weights 'gamma'")
        out = torch.as_tensor(gamma, dtype=torch.float).detach().to(
            device, copy=True)
        if out.shape != (K + 1, ):
            raise ValueError(f"'gamma' must have shape [K + 1] = [{K + 1}], "
                             f"got {tuple(out.shape)}")
    return out


class _LastGraph:
    r"""The normalised form of the last graph a layer saw, keyed by the
    identity and in-place version counter of its tensors, so a new or
    modified graph is never served stale. Deep copies share it (an entry is
    never modified, only replaced); pickling drops it."""
    def __init__(self):
        self.refs = None  # weak references to (edge_index, edge_weight)
        self.meta = None  # (versions, num_nodes, dtype, device)
        self.value = None

    @staticmethod
    def _meta(edge_index: Tensor, edge_weight: OptTensor, num_nodes: int,
              dtype: torch.dtype) -> tuple:
        w_version = None if edge_weight is None else edge_weight._version
        return (edge_index._version, w_version, num_nodes, dtype,
                edge_index.device)

    def get(self, edge_index: Tensor, edge_weight: OptTensor,
            num_nodes: int, dtype: torch.dtype):
        if self.refs is None:
            return None
        ei_ref, w_ref = self.refs
        w = None if w_ref is None else w_ref()
        if ei_ref() is not edge_index or w is not edge_weight or \
                (w_ref is not None and w is None):
            return None
        if self.meta != self._meta(edge_index, edge_weight, num_nodes, dtype):
            return None
        return self.value

    def put(self, edge_index: Tensor, edge_weight: OptTensor, num_nodes: int,
            dtype: torch.dtype, value) -> None:
        # The entry is freed as soon as the graph is (weak-reference
        # callback), so a dropped graph's CSR pair does not stay in memory.
        self.refs = (weakref.ref(edge_index, self._drop),
                     None if edge_weight is None else weakref.ref(
                         edge_weight, self._drop))
        self.meta = self._meta(edge_index, edge_weight, num_nodes, dtype)
        self.value = value

    def _drop(self, ref: weakref.ref) -> None:
        if self.refs is not None and any(ref is r for r in self.refs):
            self.refs = self.meta = self.value = None

    def __deepcopy__(self, memo):
        return self

    def __reduce__(self):
        return (_LastGraph, ())


class HopAggregation(MessagePassing):
    r"""A weighted sum of propagation hops with externally given weights,
    the parameter-free core of :class:`GPRProp`:

    .. math::
        \mathbf{Z} = \sum_{k=0}^{K} \gamma_k \mathbf{\hat{A}}^k \mathbf{X},
        \qquad \mathbf{\hat{A}} = \mathbf{\hat{D}}^{-1/2}(\mathbf{A} +
        \mathbf{I})\mathbf{\hat{D}}^{-1/2}.

    Models whose hop weights are a function of other parameters (e.g. APPNP's
    :math:`\gamma_k = \alpha(1-\alpha)^k`) use it directly.

    For an :obj:`edge_index` tensor whose edge weights need no gradient, the
    normalised graph is built once as a pair of sparse CSR matrices (the
    graph and its transpose, for the backward pass) and reused while the
    same :obj:`edge_index` (and :obj:`edge_weight`) tensor comes back
    unchanged, so repeated forward passes on one graph (training epochs,
    test-time adaptation rounds) neither rebuild it nor synchronise with the
    device. A sparse :obj:`adj_t` (``torch.sparse_csr``/``sparse_coo``,
    ``SparseTensor``; row = target) propagates with the custom SpMM of
    :func:`pyg_ext.utils.sparse_adj.spmm` (learnable values get their gradient
    edge by edge) and the same normalisation, self-loops included
    (:func:`pyg_ext.utils.sparse_adj.gcn_norm_values`), so both inputs give
    equal outputs. Otherwise (learnable edge weights with an :obj:`edge_index`,
    :obj:`flow="target_to_source"`) it propagates by message passing with
    :func:`gcn_norm_fixed_size`.

    Args:
        normalize (bool, optional): Apply the symmetric GCN normalisation.
            (default: :obj:`True`)
        add_self_loops (bool, optional): Add self loops before normalising.
            (default: :obj:`True`)
        cached (bool, optional): Cache the normalised graph of the first call
            and reuse it for every later graph (transductive use only, as in
            PyG's :class:`~torch_geometric.nn.conv.GCNConv`).
            (default: :obj:`False`)

    Shapes:
        - **input:** node features :math:`(|\mathcal{V}|, F)`,
          edge indices :math:`(2, |\mathcal{E}|)`, hop weights
          :math:`(K + 1)`, edge weights :math:`(|\mathcal{E}|)` *(optional)*
        - **output:** node features :math:`(|\mathcal{V}|, F)`
    """
    supports_adj_t = True

    def __init__(self, normalize: bool = True, add_self_loops: bool = True,
                 cached: bool = False, **kwargs):
        kwargs.setdefault('aggr', 'add')
        super().__init__(**kwargs)
        self.normalize = normalize
        self.add_self_loops = add_self_loops
        self.cached = cached
        self._cached = None
        self._last_graph = _LastGraph()

    def reset_parameters(self):
        super().reset_parameters()
        self._cached = None
        self._last_graph = _LastGraph()

    def norm(self, edge_index: Adj, edge_weight: OptTensor, num_nodes: int,
             dtype: torch.dtype):
        r"""The normalised graph: a tuple ``('csr', A, A_T)`` of sparse CSR
        matrices (fast path, used when :obj:`edge_index` is a :obj:`[2, E]`
        tensor and the edge weights need no gradient; built on the first
        call with a graph and then reused), ``('spmm', structure, values)``
        for a sparse :obj:`adj_t` (:func:`pyg_ext.utils.sparse_adj.spmm`) or
        ``('mp', edge_index, edge_weight)`` for message passing."""
        if self.cached and self._cached is not None:
            return self._cached
        if is_sparse_adj(edge_index):
            out = self._sparse_norm(edge_index, edge_weight, dtype)
            if self.cached:
                self._cached = out
            return out
        fast = (isinstance(edge_index, Tensor) and not is_sparse(edge_index)
                and edge_index.dim() == 2
                and not (edge_weight is not None and edge_weight.requires_grad)
                and self.flow == 'source_to_target')
        if fast:
            args = (edge_index, edge_weight, num_nodes, dtype)
            out = self._last_graph.get(*args)
            if out is None:
                out = self._build_csr(*args)
                self._last_graph.put(*args, out)
        else:
            if self.normalize:
                edge_index, edge_weight = gcn_norm_fixed_size(
                    edge_index, edge_weight, num_nodes, self.add_self_loops,
                    self.flow, dtype)
            out = ('mp', edge_index, edge_weight)
        if self.cached:
            self._cached = out
        return out

    def _sparse_norm(self, adj_t, edge_weight: OptTensor,
                     dtype: torch.dtype):
        # A sparse adj_t is already target-major: the custom SpMM of
        # pyg_ext.utils.sparse_adj propagates with it (its values, and an
        # edge_weight per stored entry, may be learnable).
        if self.flow != 'source_to_target':
            raise ValueError(f"a sparse 'adj_t' needs "
                             f"flow='source_to_target', got {self.flow!r}")
        fixed = isinstance(adj_t, Tensor) and not adj_t.requires_grad and \
            not (edge_weight is not None and edge_weight.requires_grad)
        if fixed:  # the CSR pair of the fast path, built once per graph
            args = (adj_t, edge_weight, adj_t.size(0), dtype)
            out = self._last_graph.get(*args)
            if out is not None:
                return out
        struct, values = csr_of(adj_t, edge_weight, dtype=dtype)
        if self.normalize:
            struct, values = gcn_norm_values(struct, values,
                                          self.add_self_loops)
        if not fixed:
            return ('spmm', struct, values)
        struct_t, perm = struct.transpose()
        out = ('csr', struct.matrix(values), struct_t.matrix(values[perm]))
        self._last_graph.put(*args, out)
        return out

    def _build_csr(self, edge_index: Tensor, edge_weight: OptTensor,
                   num_nodes: int, dtype: torch.dtype):
        # Coalescing (duplicates are summed) has a value-dependent size: this
        # is the one place that synchronises, once per graph; the ids are
        # checked here too, so an id >= N never reaches the CSR kernels.
        check_ids_once(edge_index, num_nodes)
        if self.normalize:
            edge_index, edge_weight = gcn_norm(edge_index, edge_weight,
                                               num_nodes, False,
                                               self.add_self_loops, self.flow,
                                               dtype)
        if edge_weight is None:
            edge_weight = torch.ones(edge_index.size(1), dtype=dtype,
                                     device=edge_index.device)
        size = (num_nodes, num_nodes)
        with warnings.catch_warnings():  # 'CSR support is in beta'
            warnings.simplefilter('ignore', UserWarning)
            A = to_torch_csr_tensor(edge_index.flip(0), edge_weight, size)
            A_T = to_torch_csr_tensor(edge_index, edge_weight, size)
        return ('csr', A, A_T)

    def step(self, x: Tensor, adj) -> Tensor:
        r"""One propagation :math:`\mathbf{\hat{A}}\mathbf{X}` with a graph
        from :meth:`norm`."""
        if adj[0] == 'csr':
            return _SpMM.apply(adj[1], adj[2], x)
        if adj[0] == 'spmm':
            return spmm(adj[1], adj[2], x)
        return self.propagate(adj[1], x=x, edge_weight=adj[2])

    def hop_sum(self, x: Tensor, edge_index: Adj, gamma: Tensor,
                edge_weight: OptTensor = None) -> Tensor:
        if not isinstance(x, Tensor) or not x.is_floating_point():
            raise TypeError(f"'x' must be a floating-point tensor, got "
                            f"{getattr(x, 'dtype', type(x).__name__)}")
        if isinstance(edge_index, Tensor) and not is_sparse(edge_index) \
                and (edge_index.dim() != 2 or edge_index.size(0) != 2):
            raise ValueError(f"'edge_index' must have shape [2, num_edges], "
                             f"got shape {tuple(edge_index.shape)}")
        if gamma.dim() != 1:
            raise ValueError(f"'gamma' must be 1-D [K + 1], got shape "
                             f"{tuple(gamma.shape)}")
        adj = self.norm(edge_index, edge_weight, x.size(0), x.dtype)
        out = x * gamma[0]
        for k in range(1, gamma.numel()):
            x = self.step(x, adj)
            out = out + gamma[k] * x
        return out

    def forward(self, x: Tensor, edge_index: Adj, gamma: Tensor,
                edge_weight: OptTensor = None) -> Tensor:
        return self.hop_sum(x, edge_index, gamma, edge_weight)

    def message(self, x_j: Tensor, edge_weight: OptTensor) -> Tensor:
        return x_j if edge_weight is None else edge_weight.view(-1, 1) * x_j

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(normalize={self.normalize})'


class GPRProp(HopAggregation):
    r"""The generalized PageRank propagation from the `"Adaptive Universal
    Generalized PageRank Graph Neural Network"
    <https://arxiv.org/abs/2006.07988>`_ paper, with learnable hop weights
    :math:`\gamma` (the hop-aggregation parameters adapted by AdaRC,
    `"AdaRC: Mitigating Graph Structure Shifts during Test-Time"
    <https://arxiv.org/abs/2410.06976>`_):

    .. math::
        \mathbf{Z} = \sum_{k=0}^{K} \gamma_k \mathbf{\hat{A}}^k \mathbf{X},
        \qquad \mathbf{\hat{A}} = \mathbf{\hat{D}}^{-1/2}(\mathbf{A} +
        \mathbf{I})\mathbf{\hat{D}}^{-1/2}.

    Args:
        K (int, optional): Number of hops :math:`K`. (default: :obj:`10`)
        init (str, optional): Initialisation of :math:`\gamma` (``"PPR"``,
            ``"SGC"``, ``"NPPR"``, ``"Random"``, ``"WS"``; see
            :func:`gpr_init`). (default: :obj:`"PPR"`)
        alpha (float, optional): Parameter of the initialisation.
            (default: :obj:`0.1`)
        gamma (list or Tensor, optional): Initial weights for ``"WS"``.
            (default: :obj:`None`)
        normalize (bool, optional): Apply the symmetric GCN normalisation.
            (default: :obj:`True`)
        add_self_loops (bool, optional): Add self loops before normalising.
            (default: :obj:`True`)
        cached (bool, optional): Cache the normalised graph (transductive
            use only: the first graph seen is reused). (default: :obj:`False`)

    The hop weights are the parameter :obj:`gamma`; :obj:`temp` is an alias
    and state dicts saved with the official ``temp`` key load as well.
    :meth:`reset_parameters` re-applies :obj:`init` (the official code always
    resets to ``"PPR"``).

    Shapes:
        - **input:** node features :math:`(|\mathcal{V}|, F)`,
          edge indices :math:`(2, |\mathcal{E}|)`,
          edge weights :math:`(|\mathcal{E}|)` *(optional)*
        - **output:** node features :math:`(|\mathcal{V}|, F)`

    .. note::
        See `examples/adarc.py` for test-time adaptation of :math:`\gamma`.
    """
    def __init__(self, K: int = 10, init: str = 'PPR', alpha: float = 0.1,
                 gamma: Optional[Union[Sequence[float], Tensor]] = None,
                 normalize: bool = True, add_self_loops: bool = True,
                 cached: bool = False, **kwargs):
        check_float('alpha', alpha)
        if gamma is not None and (isinstance(gamma, (str, bytes)) or
                                  not hasattr(gamma, '__len__')):
            raise TypeError(f"'gamma' must be None, a list or a tensor of "
                            f"K + 1 hop weights, got {type(gamma).__name__}")
        super().__init__(normalize, add_self_loops, cached, **kwargs)
        self.K = K
        self.init = init
        self.alpha = alpha
        self._init_gamma = None if gamma is None else torch.as_tensor(
            gamma, dtype=torch.float).detach().clone()
        self.gamma = Parameter(gpr_init(K, init, alpha, self._init_gamma))
        self.reset_parameters()

    @property
    def temp(self) -> Parameter:
        return self.gamma

    def reset_parameters(self):
        super().reset_parameters()
        with torch.no_grad():
            self.gamma.copy_(gpr_init(self.K, self.init, self.alpha,
                                      self._init_gamma,
                                      device=self.gamma.device))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        old, new = prefix + 'temp', prefix + 'gamma'
        if old in state_dict and new not in state_dict:
            state_dict[new] = state_dict.pop(old)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def forward(self, x: Tensor, edge_index: Adj,
                edge_weight: OptTensor = None) -> Tensor:
        return self.hop_sum(x, edge_index, self.gamma, edge_weight)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(K={self.K}, init={self.init!r})'
