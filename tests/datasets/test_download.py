r"""``download=True`` puts the files where the loaders read them, fetched from
the real URLs: ``download_url`` is replaced by a fake that serves each known
URL from the shared data folder (no network)."""
import shutil
import threading
import time
from pathlib import Path
from urllib.parse import unquote

import pytest
import torch

from pyg_ext.datasets._cache import cache_lock
from pyg_ext.datasets.geomgcn import GeomGCNDataset
from pyg_ext.datasets.heterophilous import HeterophilousNPZDataset
from pyg_ext.datasets.linkx import Facebook100Dataset, TwitchDataset
from pyg_ext.datasets.planetoid import PlanetoidDataset

PLANETOID = 'https://github.com/kimiyoung/planetoid/raw/master/data/'
YANDEX = ('https://github.com/yandex-research/heterophilous-graphs/raw/main/'
          'data/')
GEOMGCN = ('https://raw.githubusercontent.com/graphdml-uiuc-jlu/geom-gcn/'
           'master/')
LINKX = 'https://github.com/CUAI/Non-Homophily-Large-Scale/raw/master/data/'


def _local(shared, url):
    if url.startswith(PLANETOID):
        name = url[len(PLANETOID):]
        folder = {'cora': 'Cora', 'citeseer': 'CiteSeer'}[name.split('.')[1]]
        return shared / 'planetoid' / folder / 'raw' / name
    if url.startswith(YANDEX):
        return shared / 'heterophilous' / url[len(YANDEX):]
    if url.startswith(GEOMGCN):
        return shared / 'geomgcn' / url[len(GEOMGCN):]
    if url.startswith(LINKX + 'facebook100/'):
        name = unquote(url[len(LINKX + 'facebook100/'):]).replace(' ', '')
        return shared / 'linkx' / 'facebook100' / name
    if url.startswith(LINKX + 'twitch/'):
        return shared / 'linkx' / 'twitch' / url[len(LINKX + 'twitch/'):]
    raise AssertionError(f'unexpected download URL {url}')


@pytest.fixture
def fake_download(data_root, monkeypatch):
    shared = Path(data_root)
    urls = []

    def download_url(url, folder, log=True, filename=None):
        urls.append(url)
        src = _local(shared, url)
        assert src.is_file(), url
        dst = Path(folder) / (filename or url.rpartition('/')[2])
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, dst)
        return str(dst)

    import torch_geometric.datasets.planetoid as pyg_planetoid

    import pyg_ext.datasets.geomgcn as geomgcn
    import pyg_ext.datasets.heterophilous as heterophilous
    import pyg_ext.datasets.linkx as linkx
    for module in (geomgcn, heterophilous, linkx):
        monkeypatch.setattr(module, 'download_url', download_url)

    def fs_cp(path1, path2, *args, **kwargs):  # PyG's Planetoid uses fs.cp
        if not str(path1).startswith('http'):
            return real_cp(path1, path2, *args, **kwargs)
        download_url(str(path1), path2)

    real_cp = pyg_planetoid.fs.cp
    monkeypatch.setattr(pyg_planetoid.fs, 'cp', fs_cp)
    return urls


def _same(a, b):
    for key in ('x', 'y', 'edge_index', 'train_mask', 'val_mask',
                'test_mask'):
        assert torch.equal(a[key], b[key]), key


def test_download_planetoid(fake_download, tmp_path, untouched):
    data = PlanetoidDataset(tmp_path, 'cora', download=True)[0]
    assert len(fake_download) == 8
    raw = tmp_path / 'planetoid' / 'Cora' / 'raw'
    assert (raw / 'ind.cora.graph').is_file()
    _same(data, PlanetoidDataset(untouched, 'cora')[0])


def test_download_heterophilous(fake_download, tmp_path, untouched):
    data = HeterophilousNPZDataset(tmp_path, name='texas', download=True)[0]
    assert fake_download == [YANDEX + 'texas.npz']
    assert (tmp_path / 'heterophilous' / 'texas.npz').is_file()
    _same(data, HeterophilousNPZDataset(untouched, name='texas')[0])


def test_download_geomgcn(fake_download, tmp_path, untouched):
    data = GeomGCNDataset(tmp_path, 'cornell', download=True)[0]
    assert len(fake_download) == 12
    assert (tmp_path / 'geomgcn' / 'new_data' / 'cornell' /
            'out1_graph_edges.txt').is_file()
    assert (tmp_path / 'geomgcn' / 'splits' /
            'cornell_split_0.6_0.2_9.npz').is_file()
    _same(data, GeomGCNDataset(untouched, 'cornell')[0])


def test_download_linkx(fake_download, tmp_path, untouched):
    data = Facebook100Dataset(tmp_path, 'JohnsHopkins55', download=True)[0]
    assert fake_download == [LINKX + 'facebook100/Johns%20Hopkins55.mat']
    assert (tmp_path / 'linkx' / 'facebook100' /
            'JohnsHopkins55.mat').is_file()
    _same(data, Facebook100Dataset(untouched, 'JohnsHopkins55')[0])

    data = TwitchDataset(tmp_path, 'PTBR', download=True)[0]
    assert fake_download[1:] == [
        LINKX + f'twitch/PTBR/musae_PTBR_{f}'
        for f in ('edges.csv', 'features.json', 'target.csv')]
    _same(data, TwitchDataset(untouched, 'PTBR')[0])


def test_cache_lock_is_exclusive(tmp_path):
    entered = threading.Event()

    def other():
        with cache_lock(tmp_path):
            entered.set()

    with cache_lock(tmp_path):
        thread = threading.Thread(target=other)
        thread.start()
        time.sleep(0.3)
        assert not entered.is_set()  # blocked while the lock is held
    thread.join(timeout=10)
    assert entered.is_set()
