"""LFWPairsDataset: the generated LFW round-trips through the reader (each
pair's indices point at its two images, folds, each image once), both
header forms, the face-training folders through mmpretrain's
CustomDataset, and every malformed file named by its line."""
import os.path as osp

import pytest
from mmengine.registry import init_default_scope

from reid_face_fixtures import make_lfw
from rkd_mm.datasets import LFWPairsDataset
from rkd_mm.datasets.lfw_pairs import read_lfw_pairs
from rkd_mm.registry import DATASETS


@pytest.fixture(autouse=True)
def mmpretrain_scope():
    init_default_scope('mmpretrain')


@pytest.fixture(scope='module')
def lfw(tmp_path_factory):
    return make_lfw(str(tmp_path_factory.mktemp('lfw')))


def write_pairs(root, text):
    path = osp.join(str(root), 'pairs.txt')
    with open(path, 'w') as f:
        f.write(text)
    return path


def test_fixture_is_in_the_lfw_format(lfw):
    with open(lfw['pairs_file']) as f:
        lines = f.read().splitlines()
    assert lines[0] == '2\t3'
    assert lines[1:] == lfw['lines']
    # per fold: 3 same-person lines, then 3 different-person lines
    kinds = [len(line.split('\t')) for line in lines[1:]]
    assert kinds == [3, 3, 3, 4, 4, 4] * 2
    name = lfw['people'][0]
    assert osp.isfile(osp.join(lfw['img_dir'], name, f'{name}_0001.jpg'))


def test_pairs_point_at_their_images(lfw):
    ds = LFWPairsDataset(data_root=lfw['root'])
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    paths = [i['img_path'] for i in infos]
    assert len(paths) == len(set(paths)) == lfw['num_pair_images']
    for info in infos:
        assert info['identity'] == osp.basename(osp.dirname(info['img_path']))
    meta = ds.metainfo
    assert meta['num_folds'] == 2
    assert len(meta['pairs']) == len(lfw['pairs']) == 12
    for (a, b, same, fold), want in zip(meta['pairs'], lfw['pairs']):
        assert (paths[a], paths[b], same, fold) == want
        assert isinstance(same, bool) and isinstance(fold, int)
    assert [p[3] for p in meta['pairs']] == [0] * 6 + [1] * 6
    # first appearance order: the first line's two images come first
    assert meta['pairs'][0][:2] == (0, 1)


def test_single_number_header_is_one_fold(tmp_path):
    lfw = make_lfw(
        str(tmp_path), num_folds=1, pairs_per_fold=4,
        single_number_header=True, pairs_file='pairsDevTest.txt')
    ds = LFWPairsDataset(data_root=lfw['root'],
                         pairs_file='pairsDevTest.txt')
    assert ds.metainfo['num_folds'] == 1
    assert [p[2] for p in ds.metainfo['pairs']] == [True] * 4 + [False] * 4
    assert {p[3] for p in ds.metainfo['pairs']} == {0}


def test_absolute_pairs_file_and_pipeline(lfw):
    ds = DATASETS.build(
        dict(
            type='rkd_mm.LFWPairsDataset',
            data_root=lfw['root'],
            pairs_file=lfw['pairs_file'],
            pipeline=[
                dict(type='LoadImageFromFile'),
                dict(type='PackInputs')
            ]))
    out = ds[3]
    assert out['inputs'].shape == (3, 28, 28)
    assert out['data_samples'].sample_idx == 3


def test_face_training_folders_read_by_custom_dataset(lfw):
    ds = DATASETS.build(
        dict(type='CustomDataset', data_root=lfw['train_dir'],
             data_prefix=''))
    assert ds.metainfo['classes'] == tuple(lfw['train_classes'])
    assert len(ds) == lfw['num_train_images'] == 12
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        folder = osp.basename(osp.dirname(info['img_path']))
        assert lfw['train_classes'][info['gt_label']] == folder


@pytest.mark.parametrize(
    'text,match',
    [
        ('', 'is empty'),
        ('2 3 4\n', r'line 1 \(header'),
        ('ten\n', 'header must be numbers'),
        ('0 3\n', 'must be positive'),
        ('1\tA\t1\t2\nB\t1\tC\t2\nA\t1\t2\n',
         r'line 1 .*expected "<folds> <pairs per fold>"'),
        ('1\t2\nA\t1\t2\nA\t1\t3\nA\t1\tB\t1\n',
         r'2 pairs = 4 pair lines, the file has 3'),
        ('1\t1\nA\t1\tB\t2\nA\t1\tB\t2\n',
         r'line 2 .*expected a same-person line'),
        ('1\t1\n\nA\t1\t2\nA\t1\t2\n',
         r'line 4 .*expected a different-person line'),
        ('1\t1\nA\t1\tx\nA\t1\tB\t2\n', r"line 2 .*'x' is not an image"),
        ('1\t1\nA\t1\t2\nA\t1\tA\t2\n', r'line 3 .*names A twice'),
    ])
def test_malformed_files_name_the_line(tmp_path, text, match):
    with pytest.raises(ValueError, match=match):
        read_lfw_pairs(write_pairs(tmp_path, text))


def test_missing_image_names_the_line(lfw, tmp_path):
    lines = list(lfw['lines'])
    lines[4] = f"{lfw['people'][0]}\t1\t{lfw['people'][1]}\t9"
    path = write_pairs(tmp_path, '\n'.join(['2\t3'] + lines) + '\n')
    with pytest.raises(FileNotFoundError,
                       match=r'line 6 names image 9 of Eval_Person_01'):
        LFWPairsDataset(data_root=lfw['root'], pairs_file=path)
    with pytest.raises(FileNotFoundError, match='img_ext'):
        LFWPairsDataset(data_root=lfw['root'], img_ext='.png')


def test_missing_root_or_pairs_file(lfw, tmp_path):
    with pytest.raises(FileNotFoundError, match='data_root not found'):
        LFWPairsDataset(data_root=str(tmp_path / 'nowhere'))
    with pytest.raises(FileNotFoundError, match='the pairs file not found'):
        LFWPairsDataset(data_root=lfw['root'], pairs_file='pairsDevTest.txt')
    with pytest.raises(ValueError, match='does not take indices'):
        LFWPairsDataset(data_root=lfw['root'], indices=4)
