"""rkd_mm.datasets.data_check and rkd_mm.apis.data_check: what a user's
label maps and images would get wrong is named before training."""
import os
import os.path as osp

import cv2
import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpretrain.datasets import CustomDataset
from mmseg.datasets import BaseSegDataset

from conftest import REPO, load_tool
from rkd_mm.apis.data_check import DataCheckError, check_config_data
from rkd_mm.datasets.data_check import check_split

CLASSES = ('background', 'scratch', 'stain')


def write_seg(root, masks, sizes=None, split='train', colour=False):
    """One image + label map per mask (PNG), mmseg's folder layout."""
    for folder in ('img_dir', 'ann_dir'):
        os.makedirs(osp.join(root, folder, split), exist_ok=True)
    for i, mask in enumerate(masks):
        h, w = mask.shape
        if sizes is not None:
            h, w = sizes[i]
        img = np.full((h, w, 3), 123, np.uint8)
        cv2.imwrite(osp.join(root, 'img_dir', split, f'{i:03d}.png'), img)
        label = np.stack([mask] * 3, -1) if colour else mask
        cv2.imwrite(osp.join(root, 'ann_dir', split, f'{i:03d}.png'), label)


def seg_dataset(root, split='train', classes=CLASSES, **kwargs):
    return BaseSegDataset(
        data_root=str(root),
        data_prefix=dict(img_path=f'img_dir/{split}',
                         seg_map_path=f'ann_dir/{split}'),
        metainfo=dict(classes=classes), img_suffix='.png', pipeline=[],
        **kwargs)


def masks(values, size=16, n=2):
    out = []
    for _ in range(n):
        mask = np.zeros((size, size), np.uint8)
        for j, v in enumerate(values):
            mask[j, :] = v
        out.append(mask)
    return out


@pytest.fixture(autouse=True)
def scope():
    init_default_scope('mmseg')


def test_a_clean_split_is_summarised(tmp_path):
    write_seg(tmp_path, masks([0, 1, 2]))
    report = check_split(seg_dataset(tmp_path), 'train', 3, 255, (0.25, ))
    assert report.errors == [] and report.warnings == []
    assert report.kind == 'segmentation'
    assert report.num_items == report.num_checked == 2
    assert report.sizes == {(16, 16): 2}
    assert report.image_counts == [2, 2, 2]
    # pixels: rows 0-2 hold 0, 1, 2 (0 also fills rows 3..15)
    assert report.pixel_counts == [2 * 14 * 16, 2 * 16, 2 * 16]
    lines = report.summary_lines()
    assert lines[0] == 'train: 2 images; sizes 16x16 (2)'
    assert lines[2] == '  1 scratch: in 2 images, 6.25 % of the pixels'


def test_masks_saved_as_0_and_255_are_named(tmp_path):
    write_seg(tmp_path, masks([0, 255]))
    report = check_split(seg_dataset(tmp_path), 'train', 3)
    assert len(report.errors) == 1
    assert 'masks saved as 0/255' in report.errors[0]
    assert 'write class indices 0..2' in report.errors[0]
    assert 'mask // 255' in report.errors[0]


def test_a_value_outside_the_classes_names_the_file_and_value(tmp_path):
    # background left out of the classes: a mask value 2 with 2 classes
    write_seg(tmp_path, masks([0, 1]) + masks([2]))
    report = check_split(seg_dataset(tmp_path, classes=CLASSES[1:]), 'train',
                         2)
    assert len(report.errors) == 1
    error = report.errors[0]
    assert error.startswith('label value 2 in ')
    assert error.split(' in ')[1].split(' ')[0].endswith('ann_dir/train/'
                                                          '002.png')
    assert 'num_classes=2 takes 0..1' in error
    assert 'background included' in error


def test_ignored_pixels_are_no_error(tmp_path):
    write_seg(tmp_path, masks([0, 1, 2, 255]))
    assert check_split(seg_dataset(tmp_path), 'train', 3).errors == []


def test_colour_label_maps_are_named(tmp_path):
    write_seg(tmp_path, masks([0, 1, 2]), colour=True)
    report = check_split(seg_dataset(tmp_path), 'train', 3)
    assert 'has 3 channels' in report.errors[0]


def test_several_sizes_and_sizes_the_scale_does_not_divide(tmp_path):
    write_seg(tmp_path, masks([0, 1, 2], n=1) + masks([0, 1, 2], size=18,
                                                       n=1))
    report = check_split(seg_dataset(tmp_path), 'train', 3, 255, (0.25, ))
    assert report.sizes == {(16, 16): 1, (18, 18): 1}
    assert any(e.startswith('images of 2 sizes (16x16: ') and
               '18x18: ' in e for e in report.errors)
    assert any(e.startswith('18x18 images') and 'give 4.5x4.5 pixels' in e
               and 'a multiple of 4' in e for e in report.errors)
    # a mask of another size than its image
    write_seg(tmp_path / 'b', masks([0, 1, 2], n=1), sizes=[(16, 20)])
    report = check_split(seg_dataset(tmp_path / 'b'), 'train', 3)
    assert any('is 16x16, its image' in e for e in report.errors)


def test_a_missing_class_errs_in_train_and_warns_elsewhere(tmp_path):
    write_seg(tmp_path, masks([0, 1]))
    write_seg(tmp_path, masks([0, 1]), split='val')
    train = check_split(seg_dataset(tmp_path), 'train', 3)
    assert "classes ['2 stain'] never appear in the training split" in \
        train.errors[0]
    val = check_split(seg_dataset(tmp_path, 'val'), 'val', 3)
    assert val.errors == []
    assert "classes ['2 stain'] never appear in the val split" in \
        val.warnings[0]


