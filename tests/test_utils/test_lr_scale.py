"""rkd_mm.utils.lr_scale: every tool reads and sets the LR scale here."""
import os.path as osp

import pytest
from mmengine.config import Config

from conftest import REPO, TINY_HR, TINY_LR, TINY_RKD
from rkd_mm.registry import MODELS
from rkd_mm.utils.lr_scale import (check_one_lr_home, lr_scales,
                                   model_input_scale, set_lr_scale,
                                   set_test_lr_scale)

CFG = osp.join(REPO, 'configs')


def load(path):
    return Config.fromfile(osp.join(CFG, path))


@pytest.mark.parametrize('path,scales', [
    ('teachers/defect_seg_r50_hr.py', ((1.0, ), 1.0, 1.0)),
    ('baselines/defect_seg_r18_lr.py', ((0.5, ), 0.5, 1.0)),
    ('baselines/defect_seg_r18_lr_x0.25.py', ((0.25, ), 0.25, 1.0)),
    ('rkd/defect_seg_r50_to_r18_lr.py', ((0.5, ), 0.5, 1.0)),
    ('rkd/defect_seg_r50_to_r18_lr_x0.25.py', ((0.25, ), 0.25, 1.0)),
    ('rkd/ablations/rkd-dense_no-mmd_ta_x0.25.py', ((0.25, ), 0.25, 0.5)),
    ('baselines/cls_fmnist_r18_lr_x0.25.py', ((0.25, ), 0.25, 1.0)),
    ('rkd/cls_fmnist_r18_to_r18_lr_x0.25.py', ((0.25, ), 0.25, 1.0)),
])
def test_scales_of_the_shipped_configs(path, scales):
    cfg = load(path)
    assert lr_scales(cfg) == scales
    # the x0.25 variants change only the number: pipelines stay HR
    assert not any(step.type.endswith('LRDownsample')
                   for step in cfg.test_dataloader.dataset.pipeline)


def test_set_lr_scale_on_lr_only_and_distiller_configs():
    lr = Config.fromfile(TINY_LR)
    set_lr_scale(lr, 0.25)
    assert lr.model.data_preprocessor.scale_factor == 0.25
    assert lr_scales(lr) == ((0.25, ), 0.25, 1.0)
    rkd = Config.fromfile(TINY_RKD)
    set_lr_scale(rkd, [0.5, 0.25], 0.25)
    assert lr_scales(rkd) == ((0.5, 0.25), 0.25, 1.0)
    rkd.model.teacher_ckpt = None
    model = MODELS.build(rkd.model)  # the distiller builds what was read
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
    # a config of the old form: the pipeline made the LR view
    old = legacy_lr_config()
    assert lr_scales(old) == ((0.5, ), 0.5, 1.0)
    assert model_input_scale(old) == 1.0
    set_lr_scale(old, 0.25)
    assert lr_scales(old) == ((0.25, ), 0.25, 1.0)


def legacy_lr_config() -> Config:
    cfg = Config.fromfile(TINY_LR)
    cfg.model.data_preprocessor.type = 'SegDataPreProcessor'
    del cfg.model.data_preprocessor['scale_factor']
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.pipeline.insert(
            1, dict(type='rkd_mm.LRDownsample', scale_factor=0.5))
    return cfg


def test_a_legacy_distiller_scale_is_read():
    cfg = Config.fromfile(TINY_RKD)
    cfg.model.student = dict(cfg_path=TINY_HR)
    cfg.model.scale_factor = 0.25
    assert lr_scales(cfg) == ((0.25, ), 0.25, 1.0)
    set_lr_scale(cfg, 0.5)
    assert cfg.model.scale_factor == 0.5


def test_the_lr_view_made_twice_is_refused():
    check_one_lr_home(Config.fromfile(TINY_LR))
    check_one_lr_home(legacy_lr_config())
    both = Config.fromfile(TINY_LR)
    both.test_dataloader.dataset.pipeline.insert(
        1, dict(type='rkd_mm.LRDownsample', scale_factor=0.5))
    with pytest.raises(ValueError, match='made twice'):
        check_one_lr_home(both)
    rkd = Config.fromfile(TINY_RKD)
    rkd.train_dataloader.dataset.pipeline.insert(
        1, dict(type='rkd_mm.LRDownsample', scale_factor=0.5))
    with pytest.raises(ValueError, match='must stay HR'):
        check_one_lr_home(rkd)
