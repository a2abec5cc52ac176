r"""An OGB-style :class:`Evaluator`: a dict of arrays in, a dict of floats out,
with every input checked and errors that name the offending key.

Example:
    >>> import torch
    >>> ev = Evaluator('accuracy')
    >>> ev.eval({'y_true': torch.tensor([0, 1, 1]),
    ...          'y_pred': torch.tensor([0, 1, 0])})['accuracy']
    0.6666666666666666
"""
from typing import Any, Dict, Optional, Tuple

import numpy as np
import torch

__all__ = [
    'Evaluator',
    'METRICS',
    'accuracy',
    'macro_f1',
    'roc_auc',
    'average_precision',
    'mrr',
]

METRICS = ('accuracy', 'macro_f1', 'rocauc', 'ap', 'mrr')


def _to_numpy(key: str, value: Any) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        if value.is_floating_point() and value.dtype not in (torch.float16,
                                                             torch.float32,
                                                             torch.float64):
            value = value.float()  # e.g. bfloat16 has no NumPy dtype
        return value.numpy()
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, (list, tuple)):
        return np.asarray(value)
    raise TypeError(f"'{key}': expected a torch.Tensor or numpy.ndarray, "
                    f"got {type(value).__name__}")


def _kind(key: str, a: np.ndarray, kinds: str, what: str) -> np.ndarray:
    r""":obj:`a` if its NumPy dtype kind is one of :obj:`kinds`."""
    if a.dtype.kind not in kinds:
        raise TypeError(f"'{key}': expected {what}, got dtype {a.dtype}")
    return a


def _labels(key: str, value: Any) -> np.ndarray:
    a = _to_numpy(key, value)
    a = a[:, 0] if a.ndim == 2 and a.shape[1] == 1 else a
    if a.ndim != 1:
        raise ValueError(f"'{key}': expected labels of shape [n] or [n, 1], "
                         f"got shape {tuple(a.shape)}")
    a = _kind(key, a, 'iu', 'integer class labels').astype(np.int64)
    if a.size and a.min() < 0:
        raise ValueError(f"'{key}': expected class labels >= 0, got "
                         f"{a.min()}")
    return a


def _scores(key: str, value: Any) -> np.ndarray:
    a = _kind(key, _to_numpy(key, value), 'fiu', 'numeric scores')
    a = a.astype(np.float64)
    if not np.isfinite(a).all():
        n = int((~np.isfinite(a)).sum())
        raise ValueError(f"'{key}': expected finite scores, got {n} NaN or "
                         f"infinite value(s)")
    return a


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    r"""Fraction of exact label matches."""
    return float((y_true == y_pred).mean())


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray,
             num_classes: Optional[int] = None) -> float:
    r"""Unweighted mean over classes of the per-class F1 score. Classes absent
    from both :obj:`y_true` and :obj:`y_pred` are skipped (as scikit-learn
    does with ``labels=None``); a class with no true positives scores 0."""
    classes = np.union1d(np.unique(y_true), np.unique(y_pred))
    if num_classes is not None:
        classes = classes[classes < num_classes]
    f1s = []
    for c in classes:
        tp = np.sum((y_pred == c) & (y_true == c))
        fp = np.sum((y_pred == c) & (y_true != c))
        fn = np.sum((y_pred != c) & (y_true == c))
        denom = 2 * tp + fp + fn
        f1s.append(0.0 if denom == 0 else 2.0 * tp / denom)
    return float(np.mean(f1s))


def _average_ranks(x: np.ndarray) -> np.ndarray:
    order = np.argsort(x, kind='mergesort')
    xs = x[order]
    ranks = np.empty(len(x), dtype=np.float64)
    # Start of each run of equal values; every member gets the run's mean rank.
    starts = np.r_[0, np.flatnonzero(xs[1:] != xs[:-1]) + 1]
    ends = np.r_[starts[1:], len(x)]
    mean_rank = (starts + ends - 1) / 2.0 + 1.0
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


