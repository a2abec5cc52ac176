r"""Influence maximisation with reverse-reachable (RR) sets: IC/LT sampling
(with the SUBSIM geometric skip), IMM, OPIM-C, spread estimation,
capacity-constrained IM (MG-Greedy, RR-Greedy, RR-OPIM+) and HeteroIR /
HeteroIM. Kernels are compiled with numba; torch only at the boundary."""
from pyg_ext.influence.graph import DiffusionGraph, prepare
from pyg_ext.influence.rr import (RRSets, SpreadEstimate, sample_rr_sets,
                                  set_num_threads, get_num_threads)
from pyg_ext.influence.im import (IMResult, max_coverage, imm,
                                  imm_sample_sizes, opim_c,
                                  opim_c_sample_sizes, opim)
from pyg_ext.influence.spread import estimate_spread, exact_spread
from pyg_ext.influence.cim import (CIMResult, cim_mg_greedy, cim_rr_greedy,
                                   cim_rr_opim_plus, cim_local_baseline)
from pyg_ext.influence.hetero import hetero_ir_scores, hetero_im_rerank
from pyg_ext.influence.baselines import degree_scores, pagerank_scores, top_k
from pyg_ext.influence.jit import warmup

__all__ = [
    'DiffusionGraph', 'prepare', 'RRSets', 'SpreadEstimate',
    'sample_rr_sets', 'set_num_threads', 'get_num_threads', 'IMResult',
    'max_coverage', 'imm', 'imm_sample_sizes', 'opim_c',
    'opim_c_sample_sizes', 'opim', 'estimate_spread', 'exact_spread',
    'CIMResult', 'cim_mg_greedy', 'cim_rr_greedy', 'cim_rr_opim_plus',
    'cim_local_baseline', 'hetero_ir_scores', 'hetero_im_rerank',
    'degree_scores', 'pagerank_scores', 'top_k', 'warmup'
]
