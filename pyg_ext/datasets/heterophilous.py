r"""The Yandex heterophilous-graph ``.npz`` files (chameleon, squirrel and
their filtered / directed variants, actor, texas, cornell, wisconsin, ...)
read from ``<root>/heterophilous/<name>.npz``."""
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import torch
from torch_geometric.data import Data, InMemoryDataset, download_url
from torch_geometric.utils import to_undirected as _to_undirected

from pyg_ext.datasets._cache import (CachedRawMixin, dataset_doc,
                                     register_variants)
from pyg_ext.datasets.paths import PathLike
from pyg_ext.registry import register_dataset

__all__ = [
    'HeterophilousNPZDataset',
    'HeterophilousOptions',
    'HeterophilousNPZOptions',
    'HETEROPHILOUS_NAMES',
    'load_heterophilous',
]

HETEROPHILOUS_URL = ('https://github.com/yandex-research/heterophilous-graphs/'
                     'raw/main/data')

HETEROPHILOUS_NAMES = (
    'chameleon', 'squirrel', 'actor', 'texas', 'cornell', 'wisconsin',
    'chameleon_filtered', 'squirrel_filtered', 'chameleon_directed',
    'squirrel_directed', 'chameleon_filtered_directed',
    'squirrel_filtered_directed', 'texas_4_classes')

NPZ_KEYS = ('node_features', 'node_labels', 'edges', 'train_masks',
            'val_masks', 'test_masks')


@dataset_doc('chameleon 2277 62742 2325 5; '
             'chameleon_filtered 890 17708 2325 5; '
             'squirrel 5201 396706 2089 5; '
             'squirrel_filtered 2223 93996 2089 5; '
             'actor 7600 53318 932 5; texas 183 558 1703 5; '
             'cornell 183 554 1703 5; wisconsin 251 900 1703 5',
             note='(edges after symmetrisation, directed variants as stored)')
