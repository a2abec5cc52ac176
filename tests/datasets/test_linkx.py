import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.io
import torch

from pyg_ext.datasets import DatasetNotFoundError
from pyg_ext.datasets.linkx import (TWITCH_LANGUAGES, Facebook100Dataset,
                                    TwitchDataset, linkx_fixed_splits,
                                    load_facebook100, load_twitch,
                                    random_label_splits)
from pyg_ext.registry import DATASETS

LINKX_URL = 'https://github.com/CUAI/Non-Homophily-Large-Scale/raw/master/data'


# random_label_splits ---------------------------------------------------------
def test_random_label_splits_exact_sizes_and_properties():
    y = torch.tensor([0, 1, -1, 1, 0, 1, 0, 1, 0, -1, 1])  # 9 labelled
    tr, va, te = random_label_splits(y, num_splits=4, seed=3)
    assert tr.size() == va.size() == te.size() == (11, 4)
    # int(9 * .5) = 4 train, int(9 * .25) = 2 val, the remaining 3 test.
    assert tr.sum(0).tolist() == [4] * 4
    assert va.sum(0).tolist() == [2] * 4
    assert te.sum(0).tolist() == [3] * 4
    assert not ((tr & va) | (tr & te) | (va & te)).any()
    assert ((tr | va | te) == (y >= 0).view(-1, 1)).all()
    # Seeded: same seed same masks, other seed other masks; splits differ.
    assert torch.equal(random_label_splits(y, 4, seed=3)[0], tr)
    assert not torch.equal(random_label_splits(y, 4, seed=4)[0], tr)
    assert len({tuple(tr[:, s].tolist()) for s in range(4)}) > 1
    # The global RNG is untouched.
    torch.manual_seed(0)
    a = torch.rand(1)
    torch.manual_seed(0)
    random_label_splits(y, 2, seed=1)
    assert torch.equal(torch.rand(1), a)


def test_random_label_splits_bad_input():
    y = torch.zeros(5, dtype=torch.long)
    with pytest.raises(ValueError, match="'num_splits'"):
        random_label_splits(y, num_splits=0)
    with pytest.raises(ValueError, match="'train_ratio' and 'val_ratio'"):
        random_label_splits(y, train_ratio=0.8, val_ratio=0.3)
    with pytest.raises(ValueError, match="'y'"):
        random_label_splits(torch.zeros(2, 2))


def test_linkx_fixed_splits(tmp_path):
    splits = np.array([{'train': np.array([0, 1]), 'valid': np.array([2]),
                        'test': np.array([3])},
                       {'train': np.array([3, 2]), 'valid': np.array([1]),
                        'test': np.array([0])}], dtype=object)
    np.save(tmp_path / 's.npy', splits, allow_pickle=True)
    tr, va, te = linkx_fixed_splits(tmp_path / 's.npy', 5)
    assert tr.tolist() == [[True, False], [True, False], [False, True],
                           [False, True], [False, False]]
    assert va[:, 1].tolist() == [False, True, False, False, False]
    assert te[:, 0].tolist() == [False, False, False, True, False]
    with pytest.raises(ValueError, match='does not match'):
        linkx_fixed_splits(tmp_path / 's.npy', 3)


# Facebook100 ----------------------------------------------------------
FB100 = {'reed98': ('Reed98', 962), 'amherst41': ('Amherst41', 2235),
         'johnshopkins55': ('JohnsHopkins55', 5180),
         'cornell5': ('Cornell5', 18660)}


# Cornell5 builds a 18660 x 4735 dense one-hot matrix (~6 s): slow only.
@pytest.mark.parametrize('key', [
    'reed98', 'amherst41', 'johnshopkins55',
    pytest.param('cornell5', marks=pytest.mark.slow)
])
def test_facebook100_real_files(untouched, key):
    college, n = FB100[key]
    mat = scipy.io.loadmat(Path(untouched) / 'linkx' / 'facebook100' /
                           f'{college}.mat')
    info = mat['local_info'].astype(np.int64)
    data = DATASETS.get(f'fb100_{key}').obj(root=untouched)

    assert data.num_nodes == n == info.shape[0]
    assert data.num_edges == mat['A'].nnz and data.is_undirected()
    assert torch.equal(data.y, torch.from_numpy(info[:, 1] - 1))
    assert int(data.y.max()) + 1 == 2
    # One column per distinct value of every column except gender.
    dims = [len(np.unique(info[:, j])) for j in range(7) if j != 1]
    assert data.x.size() == (n, sum(dims))
    assert (data.x.sum(1) == 6).all()  # exactly one hot per column
    # 5 random 50/25/25 splits over the labelled nodes (LINKX protocol).
    n_lab = int((info[:, 1] > 0).sum())
    assert data.train_mask.size() == (n, 5)
    assert data.train_mask.sum(0).tolist() == [int(n_lab * .5)] * 5
    assert data.val_mask.sum(0).tolist() == [int(n_lab * .25)] * 5
    assert data.test_mask.sum(0).tolist() == \
        [n_lab - int(n_lab * .5) - int(n_lab * .25)] * 5
    assert not (data.train_mask | data.val_mask
                | data.test_mask)[data.y < 0].any()
    assert data.split_source.startswith('random')


