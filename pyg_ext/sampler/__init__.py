r"""Samplers written in plain PyTorch (no pyg-lib / torch-sparse)."""
from pyg_ext.sampler.temporal_sampler import (TemporalNeighborSampler,
                                              TemporalSubgraph)

__all__ = ['TemporalNeighborSampler', 'TemporalSubgraph']
