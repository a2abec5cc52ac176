r"""Private helpers shared by the real-data loaders: raw files are read from
the data root, processed files live in a per-(data root, dataset) cache folder
that is invalidated when a raw file changes (size or mtime)."""
import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Iterable, List, Optional

from pyg_ext.datasets.paths import PathLike, cache_dir_for, get_data_root

__all__: List[str] = []

FINGERPRINT = 'source.json'


def resolve_root(root: Optional[PathLike]) -> Path:
    r"""The data root as an absolute, normalised path (``None`` -> the
    default root)."""
    return Path(os.path.abspath(get_data_root(root).expanduser()))


def dataset_cache(raw_dir: PathLike, key: str,
                  cache: Optional[PathLike] = None) -> Path:
    r"""The cache folder of dataset :obj:`key` read from :obj:`raw_dir`."""
    return cache_dir_for(raw_dir, key, cache)


def _fingerprint(paths: Iterable[PathLike]) -> Dict[str, List[int]]:
    out = {}
    for p in paths:
        st = os.stat(p)  # follows symlinks: the real file counts
        out[str(Path(p).absolute())] = [st.st_size, st.st_mtime_ns]
    return out


def _fingerprint_file(cache_dir: PathLike, tag: str) -> Path:
    name = f'source-{tag}.json' if tag else FINGERPRINT
    return Path(cache_dir) / name


def cache_is_stale(cache_dir: PathLike, paths: Iterable[PathLike],
                   tag: str = '') -> bool:
    r"""Whether the raw files differ from the ones the cache (processed file
    :obj:`tag`) was built from, or the cache was never completed."""
    f = _fingerprint_file(cache_dir, tag)
    if not f.exists():
        return True
    try:
        old = json.loads(f.read_text())
    except (OSError, ValueError):
        return True
    return old != _fingerprint(paths)


def mark_cache(cache_dir: PathLike, paths: Iterable[PathLike],
               tag: str = '') -> None:
    r"""Records the raw files a completed cache (processed file :obj:`tag`)
    was built from (atomic write)."""
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    dst = _fingerprint_file(cache_dir, tag)
    tmp = cache_dir / f'.{dst.name}.{os.getpid()}.tmp'
    tmp.write_text(json.dumps(_fingerprint(paths), sort_keys=True))
    os.replace(tmp, dst)


