r"""LINKX-benchmark graphs: Facebook100 colleges (Penn94 ``.mat`` format) and
the Twitch-Explicit (MUSAE) graphs by language, read from ``<root>/linkx``.
"""
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, Literal, Optional, Tuple
from urllib.parse import quote

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Data, InMemoryDataset, download_url
from torch_geometric.utils import coalesce, one_hot
from torch_geometric.utils import to_undirected as _to_undirected

from pyg_ext.datasets._cache import (CachedRawMixin, dataset_doc,
                                     register_variants)
from pyg_ext.datasets.paths import PathLike, require_files
from pyg_ext.registry import register_dataset

__all__ = [
    'LINKX_URL',
    'TWITCH_LANGUAGES',
    'TWITCH_NUM_FEATURES',
    'random_label_splits',
    'linkx_fixed_splits',
    'Facebook100Dataset',
    'TwitchDataset',
    'load_facebook100',
    'load_twitch',
    'SplitOptions',
    'Facebook100Options',
    'TwitchOptions',
]

LINKX_URL = 'https://github.com/CUAI/Non-Homophily-Large-Scale/raw/master/data'
TWITCH_LANGUAGES = ('DE', 'ENGB', 'ES', 'FR', 'PTBR')
TWITCH_NUM_FEATURES = 3170  # MUSAE feature ids 0..3169, shared by languages
FB100_COLLEGES = {  # registered name -> file stem
    'reed98': 'Reed98',
    'amherst41': 'Amherst41',
    'johnshopkins55': 'JohnsHopkins55',
    'cornell5': 'Cornell5',
}
# The LINKX repository stores Johns Hopkins with a space in the file name.
_FB100_REMOTE = {'JohnsHopkins55': 'Johns Hopkins55'}


# splits ------------------------------------------------------------------
def random_label_splits(y: Tensor, num_splits: int = 5,
                        train_ratio: float = 0.5, val_ratio: float = 0.25,
                        seed: int = 0) -> Tuple[Tensor, Tensor, Tensor]:
    r"""Random train/val/test masks over the *labelled* nodes
    (:obj:`y >= 0`), LINKX's ``rand_train_test_idx`` protocol: per split a
    random permutation of the labelled nodes, the first
    ``int(n * train_ratio)`` train, the next ``int(n * val_ratio)``
    validation, the rest test.

    Args:
        y (Tensor): Labels [N]; negative entries are unlabelled.
        num_splits (int): Number of splits S. (default: :obj:`5`)
        train_ratio (float): (default: :obj:`0.5`)
        val_ratio (float): (default: :obj:`0.25`)
        seed (int): Seed of a private :class:`torch.Generator` (the global
            RNG is untouched). (default: :obj:`0`)

    Returns:
        (train_mask, val_mask, test_mask), each bool [N, S].

    Example:
        >>> y = torch.tensor([0, 1, -1, 1, 0, 1, 0, 1, 0])
        >>> tr, va, te = random_label_splits(y, num_splits=2)
        >>> tr.sum(0).tolist(), va.sum(0).tolist(), te.sum(0).tolist()
        ([4, 4], [2, 2], [2, 2])
        >>> bool((tr | va | te)[2].any())
        False
    """
    if not isinstance(y, Tensor) or y.dim() != 1:
        raise ValueError(f"'y' must be a 1-D tensor, got {y!r}")
    if isinstance(num_splits, bool) or not isinstance(num_splits, int) \
            or num_splits < 1:
        raise ValueError(f"'num_splits' must be a positive int, got "
                         f"{num_splits!r}")
    if not (0 < train_ratio < 1 and 0 <= val_ratio < 1
            and train_ratio + val_ratio < 1):
        raise ValueError(f"'train_ratio' and 'val_ratio' must be in (0, 1) "
                         f"with a sum < 1, got {train_ratio!r}, "
                         f"{val_ratio!r}")
    labelled = (y >= 0).nonzero().view(-1)
    n = labelled.numel()
    n_train, n_val = int(n * train_ratio), int(n * val_ratio)
    gen = torch.Generator().manual_seed(int(seed))
    N, S = y.numel(), num_splits
    masks = [torch.zeros(N, S, dtype=torch.bool) for _ in range(3)]
    for s in range(S):
        perm = labelled[torch.randperm(n, generator=gen)]
        masks[0][perm[:n_train], s] = True
        masks[1][perm[n_train:n_train + n_val], s] = True
        masks[2][perm[n_train + n_val:], s] = True
    return masks[0], masks[1], masks[2]


