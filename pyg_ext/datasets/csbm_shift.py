r"""Source/target graph pairs for test-time adaptation under structure shift:
the :class:`GraphShift` container and the CSBM settings of AdaRC."""
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import torch
from torch_geometric.data import Data, InMemoryDataset

from pyg_ext.datasets.csbm import csbm_graph
from pyg_ext.registry import register_dataset
from pyg_ext.utils.validation import check_float, check_graph, check_int

__all__ = [
    'GraphShift',
    'CSBM_SHIFT_SETTINGS',
    'CSBMStructureShift',
    'CSBMShiftOptions',
    'load_csbm_shift',
]


class GraphShift:
    r"""A source graph to train on and a target graph to adapt to.

    Masks follow PyG conventions: the source is trained on
    ``source.train_mask`` (and may have a ``val_mask``); the target is
    evaluated on ``target.test_mask``. Loaders set masks to all nodes where
    the protocol has none (CSBM, Twitch-E), as the official code does.

    Args:
        source (Data): The source graph.
        target (Data): The target graph (same feature space and classes).
        name (str, optional): A short description.
    """
    def __init__(self, source: Data, target: Data, name: str = ''):
        for key, g in (('source', source), ('target', target)):
            if not isinstance(g, Data):
                raise TypeError(f"'{key}' must be a torch_geometric Data, got "
                                f"{type(g).__name__}")
            for attr in ('x', 'edge_index', 'y'):
                if getattr(g, attr, None) is None:
                    raise ValueError(f"the {key} graph has no '{attr}'")
        for key, g in (('source', source), ('target', target)):
            check_graph(g, key, labels=True)  # values, once
        if source.num_features != target.num_features:
            raise ValueError(f"source and target must share the feature "
                             f"space, got {source.num_features} and "
                             f"{target.num_features} features")
        n = source.num_nodes
        if getattr(source, 'train_mask', None) is None:
            source.train_mask = torch.ones(n, dtype=torch.bool)
        if getattr(target, 'test_mask', None) is None:
            target.test_mask = torch.ones(target.num_nodes, dtype=torch.bool)
        self.source = source
        self.target = target
        self.name = name

    @property
    def num_features(self) -> int:
        return self.source.num_features

    @property
    def num_classes(self) -> int:
        return int(max(self.source.y.max(), self.target.y.max())) + 1

    def __iter__(self):
        return iter((self.source, self.target))

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.name or "?"}: source '
                f'{self.source.num_nodes} nodes, target '
                f'{self.target.num_nodes} nodes)')


# name -> ((d_source, h_source), (d_target, h_target)); official Table 1.
CSBM_SHIFT_SETTINGS: Dict[str, Tuple[Tuple[float, float],
                                     Tuple[float, float]]] = {
    'homo2hetero': ((5, 0.8), (5, 0.2)),
    'hetero2homo': ((5, 0.2), (5, 0.8)),
    'high2low': ((10, 0.8), (2, 0.8)),
    'low2high': ((2, 0.8), (10, 0.8)),
    'none': ((5, 0.8), (5, 0.8)),
}


