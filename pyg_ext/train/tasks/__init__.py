r"""Registered tasks (imported by :func:`pyg_ext.train.plugins.load_plugins`)."""
__all__ = []