def linkx_fixed_splits(path: PathLike,
                       num_nodes: int) -> Tuple[Tensor, Tensor, Tensor]:
    r"""Reads a LINKX ``<name>-splits.npy`` file (an object array of dicts
    with ``'train'`` / ``'valid'`` / ``'test'`` node indices) as bool masks
    [N, S]; raises a :class:`ValueError` if the indices do not fit a graph of
    :obj:`num_nodes` nodes."""
    splits = np.load(path, allow_pickle=True)
    S = len(splits)
    masks = [torch.zeros(num_nodes, S, dtype=torch.bool) for _ in range(3)]
    for s, split in enumerate(splits):
        for m, key in zip(masks, ('train', 'valid', 'test')):
            idx = torch.as_tensor(np.asarray(split[key]), dtype=torch.long)
            if idx.numel() and (idx.min() < 0 or idx.max() >= num_nodes):
                raise ValueError(f"split file '{path}' does not match the "
                                 f"graph: index {int(idx.max())} out of "
                                 f"range for {num_nodes} nodes")
            m[idx, s] = True
    overlap = (masks[0] & masks[1]) | (masks[0] & masks[2]) | \
        (masks[1] & masks[2])
    if overlap.any():
        raise ValueError(f"split file '{path}': train/valid/test overlap")
    return masks[0], masks[1], masks[2]


class _SplitMixin:
    r"""Attaches LINKX fixed or seeded random split masks [N, S]."""

    def _check_split_args(self, split: str, num_splits: int,
                          train_ratio: float, val_ratio: float) -> None:
        if split not in ('auto', 'random', 'linkx'):
            raise ValueError(f"'split' must be 'auto', 'random' or 'linkx', "
                             f"got {split!r}")
        random_label_splits(torch.zeros(1, dtype=torch.long), num_splits,
                            train_ratio, val_ratio)  # validates the args

    def _attach_splits(self, split_file: str, split: str, num_splits: int,
                       train_ratio: float, val_ratio: float,
                       seed: int) -> None:
        data = self.get(0)
        path = self.data_root / 'linkx' / 'splits' / split_file
        if split == 'linkx':
            require_files(self.data_root, [f'linkx/splits/{split_file}'],
                          f'{self.name} (LINKX splits)',
                          f'{LINKX_URL}/splits/{split_file}')
        use_fixed = split == 'linkx' or (split == 'auto' and path.exists())
        if use_fixed:
            masks = linkx_fixed_splits(path, data.num_nodes)
            self.split_source = f'linkx:{split_file}'
        else:
            masks = random_label_splits(data.y, num_splits, train_ratio,
                                        val_ratio, seed)
            self.split_source = (f'random:{num_splits}x{train_ratio}/'
                                 f'{val_ratio}/seed={seed}')
        data.train_mask, data.val_mask, data.test_mask = masks
        self.data, self.slices = self.collate([data])


