r"""Shared helpers of the Mowst tests."""
import torch


class FixedConf(torch.nn.Module):
    r"""A gate returning fixed per-node confidences (so a threshold routes a
    known set of nodes)."""
    def __init__(self, conf):
        super().__init__()
        self.register_buffer('conf', conf)

    def forward(self, inp):
        return self.conf[:inp.size(0)]