def test_facebook100_equals_pyg_linkx(untouched, tmp_path):
    from torch_geometric.datasets import LINKXDataset
    raw = tmp_path / 'reed98' / 'raw'
    raw.mkdir(parents=True)
    os.symlink(os.path.abspath(Path(untouched) / 'linkx' / 'facebook100' /
                               'Reed98.mat'), raw / 'data.mat')
    ref = LINKXDataset(str(tmp_path), 'reed98')[0]
    data = load_facebook100(untouched, 'Reed98')
    for key in ('x', 'y', 'edge_index'):
        assert torch.equal(data[key], ref[key]), key


def test_facebook100_generic_and_options(untouched):
    entry = DATASETS.get('facebook100')
    a = entry.obj(root=untouched, college='Reed98', seed=1, num_splits=2,
                  train_ratio=0.6, val_ratio=0.2)
    b = load_facebook100(untouched, 'Reed98', seed=1, num_splits=2,
                         train_ratio=0.6, val_ratio=0.2)
    assert a.train_mask.size(1) == 2
    assert torch.equal(a.train_mask, b.train_mask)
    n_lab = int((a.y >= 0).sum())
    assert int(a.train_mask[:, 0].sum()) == int(n_lab * 0.6)
    c = load_facebook100(untouched, 'Reed98', seed=2, num_splits=2)
    assert not torch.equal(a.train_mask, c.train_mask)
    with pytest.raises(DatasetNotFoundError, match='fb100-Reed98-splits.npy'):
        load_facebook100(untouched, 'Reed98', split='linkx')


def test_facebook100_uses_fixed_split_file_when_present(tmp_path, data_root):
    fb = tmp_path / 'linkx' / 'facebook100'
    fb.mkdir(parents=True)
    os.symlink(os.path.abspath(Path(data_root) / 'linkx' / 'facebook100' /
                               'Reed98.mat'), fb / 'Reed98.mat')
    (tmp_path / 'linkx' / 'splits').mkdir()
    idx = np.arange(962)
    splits = np.array([{'train': idx[:10], 'valid': idx[10:20],
                        'test': idx[20:30]}] * 3, dtype=object)
    np.save(tmp_path / 'linkx' / 'splits' / 'fb100-Reed98-splits.npy',
            splits, allow_pickle=True)
    data = load_facebook100(tmp_path, 'Reed98')
    assert data.train_mask.size() == (962, 3)
    assert data.train_mask[:, 2].nonzero().view(-1).tolist() == \
        list(range(10))
    assert data.split_source == 'linkx:fb100-Reed98-splits.npy'
    data = load_facebook100(tmp_path, 'Reed98', split='random')
    assert data.train_mask.size(1) == 5


def test_facebook100_missing_file(untouched):
    with pytest.raises(DatasetNotFoundError) as exc:
        DATASETS.get('facebook100').obj(root=untouched, college='Penn94')
    msg = str(exc.value)
    assert os.path.join('linkx', 'facebook100', 'Penn94.mat') in msg
    assert f'{LINKX_URL}/facebook100/Penn94.mat' in msg
    with pytest.raises(DatasetNotFoundError, match='Johns%20Hopkins55.mat'):
        Facebook100Dataset(Path(untouched) / 'nowhere', 'JohnsHopkins55')


def test_facebook100_bad_args(data_root):
    with pytest.raises(ValueError, match="'college'"):
        Facebook100Dataset(data_root, '')
    with pytest.raises(ValueError, match="'split'"):
        Facebook100Dataset(data_root, 'Reed98', split='fixed')


# Twitch ---------------------------------------------------------------
# Node / friendship counts of the MUSAE README (FR has 6,549 users; two of
# its target rows are duplicated).
TWITCH = {'DE': (9498, 153138), 'ENGB': (7126, 35324), 'ES': (4648, 59382),
          'FR': (6549, 112666), 'PTBR': (1912, 31299)}


