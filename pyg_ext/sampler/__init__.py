r"""Samplers written in plain PyTorch (no pyg-lib / torch-sparse)."""
from pyg_ext.sampler.temporal_sampler import (TemporalNeighborSampler,
                                              TemporalSubgraph)
from pyg_ext.sampler.neighbor_sampler import (NeighborSampler,
                                              check_num_neighbors)
from pyg_ext.sampler.loader import (inference_loader, neighbor_loader,
                                    pyg_sampler_available)

__all__ = ['TemporalNeighborSampler', 'TemporalSubgraph']
__all__ += ['NeighborSampler', 'check_num_neighbors', 'neighbor_loader',
            'inference_loader', 'pyg_sampler_available']
