r"""Test-time adaptation: train on a source graph, evaluate on a shifted
target graph (with and without adaptation). The data is a
:class:`~pyg_ext.datasets.GraphShift` (``source``/``target`` PyG graphs);
the methods (e.g. ``adarc``) do the pretraining and adaptation."""
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import torch
from torch_geometric.data import Data

from pyg_ext.datasets.csbm_shift import GraphShift
from pyg_ext.fit.supervised import node_metrics
from pyg_ext.registry import register_task
from pyg_ext.train.task import NodeTask

__all__ = ['TestTimeAdaptation', 'TestTimeAdaptationOptions']


@dataclass
class TestTimeAdaptationOptions:
    r"""Args:
        num_neighbors (list of int, optional): Neighbours sampled per hop
            when the source pre-training runs in mini-batches (with
            ``train.batch_size``).
    """
    num_neighbors: Optional[List[int]] = None

    def __post_init__(self):
        if self.num_neighbors is not None:
            from pyg_ext.sampler import check_num_neighbors
            check_num_neighbors(self.num_neighbors)


@register_task('test_time_adaptation')
class TestTimeAdaptation(NodeTask):
    r"""Train on a source graph, test on a shifted target graph.

    The metric is the accuracy on ``target.test_mask``."""
    Options = TestTimeAdaptationOptions
    metric = 'accuracy'
    higher_is_better = True

    def load(self, dataset_entry, dataset_options, root) -> GraphShift:
        data = super().load(dataset_entry, dataset_options, root)
        if not isinstance(data, GraphShift):
            raise TypeError(
                f"test_time_adaptation needs a dataset that returns a "
                f"source/target GraphShift (e.g. 'csbm_shift', "
                f"'twitch_shift', 'syn_cora_shift', 'arxiv_time_shift'); "
                f"'{dataset_entry.name}' returned {type(data).__name__}")
        return data

    def num_splits(self, data: GraphShift) -> int:
        return 1

    def get_split(self, data: GraphShift, split: int) -> GraphShift:
        if split != 0:
            raise ValueError(f"split: a GraphShift has one split, got {split}")
        return data

    def model_channels(self, data: GraphShift) -> Tuple[int, int]:
        return data.num_features, data.num_classes

    @torch.no_grad()
    def evaluate(self, out: torch.Tensor, data: Data) -> Dict[str, float]:
        r"""Accuracy on every non-empty mask of one graph."""
        return node_metrics(out, data)
