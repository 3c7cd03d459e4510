"""Configs of the old forms: refused with the command that rewrites them,
and rewritten into configs that train the very same weights.

The legacy fixtures (tests/data/configs/legacy/) were written by the tree
before the distiller split: its tiny segmentation and classification RKD
configs and its x0.25 re-ID and face RKD configs at tiny widths, merged,
with the student and teacher models inline. Each, upgraded, trains for a
few iterations to the same tensors as the config of today's tree."""
import copy
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from conftest import (CONFIGS, REPO, TINY_CLS_RKD, TINY_LR, TINY_RKD,
                      load_tool, run_tool)
from rkd_mm.apis.config_upgrade import (legacy_reasons, refuse_legacy,
                                        upgrade_config)

LEGACY = osp.join(CONFIGS, 'legacy')
ITERS = 3
NET = {'backbone.stem_channels': 8, 'backbone.base_channels': 8,
       'head.in_channels': 64}
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def legacy(name: str) -> Config:
    return Config.fromfile(osp.join(LEGACY, f'tiny_{name}_rkd.py'))


def current(name: str) -> Config:
    """Today's config that the legacy one was."""
    if name == 'seg':
        return Config.fromfile(TINY_RKD)
    if name == 'cls':
        return Config.fromfile(TINY_CLS_RKD)
    cfg = Config.fromfile(osp.join(
        REPO, 'configs', 'rkd', f'{name}_fmnist_r18_to_r18_lr_x0.25.py'))
    opts = {f'model.{p}{k}': v for p in ('teacher.', 'student.')
            for k, v in NET.items()}
    opts.update({
        'model.teacher_ckpt': None, 'model.teacher_cache': None,
        'model.distiller.adversarial.discriminator.in_channels': 64,
        'model.distiller.adversarial.discriminator.hidden_channels': 16})
    for loader in LOADERS:
        opts.update({f'{loader}.num_workers': 0,
                     f'{loader}.persistent_workers': False})
    cfg.merge_from_dict(opts)
    return cfg


def with_data(cfg: Config, name: str, roots: dict) -> Config:
    cfg = copy.deepcopy(cfg)
    if name in ('seg', 'cls'):
        for loader in LOADERS:
            cfg[loader].dataset.data_root = roots[name]
        return cfg
    sub = 'market1501' if name == 'reid' else 'lfw_style'
    for loader in LOADERS:
        cfg[loader].dataset.data_root = osp.join(roots['emb'], sub)
    cfg.train_dataloader.batch_size = 8
    if name == 'reid':
        cfg.train_dataloader.batch_sampler.num_instances = 2
    else:
        for evaluator in ('val_evaluator', 'test_evaluator'):
            cfg[evaluator].num_folds = None
    return cfg


def trained_state(cfg: Config, work_dir: str) -> dict:
    cfg = copy.deepcopy(cfg)
    cfg.work_dir = work_dir
    cfg.randomness = dict(seed=0)
    cfg.train_cfg.max_iters = ITERS
    cfg.train_cfg.val_interval = ITERS
    runner = Runner.from_cfg(cfg)
    runner.train()
    return {k: v.detach().clone()
            for k, v in runner.model.state_dict().items()}


@pytest.fixture
def roots(tiny_data_root, tiny_fmnist_root, tiny_fmnist_reid_root):
    return dict(seg=tiny_data_root, cls=tiny_fmnist_root,
                emb=tiny_fmnist_reid_root)


@pytest.mark.parametrize('name', ['seg', 'cls', 'reid', 'face'])
def test_an_upgraded_config_trains_the_same_weights(name, roots, tmp_path):
    old = legacy(name)
    reasons = legacy_reasons(old)
    assert any('model.distiller block' in r for r in reasons)
    with pytest.raises(ValueError, match='upgrade_config.py'):
        refuse_legacy(old)
    new, notes = upgrade_config(old)
    assert notes and legacy_reasons(new) == []
    refuse_legacy(current(name))  # today's config is current
    a = trained_state(with_data(new, name, roots), str(tmp_path / 'old'))
    b = trained_state(with_data(current(name), name, roots),
                      str(tmp_path / 'new'))
    assert a.keys() == b.keys()
    differ = [k for k in a if not torch.equal(a[k], b[k])]
    assert not differ, f'{len(differ)} of {len(a)} tensors differ: ' \
        f'{differ[:3]}'


