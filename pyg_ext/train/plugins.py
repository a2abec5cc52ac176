r"""Discovery of everything that registers itself with :mod:`pyg_ext.registry`.

The loop never imports a concrete model: it imports, by name, every module of
the plugin packages :mod:`pyg_ext.datasets` and :mod:`pyg_ext.zoo`, and every
third-party entry point in the group ``pyg_ext.plugins``; those modules
register their datasets, models, methods and tasks.
"""
import importlib
import pkgutil
from importlib import metadata

__all__ = ['PLUGIN_PACKAGES', 'load_plugins']

PLUGIN_PACKAGES = ('pyg_ext.train.tasks', 'pyg_ext.datasets', 'pyg_ext.zoo')
_loaded = False


def load_plugins() -> None:
    r"""Imports every plugin module once."""
    global _loaded
    if _loaded:
        return
    _loaded = True  # set first: a plugin may itself call load_plugins()
    try:
        importlib.import_module('pyg_ext.train.supervised')
        for pkg_name in PLUGIN_PACKAGES:
            pkg = importlib.import_module(pkg_name)
            for info in pkgutil.iter_modules(pkg.__path__):
                if not info.name.startswith('_'):
                    importlib.import_module(f'{pkg_name}.{info.name}')
        try:
            eps = metadata.entry_points(group='pyg_ext.plugins')
        except TypeError:  # Python < 3.10
            eps = metadata.entry_points().get('pyg_ext.plugins', [])
        for ep in eps:
            ep.load()
    except BaseException:
        _loaded = False  # a later call retries and raises again
        raise
