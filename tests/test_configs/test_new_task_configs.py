"""docs/new_task.md: your own data by config inheritance, for both tasks.

The user configs are read out of the docs (each ```python block whose first
line names its file, ``# configs/my_.../*.py``) and written into a tmp
project whose ``configs/`` links ours, beside tiny generated data in the
documented layout; the tests run there (the documented relative data roots
and ``teacher_ckpt`` patterns hold as written). Teacher, LR-only and RKD
configs train 2 iterations each through tools/train.py (in-process: one
import of the libraries for all runs), test-only ``--cfg-options`` shrink
the models, and tools/test.py scores the RKD checkpoint.
"""
import json
import os
import os.path as osp
import re
import sys

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from conftest import REPO, load_tool
from rkd_mm.apis.lr_scale import lr_scales
from rkd_mm.experiment import build_plan

DOC = osp.join(REPO, 'docs', 'new_task.md')
BLOCK = re.compile(r'```python\n# (configs/my_\w+/\w[\w.]*\.py)\n(.*?)```',
                   re.S)
CELLS = ('apoptotic', 'healthy', 'mitotic')  # sorted, as mmpretrain numbers
DEFECTS = ('background', 'scratch', 'stain')  # as the docs' metainfo
SIZE = 32  # HR cell images; the x0.5 student sees 16x16
SEG_SIZE = 96  # HR defect images, as the docs' example (grid_size 24)
SPLITS = dict(train=4, val=2, test=2)  # images per class (cls) / per split

TRAIN = load_tool('train.py')
TEST = load_tool('test.py')
EXPERIMENT = load_tool('run_experiment.py')

# test-only options: tiny widths, 2 iterations, in-process loaders
LOADERS = [f'{name}.{key}' for name in ('train_dataloader', 'val_dataloader',
                                        'test_dataloader')
           for key in ('num_workers=0', 'persistent_workers=False')]
SHORT = ['train_cfg.max_iters=2', 'train_cfg.val_interval=2',
         'default_hooks.checkpoint.interval=2',
         'default_hooks.logger.interval=1']
CLS_NET = ['backbone.stem_channels=8', 'backbone.base_channels=8',
           'head.in_channels=64']
SEG_NET = ['backbone.depth=18', 'backbone.stem_channels=16',
           'backbone.base_channels=16', 'neck.in_channels=[16,32,64,128]',
           'neck.out_channels=16', 'decode_head.in_channels=[16,16,16,16]',
           'decode_head.channels=16']


def model_options(net, *prefixes):
    return [f'model.{p}{o}' for p in prefixes for o in net]


CLS_TINY = LOADERS + SHORT + ['train_dataloader.batch_size=4'] + \
    model_options(CLS_NET, '')
CLS_RKD_TINY = LOADERS + SHORT + ['train_dataloader.batch_size=4'] + \
    model_options(CLS_NET, 'teacher.', 'student.') + [
        'model.distiller.adversarial.discriminator.in_channels=64',
        'model.distiller.adversarial.discriminator.hidden_channels=16',
        'model.distill_warmup_iters=1', 'model.teacher_cache=None']
SEG_TINY = LOADERS + SHORT + ['train_dataloader.batch_size=2'] + \
    model_options(SEG_NET, '')
SEG_RKD_TINY = LOADERS + SHORT + ['train_dataloader.batch_size=2'] + \
    model_options(SEG_NET, 'teacher.', 'student.') + [
        'model.distiller.connectors.feat.in_channels=16',
        'model.distiller.connectors.feat.out_channels=16',
        'model.distiller.adversarial.discriminator.in_channels=16',
        'model.distiller.adversarial.discriminator.base_channels=16',
        'model.distill_warmup_iters=1', 'model.teacher_cache=None']


def doc_configs() -> dict:
    """``{path: text}`` of the config blocks of docs/new_task.md."""
    with open(DOC) as f:
        blocks = BLOCK.findall(f.read())
    configs = {path: f'# {path}\n{body}' for path, body in blocks}
    assert len(configs) == len(blocks), 'a config path is documented twice'
    return configs


def make_project(root, data) -> None:
    """``root/configs`` with ours linked and the documented user configs;
    ``data(root)`` writes the images."""
    os.makedirs(osp.join(root, 'configs'))
    for name in ('_base_', 'teachers', 'baselines', 'kd_baselines', 'rkd'):
        os.symlink(osp.join(REPO, 'configs', name),
                   osp.join(root, 'configs', name))
    for path, text in doc_configs().items():
        os.makedirs(osp.join(root, osp.dirname(path)), exist_ok=True)
        with open(osp.join(root, path), 'w') as f:
            f.write(text)
    data(root)