class HeterophilousNPZDataset(CachedRawMixin, InMemoryDataset):
    r"""A graph in the ``.npz`` format of the `"A Critical Look at the
    Evaluation of GNNs under Heterophily: Are We Really Making Progress?"
    <https://arxiv.org/abs/2302.11640>`_ paper (keys ``node_features``,
    ``node_labels``, ``edges`` [E, 2], ``train_masks`` / ``val_masks`` /
    ``test_masks`` [10, N]); the ``process()`` step is the one of PyG's
    :class:`~torch_geometric.datasets.HeterophilousGraphDataset`, masks are
    returned as [N, 10] (PyG convention).

    Edges are made undirected (:func:`~torch_geometric.utils.to_undirected`,
    as PyG does) unless the name contains ``'directed'``: those variants are
    kept as stored, as the authors' code does (it only symmetrises the
    non-directed graphs). :obj:`to_undirected` overrides this.

    Args:
        root (str, optional): The data root; the file is
            ``<root>/heterophilous/<name>.npz``.
        name (str): The file stem, e.g. :obj:`"chameleon_filtered"`.
        file (str, optional): Instead of :obj:`name`, the path of any ``.npz``
            of this format (relative paths are taken relative to
            :obj:`root`). (default: :obj:`None`)
        to_undirected (bool, optional): Symmetrise the edges (default:
            :obj:`None`: yes unless :obj:`name` contains ``'directed'``).
        cache_dir (str, optional): Cache root.
        download (bool, optional): Download a missing file from the
            Yandex GitHub repository into the data root instead of raising
            :class:`~pyg_ext.datasets.DatasetNotFoundError`.
            (default: :obj:`False`)
    """
    url = HETEROPHILOUS_URL

    def __init__(self, root: Optional[PathLike] = None,
                 name: Optional[str] = None, file: Optional[PathLike] = None,
                 to_undirected: Optional[bool] = None,
                 cache_dir: Optional[PathLike] = None, download: bool = False,
                 transform: Optional[Callable] = None,
                 pre_transform: Optional[Callable] = None,
                 force_reload: bool = False) -> None:
        if (name is None) == (file is None):
            raise ValueError("give exactly one of 'name' (a file stem under "
                             "<root>/heterophilous) or 'file' (a path to an "
                             f".npz), got name={name!r}, file={file!r}")
        if to_undirected is not None and not isinstance(to_undirected, bool):
            raise TypeError(f"'to_undirected' must be a bool or None, got "
                            f"{to_undirected!r}")
        from pyg_ext.datasets._cache import resolve_root
        data_root = resolve_root(root)
        if file is not None:
            path = Path(file)
            if not path.is_absolute():
                path = data_root / path
            if path.suffix != '.npz':
                raise ValueError(f"'file' must name a .npz file, got "
                                 f"{str(file)!r}")
            raw_root, raw_rel, stem = path.parent, '.', path.stem
        else:
            if not isinstance(name, str) or not name or '/' in name:
                raise ValueError(f"'name' must be a file stem such as "
                                 f"'chameleon', got {name!r}")
            stem = name[:-4] if name.endswith('.npz') else name
            raw_root, raw_rel = data_root, 'heterophilous'
        self.name = stem
        self.to_undirected = (('directed' not in stem)
                              if to_undirected is None else to_undirected)
        force_reload = self._prepare(
            raw_root, raw_rel, f'heterophilous-{stem}', [f'{stem}.npz'],
            dataset=stem, url=f'{self.url}/{stem}.npz', download=download,
            force_reload=force_reload, cache=cache_dir)
        self._build(transform, pre_transform, force_reload)

    @property
    def raw_file_names(self) -> str:
        return f'{self.name}.npz'

    @property
    def processed_file_names(self) -> str:
        return 'undirected.pt' if self.to_undirected else 'as_stored.pt'

    def download(self) -> None:
        download_url(f'{self.url}/{self.name}.npz', self.raw_dir)

    def process(self) -> None:
        raw = np.load(self.raw_paths[0], 'r')
        missing = [k for k in NPZ_KEYS if k not in raw.files]
        if missing:
            raise ValueError(f"'{self.raw_paths[0]}' is not a heterophilous "
                             f"npz: missing keys {missing}")
        x = torch.from_numpy(raw['node_features'])
        y = torch.from_numpy(raw['node_labels'])
        edge_index = torch.from_numpy(raw['edges']).t().contiguous()
        if self.to_undirected:
            edge_index = _to_undirected(edge_index, num_nodes=x.size(0))
        train_mask = torch.from_numpy(raw['train_masks']).t().contiguous()
        val_mask = torch.from_numpy(raw['val_masks']).t().contiguous()
        test_mask = torch.from_numpy(raw['test_masks']).t().contiguous()

        data = Data(x=x, y=y, edge_index=edge_index, train_mask=train_mask,
                    val_mask=val_mask, test_mask=test_mask)
        self._save_processed(data)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(name={self.name})'


def load_heterophilous(root: Optional[PathLike], name: Optional[str] = None,
                       file: Optional[PathLike] = None,
                       to_undirected: Optional[bool] = None) -> Data:
    r"""Loads a heterophilous ``.npz`` graph as a
    :class:`~torch_geometric.data.Data` with masks [N, 10]."""
    return HeterophilousNPZDataset(root, name=name, file=file,
                                   to_undirected=to_undirected)[0]


@dataclass
class HeterophilousOptions:
    r"""Options of the named heterophilous loaders.

    Args:
        to_undirected (bool, optional): Symmetrise the edges (default
            :obj:`None`: yes unless the name contains ``'directed'``).
    """
    to_undirected: Optional[bool] = None


@dataclass
class HeterophilousNPZOptions:
    r"""Options of the generic ``heterophilous_npz`` loader.

    Args:
        name (str, optional): File stem under ``<root>/heterophilous``.
        file (str, optional): Path of any ``.npz`` of this format.
        to_undirected (bool, optional): See :class:`HeterophilousOptions`.
    """
    name: Optional[str] = None
    file: Optional[str] = None
    to_undirected: Optional[bool] = None


register_variants(load_heterophilous, {
    k: (k, f'Yandex heterophilous npz {k!r}, 10 fixed splits '
           f'(<root>/heterophilous/{k}.npz)') for k in HETEROPHILOUS_NAMES},
    HeterophilousOptions)


@register_dataset('heterophilous_npz', options=HeterophilousNPZOptions)
def load_heterophilous_npz(root: str, name: Optional[str] = None,
                           file: Optional[str] = None,
                           to_undirected: Optional[bool] = None) -> Data:
    r"""Any Yandex-format heterophilous npz (option name= or file=).

    Masks [N, 10] as stored in the file."""
    return load_heterophilous(root, name=name, file=file,
                              to_undirected=to_undirected)
