"""rkd_mm.apis.lr_scale: every tool reads and sets the LR scale here."""
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope

from conftest import REPO, TINY_HR, TINY_LR, TINY_RKD
from rkd_mm.apis.lr_scale import (lr_scales, model_input_scale,
                                  set_lr_ceiling, set_lr_scale,
                                  set_test_lr_scale)
from rkd_mm.registry import MODELS

CFG = osp.join(REPO, 'configs')


def load(path):
    return Config.fromfile(osp.join(CFG, path))


@pytest.mark.parametrize('path,scales', [
    ('teachers/defect_seg_r50_hr.py', ((1.0, ), 1.0, 1.0)),
    ('baselines/defect_seg_r18_lr.py', ((0.5, ), 0.5, 1.0)),
    ('baselines/defect_seg_r18_lr_x0.25.py', ((0.25, ), 0.25, 1.0)),
    ('rkd/defect_seg_r50_to_r18_lr.py', ((0.5, ), 0.5, 1.0)),
    ('rkd/defect_seg_r50_to_r18_lr_x0.25.py', ((0.25, ), 0.25, 1.0)),
    ('rkd/ablations/defect_seg_r50_to_r18_ta_lr_x0.25.py',
     ((0.25, ), 0.25, 0.5)),
    ('baselines/cls_fmnist_r18_lr_x0.25.py', ((0.25, ), 0.25, 1.0)),
    ('baselines/cls_fmnist_r18_lr_multires.py', ((0.5, 0.25), 0.25, 1.0)),
    ('rkd/cls_fmnist_r18_to_r18_lr_x0.25.py', ((0.25, ), 0.25, 1.0)),
    ('rkd/cls_fmnist_r18_to_r18_lr_multires.py', ((0.5, 0.25), 0.25, 1.0)),
    ('kd_baselines/defect_seg_r50_to_r18_kd_lr_x0.25.py',
     ((0.25, ), 0.25, 1.0)),
])
def test_scales_of_the_shipped_configs(path, scales):
    assert lr_scales(load(path)) == scales


def test_set_lr_scale_on_lr_only_and_distiller_configs():
    lr = Config.fromfile(TINY_LR)
    set_lr_scale(lr, 0.25)
    assert lr.model.data_preprocessor.scale_factor == 0.25
    assert lr_scales(lr) == ((0.25, ), 0.25, 1.0)
    rkd = Config.fromfile(TINY_RKD)
    set_lr_scale(rkd, [0.5, 0.25], 0.25)
    assert lr_scales(rkd) == ((0.5, 0.25), 0.25, 1.0)
    rkd.model.teacher_ckpt = None
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(rkd.model)  # it builds what was read
    assert model.scale_factors == [0.5, 0.25]
    assert model.test_scale_factor == 0.25
    set_test_lr_scale(rkd, 0.5)  # a sweep: training's scales stay
    assert lr_scales(rkd) == ((0.5, 0.25), 0.5, 1.0)
    with pytest.raises(ValueError, match='sees the HR image'):
        set_lr_scale(Config.fromfile(TINY_HR), 0.5)


def test_model_input_scale_is_what_the_network_sees_of_the_pipeline():
    assert model_input_scale(Config.fromfile(TINY_LR)) == 0.5
    assert model_input_scale(Config.fromfile(TINY_RKD)) == 0.5
    assert model_input_scale(Config.fromfile(TINY_HR)) == 1.0
    # the LR ceiling sees the LR view brought back to HR
    ceiling = Config.fromfile(TINY_HR)
    set_lr_ceiling(ceiling, 0.25)
    assert lr_scales(ceiling) == ((0.25, ), 0.25, 1.0)
    assert model_input_scale(ceiling) == 1.0


def test_lr_ceiling_is_the_hr_model_on_the_lr_view_brought_back():
    """The teacher's config, its data preprocessor the LR one of its task at
    the scale with upsample_back: at the HR size, the LR image's pixels."""
    import torch.nn.functional as F

    from conftest import seg_batch
    from rkd_mm.utils.lr_view import downsample_tensor
    cfg = Config.fromfile(TINY_HR)
    with DefaultScope.overwrite_default_scope('mmseg'):
        hr_model = MODELS.build(cfg.model)
    set_lr_ceiling(cfg, 0.25)
    dp = cfg.model.data_preprocessor
    assert (dp.type, dp.scale_factor, dp.upsample_back) == (
        'rkd_mm.LRSegDataPreProcessor', 0.25, 'bilinear')
    assert cfg.model.backbone == Config.fromfile(TINY_HR).model.backbone
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(cfg.model)
    hr = hr_model.data_preprocessor(seg_batch(n=2, size=64), False)['inputs']
    got = model.data_preprocessor(seg_batch(n=2, size=64), False)['inputs']
    pre = model.data_preprocessor
    lr = downsample_tensor(hr, 0.25, pre.mean, pre.std)
    assert lr.shape[-2:] == (16, 16) and got.shape == hr.shape
    assert (got == F.interpolate(lr, size=(64, 64), mode='bilinear',
                                 align_corners=False)).all()
    with pytest.raises(ValueError, match='already'):
        set_lr_ceiling(cfg, 0.25)
    with pytest.raises(ValueError, match='not a distiller'):
        set_lr_ceiling(Config.fromfile(TINY_RKD), 0.25)