@dataclass
class SplitOptions:
    r"""Split options of the LINKX loaders.

    Args:
        split (str): :obj:`"auto"` (LINKX's fixed split file
            ``<root>/linkx/splits/<name>-splits.npy`` if present, else
            random), :obj:`"random"` or :obj:`"linkx"` (file required).
        num_splits (int): Random splits S. (default: :obj:`5`)
        train_ratio (float): (default: :obj:`0.5`)
        val_ratio (float): (default: :obj:`0.25`; test gets the rest)
        seed (int): Seed of the random splits. (default: :obj:`0`)
    """
    split: Literal['auto', 'random', 'linkx'] = 'auto'
    num_splits: int = 5
    train_ratio: float = 0.5
    val_ratio: float = 0.25
    seed: int = 0


# Facebook100 ---------------------------------------------------------------
@dataset_doc('Reed98 962 37624 745 2; Amherst41 2235 181908 1193 2; '
             'JohnsHopkins55 5180 373172 2406 2; '
             'Cornell5 18660 1581554 4735 2')
class Facebook100Dataset(_SplitMixin, CachedRawMixin, InMemoryDataset):
    r"""A Facebook100 college graph (Penn94 ``.mat`` format: ``A``,
    ``local_info``) from the `"Large Scale Learning on Non-Homophilous
    Graphs: New Benchmarks and Strong Simple Methods"
    <https://arxiv.org/abs/2110.14446>`_ paper (LINKX), read from
    ``<root>/linkx/facebook100/<college>.mat``.

    ``process()`` replicates the Facebook processing of PyG's
    :class:`~torch_geometric.datasets.LINKXDataset`: edges are the nonzeros
    of ``A`` (symmetric, so undirected), the label is the gender column minus
    one (``-1`` = unlabelled), and the features are the concatenated one-hot
    encodings of every other ``local_info`` column (status, major, second
    major, dorm, year, high school), one column per distinct value.

    Splits: LINKX's fixed file
    ``<root>/linkx/splits/fb100-<college>-splits.npy`` when present (it
    exists for Penn94 only), else :obj:`num_splits` seeded random 50/25/25
    splits of the labelled nodes (LINKX's protocol), masks [N, S].

    Args:
        root (str, optional): The data root.
        college (str): File stem, e.g. :obj:`"Reed98"`, :obj:`"Penn94"`.
        split (str, optional): :obj:`"auto"`, :obj:`"random"` or
            :obj:`"linkx"`, see :class:`SplitOptions`. (default: :obj:`"auto"`)
        num_splits (int, optional): (default: :obj:`5`)
        train_ratio (float, optional): (default: :obj:`0.5`)
        val_ratio (float, optional): (default: :obj:`0.25`)
        seed (int, optional): (default: :obj:`0`)
        cache_dir (str, optional): Cache root.
        download (bool, optional): Download a missing file from the LINKX
            GitHub repository into the data root. (default: :obj:`False`)
    """
    url = LINKX_URL

    def __init__(self, root: Optional[PathLike], college: str,
                 split: str = 'auto', num_splits: int = 5,
                 train_ratio: float = 0.5, val_ratio: float = 0.25,
                 seed: int = 0, cache_dir: Optional[PathLike] = None,
                 download: bool = False,
                 transform: Optional[Callable] = None,
                 pre_transform: Optional[Callable] = None,
                 force_reload: bool = False) -> None:
        if not isinstance(college, str) or not college or '/' in college:
            raise ValueError(f"'college' must be a Facebook100 file stem such"
                             f" as 'Reed98', got {college!r}")
        self._check_split_args(split, num_splits, train_ratio, val_ratio)
        self.name = college[:-4] if college.endswith('.mat') else college
        remote = quote(_FB100_REMOTE.get(self.name, self.name))
        force_reload = self._prepare(
            root, 'linkx/facebook100', f'fb100-{self.name}',
            [f'{self.name}.mat'], dataset=f'facebook100 {self.name}',
            url=f'{self.url}/facebook100/{remote}.mat', download=download,
            force_reload=force_reload, cache=cache_dir)
        self._build(transform, pre_transform, force_reload)
        self._attach_splits(f'fb100-{self.name}-splits.npy', split,
                            num_splits, train_ratio, val_ratio, seed)

    @property
    def raw_file_names(self) -> str:
        return f'{self.name}.mat'

    @property
    def processed_file_names(self) -> str:
        return 'data.pt'

    def download(self) -> None:
        remote = quote(_FB100_REMOTE.get(self.name, self.name))
        download_url(f'{self.url}/facebook100/{remote}.mat', self.raw_dir,
                     filename=f'{self.name}.mat')

    def process(self) -> None:
        from scipy.io import loadmat

        mat = loadmat(self.raw_paths[0])
        A = mat['A'].tocsr().tocoo()
        row = torch.from_numpy(A.row).to(torch.long)
        col = torch.from_numpy(A.col).to(torch.long)
        edge_index = torch.stack([row, col], dim=0)

        metadata = torch.from_numpy(mat['local_info'].astype('int64'))
        y = metadata[:, 1] - 1  # gender label, -1 means unlabelled
        x = torch.cat([metadata[:, :1], metadata[:, 2:]], dim=-1)
        xs = []
        for i in range(x.size(1)):
            _, out = x[:, i].unique(return_inverse=True)
            xs.append(one_hot(out))
        x = torch.cat(xs, dim=-1)

        data = Data(x=x, edge_index=edge_index, y=y)
        self._save_processed(data)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(college={self.name})'


