"""The dense CRKD configs (the default RKD recipe, and its variant with the
pixel-MMD term): one real training step each, the protocol shared with the
KD baselines."""
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
    PROTOCOL, SUFFIX, full_weight_iteration, hr_batch, rkd_config)

ROOT = osp.join(osp.dirname(__file__), '..', '..', 'configs')
DENSE = 'rkd/ablations/defect_seg_r50_to_r18_dense-crkd_lr{}.py'
SCALES = {'x0.5': (0.5, 2), 'x0.25': (0.25, 4)}
TERMS = {
    'default': {'distill.loss_kd', 'distill.loss_pair', 'distill.loss_adv'},
    'dense-mmd': {'distill.loss_kd', 'distill.loss_pair', 'distill.loss_mmd',
                  'distill.loss_adv'},
}


@pytest.fixture(autouse=True)
def mmseg_scope():
    init_default_scope('mmseg')


def load(recipe: str, scale: str) -> Config:
    if recipe == 'default':
        return rkd_config(scale)
    return Config.fromfile(osp.join(ROOT, DENSE.format(SUFFIX[scale])))


@pytest.mark.parametrize('scale', SCALES)
def test_dense_mmd_changes_only_the_distillation(scale):
    dense, rkd = load('dense-mmd', scale), rkd_config(scale)
    for field in PROTOCOL:
        assert dense.model.get(field) == rkd.model.get(field), field
    for field in ('student_taps', 'teacher_taps', 'connectors',
                  'adversarial'):
        assert dense.model.distiller[field] == rkd.model.distiller[field]
    for key in ('train_dataloader', 'optim_wrapper', 'param_scheduler',
                'train_cfg', 'test_dataloader'):
        assert dense[key] == rkd[key], key


@pytest.mark.parametrize('recipe', TERMS)
@pytest.mark.parametrize('scale', SCALES)
def test_dense_config_trains_one_step(recipe, scale,
                                      full_weight_iteration):  # noqa: F811
    ratio, up = SCALES[scale]
    cfg = load(recipe, scale)
    cfg.model.teacher_ckpt = None
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    connectors = model.distiller.connectors
    assert model.scale_factors == [ratio]
    assert isinstance(connectors['feat'], UpsampleConnector)
    assert connectors['feat'].scale == up
    assert isinstance(model.distiller.discriminator, PatchDiscriminator)
    wrappers = build_optim_wrapper(model, cfg.optim_wrapper)
    before = [p.detach().clone() for p in connectors.parameters()]
    model.train()
    log_vars = model.train_step(hr_batch(), wrappers)
    distill = {k for k in log_vars if k.startswith('distill.')}
    assert distill == TERMS[recipe]
    assert {'disc.loss_real', 'disc.loss_fake'} <= set(log_vars)
    for key, value in log_vars.items():
        assert torch.isfinite(torch.as_tensor(value)), key
    for key in distill - {'distill.loss_adv'}:
        assert float(torch.as_tensor(log_vars[key]).detach()) > 0, key
    # the connector learns with the student
    assert any(not torch.equal(b, p.detach())
               for b, p in zip(before, connectors.parameters()))