class CSBMStructureShift(InMemoryDataset):
    r"""The synthetic structure-shift pairs of the `"AdaRC: Mitigating Graph
    Structure Shifts during Test-Time" <https://arxiv.org/abs/2410.06976>`_
    paper: a CSBM source graph and a CSBM target graph (see
    :func:`~pyg_ext.datasets.csbm_graph`) that differ in homophily and/or
    degree, optionally with an attribute shift of the target means
    (:math:`\mu_\pm \to \mu_\pm + \Delta\mu`). ``dataset[0]`` is the source,
    ``dataset[1]`` the target; :meth:`pair` returns a :class:`GraphShift`.

    .. list-table::
        :header-rows: 1

        * - setting
          - source (d, h)
          - target (d, h)
        * - ``homo2hetero``
          - (5, 0.8)
          - (5, 0.2)
        * - ``hetero2homo``
          - (5, 0.2)
          - (5, 0.8)
        * - ``high2low``
          - (10, 0.8)
          - (2, 0.8)
        * - ``low2high``
          - (2, 0.8)
          - (10, 0.8)
        * - ``none``
          - (5, 0.8)
          - (5, 0.8)

    The official protocol trains on all source nodes and evaluates on all
    target nodes, so every mask covers all nodes. The source graph uses seed
    :obj:`seed`, the target :obj:`seed + 1` (the official graphs come from one
    NumPy stream seeded with 0 and cannot be reproduced bit for bit).

    Args:
        setting (str, optional): One of the settings above.
            (default: :obj:`"homo2hetero"`)
        attribute_shift (float, optional): :math:`\Delta\mu` of the target
            (official: :obj:`0.0` or :obj:`0.02`). (default: :obj:`0.0`)
        num_nodes (int, optional): Nodes per graph. (default: :obj:`5000`)
        num_features (int, optional): Features. (default: :obj:`2000`)
        mu (float, optional): Class-mean magnitude. (default: :obj:`0.03`)
        degree_convention (str, optional): See
            :func:`~pyg_ext.datasets.csbm_graph`. (default: :obj:`"adarc"`)
        seed (int, optional): Seed. (default: :obj:`0`)
        source (tuple, optional): Override the source :math:`(d, h)`.
        target (tuple, optional): Override the target :math:`(d, h)`.
    """
    def __init__(self, setting: str = 'homo2hetero',
                 attribute_shift: float = 0.0, num_nodes: int = 5000,
                 num_features: int = 2000, mu: float = 0.03,
                 degree_convention: str = 'adarc', seed: int = 0,
                 source: Optional[Tuple[float, float]] = None,
                 target: Optional[Tuple[float, float]] = None,
                 transform=None):
        if setting not in CSBM_SHIFT_SETTINGS:
            raise ValueError(f"'setting' must be one of "
                             f"{sorted(CSBM_SHIFT_SETTINGS)}, got "
                             f"{setting!r}")
        self.setting = setting
        self.attribute_shift = check_float('attribute_shift',
                                           attribute_shift)
        check_int('seed', seed, 0)
        s, t = CSBM_SHIFT_SETTINGS[setting]
        s = tuple(source) if source is not None else s
        t = tuple(target) if target is not None else t
        for key, pair in (('source', s), ('target', t)):
            if len(pair) != 2:
                raise ValueError(f"'{key}' must be a (degree, homophily) "
                                 f"pair, got {pair!r}")
        self.source_params, self.target_params = s, t
        common = dict(num_nodes=num_nodes, num_features=num_features, mu=mu,
                      degree_convention=degree_convention)
        src = csbm_graph(degree=s[0], homophily=s[1], seed=seed, **common)
        tgt = csbm_graph(degree=t[0], homophily=t[1], seed=seed + 1,
                         delta_mu=attribute_shift, **common)
        for g in (src, tgt):
            n = g.num_nodes
            g.train_mask = torch.ones(n, dtype=torch.bool)
            g.val_mask = torch.zeros(n, dtype=torch.bool)
            g.test_mask = torch.ones(n, dtype=torch.bool)
        super().__init__(None, transform)
        self._data_list: List[Data] = [src, tgt]
        self.data, self.slices = self.collate(self._data_list)

    def pair(self) -> GraphShift:
        return GraphShift(self[0], self[1], self.name)

    @property
    def name(self) -> str:
        shift = f'+attr{self.attribute_shift:g}' if self.attribute_shift \
            else ''
        return f'csbm-{self.setting}{shift}'

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.setting!r}, '
                f'attribute_shift={self.attribute_shift})')


@dataclass
class CSBMShiftOptions:
    r"""Options of the ``csbm_shift`` dataset (see
    :class:`CSBMStructureShift`). The defaults are the CI-size setting of the
    AdaRC spec (same per-direction SNR :math:`\mu\sqrt{p} \approx 1.34` as the
    official n=5000, p=2000, :math:`\mu=0.03`)."""
    setting: str = 'homo2hetero'
    attribute_shift: float = 0.0
    num_nodes: int = 2000
    num_features: int = 500
    mu: float = 0.06
    degree_convention: str = 'adarc'
    seed: int = 0


@register_dataset('csbm_shift', options=CSBMShiftOptions,
                  description='CSBM source/target pair under structure shift '
                  '(AdaRC; synthetic, no data root)')
def load_csbm_shift(root: Optional[str] = None,
                    setting: str = 'homo2hetero',
                    attribute_shift: float = 0.0, num_nodes: int = 2000,
                    num_features: int = 500, mu: float = 0.06,
                    degree_convention: str = 'adarc',
                    seed: int = 0) -> GraphShift:
    r"""A :class:`GraphShift` from :class:`CSBMStructureShift`."""
    return CSBMStructureShift(setting, attribute_shift, num_nodes,
                              num_features, mu, degree_convention,
                              seed).pair()
