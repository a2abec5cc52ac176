r"""Options of the temporal tasks (:mod:`pyg_ext.fit.temporal_tasks`): plain
dataclasses, validated on construction; the loop's ``task:`` config section
fills them (:mod:`pyg_ext.train.tasks.temporal`)."""
from dataclasses import dataclass, field
from typing import List, Optional

from pyg_ext.fit.temporal_checks import check_link_options, check_task_options

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
        check_task_options(self)


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
            (a uniform destination for the same source), ``'historical'``
            (edges seen before but not in the current batch; Poursafaei et
            al., NeurIPS 2022) or ``'inductive'`` (edges first seen after
            the training period, not in the current batch; needs
            ``protocol='dyglib'``). Under the default protocol
            ``'historical'`` draws, for the whole split, edges seen before
            the split starts but not inside it.
        protocol (str): ``'default'`` (ours: negatives fixed per query,
            random training negatives from every destination, global AP)
            or ``'dyglib'`` (DyGLib's, arXiv 2303.13047: training
            negatives from the training destinations, ``new_node_ratio``
            held-out new nodes with transductive and inductive test sets,
            negatives drawn per evaluation batch of ``batch_size`` events
            as DyGLib's ``NegativeEdgeSampler`` does, and per-batch-mean
            AP/AUC next to the global ones).
        new_node_ratio (float, optional): Share of the stream's nodes held
            out as new nodes (DyGLib protocol; :obj:`None`: 0.1 under
            ``'dyglib'``, else 0).
        mrr_negatives (int): Random destinations per positive for MRR
            (``0``: no MRR).
        mrr_max_queries (int): Evaluate MRR on at most this many queries per
            split (a fixed random subset; ``0``: all).
        val_ratio (float), test_ratio (float): Chronological split.
        seed (int): Seed of the fixed evaluation negatives (and of the new
            nodes).
        embedding_dim (int): Size of the node embeddings the model outputs
            (its ``out_channels``) and the link decoder reads.
        pair_features (bool): Give the link decoder features of the
            (source, destination) pair computed from the events strictly
            before the query time (:class:`~pyg_ext.fit.temporal_pair.
            PairFeatures`: repeat counts, time since the last contact and
            DyGFormer-style neighbour co-occurrence). Our extension;
            temporal and static models.
        pair_neighbors (int): Recent neighbours per endpoint for the
            co-occurrence features.
    """
    negatives: str = 'random'
    protocol: str = 'default'
    new_node_ratio: Optional[float] = None
    mrr_negatives: int = 20
    mrr_max_queries: int = 2000
    val_ratio: float = 0.15
    test_ratio: float = 0.15
    seed: int = 0
    embedding_dim: int = 64
    pair_features: bool = False
    pair_neighbors: int = 10

    def __post_init__(self):
        super().__post_init__()
        check_link_options(self)

    @property
    def held_out_ratio(self) -> float:
        r"""The share of held-out new nodes in effect."""
        if self.new_node_ratio is not None:
            return float(self.new_node_ratio)
        return 0.1 if self.protocol == 'dyglib' else 0.0
