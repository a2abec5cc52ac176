r"""The Planetoid citation graphs (Cora, CiteSeer, PubMed) through PyG's own
:class:`torch_geometric.datasets.Planetoid`, reading the raw ``ind.*`` files
from ``<root>/planetoid/<Name>/raw`` and writing processed files to the cache.
"""
from dataclasses import dataclass
from typing import Callable, Literal, Optional

from torch_geometric.data import Data
from torch_geometric.datasets import Planetoid

from pyg_ext.datasets._cache import (CachedRawMixin, dataset_doc,
                                     register_variants)
from pyg_ext.datasets.paths import PathLike

__all__ = ['PlanetoidDataset', 'PlanetoidOptions', 'load_planetoid']

PLANETOID_NAMES = {'cora': 'Cora', 'citeseer': 'CiteSeer', 'pubmed': 'PubMed'}


@dataset_doc('Cora 2708 10556 1433 7; CiteSeer 3327 9104 3703 6; '
             'PubMed 19717 88648 500 3')
class PlanetoidDataset(CachedRawMixin, Planetoid):
    r"""The citation network datasets :obj:`"Cora"`, :obj:`"CiteSeer"` and
    :obj:`"PubMed"` from the `"Revisiting Semi-Supervised Learning with Graph
    Embeddings" <https://arxiv.org/abs/1603.08861>`_ paper, processed by PyG's
    :class:`~torch_geometric.datasets.Planetoid` (same ``process()`` code).

    Unlike PyG, :obj:`root` is the *data root*: the raw files are read from
    ``<root>/planetoid/<Name>/raw`` (never written to) and processed files go
    to :func:`~pyg_ext.datasets.cache_dir_for` of that folder.

    Args:
        root (str, optional): The data root (default: ``$PYG_EXT_DATA``, else
            ``./datasets``).
        name (str): :obj:`"Cora"`, :obj:`"CiteSeer"` or :obj:`"PubMed"`
            (case-insensitive).
        split (str, optional): :obj:`"public"` (the fixed Planetoid split)
            or :obj:`"full"` (all non-val/test nodes train), see
            :class:`~torch_geometric.datasets.Planetoid`.
            (default: :obj:`"public"`)
        cache_dir (str, optional): Cache root (default:
            :func:`~pyg_ext.datasets.get_cache_dir`).
        download (bool, optional): If :obj:`True`, missing raw files are
            downloaded *into the data root* from the Planetoid GitHub
            repository; otherwise they raise
            :class:`~pyg_ext.datasets.DatasetNotFoundError` at once.
            (default: :obj:`False`)
    """
    # https://github.com/kimiyoung/planetoid/raw/master/data
    url = Planetoid.url

    def __init__(self, root: Optional[PathLike], name: str,
                 split: str = 'public', cache_dir: Optional[PathLike] = None,
                 download: bool = False,
                 transform: Optional[Callable] = None,
                 pre_transform: Optional[Callable] = None,
                 force_reload: bool = False) -> None:
        if not isinstance(name, str) or name.lower() not in PLANETOID_NAMES:
            raise ValueError(f"'name' must be one of "
                             f"{sorted(PLANETOID_NAMES.values())}, got "
                             f"{name!r}")
        if split not in ('public', 'full'):
            raise ValueError(f"'split' must be 'public' or 'full', got "
                             f"{split!r}")
        name = PLANETOID_NAMES[name.lower()]
        low = name.lower()
        files = [f'ind.{low}.{x}' for x in
                 ['x', 'tx', 'allx', 'y', 'ty', 'ally', 'graph', 'test.index']]
        force_reload = self._prepare(
            root, f'planetoid/{name}/raw', f'planetoid-{low}', files,
            dataset=low, url=f'{self.url}/ind.{low}.x (and the other '
            f'ind.{low}.* files)', download=download,
            force_reload=force_reload, cache=cache_dir)
        with self._locked():
            super().__init__(str(self.data_root), name, split=split,
                             transform=transform, pre_transform=pre_transform,
                             force_reload=force_reload)
            self._mark_done()

    def __repr__(self) -> str:
        return f'{self.name}()'


@dataclass
class PlanetoidOptions:
    r"""Options of the Planetoid loaders.

    Args:
        split (str): :obj:`"public"` or :obj:`"full"`.
    """
    split: Literal['public', 'full'] = 'public'


def load_planetoid(root: Optional[PathLike], name: str,
                   split: str = 'public') -> Data:
    r"""Loads one Planetoid graph as a :class:`~torch_geometric.data.Data`
    with 1-D ``train_mask`` / ``val_mask`` / ``test_mask`` [N]."""
    return PlanetoidDataset(root, name, split=split)[0]


register_variants(load_planetoid, {
    k: (k, f'Planetoid {pretty} citation graph, public split (PyG '
           f'Planetoid; <root>/planetoid/{pretty}/raw)')
    for k, pretty in PLANETOID_NAMES.items()}, PlanetoidOptions)
