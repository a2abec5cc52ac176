r"""Registered baseline models: MLP, GCN, GraphSAGE, GAT and GIN, built from
PyG's own layers. Every builder takes ``(in_channels, out_channels, options)``
and returns a model whose ``forward(x, edge_index)`` gives logits."""
from dataclasses import dataclass
from typing import Optional

import torch
from torch import Tensor
from torch_geometric.nn.models import GAT, GCN, GIN, MLP, GraphSAGE

from pyg_ext.registry import register_model
from pyg_ext.train.config import ModelOptions

__all__ = ['NodeMLP', 'MLPOptions', 'GCNOptions', 'SAGEOptions', 'GATOptions',
           'GINOptions']


class NodeMLP(torch.nn.Module):
    r"""PyG's :class:`~torch_geometric.nn.models.MLP` with a graph-model
    signature: ``forward(x, edge_index=None)`` ignores the edges."""
    def __init__(self, in_channels: int, hidden_channels: int,
                 out_channels: int, num_layers: int = 2, dropout: float = 0.5,
                 norm: Optional[str] = None):
        super().__init__()
        self.in_channels = in_channels
        self.hidden_channels = hidden_channels
        self.out_channels = out_channels
        self.num_layers = num_layers
        self.dropout = dropout
        self.mlp = MLP(in_channels=in_channels,
                       hidden_channels=hidden_channels,
                       out_channels=out_channels, num_layers=num_layers,
                       dropout=dropout, norm=norm)
        self.reset_parameters()

    def reset_parameters(self):
        self.mlp.reset_parameters()

    def forward(self, x: Tensor, edge_index: Optional[Tensor] = None,
                **kwargs) -> Tensor:
        return self.mlp(x)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.in_channels}, '
                f'{self.out_channels}, num_layers={self.num_layers})')


@dataclass
class MLPOptions(ModelOptions):
    norm: Optional[str] = None


@dataclass
class GCNOptions(ModelOptions):
    cached: bool = False
    add_self_loops: bool = True
    normalize: bool = True


@dataclass
class SAGEOptions(ModelOptions):
    aggr: str = 'mean'


@dataclass
class GATOptions(ModelOptions):
    heads: int = 8
    hidden_channels: int = 8
    dropout: float = 0.6


@dataclass
class GINOptions(ModelOptions):
    train_eps: bool = False


@register_model('mlp', options=MLPOptions,
                description='Multi-layer perceptron on node features only.')
def build_mlp(in_channels: int, out_channels: int, options: MLPOptions):
    return NodeMLP(in_channels, options.hidden_channels, out_channels,
                   options.num_layers, options.dropout, options.norm)


@register_model('gcn', options=GCNOptions,
                description='Graph convolutional network (Kipf & Welling).')
def build_gcn(in_channels: int, out_channels: int, options: GCNOptions):
    return GCN(in_channels, options.hidden_channels, options.num_layers,
               out_channels, dropout=options.dropout, cached=options.cached,
               add_self_loops=options.add_self_loops,
               normalize=options.normalize)


@register_model('sage', options=SAGEOptions,
                description='GraphSAGE with mean aggregation (Hamilton et al.).')
def build_sage(in_channels: int, out_channels: int, options: SAGEOptions):
    return GraphSAGE(in_channels, options.hidden_channels, options.num_layers,
                     out_channels, dropout=options.dropout, aggr=options.aggr)


@register_model('gat', options=GATOptions,
                description='Graph attention network (Velickovic et al.).')
def build_gat(in_channels: int, out_channels: int, options: GATOptions):
    return GAT(in_channels, options.hidden_channels, options.num_layers,
               out_channels, dropout=options.dropout, heads=options.heads)


@register_model('gin', options=GINOptions,
                description='Graph isomorphism network (Xu et al.).')
def build_gin(in_channels: int, out_channels: int, options: GINOptions):
    return GIN(in_channels, options.hidden_channels, options.num_layers,
               out_channels, dropout=options.dropout,
               train_eps=options.train_eps)
