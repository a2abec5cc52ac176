# Each module below adds its public names: keep one import line per module,
# and extend __all__ from that module's own __all__.
from pyg_ext.metrics.evaluator import (METRICS, Evaluator, accuracy,
                                       average_precision, macro_f1, mrr,
                                       roc_auc)

__all__ = [
    'Evaluator', 'METRICS', 'accuracy', 'macro_f1', 'roc_auc',
    'average_precision', 'mrr'
]
