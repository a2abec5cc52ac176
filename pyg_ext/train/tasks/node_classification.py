r"""Transductive node classification: masks ([N] or [N, S] for S fixed
splits) or an OGB split index, evaluated with :class:`pyg_ext.metrics.Evaluator`
or, for ``ogbn-*`` data, with ``ogb``'s own evaluator."""
import copy
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

import torch
from torch_geometric.data import Data

from pyg_ext.metrics import Evaluator
from pyg_ext.registry import register_task
from pyg_ext.train.task import NodeTask
from pyg_ext.utils.validation import check_graph, check_labels

__all__ = ['NodeClassification', 'NodeClassificationOptions']

SPLITS = ('train', 'val', 'test')


@dataclass
class NodeClassificationOptions:
    r"""Args:
        metric (str): Model-selection metric: ``'accuracy'``, ``'macro_f1'``
            or (binary labels) ``'rocauc'``.
        extra_metrics (list of str): Further metrics to report.
        normalize_features (bool): Row-normalise the features to sum to one
            (PyG's :class:`~torch_geometric.transforms.NormalizeFeatures`, the
            usual Planetoid preprocessing).
        num_neighbors (list of int, optional): Neighbours sampled per hop in
            mini-batch training (``-1``: all; with ``train.batch_size``).
    """
    metric: str = 'accuracy'
    extra_metrics: Tuple[str, ...] = ()
    normalize_features: bool = False
    num_neighbors: Optional[List[int]] = None

    def __post_init__(self):
        if self.num_neighbors is not None:
            from pyg_ext.sampler import check_num_neighbors
            check_num_neighbors(self.num_neighbors)
        for m in (self.metric, ) + tuple(self.extra_metrics):
            if m not in ('accuracy', 'macro_f1', 'rocauc'):
                raise ValueError(f"task.metric: expected 'accuracy', "
                                 f"'macro_f1' or 'rocauc', got {m!r}")


def _check_data(data: Any) -> None:
    if not isinstance(data, Data):
        raise TypeError(f"node_classification expects a torch_geometric "
                        f"Data, got {type(data).__name__}")
    for key in ('x', 'edge_index', 'y', 'train_mask', 'val_mask',
                'test_mask'):
        if getattr(data, key, None) is None:
            raise ValueError(f"node_classification: data has no '{key}'")
    n = check_graph(data)  # features, edges: values checked once, here
    labelled = torch.zeros(n, dtype=torch.bool, device=data.x.device)
    for key in ('train_mask', 'val_mask', 'test_mask'):
        m = data[key]
        if not isinstance(m, torch.Tensor) or m.dtype != torch.bool or \
                m.dim() not in (1, 2) or m.size(0) != n:
            raise ValueError(f"node_classification: 'data.{key}' must be a "
                             f"bool tensor of shape [N] or [N, S] with N={n}, "
                             f"got {getattr(m, 'dtype', type(m).__name__)} "
                             f"{tuple(getattr(m, 'shape', ()))}")
        labelled |= m if m.dim() == 1 else m.any(dim=1)
    y = data.y.view(-1) if data.y.dim() == 2 and data.y.size(1) == 1 \
        else data.y
    check_labels('data.y', y, n, where=labelled)


@register_task('node_classification')
class NodeClassification(NodeTask):
    r"""Transductive node classification with fixed splits."""
    Options = NodeClassificationOptions
    #: ``forward`` passes ``data.adj_t`` when the loop attached one.
    supports_adj_t = True

    @property
    def metric(self) -> str:
        return self.options.metric

    def load(self, dataset_entry, dataset_options, root):
        data = super().load(dataset_entry, dataset_options, root)
        _check_data(data)
        if data.y.dim() == 2 and data.y.size(1) == 1:
            data.y = data.y.view(-1)
        if self.options.normalize_features:
            from torch_geometric.transforms import NormalizeFeatures
            data = NormalizeFeatures()(copy.copy(data))
        return data

    def num_splits(self, data: Data) -> int:
        return 1 if data.train_mask.dim() == 1 else data.train_mask.size(1)

    def get_split(self, data: Data, split: int) -> Data:
        n = self.num_splits(data)
        if not 0 <= split < n:
            raise ValueError(f"split: expected 0 <= split < {n}, got {split}")
        out = copy.copy(data)
        if data.train_mask.dim() == 2:
            for key in ('train_mask', 'val_mask', 'test_mask'):
                out[key] = data[key][:, split]
        return out

    def model_channels(self, data: Data) -> Tuple[int, int]:
        return data.num_features, int(data.y.max()) + 1

    @torch.no_grad()
    def evaluate(self, out: torch.Tensor, data: Data) -> Dict[str, float]:
        pred = out.argmax(dim=-1)
        result = {}
        ogb_name = getattr(data, 'ogb_name', None)
        for metric in (self.options.metric, ) + tuple(
                self.options.extra_metrics):
            for split in SPLITS:
                mask = data[f'{split}_mask']
                if int(mask.sum()) == 0:
                    continue
                y = data.y[mask]
                if metric == 'accuracy' and ogb_name:
                    from ogb.nodeproppred import Evaluator as OGBEvaluator
                    val = OGBEvaluator(ogb_name).eval({
                        'y_true': y.view(-1, 1),
                        'y_pred': pred[mask].view(-1, 1)
                    })['acc']
                elif metric == 'rocauc':
                    score = out[mask].softmax(dim=-1)[:, 1]
                    val = Evaluator('rocauc').eval({
                        'y_true': y,
                        'y_pred': score
                    })['rocauc']
                else:
                    val = Evaluator(metric).eval({
                        'y_true': y,
                        'y_pred': pred[mask]
                    })[metric]
                result[f'{split}_{metric}'] = float(val)
        return result
