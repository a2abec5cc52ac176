r"""The registered names of the real-data loaders (a contract other modules
rely on), their missing-file errors, and one loader through the loop."""
import pytest

from pyg_ext.datasets import DatasetNotFoundError
from pyg_ext.registry import DATASETS
from pyg_ext.train.plugins import load_plugins

load_plugins()

# name -> a fragment of the real download URL the missing-file error shows.
CONTRACT = {
    'cora': 'github.com/kimiyoung/planetoid',
    'citeseer': 'github.com/kimiyoung/planetoid',
    'pubmed': 'github.com/kimiyoung/planetoid',
    'geomgcn_texas': 'graphdml-uiuc-jlu/geom-gcn',
    'geomgcn_cornell': 'graphdml-uiuc-jlu/geom-gcn',
    'geomgcn_wisconsin': 'graphdml-uiuc-jlu/geom-gcn',
    'geomgcn_film': 'graphdml-uiuc-jlu/geom-gcn',
    'facebook100': 'CUAI/Non-Homophily-Large-Scale',
    'fb100_reed98': 'CUAI/Non-Homophily-Large-Scale',
    'fb100_amherst41': 'CUAI/Non-Homophily-Large-Scale',
    'fb100_johnshopkins55': 'CUAI/Non-Homophily-Large-Scale',
    'fb100_cornell5': 'CUAI/Non-Homophily-Large-Scale',
    'twitch': 'CUAI/Non-Homophily-Large-Scale',
    'ogbn-arxiv': 'snap.stanford.edu/ogb',
    'ogbn-products': 'snap.stanford.edu/ogb',
    'heterophilous_npz': 'yandex-research/heterophilous-graphs',
}
for _n in ('chameleon', 'squirrel', 'actor', 'texas', 'cornell', 'wisconsin',
           'chameleon_filtered', 'squirrel_filtered', 'chameleon_directed',
           'squirrel_directed', 'chameleon_filtered_directed',
           'squirrel_filtered_directed', 'texas_4_classes'):
    CONTRACT[_n] = 'yandex-research/heterophilous-graphs'
for _l in ('de', 'engb', 'es', 'fr', 'ptbr'):
    CONTRACT[f'twitch_{_l}'] = 'CUAI/Non-Homophily-Large-Scale'


def test_contract_names_registered():
    missing = [n for n in CONTRACT if n not in DATASETS]
    assert not missing
    for name in CONTRACT:
        assert DATASETS.get(name).description


@pytest.mark.parametrize('name', sorted(CONTRACT))
def test_empty_root_fails_at_once_with_url(tmp_path, name):
    kwargs = {'name': 'chameleon'} if name == 'heterophilous_npz' else {}
    with pytest.raises(DatasetNotFoundError) as exc:
        DATASETS.get(name).obj(root=str(tmp_path), **kwargs)
    msg = str(exc.value)
    assert CONTRACT[name] in msg
    assert str(tmp_path) in msg
    assert list(tmp_path.iterdir()) == []  # nothing created in the root


def test_unknown_dataset_lists_known_names():
    with pytest.raises(ValueError, match='cora.*twitch_de'):
        DATASETS.get('coraa')


def test_geomgcn_texas_through_the_loop(untouched, tmp_path):
    from pyg_ext.train import run
    summary = run({
        'task': {'name': 'node_classification'},
        'dataset': {'name': 'geomgcn_texas'},
        'model': {'name': 'mlp', 'hidden_channels': 16},
        'method': {'name': 'supervised'},
        'train': {'epochs': 3, 'runs': 1, 'splits': [0, 1],
                  'checkpoint_every': 0},
    }, run_dir=tmp_path / 'run', quiet=True, data_root=untouched)
    assert summary['num_runs'] == 2  # one run on each of the two splits
    acc = summary['summary']['test_accuracy']
    assert acc['n'] == 2 and 0.0 <= acc['mean'] <= 1.0
