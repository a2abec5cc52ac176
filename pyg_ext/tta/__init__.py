# Each module below adds its public names: keep one import line per module,
# and extend __all__ from that module's own __all__.
__all__ = []
from pyg_ext.tta.pic import pic_loss, pic_terms, PICLoss
__all__ += ['pic_loss', 'pic_terms', 'PICLoss']
from pyg_ext.tta.base import ERMBase, TentBase, T3ABase, LAMEBase, softmax_entropy, linear_classifier_weight, resolve_base
__all__ += ['ERMBase', 'TentBase', 'T3ABase', 'LAMEBase', 'softmax_entropy', 'linear_classifier_weight', 'resolve_base']
from pyg_ext.tta.adarc import AdaRC, resolve_hop_parameters
__all__ += ['AdaRC', 'resolve_hop_parameters']
