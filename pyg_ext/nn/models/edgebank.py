r"""EdgeBank: the parameter-free memorisation baseline of temporal link
prediction."""
from typing import Optional

import torch
from torch import Tensor

from pyg_ext.utils.pair_history import PairHistory
from pyg_ext.utils.validation import check_float

__all__ = ['EdgeBank']


class EdgeBank(torch.nn.Module):
    r"""EdgeBank from the `"Towards Better Evaluation for Dynamic Link
    Prediction" <https://arxiv.org/abs/2207.10128>`_ paper (Poursafaei et
    al., NeurIPS 2022): a pair is predicted to interact iff it is in the
    memory of past interactions,

    .. math::
        \text{score}(u, v, q) = \mathbb{1}\left[\exists k:\; (s_k, d_k) =
        (u, v),\; q - w \le t_k < q\right],

    with :math:`w = \infty` for EdgeBank\ :math:`_\infty` (unlimited
    memory) and a finite time window :math:`w` for EdgeBank\
    :math:`_{tw}` (the paper's *tw-ts* uses the duration of the test
    period; the loop's ``edgebank`` model does that with
    ``time_window: -1``).

    It is a *pair model* (:obj:`pair_model = True`): no parameters, no
    training; bind the whole event stream once with :meth:`reset_state`
    and score pairs with :meth:`score_pairs`. The memory is streaming and
    exact: a query at time :math:`q` sees every event strictly before
    :math:`q` (including earlier validation and test events, which the
    paper also adds to the memory as they are revealed), and nothing at or
    after :math:`q`. DyGLib updates its memory once per batch of 200
    events, so within a batch it sees slightly less.

    Args:
        time_window (float, optional): The window :math:`w` (:obj:`None`:
            unlimited memory). (default: :obj:`None`)
        undirected (bool, optional): Treat :math:`(u, v)` and
            :math:`(v, u)` as the same pair (the paper and DyGLib use the
            directed pair). (default: :obj:`False`)
    """
    pair_model = True

    def __init__(self, time_window: Optional[float] = None,
                 undirected: bool = False):
        super().__init__()
        check_float('time_window', time_window, low=0.0, low_open=True,
                    allow_none=True)
        if not isinstance(undirected, bool):
            raise TypeError(f"'undirected' must be a bool, got "
                            f"{type(undirected).__name__}")
        self.time_window = None if time_window is None else float(time_window)
        self.undirected = undirected
        self.history: Optional[PairHistory] = None

    def reset_parameters(self):
        pass  # nothing to learn

    def reset_state(self, src: Tensor, dst: Tensor, t: Tensor,
                    num_nodes: Optional[int] = None) -> None:
        r"""Binds the event stream (validated: ids, lengths, NaN times)."""
        self.history = PairHistory(src, dst, t, num_nodes,
                                   undirected=self.undirected)

    def score_pairs(self, src: Tensor, dst: Tensor, time: Tensor) -> Tensor:
        r"""Scores :math:`\in \{0, 1\}` (float) of the pairs
        :obj:`(src, dst)` at the query times :obj:`time`."""
        if self.history is None:
            raise RuntimeError("call 'reset_state(src, dst, t)' before "
                               "'score_pairs'")
        count, last = self.history.query(src, dst, time)
        seen = count > 0
        if self.time_window is not None:
            seen = seen & (last >= time.double() - self.time_window)
        return seen.to(torch.get_default_dtype())

    def __repr__(self) -> str:
        w = 'unlimited' if self.time_window is None else self.time_window
        return f'{self.__class__.__name__}(time_window={w})'
