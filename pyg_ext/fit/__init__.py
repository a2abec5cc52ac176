r"""One library-level entry per method, ``fit_<method>(model, data, ...) ->
FitResult``, each a schedule on the one training engine
(:class:`pyg_ext.utils.training.Trainer`). Usable without the loop."""
# Each module below adds its public names: keep one import line per module,
# and extend __all__ from that module's own __all__.
from pyg_ext.utils.training import FitResult
__all__ = ['FitResult']
from pyg_ext.fit.supervised import fit_supervised
__all__ += ['fit_supervised']
from pyg_ext.fit.mowst import fit_mowst, fit_mowst_star, evaluate_mowst, set_expert_dropout
__all__ += ['fit_mowst', 'fit_mowst_star', 'evaluate_mowst', 'set_expert_dropout']
from pyg_ext.fit.temporal_data import TemporalTaskData
__all__ += ['TemporalTaskData']
from pyg_ext.fit.temporal_options import (
    TemporalTaskOptions, TemporalNodeClassificationOptions,
    DynamicNodeClassificationOptions, TemporalLinkPredictionOptions)
__all__ += ['TemporalTaskOptions', 'TemporalNodeClassificationOptions',
            'DynamicNodeClassificationOptions',
            'TemporalLinkPredictionOptions']
from pyg_ext.fit.temporal_tasks import (
    TemporalTask, TemporalNodeClassificationTask,
    DynamicNodeClassificationTask, model_kind)
__all__ += ['TemporalTask', 'TemporalNodeClassificationTask',
            'DynamicNodeClassificationTask', 'model_kind']
from pyg_ext.fit.temporal_link import (TemporalLinkPredictionTask, LinkHead,
                                       make_temporal_task)
__all__ += ['TemporalLinkPredictionTask', 'LinkHead', 'make_temporal_task']
from pyg_ext.fit.thegcn import fit_thegcn, gate_statistics, replay_stream
__all__ += ['fit_thegcn', 'gate_statistics', 'replay_stream']
from pyg_ext.fit.teddy import fit_teddy, fit_random_prune
__all__ += ['fit_teddy', 'fit_random_prune']
from pyg_ext.fit.ugs import fit_ugs
__all__ += ['fit_ugs']
