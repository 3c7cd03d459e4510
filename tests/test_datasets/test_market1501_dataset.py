"""Market1501Dataset: the generated fixture round-trips through the reader
(every file with its pid / camid / is_query, relabelling, junk), pipelines
through mmpretrain's registry, and bad layouts or names."""
import os
import os.path as osp
import shutil

import pytest
import torch
from mmengine.registry import init_default_scope

from reid_face_fixtures import make_market1501
from rkd_mm.datasets import Market1501Dataset
from rkd_mm.datasets.market1501 import parse_market1501_name
from rkd_mm.registry import DATASETS


@pytest.fixture(autouse=True)
def mmpretrain_scope():
    init_default_scope('mmpretrain')


@pytest.fixture(scope='module')
def market(tmp_path_factory):
    return make_market1501(str(tmp_path_factory.mktemp('market')))


def infos(dataset):
    return [dataset.get_data_info(i) for i in range(len(dataset))]


def test_parse_names():
    parsed = parse_market1501_name('0002_c1s1_000451_03.jpg')
    assert parsed == (2, 1, 1, 451, 3)
    assert parse_market1501_name('-1_c6s2_010401_03.jpg')[:2] == (-1, 6)
    assert parse_market1501_name('0000_c3s1_000151_01.png').pid == 0
    for bad in ('0002_c1_000451_03.jpg', '0002_c1s1_000451_03.gif',
                'Thumbs.db', 'x0002_c1s1_000451_03.jpg'):
        assert parse_market1501_name(bad) is None


def test_fixture_is_in_the_official_format(market):
    root = market['root']
    assert sorted(os.listdir(root)) == [
        'bounding_box_test', 'bounding_box_train', 'query'
    ]
    # 4 ids x 3 cams x 2 + 1 junk; 3 ids x 2 query cams; 3 x 3 x 2 + 2 + 2
    assert (market['num_train'], market['num_query'],
            market['num_gallery']) == (24, 6, 22)
    names = [n for n, _, _ in market['gallery']]
    assert '-1_c' in ' '.join(names) and any(
        n.startswith('0000_') for n in names)
    for folder in ('bounding_box_train', 'query', 'bounding_box_test'):
        assert 'Thumbs.db' in os.listdir(osp.join(root, folder))


def test_train_split_relabels_and_skips_junk(market):
    ds = Market1501Dataset(data_root=market['root'], split='train')
    assert len(ds) == market['num_train'] == 24
    pids = market['train_pids']
    assert pids == [2, 5, 8, 11]
    assert ds.metainfo['classes'] == ('0002', '0005', '0008', '0011')
    expected = {(n, pid, cam) for n, pid, cam in market['train'] if pid != -1}
    got = set()
    for info in infos(ds):
        name = osp.basename(info['img_path'])
        assert osp.dirname(info['img_path']) == osp.join(
            market['root'], 'bounding_box_train')
        assert info['gt_label'] == pids.index(info['pid'])
        assert 'is_query' not in info
        got.add((name, info['pid'], info['camid']))
    assert got == expected
    assert sorted(set(ds.get_gt_labels().tolist())) == [0, 1, 2, 3]


@pytest.mark.parametrize('split', ['query', 'gallery', 'test'])
def test_eval_splits_keep_every_file(market, split):
    ds = Market1501Dataset(data_root=market['root'], split=split)
    want = []
    if split in ('query', 'test'):
        want += [(n, pid, cam, True) for n, pid, cam in market['query']]
    if split in ('gallery', 'test'):
        want += [(n, pid, cam, False) for n, pid, cam in market['gallery']]
    got = [(osp.basename(i['img_path']), i['pid'], i['camid'], i['is_query'])
           for i in infos(ds)]
    # query first, then gallery, each sorted by file name
    assert got == want
    assert all('gt_label' not in i for i in infos(ds))
    if split != 'query':
        pids = [g[1] for g in got]
        assert pids.count(-1) == market['num_junk']
        assert pids.count(0) == market['num_distractors']


def test_custom_folder_names(market, tmp_path):
    root = str(tmp_path / 'm')
    shutil.copytree(market['root'], root)
    os.rename(osp.join(root, 'query'), osp.join(root, 'val_query'))
    os.rename(
        osp.join(root, 'bounding_box_test'),
        osp.join(root, 'bounding_box_val'))
    ds = Market1501Dataset(
        data_root=root,
        split='test',
        query_dir='val_query',
        gallery_dir='bounding_box_val')
    assert len(ds) == market['num_query'] + market['num_gallery']
    assert osp.basename(osp.dirname(ds.get_data_info(0)['img_path'])) == \
        'val_query'


def test_pipeline_packs_the_reid_fields(market):
    ds = DATASETS.build(
        dict(
            type='rkd_mm.Market1501Dataset',
            data_root=market['root'],
            split='test',
            pipeline=[
                dict(type='LoadImageFromFile'),
                dict(type='PackInputs',
                     algorithm_keys=('pid', 'camid', 'is_query'))
            ]))
    out = ds[0]
    assert out['inputs'].shape == (3, 32, 16)
    assert out['inputs'].dtype == torch.uint8
    sample = out['data_samples']
    name, pid, camid = market['query'][0]
    assert (sample.pid, sample.camid, sample.is_query) == (pid, camid, True)
    assert sample.sample_idx == 0
    assert osp.basename(sample.img_path) == name
    last = ds[len(ds) - 1]['data_samples']
    assert last.is_query is False
    assert last.pid == market['gallery'][-1][1]


def test_missing_root_or_folder_names_the_layout(market, tmp_path):
    with pytest.raises(FileNotFoundError, match='data_root not found'):
        Market1501Dataset(data_root=str(tmp_path / 'nowhere'))
    root = str(tmp_path / 'm')
    shutil.copytree(market['root'], root)
    shutil.rmtree(osp.join(root, 'query'))
    Market1501Dataset(data_root=root, split='gallery')  # needs no query/
    with pytest.raises(FileNotFoundError,
                       match=r'the query/ folder .*bounding_box_train/'):
        Market1501Dataset(data_root=root, split='test')
    with pytest.raises(ValueError, match='needs data_root'):
        Market1501Dataset(data_root='')


def test_bad_split_name_and_empty_folders(market, tmp_path):
    with pytest.raises(ValueError, match="got 'val'"):
        Market1501Dataset(data_root=market['root'], split='val')
    for folder in ('bounding_box_train', 'query', 'bounding_box_test'):
        os.makedirs(tmp_path / folder)
    (tmp_path / 'query' / 'Thumbs.db').write_bytes(b'')
    with pytest.raises(ValueError, match='holds no Market-1501 image'):
        Market1501Dataset(data_root=str(tmp_path), split='query')
    (tmp_path / 'bounding_box_train' / '-1_c1s1_000401_03.jpg').write_bytes(
        b'')
    with pytest.raises(ValueError, match='only junk'):
        Market1501Dataset(data_root=str(tmp_path), split='train')


def test_misnamed_image_is_an_error(market, tmp_path):
    root = str(tmp_path / 'm')
    shutil.copytree(market['root'], root)
    bad = osp.join(root, 'bounding_box_test', 'person_7.jpg')
    shutil.copy(
        osp.join(root, 'bounding_box_test', market['gallery'][0][0]), bad)
    with pytest.raises(ValueError, match=r'person_7\.jpg is not named'):
        Market1501Dataset(data_root=root, split='gallery')
