r"""Atomic file writes and resumable checkpoints of the loop; the machinery
lives in :mod:`pyg_ext.utils.checkpoint` (the engine's), re-exported here."""
from pyg_ext.utils.checkpoint import (Checkpointer, atomic_torch_save,
                                      atomic_write_bytes, atomic_write_json,
                                      atomic_write_text, get_rng_state,
                                      seed_everything, set_rng_state)

__all__ = [
    'atomic_write_bytes',
    'atomic_write_text',
    'atomic_write_json',
    'atomic_torch_save',
    'get_rng_state',
    'set_rng_state',
    'seed_everything',
    'Checkpointer',
]