def load_facebook100(root: Optional[PathLike], college: str,
                     split: str = 'auto', num_splits: int = 5,
                     train_ratio: float = 0.5, val_ratio: float = 0.25,
                     seed: int = 0) -> Data:
    r"""Loads a Facebook100 college as a :class:`~torch_geometric.data.Data`
    (``y = -1`` for unlabelled nodes, masks [N, S] over labelled nodes)."""
    ds = Facebook100Dataset(root, college, split=split, num_splits=num_splits,
                            train_ratio=train_ratio, val_ratio=val_ratio,
                            seed=seed)
    data = ds[0]
    data.split_source = ds.split_source
    return data


@dataclass
class Facebook100Options(SplitOptions):
    r"""Options of the generic ``facebook100`` loader: :obj:`college` (file
    stem under ``<root>/linkx/facebook100``) plus :class:`SplitOptions`."""
    college: str = 'Reed98'


@register_dataset('facebook100', options=Facebook100Options)
def _load_facebook100(root: str, college: str = 'Reed98', **split) -> Data:
    r"""LINKX Facebook100 college (option college=), gender labels, splits.

    Penn94 ``.mat`` format; LINKX fixed splits if present, else 5 seeded
    random 50/25/25 splits of the labelled nodes."""
    return load_facebook100(root, college, **split)


register_variants(load_facebook100, {
    f'fb100_{k}': (stem, f'LINKX Facebook100 {stem} (gender labels, 5 random '
                         f'50/25/25 splits; <root>/linkx/facebook100/'
                         f'{stem}.mat)')
    for k, stem in FB100_COLLEGES.items()}, SplitOptions)


# Twitch-E -------------------------------------------------------------
@dataset_doc('DE 9498 306276 3170 2; ENGB 7126 70648 3170 2; '
             'ES 4648 118764 3170 2; FR 6549 225332 3170 2; '
             'PTBR 1912 62598 3170 2',
             note='(#edges with :obj:`to_undirected=True`; half as listed)')
