r"""Plugins for the loop: each module registers models, methods and tasks of
one family (``basic``: MLP/GCN/SAGE/GAT/GIN and the ``supervised`` method).
:func:`pyg_ext.train.plugins.load_plugins` imports them all by name; nothing
else imports them."""
__all__ = []
