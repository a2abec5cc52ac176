# Each module below adds its public names: keep one import line per module,
# and extend __all__ from that module's own __all__.
__all__ = []
from pyg_ext.nn.models.mowst import Mowst, MowstOutput, GateMLP
__all__ += ['Mowst', 'MowstOutput', 'GateMLP']
from pyg_ext.nn.models.mowst_inference import MowstPrediction
__all__ += ['MowstPrediction']
from pyg_ext.nn.models.gprgnn import GPRGNN
from pyg_ext.nn.models.appnp_learnable import LearnableAPPNP, appnp_hop_weights
from pyg_ext.nn.models.jknet_weighted import WeightedJKNet
from pyg_ext.nn.models.gcnii_learnable import LearnableGCNII
__all__ += ['GPRGNN', 'LearnableAPPNP', 'appnp_hop_weights', 'WeightedJKNet', 'LearnableGCNII']
from pyg_ext.nn.models.thegcn import CosineTimeEncoder, THeGCN
__all__ += ['CosineTimeEncoder', 'THeGCN']
from pyg_ext.nn.models.fagcn import FAGCN
__all__ += ['FAGCN']
from pyg_ext.nn.models.tgn import TGNModel
__all__ += ['TGNModel']
from pyg_ext.nn.models.edgebank import EdgeBank
__all__ += ['EdgeBank']
from pyg_ext.nn.models.teddy import TeddyGCN, TeddyGIN, TeddyGAT, sparse_linear
__all__ += ['TeddyGCN', 'TeddyGIN', 'TeddyGAT', 'sparse_linear']
