r"""The temporal tasks in the loop: ``temporal_node_classification``,
``dynamic_node_classification`` and ``temporal_link_prediction``.

The machinery (queries, splits, negatives, model application per model
kind, losses, predictions, metrics) and the options dataclasses live in
:mod:`pyg_ext.fit.temporal_tasks`, :mod:`pyg_ext.fit.temporal_link` and
:mod:`pyg_ext.fit.temporal_options`,
usable without the loop; the classes here add what the loop needs (loading
a registered dataset) and register the names. The ``temporal`` method
(:mod:`pyg_ext.zoo.thegcn`) trains on them with
:func:`pyg_ext.fit.fit_thegcn`.
"""
from pyg_ext.datasets.temporal import TemporalGraph
from pyg_ext.fit.temporal_data import (TemporalTaskData, chronological_split,
                                       random_node_split)
from pyg_ext.fit.temporal_options import (DynamicNodeClassificationOptions,
                                          TemporalLinkPredictionOptions,
                                          TemporalNodeClassificationOptions,
                                          TemporalTaskOptions)
from pyg_ext.fit.temporal_link import TemporalLinkPredictionTask
from pyg_ext.fit.temporal_tasks import (DynamicNodeClassificationTask,
                                        TemporalNodeClassificationTask)
from pyg_ext.registry import register_task
from pyg_ext.train.task import Task

__all__ = [
    'TemporalTaskData',
    'TemporalTaskOptions',
    'TemporalNodeClassificationOptions',
    'DynamicNodeClassificationOptions',
    'TemporalLinkPredictionOptions',
    'TemporalLoopTask',
    'TemporalNodeClassification',
    'DynamicNodeClassification',
    'TemporalLinkPrediction',
    'chronological_split',
    'random_node_split',
]


class TemporalLoopTask(Task):
    r"""What the loop adds to a temporal task: its data is a registered
    :class:`TemporalGraph` dataset, built into the task's queries."""
    def load(self, dataset_entry, dataset_options, root):
        graph = super().load(dataset_entry, dataset_options, root)
        if not isinstance(graph, TemporalGraph):
            raise TypeError(f"{self.__class__.__name__} expects a "
                            f"TemporalGraph dataset, got "
                            f"{type(graph).__name__}")
        return self.build(graph)


@register_task('temporal_node_classification')
class TemporalNodeClassification(TemporalNodeClassificationTask,
                                 TemporalLoopTask):
    r"""Node classification on an event stream with static or timeline
    labels and a random 60/20/20 node split (THeGCN's protocol)."""


@register_task('dynamic_node_classification')
class DynamicNodeClassification(DynamicNodeClassificationTask,
                                TemporalLoopTask):
    r"""JODIE-style dynamic node classification: classify ``src_i`` at
    ``t_i`` with the per-event label, chronological 70/15/15, ROC-AUC."""


@register_task('temporal_link_prediction')
class TemporalLinkPrediction(TemporalLinkPredictionTask, TemporalLoopTask):
    r"""Future link prediction on an event stream: chronological 70/15/15,
    AP/AUC with one negative per positive, MRR with the TGB tie rule."""
