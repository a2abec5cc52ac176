from pyg_ext.nn import conv, models

__all__ = ['conv', 'models']
