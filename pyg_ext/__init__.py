r"""pyg_ext: PyTorch Geometric building blocks for THeGCN, AdaRC, Mowst,
TEDDY and RR-set influence maximisation, with one dataset/trainer loop."""
__version__ = '0.1.0'

__all__ = ['__version__']