def roc_auc(y_true: np.ndarray, y_score: np.ndarray) -> float:
    r"""Area under the ROC curve of one binary task (ties count one half),
    by the Mann-Whitney statistic."""
    pos = y_true == 1
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("ROC-AUC needs at least one positive and one "
                         "negative label")
    ranks = _average_ranks(y_score.astype(np.float64))
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2.0) /
                 (n_pos * n_neg))


def average_precision(y_true: np.ndarray, y_score: np.ndarray) -> float:
    r"""Average precision :math:`\sum_n (R_n - R_{n-1}) P_n` over the distinct
    score thresholds (no interpolation; scikit-learn's definition)."""
    pos = y_true == 1
    n_pos = int(pos.sum())
    if n_pos == 0:
        raise ValueError("average precision needs at least one positive "
                         "label")
    order = np.argsort(-y_score.astype(np.float64), kind='mergesort')
    s = y_score[order]
    t = pos[order].astype(np.float64)
    last = np.r_[np.flatnonzero(s[1:] != s[:-1]), len(s) - 1]
    tp = np.cumsum(t)[last]
    fp = (last + 1) - tp
    precision = tp / (tp + fp)
    recall = tp / n_pos
    recall_prev = np.r_[0.0, recall[:-1]]
    return float(np.sum((recall - recall_prev) * precision))


def mrr(y_pred_pos: np.ndarray, y_pred_neg: np.ndarray) -> Dict[str, float]:
    r"""Mean reciprocal rank of each positive among its negatives, with the
    OGB/TGB tie rule: rank :math:`= 1 + (\#\{neg > pos\} + \#\{neg \ge pos\})
    / 2`. Also reports hits@1/3/10 with the same ranks."""
    pos = y_pred_pos.reshape(-1, 1)
    optimistic = (y_pred_neg > pos).sum(axis=1)
    pessimistic = (y_pred_neg >= pos).sum(axis=1)
    rank = 0.5 * (optimistic + pessimistic) + 1
    return {
        'mrr': float((1.0 / rank).mean()),
        'hits@1': float((rank <= 1).mean()),
        'hits@3': float((rank <= 3).mean()),
        'hits@10': float((rank <= 10).mean()),
    }