class TwitchDataset(_SplitMixin, CachedRawMixin, InMemoryDataset):
    r"""A Twitch-Explicit graph of one language from the `"Multi-scale
    Attributed Node Embedding" <https://arxiv.org/abs/1909.13021>`_ paper as
    used by LINKX and EERM, read from
    ``<root>/linkx/twitch/<L>/musae_<L>_{edges.csv,features.json,target.csv}``.

    Processing follows LINKX's ``load_twitch``: node :math:`i` is the user
    with ``new_id = i`` (rows of ``target.csv`` are not sorted; duplicated
    ``new_id`` rows, which occur in FR, keep their first occurrence), the
    label is ``mature`` (binary), and the features are multi-hot over the
    global MUSAE feature ids ``0..3169``. Unlike LINKX, all-zero feature
    columns are *kept*, so every language shares one 3170-dim feature space
    (needed for transfer between languages). Edges are listed once per
    friendship in the CSV; :obj:`to_undirected` (default, as LINKX's training
    script does) adds the reverse edges.

    Splits: LINKX's fixed file ``<root>/linkx/splits/twitch-e-<L>-splits.npy``
    when present (DE only), else :obj:`num_splits` seeded random 50/25/25
    splits (LINKX's protocol), masks [N, S].

    Args:
        root (str, optional): The data root.
        language (str): :obj:`"DE"`, :obj:`"ENGB"`, :obj:`"ES"`,
            :obj:`"FR"` or :obj:`"PTBR"` (case-insensitive).
        to_undirected (bool, optional): Add reverse edges.
            (default: :obj:`True`)
        split, num_splits, train_ratio, val_ratio, seed: See
            :class:`SplitOptions`.
        cache_dir (str, optional): Cache root.
        download (bool, optional): Download missing files from the LINKX
            GitHub repository into the data root. (default: :obj:`False`)
    """
    url = LINKX_URL

    def __init__(self, root: Optional[PathLike], language: str,
                 to_undirected: bool = True, split: str = 'auto',
                 num_splits: int = 5, train_ratio: float = 0.5,
                 val_ratio: float = 0.25, seed: int = 0,
                 cache_dir: Optional[PathLike] = None, download: bool = False,
                 transform: Optional[Callable] = None,
                 pre_transform: Optional[Callable] = None,
                 force_reload: bool = False) -> None:
        lang = language.upper() if isinstance(language, str) else language
        if lang not in TWITCH_LANGUAGES:
            raise ValueError(f"'language' must be one of "
                             f"{list(TWITCH_LANGUAGES)}, got {language!r}")
        if not isinstance(to_undirected, bool):
            raise TypeError(f"'to_undirected' must be a bool, got "
                            f"{to_undirected!r}")
        self._check_split_args(split, num_splits, train_ratio, val_ratio)
        self.name = f'twitch-e-{lang}'
        self.language = lang
        self.to_undirected = to_undirected
        force_reload = self._prepare(
            root, f'linkx/twitch/{lang}', f'twitch-{lang}',
            self.raw_file_names, dataset=f'twitch_{lang.lower()}',
            url=(f'{self.url}/twitch/{lang}/ '
                 f'({", ".join(self.raw_file_names)})'),
            download=download, force_reload=force_reload, cache=cache_dir)
        self._build(transform, pre_transform, force_reload)
        self._attach_splits(f'twitch-e-{lang}-splits.npy', split, num_splits,
                            train_ratio, val_ratio, seed)

    @property
    def raw_file_names(self) -> List[str]:
        L = self.language
        return [f'musae_{L}_edges.csv', f'musae_{L}_features.json',
                f'musae_{L}_target.csv']

    @property
    def processed_file_names(self) -> str:
        return 'undirected.pt' if self.to_undirected else 'as_listed.pt'

    def download(self) -> None:
        for f in self.raw_file_names:
            download_url(f'{self.url}/twitch/{self.language}/{f}',
                         self.raw_dir)

    def process(self) -> None:
        import pandas as pd

        edges_path, feats_path, target_path = self.raw_paths
        target = pd.read_csv(target_path)
        for col in ('mature', 'new_id'):
            if col not in target.columns:
                raise ValueError(f"'{target_path}' has no column {col!r}")
        target = target.drop_duplicates('new_id', keep='first')
        new_id = torch.tensor(target['new_id'].to_numpy(), dtype=torch.long)
        n = new_id.numel()
        if not torch.equal(new_id.sort().values, torch.arange(n)):
            raise ValueError(f"'{target_path}': new_id is not a permutation "
                             f"of 0..{n - 1}")
        mature = target['mature'].astype(str).str.lower() == 'true'
        y = torch.empty(n, dtype=torch.long)
        y[new_id] = torch.tensor(mature.to_numpy(), dtype=torch.long)

        edges = pd.read_csv(edges_path).to_numpy()
        edge_index = torch.as_tensor(edges.T, dtype=torch.long).contiguous()
        if edge_index.numel() and int(edge_index.max()) >= n:
            raise ValueError(f"'{edges_path}': node id {int(edge_index.max())}"
                             f" has no row in '{target_path}' ({n} nodes)")
        if self.to_undirected:
            edge_index = _to_undirected(edge_index, num_nodes=n)
        else:
            edge_index = coalesce(edge_index, num_nodes=n)

        with open(feats_path) as f:
            feats = json.load(f)
        rows, cols = [], []
        for node, ids in feats.items():
            node = int(node)
            if node >= n:  # as LINKX: features of unknown nodes are dropped
                continue
            rows += [node] * len(ids)
            cols += ids
        row = torch.as_tensor(rows, dtype=torch.long)
        col = torch.as_tensor(cols, dtype=torch.long)
        if col.numel() and (int(col.min()) < 0
                            or int(col.max()) >= TWITCH_NUM_FEATURES):
            raise ValueError(f"'{feats_path}': feature ids must be in "
                             f"0..{TWITCH_NUM_FEATURES - 1}")
        x = torch.zeros(n, TWITCH_NUM_FEATURES)
        x[row, col] = 1.

        data = Data(x=x, edge_index=edge_index, y=y)
        self._save_processed(data)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(language={self.language})'


