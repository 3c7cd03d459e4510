"""The re-ID and face-verification configs train end to end on data in the
standard layouts, written by the Fashion-MNIST converter from tiny fake IDX
files: teacher, LR-only and RKD each for 2 iterations (tiny widths), then
scored by their own metrics, and ``tools/test.py --show-dir`` draws their
retrieval figures. The configs are used as shipped apart from test-only
``--cfg-options`` (data root, sizes, loaders)."""
import os
import os.path as osp
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from conftest import REPO, load_tool
from rkd_mm.models.task_adapters import EmbeddingAdapter

TEST = load_tool('test.py')

LOADERS = {
    f'{name}.{key}': value
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader')
    for key, value in (('num_workers', 0), ('persistent_workers', False))
}
SHORT = {
    'train_cfg.max_iters': 2, 'train_cfg.val_interval': 2,
    'default_hooks.checkpoint.interval': 2,
    'default_hooks.logger.interval': 1
}
# half-width ResNet-18 at 1/4 of that: 64-d embeddings
NET = {'backbone.stem_channels': 8, 'backbone.base_channels': 8,
       'head.in_channels': 64}
# the converter's tiny output holds 2 folds of pairs, not LFW's 10
FOLDS = {f'{e}.num_folds': None for e in ('val_evaluator', 'test_evaluator')}


def tiny(net_prefixes, **extra) -> dict:
    options = {**LOADERS, **SHORT, **extra}
    for prefix in net_prefixes:
        options.update({f'model.{prefix}{k}': v for k, v in NET.items()})
    return options


@pytest.fixture
def converted(tiny_fmnist_reid_root) -> str:
    return tiny_fmnist_reid_root


def data_options(task: str, root: str) -> dict:
    sub = 'market1501' if task == 'reid' else 'lfw_style'
    options = {
        f'{name}.dataset.data_root': osp.join(root, sub)
        for name in ('train_dataloader', 'val_dataloader', 'test_dataloader')
    }
    if task == 'reid':
        # 4 identities x 2 images
        options.update({'train_dataloader.batch_size': 8,
                        'train_dataloader.batch_sampler.num_instances': 2})
    else:
        options.update({'train_dataloader.batch_size': 8, **FOLDS})
    return options


def train(config: str, work_dir: str, options: dict) -> Runner:
    cfg = Config.fromfile(osp.join(REPO, 'configs', config))
    cfg.merge_from_dict(options)
    cfg.work_dir = work_dir
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner


@pytest.mark.parametrize('task,metrics', [
    ('reid', {'rank1', 'rank5', 'rank10', 'mAP'}),
    ('face', {'verif_acc', 'verif_acc_std', 'tar_far_1e-3'}),
])
def test_teacher_lr_only_and_rkd_train_and_score(task, metrics,
                                                 converted, tmp_path,
                                                 monkeypatch):
    data = data_options(task, converted)
    teacher = train(f'teachers/{task}_fmnist_r18_hr.py',
                    str(tmp_path / 'teacher'), tiny([''], **data))
    ckpt = str(tmp_path / 'teacher' / 'iter_2.pth')
    assert metrics <= set(teacher.val())

    # tools/test.py --show-dir: rank lists (re-ID), hardest pairs (face)
    show = str(tmp_path / 'show')
    options = [f'{k}={v}' for k, v in tiny([''], **data).items()]
    monkeypatch.setattr(sys, 'argv', [
        'test.py', osp.join(REPO, 'configs', 'teachers',
                            f'{task}_fmnist_r18_hr.py'), ckpt,
        '--work-dir', str(tmp_path / 'test'), '--show-dir', show,
        '--cfg-options', *options])
    TEST.main()
    drawn = sorted(os.listdir(show))
    if task == 'reid':
        queries = os.listdir(osp.join(converted, 'market1501', 'query'))
        assert len(drawn) == min(20, len(queries))
        assert all(f.startswith('ranklist_') for f in drawn)
    else:
        assert drawn == ['hardest_different_pairs.png',
                         'hardest_same_pairs.png']

    lr_only = train(f'baselines/{task}_fmnist_r18_lr_x0.25.py',
                    str(tmp_path / 'lr'), tiny([''], **data))
    assert lr_only.model.data_preprocessor.scale_factors == [0.25]

    rkd = train(
        f'rkd/{task}_fmnist_r18_to_r18_lr_x0.25.py', str(tmp_path / 'rkd'),
        tiny(['teacher.', 'student.'], **data, **{
            'model.teacher_ckpt': ckpt, 'model.teacher_cache': None,
            'model.distill_warmup_iters': 1,
            'model.distiller.adversarial.discriminator.in_channels': 64,
            'model.distiller.adversarial.discriminator.hidden_channels': 16
        }))
    assert isinstance(rkd.model.task, EmbeddingAdapter)
    scores = rkd.val()
    # the student's own metrics and the teacher's, side by side
    assert metrics <= set(scores)
    assert {f'teacher/{m}' for m in metrics} <= set(scores)
    # the teacher's weights are the checkpoint's
    state = torch.load(ckpt, map_location='cpu',
                       weights_only=False)['state_dict']
    for name, value in rkd.model.teacher.state_dict().items():
        assert torch.equal(value, state[name])