def write_cells(root) -> None:
    """Grey 32x32 PNGs, one level per class plus noise."""
    rng = np.random.default_rng(0)
    for split, n in SPLITS.items():
        for k, name in enumerate(CELLS):
            folder = osp.join(root, 'data', 'my_cells', split, name)
            os.makedirs(folder)
            for i in range(n):
                img = np.clip(60 + 60 * k + rng.normal(0, 20, (SIZE, SIZE)),
                              0, 255).astype(np.uint8)
                cv2.imwrite(osp.join(folder, f'{i}.png'), img)


def write_defects(root, size: int = SEG_SIZE) -> None:
    """RGB PNGs with uint8 label maps of the 3 user classes."""
    rng = np.random.default_rng(0)
    for split, n in SPLITS.items():
        for sub in ('img_dir', 'ann_dir'):
            os.makedirs(osp.join(root, 'data', 'my_defects', sub, split))
        for i in range(n):
            label = np.zeros((size, size), np.uint8)
            label[4 + i:8 + i, 2:30] = 1  # a scratch
            label[16:28, 12 + i:24 + i] = 2  # a stain
            img = rng.integers(90, 140, (size, size, 3)).astype(np.uint8)
            img[label == 1] = 230
            img[label == 2] = 40
            name = f'{i:04d}.png'
            cv2.imwrite(osp.join(root, 'data', 'my_defects', 'img_dir', split,
                                 name), img)
            cv2.imwrite(osp.join(root, 'data', 'my_defects', 'ann_dir', split,
                                 name), label)


def run_tool(tool, argv, monkeypatch) -> Runner:
    """``python tools/<tool> ARGV`` in-process; returns its Runner, whose
    backbones record the input sizes they were given."""
    runners = []
    build = Runner.from_cfg

    def from_cfg(cfg):
        runner = build(cfg)
        runner.seen = {}
        for name in ('backbone', 'student.backbone', 'teacher.backbone'):
            try:
                module = runner.model.get_submodule(name)
            except AttributeError:
                continue
            module.register_forward_pre_hook(
                lambda m, args, name=name: runner.seen.setdefault(
                    name, set()).add(tuple(args[0].shape[1:])))
        runners.append(runner)
        return runner

    monkeypatch.setattr(Runner, 'from_cfg', from_cfg)
    monkeypatch.setattr(sys, 'argv', ['tools/x.py'] + argv)
    tool.main()
    return runners[-1]


def checkpoint(path) -> dict:
    return torch.load(path, map_location='cpu', weights_only=False)


def test_docs_hold_short_configs_for_both_tasks():
    configs = doc_configs()
    for task, names in (('my_cells', ('r18_hr', 'r18_lr', 'r18_to_r18_lr')),
                        ('my_defects',
                         ('r50_hr', 'r18_lr', 'r50_to_r18_lr'))):
        for name in names:
            for suffix in ('', '_x0.25')[:1 if name.endswith('hr') else 2]:
                path = f'configs/{task}/{task}_{name}{suffix}.py'
                assert path in configs, path
                code = [line for line in configs[path].splitlines()
                        if line.strip() and not
                        line.strip().startswith('#')]
                assert len(code) <= 13, (path, len(code))
    with open(DOC) as f:
        text = f.read()
    for name in ('Market-1501', 'LFW', '_delete_=True', 're-evaluate'):
        assert name in text, name


