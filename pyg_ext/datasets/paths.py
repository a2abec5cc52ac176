r"""Where raw data is read from and where processed files are written.

Raw files are only ever read from the *data root*; processed/cached files go
to a separate *cache dir*, so a read-only data folder stays untouched.
"""
import hashlib
import os
from pathlib import Path
from typing import Iterable, Optional, Union

__all__ = [
    'DatasetNotFoundError',
    'get_data_root',
    'get_cache_dir',
    'cache_dir_for',
    'require_files',
]

PathLike = Union[str, os.PathLike]


class DatasetNotFoundError(FileNotFoundError):
    r"""Raw files of a dataset are missing from the data root."""


def get_data_root(root: Optional[PathLike] = None) -> Path:
    r"""The data root: :obj:`root` if given, else ``$PYG_EXT_DATA``, else
    ``./datasets``."""
    if root is not None:
        return Path(root).expanduser()
    env = os.environ.get('PYG_EXT_DATA')
    if env:
        return Path(env).expanduser()
    return Path('datasets')


def get_cache_dir(cache: Optional[PathLike] = None) -> Path:
    r"""The cache dir for processed files: :obj:`cache` if given, else
    ``$PYG_EXT_CACHE``, else ``~/.cache/pyg_ext``."""
    if cache is not None:
        return Path(cache).expanduser()
    env = os.environ.get('PYG_EXT_CACHE')
    if env:
        return Path(env).expanduser()
    return Path('~/.cache/pyg_ext').expanduser()


def cache_dir_for(raw_dir: PathLike, name: str,
                  cache: Optional[PathLike] = None) -> Path:
    r"""A cache folder unique to (:obj:`raw_dir`, :obj:`name`), so two data
    roots never share processed files."""
    key = hashlib.sha1(str(Path(raw_dir).resolve()).encode()).hexdigest()[:10]
    return get_cache_dir(cache) / f'{name}-{key}'


def require_files(root: PathLike, files: Iterable[PathLike], dataset: str,
                  url: Optional[str] = None) -> None:
    r"""Raises :class:`DatasetNotFoundError` naming every missing file, the
    root and the download URL, if any of :obj:`files` (relative to
    :obj:`root`) is missing."""
    root = Path(root)
    missing = [str(root / f) for f in files if not (root / f).exists()]
    if missing:
        msg = (f"dataset '{dataset}': raw file(s) not found: "
               f"{', '.join(missing)} (data root: '{root}')")
        if url:
            msg += f"; download from {url}"
        raise DatasetNotFoundError(msg)
