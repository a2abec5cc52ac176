r"""Options of the temporal tasks (:mod:`pyg_ext.fit.temporal_tasks`): plain
dataclasses, validated on construction; the loop's ``task:`` config section
fills them (:mod:`pyg_ext.train.tasks.temporal`)."""
from dataclasses import dataclass, field
from typing import List, Optional

__all__ = ['TemporalTaskOptions', 'TemporalNodeClassificationOptions',
           'DynamicNodeClassificationOptions',
           'TemporalLinkPredictionOptions']


@dataclass
class TemporalTaskOptions:
    r"""Options shared by the temporal tasks.

    Args:
        num_neighbors (list of int): Sampler fan-out per hop (temporal
            models). (default: :obj:`[10, 10]`)
        time_window (float, optional): Sampler window :math:`t_0`.
        strategy (str): ``'recent'`` or ``'uniform'``.
        max_events (int, optional): Cap of sampled events per query.
        batch_size (int): Training queries per step (temporal models) and
            events per batch (stream models). (default: :obj:`200`)
        eval_batch_size (int): Queries per evaluation batch.
    """
    num_neighbors: List[int] = field(default_factory=lambda: [10, 10])
    time_window: Optional[float] = None
    strategy: str = 'recent'
    max_events: Optional[int] = None
    batch_size: int = 200
    eval_batch_size: int = 1000

    def __post_init__(self):
        if self.strategy not in ('recent', 'uniform'):
            raise ValueError(f"task.strategy: expected 'recent' or "
                             f"'uniform', got {self.strategy!r}")
        if self.batch_size < 1 or self.eval_batch_size < 1:
            raise ValueError("task.batch_size and task.eval_batch_size must "
                             "be >= 1")


@dataclass
class TemporalNodeClassificationOptions(TemporalTaskOptions):
    r"""Args (besides :class:`TemporalTaskOptions`):
        metric (str): ``'accuracy'``, ``'macro_f1'`` or ``'rocauc'``.
        query_time (str): Static labels: ``'end'`` (after the last event)
            or ``'last_event'`` (the node's last event time; strict, so that
            event itself is not seen).
        num_splits (int): Number of random 60/20/20 node splits (split ``s``
            uses seed ``split_seed + s``).
        split_seed (int): Seed of split 0.
        train_ratio (float), val_ratio (float): Split fractions.
    """
    metric: str = 'accuracy'
    query_time: str = 'end'
    num_splits: int = 1
    split_seed: int = 0
    train_ratio: float = 0.6
    val_ratio: float = 0.2

    def __post_init__(self):
        super().__post_init__()
        if self.metric not in ('accuracy', 'macro_f1', 'rocauc'):
            raise ValueError(f"task.metric: expected 'accuracy', 'macro_f1' "
                             f"or 'rocauc', got {self.metric!r}")
        if self.query_time not in ('end', 'last_event'):
            raise ValueError(f"task.query_time: expected 'end' or "
                             f"'last_event', got {self.query_time!r}")


@dataclass
class DynamicNodeClassificationOptions(TemporalTaskOptions):
    r"""Args (besides :class:`TemporalTaskOptions`): ``val_ratio``,
    ``test_ratio`` of the chronological split."""
    val_ratio: float = 0.15
    test_ratio: float = 0.15


@dataclass
class TemporalLinkPredictionOptions(TemporalTaskOptions):
    r"""Args (besides :class:`TemporalTaskOptions`):
        negatives (str): Evaluation negatives for AP/AUC: ``'random'``
            (a uniform destination for the same source) or
            ``'historical'`` (an edge seen before the split but not inside
            it, topped up with random ones; DyGLib-style).
        mrr_negatives (int): Random destinations per positive for MRR
            (``0``: no MRR).
        mrr_max_queries (int): Evaluate MRR on at most this many queries per
            split (a fixed random subset; ``0``: all).
        val_ratio (float), test_ratio (float): Chronological split.
        seed (int): Seed of the fixed evaluation negatives.
        embedding_dim (int): Size of the node embeddings the model outputs
            (its ``out_channels``) and the link decoder reads.
    """
    negatives: str = 'random'
    mrr_negatives: int = 20
    mrr_max_queries: int = 2000
    val_ratio: float = 0.15
    test_ratio: float = 0.15
    seed: int = 0
    embedding_dim: int = 64

    def __post_init__(self):
        super().__post_init__()
        if self.negatives not in ('random', 'historical'):
            raise ValueError(f"task.negatives: expected 'random' or "
                             f"'historical', got {self.negatives!r}")
        if self.mrr_negatives < 0 or self.mrr_max_queries < 0:
            raise ValueError("task.mrr_negatives and task.mrr_max_queries "
                             "must be >= 0")
