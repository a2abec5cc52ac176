r"""The Geom-GCN WebKB graphs (Texas, Cornell, Wisconsin) and Actor ("film")
read from the Geom-GCN file layout ``<root>/geomgcn/new_data/<name>/`` and
``<root>/geomgcn/splits/``, processed by PyG's own
:class:`~torch_geometric.datasets.WebKB` /
:class:`~torch_geometric.datasets.Actor` ``process()`` code."""
from pathlib import Path
from typing import Callable, List, Optional

from torch_geometric.data import Data, InMemoryDataset, download_url
from torch_geometric.datasets import Actor, WebKB

from pyg_ext.datasets._cache import (CachedRawMixin, dataset_doc,
                                     register_variants)
from pyg_ext.datasets.paths import PathLike

__all__ = ['GeomGCNDataset', 'GEOMGCN_NAMES', 'load_geomgcn']

GEOMGCN_NAMES = ('texas', 'cornell', 'wisconsin', 'film')


@dataset_doc('texas 183 325 1703 5; cornell 183 298 1703 5; '
             'wisconsin 251 515 1703 5; film (Actor) 7600 30019 932 5')
class GeomGCNDataset(CachedRawMixin, InMemoryDataset):
    r"""The WebKB graphs :obj:`"texas"`, :obj:`"cornell"`,
    :obj:`"wisconsin"` and the actor co-occurrence graph :obj:`"film"` with
    the ten 60/20/20 splits of the `"Geom-GCN: Geometric Graph Convolutional
    Networks" <https://openreview.net/forum?id=S1e2agrFvS>`_ paper.

    The raw files are read from the Geom-GCN repository layout under the data
    root (``geomgcn/new_data/<name>/out1_node_feature_label.txt``,
    ``geomgcn/new_data/<name>/out1_graph_edges.txt`` and
    ``geomgcn/splits/<name>_split_0.6_0.2_{0..9}.npz``); ``process()`` *is*
    PyG's :meth:`WebKB.process` (texas, cornell, wisconsin) or
    :meth:`Actor.process` (film), so the result equals PyG's dataset: directed
    coalesced edges as in the files, masks [N, 10].

    Args:
        root (str, optional): The data root.
        name (str): :obj:`"texas"`, :obj:`"cornell"`, :obj:`"wisconsin"` or
            :obj:`"film"` (:obj:`"actor"` is accepted for :obj:`"film"`).
        cache_dir (str, optional): Cache root.
        download (bool, optional): Download missing files from the Geom-GCN
            GitHub repository into the data root instead of raising
            :class:`~pyg_ext.datasets.DatasetNotFoundError`.
            (default: :obj:`False`)
    """
    # https://raw.githubusercontent.com/graphdml-uiuc-jlu/geom-gcn/master
    url = WebKB.url

    def __init__(self, root: Optional[PathLike], name: str,
                 cache_dir: Optional[PathLike] = None, download: bool = False,
                 transform: Optional[Callable] = None,
                 pre_transform: Optional[Callable] = None,
                 force_reload: bool = False) -> None:
        key = name.lower() if isinstance(name, str) else name
        key = 'film' if key == 'actor' else key
        if key not in GEOMGCN_NAMES:
            raise ValueError(f"'name' must be one of {list(GEOMGCN_NAMES)}, "
                             f"got {name!r}")
        self.name = key
        force_reload = self._prepare(
            root, 'geomgcn', f'geomgcn-{key}', self.raw_file_names,
            dataset=f'geomgcn_{key}',
            url=f'{self.url}/new_data/{key}/ and {self.url}/splits/',
            download=download, force_reload=force_reload, cache=cache_dir)
        self._build(transform, pre_transform, force_reload)

    @property
    def raw_file_names(self) -> List[str]:
        out = [f'new_data/{self.name}/out1_node_feature_label.txt',
               f'new_data/{self.name}/out1_graph_edges.txt']
        out += [f'splits/{self.name}_split_0.6_0.2_{i}.npz'
                for i in range(10)]
        return out

    @property
    def processed_file_names(self) -> str:
        return 'data.pt'

    def download(self) -> None:
        for f in self.raw_file_names:
            path = Path(self.raw_dir) / f
            download_url(f'{self.url}/{f}', str(path.parent))

    def process(self) -> None:
        # PyG's parsing, unchanged: it only uses raw_paths (same order),
        # pre_transform, save() and processed_paths.
        (Actor if self.name == 'film' else WebKB).process(self)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(name={self.name})'


def load_geomgcn(root: Optional[PathLike], name: str) -> Data:
    r"""Loads a Geom-GCN graph as a :class:`~torch_geometric.data.Data` with
    masks [N, 10]."""
    return GeomGCNDataset(root, name)[0]


register_variants(load_geomgcn, {
    f'geomgcn_{k}': (k, f'Geom-GCN {"Actor (film)" if k == "film" else k}, '
                     f'10 fixed 60/20/20 splits (PyG '
                     f'{"Actor" if k == "film" else "WebKB"} processing; '
                     f'<root>/geomgcn)') for k in GEOMGCN_NAMES})
