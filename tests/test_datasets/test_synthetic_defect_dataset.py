"""SyntheticDefectDataset through the real mmseg pipeline, and bad input."""
import logging
import shutil

import cv2
import numpy as np
import pytest
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope

from rkd_mm.datasets import SyntheticDefectDataset
from rkd_mm.datasets.defect_synthesis import CLASSES

HR_PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]


@pytest.fixture(autouse=True)
def mmseg_scope():
    init_default_scope('mmseg')


def _dataset(root, split='train', pipeline=HR_PIPELINE, **kwargs):
    return SyntheticDefectDataset(
        data_root=root,
        data_prefix=dict(
            img_path=f'img_dir/{split}', seg_map_path=f'ann_dir/{split}'),
        pipeline=pipeline,
        **kwargs)


def test_loads_through_the_mmseg_pipeline(tiny_data_root):
    ds = _dataset(tiny_data_root)
    assert len(ds) == 8 and ds.metainfo['classes'] == CLASSES
    sample = ds[0]
    assert tuple(sample['inputs'].shape) == (3, 64, 64)
    gt = sample['data_samples'].gt_sem_seg.data
    assert tuple(gt.shape) == (1, 64, 64)
    assert int(gt.max()) < len(CLASSES)
    raw = cv2.imread(ds.get_data_info(0)['seg_map_path'],
                     cv2.IMREAD_UNCHANGED)
    assert np.array_equal(gt[0].numpy(), raw)
    assert len(_dataset(tiny_data_root, 'val')) == 4


def test_missing_data_root_is_generated_once_and_logged(tmp_path):
    logger = MMLogger.get_instance('rkd_mm_test_gen', log_level='INFO')
    records = []

    class ListHandler(logging.Handler):

        def emit(self, record):
            records.append(record.getMessage())

    logger.addHandler(ListHandler())
    root = str(tmp_path / 'new')
    cfg = dict(img_size=32, num_train=3, num_val=1, num_test=1, seed=0)
    ds = _dataset(root, generator_cfg=cfg)
    assert len(ds) == 3
    assert any('generating the built-in synthetic defect data' in r
               for r in records)
    records.clear()
    _dataset(root, generator_cfg=cfg)
    assert not any('generating' in r for r in records)


def test_missing_data_root_without_generation_names_the_path(tmp_path):
    root = str(tmp_path / 'nowhere')
    with pytest.raises(FileNotFoundError, match='nowhere.*generate'):
        _dataset(root, generate_if_missing=False)


def test_wrong_split_folder_names_the_folder(tiny_data_root):
    with pytest.raises(FileNotFoundError, match='img_dir/trian'):
        SyntheticDefectDataset(
            data_root=tiny_data_root,
            data_prefix=dict(img_path='img_dir/trian',
                             seg_map_path='ann_dir/trian'),
            pipeline=HR_PIPELINE)


def test_unknown_generator_setting_is_named(tmp_path):
    with pytest.raises(KeyError, match='num_trian'):
        _dataset(str(tmp_path / 'x'), generator_cfg=dict(num_trian=3))


@pytest.fixture
def own_copy(tiny_data_root, tmp_path):
    root = str(tmp_path / 'copy')
    shutil.copytree(tiny_data_root, root)
    return root


def test_corrupt_image_is_named(own_copy):
    bad = f'{own_copy}/img_dir/train/00003.png'
    with open(bad, 'wb') as f:
        f.write(b'not a png')
    with pytest.raises(ValueError, match='Cannot read image .*00003.png'):
        _dataset(own_copy)


def test_label_out_of_range_is_named(own_copy):
    path = f'{own_copy}/ann_dir/train/00002.png'
    seg = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    seg[0, 0] = 7
    cv2.imwrite(path, seg)
    with pytest.raises(ValueError, match=r'00002.png holds label\(s\) \[7\]'):
        _dataset(own_copy)


def test_ignore_label_is_allowed(own_copy):
    path = f'{own_copy}/ann_dir/train/00002.png'
    seg = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    seg[0, 0] = 255
    cv2.imwrite(path, seg)
    assert len(_dataset(own_copy)) == 8


def test_label_size_mismatch_is_named(own_copy):
    path = f'{own_copy}/ann_dir/train/00001.png'
    seg = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    cv2.imwrite(path, seg[:32])
    with pytest.raises(ValueError, match='00001.png is 64x32 but its image'):
        _dataset(own_copy)