@contextmanager
def cache_lock(folder: PathLike):
    r"""An exclusive inter-process lock on :obj:`folder` (POSIX ``flock``;
    a no-op where unavailable), so two processes never process into the
    same cache folder at once."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover (Windows)
        yield
        return
    with open(folder / '.lock', 'a') as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def link_file(src: PathLike, dst: PathLike) -> None:
    r"""Makes :obj:`dst` a symlink to :obj:`src` (replacing what was there),
    so tools that want their raw files in their own folder read them from
    the data root without anything being written there."""
    src, dst = Path(os.path.abspath(src)), Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.is_symlink() and os.readlink(dst) == str(src):
        return
    tmp = dst.with_name(f'.{dst.name}.{os.getpid()}.lnk')
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(src, tmp)
    os.replace(tmp, dst)


def mirror_tree(src_dir: PathLike, dst_dir: PathLike) -> List[Path]:
    r"""Mirrors every file below :obj:`src_dir` as a symlink below
    :obj:`dst_dir`; returns the source files."""
    src_dir, dst_dir = Path(src_dir), Path(dst_dir)
    files = []
    for dirpath, _, filenames in os.walk(src_dir):
        for fn in sorted(filenames):
            src = Path(dirpath) / fn
            link_file(src, dst_dir / src.relative_to(src_dir))
            files.append(src)
    return files


def check_choice(name: str, value, choices) -> None:
    if value not in choices:
        raise ValueError(f"'{name}' must be one of {sorted(choices)}, "
                         f"got {value!r}")


class CachedRawMixin:
    r"""Mixin for a PyG dataset whose raw files stay in the data root and
    whose processed files go to the cache. Call :meth:`_prepare` before the
    PyG ``__init__`` and :meth:`_mark_done` after it."""

    @property
    def raw_dir(self) -> str:
        return str(self._raw_dir)

    @property
    def processed_dir(self) -> str:
        return str(self._processed_dir)

    def _prepare(self, root: PathLike, raw_rel: PathLike, key: str,
                 files: List[str], dataset: str, url: Optional[str],
                 download: bool, force_reload: bool,
                 cache: Optional[PathLike] = None) -> bool:
        r"""Sets the raw/processed folders, fails at once on missing raw
        files (unless :obj:`download`), and returns the ``force_reload``
        flag (also set when the raw files changed since the cache was
        built)."""
        from pyg_ext.datasets.paths import require_files
        root = resolve_root(root)
        self.data_root = root
        self._raw_dir = root / raw_rel
        self._processed_dir = dataset_cache(self._raw_dir, key,
                                            cache) / 'processed'
        rel = [str(Path(raw_rel) / f) for f in files]
        if not download:
            require_files(root, rel, dataset, url)
        self._raw_files = [root / f for f in rel]
        if not all(p.exists() for p in self._raw_files):
            return force_reload
        return force_reload or cache_is_stale(
            self._processed_dir, self._raw_files, self._cache_tag())

    def _locked(self):
        r"""The inter-process lock of this dataset's cache folder."""
        return cache_lock(Path(self._processed_dir).parent)

    def _cache_tag(self) -> str:
        # One fingerprint per processed file: variants of one dataset (e.g.
        # directed / undirected) share the folder but are rebuilt separately.
        names = self.processed_file_names
        names = [names] if isinstance(names, str) else list(names)
        return '+'.join(names)

    def _mark_done(self) -> None:
        mark_cache(self._processed_dir, self._raw_files, self._cache_tag())

    def _build(self, transform, pre_transform, force_reload: bool) -> None:
        r"""The PyG ``InMemoryDataset`` constructor (it processes when
        needed) under the cache lock, then the processed data is loaded."""
        with self._locked():
            super().__init__(str(self._raw_dir), transform, pre_transform,
                             force_reload=force_reload)
            self._mark_done()
        self.load(self.processed_paths[0])

    def _save_processed(self, data) -> None:
        r"""Applies ``pre_transform`` and saves the processed graph."""
        if self.pre_transform is not None:
            data = self.pre_transform(data)
        self.save([data], self.processed_paths[0])


_PYG_ARGS = """\
        transform (callable, optional): Applied on every access.
        pre_transform (callable, optional): Applied before saving.
        force_reload (bool, optional): Re-process. (default: :obj:`False`)
"""


def dataset_doc(table: str, note: str = '', pyg_args: bool = True,
                columns=('#nodes', '#edges', '#features', '#classes')):
    r"""Decorator completing a loader's docstring (which ends with its
    ``Args:``) the way PyG documents datasets: the arguments every PyG
    dataset takes (:obj:`pyg_args`) and a ``**STATS:**`` table. The rows of
    :obj:`table` are separated by ``;``, each a name (may hold spaces)
    followed by one integer per column (printed with thousands
    separators)."""
    rows = []
    for row in table.split(';'):
        parts = row.split()
        k = len(columns)
        rows.append([' '.join(parts[:-k])] +
                    [f'{int(v):,}' for v in parts[-k:]])

    def decorate(obj):
        doc = obj.__doc__.rstrip() + '\n'
        if pyg_args:
            doc += _PYG_ARGS
        doc += '\n    **STATS:**' + (f' {note}' if note else '') + '\n\n'
        doc += ('    .. list-table::\n        :widths: ' +
                ' '.join(['10'] * (len(columns) + 1)) +
                '\n        :header-rows: 1\n\n')
        for row in [['Name', *columns]] + rows:
            doc += f'        * - {row[0]}\n' + ''.join(
                f'          - {v}\n' for v in row[1:])
        obj.__doc__ = doc + '    '
        return obj
    return decorate


def register_variants(loader, variants, options=None) -> None:
    r"""Registers one dataset per entry ``name: (argument, description)`` of
    :obj:`variants`, loading ``loader(root, argument, **opts)`` where
    ``opts`` are the fields of the :obj:`options` dataclass (passed by name,
    so the loader refuses any it does not take)."""
    from pyg_ext.registry import register_dataset

    for name, (arg, description) in variants.items():
        def load(root, _loader=loader, _arg=arg, **opts):
            return _loader(root, _arg, **opts)

        load.__name__ = load.__qualname__ = \
            'load_' + name.replace('-', '_')
        register_dataset(name, load, options=options,
                         description=description)