def test_the_old_scale_homes_move_into_the_preprocessors():
    """An LR-only config with rkd_mm.LRDownsample in its pipelines, and a
    distiller's scale fields: the scale moves into the LR data
    preprocessors, the pipelines stay HR."""
    lr = Config.fromfile(TINY_LR)
    lr.model.data_preprocessor.type = 'SegDataPreProcessor'
    del lr.model.data_preprocessor['scale_factor']
    for loader in LOADERS:
        lr[loader].dataset.pipeline.insert(
            1, dict(type='rkd_mm.LRDownsample', scale_factor=0.25))
    assert 'LRDownsample' in legacy_reasons(lr)[0]
    new, _ = upgrade_config(lr)
    assert new.model.data_preprocessor.type == 'rkd_mm.LRSegDataPreProcessor'
    assert new.model.data_preprocessor.scale_factor == 0.25
    assert not any('LRDownsample' in str(step) for loader in LOADERS
                   for step in new[loader].dataset.pipeline)
    rkd = legacy('seg')
    rkd.model.scale_factor = 0.25
    new, notes = upgrade_config(rkd)
    assert new.model.student.data_preprocessor.scale_factor == 0.25
    assert 'scale_factor' not in new.model
    assert any('model.student.data_preprocessor' in n for n in notes)


def test_bare_string_inputs_and_tap_keyed_connectors_become_explicit():
    old = legacy('seg')
    old.model.loss_inputs = dict(
        loss_kd=dict(preds_S='logits', preds_T='logits',
                     preds_T_lr='logits@lr'),
        loss_pair=dict(preds_S='feat', preds_T='feat'),
        loss_mmd=dict(preds_S='feat', preds_T='feat'))
    old.model.connectors = dict(feat=dict(
        type='rkd_mm.ConvConnector', in_channels=16, out_channels=16))
    new, _ = upgrade_config(old)
    inputs = new.model.distiller.loss_inputs
    assert inputs.loss_kd.preds_T_lr == dict(from_student=False,
                                             tap='logits', view='lr')
    assert inputs.loss_pair.preds_S == dict(from_student=True, tap='feat',
                                            connector='feat')
    assert inputs.loss_pair.preds_T == dict(from_student=False, tap='feat')
    # the discriminator judged the student tap through its connector too
    assert new.model.distiller.adversarial.connector == 'feat'


def test_the_tool_writes_the_upgraded_config(tmp_path):
    out = str(tmp_path / 'new.py')
    proc = run_tool(['tools/misc/upgrade_config.py',
                     osp.join(LEGACY, 'tiny_cls_rkd.py'), out])
    assert 'model.distiller' in proc.stdout
    assert legacy_reasons(Config.fromfile(out)) == []
    again = run_tool(['tools/misc/upgrade_config.py', out,
                      str(tmp_path / 'same.py')])
    assert 'nothing to change' in again.stdout
    refused = run_tool(['tools/misc/upgrade_config.py', out, out],
                       check=False)
    assert refused.returncode != 0 and '--force' in refused.stderr


def test_train_refuses_an_old_config_with_the_command(tmp_path):
    train = load_tool('train.py')
    import sys
    argv = sys.argv
    sys.argv = ['train.py', osp.join(LEGACY, 'tiny_seg_rkd.py'),
                '--work-dir', str(tmp_path)]
    try:
        with pytest.raises(SystemExit, match='upgrade_config.py'):
            train.main()
    finally:
        sys.argv = argv