def test_classification_from_a_class_folder(tmp_path, monkeypatch):
    make_project(str(tmp_path), write_cells)
    monkeypatch.chdir(tmp_path)
    cfg_dir = 'configs/my_cells'

    # the HR teacher: the user's classes (subfolders), sizes, head
    teacher = run_tool(TRAIN, [f'{cfg_dir}/my_cells_r18_hr.py',
                               '--cfg-options', *CLS_TINY], monkeypatch)
    data = teacher.train_dataloader.dataset
    assert type(data).__name__ == 'CustomDataset'
    assert data.metainfo['classes'] == CELLS and len(data) == 3 * 4
    assert tuple(data[0]['inputs'].shape) == (1, SIZE, SIZE)  # grey
    assert teacher.val_dataloader.dataset.metainfo['classes'] == CELLS
    assert teacher.model.head.num_classes == 3
    assert teacher.model.head.fc.out_features == 3
    assert teacher.seen['backbone'] == {(1, SIZE, SIZE)}
    teacher_ckpt = 'work_dirs/my_cells_r18_hr/best_accuracy_iter_2.pth'
    assert osp.isfile(teacher_ckpt)

    # the LR-only student sees x0.5 of the same HR batches
    lr = run_tool(TRAIN, [f'{cfg_dir}/my_cells_r18_lr.py', '--cfg-options',
                          *CLS_TINY], monkeypatch)
    assert lr.model.data_preprocessor.test_scale_factor == 0.5
    assert lr.seen['backbone'] == {(1, SIZE // 2, SIZE // 2)}
    assert lr.model.head.fc.out_features == 3

    # RKD reads the teacher's checkpoint, trains the student at LR
    rkd = run_tool(TRAIN, [f'{cfg_dir}/my_cells_r18_to_r18_lr.py',
                           '--cfg-options', *CLS_RKD_TINY], monkeypatch)
    trained = checkpoint(teacher_ckpt)['state_dict']
    for key, value in rkd.model.teacher.state_dict().items():
        assert torch.equal(value, trained[key]), key
    assert rkd.seen['teacher.backbone'] == {(1, SIZE, SIZE)}
    assert rkd.seen['student.backbone'] == {(1, SIZE // 2, SIZE // 2)}
    assert rkd.train_dataloader.dataset.metainfo['classes'] == CELLS
    rkd_ckpt = 'work_dirs/my_cells_r18_to_r18_lr/best_accuracy_iter_2.pth'
    state = checkpoint(rkd_ckpt)['state_dict']
    assert state['student.head.fc.weight'].shape == (3, 64)

    # tools/test.py names the user's classes
    test = run_tool(TEST, [f'{cfg_dir}/my_cells_r18_to_r18_lr.py', rkd_ckpt,
                           '--cfg-options', *CLS_RKD_TINY], monkeypatch)
    with open(osp.join(test.log_dir, 'test_metrics.json')) as f:
        metrics = json.load(f)['metrics']
    for name in CELLS:
        for kind in ('precision', 'recall', 'f1'):
            assert f'{kind}.{name}' in metrics
    assert 0.0 <= metrics['accuracy'] <= 100.0
    assert 'teacher/accuracy' in metrics  # the teacher's HR score beside

    # the RGB variant of the folder base reads 3 channels
    rgb = Config.fromfile(osp.join(
        REPO, 'configs', '_base_', 'datasets',
        'custom_folder_cls.py')).cls_folder_rgb.test.to_dict()
    assert rgb.pop('_delete_') is True
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        from mmpretrain.registry import DATASETS
        dataset = DATASETS.build(dict(rgb, data_root='data/my_cells'))
    assert tuple(dataset[0]['inputs'].shape) == (3, SIZE, SIZE)

    # x0.25 is one number; the runner plans on the user's configs
    assert lr_scales(Config.fromfile(
        f'{cfg_dir}/my_cells_r18_to_r18_lr_x0.25.py')).test == 0.25
    args = EXPERIMENT.parse_args([
        f'{cfg_dir}/my_cells_r18_to_r18_lr.py', '--scales', '0.5', '0.25',
        '--methods', 'lr_only', 'kd', 'rkd', '--seeds', '0',
        '--work-dir', 'work_dirs/exp'])
    plan_teacher, students = build_plan(EXPERIMENT.spec_of(args))
    assert not plan_teacher.train and plan_teacher.ckpt == teacher_ckpt
    runs = {r.name: r.cfg for r in students}
    assert lr_scales(runs['lr_only_x0.25_s0']).test == 0.25
    assert runs['lr_only_x0.25_s0'].model.head.num_classes == 3
    for cfg in runs.values():
        assert cfg.train_dataloader.dataset.data_root == 'data/my_cells'


def test_segmentation_from_img_dir_and_ann_dir(tmp_path, monkeypatch,
                                               capsys):
    make_project(str(tmp_path), write_defects)
    monkeypatch.chdir(tmp_path)
    cfg_dir = 'configs/my_defects'

    # the data check the docs show: clean here, per-split summary
    check = load_tool('analysis_tools/check_dataset.py')
    assert check.main([f'{cfg_dir}/my_defects_r50_to_r18_lr_x0.25.py']) == 0
    out = capsys.readouterr().out
    assert f'train: 4 images; sizes {SEG_SIZE}x{SEG_SIZE} (4)' in out
    assert '2 stain: in 4 images' in out and '0 error(s)' in out

    teacher = run_tool(TRAIN, [f'{cfg_dir}/my_defects_r50_hr.py',
                               '--cfg-options', *SEG_TINY], monkeypatch)
    data = teacher.train_dataloader.dataset
    assert type(data).__name__ == 'BaseSegDataset'
    assert data.metainfo['classes'] == DEFECTS and len(data) == 4
    assert data.metainfo['palette'][1] == [255, 0, 0]
    sample = data[0]
    assert tuple(sample['inputs'].shape) == (3, SEG_SIZE, SEG_SIZE)
    labels = set(sample['data_samples'].gt_sem_seg.data.unique().tolist())
    assert labels == {0, 1, 2}  # reduce_zero_label=False: 0 is a class
    head = teacher.model.decode_head
    assert head.num_classes == 3 and head.conv_seg.out_channels == 3
    assert head.loss_decode[0].class_weight == [1, 4, 4]
    # the user's statistics, as documented
    assert teacher.model.data_preprocessor.mean.flatten().tolist() == \
        pytest.approx([121.3] * 3)
    assert teacher.seen['backbone'] == {(3, SEG_SIZE, SEG_SIZE)}
    teacher_ckpt = 'work_dirs/my_defects_r50_hr/best_mIoU_iter_2.pth'
    assert osp.isfile(teacher_ckpt)

    lr = run_tool(TRAIN, [f'{cfg_dir}/my_defects_r18_lr.py', '--cfg-options',
                          *SEG_TINY], monkeypatch)
    assert lr.seen['backbone'] == {(3, SEG_SIZE // 2, SEG_SIZE // 2)}
    assert lr.model.decode_head.conv_seg.out_channels == 3
    assert osp.isfile('work_dirs/my_defects_r18_lr/best_mIoU_iter_2.pth')

    rkd = run_tool(TRAIN, [f'{cfg_dir}/my_defects_r50_to_r18_lr.py',
                           '--cfg-options', *SEG_RKD_TINY], monkeypatch)
    trained = checkpoint(teacher_ckpt)['state_dict']
    for key, value in rkd.model.teacher.state_dict().items():
        assert torch.equal(value, trained[key]), key
    assert rkd.seen['teacher.backbone'] == {(3, SEG_SIZE, SEG_SIZE)}
    assert rkd.seen['student.backbone'] == {(3, SEG_SIZE // 2, SEG_SIZE // 2)}
    # the docs' grid size (the image size / 4) is the discriminator's
    assert rkd.cfg.model.distiller.adversarial.discriminator.grid_size == \
        SEG_SIZE // 4
    rkd_ckpt = 'work_dirs/my_defects_r50_to_r18_lr/best_mIoU_iter_2.pth'
    state = checkpoint(rkd_ckpt)['state_dict']
    assert state['student.decode_head.conv_seg.weight'].shape[0] == 3

    test = run_tool(TEST, [f'{cfg_dir}/my_defects_r50_to_r18_lr.py',
                           rkd_ckpt, '--cfg-options', *SEG_RKD_TINY],
                    monkeypatch)
    with open(osp.join(test.log_dir, 'test_metrics.json')) as f:
        metrics = json.load(f)['metrics']
    for name in DEFECTS:
        assert 0.0 <= metrics[f'IoU.{name}'] <= 100.0
    assert 'IoU.crack' not in metrics  # ours are gone
    assert 'teacher/IoU.stain' in metrics
    assert lr_scales(Config.fromfile(
        f'{cfg_dir}/my_defects_r50_to_r18_lr_x0.25.py')).test == 0.25


if __name__ == '__main__':
    sys.exit(pytest.main([__file__, '-q']))


def test_configs_outside_the_repository(tmp_path, monkeypatch):
    """The docs' rule: ``_base_`` relative to the config file (here an
    absolute path into the repository), ``data_root`` relative to the
    working directory; the tools run from anywhere."""
    project = tmp_path / 'inspection'
    write_defects(str(project))
    os.makedirs(project / 'configs')
    teacher = doc_configs()['configs/my_defects/my_defects_r50_hr.py']
    text = teacher.replace("'../teachers/", f"'{REPO}/configs/teachers/")
    text = text.replace("'../_base_/", f"'{REPO}/configs/_base_/")
    assert text != teacher
    path = project / 'configs' / 'my_defects_r50_hr.py'
    path.write_text(text)
    monkeypatch.chdir(project)
    check = load_tool('analysis_tools/check_dataset.py')
    assert check.main([str(path), '--splits', 'train']) == 0
    cfg = Config.fromfile(str(path))
    assert cfg.train_dataloader.dataset.data_root == 'data/my_defects'