@pytest.mark.parametrize('lang', TWITCH_LANGUAGES)
def test_twitch_real_files(untouched, lang):
    n, e = TWITCH[lang]
    data = DATASETS.get(f'twitch_{lang.lower()}').obj(root=untouched)
    assert data.num_nodes == n
    assert data.num_edges == 2 * e and data.is_undirected()
    assert data.x.size() == (n, 3170)
    assert int(data.y.max()) + 1 == 2

    base = Path(untouched) / 'linkx' / 'twitch' / lang
    target = pd.read_csv(base / f'musae_{lang}_target.csv')
    # Labels indexed by new_id (the rows are not sorted by it).
    mature = dict(zip(target['new_id'], target['mature']))
    assert data.y.tolist() == [int(mature[i]) for i in range(n)]
    with open(base / f'musae_{lang}_features.json') as f:
        feats = json.load(f)
    for node in (0, n // 2, n - 1):
        assert set(data.x[node].nonzero().view(-1).tolist()) == \
            set(feats[str(node)])
    assert data.train_mask.size() == (n, 5)


def test_twitch_de_linkx_split_and_directed(untouched):
    data = load_twitch(untouched, 'de')
    splits = np.load(Path(untouched) / 'linkx' / 'splits' /
                     'twitch-e-DE-splits.npy', allow_pickle=True)
    assert data.split_source == 'linkx:twitch-e-DE-splits.npy'
    for s, split in enumerate(splits):
        assert sorted(data.test_mask[:, s].nonzero().view(-1).tolist()) == \
            sorted(np.asarray(split['test']).tolist())
    rand = load_twitch(untouched, 'DE', split='random', seed=0)
    assert rand.train_mask.sum(0).tolist() == [4749] * 5
    assert not torch.equal(rand.train_mask, data.train_mask)
    directed = load_twitch(untouched, 'DE', to_undirected=False)
    assert directed.num_edges == 153138
    edges = pd.read_csv(Path(untouched) / 'linkx' / 'twitch' / 'DE' /
                        'musae_DE_edges.csv').to_numpy()
    got = np.sort((directed.edge_index[0] * 9498 +
                   directed.edge_index[1]).numpy())
    assert np.array_equal(got, np.sort(edges[:, 0] * 9498 + edges[:, 1]))


def _tiny_twitch(root, lang='ES'):
    d = root / 'linkx' / 'twitch' / lang
    d.mkdir(parents=True)
    # Rows unsorted by new_id and one duplicated row (keep the first).
    pd.DataFrame({
        'id': [11, 12, 13, 14, 12],
        'days': [1, 2, 3, 4, 2],
        'mature': [True, False, False, True, True],
        'views': [1, 2, 3, 4, 5],
        'partner': [False] * 5,
        'new_id': [2, 0, 3, 1, 0],
    }).to_csv(d / f'musae_{lang}_target.csv', index=False)
    pd.DataFrame({'from': [0, 1, 2], 'to': [1, 2, 3]}).to_csv(
        d / f'musae_{lang}_edges.csv', index=False)
    with open(d / f'musae_{lang}_features.json', 'w') as f:
        json.dump({'0': [0, 3169], '1': [5, 5], '2': [], '3': [7],
                   '9': [1]}, f)


def test_twitch_tiny_known_answer(tmp_path):
    _tiny_twitch(tmp_path)
    data = DATASETS.get('twitch').obj(root=str(tmp_path), language='ES',
                                      num_splits=2)
    assert data.y.tolist() == [0, 1, 1, 0]
    assert data.x.size() == (4, 3170)
    assert data.x[0].nonzero().view(-1).tolist() == [0, 3169]
    assert data.x[1].nonzero().view(-1).tolist() == [5]
    assert data.x[2].sum() == 0 and data.x[3, 7] == 1
    assert sorted(map(tuple, data.edge_index.t().tolist())) == \
        [(0, 1), (1, 0), (1, 2), (2, 1), (2, 3), (3, 2)]
    # int(4 * .5) = 2 train, int(4 * .25) = 1 val, 1 test.
    assert data.train_mask.sum(0).tolist() == [2, 2]
    assert data.test_mask.sum(0).tolist() == [1, 1]


def test_twitch_missing_and_bad_args(untouched, tmp_path):
    with pytest.raises(DatasetNotFoundError) as exc:
        TwitchDataset(tmp_path, 'FR')
    msg = str(exc.value)
    assert os.path.join('twitch', 'FR', 'musae_FR_edges.csv') in msg
    assert f'{LINKX_URL}/twitch/FR/' in msg
    with pytest.raises(ValueError, match="'language'"):
        TwitchDataset(untouched, 'RU')
    with pytest.raises(TypeError, match="'to_undirected'"):
        TwitchDataset(untouched, 'DE', to_undirected=1)
    with pytest.raises(DatasetNotFoundError, match='twitch-e-ES-splits.npy'):
        load_twitch(untouched, 'ES', split='linkx')
    from pyg_ext.train.config import ConfigError
    from pyg_ext.train import load_config
    with pytest.raises(ConfigError, match='dataset.language'):
        load_config({'dataset': {'name': 'twitch', 'language': 'RU'}})


def test_linkx_registered_names():
    names = ['facebook100', 'fb100_reed98', 'fb100_amherst41',
             'fb100_johnshopkins55', 'fb100_cornell5', 'twitch']
    names += [f'twitch_{lang.lower()}' for lang in TWITCH_LANGUAGES]
    for name in names:
        assert name in DATASETS


def test_linkx_doctests():
    import doctest

    import pyg_ext.datasets.linkx as module
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
