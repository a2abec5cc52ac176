# Each module below adds its public names: keep one import line per module,
# and extend __all__ from that module's own __all__.
__all__ = []
from pyg_ext.utils.temporal_heterophily import (LabelEvents, check_event_stream, label_at, temporal_edge_heterophily)
__all__ += ['LabelEvents', 'check_event_stream', 'label_at', 'temporal_edge_heterophily']
from pyg_ext.utils.dispersion import variance_dispersion, entropy_dispersion, DISPERSIONS
__all__ += ['variance_dispersion', 'entropy_dispersion', 'DISPERSIONS']
