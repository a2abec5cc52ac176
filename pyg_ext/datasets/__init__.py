r"""Datasets and loaders. Each loader module registers itself by name with
:func:`pyg_ext.registry.register_dataset`; keep one import line per module."""
from pyg_ext.datasets.paths import (DatasetNotFoundError, get_data_root,
                                    get_cache_dir, cache_dir_for,
                                    require_files)

__all__ = [
    'DatasetNotFoundError',
    'get_data_root',
    'get_cache_dir',
    'cache_dir_for',
    'require_files',
]
from pyg_ext.datasets.csbm import csbm_graph, random_split_masks, CSBMOptions, load_csbm  # noqa: E501
__all__ += ['csbm_graph', 'random_split_masks', 'CSBMOptions', 'load_csbm']
