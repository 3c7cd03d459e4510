"""The LR data preprocessors: the one home of the LR scale."""
import pytest
import torch
from mmengine.registry import init_default_scope
from mmpretrain.structures import DataSample

from conftest import seg_batch
from rkd_mm.utils.lr_view import downsample_image
from rkd_mm.models import LRClsDataPreProcessor, LRSegDataPreProcessor
from rkd_mm.models.data_preprocessors import hr_copy, lr_preprocessor
from rkd_mm.registry import MODELS

SEG = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
           bgr_to_rgb=True, size_divisor=1)
CLS = dict(mean=[72.94], std=[90.02], num_classes=10)


@pytest.fixture(autouse=True)
def scope():
    init_default_scope('mmseg')


def grey(inputs, pre):
    return torch.round(inputs * pre.std + pre.mean)


@pytest.mark.parametrize('scale', [0.5, 0.25, 0.3])
def test_seg_view_is_the_pipeline_ops_pixels(scale):
    """The pixels of OpenCV's area resize on the uint8 image (what a
    pipeline transform would make), for integer and non-integer ratios."""
    pre = LRSegDataPreProcessor(**SEG, scale_factor=scale)
    data = seg_batch(n=2, size=64)
    out = pre(data, False)
    for img, lr in zip(data['inputs'], grey(out['inputs'], pre)):
        expected = downsample_image(img.permute(1, 2, 0).numpy(), scale)
        expected = torch.from_numpy(expected).permute(2, 0, 1).flip(0)
        assert torch.equal(lr, expected.float())
    # the label maps stay HR
    assert out['data_samples'][0].gt_sem_seg.shape == (64, 64)


def test_cls_view_is_the_pipeline_ops_pixels():
    pre = LRClsDataPreProcessor(**CLS, scale_factor=0.25)
    g = torch.Generator().manual_seed(0)
    imgs = [torch.randint(0, 256, (1, 28, 28), generator=g,
                          dtype=torch.uint8) for _ in range(3)]
    samples = [DataSample().set_gt_label(i) for i in range(3)]
    out = pre(dict(inputs=imgs, data_samples=samples), True)
    assert out['inputs'].shape == (3, 1, 7, 7)
    for img, lr in zip(imgs, grey(out['inputs'], pre)):
        expected = downsample_image(img[0].numpy(), 0.25)
        assert torch.equal(lr[0], torch.from_numpy(expected).float())
    assert torch.equal(out['data_samples'][2].gt_label, torch.tensor([2]))


def test_a_list_draws_per_training_batch_and_tests_at_one():
    pre = LRSegDataPreProcessor(**SEG, scale_factor=[0.5, 0.25],
                                test_scale_factor=0.25)
    torch.manual_seed(0)
    sizes = {pre(seg_batch(n=1, size=64), True)['inputs'].shape[-1]
             for _ in range(30)}
    assert sizes == {32, 16}
    assert all(pre(seg_batch(n=1, size=64), False)['inputs'].shape[-1] == 16
               for _ in range(5))
    with pytest.raises(ValueError, match='test_scale_factor'):
        LRSegDataPreProcessor(**SEG, scale_factor=[0.5, 0.25])


def test_bad_scales_and_missing_normalisation_are_explained():
    with pytest.raises(ValueError, match='out of range'):
        LRSegDataPreProcessor(**SEG, scale_factor=2.0)
    with pytest.raises(TypeError, match='is a boolean'):
        LRSegDataPreProcessor(**SEG, scale_factor=True)
    with pytest.raises(ValueError, match='empty list'):
        LRSegDataPreProcessor(**SEG, scale_factor=[])
    with pytest.raises(ValueError, match='needs mean and std'):
        LRClsDataPreProcessor(num_classes=3, scale_factor=0.5)


def test_registered_and_found_on_a_model():
    pre = MODELS.build(dict(type='rkd_mm.LRClsDataPreProcessor', **CLS,
                            scale_factor=0.5))
    assert isinstance(pre, LRClsDataPreProcessor)
    model = torch.nn.Module()
    model.data_preprocessor = pre
    assert lr_preprocessor(model) is pre
    hr = hr_copy(pre)
    assert hr.scale_factors == [1.0] and pre.scale_factors == [0.5]
    x = torch.randn(1, 1, 8, 8)
    assert torch.equal(hr.lr_view(x), x)
    plain = torch.nn.Module()
    plain.data_preprocessor = torch.nn.Identity()
    assert lr_preprocessor(plain) is None
