# Each module below adds its public names: keep one import line per module,
# and extend __all__ from that module's own __all__.
__all__ = []
from pyg_ext.utils.temporal_heterophily import (LabelEvents, check_event_stream, label_at, temporal_edge_heterophily)
__all__ += ['LabelEvents', 'check_event_stream', 'label_at', 'temporal_edge_heterophily']
from pyg_ext.utils.pair_history import PairHistory
__all__ += ['PairHistory']
from pyg_ext.utils.dispersion import variance_dispersion, entropy_dispersion, DISPERSIONS
__all__ += ['variance_dispersion', 'entropy_dispersion', 'DISPERSIONS']
from pyg_ext.utils.sparsify import teddy_node_score, teddy_edge_score, teddy_keep_mask, teddy_schedule, teddy_distillation_loss
__all__ += ['teddy_node_score', 'teddy_edge_score', 'teddy_keep_mask', 'teddy_schedule', 'teddy_distillation_loss']
from pyg_ext.utils.l0 import l0_keep_count, project_l0_, weight_sparsity, L0ProjectedOptimizer
__all__ += ['l0_keep_count', 'project_l0_', 'weight_sparsity', 'L0ProjectedOptimizer']
from pyg_ext.utils.mixture import dispersion_features, mixture_log_probs, mowst_loss, mowst_star_loss, expected_accuracy
__all__ += ['dispersion_features', 'mixture_log_probs', 'mowst_loss', 'mowst_star_loss', 'expected_accuracy']
from pyg_ext.utils.khop import khop_distance, induced_subgraph, khop_in_subgraph
__all__ += ['khop_distance', 'induced_subgraph', 'khop_in_subgraph']
from pyg_ext.utils.adjacency import csr_adjacency, csr_rows, csr_tensor, gcn_norm_csr
__all__ += ['csr_adjacency', 'csr_rows', 'csr_tensor', 'gcn_norm_csr']
from pyg_ext.utils.validation import *  # noqa: F401,F403 (its __all__)
from pyg_ext.utils import validation as _validation
__all__ += _validation.__all__
from pyg_ext.utils.checkpoint import seed_everything, get_rng_state, set_rng_state, Checkpointer
__all__ += ['seed_everything', 'get_rng_state', 'set_rng_state', 'Checkpointer']
from pyg_ext.utils.device import resolve_device, move_to, place
__all__ += ['resolve_device', 'move_to', 'place']
from pyg_ext.utils.training import Trainer, FitResult, PhaseResult, make_optimizer
__all__ += ['Trainer', 'FitResult', 'PhaseResult', 'make_optimizer']
from pyg_ext.utils.sparse_adj import CSRStructure, spmm, csr_of, gcn_norm_values, is_sparse_adj
__all__ += ['CSRStructure', 'spmm', 'csr_of', 'gcn_norm_values', 'is_sparse_adj']
