# Each module below adds its public names: keep one import line per module,
# and extend __all__ from that module's own __all__.
__all__ = []
from pyg_ext.transforms.teddy import TEDDY
__all__ += ['TEDDY']
