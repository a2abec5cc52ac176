r"""The history of every (source, destination) pair of an event stream,
queried at arbitrary times without looking at the future: how often a pair
interacted strictly before a time, and when it last did. It is the memory of
EdgeBank (Poursafaei et al., NeurIPS 2022) and the source of the pair
features of the temporal link-prediction task."""
from typing import Tuple

import torch
from torch import Tensor

from pyg_ext.utils.temporal_heterophily import check_event_stream

__all__ = ['PairHistory']


class PairHistory:
    r"""An index over the events :math:`(s_k, d_k, t_k)` of a stream that
    answers, for queries :math:`(u, v, q)`,

    .. math::
        c(u, v, q) = |\{k : (s_k, d_k) = (u, v),\; t_k < q\}|, \qquad
        \ell(u, v, q) = \max\{t_k : (s_k, d_k) = (u, v),\; t_k < q\}

    (strictly before :math:`q`, so an event never sees itself or anything
    later; :math:`\ell = \text{NaN}` when :math:`c = 0`). With
    :obj:`undirected=True` the pair is unordered.

    Built once in :math:`O(E \log E)` (one sort by exact int64 keys
    ``pair id * (#distinct times + 1) + time rank``); a batch of queries is
    three :func:`torch.searchsorted` calls, on the device of the stream.

    Args:
        src (torch.Tensor): Sources :math:`[E]` (int).
        dst (torch.Tensor): Destinations :math:`[E]` (int).
        t (torch.Tensor): Times :math:`[E]` (any order; non-negative, no
            NaN).
        num_nodes (int, optional): Number of nodes (default: inferred).
        undirected (bool, optional): Count :math:`(u, v)` and
            :math:`(v, u)` as one pair. (default: :obj:`False`)

    Example:
        >>> h = PairHistory(torch.tensor([0, 0, 1]), torch.tensor([1, 1, 0]),
        ...                 torch.tensor([1., 3., 4.]))
        >>> c, last = h.query(torch.tensor([0, 0, 1]), torch.tensor([1, 1, 0]),
        ...                   torch.tensor([3., 9., 4.]))
        >>> c.tolist(), last.tolist()[:2]
        ([1, 2, 0], [1.0, 3.0])
    """
    def __init__(self, src: Tensor, dst: Tensor, t: Tensor,
                 num_nodes: int = None, undirected: bool = False):
        if not isinstance(undirected, bool):
            raise TypeError(f"'undirected' must be a bool, got "
                            f"{type(undirected).__name__}")
        self.num_nodes = check_event_stream(src, dst, t, num_nodes,
                                            require_sorted=False)
        self.undirected = undirected
        key = self._key(src.long(), dst.long())
        td = t.double()
        self.times, t_rank = torch.unique(td, return_inverse=True)
        self.pair_keys, pid = torch.unique(key, return_inverse=True)
        self._T = self.times.numel() + 1
        comp, order = torch.sort(pid * self._T + t_rank, stable=True)
        self._comp = comp
        self._t = td[order]
        self._start = torch.searchsorted(
            comp, torch.arange(self.pair_keys.numel(), device=comp.device)
            * self._T)

    def _key(self, u: Tensor, v: Tensor) -> Tensor:
        if self.undirected:
            u, v = torch.minimum(u, v), torch.maximum(u, v)
        return u * max(self.num_nodes, 1) + v

    @property
    def num_pairs(self) -> int:
        return self.pair_keys.numel()

    def query(self, src: Tensor, dst: Tensor,
              time: Tensor) -> Tuple[Tensor, Tensor]:
        r"""Returns :math:`c(u, v, q)` (long) and :math:`\ell(u, v, q)`
        (float64, NaN where :math:`c = 0`) for the query triples (ids in
        ``[0, num_nodes)``; checked by the callers' entry points)."""
        key = self._key(src.long(), dst.long())
        P = self.pair_keys.numel()
        if P == 0:
            return (torch.zeros_like(key),
                    torch.full(key.shape, float('nan'), dtype=torch.float64,
                               device=key.device))
        j = torch.searchsorted(self.pair_keys, key).clamp_(max=P - 1)
        found = self.pair_keys[j] == key
        qr = torch.searchsorted(self.times, time.double())
        pos = torch.searchsorted(self._comp, j * self._T + qr)
        count = torch.where(found, pos - self._start[j],
                            torch.zeros_like(pos))
        last = torch.where(count > 0, self._t[(pos - 1).clamp_(min=0)],
                           torch.full_like(self._t[:1], float('nan')))
        return count, last

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_pairs={self.num_pairs}, '
                f'undirected={self.undirected})')
