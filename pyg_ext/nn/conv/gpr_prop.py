import math
import warnings
from typing import Optional, Sequence, Union

import torch
from torch import Tensor
from torch.nn import Parameter
from torch_geometric.nn.conv import MessagePassing
from torch_geometric.nn.conv.gcn_conv import gcn_norm
from torch_geometric.typing import Adj, OptTensor
from torch_geometric.utils import to_torch_csr_tensor

__all__ = ['GPRProp', 'HopAggregation', 'gpr_init']

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


def gpr_init(K: int, init: str = 'PPR', alpha: float = 0.1,
             gamma: Optional[Union[Sequence[float], Tensor]] = None,
             generator: Optional[torch.Generator] = None) -> Tensor:
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
    k = torch.arange(K + 1, dtype=torch.float)
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
        out = torch.zeros(K + 1)
        out[int(alpha)] = 1.0
    elif init == 'NPPR':
        out = float(alpha)**k
        out = out / out.abs().sum()
    elif init == 'Random':
        bound = math.sqrt(3 / (K + 1))
        out = torch.rand(K + 1, generator=generator) * 2 * bound - bound
        out = out / out.abs().sum()
    else:  # 'WS'
        if gamma is None:
            raise ValueError("init='WS' needs the hop weights 'gamma'")
        out = torch.as_tensor(gamma, dtype=torch.float).detach().clone()
        if out.shape != (K + 1, ):
            raise ValueError(f"'gamma' must have shape [K + 1] = [{K + 1}], "
                             f"got {tuple(out.shape)}")
    return out


class HopAggregation(MessagePassing):
    r"""A weighted sum of propagation hops with externally given weights,
    the parameter-free core of :class:`GPRProp`:

    .. math::
        \mathbf{Z} = \sum_{k=0}^{K} \gamma_k \mathbf{\hat{A}}^k \mathbf{X},
        \qquad \mathbf{\hat{A}} = \mathbf{\hat{D}}^{-1/2}(\mathbf{A} +
        \mathbf{I})\mathbf{\hat{D}}^{-1/2}.

    Models whose hop weights are a function of other parameters (e.g. APPNP's
    :math:`\gamma_k = \alpha(1-\alpha)^k`) use it directly.

    Args:
        normalize (bool, optional): Apply the symmetric GCN normalisation.
            (default: :obj:`True`)
        add_self_loops (bool, optional): Add self loops before normalising.
            (default: :obj:`True`)
        cached (bool, optional): Cache the normalised graph (transductive
            use only: the first graph seen is reused). (default: :obj:`False`)

    Shapes:
        - **input:** node features :math:`(|\mathcal{V}|, F)`,
          edge indices :math:`(2, |\mathcal{E}|)`, hop weights
          :math:`(K + 1)`, edge weights :math:`(|\mathcal{E}|)` *(optional)*
        - **output:** node features :math:`(|\mathcal{V}|, F)`
    """
    def __init__(self, normalize: bool = True, add_self_loops: bool = True,
                 cached: bool = False, **kwargs):
        kwargs.setdefault('aggr', 'add')
        super().__init__(**kwargs)
        self.normalize = normalize
        self.add_self_loops = add_self_loops
        self.cached = cached
        self._cached = None

    def reset_parameters(self):
        super().reset_parameters()
        self._cached = None

    def norm(self, edge_index: Adj, edge_weight: OptTensor, num_nodes: int,
             dtype: torch.dtype):
        r"""The (possibly cached) normalised graph: a tuple
        ``('csr', A, A_T)`` of sparse CSR matrices (fast path, used when
        :obj:`edge_index` is a :obj:`[2, E]` tensor and the edge weights need
        no gradient) or ``('mp', edge_index, edge_weight)`` for message
        passing."""
        if self.cached and self._cached is not None:
            return self._cached
        if self.normalize:
            edge_index, edge_weight = gcn_norm(edge_index, edge_weight,
                                               num_nodes, False,
                                               self.add_self_loops, self.flow,
                                               dtype)
        fast = (isinstance(edge_index, Tensor) and edge_index.dim() == 2
                and not (edge_weight is not None and edge_weight.requires_grad)
                and self.flow == 'source_to_target')
        if fast:
            if edge_weight is None:
                edge_weight = torch.ones(edge_index.size(1), dtype=dtype,
                                         device=edge_index.device)
            size = (num_nodes, num_nodes)
            with warnings.catch_warnings():  # 'CSR support is in beta'
                warnings.simplefilter('ignore', UserWarning)
                A = to_torch_csr_tensor(edge_index.flip(0), edge_weight, size)
                A_T = to_torch_csr_tensor(edge_index, edge_weight, size)
            out = ('csr', A, A_T)
        else:
            out = ('mp', edge_index, edge_weight)
        if self.cached:
            self._cached = out
        return out

    def step(self, x: Tensor, adj) -> Tensor:
        r"""One propagation :math:`\mathbf{\hat{A}}\mathbf{X}` with a graph
        from :meth:`norm`."""
        if adj[0] == 'csr':
            return _SpMM.apply(adj[1], adj[2], x)
        return self.propagate(adj[1], x=x, edge_weight=adj[2])

    def hop_sum(self, x: Tensor, edge_index: Adj, gamma: Tensor,
                edge_weight: OptTensor = None) -> Tensor:
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
                                      self._init_gamma))

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
