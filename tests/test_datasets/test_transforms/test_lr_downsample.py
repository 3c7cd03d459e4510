"""The LR op: shapes, exact area averaging, HR labels untouched, bad input."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rkd_mm.datasets.transforms import (LRDownsample, check_scale_factor,
                                        downsample_image, lr_size)


@pytest.mark.parametrize('scale,expected', [(0.5, 64), (0.25, 32), (1, 128)])
def test_shapes_and_hr_label(scale, expected):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (128, 128, 3), dtype=np.uint8)
    seg = rng.integers(0, 5, (128, 128), dtype=np.uint8)
    results = LRDownsample(scale)(
        dict(img=img, gt_seg_map=seg.copy(), img_shape=(128, 128),
             ori_shape=(128, 128)))
    assert results['img'].shape == (expected, expected, 3)
    assert results['img_shape'] == (expected, expected)
    assert results['ori_shape'] == (128, 128)  # predictions go back to HR
    assert np.array_equal(results['gt_seg_map'], seg)
    assert results['lr_scale_factor'] == float(scale)


def test_area_is_the_block_mean():
    """For an integer ratio the op is the exact k x k block mean (rounded),
    the same as torch's avg_pool2d on the uint8 values."""
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (32, 48), dtype=np.uint8)
    lr = downsample_image(img, 0.25)
    block = img.reshape(8, 4, 12, 4).mean(axis=(1, 3))
    assert lr.shape == (8, 12)
    assert np.abs(lr.astype(float) - block).max() <= 0.5 + 1e-6
    pooled = F.avg_pool2d(torch.from_numpy(img)[None, None].float(), 4)[0, 0]
    assert np.abs(lr - pooled.numpy()).max() <= 0.5 + 1e-6


def test_lr_size_rounds():
    assert lr_size((100, 60), 0.25) == (25, 15)
    assert lr_size((3, 3), 0.1) == (1, 1)


@pytest.mark.parametrize('bad', [0, -0.5, 1.5, 2])
def test_out_of_range_scale_names_the_field(bad):
    with pytest.raises(ValueError, match=r'scale_factor=.*\(0, 1\]'):
        LRDownsample(bad)


@pytest.mark.parametrize('flag', [True, False, np.bool_(True)])
def test_a_boolean_is_not_a_scale_factor(flag):
    # float(True) == 1.0 would silently train at full resolution
    with pytest.raises(TypeError, match='is a boolean, not a scale factor'):
        LRDownsample(scale_factor=flag)
    with pytest.raises(TypeError, match='teacher_scale_factor=True'):
        check_scale_factor(True, 'teacher_scale_factor')


def test_non_numeric_scale_and_unknown_interpolation():
    with pytest.raises(TypeError, match='scale_factor'):
        LRDownsample('half')
    with pytest.raises(ValueError, match='interpolation'):
        LRDownsample(0.5, interpolation='nearest')
