"""Every shipped config loads and builds its model (no checkpoint needed)."""
import glob
import os.path as osp
import re

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from rkd_mm.registry import MODELS
from rkd_mm.apis.complexity import is_distiller

ROOT = osp.join(osp.dirname(__file__), '..', '..', 'configs')
CONFIGS = sorted(
    osp.relpath(p, ROOT)
    for p in glob.glob(osp.join(ROOT, '**', '*.py'), recursive=True)
    if '_base_' not in p)


def test_configs_are_found():
    assert 'rkd/defect_seg_r50_to_r18_lr.py' in CONFIGS


@pytest.mark.parametrize('name', CONFIGS)
def test_config_builds(name):
    cfg = Config.fromfile(osp.join(ROOT, name))
    init_default_scope(cfg.default_scope)  # mmseg or mmpretrain
    if is_distiller(cfg):
        cfg.model.teacher_ckpt = None  # random teacher: wiring only
    model = MODELS.build(cfg.model)
    assert sum(p.numel() for p in model.parameters()) > 0
    if re.match(r'rkd/ablations/.*-no-', name):
        term = name.split('-no-')[1].split('_')[0].split('-')[0]
        distiller = model.distiller
        if term == 'adv':
            assert distiller.discriminator is None
        else:
            assert f'loss_{term}' not in distiller.distill_losses
