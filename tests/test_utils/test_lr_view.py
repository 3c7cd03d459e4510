"""The LR view's primitives: shapes, exact area averaging, the way back to
HR, bad scale factors."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rkd_mm.utils.lr_view import (check_scale_factor, downsample_image,
                                  downsample_tensor, lr_size,
                                  upsample_tensor)


@pytest.mark.parametrize('scale,expected', [(0.5, 64), (0.25, 32), (1, 128)])
def test_shapes(scale, expected):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (128, 128, 3), dtype=np.uint8)
    assert downsample_image(img, scale).shape == (expected, expected, 3)
    assert downsample_image(img, scale).dtype == np.uint8


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


@pytest.mark.parametrize('scale', [0.5, 0.25, 0.3])
def test_tensor_op_gives_the_image_op_pixels(scale):
    """downsample_tensor on a normalised batch = downsample_image on its
    uint8 grey levels, normalised (integer ratios in torch, others through
    OpenCV)."""
    rng = np.random.default_rng(2)
    img = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
    mean = torch.tensor([10.0, 20.0, 30.0]).view(3, 1, 1)
    std = torch.tensor([50.0, 60.0, 70.0]).view(3, 1, 1)
    batch = (torch.from_numpy(img).permute(2, 0, 1).float()[None] - mean) / std
    lr = downsample_tensor(batch, scale, mean, std)
    grey = (lr[0] * std + mean).round().permute(1, 2, 0).numpy()
    assert np.array_equal(grey, downsample_image(img, scale).astype(float))


def test_upsample_back_is_bilinear_with_half_pixel_centres():
    lr = torch.arange(4.0).view(1, 1, 2, 2)
    up = upsample_tensor(lr, (4, 4))
    assert up.shape == (1, 1, 4, 4)
    assert torch.equal(up, F.interpolate(lr, size=(4, 4), mode='bilinear',
                                         align_corners=False))
    assert up[0, 0, 0, 0] == 0.0 and up[0, 0, 1, 1] == 0.75
    with pytest.raises(ValueError, match='bilinear'):
        upsample_tensor(lr, (4, 4), 'bicubic')


def test_lr_size_rounds():
    assert lr_size((100, 60), 0.25) == (25, 15)
    assert lr_size((3, 3), 0.1) == (1, 1)


@pytest.mark.parametrize('bad', [0, -0.5, 1.5, 2])
def test_out_of_range_scale_names_the_field(bad):
    with pytest.raises(ValueError, match=r'scale_factor=.*\(0, 1\]'):
        check_scale_factor(bad)


@pytest.mark.parametrize('flag', [True, False, np.bool_(True)])
def test_a_boolean_is_not_a_scale_factor(flag):
    # float(True) == 1.0 would silently train at full resolution
    with pytest.raises(TypeError, match='is a boolean, not a scale factor'):
        check_scale_factor(flag)
    with pytest.raises(TypeError, match='teacher_scale_factor=True'):
        check_scale_factor(True, 'teacher_scale_factor')


def test_non_numeric_scale_and_unknown_interpolation():
    with pytest.raises(TypeError, match='scale_factor'):
        check_scale_factor('half')
    with pytest.raises(ValueError, match='interpolation'):
        downsample_image(np.zeros((4, 4), np.uint8), 0.5, 'nearest')