def load_twitch(root: Optional[PathLike], language: str,
                to_undirected: bool = True, split: str = 'auto',
                num_splits: int = 5, train_ratio: float = 0.5,
                val_ratio: float = 0.25, seed: int = 0) -> Data:
    r"""Loads the Twitch-E graph of :obj:`language` as a
    :class:`~torch_geometric.data.Data` (``x`` [N, 3170] multi-hot, ``y``
    binary ``mature`` [N], masks [N, S]); see :class:`TwitchDataset`.

    Example (transfer DE -> ENGB)::

        src = load_twitch(root, 'DE')
        dst = load_twitch(root, 'ENGB')
        assert src.num_features == dst.num_features == 3170
    """
    ds = TwitchDataset(root, language, to_undirected=to_undirected,
                       split=split, num_splits=num_splits,
                       train_ratio=train_ratio, val_ratio=val_ratio, seed=seed)
    data = ds[0]
    data.split_source = ds.split_source
    return data


@dataclass
class TwitchLanguageOptions(SplitOptions):
    r"""Options of the ``twitch_<l>`` loaders: :class:`SplitOptions` plus
    :obj:`to_undirected` (default :obj:`True`)."""
    to_undirected: bool = True


@dataclass
class TwitchOptions(TwitchLanguageOptions):
    r"""Options of the generic ``twitch`` loader: :obj:`language` plus
    :class:`TwitchLanguageOptions`."""
    language: Literal['DE', 'ENGB', 'ES', 'FR', 'PTBR'] = 'DE'


@register_dataset('twitch', options=TwitchOptions)
def _load_twitch(root: str, language: str = 'DE', **kwargs) -> Data:
    r"""Twitch-E by language (option language=), binary mature label.

    3170-dim multi-hot features shared by all languages; 50/25/25 splits."""
    return load_twitch(root, language, **kwargs)


register_variants(load_twitch, {
    f'twitch_{lang.lower()}': (lang, f'Twitch-E {lang} (binary mature label, '
                                     f'3170-dim shared features; '
                                     f'<root>/linkx/twitch/{lang})')
    for lang in TWITCH_LANGUAGES}, TwitchLanguageOptions)
