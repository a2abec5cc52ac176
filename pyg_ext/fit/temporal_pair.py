r"""Pair features for temporal link prediction (our extension of THeGCN's
link decoder; the THeGCN paper is silent on link prediction).

THeGCN embeds each endpoint on its own sampled history, so its decoder
``lin(relu(lin_s z_u + lin_d z_v))`` cannot tell whether *this pair* has
met before -- which is what EdgeBank (Poursafaei et al., NeurIPS 2022)
exploits on repeat-heavy streams such as UCI-Msg. :class:`PairFeatures`
computes, from the events strictly before the query time :math:`q`,

* the history of the pair (:class:`~pyg_ext.utils.PairHistory`):
  :math:`\mathbb{1}[c_{uv} > 0]`, :math:`\log(1 + c_{uv})`,
  :math:`\log(1 + c_{vu})` and the gap :math:`q - \ell_{uv}` to the last
  contact (encoded by the decoder with a frozen TGAT time encoder);
* a neighbour co-occurrence encoding of the two endpoints' :math:`K` most
  recent neighbours :math:`N_u, N_v` (the idea of DyGFormer, Yu et al.,
  NeurIPS 2023, summarised into three numbers): the share of :math:`N_u`
  that is :math:`v`, the share of :math:`N_v` that is :math:`u`, and
  :math:`\sum_w n_u(w) n_v(w) / K^2` (common recent neighbours, with
  multiplicity).

:class:`PairLinkHead` adds them to the decoder:
``lin(relu(lin_s z_u + lin_d z_v + lin_p [f_uv || seen * phi(q - l_uv)]))``.
"""
from typing import Optional, Tuple

import torch
from torch import Tensor

from pyg_ext.nn.models.thegcn import CosineTimeEncoder
from pyg_ext.sampler import TemporalNeighborSampler
from pyg_ext.utils.pair_history import PairHistory

__all__ = ['PairFeatures', 'PairLinkHead', 'PAIR_DIM']

PAIR_DIM = 6


class PairFeatures:
    r"""The pair features of :obj:`(src, dst, q)` queries on an event stream
    (CPU), from the events strictly before :math:`q` only.

    Args:
        src, dst, t (torch.Tensor): The stream's events (time-sorted).
        num_nodes (int): Number of nodes.
        num_neighbors (int): :math:`K` recent neighbours per endpoint.
    """
    def __init__(self, src: Tensor, dst: Tensor, t: Tensor, num_nodes: int,
                 num_neighbors: int = 10):
        self.num_nodes = num_nodes
        self.K = num_neighbors
        self.history = PairHistory(src, dst, t, num_nodes)
        self.sampler = TemporalNeighborSampler(
            src, dst, t, num_nodes=num_nodes, num_neighbors=[num_neighbors],
            strategy='recent')

    def __call__(self, src: Tensor, dst: Tensor,
                 time: Tensor) -> Tuple[Tensor, Tensor]:
        r"""Returns the features :math:`[n, 6]` (float) and the gap
        :math:`q - \ell_{uv}` :math:`[n]` (float64, 0 for unseen pairs)."""
        n = src.numel()
        c_uv, last = self.history.query(src, dst, time)
        c_vu, _ = self.history.query(dst, src, time)
        gap = torch.where(c_uv > 0, time.double() - last,
                          torch.zeros_like(last))
        sub = self.sampler.sample(torch.cat([src, dst]),
                                  torch.cat([time, time]))
        w = sub.n_id[sub.edge_index[0]]
        seed = sub.edge_index[1]
        other = torch.cat([dst, src])[seed]
        hit = (w == other).double()
        a = torch.zeros(2 * n, dtype=torch.float64).index_add_(0, seed, hit)
        N = max(self.num_nodes, 1)
        q = seed % n if n else seed
        key = q * N + w
        side_u = seed < n
        ku, cu = torch.unique(key[side_u], return_counts=True)
        kv, cv = torch.unique(key[~side_u], return_counts=True)
        co = torch.zeros(n, dtype=torch.float64)
        if ku.numel() and kv.numel():
            j = torch.searchsorted(kv, ku).clamp_(max=kv.numel() - 1)
            m = kv[j] == ku
            co.index_add_(0, ku[m] // N, (cu[m] * cv[j[m]]).double())
        K = float(self.K)
        feat = torch.stack([
            (c_uv > 0).double(), torch.log1p(c_uv.double()),
            torch.log1p(c_vu.double()), a[:n] / K, a[n:] / K, co / (K * K)
        ], dim=-1)
        return feat.float(), gap


class PairLinkHead(torch.nn.Module):
    r"""TGN's link decoder with pair features:
    ``lin(relu(lin_s(z_u) + lin_d(z_v) + lin_p([f || s * phi(gap)])))``,
    :math:`\phi` a frozen TGAT :class:`~pyg_ext.nn.models.CosineTimeEncoder`
    and :math:`s` the seen-before indicator (``f[:, 0]``)."""
    def __init__(self, channels: int, pair_dim: int = PAIR_DIM,
                 time_dim: int = 16):
        super().__init__()
        self.channels = channels
        self.lin_src = torch.nn.Linear(channels, channels)
        self.lin_dst = torch.nn.Linear(channels, channels)
        self.time_enc = CosineTimeEncoder(time_dim)
        self.lin_pair = torch.nn.Linear(pair_dim + time_dim, channels)
        self.lin = torch.nn.Linear(channels, 1)

    def reset_parameters(self):
        for m in (self.lin_src, self.lin_dst, self.time_enc, self.lin_pair,
                  self.lin):
            m.reset_parameters()

    def forward(self, z_src: Tensor, z_dst: Tensor,
                pair: Optional[Tensor] = None,
                gap: Optional[Tensor] = None) -> Tensor:
        if pair is None or gap is None:
            raise ValueError("PairLinkHead needs the pair features 'pair' "
                             "and 'gap' (task.pair_features)")
        te = self.time_enc(gap) * pair[:, :1]
        p = torch.cat([pair.to(z_src.dtype), te.to(z_src.dtype)], dim=-1)
        return self.lin(torch.relu(self.lin_src(z_src) + self.lin_dst(z_dst)
                                   + self.lin_pair(p))).view(-1)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}({self.channels})'