def test_reduce_zero_label_is_applied_as_mmseg_loads(tmp_path):
    # 0 -> ignored, 1..3 -> 0..2: values 0..3 with 3 classes are fine
    write_seg(tmp_path, masks([0, 1, 2, 3]))
    report = check_split(seg_dataset(tmp_path, reduce_zero_label=True),
                         'train', 3)
    assert report.errors == [] and report.image_counts == [2, 2, 2]


def test_a_large_split_is_sampled_and_says_so(tmp_path):
    write_seg(tmp_path, masks([0, 1, 2], n=5))
    report = check_split(seg_dataset(tmp_path), 'train', 3, max_images=3)
    assert report.num_items == 5 and report.num_checked == 3
    assert '3 checked (evenly sampled' in report.summary_lines()[0]


def test_classification_labels_outside_the_head(tmp_path):
    for name in ('a', 'b', 'c'):
        os.makedirs(tmp_path / name)
        cv2.imwrite(str(tmp_path / name / '0.png'),
                    np.zeros((8, 8, 3), np.uint8))
    init_default_scope('mmpretrain')
    dataset = CustomDataset(data_root=str(tmp_path), pipeline=[])
    # the folders name 3 classes, the head predicts 2: said once, first
    report = check_split(dataset, 'train', 2,
                         num_classes_key='model.head.num_classes')
    assert report.kind == 'classification'
    assert report.errors == [
        "model.head.num_classes=2 but the data set has 3 classes ('a', 'b', "
        "'c'): set model.head.num_classes=3 (--cfg-options "
        'model.head.num_classes=3), or name 2 classes in metainfo classes']
    assert check_split(dataset, 'train', 3).errors == []
    # without class names (an annotation file of labels only) each label
    # is checked against the head
    dataset._metainfo.pop('classes')
    report = check_split(dataset, 'train', 2)
    assert report.errors[0].startswith('label 2 of ')
    assert report.errors[0].endswith("set the head's num_classes to the "
                                     'number of classes')


def folder_config(root, test: str = 'test') -> Config:
    """Our x0.25 LR-only config on the img_dir/ann_dir folder ``root``
    with the 3 classes (the test loader reads split ``test``)."""
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'baselines',
                                   'defect_seg_r18_lr_x0.25.py'))
    for split in ('train', 'val', 'test'):
        folder = test if split == 'test' else split
        dataset = cfg[f'{split}_dataloader'].dataset
        dataset.update(type='BaseSegDataset', data_root=str(root),
                       metainfo=dict(classes=CLASSES), img_suffix='.png',
                       data_prefix=dict(img_path=f'img_dir/{folder}',
                                        seg_map_path=f'ann_dir/{folder}'))
        dataset.pop('generator_cfg', None)
    cfg.model.decode_head.num_classes = 3
    return cfg


def test_the_config_check_and_the_tool(tmp_path, capsys):
    write_seg(tmp_path, masks([0, 255]))
    write_seg(tmp_path, masks([0, 1, 2]), split='val')
    write_seg(tmp_path, masks([0, 1, 2]), split='test')
    cfg = folder_config(tmp_path)
    with pytest.raises(DataCheckError, match=r'train: the label maps hold '
                       r'only 0 and 255'):
        check_config_data(cfg)
    reports = check_config_data(cfg, raise_on_error=False)
    assert [r.split for r in reports] == ['train', 'val', 'test']
    assert [len(r.errors) for r in reports] == [1, 0, 0]
    # the 16x16 images at the config's x0.25: 4x4, whole
    assert not any('pixels: the LR view' in e for r in reports
                   for e in r.errors)
    path = str(tmp_path / 'cfg.py')
    cfg.dump(path)
    tool = load_tool('analysis_tools/check_dataset.py')
    assert tool.main([path]) == 1
    out = capsys.readouterr().out
    assert 'ERROR: the label maps hold only 0 and 255' in out
    assert out.rstrip().endswith('1 error(s), 0 warning(s)')


def test_an_empty_split_says_where_it_looked(tmp_path):
    os.makedirs(tmp_path / 'img_dir' / 'train')
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'baselines',
                                   'defect_seg_r18_lr_x0.25.py'))
    dataset = cfg.train_dataloader.dataset
    dataset.update(type='BaseSegDataset', data_root=str(tmp_path),
                   metainfo=dict(classes=CLASSES))
    dataset.pop('generator_cfg', None)
    with pytest.raises(DataCheckError, match=r"train: no images found "
                       r".*img_dir/train.* ending in '.jpg'"):
        check_config_data(cfg, splits=['train'])


def test_train_stops_before_building_anything(tmp_path, monkeypatch):
    write_seg(tmp_path, masks([0, 255]))
    write_seg(tmp_path, masks([0, 1, 2]), split='val')
    cfg = folder_config(tmp_path, test='val')
    path = str(tmp_path / 'cfg.py')
    cfg.dump(path)
    train = load_tool('train.py')
    work = str(tmp_path / 'work')
    monkeypatch.setattr('sys.argv', ['train.py', path, '--work-dir', work])
    with pytest.raises(SystemExit, match='masks saved as 0/255'):
        train.main()
    assert not osp.exists(work)  # nothing was built or written
    # --no-data-check goes on to build the Runner (stopped there)

    class Reached(Exception):
        pass

    def from_cfg(cfg):
        raise Reached

    monkeypatch.setattr(train.Runner, 'from_cfg', from_cfg)
    monkeypatch.setattr('sys.argv', ['train.py', path, '--work-dir', work,
                                     '--no-data-check'])
    with pytest.raises(Reached):
        train.main()
