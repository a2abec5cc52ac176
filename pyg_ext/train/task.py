r"""The :class:`Task` interface: how a problem turns data into model inputs,
a loss and metrics. Concrete tasks register themselves with
:func:`pyg_ext.registry.register_task`."""
from dataclasses import dataclass
from typing import Any, Dict, Tuple

import torch

from pyg_ext.fit.supervised import node_forward, node_loss
from pyg_ext.utils.device import move_to

__all__ = ['Task', 'TaskOptions', 'NodeTask']


@dataclass
class TaskOptions:
    r"""A task without options."""


class Task:
    r"""Base class of a task.

    A task knows how to

    * load its data from a registered dataset (:meth:`load`),
    * say how many fixed splits the data has and select one (:meth:`num_splits`,
      :meth:`get_split`),
    * tell the model sizes (:meth:`model_channels`),
    * run a model on the data (:meth:`forward`), compute the training loss
      (:meth:`loss`) and evaluate (:meth:`evaluate`, returning flat
      ``'{split}_{metric}'`` keys such as ``'val_accuracy'``).

    Methods (:class:`pyg_ext.train.Method`) use these pieces; a task whose
    method does everything itself may leave the per-epoch hooks unimplemented.

    Attributes:
        metric (str): The main metric; model selection uses
            ``'val_' + metric`` and the reported score is ``'test_' + metric``.
        higher_is_better (bool): Direction of :attr:`metric`.
    """
    Options = TaskOptions
    metric: str = 'accuracy'
    higher_is_better: bool = True

    def __init__(self, options: Any = None):
        self.options = options if options is not None else self.Options()

    # data -------------------------------------------------------------
    def load(self, dataset_entry, dataset_options: Any, root: str) -> Any:
        r"""Loads the data by calling the registered dataset loader."""
        kwargs = {}
        if dataset_options is not None:
            from dataclasses import asdict
            kwargs = asdict(dataset_options)
        return dataset_entry.obj(root=root, **kwargs)

    def num_splits(self, data: Any) -> int:
        return 1

    def get_split(self, data: Any, split: int) -> Any:
        return data

    def to(self, data: Any, device: torch.device) -> Any:
        r"""The run's data on :obj:`device` (everything a run touches:
        the default moves every tensor of :obj:`data`, see
        :func:`pyg_ext.utils.device.move_to`)."""
        return move_to(data, device)

    def model_channels(self, data: Any) -> Tuple[int, int]:
        r"""``(in_channels, out_channels)`` for the model builder."""
        raise NotImplementedError

    # per-epoch hooks ----------------------------------------------------
    def forward(self, model: torch.nn.Module, data: Any) -> Any:
        raise NotImplementedError

    def loss(self, out: Any, data: Any, split: str = 'train') -> torch.Tensor:
        raise NotImplementedError

    @torch.no_grad()
    def evaluate(self, out: Any, data: Any) -> Dict[str, float]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}({self.options})'


class NodeTask(Task):
    r"""A node-level task on one graph: ``model(x, edge_index)`` and
    cross-entropy on ``<split>_mask`` (see
    :func:`pyg_ext.fit.supervised.node_forward` /
    :func:`~pyg_ext.fit.supervised.node_loss`)."""
    def forward(self, model: torch.nn.Module, data: Any) -> Any:
        return node_forward(model, data)

    def loss(self, out: Any, data: Any, split: str = 'train') -> torch.Tensor:
        return node_loss(out, data, split)
