"""The dense CRKD configs: same protocol as RKD, one real training step."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

from rkd_mm.models.connectors import UpsampleConnector
from rkd_mm.models.discriminators import PatchDiscriminator
from rkd_mm.registry import MODELS
from test_baseline_configs import (  # noqa: F401, F811 (a fixture)
    PROTOCOL, full_weight_iteration, hr_batch, rkd_config)

ROOT = osp.join(osp.dirname(__file__), '..', '..', 'configs')
DENSE = 'rkd/rkd-dense_fpn_r50-fpn_r18_1xb8-2k_syndefect-lr{}.py'
SCALES = {'64x64': (0.5, 2), '32x32': (0.25, 4)}


@pytest.fixture(autouse=True)
def mmseg_scope():
    init_default_scope('mmseg')


@pytest.mark.parametrize('scale', SCALES)
def test_dense_config_changes_only_the_distillation(scale):
    dense = Config.fromfile(osp.join(ROOT, DENSE.format(scale)))
    rkd = rkd_config(scale)
    for field in PROTOCOL + ('student', 'student_taps', 'teacher_taps',
                             'teacher_cache', 'disc_tap'):
        assert dense.model.get(field) == rkd.model.get(field), field
    for key in ('train_dataloader', 'optim_wrapper', 'param_scheduler',
                'train_cfg', 'test_dataloader'):
        assert dense[key] == rkd[key], key


@pytest.mark.parametrize('scale', SCALES)
def test_dense_config_trains_one_step(scale, full_weight_iteration):  # noqa: F811,E501
    ratio, up = SCALES[scale]
    cfg = Config.fromfile(osp.join(ROOT, DENSE.format(scale)))
    cfg.model.teacher_ckpt = None
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    assert model.scale_factors == [ratio]
    assert isinstance(model.connectors['feat'], UpsampleConnector)
    assert model.connectors['feat'].scale == up
    assert isinstance(model.discriminator, PatchDiscriminator)
    wrappers = build_optim_wrapper(model, cfg.optim_wrapper)
    before = [p.detach().clone() for p in model.connectors.parameters()]
    model.train()
    log_vars = model.train_step(hr_batch(), wrappers)
    distill = {k for k in log_vars if k.startswith('distill.')}
    assert distill == {'distill.loss_kd', 'distill.loss_pair',
                       'distill.loss_mmd', 'distill.loss_adv'}
    assert {'disc.loss_real', 'disc.loss_fake'} <= set(log_vars)
    for key, value in log_vars.items():
        assert torch.isfinite(torch.as_tensor(value)), key
    for key in distill - {'distill.loss_adv'}:
        assert float(torch.as_tensor(log_vars[key]).detach()) > 0, key
    # the connector learns with the student
    assert any(not torch.equal(b, p.detach())
               for b, p in zip(before, model.connectors.parameters()))
