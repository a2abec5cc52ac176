# Each module below adds its public names: keep one import line per module,
# and extend __all__ from that module's own __all__.
__all__ = []
from pyg_ext.nn.conv.gpr_prop import GPRProp, HopAggregation, gpr_init, gcn_norm_fixed_size
__all__ += ['GPRProp', 'HopAggregation', 'gpr_init', 'gcn_norm_fixed_size']
from pyg_ext.nn.conv.thegcn_conv import THeGCNConv
__all__ += ['THeGCNConv']
