r"""Datasets and loaders. Each loader module registers itself by name with
:func:`pyg_ext.registry.register_dataset`; keep one import line per module."""
from pyg_ext.datasets.paths import (DatasetNotFoundError, get_data_root,
                                    get_cache_dir, cache_dir_for,
                                    require_files)

__all__ = ['DatasetNotFoundError', 'get_data_root', 'get_cache_dir', 'cache_dir_for', 'require_files']  # noqa: E501
from pyg_ext.datasets.csbm import csbm_graph, random_split_masks, CSBMOptions, load_csbm  # noqa: E501
__all__ += ['csbm_graph', 'random_split_masks', 'CSBMOptions', 'load_csbm']
from pyg_ext.datasets.planetoid import PlanetoidDataset, load_planetoid
from pyg_ext.datasets.heterophilous import (HeterophilousNPZDataset,
                                            load_heterophilous)
from pyg_ext.datasets.geomgcn import GeomGCNDataset, load_geomgcn
from pyg_ext.datasets.linkx import (Facebook100Dataset, TwitchDataset,
                                    load_facebook100, load_twitch,
                                    random_label_splits, linkx_fixed_splits)
from pyg_ext.datasets.ogb import ogbn_dataset, load_ogbn, load_ogbn_arxiv
__all__ += ['PlanetoidDataset', 'load_planetoid', 'HeterophilousNPZDataset',
            'load_heterophilous', 'GeomGCNDataset', 'load_geomgcn',
            'Facebook100Dataset', 'TwitchDataset', 'load_facebook100',
            'load_twitch', 'random_label_splits', 'linkx_fixed_splits',
            'ogbn_dataset', 'load_ogbn', 'load_ogbn_arxiv']
from pyg_ext.datasets.feature_structure import feature_structure_graph, FeatureStructureOptions, load_feature_structure  # noqa: E501
__all__ += ['feature_structure_graph', 'FeatureStructureOptions', 'load_feature_structure']
from pyg_ext.datasets.csbm_shift import GraphShift, CSBMStructureShift, CSBM_SHIFT_SETTINGS, load_csbm_shift  # noqa: E501
__all__ += ['GraphShift', 'CSBMStructureShift', 'CSBM_SHIFT_SETTINGS', 'load_csbm_shift']
from pyg_ext.datasets.real_shift import twitch_shift, syn_cora_graph, syn_cora_shift, arxiv_time_shift, feature_hash_split, preferential_attachment_graph  # noqa: E501
__all__ += ['twitch_shift', 'syn_cora_graph', 'syn_cora_shift', 'arxiv_time_shift', 'feature_hash_split', 'preferential_attachment_graph']