class Evaluator:
    r"""OGB-style evaluator for one metric.

    ================  ==========================================  ============
    metric            input dict                                  output keys
    ================  ==========================================  ============
    ``accuracy``      ``y_true`` [n] or [n,1] int, ``y_pred``     ``accuracy``
                      same shape int (labels)
    ``macro_f1``      as ``accuracy``                             ``macro_f1``
    ``rocauc``        ``y_true`` [n] or [n,T] in {0,1},           ``rocauc``
                      ``y_pred`` same shape float scores
    ``ap``            as ``rocauc``                               ``ap``
    ``mrr``           ``y_pred_pos`` [n], ``y_pred_neg`` [n,K]    ``mrr``,
                                                                  ``hits@k``
    ================  ==========================================  ============

    For several tasks (``[n, T]``), ``rocauc``/``ap`` are averaged over the
    tasks that have both a positive and a negative label, and ``NaN`` in
    ``y_true`` marks a missing label, as in OGB.

    Args:
        metric (str): One of ``'accuracy'``, ``'macro_f1'``, ``'rocauc'``,
            ``'ap'``, ``'mrr'``.
    """
    def __init__(self, metric: str):
        if metric not in METRICS:
            raise ValueError(f"'metric': expected one of "
                             f"{', '.join(METRICS)}, got {metric!r}")
        self.metric = metric

    @property
    def expected_input_format(self) -> str:
        if self.metric in ('accuracy', 'macro_f1'):
            return ("{'y_true': int labels [n] or [n, 1], "
                    "'y_pred': int labels, same shape}")
        if self.metric in ('rocauc', 'ap'):
            return ("{'y_true': {0, 1} labels [n] or [n, T], "
                    "'y_pred': float scores, same shape}")
        return "{'y_pred_pos': float [n], 'y_pred_neg': float [n, K]}"

    @property
    def expected_output_format(self) -> str:
        if self.metric == 'mrr':
            return "{'mrr': float, 'hits@1': float, 'hits@3': float, " \
                   "'hits@10': float}"
        return f"{{'{self.metric}': float}}"

    def _require(self, input_dict: Dict[str, Any], *keys: str) -> None:
        if not isinstance(input_dict, dict):
            raise TypeError(f"input_dict: expected a dict "
                            f"{self.expected_input_format}, got "
                            f"{type(input_dict).__name__}")
        missing = [k for k in keys if k not in input_dict]
        if missing:
            raise ValueError(f"input_dict is missing '{missing[0]}'; "
                             f"expected {self.expected_input_format}")

    def _pair(self, input_dict: Dict[str, Any], convert_true,
              convert_pred) -> Tuple[np.ndarray, np.ndarray]:
        r"""``y_true`` and ``y_pred``, converted, of one shape, non-empty."""
        self._require(input_dict, 'y_true', 'y_pred')
        y_true = convert_true('y_true', input_dict['y_true'])
        y_pred = convert_pred('y_pred', input_dict['y_pred'])
        if y_true.shape != y_pred.shape:
            raise ValueError(f"'y_true' and 'y_pred' must have the same "
                             f"shape, got {tuple(y_true.shape)} and "
                             f"{tuple(y_pred.shape)}")
        if y_true.ndim == 0 or y_true.shape[0] == 0:
            raise ValueError("'y_true': expected at least one item")
        return y_true, y_pred

    def eval(self, input_dict: Dict[str, Any]) -> Dict[str, float]:
        r"""Checks :obj:`input_dict` (see :attr:`expected_input_format`) and
        returns the metric: every key named in an error, no NaN/inf score
        accepted."""
        if self.metric in ('accuracy', 'macro_f1'):
            y_true, y_pred = self._pair(input_dict, _labels, _labels)
            if self.metric == 'accuracy':
                return {'accuracy': accuracy(y_true, y_pred)}
            return {'macro_f1': macro_f1(y_true, y_pred)}
        if self.metric in ('rocauc', 'ap'):
            return self._ranking(input_dict)
        return self._mrr(input_dict)

    def _ranking(self, input_dict: Dict[str, Any]) -> Dict[str, float]:
        y_true, y_pred = self._pair(input_dict, _to_numpy, _scores)
        if y_true.ndim == 1:
            y_true, y_pred = y_true[:, None], y_pred[:, None]
        if y_true.ndim != 2:
            raise ValueError(f"'y_true': expected shape [n] or [n, T], "
                             f"got {tuple(y_true.shape)}")
        y_true = _kind('y_true', y_true, 'fiub',
                       'binary labels in {0, 1}').astype(np.float64)
        labelled = ~np.isnan(y_true)  # OGB: NaN marks a missing label
        if not np.isin(y_true[labelled], (0, 1)).all():
            raise ValueError("'y_true': expected binary labels in {0, 1} "
                             "(NaN for missing)")
        fn = roc_auc if self.metric == 'rocauc' else average_precision
        scores = []
        for t in range(y_true.shape[1]):
            keep = labelled[:, t]
            yt = y_true[keep, t].astype(np.int64)
            # As OGB: only tasks with both a positive and a negative.
            if yt.size == 0 or yt.min() == yt.max():
                continue
            scores.append(fn(yt, y_pred[keep, t]))
        if not scores:
            raise ValueError(f"'y_true': no task has both positive and "
                             f"negative labels; {self.metric} is "
                             f"undefined")
        return {self.metric: float(np.mean(scores))}

    def _mrr(self, input_dict: Dict[str, Any]) -> Dict[str, float]:
        self._require(input_dict, 'y_pred_pos', 'y_pred_neg')
        pos = _scores('y_pred_pos', input_dict['y_pred_pos'])
        neg = _scores('y_pred_neg', input_dict['y_pred_neg'])
        if pos.ndim != 1 or pos.shape[0] == 0:
            raise ValueError(f"'y_pred_pos': expected shape [n] with n >= 1, "
                             f"got {tuple(pos.shape)}")
        if neg.ndim != 2 or neg.shape[0] != pos.shape[0] or neg.shape[1] == 0:
            raise ValueError(f"'y_pred_neg': expected shape [n={len(pos)}, "
                             f"K] with K >= 1, got {tuple(neg.shape)}")
        return mrr(pos, neg)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}({self.metric!r})'
