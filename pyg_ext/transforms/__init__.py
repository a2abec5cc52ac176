# Each module below adds its public names: keep one import line per module,
# and extend __all__ from that module's own __all__.
__all__ = []
from pyg_ext.transforms.teddy import TEDDY
__all__ += ['TEDDY']
from pyg_ext.transforms.match_edge_homophily import MatchEdgeHomophily, match_edge_homophily_mask
__all__ += ['MatchEdgeHomophily', 'match_edge_homophily_mask']
